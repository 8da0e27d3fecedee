//! What a search asks for and what it answers, in plain Rust.

use uuid::Uuid;

use crate::doc::{Coverage, HitCoverage};

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
    /// Levels of need: "UNIVERSAL", "TARGETED" or "SPECIALIST".
    pub level_of_need: Vec<String>,
    /// Audience codes ("MOTHERS", ...).
    pub audiences: Vec<String>,
    /// Delivery mode codes ("HOME_VISIT", ...).
    pub delivery_modes: Vec<String>,
    /// An infant's age in months that the service's age range includes (absent bounds are open).
    pub infant_age_months: Option<f64>,
    /// Only services open from pregnancy, or whose fit with a pregnancy is unknown (those rank
    /// lower and are marked), unless `pregnancy_confirmed`.
    pub pregnant: bool,
    /// With `pregnant`, only services whose listing says they are open from pregnancy (lists in
    /// name order, which have no ranking to place the unknown ones lower in).
    pub pregnancy_confirmed: bool,
    /// Only services families may refer themselves to.
    pub self_referral: bool,
    /// Only services free at the point of use.
    pub free_only: bool,
    /// ISO 639-1 language codes ("en", "cy").
    pub languages: Vec<String>,
    /// The service's catchment covers this place.
    pub covers: Option<Coverage>,
    /// Only this organisation's services.
    pub organization_id: Option<Uuid>,
    /// Only listings verified on or after this day (days since 1970-01-01).
    pub verified_since_day: Option<i64>,
    /// Empty means ACTIVE only.
    pub statuses: Vec<String>,
    /// Who the family is: services limited to another audience are left out.
    pub family: Option<FamilyFilter>,
}

/// The family a search is for, as exclusions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FamilyFilter {
    /// Who in the family ("MOTHERS", "FATHERS", "CO_PARENTS", "CARERS"): a service limited to
    /// other audiences is left out. Empty: anyone.
    pub audiences: Vec<String>,
    /// Whether the family is bereaved; services for bereaved families only are left out
    /// otherwise.
    pub bereaved: bool,
    /// The languages the family speaks: a group for speakers of other languages only is left
    /// out. Empty: not known, nothing left out.
    pub languages: Vec<String>,
}

/// An eligibility criterion a search filtered on whose fit with a service is not known: the
/// listing does not say. Such services are kept, rank lower and carry the mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unconfirmed {
    /// The listing does not say whether it takes families in pregnancy.
    Pregnancy,
    /// The listing gives no age range.
    Age,
    /// The listing's catchment could not be read; it is placed by its venues.
    Catchment,
}

/// A point to measure distances from, and optionally a radius to keep within.
#[derive(Clone, Debug)]
pub struct Near {
    /// The point's WGS84 latitude in degrees.
    pub latitude: f64,
    /// The point's WGS84 longitude in degrees.
    pub longitude: f64,
    /// Keep only services with a location this many kilometres away at most (or, with no
    /// location, whose catchment covers `coverage`); `None` keeps every distance.
    pub radius_km: Option<f64>,
    /// The place the point falls in, so that services without a location whose catchment
    /// covers the point stay in a radius search.
    pub coverage: Option<Coverage>,
}

/// A search.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    /// The words typed; `None` (or stop words only) matches all the filter lets through.
    pub text: Option<String>,
    /// Exact filters, which narrow the matches without changing scores.
    pub filter: Filter,
    /// Where distances are measured from (the distance sort needs it); `None`: no distances.
    pub near: Option<Near>,
    /// The order of the hits.
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
    /// name from the `card` column and its description from its stored document).
    pub highlights: bool,
    /// Report, for each hit of the page, whether its catchment covers this place (reads each
    /// hit's catchment terms; the other matches are not judged).
    pub coverage_of: Option<Coverage>,
    /// Which of each hit's card to hand back (its head and names from the `card` column, its
    /// description and details from the stored documents).
    pub cards: Cards,
}

/// Which of a hit's card a request reads back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cards {
    /// None.
    #[default]
    None,
    /// Its head ([`crate::ServiceDoc::card`]) with the name and alternate name, read from a
    /// column; its description and details are left unread.
    Heads,
    /// Its head, name and alternate name, and its description, the latter read from the
    /// stored documents.
    Described,
    /// Its head and texts, and its details ([`crate::ServiceDoc::card_details`]): the
    /// description and details are read from the stored documents, in one read.
    Whole,
}

impl Cards {
    /// Whether cards are read at all.
    pub fn read(self) -> bool {
        self != Cards::None
    }

    /// Whether the description is read (from the stored documents).
    pub fn description(self) -> bool {
        matches!(self, Cards::Described | Cards::Whole)
    }

    /// Whether the details are read (from the stored documents).
    pub fn details(self) -> bool {
        self == Cards::Whole
    }
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
    /// The service's id.
    pub id: Uuid,
    /// The final score: text relevance (1 without text) times the freshness, distance, age and
    /// pregnancy factors.
    pub score: f32,
    /// Kilometres from `near` to the nearest location; `None` without `near` or a location.
    pub distance_km: Option<f64>,
    /// Pass as `after`, with the same sort, to continue after this hit.
    pub cursor: String,
    /// Highlighted snippets; empty unless the request asked for them and had text.
    pub highlights: Vec<Highlight>,
    /// Criteria the search filtered on that the listing does not confirm.
    pub unconfirmed: Vec<Unconfirmed>,
    /// Whether its catchment covers the request's `coverage_of`; `None` without one.
    pub coverage: Option<HitCoverage>,
    /// The card the service was indexed with, when the request asked for cards and it has one.
    pub card: Option<StoredCard>,
}

/// What the index keeps of a service for result pages: the card it was indexed with
/// ([`crate::ServiceDoc::card`] and [`crate::ServiceDoc::card_details`]) and its texts, which
/// the card need not repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCard {
    /// The card's head, as the caller encoded it.
    pub bytes: Vec<u8>,
    /// The card's details as the caller encoded them, when they were asked for.
    pub details: Option<Vec<u8>>,
    /// The service's name.
    pub name: String,
    /// Its alternate name.
    pub alternate_name: Option<String>,
    /// Its description, when it was read ([`Cards::description`], or for highlights).
    pub description: Option<String>,
}

/// Counts of one facet's values over the whole filtered result set, largest first.
pub type FacetCounts = Vec<(String, u64)>;

/// Facet counts for the filter sidebar.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    /// Taxonomy term ids (each service counts for its terms and their ancestors).
    pub categories: FacetCounts,
    /// Levels of need ("UNIVERSAL", ...).
    pub level_of_need: FacetCounts,
    /// Audience codes.
    pub audiences: FacetCounts,
    /// Delivery mode codes.
    pub delivery_modes: FacetCounts,
    /// "SELF" and "PROFESSIONAL".
    pub referral_routes: FacetCounts,
    /// ISO 639-1 language codes.
    pub languages: FacetCounts,
}

/// A page of results.
#[derive(Clone, Debug)]
pub struct SearchResults {
    /// How many services match in all, over every page.
    pub total_count: u64,
    /// This page: at most `first` hits, in the requested order.
    pub hits: Vec<Hit>,
    /// Whether more hits follow this page.
    pub has_next_page: bool,
    /// Facet counts over every match; empty lists unless the request asked for facets.
    pub facets: Facets,
}
