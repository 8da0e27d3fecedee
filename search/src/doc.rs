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
    /// Audience codes ("MOTHERS", ...), for the audience filter and facet; a service with
    /// role audiences (mothers, fathers, co-parents, carers) is for those only, and `BEREAVED`
    /// or `LANGUAGE_COMMUNITY` limit it to bereaved families or to speakers of its languages.
    pub audiences: Vec<String>,
    /// Delivery mode codes ("HOME_VISIT", ...), for the delivery mode filter and facet.
    pub delivery_modes: Vec<String>,
    /// Open from pregnancy: the pregnancy filter needs it; a pregnancy in the text favours it.
    pub from_pregnancy: bool,
    /// The listing does not say whether it takes families in pregnancy (`from_pregnancy` is
    /// then false but not known to be so).
    pub pregnancy_unknown: bool,
    /// The listing gives no age range (the bounds are then open but not known to be so).
    pub ages_unknown: bool,
    /// The listing's catchment could not be read (it is placed by its venues' districts).
    pub catchment_unknown: bool,
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
    /// Postcode districts of the service's locations (the catchment when it has none).
    pub location_districts: Vec<String>,
    /// WGS84 (latitude, longitude) of the service's locations.
    pub locations: Vec<(f64, f64)>,
    /// What a result page shows of the service, encoded by the caller (any bytes) and handed
    /// back with each hit, so that a page of results needs no other read; empty for none. Its
    /// head: read back for every hit whose card is asked for.
    pub card: Vec<u8>,
    /// The rest of the card (any bytes): read back only when asked for
    /// ([`crate::Cards::Whole`]), and left unread otherwise.
    pub card_details: Vec<u8>,
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

/// The catchment term of a service that states no catchment the index could read: it is
/// placed by its venues' postcode districts (the `D:` terms beside it). Never a term of a place,
/// so no search matches it.
pub(crate) const PLACED_BY_VENUES: &str = "VENUES";

/// The part of a service's catchment that holds a place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoveredBy {
    /// The whole United Kingdom.
    National,
    /// A country of the UK by its GSS code ("E92000001").
    Country(String),
    /// A region, county or local authority by its GSS code ("E08000003").
    AdministrativeArea(String),
    /// A postcode area ("M").
    PostcodeArea(String),
    /// A postcode district ("M16").
    PostcodeDistrict(String),
    /// A postcode sector ("M16 0").
    PostcodeSector(String),
    /// The postcode district of one of the venues of a service that states no catchment.
    VenueDistrict(String),
}

impl CoveredBy {
    /// The area's name for people: "England", "Manchester", "postcode sector M16 0".
    pub fn name(&self) -> String {
        let areas = crate::areas::embedded();
        match self {
            Self::National => "United Kingdom".to_owned(),
            Self::Country(code) | Self::AdministrativeArea(code) => areas
                .get(code)
                .map_or_else(|| code.clone(), |area| area.name.clone()),
            Self::PostcodeArea(area) => format!("postcode area {area}"),
            Self::PostcodeDistrict(district) | Self::VenueDistrict(district) => {
                format!("postcode district {district}")
            }
            Self::PostcodeSector(sector) => format!("postcode sector {sector}"),
        }
    }

    /// The term's place in the order narrowest first (sector, district, local authority,
    /// county, region, postcode area, country, the UK).
    fn breadth(&self) -> u8 {
        match self {
            Self::PostcodeSector(_) => 0,
            Self::PostcodeDistrict(_) | Self::VenueDistrict(_) => 1,
            Self::AdministrativeArea(code) => {
                match crate::areas::embedded().get(code).map(|a| a.kind.as_str()) {
                    Some("county") => 3,
                    Some("metropolitan_county") => 4,
                    Some("region") => 5,
                    _ => 2,
                }
            }
            Self::PostcodeArea(_) => 6,
            Self::Country(_) => 7,
            Self::National => 8,
        }
    }
}

/// Whether a service's catchment covers the place a search named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitCoverage {
    /// The service takes families from the place, by the rule the catchment filter applies:
    /// a search filtered by the place keeps exactly the services this says true of.
    pub covered: bool,
    /// The listing states a catchment that was read. False: it states none, or one that could
    /// not be read, and it is placed by its venues' postcode districts.
    pub known: bool,
    /// The narrowest part of the catchment that holds the place, when covered.
    pub through: Option<CoveredBy>,
}

impl HitCoverage {
    /// Judges a service by its indexed catchment terms against a place.
    pub(crate) fn judge<S: AsRef<str>>(terms: &[S], place: &Coverage) -> Self {
        let wanted = place.terms();
        let known = !terms.iter().any(|t| t.as_ref() == PLACED_BY_VENUES);
        let through = terms
            .iter()
            .map(AsRef::as_ref)
            .filter(|term| wanted.iter().any(|w| w == term))
            .filter_map(|term| {
                let (kind, value) = term.split_once(':').unwrap_or((term, ""));
                let value = value.to_owned();
                Some(match kind {
                    "NATIONAL" => CoveredBy::National,
                    "A" => CoveredBy::PostcodeArea(value),
                    "D" if known => CoveredBy::PostcodeDistrict(value),
                    "D" => CoveredBy::VenueDistrict(value),
                    "S" => CoveredBy::PostcodeSector(value),
                    "G" => {
                        let country = crate::areas::embedded()
                            .get(&value)
                            .is_some_and(|a| a.kind == "country");
                        if country {
                            CoveredBy::Country(value)
                        } else {
                            CoveredBy::AdministrativeArea(value)
                        }
                    }
                    _ => return None,
                })
            })
            .min_by_key(CoveredBy::breadth);
        Self {
            covered: through.is_some(),
            known,
            through,
        }
    }
}

/// The roles a family may name, and the service audiences each fits. A father is a
/// co-parent (a partner of the birthing mother) for services that welcome co-parents; a
/// mother is not ("dads and co-parents" is no group for her).
const ROLE_FITS: [(&str, &[&str]); 4] = [
    ("MOTHERS", &["MOTHERS", "WHOLE_FAMILY"]),
    ("FATHERS", &["FATHERS", "CO_PARENTS", "WHOLE_FAMILY"]),
    ("CO_PARENTS", &["CO_PARENTS", "WHOLE_FAMILY"]),
    ("CARERS", &["CARERS", "WHOLE_FAMILY"]),
];

/// Index terms of the eligibility field.
pub(crate) mod fit {
    /// Open from pregnancy.
    pub const PREGNANCY_YES: &str = "preg:yes";
    /// Known not to take families in pregnancy.
    pub const PREGNANCY_NO: &str = "preg:no";
    /// Not known.
    pub const PREGNANCY_UNKNOWN: &str = "preg:unknown";
    /// No age range known.
    pub const AGE_UNKNOWN: &str = "age:unknown";
    /// Catchment not read.
    pub const CATCHMENT_UNKNOWN: &str = "catchment:unknown";
    /// For bereaved families only.
    pub const ONLY_BEREAVED: &str = "only:bereaved";
    /// For speakers of the service's languages only.
    pub const ONLY_LANGUAGE: &str = "only:language";
    /// Not for a family of this role (followed by the role code).
    pub const NOT_FOR: &str = "notfor:";
}

impl ServiceDoc {
    /// The eligibility terms indexed for this service (see [`fit`]).
    pub(crate) fn fit_terms(&self) -> Vec<String> {
        let mut terms = Vec::new();
        let pregnancy = if self.from_pregnancy {
            fit::PREGNANCY_YES
        } else if self.pregnancy_unknown && self.min_age_months.is_none_or(|m| m <= 0.0) {
            fit::PREGNANCY_UNKNOWN
        } else {
            fit::PREGNANCY_NO
        };
        terms.push(pregnancy.to_owned());
        if self.ages_unknown {
            terms.push(fit::AGE_UNKNOWN.to_owned());
        }
        if self.catchment_unknown {
            terms.push(fit::CATCHMENT_UNKNOWN.to_owned());
        }
        let has = |code: &str| self.audiences.iter().any(|a| a == code);
        let roles: Vec<&str> = ROLE_FITS
            .iter()
            .map(|(role, _)| *role)
            .chain(["WHOLE_FAMILY"])
            .filter(|role| has(role))
            .collect();
        if !roles.is_empty() {
            for (role, fits) in ROLE_FITS {
                if !fits.iter().any(|f| roles.contains(f)) {
                    terms.push(format!("{}{role}", fit::NOT_FOR));
                }
            }
        }
        if has("BEREAVED") {
            terms.push(fit::ONLY_BEREAVED.to_owned());
        }
        if has("LANGUAGE_COMMUNITY") {
            terms.push(fit::ONLY_LANGUAGE.to_owned());
        }
        terms
    }

    /// The catchment terms indexed for this service, sorted, each once.
    pub(crate) fn coverage_terms(&self) -> Vec<String> {
        // A term is its kind's tag and a value: built directly, as there can be hundreds (the
        // postcode sectors of a radius).
        let term = |tag: &str, value: &str| {
            let mut term = String::with_capacity(tag.len() + value.len());
            term.push_str(tag);
            term.push_str(value);
            term
        };
        let mut terms = Vec::new();
        if self.catchments.is_empty() {
            terms.extend(self.location_districts.iter().map(|d| term("D:", d)));
            terms.push(PLACED_BY_VENUES.to_owned());
        }
        for catchment in &self.catchments {
            match catchment {
                Catchment::National => terms.push("NATIONAL".to_owned()),
                Catchment::PostcodePrefix(prefix) => {
                    let is_area = prefix.chars().all(|c| c.is_ascii_alphabetic());
                    terms.push(term(if is_area { "A:" } else { "D:" }, prefix));
                }
                Catchment::Sectors(sectors) => {
                    terms.extend(sectors.iter().map(|s| term("S:", s)));
                }
                Catchment::AdministrativeArea(code) => terms.push(term("G:", code)),
            }
        }
        // (Equal terms are the same text, so an unstable sort orders them as a stable one.)
        terms.sort_unstable();
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

    /// Whether and how this service's catchment covers a place, as a search reports it.
    pub fn coverage(&self, place: &Coverage) -> HitCoverage {
        HitCoverage::judge(&self.coverage_terms(), place)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_trafford() -> Coverage {
        Coverage {
            area: "M".into(),
            district: "M16".into(),
            sector: Some("M16 0".into()),
            // Trafford, Greater Manchester, North West, England.
            codes: crate::areas::embedded().with_ancestors("E08000009"),
        }
    }

    fn serving(catchments: Vec<Catchment>) -> ServiceDoc {
        ServiceDoc {
            catchments,
            ..ServiceDoc::default()
        }
    }

    #[test]
    fn catchment_terms_are_tagged_sorted_and_each_once() {
        let service = serving(vec![
            Catchment::Sectors(vec!["M16 0".into(), "M16 9".into()]),
            Catchment::PostcodePrefix("M".into()),
            Catchment::AdministrativeArea("E08000009".into()),
            Catchment::PostcodePrefix("M33".into()),
            Catchment::National,
            Catchment::Sectors(vec!["M16 0".into()]),
        ]);
        assert_eq!(
            service.coverage_terms(),
            [
                "A:M",
                "D:M33",
                "G:E08000009",
                "NATIONAL",
                "S:M16 0",
                "S:M16 9"
            ]
        );
        // A service stating no catchment is placed by its venues' districts.
        let by_venues = ServiceDoc {
            location_districts: vec!["M16".into(), "M1".into(), "M16".into()],
            ..ServiceDoc::default()
        };
        assert_eq!(
            by_venues.coverage_terms(),
            ["D:M1", "D:M16", PLACED_BY_VENUES]
        );
    }

    #[test]
    fn coverage_names_the_narrowest_area_that_holds_the_place() {
        let place = old_trafford();
        let both = serving(vec![
            Catchment::AdministrativeArea("E92000001".into()),
            Catchment::AdministrativeArea("E08000009".into()),
            Catchment::AdministrativeArea("E11000001".into()),
        ]);
        let found = both.coverage(&place);
        assert!(found.covered && found.known);
        assert_eq!(
            found.through,
            Some(CoveredBy::AdministrativeArea("E08000009".into()))
        );
        assert_eq!(found.through.map(|t| t.name()).as_deref(), Some("Trafford"));
        let cases = [
            (Catchment::National, CoveredBy::National, "United Kingdom"),
            (
                Catchment::AdministrativeArea("E92000001".into()),
                CoveredBy::Country("E92000001".into()),
                "England",
            ),
            (
                Catchment::AdministrativeArea("E11000001".into()),
                CoveredBy::AdministrativeArea("E11000001".into()),
                "Greater Manchester",
            ),
            (
                Catchment::PostcodePrefix("M".into()),
                CoveredBy::PostcodeArea("M".into()),
                "postcode area M",
            ),
            (
                Catchment::PostcodePrefix("M16".into()),
                CoveredBy::PostcodeDistrict("M16".into()),
                "postcode district M16",
            ),
            (
                Catchment::Sectors(vec!["M16 9".into(), "M16 0".into()]),
                CoveredBy::PostcodeSector("M16 0".into()),
                "postcode sector M16 0",
            ),
        ];
        for (catchment, through, name) in cases {
            let service = serving(vec![catchment, Catchment::PostcodePrefix("GL50".into())]);
            let found = service.coverage(&place);
            assert_eq!(found.through.as_ref(), Some(&through));
            assert_eq!(through.name(), name);
            assert!(found.covered && found.known);
            assert!(service.covers(&place));
        }
    }

    #[test]
    fn coverage_agrees_with_the_filter_and_says_when_the_catchment_is_not_stated() {
        let place = old_trafford();
        let elsewhere = serving(vec![
            Catchment::PostcodePrefix("M33".into()),
            Catchment::AdministrativeArea("W92000004".into()),
        ]);
        let found = elsewhere.coverage(&place);
        assert_eq!(
            found,
            HitCoverage {
                covered: false,
                known: true,
                through: None
            }
        );
        assert!(!elsewhere.covers(&place));
        // No catchment: placed by its venues.
        let mut by_venue = serving(Vec::new());
        by_venue.location_districts = vec!["M16".into()];
        let found = by_venue.coverage(&place);
        assert!(found.covered && !found.known);
        assert_eq!(found.through, Some(CoveredBy::VenueDistrict("M16".into())));
        assert!(by_venue.covers(&place));
        by_venue.location_districts = vec!["M33".into()];
        assert_eq!(
            by_venue.coverage(&place),
            HitCoverage {
                covered: false,
                known: false,
                through: None
            }
        );
        assert!(!by_venue.covers(&place));
        let nowhere = serving(Vec::new());
        assert!(!nowhere.coverage(&place).known);
        assert!(!nowhere.covers(&place));
    }
}
