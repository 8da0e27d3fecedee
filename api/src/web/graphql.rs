//! The pages' data: named operations from `operations.graphql`, run in process through the
//! schema `POST /graphql` serves, with the visitor as the caller, and their results as types.

use async_graphql::{Request, Variables};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use super::Visit;
use crate::http::AppState;

/// Every operation the pages run.
pub const OPERATIONS: &str = include_str!("operations.graphql");

/// The names of the operations in [`OPERATIONS`], for the test that validates each.
pub const OPERATION_NAMES: [&str; 7] = [
    "SearchCount",
    "SearchPage",
    "Suggestions",
    "ServicePage",
    "ShortlistItem",
    "EventsNear",
    "ReportProblem",
];

/// Why an operation gave no data.
#[derive(Debug)]
pub enum Failure {
    /// The input was refused (`BAD_USER_INPUT`, `NOT_FOUND`, `RATE_LIMITED`...): the message
    /// is the schema's own, meant for people.
    Refused {
        /// `extensions.code`.
        code: String,
        /// The message.
        message: String,
    },
    /// Anything else: the page says something went wrong, the cause is in the log.
    Broken,
}

/// Runs operation `name` with `variables` as the visitor and reads its data as `T`.
pub async fn run<T: DeserializeOwned>(
    state: &AppState,
    visit: &Visit,
    name: &str,
    variables: Value,
) -> Result<T, Failure> {
    let request = Request::new(OPERATIONS)
        .operation_name(name)
        .variables(Variables::from_json(variables));
    let response = crate::http::execute(state, request, &visit.caller, visit.address).await;
    if let Some(error) = response.errors.first() {
        let code = error
            .extensions
            .as_ref()
            .and_then(|ext| ext.get("code"))
            .and_then(|code| match code {
                async_graphql::Value::String(code) => Some(code.clone()),
                async_graphql::Value::Enum(code) => Some(code.to_string()),
                _ => None,
            })
            .unwrap_or_default();
        return match code.as_str() {
            "BAD_USER_INPUT" | "NOT_FOUND" | "RATE_LIMITED" | "FORBIDDEN" | "UNAUTHENTICATED" => {
                Err(Failure::Refused {
                    code,
                    message: error.message.clone(),
                })
            }
            _ => {
                tracing::warn!(operation = name, code, "a page's operation failed");
                Err(Failure::Broken)
            }
        };
    }
    let data = serde_json::to_value(&response.data).map_err(|err| {
        tracing::error!(operation = name, error = %err, "cannot read an operation's data");
        Failure::Broken
    })?;
    serde_json::from_value(data).map_err(|err| {
        tracing::error!(operation = name, error = %err, "an operation's data has an unexpected shape");
        Failure::Broken
    })
}

/// A facet value and its count.
#[derive(Clone, Debug, Deserialize)]
pub struct Facet {
    /// The value to filter by.
    pub value: String,
    /// Its label.
    pub label: String,
    /// Matches with it.
    pub count: i64,
}

/// The search's facets (those an operation asks for; the others empty).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Facets {
    /// Categories.
    pub categories: Vec<Facet>,
    /// Levels of need.
    pub level_of_need: Vec<Facet>,
    /// Audiences.
    pub audiences: Vec<Facet>,
    /// Delivery modes.
    pub delivery_modes: Vec<Facet>,
    /// Referral routes.
    pub referral_routes: Vec<Facet>,
    /// Languages (ISO 639-1 codes, labelled with their names).
    pub languages: Vec<Facet>,
}

/// Paging.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Whether another page follows.
    pub has_next_page: bool,
    /// The cursor for the next page.
    pub end_cursor: Option<String>,
}

/// A highlighted snippet (HTML-escaped by the search, matches in `<b>`).
#[derive(Clone, Debug, Deserialize)]
pub struct Highlight {
    /// "name" or "description".
    pub field: String,
    /// The snippet.
    pub snippet: String,
}

/// Who a service is for.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    /// Open from pregnancy.
    pub from_pregnancy: bool,
    /// Youngest age in months.
    pub min_age_months: Option<f64>,
    /// Oldest age in months.
    pub max_age_months: Option<f64>,
    /// Audiences.
    pub audiences: Vec<String>,
    /// In words.
    pub description: Option<String>,
}

/// How to refer.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Referral {
    /// Families may refer themselves.
    pub self_referral: bool,
    /// Professionals may refer.
    pub professional_referral: bool,
    /// How, in words.
    pub instructions: Option<String>,
}

/// An organisation's name.
#[derive(Clone, Debug, Deserialize)]
pub struct OrganizationName {
    /// Its id.
    #[serde(default)]
    pub id: Option<String>,
    /// Its name.
    pub name: String,
}

/// A catchment.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceArea {
    /// NATIONAL, POSTCODE_PREFIX or RADIUS.
    pub kind: String,
    /// Its name.
    pub name: String,
    /// The prefix, for POSTCODE_PREFIX.
    pub postcode_prefix: Option<String>,
}

/// A location.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The venue.
    pub name: Option<String>,
    /// First address line.
    pub address1: Option<String>,
    /// Town.
    pub city: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
    /// Access information.
    pub accessibility: Option<String>,
}

/// A phone line.
#[derive(Clone, Debug, Deserialize)]
pub struct Phone {
    /// The number.
    pub number: String,
    /// What it is for.
    pub description: Option<String>,
    /// PUBLIC or PROFESSIONAL.
    pub visibility: String,
}

/// A named contact.
#[derive(Clone, Debug, Deserialize)]
pub struct Contact {
    /// Name.
    pub name: Option<String>,
    /// Role.
    pub title: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// PUBLIC or PROFESSIONAL.
    pub visibility: String,
}

/// A parent taxonomy term.
#[derive(Clone, Debug, Deserialize)]
pub struct ParentTerm {
    /// Its code.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
}

/// A taxonomy term.
#[derive(Clone, Debug, Deserialize)]
pub struct Term {
    /// Its id.
    pub id: String,
    /// Its code.
    pub code: Option<String>,
    /// Its name.
    pub name: String,
    /// Its parent.
    pub parent: Option<ParentTerm>,
}

/// Weekly opening hours.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: Option<i32>,
    /// "HH:MM".
    pub opens_at: Option<String>,
    /// "HH:MM".
    pub closes_at: Option<String>,
    /// Notes.
    pub description: Option<String>,
}

/// A dated session.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// What happens.
    pub description: Option<String>,
    /// Start (RFC 3339).
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// End (RFC 3339).
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// Venue.
    pub place_name: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
}

/// The fields of `fragment ServiceSummary`, and those only the service page asks for.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Another name.
    pub alternate_name: Option<String>,
    /// What it offers.
    pub description: String,
    /// Web page.
    pub url: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Status.
    pub status: String,
    /// Level of need.
    pub level_of_need: String,
    /// Who it is for.
    pub eligibility: Eligibility,
    /// How to refer.
    pub referral: Referral,
    /// Delivery modes.
    pub delivery_modes: Vec<String>,
    /// Language codes.
    pub languages: Vec<String>,
    /// Free.
    pub free: bool,
    /// Fees.
    pub fees_description: Option<String>,
    /// Last checked.
    pub assured_date: Option<chrono::NaiveDate>,
    /// Who runs it.
    pub organization: OrganizationName,
    /// Catchments.
    pub service_areas: Vec<ServiceArea>,
    /// Locations.
    pub locations: Vec<Location>,
    /// Phone lines (professional ones only for signed-in professionals).
    pub phones: Vec<Phone>,
    /// Categories.
    pub taxonomy_terms: Vec<Term>,
    /// Funding (service page).
    #[serde(default)]
    pub funding_source: Option<String>,
    /// When the funding ends (service page).
    #[serde(default)]
    pub funding_ends_on: Option<chrono::NaiveDate>,
    /// Who last checked the listing (service page).
    #[serde(default)]
    pub assurer: Option<String>,
    /// Last changed (service page).
    #[serde(default)]
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
    /// Named contacts (service page).
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Opening hours (service page).
    #[serde(default)]
    pub schedules: Vec<Schedule>,
    /// Events (service page).
    #[serde(default)]
    pub events: Vec<Event>,
}

/// A search hit.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchEdge {
    /// Kilometres away.
    pub distance_km: Option<f64>,
    /// Why it matched.
    pub highlights: Vec<Highlight>,
    /// Criteria filtered on that the listing does not confirm (PREGNANCY, AGE, CATCHMENT).
    #[serde(default)]
    pub unconfirmed: Vec<String>,
    /// Whether its catchment covers the family's postcode; absent without a postcode.
    #[serde(default)]
    pub coverage: Option<Coverage>,
    /// The service.
    pub node: Service,
}

/// Whether a service's catchment covers the family's postcode.
#[derive(Clone, Debug, Deserialize)]
pub struct Coverage {
    /// It takes families from the postcode (by its venues when `known` is false).
    pub covered: bool,
    /// The listing states a catchment that was read.
    pub known: bool,
    /// The name of the area through which it covers the postcode.
    pub area: Option<String>,
    /// The kind of that area (`VENUE_DISTRICT` when placed by a venue).
    pub kind: Option<String>,
}

/// What the search read from the words about the family.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interpretation {
    /// Whether it was applied.
    pub applied: bool,
    /// Who the search is for (audience codes).
    pub audiences: Vec<String>,
    /// Expecting.
    pub pregnant: bool,
    /// The baby has died.
    pub bereaved: bool,
    /// The baby's age in months.
    pub infant_age_months: Option<f64>,
    /// Languages (ISO 639 codes).
    pub languages: Vec<String>,
}

/// A page of results.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResults {
    /// Matches in all.
    pub total_count: i64,
    /// Paging.
    pub page_info: PageInfo,
    /// Facet counts.
    pub facets: Facets,
    /// What was read from the words; absent without words.
    #[serde(default)]
    pub interpretation: Option<Interpretation>,
    /// This page.
    pub edges: Vec<SearchEdge>,
}

/// `SearchCount`'s data.
#[derive(Clone, Debug, Deserialize)]
pub struct SearchCountData {
    /// The search, counted.
    pub search: SearchTotal,
}

/// A search's count alone.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchTotal {
    /// Matches in all.
    pub total_count: i64,
}

/// A resolved postcode's position.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Place {
    /// Latitude.
    pub latitude: f64,
    /// Longitude.
    pub longitude: f64,
}

/// The facets of a search run for its counts alone.
#[derive(Clone, Debug, Deserialize)]
pub struct FacetsOnly {
    /// The counts.
    pub facets: Facets,
}

/// `SearchPage`'s data.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchPageData {
    /// The family's postcode's position, when one was given.
    #[serde(default)]
    pub place: Option<Place>,
    /// With a language chosen, the same search without that choice, for each language's count.
    #[serde(default)]
    pub language_choices: Option<FacetsOnly>,
    /// The results.
    pub search: SearchResults,
}

/// `ServicePage` and `ShortlistItem`'s data.
#[derive(Clone, Debug, Deserialize)]
pub struct ServiceData {
    /// The service, when there is one the visitor may see.
    pub service: Option<Service>,
}

/// The service an event belongs to.
#[derive(Clone, Debug, Deserialize)]
pub struct EventService {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Who runs it.
    pub organization: OrganizationName,
}

/// An event with its service.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventNode {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// Its service.
    pub service: EventService,
}

/// An event hit.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEdge {
    /// Kilometres away.
    pub distance_km: Option<f64>,
    /// The event.
    pub node: EventNode,
}

/// A page of events.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventConnection {
    /// Events in all.
    pub total_count: i64,
    /// Paging.
    pub page_info: PageInfo,
    /// This page.
    pub edges: Vec<EventEdge>,
}

/// `EventsNear`'s data.
#[derive(Clone, Debug, Deserialize)]
pub struct EventsData {
    /// The events.
    pub events: EventConnection,
}

/// A completion and what it names.
#[derive(Clone, Debug, Deserialize)]
pub struct Suggestion {
    /// The text.
    pub text: String,
    /// `CATEGORY` or `SERVICE`.
    pub kind: String,
    /// The taxonomy term's or the service's id.
    pub id: Option<String>,
}

/// `Suggestions`' data.
#[derive(Clone, Debug, Deserialize)]
pub struct SuggestionsData {
    /// Completions.
    pub suggestions: Vec<Suggestion>,
}

/// `ReportProblem`'s data.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    /// Whether it was filed.
    pub report_listing_problem: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each operation passes the schema's validation: executed without data, any error it
    /// gets comes from a resolver (it has a path), never from parsing or validation.
    #[tokio::test]
    async fn every_operation_is_valid_against_the_schema() {
        let schema = crate::graphql::build_schema(None, false);
        let id = "00000000-0000-0000-0000-000000000000";
        for name in OPERATION_NAMES {
            let variables = match name {
                "Suggestions" => serde_json::json!({ "prefix": "ba" }),
                "ServicePage" | "ShortlistItem" => serde_json::json!({ "id": id }),
                "ReportProblem" => {
                    serde_json::json!({ "serviceId": id, "kind": "CLOSED", "message": "it closed" })
                }
                _ => serde_json::json!({}),
            };
            let request = Request::new(OPERATIONS)
                .operation_name(name)
                .variables(Variables::from_json(variables));
            let response = schema.execute(request).await;
            for error in &response.errors {
                assert!(
                    !error.path.is_empty(),
                    "{name} is not valid against the schema: {}",
                    error.message
                );
            }
        }
        let declared = OPERATIONS
            .lines()
            .filter(|line| line.starts_with("query ") || line.starts_with("mutation "))
            .count();
        assert_eq!(
            declared,
            OPERATION_NAMES.len(),
            "an operation is not listed"
        );
    }
}
