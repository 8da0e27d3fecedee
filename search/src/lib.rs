//! Signpost's search layer: geography today (offline postcode positions); the tantivy index
//! follows. No tantivy type leaves this crate.

pub mod geo;
pub mod osgb;
