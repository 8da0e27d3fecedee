//! What the index knows of a service: plain Rust, built by the API from database rows.

use chrono::NaiveDate;
use uuid::Uuid;

/// One catchment of a service.
#[derive(Clone, Debug, PartialEq)]
pub enum Catchment {
    /// The whole country.
    National,
    /// A postcode area ("GL") or district ("GL50"), upper case without spaces.
    PostcodePrefix(String),
    /// The postcode sectors ("GL50 3") whose centroids lie in a circle or a polygon, or a sector
    /// given as such, resolved when indexing.
    Sectors(Vec<String>),
    /// An administrative area by its GSS code: a country, region, county, metropolitan county,
    /// district, unitary authority or London borough ("E08000009").
    AdministrativeArea(String),
}

/// A service as the index holds it.
#[derive(Clone, Debug, Default)]
pub struct ServiceDoc {
    /// The service's id, which hits return.
    pub id: Uuid,
    /// The running organisation's id, for the organisation filter.
    pub organization_id: Uuid,
    /// The service's name: searched with the highest boost, highlighted, and the name sort's key.
    pub name: String,
    /// Another name families may know it by; searched just below the name.
    pub alternate_name: Option<String>,
    /// What the service offers; searched with the lowest boost, and highlighted.
    pub description: String,
    /// The running organisation's name, searched below the taxonomy names.
    pub organization_name: String,
    /// Names of the service's terms and of their ancestors.
    pub taxonomy_names: Vec<String>,
    /// Ids of the service's terms and of their ancestors.
    pub categories: Vec<Uuid>,
    /// The stored status code ("ACTIVE", ...).
    pub status: String,
    /// "UNIVERSAL", "TARGETED" or "SPECIALIST".
    pub level_of_need: String,
    /// Audience codes ("MOTHERS", ...), for the audience filter and facet.
    pub audiences: Vec<String>,
    /// Delivery mode codes ("HOME_VISIT", ...), for the delivery mode filter and facet.
    pub delivery_modes: Vec<String>,
    /// Open from pregnancy: the pregnancy filter needs it; a pregnancy in the text favours it.
    pub from_pregnancy: bool,
    /// The infant's youngest age in months; `None` means no lower bound.
    pub min_age_months: Option<f64>,
    /// The infant's oldest age in months; `None` means no upper bound.
    pub max_age_months: Option<f64>,
    /// Families may refer themselves (the self-referral filter; facet value "SELF").
    pub self_referral: bool,
    /// Professionals may refer (facet value "PROFESSIONAL").
    pub professional_referral: bool,
    /// Free at the point of use, for the free-only filter.
    pub free: bool,
    /// ISO 639-1 codes of the languages it is offered in, for the language filter.
    pub languages: Vec<String>,
    /// The day it was last verified; `None` sorts last and ranks as stale.
    pub assured_date: Option<NaiveDate>,
    /// Catchments; empty means the service serves only where its locations are.
    pub catchments: Vec<Catchment>,
    /// Whether the catchment was read: false when the service gave none that could be read and
    /// its locations' districts stand in for it.
    pub catchment_known: bool,
    /// Postcode districts of the service's locations (the catchment when it has none).
    pub location_districts: Vec<String>,
    /// WGS84 (latitude, longitude) of the service's locations.
    pub locations: Vec<(f64, f64)>,
}

/// Where a family lives, as the catchment filter needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The postcode area ("GL").
    pub area: String,
    /// The postcode district ("GL50").
    pub district: String,
    /// The postcode sector ("GL50 3"), when known.
    pub sector: Option<String>,
    /// GSS codes of the areas the place lies in (district, county, metropolitan county or
    /// region, country); for a bare district, the codes its sectors agree on.
    pub codes: Vec<String>,
}

impl Coverage {
    /// Where a resolved postcode lies.
    pub fn of(point: &crate::geo::GeoPoint) -> Self {
        Self {
            area: point.parsed.area.clone(),
            district: point.parsed.outward.clone(),
            sector: point.parsed.sector(),
            codes: point.codes.clone(),
        }
    }

    /// The index terms a service covering this place carries.
    pub(crate) fn terms(&self) -> Vec<String> {
        let mut terms = vec![
            "NATIONAL".to_owned(),
            format!("A:{}", self.area),
            format!("D:{}", self.district),
        ];
        if let Some(sector) = &self.sector {
            terms.push(format!("S:{sector}"));
        }
        terms.extend(self.codes.iter().map(|code| format!("G:{code}")));
        terms
    }
}

impl ServiceDoc {
    /// The catchment terms indexed for this service.
    pub(crate) fn coverage_terms(&self) -> Vec<String> {
        if self.catchments.is_empty() {
            return self
                .location_districts
                .iter()
                .map(|d| format!("D:{d}"))
                .collect();
        }
        let mut terms = Vec::new();
        for catchment in &self.catchments {
            match catchment {
                Catchment::National => terms.push("NATIONAL".to_owned()),
                Catchment::PostcodePrefix(prefix) => {
                    let is_area = prefix.chars().all(|c| c.is_ascii_alphabetic());
                    terms.push(if is_area {
                        format!("A:{prefix}")
                    } else {
                        format!("D:{prefix}")
                    });
                }
                Catchment::Sectors(sectors) => {
                    terms.extend(sectors.iter().map(|s| format!("S:{s}")))
                }
                Catchment::AdministrativeArea(code) => terms.push(format!("G:{code}")),
            }
        }
        terms.sort();
        terms.dedup();
        terms
    }

    /// Whether this service's catchment covers a place (the rule the index applies).
    pub fn covers(&self, place: &Coverage) -> bool {
        let wanted = place.terms();
        self.coverage_terms()
            .iter()
            .any(|term| wanted.contains(term))
    }
}
