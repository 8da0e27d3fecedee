//! The HSDS codec: Open Referral (HSDS 3 / Open Referral UK) documents to and from listings.

pub mod decode;
pub mod import;
