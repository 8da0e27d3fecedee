//! The shapes every system is given: the documents peers load and the queries all answer.

use serde::{Deserialize, Serialize};

/// One service as the peers (PostgreSQL full-text search, Typesense) load it: the same facts
/// Signpost imports through Open Referral, flattened.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PeerDoc {
    pub id: String,
    pub name: String,
    pub organization: String,
    pub description: String,
    /// Taxonomy term names (for text matching).
    pub term_names: Vec<String>,
    /// Taxonomy term ids with their ancestors (for the category filter).
    pub term_ids: Vec<String>,
    pub min_age_months: Option<f64>,
    pub max_age_months: Option<f64>,
    pub from_pregnancy: bool,
    pub level_of_need: String,
    pub self_referral: bool,
    /// The service's location, when it has one.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// Catchment: postcode districts or areas it covers ("GL50", "GL").
    pub covers_prefixes: Vec<String>,
    /// Catchment: a circle (latitude, longitude, km).
    pub covers_radius: Option<(f64, f64, f64)>,
    pub national: bool,
    /// Only ACTIVE listings are searchable; the others are loaded but filtered out.
    pub active: bool,
}

/// A place a query is made from: a postcode sector resolved to its centroid, with the
/// district and area the catchment filter uses.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Place {
    /// "GL50 3".
    pub postcode: String,
    pub district: String,
    pub area: String,
    pub latitude: f64,
    pub longitude: f64,
}

/// One query of the mix. Every system answers the same list in the same order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Query {
    /// Free text (1-3 words, perhaps a typo, perhaps a prefix) with optional filters; ranked by
    /// relevance; when `near` is given without `radius_km`, nearer is only a preference.
    Keyword {
        text: String,
        category: Option<String>,
        infant_age_months: Option<f64>,
        near: Option<Place>,
        radius_km: Option<f64>,
    },
    /// No text: filters, within `radius_km` of `near`, nearest first.
    Distance {
        category: Option<String>,
        infant_age_months: Option<f64>,
        near: Place,
        radius_km: f64,
    },
    /// One listing by id, with its organisation, locations, terms and phones.
    Fetch { id: String },
    /// A page of listings in name order with nested organisation, terms and locations.
    Listing { category: Option<String>, page: u32 },
    /// Completions for a prefix.
    Suggest { prefix: String },
}

impl Query {
    /// The class the query is measured in.
    pub fn class(&self) -> QueryClass {
        match self {
            Query::Keyword { .. } | Query::Distance { .. } => QueryClass::Search,
            Query::Fetch { .. } => QueryClass::Fetch,
            Query::Listing { .. } => QueryClass::Listing,
            Query::Suggest { .. } => QueryClass::Suggest,
        }
    }
}

/// Queries are measured per class; "search" is the headline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueryClass {
    Search,
    Fetch,
    Listing,
    Suggest,
}

impl QueryClass {
    pub const ALL: [QueryClass; 4] = [
        QueryClass::Search,
        QueryClass::Fetch,
        QueryClass::Listing,
        QueryClass::Suggest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            QueryClass::Search => "search",
            QueryClass::Fetch => "fetch",
            QueryClass::Listing => "listing",
            QueryClass::Suggest => "suggest",
        }
    }
}

/// The result page size every system is asked for.
pub const PAGE: usize = 20;
