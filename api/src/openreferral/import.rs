//! The Open Referral import, at its former path: it lives in [`crate::hsds::import`].

pub use crate::hsds::import::*;
