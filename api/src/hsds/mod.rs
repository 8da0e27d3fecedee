//! The Open Referral HSDS 3 codec: Signpost's listings to and from HSDS 3 / Open Referral UK 3.0
//! JSON.
//!
//! [`encode`] turns a [`ServiceRecord`](crate::store::listing::ServiceRecord) (and the
//! organisations, locations and taxonomies around it) into the profile's objects; the REST face
//! in `openreferral` and the export both answer with them. [`decode`] reads a document's objects
//! into listing rows, and [`import`] resolves their references and writes them through the
//! store (the listing writer, and [`crate::store::records`] for the other records).

pub mod decode;
pub mod encode;
pub mod import;

/// Signpost's extension keys on a service, for what HSDS has no name for. The encoder writes
/// them from the listing's columns and the decoder reads them into those columns, so they are
/// never kept among a record's unknown keys (where an edit would leave them stale).
pub const SERVICE_EXTENSION_KEYS: &[&str] = &[
    "level_of_need",
    "from_pregnancy",
    "audiences",
    "delivery_modes",
    "self_referral",
    "professional_referral",
    "funding_ends_on",
    "assurer",
    "eligibility_sources",
];
