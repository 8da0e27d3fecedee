//! The peers Signpost is compared with, loaded with the same data and asked the same queries.

pub mod postgres;
pub mod typesense;
