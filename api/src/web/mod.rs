//! The web client for health visitors, midwives and family-hub staff: server-rendered pages
//! at `/` (GraphiQL stays at `/graphql`). Pages get their data by running the named operations
//! of `operations.graphql` in process through the schema partner apps use, so visibility,
//! limits and rate limits are theirs too. Every journey works without JavaScript; the script
//! only enhances.
//!
//! Privacy: pages are `Cache-Control: private, no-store` and `Referrer-Policy: same-origin`,
//! and the access log records paths without their query strings (postcodes and search words
//! travel in the query string).

pub mod account;
pub mod assets;
pub mod events;
pub mod graphql;
pub mod layout;
pub mod search;
pub mod service;
pub mod shortlist;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Router,
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use maud::Markup;

use crate::{auth::Caller, http::AppState};

/// The session cookie: the signed-in professional's token, never readable by page script.
pub const SESSION_COOKIE: &str = "signpost_session";
/// The cookie holding the visitor's CSRF token, which every form repeats.
pub const CSRF_COOKIE: &str = "signpost_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// How long a web sign-in lasts: a working day.
pub const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(9 * 3600);

/// The web client's routes.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(search::page))
        .route("/suggest", get(search::suggest))
        .route("/services/{id}", get(service::page))
        .route("/services/{id}/report", post(service::report))
        .route("/shortlist", get(shortlist::page))
        .route("/shortlist/print", get(shortlist::print))
        .route("/shortlist.txt", get(shortlist::text))
        .route("/shortlist/qr.svg", get(shortlist::qr))
        .route("/events", get(events::page))
        .route("/sign-in", get(account::form).post(account::sign_in))
        .route("/sign-out", post(account::sign_out))
        .route("/assets/{*path}", get(assets::serve))
        .layer(axum::middleware::map_response(privacy_headers))
}

/// Every web response keeps its referrer to this site; pages are never stored by shared
/// caches (assets set their own long, public cache header).
async fn privacy_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("private, no-store"));
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_html {
        // Nothing is loaded from another origin, and nothing inline runs.
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
            ),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    response
}

/// One page request: who is asking, their CSRF token, where from.
#[derive(Clone, Debug)]
pub struct Visit {
    /// The caller the page's operations run as: anonymous, or the signed-in professional.
    pub caller: Caller,
    /// The visitor's CSRF token.
    pub csrf: String,
    /// Whether the CSRF token is new and must be set as a cookie.
    pub new_csrf: bool,
    /// Whether a session cookie was sent that is no longer valid (it is cleared).
    pub stale_session: bool,
    /// The client's address.
    pub address: SocketAddr,
    /// Whether the request came over HTTPS (cookies are then `Secure`).
    pub https: bool,
    /// The `Host` the request named, for absolute links (the shortlist's QR code).
    pub host: String,
}

impl Visit {
    /// The signed-in professional's email address, if any.
    pub fn signed_in_as(&self) -> Option<&str> {
        match &self.caller {
            Caller::Staff { email, .. } => Some(email),
            _ => None,
        }
    }

    /// This site's origin, as the visitor reached it.
    pub fn origin(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.host)
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A new random token, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    if let Err(err) = getrandom::fill(&mut bytes) {
        // Without randomness a token would be guessable; no form can then be trusted.
        tracing::error!(error = %err, "no randomness for a token");
        return String::new();
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && !a.is_empty()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

impl FromRequestParts<Arc<AppState>> for Visit {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)), |info| info.0);
        let headers = &parts.headers;
        let https = headers
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| {
                host.len() <= 255
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("localhost")
            .to_owned();
        let mut stale_session = false;
        let caller = match cookie(headers, SESSION_COOKIE).filter(|token| !token.is_empty()) {
            None => Caller::Anonymous,
            Some(token) => {
                let bearer = HeaderValue::from_str(&format!("Bearer {token}")).ok();
                match state.auth.authenticate(bearer.as_ref()).await {
                    Ok(caller) => caller,
                    Err(err) => {
                        err.log("a session cookie was refused");
                        stale_session = true;
                        Caller::Anonymous
                    }
                }
            }
        };
        let (limiter, key) = match &caller {
            Caller::Staff { user_id, .. } => (&state.token_limit, user_id.to_string()),
            _ => (&state.anonymous_limit, address.ip().to_string()),
        };
        let (csrf, new_csrf) = match cookie(headers, CSRF_COOKIE).filter(|t| t.len() == 43) {
            Some(token) => (token.to_owned(), false),
            None => (random_token(), true),
        };
        let visit = Self {
            caller,
            csrf,
            new_csrf,
            stale_session,
            address,
            https,
            host,
        };
        if let Some(limiter) = limiter
            && limiter.check_key(&key).is_err()
        {
            return Err(layout::message_page(
                &visit,
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Too many pages were asked for from this address in the last minute. Wait a \
                 minute and try again.",
            ));
        }
        Ok(visit)
    }
}

/// A cookie header value with the attributes every Signpost cookie has.
pub fn set_cookie(visit: &Visit, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        text.push_str(&format!("; Max-Age={age}"));
    }
    if visit.https {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An HTML page answer, setting the CSRF cookie when new and clearing a stale session.
pub fn html(visit: &Visit, status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    add_cookies(visit, &mut response);
    response
}

/// Adds the visit's cookies (a new CSRF token, a stale session cleared) to `response`.
pub fn add_cookies(visit: &Visit, response: &mut Response) {
    if visit.new_csrf {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(visit, CSRF_COOKIE, &visit.csrf, None),
        );
    }
    if visit.stale_session {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(visit, SESSION_COOKIE, "", Some(0)),
        );
    }
}

/// Whether a posted form carries the visitor's CSRF token.
pub fn csrf_ok(visit: &Visit, form: &[(String, String)]) -> bool {
    !visit.new_csrf
        && form
            .iter()
            .find(|(key, _)| key == CSRF_FIELD)
            .is_some_and(|(_, value)| same_token(value, &visit.csrf))
}

/// The answer to a form without a valid CSRF token.
pub fn csrf_refused(visit: &Visit) -> Response {
    layout::message_page(
        visit,
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this site's page, or the page was open too long. Go back, \
         reload the page and send the form again.",
    )
}

/// Reads an `application/x-www-form-urlencoded` body or query string into pairs.
pub fn form_pairs(text: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

/// A redirect (303 See Other) to `location`.
pub fn see_other(location: &str) -> Response {
    let value = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response()
}
