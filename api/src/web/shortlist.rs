//! The shortlist: services chosen for a family, kept in the page address (`s=id,id`), so it
//! needs no account and can be shared. A page, a print view, plain text for case notes,
//! `mailto:` and `sms:` links and a QR code of its address.

use std::{fmt::Write as _, sync::Arc};

use axum::{
    extract::{RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use maud::{Markup, html};
use serde_json::json;
use uuid::Uuid;

use super::{
    Visit,
    graphql::{self, Failure, Service, ServiceData},
    html as html_response,
    layout::{self, Shell},
    search::{self, Query},
};
use crate::http::AppState;

/// The most services a shortlist holds.
pub const MAX_ENTRIES: usize = 20;

/// The services on a shortlist, in the order they were added.
#[derive(Clone, Debug, Default)]
pub struct Shortlist(Vec<Uuid>);

impl Shortlist {
    /// The shortlist in a query string's `s`; ids that are not ids are dropped.
    pub fn read(query: &Query) -> Self {
        let mut ids = Vec::new();
        for part in query.all("s").into_iter().flat_map(|s| s.split(',')) {
            if let Ok(id) = Uuid::parse_str(part.trim())
                && !ids.contains(&id)
                && ids.len() < MAX_ENTRIES
            {
                ids.push(id);
            }
        }
        Self(ids)
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many services it holds.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds `id`.
    pub fn contains(&self, id: &str) -> bool {
        Uuid::parse_str(id).is_ok_and(|id| self.0.contains(&id))
    }

    /// The `s` value.
    pub fn encode(&self) -> String {
        self.0
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    fn with(&self, id: &str) -> Self {
        let mut ids = self.0.clone();
        if let Ok(id) = Uuid::parse_str(id)
            && !ids.contains(&id)
            && ids.len() < MAX_ENTRIES
        {
            ids.push(id);
        }
        Self(ids)
    }

    fn without(&self, id: &str) -> Self {
        Self(
            self.0
                .iter()
                .filter(|entry| entry.to_string() != id)
                .copied()
                .collect(),
        )
    }

    /// `query` with this shortlist as its `s`.
    pub fn in_query(&self, query: &Query) -> Query {
        query.with("s", &self.encode())
    }

    /// The shortlist's own address (path and query), holding only the list.
    pub fn path(&self, page: &str) -> String {
        Query::default().with("s", &self.encode()).link(page)
    }

    /// The link adding or removing a service, back to `path` with the rest of the page's
    /// address kept.
    pub fn toggle(&self, query: &Query, path: &str, id: &str, name: &str) -> Markup {
        let (changed, text) = if self.contains(id) {
            (self.without(id), "Remove from shortlist")
        } else {
            (self.with(id), "Add to shortlist")
        };
        let full = self.len() >= MAX_ENTRIES && !self.contains(id);
        html! {
            p class="sp-no-print" {
                @if full {
                    "The shortlist is full (" (MAX_ENTRIES) " services)."
                } @else {
                    a href=(changed.in_query(query).link(path)) {
                        (text) span class="nhsuk-u-visually-hidden" { ": " (name) }
                    }
                    @if self.contains(id) { " " strong class="nhsuk-tag nhsuk-tag--green" { "On the shortlist" } }
                }
            }
        }
    }

    /// The shortlist's banner above the results.
    pub fn summary(&self, _query: &Query) -> Markup {
        html! {
            @if !self.is_empty() {
                div class="nhsuk-inset-text sp-no-print" {
                    span class="nhsuk-u-visually-hidden" { "Information: " }
                    p {
                        "Shortlist: " (self.len()) @if self.len() == 1 { " service. " } @else { " services. " }
                        a href=(self.path("/shortlist")) { "View, print or share the shortlist" }
                    }
                }
            }
        }
    }
}

/// The shortlist's services that still exist and are visible, in order.
async fn load(state: &AppState, visit: &Visit, list: &Shortlist) -> Result<Vec<Service>, Failure> {
    let mut services = Vec::with_capacity(list.len());
    for id in &list.0 {
        let data: ServiceData = graphql::run(
            state,
            visit,
            "ShortlistItem",
            json!({ "id": id.to_string() }),
        )
        .await?;
        services.extend(data.service);
    }
    Ok(services)
}

/// The shortlist a query string names, with its services; or the page that says why not.
async fn shortlisted(
    state: &AppState,
    visit: &Visit,
    raw: Option<&str>,
) -> Result<(Shortlist, Vec<Service>), Response> {
    let list = Shortlist::read(&Query::parse(raw));
    match load(state, visit, &list).await {
        Ok(services) => Ok((list, services)),
        Err(failure) => Err(failed(visit, &failure)),
    }
}

/// `GET /shortlist?s=`.
pub async fn page(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    let (list, services) = match shortlisted(&state, &visit, raw.as_deref()).await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    let link = format!("{}{}", visit.origin(), list.path("/shortlist"));
    let text = plain_text(&services, &link);
    let body = html! {
        h1 { "Shortlist" }
        @if services.is_empty() {
            p { "The shortlist is empty. Add services from the search results." }
            p { a href="/" { "Find services" } }
        } @else {
            p { "This list lives in the page's address: bookmark it, or share it with the family below. Nothing is stored about it." }
            ol class="nhsuk-list nhsuk-list--number" {
                @for service in &services {
                    li {
                        a href=(list.in_query(&Query::default()).link(&format!("/services/{}", service.id))) { (service.name) }
                        " – " (service.organization.name) ". "
                        a href=(list.without(&service.id).path("/shortlist")) {
                            "Remove" span class="nhsuk-u-visually-hidden" { " " (service.name) " from the shortlist" }
                        }
                    }
                }
            }
            h2 { "Share with the family" }
            ul class="nhsuk-list" {
                li { a href=(list.path("/shortlist/print")) { "Print view" } " (one or two pages)" }
                li { a href=(mailto(&text)) { "Send by email" } }
                li { a href=(sms(&services, &link)) { "Send by text message" } }
                li { a href=(list.path("/shortlist.txt")) { "Plain text for case notes" } }
            }
            h2 { "Scan to open this list on the family's phone" }
            div class="sp-qr" {
                img src=(list.path("/shortlist/qr.svg")) alt="QR code of this shortlist's address" width="180" height="180";
            }
            h2 { "Plain text for case notes" }
            pre class="sp-plain" id="plain-text" tabindex="0" { (text) }
            button class="nhsuk-button nhsuk-button--secondary" type="button" data-copy="plain-text" hidden { "Copy the text" }
            p { a href=(list.path("/")) { "Back to search" } }
        }
    };
    html_response(
        &visit,
        StatusCode::OK,
        layout::page(&visit, "Shortlist", &Shell::default(), body),
    )
}

/// `GET /shortlist/print?s=`: the list with what a family needs to make contact.
pub async fn print(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    let (list, services) = match shortlisted(&state, &visit, raw.as_deref()).await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    let today = Utc::now().date_naive();
    let body = html! {
        h1 { "Services for your family" }
        p class="nhsuk-body-s" { "Printed " (layout::long_date(today)) ". Check opening times with the service before you go." }
        button class="nhsuk-button sp-no-print" type="button" data-print hidden { "Print" }
        @for service in &services {
            section class="sp-print-entry" {
                h2 class="nhsuk-heading-m" { (service.name) }
                p { (search::shorten(&service.description, 300)) }
                dl class="nhsuk-summary-list" {
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "How to get in touch" }
                        dd class="nhsuk-summary-list__value" {
                            (search::referral_route(&service.referral))
                            @if let Some(how) = &service.referral.instructions { br; (how) }
                        }
                    }
                    @for phone in service.phones.iter().filter(|p| p.visibility == "PUBLIC") {
                        div class="nhsuk-summary-list__row" {
                            dt class="nhsuk-summary-list__key" { "Phone" }
                            dd class="nhsuk-summary-list__value" { (phone.number) @if let Some(d) = &phone.description { " (" (d) ")" } }
                        }
                    }
                    @if let Some(url) = &service.url {
                        div class="nhsuk-summary-list__row" {
                            dt class="nhsuk-summary-list__key" { "Website" }
                            dd class="nhsuk-summary-list__value" { (url) }
                        }
                    }
                    @if let Some(location) = service.locations.first() {
                        div class="nhsuk-summary-list__row" {
                            dt class="nhsuk-summary-list__key" { "Where" }
                            dd class="nhsuk-summary-list__value" { (address(location)) }
                        }
                    }
                }
            }
        }
        p class="sp-no-print" { a href=(list.path("/shortlist")) { "Back to the shortlist" } }
    };
    html_response(
        &visit,
        StatusCode::OK,
        layout::page(&visit, "Print the shortlist", &Shell::default(), body),
    )
}

/// `GET /shortlist.txt?s=`: the list as plain text.
pub async fn text(
    State(state): State<Arc<AppState>>,
    visit: Visit,
    RawQuery(raw): RawQuery,
) -> Response {
    match shortlisted(&state, &visit, raw.as_deref()).await {
        Ok((list, services)) => {
            let link = format!("{}{}", visit.origin(), list.path("/shortlist"));
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                plain_text(&services, &link),
            )
                .into_response()
        }
        Err(page) => page,
    }
}

/// `GET /shortlist/qr.svg?s=`: a QR code of the shortlist's address.
pub async fn qr(visit: Visit, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let list = Shortlist::read(&query);
    let link = format!("{}{}", visit.origin(), list.path("/shortlist"));
    match qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build();
            (
                [
                    (header::CONTENT_TYPE, "image/svg+xml"),
                    (header::CACHE_CONTROL, "private, max-age=3600"),
                ],
                svg,
            )
                .into_response()
        }
        Err(err) => {
            tracing::warn!(error = %err, "cannot make a QR code");
            (
                StatusCode::BAD_REQUEST,
                "the shortlist is too long for a QR code",
            )
                .into_response()
        }
    }
}

/// A location's address on one line.
pub fn address(location: &graphql::Location) -> String {
    [
        location.name.as_deref(),
        location.address1.as_deref(),
        location.city.as_deref(),
        location.postcode.as_deref(),
    ]
    .into_iter()
    .flatten()
    .filter(|part| !part.trim().is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// The list as plain text: for case notes, an email or a text message.
pub fn plain_text(services: &[Service], link: &str) -> String {
    let mut text = String::from("Services for your family (from Signpost)\n\n");
    for (n, service) in services.iter().enumerate() {
        let _ = writeln!(
            text,
            "{}. {} ({})",
            n + 1,
            service.name,
            service.organization.name
        );
        let _ = writeln!(text, "   {}", search::referral_route(&service.referral));
        for phone in service.phones.iter().filter(|p| p.visibility == "PUBLIC") {
            let _ = writeln!(text, "   Phone: {}", phone.number);
        }
        if let Some(url) = &service.url {
            let _ = writeln!(text, "   Website: {url}");
        }
        if let Some(email) = &service.email {
            let _ = writeln!(text, "   Email: {email}");
        }
        text.push('\n');
    }
    let _ = writeln!(text, "This list online: {link}");
    text
}

fn mailto(text: &str) -> String {
    let encode = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "mailto:?subject={}&body={}",
        encode("Services for your family"),
        encode(text)
    )
}

fn sms(services: &[Service], link: &str) -> String {
    let names = services
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let body = format!("Services for your family: {names}. Details: {link}");
    let encoded = url::form_urlencoded::byte_serialize(body.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("sms:?&body={encoded}")
}

/// The answer when the list's services cannot be read.
fn failed(visit: &Visit, failure: &Failure) -> Response {
    match failure {
        Failure::Refused { message, .. } => layout::message_page(
            visit,
            StatusCode::BAD_REQUEST,
            "The shortlist cannot be shown",
            &search::sentence(message),
        ),
        Failure::Broken => layout::message_page(
            visit,
            StatusCode::SERVICE_UNAVAILABLE,
            "Sorry, there is a problem",
            "The shortlist cannot be shown right now. Try again in a few minutes.",
        ),
    }
}
