//! The page shell (NHS.UK frontend, without the NHS logo), and the pieces pages share: error
//! summaries, the urgent-help care card, labels for the schema's codes.

use axum::{http::StatusCode, response::Response};
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{CSRF_FIELD, Visit, assets, html as html_response};

/// What a page adds to the shell.
#[derive(Default)]
pub struct Shell<'a> {
    /// An "exit this page" control (on listings about domestic abuse).
    pub exit: bool,
    /// A back link: its address and text.
    pub back: Option<(&'a str, &'a str)>,
    /// Wider content (the search page puts filters beside the results).
    pub wide: bool,
}

/// The whole page around `main`.
pub fn page(visit: &Visit, title: &str, shell: &Shell<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Signpost" }
                link rel="stylesheet" href=(assets::url("nhsuk.css"));
                link rel="stylesheet" href=(assets::url("app.css"));
                script type="module" src=(assets::url("app.js")) {}
            }
            body {
                a class="nhsuk-skip-link" href="#maincontent" { "Skip to main content" }
                @if shell.exit {
                    div class="sp-exit" {
                        a href="https://www.bbc.co.uk/weather" rel="noreferrer" data-exit {
                            "Exit this page"
                        }
                    }
                }
                header class="nhsuk-header" role="banner" {
                    div class="nhsuk-header__container nhsuk-width-container" {
                        div class="nhsuk-header__service" {
                            a class="nhsuk-header__service-name" href="/" { "Signpost" }
                        }
                        nav class="nhsuk-header__account" aria-label="Account" {
                            ul class="nhsuk-header__account-list" {
                                @if let Some(email) = visit.signed_in_as() {
                                    li class="nhsuk-header__account-item" { "Signed in as " (email) }
                                    li class="nhsuk-header__account-item" {
                                        form class="sp-inline-form" method="post" action="/sign-out" {
                                            (csrf_input(visit))
                                            button class="nhsuk-header__account-button" type="submit" { "Sign out" }
                                        }
                                    }
                                } @else {
                                    li class="nhsuk-header__account-item" {
                                        a class="nhsuk-header__account-link" href="/sign-in" { "Sign in (professionals)" }
                                    }
                                }
                            }
                        }
                    }
                    div class="nhsuk-header__navigation-container nhsuk-width-container" {
                        nav class="nhsuk-header__navigation" aria-label="Menu" {
                            ul class="nhsuk-header__navigation-list" {
                                li class="nhsuk-header__navigation-item" {
                                    a class="nhsuk-header__navigation-link" href="/" { "Find services" }
                                }
                                li class="nhsuk-header__navigation-item" {
                                    a class="nhsuk-header__navigation-link" href="/events" { "Events near a family" }
                                }
                                li class="nhsuk-header__navigation-item" {
                                    a class="nhsuk-header__navigation-link" href="/graphql" { "API (GraphiQL)" }
                                }
                            }
                        }
                    }
                }
                div class="nhsuk-width-container" {
                    @if let Some((href, text)) = shell.back {
                        div class="nhsuk-back-link" {
                            a class="nhsuk-back-link__link" href=(href) { (text) }
                        }
                    }
                    main class="nhsuk-main-wrapper" id="maincontent" role="main" {
                        (main)
                    }
                }
                footer class="nhsuk-footer" role="contentinfo" {
                    div class="nhsuk-width-container" {
                        div class="nhsuk-footer__meta" {
                            p class="nhsuk-body-s" {
                                "Signpost: a directory of perinatal and infant mental health and family support services, for professionals signposting families. "
                                "Check a service's details with the service before referring."
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A page that only says something (refusals, errors, confirmations).
pub fn message_page(visit: &Visit, status: StatusCode, title: &str, text: &str) -> Response {
    let body = html! {
        h1 { (title) }
        p { (text) }
        p { a href="/" { "Go to the search page" } }
    };
    html_response(visit, status, page(visit, title, &Shell::default(), body))
}

/// The hidden CSRF field every form carries.
pub fn csrf_input(visit: &Visit) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(visit.csrf); }
}

/// A problem with what the visitor entered, tied to the field it concerns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's element id (the summary links to it).
    pub field: &'static str,
    /// What is wrong and how to put it right.
    pub message: String,
}

/// The error summary above a form.
pub fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1" {
                h2 class="nhsuk-error-summary__title" id="error-summary-title" { "There is a problem" }
                div class="nhsuk-error-summary__body" {
                    ul class="nhsuk-list nhsuk-error-summary__list" {
                        @for error in errors {
                            li { a href={ "#" (error.field) } { (error.message) } }
                        }
                    }
                }
            }
        }
    }
}

/// The error message for `field`, if it has one.
pub fn field_error<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a FieldError> {
    errors.iter().find(|error| error.field == field)
}

/// The inline error message above a field.
pub fn error_message(errors: &[FieldError], field: &str) -> Markup {
    html! {
        @if let Some(error) = field_error(errors, field) {
            span class="nhsuk-error-message" id={ (field) "-error" } {
                span class="nhsuk-u-visually-hidden" { "Error: " } (error.message)
            }
        }
    }
}

/// The urgent care card shown on mental health searches.
pub fn urgent_help_card() -> Markup {
    html! {
        div class="nhsuk-card nhsuk-card--care nhsuk-card--care--urgent" id="urgent-help" {
            div class="nhsuk-card--care__heading-container" {
                h2 class="nhsuk-card--care__heading" {
                    span role="text" {
                        span class="nhsuk-u-visually-hidden" { "Urgent advice: " }
                        "If a parent is in crisis or may harm themselves or the baby"
                    }
                }
                span class="nhsuk-card--care__arrow" aria-hidden="true" {}
            }
            div class="nhsuk-card__content" {
                ul {
                    li { "Call " a href="tel:111" { "NHS 111" } " and choose option 2 for urgent mental health help, day or night." }
                    li { "Call " a href="tel:999" { "999" } " if a life is at risk now, or go to A&E." }
                    li { "Samaritans listen any time on " a href="tel:116123" { "116 123" } " (free)." }
                }
            }
        }
    }
}

/// The schema's level-of-need codes in words.
pub fn level_label(code: &str) -> &'static str {
    match code {
        "UNIVERSAL" => "Universal (every family)",
        "TARGETED" => "Targeted (mild to moderate need)",
        "SPECIALIST" => "Specialist (highest need)",
        _ => "Not stated",
    }
}

/// The schema's audience codes in words.
pub fn audience_label(code: &str) -> &'static str {
    match code {
        "MOTHERS" => "Mothers and birthing parents",
        "FATHERS" => "Fathers",
        "CO_PARENTS" => "Co-parents and partners",
        "CARERS" => "Kinship, foster and other carers",
        "WHOLE_FAMILY" => "The whole family",
        _ => "Others",
    }
}

/// The schema's delivery-mode codes in words.
pub fn mode_label(code: &str) -> &'static str {
    match code {
        "HOME_VISIT" => "Home visits",
        "IN_PERSON" => "Face to face",
        "GROUP" => "Group",
        "ONLINE" => "Online",
        "PHONE" => "Phone",
        _ => "Other",
    }
}

/// A language code's English name (from the code table), or the code itself.
pub fn language_name(code: &str) -> String {
    entity::codes::language_by_code(&code.to_lowercase())
        .map_or_else(|| code.to_owned(), |language| language.english.to_owned())
}

/// Every ISO 639-1 language as (code, English name), by name, for the language filter.
pub fn languages_by_name() -> Vec<(&'static str, &'static str)> {
    let mut languages: Vec<_> = entity::codes::LANGUAGES
        .iter()
        .map(|language| (language.code, language.english))
        .collect();
    languages.sort_by_key(|(_, name)| *name);
    languages
}

/// Kilometres as miles, to one decimal place.
pub fn miles(km: f64) -> String {
    let miles = km / 1.609_344;
    if miles < 0.1 {
        "less than 0.1 miles".to_owned()
    } else {
        format!("{miles:.1} miles")
    }
}

/// A date as "4 March 2026".
pub fn long_date(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

/// When a listing was last checked, saying so when it is over a year ago.
pub fn last_checked(date: Option<NaiveDate>, today: NaiveDate) -> Markup {
    html! {
        @match date {
            Some(date) => {
                (long_date(date))
                @if (today - date).num_days() > 365 {
                    " " strong class="nhsuk-tag nhsuk-tag--orange" { "over a year ago" }
                    " – check the details with the service"
                }
            }
            None => "not recorded"
        }
    }
}

/// An infant age range in months as words.
pub fn age_range(min: Option<f64>, max: Option<f64>, from_pregnancy: bool) -> String {
    let months = |m: f64| {
        if (m - 1.0).abs() < f64::EPSILON {
            "1 month".to_owned()
        } else {
            format!("{} months", (m * 10.0).round() / 10.0)
        }
    };
    let min = min.filter(|m| *m > 0.0);
    let range = match (min, max) {
        (None, None) => "any age".to_owned(),
        (None, Some(max)) => format!("birth to {}", months(max)),
        (Some(min), None) => format!("from {}", months(min)),
        (Some(min), Some(max)) => {
            format!("{} to {}", months(min).replace(" months", ""), months(max))
        }
    };
    if from_pregnancy {
        format!("pregnancy, and babies {range}")
    } else {
        format!("babies {range}")
    }
}

/// Text the search marked with `<b>` (the search HTML-escapes the rest); any other markup is
/// escaped again, so a snippet can only ever bold words.
pub fn snippet(text: &str) -> Markup {
    let marked = text.replace("<b>", "\u{1}").replace("</b>", "\u{2}");
    let escaped = marked
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    PreEscaped(escaped.replace('\u{1}', "<b>").replace('\u{2}', "</b>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_checked_over_a_year_ago_say_so() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let recent = NaiveDate::from_ymd_opt(2026, 6, 1);
        let old = NaiveDate::from_ymd_opt(2025, 11, 1);
        assert!(
            !last_checked(recent, today)
                .into_string()
                .contains("over a year ago")
        );
        assert!(
            last_checked(old, today)
                .into_string()
                .contains("over a year ago")
        );
        assert_eq!(last_checked(None, today).into_string(), "not recorded");
    }

    #[test]
    fn snippets_can_only_bold() {
        let marked = snippet("<b>low</b> mood <script>x</script> &amp;").into_string();
        assert_eq!(
            marked,
            "<b>low</b> mood &lt;script&gt;x&lt;/script&gt; &amp;"
        );
    }

    #[test]
    fn distances_are_in_miles() {
        assert_eq!(miles(1.609_344), "1.0 miles");
        assert_eq!(miles(0.05), "less than 0.1 miles");
    }
}
