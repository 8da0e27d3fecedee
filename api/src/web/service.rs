//! A service's page: every public field (and professional-only lines for a signed-in
//! professional), opening times, locations, events, and a form to report a problem with the
//! listing.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde_json::json;

use super::{
    Visit, csrf_ok, csrf_refused, form_pairs,
    graphql::{self, Failure, ReportData, Service, ServiceData},
    html as html_response,
    layout::{self, FieldError, Shell},
    search::{self, Query},
    see_other,
    shortlist::{self, Shortlist},
};
use crate::http::AppState;

/// How far ahead the page lists a service's events.
pub const EVENT_WEEKS: i64 = 8;

/// The kinds of problem a report may name: form value, schema value, label.
pub const REPORT_KINDS: [(&str, &str, &str); 5] = [
    ("out-of-date", "OUT_OF_DATE", "Details are out of date"),
    ("closed", "CLOSED", "The service has closed"),
    (
        "wrong-catchment",
        "WRONG_CATCHMENT",
        "The catchment (area covered) is wrong",
    ),
    (
        "wrong-contact-details",
        "WRONG_CONTACT_DETAILS",
        "A phone number, email or address is wrong",
    ),
    ("other", "OTHER", "Something else"),
];

/// What the report form was sent with, to show it again with its errors.
#[derive(Default)]
struct ReportForm {
    kind: String,
    message: String,
    errors: Vec<FieldError>,
}

/// Whether a listing is about domestic abuse (the page then offers "exit this page").
pub fn is_domestic_abuse(service: &Service) -> bool {
    let about = |text: &str| {
        let text = text.to_lowercase().replace('-', " ");
        text.contains("domestic abuse") || text.contains("domestic violence")
    };
    service.taxonomy_terms.iter().any(|term| {
        about(&term.name)
            || term.code.as_deref().is_some_and(about)
            || term
                .parent
                .as_ref()
                .is_some_and(|p| about(&p.name) || p.code.as_deref().is_some_and(about))
    })
}

async fn load(state: &AppState, visit: &Visit, id: &str) -> Result<Option<Service>, Failure> {
    let now = Utc::now();
    let data: ServiceData = graphql::run(
        state,
        visit,
        "ServicePage",
        json!({
            "id": id,
            "from": now.to_rfc3339(),
            "to": (now + Duration::weeks(EVENT_WEEKS)).to_rfc3339(),
        }),
    )
    .await?;
    Ok(data.service)
}

/// `GET /services/{id}`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    respond(&state, &visit, &id, &query, ReportForm::default()).await
}

async fn respond(
    state: &AppState,
    visit: &Visit,
    id: &str,
    query: &Query,
    report: ReportForm,
) -> Response {
    if uuid::Uuid::parse_str(id).is_err() {
        return not_found(visit);
    }
    let service = match load(state, visit, id).await {
        Ok(Some(service)) => service,
        Ok(None) => return not_found(visit),
        Err(Failure::Refused { message, .. }) => {
            return layout::message_page(
                visit,
                StatusCode::BAD_REQUEST,
                "This service cannot be shown",
                &search::sentence(&message),
            );
        }
        Err(Failure::Broken) => {
            return layout::message_page(
                visit,
                StatusCode::SERVICE_UNAVAILABLE,
                "Sorry, there is a problem",
                "This service cannot be shown right now. Try again in a few minutes.",
            );
        }
    };
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let back_query = query.without(&["reported"]);
    let back = back_query.link("/");
    let shell = Shell {
        exit: is_domestic_abuse(&service),
        back: Some((back.as_str(), "Back to search")),
        wide: false,
    };
    let title = if report.errors.is_empty() {
        service.name.clone()
    } else {
        format!("Error: {}", service.name)
    };
    let body = view(visit, query, &service, &report);
    html_response(visit, status, layout::page(visit, &title, &shell, body))
}

fn not_found(visit: &Visit) -> Response {
    layout::message_page(
        visit,
        StatusCode::NOT_FOUND,
        "Service not found",
        "There is no service at this address. It may have closed or been taken out of the directory.",
    )
}

fn row(key: &str, value: Markup) -> Markup {
    html! {
        div class="nhsuk-summary-list__row" {
            dt class="nhsuk-summary-list__key" { (key) }
            dd class="nhsuk-summary-list__value" { (value) }
        }
    }
}

fn view(visit: &Visit, query: &Query, service: &Service, report: &ReportForm) -> Markup {
    let today = Utc::now().date_naive();
    let shortlist = Shortlist::read(query);
    let path = format!("/services/{}", service.id);
    let professional = visit.signed_in_as().is_some();
    html! {
        (layout::error_summary(&report.errors))
        @if query.get("reported") == Some("1") {
            div class="nhsuk-inset-text" role="status" {
                span class="nhsuk-u-visually-hidden" { "Information: " }
                p { "Thank you. Your report was sent to the directory team, who will check the listing." }
            }
        }
        span class="nhsuk-caption-l" { (service.organization.name) }
        h1 { (service.name) }
        @if let Some(other) = &service.alternate_name { p class="nhsuk-body-l" { "Also known as " (other) } }
        @if service.status != "ACTIVE" {
            div class="nhsuk-warning-callout" {
                h2 class="nhsuk-warning-callout__label" { span role="text" { span class="nhsuk-u-visually-hidden" { "Important: " } "Not currently running" } }
                p { "This listing's status is " (service.status.to_lowercase().replace('_', " ")) "." }
            }
        }
        (shortlist.toggle(query, &path, &service.id, &service.name))
        @for paragraph in service.description.split("\n\n") { p { (paragraph) } }
        h2 { "Who it is for" }
        dl class="nhsuk-summary-list" {
            (row("For", html! { (search::audiences(&service.eligibility.audiences)) }))
            (row("Age", html! { (layout::age_range(service.eligibility.min_age_months, service.eligibility.max_age_months, service.eligibility.from_pregnancy)) }))
            (row("In pregnancy", html! { @if service.eligibility.from_pregnancy { "Yes" } @else { "No" } }))
            @if let Some(more) = &service.eligibility.description { (row("Eligibility", html! { (more) })) }
            (row("Level of need", html! { (layout::level_label(&service.level_of_need)) }))
            (row("Area covered", html! { (search::catchment(service).unwrap_or_else(|| "Not stated".to_owned())) }))
        }
        h2 { "How to refer" }
        dl class="nhsuk-summary-list" {
            (row("Who can refer", html! { (search::referral_route(&service.referral)) }))
            @if let Some(how) = &service.referral.instructions { (row("How", html! { (how) })) }
        }
        h2 { "Contact" }
        dl class="nhsuk-summary-list" {
            @for phone in &service.phones {
                (row("Phone", html! {
                    a href={ "tel:" (phone.number.replace(' ', "")) } { (phone.number) }
                    @if let Some(d) = &phone.description { " – " (d) }
                    @if phone.visibility == "PROFESSIONAL" { " " strong class="nhsuk-tag nhsuk-tag--purple" { "For professionals only" } }
                }))
            }
            @if let Some(email) = &service.email { (row("Email", html! { a href={ "mailto:" (email) } { (email) } })) }
            @if let Some(url) = &service.url { (row("Website", html! { a href=(url) rel="noreferrer" { (url) } })) }
            @for contact in &service.contacts {
                (row("Contact", html! {
                    @if let Some(name) = &contact.name { (name) }
                    @if let Some(title) = &contact.title { ", " (title) }
                    @if let Some(phone) = &contact.phone { br; a href={ "tel:" (phone.replace(' ', "")) } { (phone) } }
                    @if let Some(email) = &contact.email { br; a href={ "mailto:" (email) } { (email) } }
                    @if contact.visibility == "PROFESSIONAL" { " " strong class="nhsuk-tag nhsuk-tag--purple" { "For professionals only" } }
                }))
            }
        }
        @if !professional {
            p class="nhsuk-body-s" {
                "Professionals can " a href=(Query::default().with("next", &path).link("/sign-in")) { "sign in" }
                " to see referral lines for professionals."
            }
        }
        h2 { "How it is delivered" }
        dl class="nhsuk-summary-list" {
            (row("Delivery", html! { (service.delivery_modes.iter().map(|m| layout::mode_label(m)).collect::<Vec<_>>().join(", ")) }))
            (row("Languages", html! { (service.languages.iter().map(|l| layout::language_name(l)).collect::<Vec<_>>().join(", ")) }))
            (row("Cost", html! { @if service.free { "Free" } @else { (service.fees_description.as_deref().unwrap_or("There is a charge")) } }))
            @if let Some(funder) = &service.funding_source { (row("Funded by", html! { (funder) })) }
            @if let Some(ends) = service.funding_ends_on { (row("Funding ends", html! { (layout::long_date(ends)) })) }
            @if !service.taxonomy_terms.is_empty() {
                (row("Kind of support", html! { (service.taxonomy_terms.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")) }))
            }
        }
        @if !service.schedules.is_empty() {
            h2 { "Opening times" }
            table class="nhsuk-table" {
                caption class="nhsuk-table__caption nhsuk-u-visually-hidden" { "Opening times" }
                thead class="nhsuk-table__head" {
                    tr class="nhsuk-table__row" { th class="nhsuk-table__header" scope="col" { "Day" } th class="nhsuk-table__header" scope="col" { "Times" } }
                }
                tbody class="nhsuk-table__body" {
                    @for schedule in &service.schedules {
                        tr class="nhsuk-table__row" {
                            td class="nhsuk-table__cell" {
                                (schedule.weekday.and_then(entity::codes::weekday).map_or("Every day", |day| day.english))
                            }
                            td class="nhsuk-table__cell" {
                                @if let (Some(open), Some(close)) = (&schedule.opens_at, &schedule.closes_at) { (open) " to " (close) }
                                @if let Some(note) = &schedule.description { " " (note) }
                            }
                        }
                    }
                }
            }
        }
        @if !service.locations.is_empty() {
            h2 { "Where" }
            ul class="nhsuk-list" {
                @for location in &service.locations {
                    li {
                        (shortlist::address(location))
                        @if let (Some(lat), Some(lon)) = (location.latitude, location.longitude) {
                            " (" a href={ "https://www.openstreetmap.org/?mlat=" (lat) "&mlon=" (lon) "#map=16/" (lat) "/" (lon) } rel="noreferrer" { "open in maps" } ")"
                        }
                        @if let Some(access) = &location.accessibility { br; span class="nhsuk-body-s" { "Access: " (access) } }
                    }
                }
            }
        }
        h2 { "Events in the next " (EVENT_WEEKS) " weeks" }
        @if service.events.is_empty() {
            p { "No dated sessions are listed." }
        } @else {
            ul class="nhsuk-list" {
                @for event in &service.events {
                    li {
                        strong { (event.title) } ", " (super::events::when(event))
                        @if let Some(place) = &event.place_name { ", " (place) }
                        @if let Some(postcode) = &event.postcode { " " (postcode) }
                    }
                }
            }
        }
        p class="nhsuk-body-s" {
            "Last checked: " (layout::last_checked(service.assured_date, today))
            @if let Some(who) = &service.assurer { " by " (who) }
            @if let Some(changed) = service.last_modified { ". Last changed " (layout::long_date(changed.date_naive())) "." }
        }
        (report_form(visit, service, report))
    }
}

fn report_form(visit: &Visit, service: &Service, report: &ReportForm) -> Markup {
    let kind_class = if layout::field_error(&report.errors, "kind").is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    };
    let message_class = if layout::field_error(&report.errors, "message").is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    };
    html! {
        details class="nhsuk-details sp-no-print" open[!report.errors.is_empty()] id="report" {
            summary class="nhsuk-details__summary" {
                span class="nhsuk-details__summary-text" { "Report a problem with this listing" }
            }
            div class="nhsuk-details__text" {
                form method="post" action={ "/services/" (service.id) "/report" } novalidate {
                    (layout::csrf_input(visit))
                    div class=(kind_class) {
                        fieldset class="nhsuk-fieldset" id="kind" {
                            legend class="nhsuk-fieldset__legend nhsuk-fieldset__legend--s" { "What is wrong?" }
                            (layout::error_message(&report.errors, "kind"))
                            div class="nhsuk-radios" {
                                @for (i, (value, _, label)) in REPORT_KINDS.iter().enumerate() {
                                    div class="nhsuk-radios__item" {
                                        input class="nhsuk-radios__input" id={ "kind-" (i) } name="kind" type="radio" value=(value) checked[report.kind == *value];
                                        label class="nhsuk-label nhsuk-radios__label" for={ "kind-" (i) } { (label) }
                                    }
                                }
                            }
                        }
                    }
                    div class=(message_class) {
                        label class="nhsuk-label" for="message" { "Tell us what needs changing" }
                        div class="nhsuk-hint" id="message-hint" { "Do not include details about a family." }
                        (layout::error_message(&report.errors, "message"))
                        textarea class="nhsuk-textarea" id="message" name="message" rows="4" aria-describedby="message-hint" { (report.message) }
                    }
                    button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Send report" }
                }
            }
        }
    }
}

/// `POST /services/{id}/report`: files the report through the `ReportProblem` operation.
pub async fn report(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let fields = form_pairs(&body);
    if !csrf_ok(&visit, &fields) {
        return csrf_refused(&visit);
    }
    let value = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut form = ReportForm {
        kind: value("kind"),
        message: value("message"),
        errors: Vec::new(),
    };
    let kind = REPORT_KINDS.iter().find(|(v, _, _)| *v == form.kind);
    if kind.is_none() {
        form.errors.push(FieldError {
            field: "kind",
            message: "Choose what is wrong with the listing".to_owned(),
        });
        form.kind.clear();
    }
    let length = form.message.chars().count();
    if length < 5 {
        form.errors.push(FieldError {
            field: "message",
            message: "Tell us what needs changing, in at least 5 characters".to_owned(),
        });
    } else if length > 2_000 {
        form.errors.push(FieldError {
            field: "message",
            message: format!(
                "Tell us what needs changing in at most 2,000 characters (you entered {length})"
            ),
        });
        form.message = form.message.chars().take(2_000).collect();
    }
    let query = Query::default();
    if !form.errors.is_empty() || uuid::Uuid::parse_str(&id).is_err() {
        return respond(&state, &visit, &id, &query, form).await;
    }
    let variables = json!({
        "serviceId": id,
        "kind": kind.map(|(_, code, _)| *code),
        "message": form.message,
    });
    match graphql::run::<ReportData>(&state, &visit, "ReportProblem", variables).await {
        Ok(_) => see_other(&format!("/services/{id}?reported=1#maincontent")),
        Err(Failure::Refused { code, .. }) if code == "NOT_FOUND" => not_found(&visit),
        Err(Failure::Refused { message, .. }) => {
            form.errors.push(FieldError {
                field: "message",
                message: search::sentence(&message),
            });
            respond(&state, &visit, &id, &query, form).await
        }
        Err(Failure::Broken) => layout::message_page(
            &visit,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sorry, there is a problem",
            "Your report could not be sent. Try again in a few minutes.",
        ),
    }
}
