//! Signpost's search layer: the tantivy index (schema, analyzers, synonyms, queries, facets,
//! geography) and offline postcode geography. No tantivy type leaves this crate.

#![warn(missing_docs)]

pub mod areas;
mod collector;
pub mod dir;
pub mod doc;
pub mod eligibility;
mod frame;
pub mod geo;
mod ids;
mod index;
mod near;
pub mod osgb;
mod phrases;
mod query;
pub mod request;
mod schema;
mod scores;
mod suggest;
pub mod synonyms;

pub use doc::{Catchment, Coverage, CoveredBy, HitCoverage, ServiceDoc};
pub use index::{Index, day_number};
pub use index::{Suggestion, SuggestionKind};
pub use request::{
    Cards, Facets, FamilyFilter, Filter, Highlight, Hit, Near, SearchRequest, SearchResults, Sort,
    StoredCard, Unconfirmed,
};
pub use schema::{SCHEMA_VERSION, place_order};
pub use synonyms::Synonyms;

/// What can go wrong in the search layer.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The cursor is not one this search made.
    #[error("after is not a cursor from this search")]
    BadCursor,
    /// The index failed.
    #[error("search index error: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory failed.
    #[error("search index directory error: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    /// Reading or writing files failed.
    #[error("search index i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A payload could not be written.
    #[error("search index payload error: {0}")]
    Payload(#[from] serde_json::Error),
    /// A writer panicked earlier.
    #[error("the search index writer is unusable")]
    Poisoned,
    /// Another process holds the index's writer lock.
    #[error(
        "the search index in {} is in use by another process (stop the server using this data directory)",
        .0.display()
    )]
    InUse(std::path::PathBuf),
    /// The index's files cannot be read in full.
    #[error("the search index is damaged: {0}")]
    Damaged(String),
}
