//! Events near a family: dated sessions, pop-ups and information-bus stops near a postcode in
//! the next few weeks.

use std::sync::Arc;

use axum::{
    extract::{RawQuery, State},
    http::StatusCode,
    response::Response,
};
use chrono::{Duration, Utc};
use maud::{Markup, html};
use serde_json::json;

use super::{
    Visit,
    graphql::{self, Event, EventsData, Failure},
    html as html_response,
    layout::{self, FieldError, Shell},
    search::{self, Query},
};
use crate::http::AppState;

/// Events a page.
pub const PAGE_SIZE: i64 = 20;
const WEEKS: [i64; 3] = [2, 4, 8];
const MILES: [i32; 4] = [2, 5, 10, 20];

/// When an event runs, in UK local time ("Tuesday 3 March 2026, 10:00 to 11:30").
pub fn when(event: &Event) -> String {
    let start = uk_time(event.starts_at);
    let end = uk_time(event.ends_at);
    if start.date() == end.date() {
        format!(
            "{}, {} to {}",
            start.format("%A %-d %B %Y"),
            start.format("%H:%M"),
            end.format("%H:%M")
        )
    } else {
        format!(
            "{} to {}",
            start.format("%A %-d %B %Y %H:%M"),
            end.format("%A %-d %B %Y %H:%M")
        )
    }
}

/// `t` in UK local time: British Summer Time (UTC+1) from 01:00 UTC on the last Sunday of
/// March to 01:00 UTC on the last Sunday of October, else UTC.
pub fn uk_time(t: chrono::DateTime<Utc>) -> chrono::NaiveDateTime {
    use chrono::{Datelike, NaiveDate};
    let change = |month: u32| {
        let first_of_next = NaiveDate::from_ymd_opt(t.year(), month + 1, 1)?;
        let last = first_of_next.pred_opt()?;
        let sunday = last.checked_sub_signed(Duration::days(i64::from(
            last.weekday().num_days_from_sunday(),
        )))?;
        Some(sunday.and_hms_opt(1, 0, 0)?.and_utc())
    };
    let summer = match (change(3), change(10)) {
        (Some(start), Some(end)) => t >= start && t < end,
        _ => false,
    };
    let offset = if summer {
        Duration::hours(1)
    } else {
        Duration::zero()
    };
    (t + offset).naive_utc()
}

/// `GET /events?postcode=&miles=&weeks=`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let mut errors = Vec::new();
    let mut postcode = query.get("postcode").unwrap_or_default().to_owned();
    if !postcode.is_empty() {
        match search::geo_postcode(&postcode) {
            Some(normal) => postcode = normal,
            None => {
                postcode = postcode.chars().take(20).collect();
                errors.push(FieldError {
                    field: "postcode",
                    message: "Enter a real UK postcode, like M16 0RA, or the first half, like M16"
                        .to_owned(),
                });
            }
        }
    }
    let weeks = query
        .get("weeks")
        .and_then(|w| w.parse().ok())
        .filter(|w| WEEKS.contains(w))
        .unwrap_or(4);
    let miles = query
        .get("miles")
        .and_then(|m| m.parse().ok())
        .filter(|m| MILES.contains(m))
        .unwrap_or(10);
    let after = query.get("after").filter(|a| !a.is_empty());
    let mut found = None;
    let mut broken = false;
    if query.has("postcode") && errors.is_empty() {
        let now = Utc::now();
        let radius_km = f64::from(miles) * 1.609_344;
        let near =
            (!postcode.is_empty()).then(|| json!({ "postcode": postcode, "radiusKm": radius_km }));
        let variables = json!({
            "near": near,
            "from": now.to_rfc3339(),
            "to": (now + Duration::weeks(weeks)).to_rfc3339(),
            "first": PAGE_SIZE,
            "after": after,
        });
        match graphql::run::<EventsData>(&state, &visit, "EventsNear", variables).await {
            Ok(data) => found = Some(data.events),
            Err(Failure::Refused { message, .. }) => errors.push(FieldError {
                field: "postcode",
                message: search::sentence(&message),
            }),
            Err(Failure::Broken) => broken = true,
        }
    }
    let status = if !errors.is_empty() {
        StatusCode::BAD_REQUEST
    } else if broken {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = html! {
        (layout::error_summary(&errors))
        h1 { "Events near a family" }
        p { "Groups, drop-ins, pop-ups and information-bus stops with a date, near the family's postcode." }
        (form(&postcode, miles, weeks, &errors))
        @if broken {
            p { "Sorry, events cannot be shown right now. Try again in a few minutes." }
        }
        @if let Some(events) = &found {
            h2 id="events-heading" {
                @if events.total_count == 1 { "1 event" } @else { (events.total_count) " events" }
                " in the next " (weeks) " weeks"
                @if !postcode.is_empty() { " within " (miles) " miles of " (postcode) }
            }
            @if events.edges.is_empty() {
                p { "No events are listed. Try a wider distance or more weeks." }
            }
            ul class="nhsuk-list" aria-labelledby="events-heading" {
                @for edge in &events.edges {
                    li { (event_card(edge)) }
                }
            }
            @if events.page_info.has_next_page {
                @if let Some(cursor) = &events.page_info.end_cursor {
                    p { a href=(query.with("after", cursor).link("/events")) { "More events" } }
                }
            }
        }
    };
    html_response(
        &visit,
        status,
        layout::page(&visit, "Events near a family", &Shell::default(), body),
    )
}

fn form(postcode: &str, miles: i32, weeks: i64, errors: &[FieldError]) -> Markup {
    let class = if layout::field_error(errors, "postcode").is_some() {
        "nhsuk-form-group nhsuk-form-group--error"
    } else {
        "nhsuk-form-group"
    };
    html! {
        form method="get" action="/events" novalidate {
            div class=(class) {
                label class="nhsuk-label" for="postcode" { "The family's postcode" }
                div class="nhsuk-hint" id="postcode-hint" { "For example, M16 0RA" }
                (layout::error_message(errors, "postcode"))
                input class="nhsuk-input nhsuk-input--width-10" id="postcode" name="postcode" type="text"
                    value=(postcode) autocomplete="off" spellcheck="false" aria-describedby="postcode-hint";
            }
            div class="nhsuk-form-group" {
                label class="nhsuk-label" for="miles" { "Within" }
                select class="nhsuk-select" id="miles" name="miles" {
                    @for m in MILES { option value=(m) selected[m == miles] { (m) " miles" } }
                }
            }
            div class="nhsuk-form-group" {
                label class="nhsuk-label" for="weeks" { "In the next" }
                select class="nhsuk-select" id="weeks" name="weeks" {
                    @for w in WEEKS { option value=(w) selected[w == weeks] { (w) " weeks" } }
                }
            }
            button class="nhsuk-button" type="submit" { "Find events" }
        }
    }
}

fn event_card(edge: &graphql::EventEdge) -> Markup {
    let event = &edge.node.event;
    let service = &edge.node.service;
    html! {
        div class="nhsuk-card" {
            div class="nhsuk-card__content" {
                h3 class="nhsuk-card__heading nhsuk-heading-s" { (event.title) }
                p { strong { (when(event)) } }
                @if let Some(description) = &event.description { p { (search::shorten(description, 240)) } }
                p {
                    @for part in [event.place_name.as_deref(), event.address.as_deref(), event.postcode.as_deref()].into_iter().flatten() {
                        (part) " "
                    }
                    @if let Some(km) = edge.distance_km { "(" (layout::miles(km)) " away)" }
                }
                p class="nhsuk-body-s" {
                    "Run by " a href={ "/services/" (service.id) } { (service.name) } " (" (service.organization.name) ")"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_are_shown_in_uk_local_time() {
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).single();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 10, 0, 0).single();
        let after_change = Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).single();
        let hour =
            |t: Option<chrono::DateTime<Utc>>| t.map(|t| uk_time(t).format("%H:%M").to_string());
        assert_eq!(hour(winter).as_deref(), Some("10:00"));
        assert_eq!(hour(summer).as_deref(), Some("11:00"));
        assert_eq!(hour(after_change).as_deref(), Some("02:30"));
    }
}
