//! Sign in and out for professionals. The session is the account's token in an `HttpOnly`,
//! `SameSite=Lax` cookie (`Secure` over HTTPS) lasting a working day; page script never sees
//! it. A PROFESSIONAL account reads professional-only lines and changes nothing.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{StatusCode, header},
    response::Response,
};
use maud::{Markup, html};

use super::{
    CSRF_COOKIE, SESSION_COOKIE, SESSION_LIFETIME, Visit, add_cookies, csrf_ok, csrf_refused,
    form_pairs, html as html_response,
    layout::{self, FieldError, Shell},
    random_token,
    search::Query,
    see_other, set_cookie,
};
use crate::{http::AppState, store};

/// Where to go after signing in: a path on this site, never another origin.
fn next_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 2_000 =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn view(visit: &Visit, email: &str, next: &str, errors: &[FieldError]) -> Markup {
    let class = |field: &str| {
        if layout::field_error(errors, field).is_some() {
            "nhsuk-form-group nhsuk-form-group--error"
        } else {
            "nhsuk-form-group"
        }
    };
    html! {
        (layout::error_summary(errors))
        h1 { "Sign in for professionals" }
        @if let Some(who) = visit.signed_in_as() {
            p { "You are signed in as " (who) "." }
        }
        p { "Health visitors, midwives and family-hub staff with an account see referral lines for professionals. Ask your directory's administrator for an account." }
        form method="post" action="/sign-in" novalidate {
            (layout::csrf_input(visit))
            input type="hidden" name="next" value=(next);
            div class=(class("email")) {
                label class="nhsuk-label" for="email" { "Email address" }
                (layout::error_message(errors, "email"))
                input class="nhsuk-input" id="email" name="email" type="email" value=(email) autocomplete="username" spellcheck="false";
            }
            div class=(class("password")) {
                label class="nhsuk-label" for="password" { "Password" }
                (layout::error_message(errors, "password"))
                input class="nhsuk-input" id="password" name="password" type="password" autocomplete="current-password";
            }
            button class="nhsuk-button" type="submit" { "Sign in" }
        }
        p class="nhsuk-body-s" { "You stay signed in for a working day on this browser, or until you sign out." }
    }
}

/// `GET /sign-in`.
pub async fn form(visit: Visit, RawQuery(raw): RawQuery) -> Response {
    let query = Query::parse(raw.as_deref());
    let next = next_path(query.get("next"));
    html_response(
        &visit,
        StatusCode::OK,
        layout::page(
            &visit,
            "Sign in",
            &Shell::default(),
            view(&visit, "", &next, &[]),
        ),
    )
}

/// `POST /sign-in`.
pub async fn sign_in(State(state): State<Arc<AppState>>, visit: Visit, body: Bytes) -> Response {
    let fields = form_pairs(&body);
    if !csrf_ok(&visit, &fields) {
        return csrf_refused(&visit);
    }
    let value = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let email = value("email").trim().chars().take(320).collect::<String>();
    let password = value("password");
    let next = next_path(Some(&value("next")));
    let mut errors = Vec::new();
    if email.is_empty() {
        errors.push(FieldError {
            field: "email",
            message: "Enter your email address".to_owned(),
        });
    }
    if password.is_empty() {
        errors.push(FieldError {
            field: "password",
            message: "Enter your password".to_owned(),
        });
    }
    if errors.is_empty() {
        match store::accounts::login_lasting(
            &state.db,
            state.auth.keys(),
            &email,
            &password,
            Some(visit.address.ip()),
            SESSION_LIFETIME,
        )
        .await
        {
            Ok(login) => {
                let mut response = see_other(&next);
                let headers = response.headers_mut();
                headers.append(
                    header::SET_COOKIE,
                    set_cookie(
                        &visit,
                        SESSION_COOKIE,
                        &login.token,
                        Some(SESSION_LIFETIME.as_secs()),
                    ),
                );
                // A new CSRF token with the new session.
                headers.append(
                    header::SET_COOKIE,
                    set_cookie(&visit, CSRF_COOKIE, &random_token(), None),
                );
                return response;
            }
            Err(store::Error::Unauthenticated(_)) => errors.push(FieldError {
                field: "email",
                message: "The email address or password is not right".to_owned(),
            }),
            Err(store::Error::TooManyAttempts(_)) => errors.push(FieldError {
                field: "email",
                message: "Too many failed attempts: wait 15 minutes and try again".to_owned(),
            }),
            Err(err) => {
                tracing::error!(error = %err, "a web sign-in failed");
                return layout::message_page(
                    &visit,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sorry, there is a problem",
                    "Signing in is not working right now. Try again in a few minutes.",
                );
            }
        }
    }
    html_response(
        &visit,
        StatusCode::BAD_REQUEST,
        layout::page(
            &visit,
            "Error: sign in",
            &Shell::default(),
            view(&visit, &email, &next, &errors),
        ),
    )
}

/// `POST /sign-out`: forgets the session cookie.
pub async fn sign_out(visit: Visit, body: Bytes) -> Response {
    let fields = form_pairs(&body);
    if !csrf_ok(&visit, &fields) {
        return csrf_refused(&visit);
    }
    let mut response = see_other("/");
    add_cookies(&visit, &mut response);
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(&visit, SESSION_COOKIE, "", Some(0)),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(&visit, CSRF_COOKIE, &random_token(), None),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::next_path;

    #[test]
    fn sign_in_returns_only_to_this_site() {
        assert_eq!(next_path(Some("/services/x?s=1")), "/services/x?s=1");
        assert_eq!(next_path(Some("//evil.example/")), "/");
        assert_eq!(next_path(Some("https://evil.example/")), "/");
        assert_eq!(next_path(Some("/\\evil.example")), "/");
        assert_eq!(next_path(None), "/");
    }
}
