//! The search page (`/`): the need in the professional's words, the family's postcode, the
//! baby's age or the pregnancy, and filters with counts; result cards answer whether a service
//! fits the family and how to refer.

use std::sync::Arc;

use axum::{
    Json,
    extract::{RawQuery, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use entity::codes::MAX_AGE_MONTHS;
use maud::{Markup, html};
use serde_json::{Value, json};

use super::{
    Visit,
    graphql::{self, Facet, Failure, SearchEdge, SearchPageData, SuggestionsData},
    html as html_response,
    layout::{self, FieldError, Shell},
    shortlist::Shortlist,
};
use crate::http::AppState;

/// Results a page.
pub const PAGE_SIZE: i64 = 10;
/// The longest need text searched (the schema's own limit).
pub const MAX_TEXT: usize = 500;

/// Words in a need that make it a mental health search, which shows the urgent-help card.
const MENTAL_HEALTH_WORDS: &[&str] = &[
    "mental",
    "depress",
    "anxi",
    "psychos",
    "psychotic",
    "suicid",
    "self-harm",
    "self harm",
    "harm myself",
    "crisis",
    "panic",
    "ptsd",
    "trauma",
    "ocd",
    "intrusive",
    "low mood",
    "bipolar",
    "tokophobia",
    "talking therap",
];

const AUDIENCES: [&str; 5] = ["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS", "WHOLE_FAMILY"];
const LEVELS: [&str; 3] = ["UNIVERSAL", "TARGETED", "SPECIALIST"];
const MODES: [&str; 5] = ["HOME_VISIT", "IN_PERSON", "GROUP", "ONLINE", "PHONE"];
const SORTS: [(&str, &str, &str); 4] = [
    ("relevance", "RELEVANCE", "Best match"),
    ("distance", "DISTANCE", "Nearest first"),
    ("verified", "RECENTLY_VERIFIED", "Most recently checked"),
    ("name", "NAME", "Name"),
];

/// A query string's pairs, kept in order, to rebuild links that change one thing.
#[derive(Clone, Debug, Default)]
pub struct Query(pub Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        Self(super::form_pairs(raw.unwrap_or_default().as_bytes()))
    }

    /// The first value of `key`, trimmed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim())
    }

    /// Every value of `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// Whether `key` was sent at all.
    pub fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// This query with `key` set to `value` (other values of `key` dropped; none when empty).
    pub fn with(&self, key: &str, value: &str) -> Self {
        let mut pairs: Vec<_> = self.0.iter().filter(|(k, _)| k != key).cloned().collect();
        if !value.is_empty() {
            pairs.push((key.to_owned(), value.to_owned()));
        }
        Self(pairs)
    }

    /// This query without `keys`.
    pub fn without(&self, keys: &[&str]) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// This query without one `key=value` pair.
    pub fn without_pair(&self, key: &str, value: &str) -> Self {
        Self(
            self.0
                .iter()
                .filter(|(k, v)| !(k == key && v.trim() == value))
                .cloned()
                .collect(),
        )
    }

    /// The encoded query string (without `?`).
    pub fn encode(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter().filter(|(_, v)| !v.is_empty()))
            .finish()
    }

    /// `path` with this query.
    pub fn link(&self, path: &str) -> String {
        let query = self.encode();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

/// How the baby's age was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgeUnit {
    /// Weeks.
    Weeks,
    /// Months.
    Months,
}

/// The search form, read and checked.
#[derive(Clone, Debug, Default)]
pub struct SearchForm {
    /// Whether a search was asked for (the form was sent).
    pub submitted: bool,
    /// The need, in words.
    pub text: String,
    /// The family's postcode, as typed.
    pub postcode: String,
    /// Only services whose catchment covers the postcode.
    pub covers_only: bool,
    /// The baby's age, as typed.
    pub age: String,
    /// Weeks or months.
    pub unit: Option<AgeUnit>,
    /// The age in months, when valid.
    pub age_months: Option<f64>,
    /// Pregnant.
    pub pregnant: bool,
    /// Audiences.
    pub audiences: Vec<String>,
    /// Levels of need.
    pub levels: Vec<String>,
    /// Delivery modes.
    pub modes: Vec<String>,
    /// Categories (taxonomy term ids).
    pub categories: Vec<String>,
    /// Self-referral only.
    pub self_referral: bool,
    /// A language code.
    pub language: String,
    /// The sort's form value.
    pub sort: String,
    /// The cursor of the page.
    pub after: Option<String>,
    /// The page number shown.
    pub page: u32,
    /// Whether who the family is is read from the words (`interpret=off` turns it off).
    pub interpret: bool,
    /// What is wrong with the input.
    pub errors: Vec<FieldError>,
}

fn error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

impl SearchForm {
    /// Reads and checks the query string.
    pub fn read(query: &Query) -> Self {
        let mut form = Self {
            submitted: !query.0.iter().all(|(k, _)| k == "s"),
            text: query.get("q").unwrap_or_default().to_owned(),
            postcode: query.get("postcode").unwrap_or_default().to_owned(),
            covers_only: query.get("covers") != Some("all"),
            age: query.get("age").unwrap_or_default().to_owned(),
            pregnant: query.get("pregnant") == Some("yes"),
            self_referral: query.get("self") == Some("yes"),
            language: query.get("language").unwrap_or_default().to_owned(),
            sort: query.get("sort").unwrap_or("relevance").to_owned(),
            after: query
                .get("after")
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
            page: query
                .get("page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1)
                .clamp(1, 1_000),
            interpret: query.get("interpret") != Some("off"),
            ..Self::default()
        };
        let text_length = form.text.chars().count();
        if text_length > MAX_TEXT {
            form.errors.push(error(
                "q",
                format!(
                    "Describe the need in at most {MAX_TEXT} characters (you entered {text_length})"
                ),
            ));
            // A very long text is not shown back in full.
            form.text = form.text.chars().take(MAX_TEXT).collect();
        }
        if !form.postcode.is_empty() {
            match geo_postcode(&form.postcode) {
                Some(postcode) => form.postcode = postcode,
                None => {
                    if form.postcode.chars().count() > 20 {
                        form.postcode = form.postcode.chars().take(20).collect();
                    }
                    form.errors.push(error(
                        "postcode",
                        "Enter a real UK postcode, like M16 0RA, or the first half, like M16",
                    ));
                }
            }
        }
        form.unit = match query.get("unit") {
            Some("weeks") => Some(AgeUnit::Weeks),
            _ => Some(AgeUnit::Months),
        };
        if !form.age.is_empty() {
            if form.age.chars().count() > 10 {
                form.age = form.age.chars().take(10).collect();
            }
            match form.age.parse::<f64>() {
                Ok(age) if age.is_finite() && age >= 0.0 => {
                    let months = match form.unit {
                        Some(AgeUnit::Weeks) => age * 12.0 / 52.0,
                        _ => age,
                    };
                    if months > MAX_AGE_MONTHS {
                        form.errors.push(error(
                            "age",
                            "Enter the baby's age up to 60 months (5 years); services here are for families with babies and young children",
                        ));
                    } else {
                        form.age_months = Some((months * 100.0).round() / 100.0);
                    }
                }
                _ => form.errors.push(error(
                    "age",
                    "Enter the baby's age as a number of weeks or months, like 6",
                )),
            }
        }
        form.audiences = checked(query, "audience", &AUDIENCES, &mut form.errors, "audience");
        form.levels = checked(query, "level", &LEVELS, &mut form.errors, "level");
        form.modes = checked(query, "mode", &MODES, &mut form.errors, "mode");
        form.categories = query
            .all("category")
            .into_iter()
            .filter(|id| uuid::Uuid::parse_str(id).is_ok())
            .map(str::to_owned)
            .collect();
        if !form.language.is_empty() && entity::codes::language_by_code(&form.language).is_none() {
            form.errors
                .push(error("language", "Choose a language from the list"));
            form.language.clear();
        }
        if !SORTS.iter().any(|(value, _, _)| *value == form.sort) {
            form.errors
                .push(error("sort", "Choose an order from the list"));
            form.sort = "relevance".to_owned();
        }
        if form.sort == "distance" && form.postcode.is_empty() {
            form.errors.push(error(
                "sort",
                "Enter the family's postcode to sort by distance",
            ));
        }
        form
    }

    /// The search's variables for the `SearchPage` operation.
    pub fn variables(&self) -> Value {
        let mut filter = serde_json::Map::new();
        if !self.levels.is_empty() {
            filter.insert("levelOfNeed".into(), json!(self.levels));
        }
        if !self.audiences.is_empty() {
            filter.insert("audiences".into(), json!(self.audiences));
        }
        if !self.modes.is_empty() {
            filter.insert("deliveryModes".into(), json!(self.modes));
        }
        if !self.categories.is_empty() {
            filter.insert("categories".into(), json!(self.categories));
        }
        if let Some(months) = self.age_months {
            filter.insert("infantAgeMonths".into(), json!(months));
        }
        if self.pregnant {
            filter.insert("pregnant".into(), json!(true));
        }
        if self.self_referral {
            filter.insert("selfReferral".into(), json!(true));
        }
        if !self.language.is_empty() {
            filter.insert("languages".into(), json!([self.language]));
        }
        if self.covers_only && !self.postcode.is_empty() {
            filter.insert("coversPostcode".into(), json!(self.postcode));
        }
        let sort = SORTS
            .iter()
            .find(|(value, _, _)| *value == self.sort)
            .map_or("RELEVANCE", |(_, code, _)| code);
        let text = self.text.trim();
        // With a language chosen, each language's count is that of the search without the
        // choice: what choosing it instead would find.
        let mut other_languages = filter.clone();
        other_languages.remove("languages");
        json!({
            "text": (!text.is_empty()).then_some(text),
            "filter": filter,
            "otherLanguages": other_languages,
            "withOtherLanguages": !self.language.is_empty(),
            "near": (!self.postcode.is_empty()).then(|| json!({ "postcode": self.postcode })),
            "sort": sort,
            "first": PAGE_SIZE,
            "after": self.after,
            "postcode": self.postcode,
            "withPlace": !self.postcode.is_empty(),
            "interpret": self.interpret,
        })
    }

    /// Whether the need is about mental health (the urgent-help card is then shown).
    pub fn is_mental_health(&self, categories: &[Facet]) -> bool {
        let text = self.text.to_lowercase();
        MENTAL_HEALTH_WORDS.iter().any(|word| text.contains(word))
            || categories.iter().any(|facet| {
                self.categories.contains(&facet.value)
                    && facet.label.to_lowercase().contains("mental health")
            })
    }
}

/// The values of `key` that are among `allowed`; an unknown one is an error on `field`.
fn checked(
    query: &Query,
    key: &str,
    allowed: &[&str],
    errors: &mut Vec<FieldError>,
    field: &'static str,
) -> Vec<String> {
    let mut values = Vec::new();
    for value in query.all(key) {
        if allowed.contains(&value) {
            if !values.iter().any(|v| v == value) {
                values.push(value.to_owned());
            }
        } else if !errors.iter().any(|e| e.field == field) {
            errors.push(error(field, "Choose from the options listed"));
        }
    }
    values
}

/// What the search found, or why it did not run.
enum Outcome {
    /// The form has not been sent.
    NotAsked,
    /// The input was refused.
    Refused,
    /// Results, the family's position when a postcode was given, and for an empty result
    /// what removing each of its choices would find.
    Found(
        Box<graphql::SearchResults>,
        Option<graphql::Place>,
        Vec<Removal>,
    ),
    /// The search failed for a reason not the visitor's.
    Broken,
}

/// `GET /`: the search form, and results when it was sent.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let mut form = SearchForm::read(&query);
    let shortlist = Shortlist::read(&query);
    let outcome = if !form.submitted {
        Outcome::NotAsked
    } else if !form.errors.is_empty() {
        Outcome::Refused
    } else {
        match graphql::run::<SearchPageData>(&state, &visit, "SearchPage", form.variables()).await {
            Ok(data) => {
                let mut results = data.search;
                if let Some(choices) = data.language_choices {
                    results.facets.languages = choices.facets.languages;
                }
                let removals = if results.total_count == 0 {
                    counted_removals(&state, &visit, &query, &form).await
                } else {
                    Vec::new()
                };
                Outcome::Found(Box::new(results), data.place, removals)
            }
            Err(Failure::Refused { message, .. }) => {
                let field = if message.contains("postcode") || message.contains("near") {
                    "postcode"
                } else if message.contains("after") {
                    "results"
                } else {
                    "q"
                };
                form.errors.push(error(field, sentence(&message)));
                Outcome::Refused
            }
            Err(Failure::Broken) => Outcome::Broken,
        }
    };
    let status = match &outcome {
        Outcome::Refused => StatusCode::BAD_REQUEST,
        Outcome::Broken => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let title = match &outcome {
        Outcome::Refused => "Error: find services for a family",
        Outcome::Found(..) => "Search results",
        _ => "Find services for a family",
    };
    let body = view(&query, &form, &shortlist, &outcome);
    html_response(
        &visit,
        status,
        layout::page(
            &visit,
            title,
            &Shell {
                wide: true,
                ..Shell::default()
            },
            body,
        ),
    )
}

/// A postcode, sector or district written the usual way ("M16 0RA"), or none when it is not
/// one.
pub fn geo_postcode(input: &str) -> Option<String> {
    let postcode = ::search::geo::Postcode::parse(input).ok()?;
    Some(
        postcode
            .full()
            .or_else(|| postcode.sector())
            .unwrap_or(postcode.outward),
    )
}

/// The schema's message as a sentence for the page.
pub fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}

fn view(query: &Query, form: &SearchForm, shortlist: &Shortlist, outcome: &Outcome) -> Markup {
    let facets = match outcome {
        Outcome::Found(results, ..) => Some(&results.facets),
        _ => None,
    };
    html! {
        (layout::error_summary(&form.errors))
        h1 { "Find services for a family" }
        @if let Outcome::Found(results, ..) = outcome {
            @if form.is_mental_health(&results.facets.categories) {
                (layout::urgent_help_card())
            }
        } @else if form.submitted && form.is_mental_health(&[]) {
            (layout::urgent_help_card())
        }
        (shortlist.summary(query))
        div class="nhsuk-grid-row" {
            div class="nhsuk-grid-column-one-third" {
                (search_form(form, shortlist, facets))
            }
            div class="nhsuk-grid-column-two-thirds" id="results" {
                @match outcome {
                    Outcome::NotAsked => {
                        p class="nhsuk-body-l" {
                            "Describe the family's need in your own words, add their postcode and the baby's age, and press Search."
                        }
                        p { a href="/events" { "See events and pop-ups near a family" } }
                    }
                    Outcome::Refused => {
                        p { "Correct the details in the form to search." }
                    }
                    Outcome::Broken => {
                        h2 { "Sorry, the search is not working right now" }
                        p { "Try again in a few minutes. If you need a service urgently, use your local directory or call the service you know." }
                    }
                    Outcome::Found(results, place, removals) => (results_view(query, form, shortlist, results, *place, removals)),
                }
            }
        }
    }
}

fn search_form(
    form: &SearchForm,
    shortlist: &Shortlist,
    facets: Option<&graphql::Facets>,
) -> Markup {
    let count = |list: Option<&Vec<Facet>>, value: &str| -> Option<i64> {
        list.map(|list| {
            list.iter()
                .find(|f| f.value == value)
                .map_or(0, |f| f.count)
        })
    };
    let group_class = |field: &str| {
        if layout::field_error(&form.errors, field).is_some() {
            "nhsuk-form-group nhsuk-form-group--error"
        } else {
            "nhsuk-form-group"
        }
    };
    html! {
        form method="get" action="/" novalidate class="sp-facets" {
            @if !shortlist.is_empty() {
                input type="hidden" name="s" value=(shortlist.encode());
            }
            div class=(group_class("q")) {
                label class="nhsuk-label" for="q" { "What does the family need?" }
                div class="nhsuk-hint" id="q-hint" { "In your own words, for example: low mood after birth, dad struggling, baby not sleeping" }
                (layout::error_message(&form.errors, "q"))
                input class="nhsuk-input" id="q" name="q" type="search" value=(form.text)
                    aria-describedby="q-hint" data-suggest autocomplete="off";
            }
            div class=(group_class("postcode")) {
                label class="nhsuk-label" for="postcode" { "The family's postcode" }
                div class="nhsuk-hint" id="postcode-hint" { "For example, M16 0RA" }
                (layout::error_message(&form.errors, "postcode"))
                input class="nhsuk-input nhsuk-input--width-10" id="postcode" name="postcode" type="text"
                    value=(form.postcode) autocomplete="off" spellcheck="false" aria-describedby="postcode-hint";
            }
            div class="nhsuk-form-group" {
                fieldset class="nhsuk-fieldset" {
                    legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "Which services" }
                    div class="nhsuk-radios nhsuk-radios--small" {
                        div class="nhsuk-radios__item" {
                            input class="nhsuk-radios__input" id="covers" name="covers" type="radio" value="only" checked[form.covers_only];
                            label class="nhsuk-label nhsuk-radios__label" for="covers" { "Only those covering the postcode" }
                        }
                        div class="nhsuk-radios__item" {
                            input class="nhsuk-radios__input" id="covers-all" name="covers" type="radio" value="all" checked[!form.covers_only];
                            label class="nhsuk-label nhsuk-radios__label" for="covers-all" { "All services, whatever their catchment" }
                        }
                    }
                }
            }
            div class=(group_class("age")) {
                fieldset class="nhsuk-fieldset" aria-describedby="age-hint" {
                    legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "The baby's age" }
                    div class="nhsuk-hint" id="age-hint" { "Leave empty if the baby is not born yet, and tick pregnancy below" }
                    (layout::error_message(&form.errors, "age"))
                    label class="nhsuk-label" for="age" { "Age" }
                    input class="nhsuk-input nhsuk-input--width-4" id="age" name="age" type="text" inputmode="decimal" value=(form.age);
                    label class="nhsuk-label" for="unit" { "In" }
                    select class="nhsuk-select" id="unit" name="unit" {
                        option value="weeks" selected[form.unit == Some(AgeUnit::Weeks)] { "weeks" }
                        option value="months" selected[form.unit != Some(AgeUnit::Weeks)] { "months" }
                    }
                }
            }
            div class="nhsuk-form-group" {
                div class="nhsuk-checkboxes nhsuk-checkboxes--small" {
                    div class="nhsuk-checkboxes__item" {
                        input class="nhsuk-checkboxes__input" id="pregnant" name="pregnant" type="checkbox" value="yes" checked[form.pregnant];
                        label class="nhsuk-label nhsuk-checkboxes__label" for="pregnant" { "Pregnant (services open from pregnancy)" }
                    }
                    div class="nhsuk-checkboxes__item" {
                        input class="nhsuk-checkboxes__input" id="self" name="self" type="checkbox" value="yes" checked[form.self_referral];
                        label class="nhsuk-label nhsuk-checkboxes__label" for="self" {
                            "Family can refer themselves"
                            @if let Some(n) = count(facets.map(|f| &f.referral_routes), "SELF") { " " span class="sp-count" { "(" (n) ")" } }
                        }
                    }
                }
            }
            (checkbox_group("audience", "Who it is for", &AUDIENCES, &form.audiences, facets.map(|f| &f.audiences), layout::audience_label, &form.errors))
            (checkbox_group("level", "Level of need", &LEVELS, &form.levels, facets.map(|f| &f.level_of_need), layout::level_label, &form.errors))
            (checkbox_group("mode", "How it is delivered", &MODES, &form.modes, facets.map(|f| &f.delivery_modes), layout::mode_label, &form.errors))
            @if let Some(facets) = facets {
                @if !facets.categories.is_empty() || !form.categories.is_empty() {
                    div class="nhsuk-form-group" {
                        fieldset class="nhsuk-fieldset" {
                            legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "Kind of support" }
                            div class="nhsuk-checkboxes nhsuk-checkboxes--small" {
                                @for (i, facet) in facets.categories.iter().enumerate() {
                                    div class="nhsuk-checkboxes__item" {
                                        input class="nhsuk-checkboxes__input" id={ "category-" (i) } name="category" type="checkbox"
                                            value=(facet.value) checked[form.categories.contains(&facet.value)];
                                        label class="nhsuk-label nhsuk-checkboxes__label" for={ "category-" (i) } {
                                            (facet.label) " " span class="sp-count" { "(" (facet.count) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } @else {
                @for id in &form.categories { input type="hidden" name="category" value=(id); }
            }
            div class=(group_class("language")) {
                label class="nhsuk-label" for="language" { "Language the family speaks" }
                (layout::error_message(&form.errors, "language"))
                select class="nhsuk-select" id="language" name="language" {
                    option value="" { "Any language" }
                    @match facets {
                        // After a search: the languages its services are offered in, with counts.
                        Some(facets) => {
                            @for (code, name, count) in language_choices(&facets.languages, &form.language) {
                                option value=(code) selected[form.language == code] { (name) " (" (count) ")" }
                            }
                        }
                        None => {
                            @for (code, name) in layout::languages_by_name() {
                                option value=(code) selected[form.language == code] { (name) }
                            }
                        }
                    }
                }
            }
            div class=(group_class("sort")) {
                label class="nhsuk-label" for="sort" { "Order" }
                (layout::error_message(&form.errors, "sort"))
                select class="nhsuk-select" id="sort" name="sort" {
                    @for (value, _, label) in SORTS {
                        option value=(value) selected[form.sort == value] { (label) }
                    }
                }
            }
            button class="nhsuk-button" type="submit" data-module="nhsuk-button" { "Search" }
        }
    }
}

/// The languages of the languages facet as (code, name, count), by name, with the chosen one
/// even when no service offers it.
fn language_choices(facet: &[Facet], chosen: &str) -> Vec<(String, String, i64)> {
    let mut choices: Vec<(String, String, i64)> = facet
        .iter()
        .filter(|f| f.count > 0)
        .map(|f| (f.value.clone(), layout::language_name(&f.value), f.count))
        .collect();
    if !chosen.is_empty() && !choices.iter().any(|(code, _, _)| code == chosen) {
        choices.push((chosen.to_owned(), layout::language_name(chosen), 0));
    }
    choices.sort_by(|a, b| a.1.cmp(&b.1));
    choices
}

fn checkbox_group(
    name: &'static str,
    legend: &str,
    values: &[&str],
    chosen: &[String],
    facets: Option<&Vec<Facet>>,
    label: fn(&str) -> &'static str,
    errors: &[FieldError],
) -> Markup {
    let class = if layout::field_error(errors, name).is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    };
    html! {
        div class=(class) {
            fieldset class="nhsuk-fieldset" id=(name) {
                legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { (legend) }
                (layout::error_message(errors, name))
                div class="nhsuk-checkboxes nhsuk-checkboxes--small" {
                    @for value in values {
                        @let id = format!("{name}-{}", value.to_lowercase().replace('_', "-"));
                        div class="nhsuk-checkboxes__item" {
                            input class="nhsuk-checkboxes__input" id=(id) name=(name) type="checkbox" value=(value)
                                checked[chosen.iter().any(|c| c.as_str() == *value)];
                            label class="nhsuk-label nhsuk-checkboxes__label" for=(id) {
                                (label(value))
                                @if let Some(list) = facets {
                                    " " span class="sp-count" { "(" (list.iter().find(|f| f.value == *value).map_or(0, |f| f.count)) ")" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn results_view(
    query: &Query,
    form: &SearchForm,
    shortlist: &Shortlist,
    results: &graphql::SearchResults,
    place: Option<graphql::Place>,
    removals: &[Removal],
) -> Markup {
    let today = Utc::now().date_naive();
    let first = i64::from(form.page.saturating_sub(1)) * PAGE_SIZE + 1;
    let last = first + i64::try_from(results.edges.len()).unwrap_or(0) - 1;
    html! {
        h2 id="results-heading" {
            @if results.total_count == 1 { "1 service found" } @else { (results.total_count) " services found" }
        }
        @if let Some(read) = &results.interpretation {
            (interpretation_view(query, read))
        }
        @if results.edges.is_empty() {
            (no_results(removals))
        } @else {
            p class="nhsuk-body-s" { "Showing " (first) " to " (last) " of " (results.total_count) "." }
            ol class="nhsuk-list" aria-labelledby="results-heading" {
                @for edge in &results.edges {
                    li { (card(query, form, shortlist, edge, place, today)) }
                }
            }
            nav class="nhsuk-pagination" role="navigation" aria-label="Results pages" {
                ul class="nhsuk-list nhsuk-pagination__list" {
                    @if form.after.is_some() {
                        li class="nhsuk-pagination-item--previous" {
                            a class="nhsuk-pagination__link nhsuk-pagination__link--prev" href=(query.without(&["after", "page"]).link("/")) {
                                span class="nhsuk-pagination__title" { "First page" }
                            }
                        }
                    }
                    @if results.page_info.has_next_page {
                        @if let Some(cursor) = &results.page_info.end_cursor {
                            li class="nhsuk-pagination-item--next" {
                                a class="nhsuk-pagination__link nhsuk-pagination__link--next"
                                    href=(query.with("after", cursor).with("page", &(form.page + 1).to_string()).link("/")) {
                                    span class="nhsuk-pagination__title" { "Next page" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One of an empty result's choices, with the search that drops it.
pub struct Removal {
    /// The choice, in words.
    what: String,
    /// The search without it.
    link: Query,
    /// How many services that search finds (none when it could not be counted).
    count: Option<i64>,
}

/// The choices of an empty result that can be dropped, each with the search without it.
fn removable(query: &Query, form: &SearchForm) -> Vec<(String, Query)> {
    let mut removable: Vec<(String, Query)> = Vec::new();
    if !form.text.is_empty() {
        removable.push((
            format!("the words \u{201c}{}\u{201d}", form.text),
            query.without(&["q", "after", "page"]),
        ));
    }
    if form.covers_only && !form.postcode.is_empty() {
        removable.push((
            format!("covering {}", form.postcode),
            query.with("covers", "all").without(&["after", "page"]),
        ));
    }
    if form.age_months.is_some() {
        removable.push((
            "the baby's age".to_owned(),
            query.without(&["age", "after", "page"]),
        ));
    }
    if form.pregnant {
        removable.push((
            "open from pregnancy".to_owned(),
            query.without(&["pregnant", "after", "page"]),
        ));
    }
    if form.self_referral {
        removable.push((
            "self-referral".to_owned(),
            query.without(&["self", "after", "page"]),
        ));
    }
    for value in &form.audiences {
        removable.push((
            layout::audience_label(value).to_owned(),
            query
                .without_pair("audience", value)
                .without(&["after", "page"]),
        ));
    }
    for value in &form.levels {
        removable.push((
            layout::level_label(value).to_owned(),
            query
                .without_pair("level", value)
                .without(&["after", "page"]),
        ));
    }
    for value in &form.modes {
        removable.push((
            layout::mode_label(value).to_owned(),
            query
                .without_pair("mode", value)
                .without(&["after", "page"]),
        ));
    }
    if !form.language.is_empty() {
        removable.push((
            layout::language_name(&form.language),
            query.without(&["language", "after", "page"]),
        ));
    }
    if !form.categories.is_empty() {
        removable.push((
            "the kinds of support chosen".to_owned(),
            query.without(&["category", "after", "page"]),
        ));
    }
    removable
}

/// An empty result's choices, each counted: how many services the search finds without it.
async fn counted_removals(
    state: &AppState,
    visit: &Visit,
    query: &Query,
    form: &SearchForm,
) -> Vec<Removal> {
    let counts = removable(query, form)
        .into_iter()
        .map(|(what, link)| async move {
            let without = SearchForm::read(&link);
            let count = if without.errors.is_empty() {
                let all = without.variables();
                let variables = json!({
                    "text": all["text"],
                    "filter": all["filter"],
                    "near": all["near"],
                    "interpret": all["interpret"],
                });
                graphql::run::<graphql::SearchCountData>(state, visit, "SearchCount", variables)
                    .await
                    .ok()
                    .map(|data| data.search.total_count)
            } else {
                None
            };
            Removal { what, link, count }
        });
    futures::future::join_all(counts).await
}

/// An empty result: which of the family's details narrowed it, with one click to drop each
/// and how many services that finds.
fn no_results(removals: &[Removal]) -> Markup {
    html! {
        p { "No service matches everything you asked for." }
        @if !removals.is_empty() {
            p { "Try removing one of these:" }
            ul class="sp-removals" {
                @for removal in removals {
                    li {
                        a href=(removal.link.link("/")) { "Remove " (removal.what) }
                        @match removal.count {
                            Some(0) => " (still no service)",
                            Some(1) => " (finds 1 service)",
                            Some(n) => { " (finds " (n) " services)" }
                            None => {}
                        }
                    }
                }
            }
        }
    }
}

/// Words for what the search read about the family, for "Showing services for: ...".
fn family_words(read: &graphql::Interpretation) -> Vec<String> {
    let mut out: Vec<String> = read
        .audiences
        .iter()
        .map(|code| {
            match code.as_str() {
                "MOTHERS" => "a mother",
                "FATHERS" => "a father",
                "CO_PARENTS" => "a co-parent",
                "CARERS" => "a carer",
                other => other,
            }
            .to_owned()
        })
        .collect();
    if read.pregnant {
        out.push("expecting a baby".to_owned());
    }
    if read.bereaved {
        out.push("a baby who has died".to_owned());
    }
    if let Some(months) = read.infant_age_months {
        out.push(if months < 2.0 {
            format!("baby {} weeks", (months * 4.345).round())
        } else {
            format!("baby {} months", (months * 10.0).round() / 10.0)
        });
    }
    for code in &read.languages {
        out.push(format!("speaks {}", layout::language_name(code)));
    }
    out
}

/// "Showing services for: a father, baby 4 months", with one link to undo it (or redo it).
fn interpretation_view(query: &Query, read: &graphql::Interpretation) -> Markup {
    let words = family_words(read);
    html! {
        @if read.applied && !words.is_empty() {
            div class="nhsuk-inset-text" {
                p {
                    "Showing services for: " strong { (words.join(", ")) }
                    " (read from the words you typed). "
                    a href=(query.with("interpret", "off").without(&["after", "page"]).link("/")) {
                        "Search without this"
                    }
                }
            }
        } @else if !read.applied && !words.is_empty() {
            div class="nhsuk-inset-text" {
                p {
                    "Not filtering by who the words describe (" (words.join(", ")) "). "
                    a href=(query.without(&["interpret", "after", "page"]).link("/")) {
                        "Filter by it again"
                    }
                }
            }
        }
    }
}

/// A line for a criterion the listing does not confirm.
fn unconfirmed_words(criterion: &str) -> &'static str {
    match criterion {
        "PREGNANCY" => "whether it takes families in pregnancy",
        "AGE" => "which ages it takes",
        "CATCHMENT" => "which area it covers",
        _ => "part of who it is for",
    }
}

fn card(
    query: &Query,
    form: &SearchForm,
    shortlist: &Shortlist,
    edge: &SearchEdge,
    place: Option<graphql::Place>,
    today: chrono::NaiveDate,
) -> Markup {
    let service = &edge.node;
    let description = edge
        .highlights
        .iter()
        .find(|h| h.field == "description")
        .map(|h| layout::snippet(&h.snippet))
        .unwrap_or_else(|| html! { (shorten(&service.description, 220)) });
    let service_link = query
        .without(&["after", "page"])
        .link(&format!("/services/{}", service.id));
    let town = nearest_town(service, place).unwrap_or_default();
    html! {
        div class="nhsuk-card" {
            div class="nhsuk-card__content" {
                h3 class="nhsuk-card__heading nhsuk-heading-m" {
                    a class="nhsuk-card__link" href=(service_link) { (service.name) }
                }
                p class="nhsuk-body-s" { "Run by " (service.organization.name) }
                p class="sp-highlight" { (description) }
                @if !edge.unconfirmed.is_empty() {
                    p class="nhsuk-body-s sp-unconfirmed" {
                        strong { "Check with the service: " }
                        "its listing does not say "
                        (edge.unconfirmed.iter().map(|c| unconfirmed_words(c)).collect::<Vec<_>>().join(" or "))
                        "."
                    }
                }
                dl class="nhsuk-summary-list sp-card-facts" {
                    @if !form.postcode.is_empty() {
                        div class="nhsuk-summary-list__row" {
                            dt class="nhsuk-summary-list__key" { "Covers " (form.postcode) }
                            dd class="nhsuk-summary-list__value" { (coverage_words(edge.coverage.as_ref())) }
                        }
                    }
                    @if let Some(km) = edge.distance_km {
                        div class="nhsuk-summary-list__row" {
                            dt class="nhsuk-summary-list__key" { "Distance" }
                            dd class="nhsuk-summary-list__value" {
                                (layout::miles(km))
                                @if !town.is_empty() { " (" (town) ")" }
                            }
                        }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "Age" }
                        dd class="nhsuk-summary-list__value" {
                            (layout::age_range(service.eligibility.min_age_months, service.eligibility.max_age_months, service.eligibility.from_pregnancy))
                            @if let Some(months) = form.age_months { " – fits a baby of " (months) " months" }
                        }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "In pregnancy" }
                        dd class="nhsuk-summary-list__value" { @if service.eligibility.from_pregnancy { "Yes" } @else { "No" } }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "For" }
                        dd class="nhsuk-summary-list__value" { (audiences(&service.eligibility.audiences)) }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "Referral" }
                        dd class="nhsuk-summary-list__value" {
                            (referral_route(&service.referral))
                            @if let Some(how) = &service.referral.instructions { br; span class="nhsuk-body-s" { (shorten(how, 200)) } }
                        }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "Level of need" }
                        dd class="nhsuk-summary-list__value" { (layout::level_label(&service.level_of_need)) }
                    }
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "Last checked" }
                        dd class="nhsuk-summary-list__value" { (layout::last_checked(service.assured_date, today)) }
                    }
                }
                (shortlist.toggle(query, "/", &service.id, &service.name))
            }
        }
    }
}

/// Whether a service covers the family's postcode, in words: "Yes (Trafford)", "No", or, when
/// the listing states no catchment that could be read, "Not stated — check with the service"
/// (saying so when one of its venues is in the postcode's district).
pub fn coverage_words(coverage: Option<&graphql::Coverage>) -> String {
    match coverage {
        Some(graphql::Coverage {
            known: true,
            covered: true,
            area,
            ..
        }) => match area {
            Some(area) => format!("Yes ({area})"),
            None => "Yes".to_owned(),
        },
        Some(graphql::Coverage {
            known: true,
            covered: false,
            ..
        }) => "No".to_owned(),
        // Placed by a venue in the postcode's district: said, but not as the listing's word.
        Some(graphql::Coverage {
            known: false,
            covered: true,
            area: Some(area),
            ..
        }) => {
            format!("Not stated \u{2014} check with the service (one of its venues is in {area})")
        }
        _ => "Not stated \u{2014} check with the service".to_owned(),
    }
}

/// The town of the service's location nearest the family (or its first town when their
/// position is not known).
fn nearest_town(service: &graphql::Service, place: Option<graphql::Place>) -> Option<&str> {
    let with_town = service.locations.iter().filter(|l| l.city.is_some());
    let nearest = place.and_then(|place| {
        with_town
            .clone()
            .filter_map(|l| {
                let km = ::search::geo::distance_km(
                    place.latitude,
                    place.longitude,
                    l.latitude?,
                    l.longitude?,
                );
                Some((km, l))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, l)| l)
    });
    nearest
        .or_else(|| with_town.clone().next())
        .and_then(|l| l.city.as_deref())
}

/// The catchment's names, or none when the listing gives none.
pub fn catchment(service: &graphql::Service) -> Option<String> {
    if service.service_areas.iter().any(|a| a.kind == "NATIONAL") {
        return Some("the whole country".to_owned());
    }
    let names: Vec<&str> = service
        .service_areas
        .iter()
        .map(|a| a.name.as_str())
        .take(4)
        .collect();
    (!names.is_empty()).then(|| {
        let more = service.service_areas.len().saturating_sub(names.len());
        if more > 0 {
            format!("{} and {more} more", names.join(", "))
        } else {
            names.join(", ")
        }
    })
}

/// Audiences in words.
pub fn audiences(codes: &[String]) -> String {
    if codes.is_empty() {
        return "Anyone in the family".to_owned();
    }
    codes
        .iter()
        .map(|c| layout::audience_label(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who may refer, in words.
pub fn referral_route(referral: &graphql::Referral) -> &'static str {
    match (referral.self_referral, referral.professional_referral) {
        (true, true) => "Families can refer themselves, or a professional can refer",
        (true, false) => "Families refer themselves",
        (false, true) => "A professional must refer",
        (false, false) => "See how to refer",
    }
}

/// `text` cut at a word boundary to about `max` characters.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}\u{2026}")
}

/// `GET /suggest?prefix=`: completions for the need text, for the page's script, as JSON:
/// `[{ "text", "kind": "CATEGORY" | "SERVICE", "id", "href" }]`, `href` being the service's
/// page for a service and null otherwise.
pub async fn suggest(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let prefix = query.get("prefix").unwrap_or_default();
    if prefix.is_empty() || prefix.chars().count() > 100 {
        return Json(Vec::<Value>::new()).into_response();
    }
    match graphql::run::<SuggestionsData>(
        &state,
        &visit,
        "Suggestions",
        json!({ "prefix": prefix }),
    )
    .await
    {
        Ok(data) => Json(
            data.suggestions
                .into_iter()
                .map(|s| {
                    let href = (s.kind == "SERVICE")
                        .then(|| s.id.as_ref().map(|id| format!("/services/{id}")))
                        .flatten();
                    json!({ "text": s.text, "kind": s.kind, "id": s.id, "href": href })
                })
                .collect::<Vec<Value>>(),
        )
        .into_response(),
        Err(_) => Json(Vec::<Value>::new()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(query: &str) -> SearchForm {
        SearchForm::read(&Query::parse(Some(query)))
    }

    #[test]
    fn ages_in_weeks_become_months() {
        let read = form("q=&age=13&unit=weeks");
        assert!(read.errors.is_empty(), "{:?}", read.errors);
        assert_eq!(read.age_months, Some(3.0));
    }

    #[test]
    fn bad_input_is_explained_not_searched() {
        assert_eq!(form("age=400").errors[0].field, "age");
        assert_eq!(form("postcode=NOT A POSTCODE").errors[0].field, "postcode");
        assert_eq!(
            form(&format!("q={}", "a".repeat(5_000))).errors[0].field,
            "q"
        );
        assert_eq!(form("audience=ALIENS").errors[0].field, "audience");
        assert_eq!(form("sort=distance").errors[0].field, "sort");
    }

    #[test]
    fn postcodes_are_written_the_usual_way() {
        assert_eq!(form("postcode=m160ra").postcode, "M16 0RA");
    }

    #[test]
    fn coverage_is_said_in_words() {
        let coverage = |covered: bool, known: bool, area: Option<&str>| graphql::Coverage {
            covered,
            known,
            area: area.map(str::to_owned),
            kind: None,
        };
        let said = |c: graphql::Coverage| coverage_words(Some(&c));
        assert_eq!(
            said(coverage(true, true, Some("Trafford"))),
            "Yes (Trafford)"
        );
        assert_eq!(said(coverage(false, true, None)), "No");
        assert_eq!(
            said(coverage(false, false, None)),
            "Not stated \u{2014} check with the service"
        );
        assert!(
            said(coverage(true, false, Some("postcode district M16")))
                .starts_with("Not stated \u{2014} check with the service")
        );
        assert_eq!(
            coverage_words(None),
            "Not stated \u{2014} check with the service"
        );
    }

    #[test]
    fn the_language_list_holds_the_languages_found_and_the_one_chosen() {
        let facet = |value: &str, count: i64| Facet {
            value: value.to_owned(),
            label: String::new(),
            count,
        };
        let choices = language_choices(&[facet("ur", 3), facet("en", 9), facet("pl", 0)], "so");
        assert_eq!(
            choices,
            [
                ("en".to_owned(), "English".to_owned(), 9),
                ("so".to_owned(), "Somali".to_owned(), 0),
                ("ur".to_owned(), "Urdu".to_owned(), 3),
            ]
        );
    }

    #[test]
    fn mental_health_needs_are_recognised() {
        assert!(form("q=Low+mood+and+anxiety").is_mental_health(&[]));
        assert!(!form("q=baby+massage").is_mental_health(&[]));
    }
}
