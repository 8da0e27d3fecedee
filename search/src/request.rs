//! What a search asks for and what it answers, in plain Rust.

use uuid::Uuid;

use crate::doc::Coverage;

/// How results are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Best match first (with gentle preferences for nearer and recently verified listings).
    #[default]
    Relevance,
    /// Nearest first; services without a location last.
    Distance,
    /// Most recently verified first; never verified last.
    RecentlyVerified,
    /// By name.
    Name,
}

/// Exact filters, combined with AND; within a list, any value matches.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Taxonomy term ids; the index holds each service's terms with their ancestors.
    pub categories: Vec<Uuid>,
    pub level_of_need: Vec<String>,
    pub audiences: Vec<String>,
    pub delivery_modes: Vec<String>,
    pub infant_age_months: Option<f64>,
    pub pregnant: bool,
    pub self_referral: bool,
    pub free_only: bool,
    pub languages: Vec<String>,
    /// The service's catchment covers this place.
    pub covers: Option<Coverage>,
    pub organization_id: Option<Uuid>,
    /// Only listings verified on or after this day (days since 1970-01-01).
    pub verified_since_day: Option<i64>,
    /// Empty means ACTIVE only.
    pub statuses: Vec<String>,
}

/// A point to measure distances from, and optionally a radius to keep within.
#[derive(Clone, Debug)]
pub struct Near {
    pub latitude: f64,
    pub longitude: f64,
    pub radius_km: Option<f64>,
    /// The place the point falls in, so that services without a location whose catchment
    /// covers the point stay in a radius search.
    pub coverage: Option<Coverage>,
}

/// A search.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub text: Option<String>,
    pub filter: Filter,
    pub near: Option<Near>,
    pub sort: Sort,
    /// Page size.
    pub first: usize,
    /// The cursor of the last hit of the previous page.
    pub after: Option<String>,
    /// Today, in days since 1970-01-01 (freshness is judged against it).
    pub today: i64,
    /// Count facets over the whole filtered set (costs a look at every match).
    pub facets: bool,
    /// Highlight the matched words in each hit's name and description (reads each hit's
    /// stored text).
    pub highlights: bool,
}

/// A highlighted snippet of one field.
#[derive(Clone, Debug, PartialEq)]
pub struct Highlight {
    /// The field ("name" or "description").
    pub field: String,
    /// HTML-escaped text with matches in `<b>..</b>`.
    pub snippet: String,
}

/// One result.
#[derive(Clone, Debug)]
pub struct Hit {
    pub id: Uuid,
    pub score: f32,
    pub distance_km: Option<f64>,
    pub cursor: String,
    pub highlights: Vec<Highlight>,
}

/// Counts of one facet's values over the whole filtered result set, largest first.
pub type FacetCounts = Vec<(String, u64)>;

/// Facet counts for the filter sidebar.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    pub categories: FacetCounts,
    pub level_of_need: FacetCounts,
    pub audiences: FacetCounts,
    pub delivery_modes: FacetCounts,
    pub referral_routes: FacetCounts,
}

/// A page of results.
#[derive(Clone, Debug)]
pub struct SearchResults {
    pub total_count: u64,
    pub hits: Vec<Hit>,
    pub has_next_page: bool,
    pub facets: Facets,
}
