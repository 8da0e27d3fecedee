//! Input validation for the editing mutations: pure functions, one per kind of value. The
//! rules of a whole listing (which fields a catchment needs, ages, codes, referral routes) are
//! [`crate::store::listing::check`], which uses these for single values.
//!
//! Each function takes the GraphQL path of the field it checks (`"input.email"`,
//! `"input.contacts[2].phone"`) and returns the value normalised, or the store's
//! [`Error::Invalid`] (`BAD_USER_INPUT` to GraphQL clients) whose message starts with that path,
//! then says what is wrong, lowercase and without a trailing period (`"input.email: not an email address"`).

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use uuid::Uuid;

use entity::codes::{self, MAX_AGE_MONTHS};

use crate::store::{Error, Result};

/// The years a date may fall in: wide enough for any real listing, narrow enough for every
/// database and date sum.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// Whether a date falls in [`YEARS`].
pub fn sane_year(date: impl Datelike) -> bool {
    YEARS.contains(&date.year())
}

/// The longest email address accepted (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_CHARS: usize = 254;
/// The longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// The largest radius, in kilometres, an editor may give.
pub const MAX_RADIUS_KM: f64 = 500.0;
/// The longest an event may last.
pub const MAX_EVENT_DAYS: i64 = 14;
/// Great Britain's and Northern Ireland's rough latitude bounds.
pub const LATITUDE_BOUNDS: (f64, f64) = (49.5, 61.5);
/// Great Britain's and Northern Ireland's rough longitude bounds.
pub const LONGITUDE_BOUNDS: (f64, f64) = (-8.8, 2.2);

/// A bad-input error whose message is `"{field}: {what}"`.
fn bad(field: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid(format!("{field}: {what}"))
}

/// `"character"` or `"characters"`.
fn characters(n: usize) -> &'static str {
    if n == 1 { "character" } else { "characters" }
}

/// A required text: trimmed, between `min` and `max` characters (Unicode scalar values), and
/// free of control characters other than newline and tab.
pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 && min > 0 {
        return Err(bad(field, "must not be empty"));
    }
    if len < min {
        return Err(bad(
            field,
            format_args!("must be at least {min} {}", characters(min)),
        ));
    }
    if len > max {
        return Err(bad(
            field,
            format_args!("must be at most {max} {}", characters(max)),
        ));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(bad(field, "must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// An optional text: trimmed, and `None` when absent or blank; otherwise checked as [`text`]
/// with at most `max` characters.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> Result<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, 1, max).map(Some),
    }
}

/// An email address: trimmed, at most 254 characters, one `@`, a non-empty local part (at most
/// 64 characters) without spaces or control characters, and a domain of two or more valid
/// labels whose last is not all digits. Returns it with the domain lower-cased and the local
/// part as given.
pub fn email(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    let not_email = || bad(field, "not an email address");
    if trimmed.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad(
            field,
            format_args!("must be at most {MAX_EMAIL_CHARS} characters"),
        ));
    }
    let (local, domain) = trimmed.split_once('@').ok_or_else(not_email)?;
    if domain.contains('@') {
        return Err(not_email());
    }
    if local.is_empty()
        || local.chars().count() > 64
        || local.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(not_email());
    }
    let domain = domain.to_lowercase();
    if !valid_domain(&domain) {
        return Err(not_email());
    }
    Ok(format!("{local}@{domain}"))
}

/// Whether `domain` has at least two labels, each 1 to 63 characters of letters, digits and
/// inner hyphens (non-ASCII letters allowed, for internationalised domains), the last not all
/// digits.
fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || domain.chars().count() > 253 {
        return false;
    }
    let label_ok = |label: &str| {
        let len = label.chars().count();
        (1..=63).contains(&len)
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    labels.iter().all(|label| label_ok(label))
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

/// An absolute `http` or `https` URL with a host and without a user name or password, at most
/// 2048 characters. Returns it in its normalised form (`https://example.org/`: scheme and host
/// lower-cased, a root path added, unsafe characters percent-encoded).
pub fn url(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    let too_long = || {
        bad(
            field,
            format_args!("must be at most {MAX_URL_CHARS} characters"),
        )
    };
    if trimmed.chars().count() > MAX_URL_CHARS {
        return Err(too_long());
    }
    let parsed =
        url::Url::parse(trimmed).map_err(|_| bad(field, "not an absolute http or https URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(field, "must be an http or https URL"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad(field, "must have a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(field, "must not contain a user name or password"));
    }
    let normalised = String::from(parsed);
    if normalised.chars().count() > MAX_URL_CHARS {
        return Err(too_long());
    }
    Ok(normalised)
}

/// A UK phone number: digits and spaces, with an optional leading `+44`; once normalised to
/// the national form (`+44` read as `0`), 10 or 11 digits starting with `0`, and not `00`
/// (other countries' numbers). Freephone (0800, 0808) and the drama ranges (01632, 07700 900)
/// pass. Returns the value trimmed, its spaces kept as given.
pub fn uk_phone(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    let (international, rest) = match trimmed.strip_prefix("+44") {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if !rest.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        return Err(bad(
            field,
            "may contain only digits, spaces and a leading +44",
        ));
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    let national = if international {
        if digits.starts_with('0') {
            return Err(bad(field, "write +44 without the 0 that follows it"));
        }
        format!("0{digits}")
    } else {
        digits
    };
    if !national.starts_with('0') {
        return Err(bad(field, "must start with 0 or +44"));
    }
    if national.starts_with("00") {
        return Err(bad(field, "must be a UK number"));
    }
    if !(10..=11).contains(&national.len()) {
        return Err(bad(field, "must have 10 or 11 digits"));
    }
    Ok(trimmed.to_owned())
}

/// A full UK postcode, outward and inward codes (`gl503ab`), returned normalised
/// (`GL50 3AB`). Whether the postcode exists is not checked here.
pub fn uk_postcode(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    // A postcode is at most 8 characters; anything much longer is not one.
    if trimmed.chars().count() > 16 {
        return Err(bad(field, "not a UK postcode"));
    }
    let partial = || bad(field, "must be a full postcode, with its inward code");
    let Ok(parsed) = search::geo::Postcode::parse(trimmed) else {
        // An area alone ("GL") is no postcode to the parser, but is a partial one to a person.
        return Err(match search::geo::normalise_prefix(trimmed) {
            Some(_) => partial(),
            None => bad(field, "not a UK postcode"),
        });
    };
    parsed.full().ok_or_else(partial)
}

/// A postcode area (`GL`) or district (`GL50`), returned upper-cased without spaces.
pub fn postcode_prefix(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    if trimmed.chars().count() > 16 {
        return Err(bad(field, "not a postcode area or district"));
    }
    search::geo::normalise_prefix(trimmed)
        .ok_or_else(|| bad(field, "not a postcode area or district"))
}

/// One age bound in months: finite and within 0 to 60.
fn age_months(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() {
        return Err(bad(field, "must be a finite number"));
    }
    if !(0.0..=MAX_AGE_MONTHS).contains(&value) {
        return Err(bad(
            field,
            format_args!("must be between 0 and {MAX_AGE_MONTHS} months"),
        ));
    }
    Ok(())
}

/// An infant age range in months: each bound, when given, finite and within 0 to 60, and the
/// lower at most the upper. The message names the field at fault (`field_min` when the bounds
/// are the wrong way round).
pub fn age_range(
    field_min: &str,
    field_max: &str,
    min: Option<f64>,
    max: Option<f64>,
) -> Result<()> {
    if let Some(min) = min {
        age_months(field_min, min)?;
    }
    if let Some(max) = max {
        age_months(field_max, max)?;
    }
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        return Err(bad(
            field_min,
            format_args!("must not be above {field_max}"),
        ));
    }
    Ok(())
}

/// A position within Great Britain's and Northern Ireland's rough bounds: latitude 49.5 to
/// 61.5, longitude -8.8 to 2.2 (WGS84 degrees).
pub fn latitude_longitude(field: &str, lat: f64, lon: f64) -> Result<()> {
    let (lat_min, lat_max) = LATITUDE_BOUNDS;
    let (lon_min, lon_max) = LONGITUDE_BOUNDS;
    if !lat.is_finite() || !(lat_min..=lat_max).contains(&lat) {
        return Err(bad(
            field,
            format_args!("latitude must be between {lat_min} and {lat_max}"),
        ));
    }
    if !lon.is_finite() || !(lon_min..=lon_max).contains(&lon) {
        return Err(bad(
            field,
            format_args!("longitude must be between {lon_min} and {lon_max}"),
        ));
    }
    Ok(())
}

/// A radius in kilometres: finite, above 0 and at most 500.
pub fn radius_km(field: &str, value: f64) -> Result<()> {
    if !value.is_finite() || value <= 0.0 || value > MAX_RADIUS_KM {
        return Err(bad(
            field,
            format_args!("must be above 0 and at most {MAX_RADIUS_KM} km"),
        ));
    }
    Ok(())
}

/// An ISO 639-1 language code (`en`, `cy`, `PL`), returned lower-cased; unknown codes are
/// refused.
pub fn language(field: &str, code: &str) -> Result<String> {
    let trimmed = code.trim();
    if trimmed.len() != 2 || !trimmed.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(bad(field, "not a two-letter ISO 639-1 language code"));
    }
    let lower = trimmed.to_ascii_lowercase();
    if codes::language_by_code(&lower).is_none() {
        return Err(bad(
            field,
            format_args!("unknown ISO 639-1 language code {lower:?}"),
        ));
    }
    Ok(lower)
}

/// A time of day, `HH:MM` on the 24-hour clock from `00:00` to `23:59`, returned trimmed.
pub fn time_of_day(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim();
    let wrong = || bad(field, "must be a time as HH:MM, from 00:00 to 23:59");
    let bytes = trimmed.as_bytes();
    let [h1, h2, b':', m1, m2] = bytes else {
        return Err(wrong());
    };
    if ![h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    let hours = (h1 - b'0') * 10 + (h2 - b'0');
    let minutes = (m1 - b'0') * 10 + (m2 - b'0');
    if hours > 23 || minutes > 59 {
        return Err(wrong());
    }
    Ok(trimmed.to_owned())
}

/// A date on or after `earliest`.
pub fn date_not_before(field: &str, date: NaiveDate, earliest: NaiveDate) -> Result<()> {
    if date < earliest {
        return Err(bad(
            field,
            format_args!("must not be before {}", earliest.format("%Y-%m-%d")),
        ));
    }
    Ok(())
}

/// An event's times at `field` (`"input"`), whose parts are named `{field}.startsAt` and
/// `{field}.endsAt` in messages: the end after the start, and at most 14 days after it.
pub fn ordered_times(field: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) -> Result<()> {
    let ends_field = format!("{field}.endsAt");
    if ends <= starts {
        return Err(bad(
            &ends_field,
            format_args!("must be after {field}.startsAt"),
        ));
    }
    if ends - starts > TimeDelta::days(MAX_EVENT_DAYS) {
        return Err(bad(
            &ends_field,
            format_args!("an event may last at most {MAX_EVENT_DAYS} days"),
        ));
    }
    Ok(())
}

/// A list of at most `max` items.
pub fn list_len(field: &str, len: usize, max: usize) -> Result<()> {
    if len > max {
        return Err(bad(
            field,
            format_args!(
                "must have at most {max} {}, not {len}",
                if max == 1 { "item" } else { "items" }
            ),
        ));
    }
    Ok(())
}

/// A UUID in its usual hyphenated form (`67e55044-10b1-426f-9247-bb680e5fe0c8`), or the
/// simple, braced and URN forms the `uuid` crate reads.
pub fn uuid(field: &str, value: &str) -> Result<Uuid> {
    Uuid::try_parse(value.trim()).map_err(|_| bad(field, "not a valid id"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// The message of a bad-input error; fails the test for anything else.
    fn message<T: std::fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(Error::Invalid(message)) => message,
            other => panic!("expected a bad-input error, got {other:?}"),
        }
    }

    /// Asserts the error names `field` first and is lowercase without a trailing period.
    fn assert_names<T: std::fmt::Debug>(result: Result<T>, field: &str) -> String {
        let message = message(result);
        assert!(
            message.starts_with(&format!("{field}: ")),
            "{message:?} does not start with {field:?}"
        );
        let what = &message[field.len() + 2..];
        assert!(!what.is_empty(), "{message:?} says nothing");
        assert!(
            what.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{message:?} starts with a capital"
        );
        assert!(!message.ends_with('.'), "{message:?} ends in a period");
        message
    }

    #[test]
    fn text_trims_and_accepts() {
        let f = "input.name";
        assert_eq!(text(f, "  Baby Bonds  ", 1, 100).unwrap(), "Baby Bonds");
        assert_eq!(text(f, "a", 1, 1).unwrap(), "a");
        assert_eq!(text(f, "", 0, 10).unwrap(), "");
        assert_eq!(
            text(f, "line one\nline two\tend", 1, 100).unwrap(),
            "line one\nline two\tend"
        );
        // Characters, not bytes: five letters in ten bytes.
        assert_eq!(text(f, "ŵŷŵŷŵ", 1, 5).unwrap(), "ŵŷŵŷŵ");
        assert_eq!(text(f, "Cymraeg 🏴", 1, 9).unwrap(), "Cymraeg 🏴");
    }

    #[test]
    fn text_refuses() {
        let f = "input.contacts[2].name";
        let m = assert_names(text(f, "   ", 1, 10), f);
        assert!(m.contains("empty"), "{m}");
        let m = assert_names(text(f, "ab", 3, 10), f);
        assert!(m.contains("at least 3 characters"), "{m}");
        let m = assert_names(text(f, "abcdef", 1, 5), f);
        assert!(m.contains("at most 5 characters"), "{m}");
        assert!(assert_names(text(f, "ab", 1, 1), f).contains("at most 1 character"));
        assert!(assert_names(text(f, "ŵŷŵŷŵŷ", 1, 5), f).contains("at most 5"));
        for bad in ["a\u{0}b", "a\rb", "bell\u{7}", "a\u{1b}[31m", "a\u{85}b"] {
            let m = assert_names(text(f, bad, 1, 100), f);
            assert!(m.contains("control characters"), "{m}");
        }
    }

    #[test]
    fn optional_text_blank_is_none() {
        let f = "input.description";
        assert_eq!(optional_text(f, None, 10).unwrap(), None);
        assert_eq!(optional_text(f, Some(""), 10).unwrap(), None);
        assert_eq!(optional_text(f, Some(" \n\t "), 10).unwrap(), None);
        assert_eq!(
            optional_text(f, Some("  Drop in  "), 10).unwrap(),
            Some("Drop in".to_owned())
        );
        assert_names(optional_text(f, Some("far too long"), 5), f);
        assert_names(optional_text(f, Some("nul\u{0}"), 50), f);
    }

    #[test]
    fn email_accepts_and_normalises() {
        let f = "input.email";
        assert_eq!(
            email(f, "  Midwives@Example.NHS.uk ").unwrap(),
            "Midwives@example.nhs.uk"
        );
        assert_eq!(email(f, "a@b.co").unwrap(), "a@b.co");
        assert_eq!(
            email(f, "first.last+tag@sub-domain.example.org").unwrap(),
            "first.last+tag@sub-domain.example.org"
        );
        assert_eq!(
            email(f, "info@xn--bcher-kva.de").unwrap(),
            "info@xn--bcher-kva.de"
        );
        assert_eq!(email(f, "info@BÜCHER.de").unwrap(), "info@bücher.de");
        let long_local = "a".repeat(64);
        assert!(email(f, &format!("{long_local}@example.org")).is_ok());
    }

    #[test]
    fn email_refuses() {
        let f = "input.contacts[0].email";
        let long = format!("{}@{}.org", "a".repeat(60), "b".repeat(200));
        let m = assert_names(email(f, &long), f);
        assert!(m.contains("at most 254 characters"), "{m}");
        let m = assert_names(email(f, ""), f);
        assert!(m.contains("empty"), "{m}");
        for bad in [
            "plainaddress",
            "@example.org",
            "a@",
            "a@@example.org",
            "a@b@example.org",
            "first last@example.org",
            "a@localhost",
            "a@example",
            "a@.example.org",
            "a@example.org.",
            "a@exa..mple.org",
            "a@-example.org",
            "a@example-.org",
            "a@exam_ple.org",
            "a@exam ple.org",
            "a@1.2.3.4",
            "tab\there@example.org",
        ] {
            let m = assert_names(email(f, bad), f);
            assert!(m.ends_with("not an email address"), "{bad:?}: {m}");
        }
        let long_label = format!("a@{}.org", "b".repeat(64));
        assert_names(email(f, &long_label), f);
        let long_local = format!("{}@example.org", "a".repeat(65));
        assert_names(email(f, &long_local), f);
    }

    #[test]
    fn url_accepts_and_normalises() {
        let f = "input.website";
        assert_eq!(
            url(f, " https://example.org ").unwrap(),
            "https://example.org/"
        );
        assert_eq!(
            url(f, "HTTP://Example.ORG/Path?q=1#frag").unwrap(),
            "http://example.org/Path?q=1#frag"
        );
        assert_eq!(
            url(f, "https://www.nhs.uk/conditions/baby/").unwrap(),
            "https://www.nhs.uk/conditions/baby/"
        );
        assert_eq!(
            url(f, "https://example.org/a b").unwrap(),
            "https://example.org/a%20b"
        );
        assert_eq!(
            url(f, "https://localhost:8080/x").unwrap(),
            "https://localhost:8080/x"
        );
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_CHARS - 20));
        assert_eq!(long.len(), MAX_URL_CHARS);
        assert!(url(f, &long).is_ok());
    }

    #[test]
    fn url_refuses() {
        let f = "input.links[1].url";
        for bad in [
            "",
            "example.org",
            "/relative/path",
            "https://",
            "http://exa mple.org",
            "not a url",
        ] {
            assert_names(url(f, bad), f);
        }
        for bad in [
            "ftp://example.org/file",
            "mailto:someone@example.org",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,hi",
        ] {
            let m = assert_names(url(f, bad), f);
            assert!(m.contains("http or https"), "{bad:?}: {m}");
        }
        let m = assert_names(url(f, "https://user:secret@example.org/"), f);
        assert!(m.contains("user name or password"), "{m}");
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_CHARS));
        let m = assert_names(url(f, &long), f);
        assert!(m.contains("at most 2048 characters"), "{m}");
        // Within the limit as typed, over it once percent-encoded.
        let spaces = format!("https://example.org/{}", " ".repeat(1000));
        assert!(message(url(f, &format!("{spaces}x"))).contains("at most 2048"));
    }

    #[test]
    fn uk_phone_accepts() {
        let f = "input.phones[0].number";
        for good in [
            "01632 960000",
            "01632960000",
            "0117 496 0000",
            "020 7946 0000",
            "07700 900000",
            "0800 123 4567",
            "0808 800 5000",
            "0800 123456",
            "+44 1632 960000",
            "+441632960000",
            "+44 7700 900000",
            "+44 800 123456",
            "03000 123 123",
        ] {
            assert_eq!(uk_phone(f, good).unwrap(), good);
        }
        assert_eq!(
            uk_phone(f, "  0117  496  0000 ").unwrap(),
            "0117  496  0000"
        );
    }

    #[test]
    fn uk_phone_refuses() {
        let f = "input.contacts[2].phone";
        assert!(assert_names(uk_phone(f, " "), f).contains("empty"));
        for bad in [
            "(01632) 960000",
            "01632-960000",
            "01632 960000 ext 2",
            "+1 202 555 0100",
            "+33 1 23 45 67 89",
            "44 1632 960000",
            "0800 123 4567+",
            "０１６３２９６００００",
        ] {
            assert_names(uk_phone(f, bad), f);
        }
        let m = assert_names(uk_phone(f, "+44 (0)1632 960000"), f);
        assert!(m.contains("only digits"), "{m}");
        let m = assert_names(uk_phone(f, "+44 01632 960000"), f);
        assert!(m.contains("without the 0"), "{m}");
        let m = assert_names(uk_phone(f, "1632 960000"), f);
        assert!(m.contains("start with 0 or +44"), "{m}");
        let m = assert_names(uk_phone(f, "0033 123 456 789"), f);
        assert!(m.contains("UK number"), "{m}");
        assert!(assert_names(uk_phone(f, "111"), f).contains("start with 0"));
        for bad in [
            "0163 296",
            "01632 9600001",
            "+44 1632 96000001",
            "+44 16329",
        ] {
            let m = assert_names(uk_phone(f, bad), f);
            assert!(m.contains("10 or 11 digits"), "{bad:?}: {m}");
        }
    }

    #[test]
    fn uk_postcode_normalises() {
        let f = "input.locations[0].postcode";
        assert_eq!(uk_postcode(f, "gl50 3ab").unwrap(), "GL50 3AB");
        assert_eq!(uk_postcode(f, "GL503AB").unwrap(), "GL50 3AB");
        assert_eq!(uk_postcode(f, "  sw1a 1aa ").unwrap(), "SW1A 1AA");
        assert_eq!(uk_postcode(f, "M1 1AE").unwrap(), "M1 1AE");
        assert_eq!(uk_postcode(f, "b33 8th").unwrap(), "B33 8TH");
        assert_eq!(uk_postcode(f, "BT1 5GS").unwrap(), "BT1 5GS");
    }

    #[test]
    fn uk_postcode_refuses() {
        let f = "input.locations[0].postcode";
        assert!(assert_names(uk_postcode(f, ""), f).contains("empty"));
        for partial in ["GL50", "GL50 3", "GL"] {
            let m = assert_names(uk_postcode(f, partial), f);
            assert!(m.contains("full postcode"), "{partial:?}: {m}");
        }
        for bad in ["12345", "GL50-3AB", "GLA50 3AB", "not a postcode", "Ÿ1 1AA"] {
            let m = assert_names(uk_postcode(f, bad), f);
            assert!(m.contains("not a UK postcode"), "{bad:?}: {m}");
        }
        assert_names(uk_postcode(f, &" ".repeat(40)), f);
        assert_names(uk_postcode(f, &format!("GL50 {}3AB", " ".repeat(40))), f);
    }

    #[test]
    fn postcode_prefix_accepts_areas_and_districts() {
        let f = "input.serviceAreas[0].prefix";
        assert_eq!(postcode_prefix(f, "gl").unwrap(), "GL");
        assert_eq!(postcode_prefix(f, "G").unwrap(), "G");
        assert_eq!(postcode_prefix(f, " gl50 ").unwrap(), "GL50");
        assert_eq!(postcode_prefix(f, "sw1a").unwrap(), "SW1A");
        assert_eq!(postcode_prefix(f, "M1").unwrap(), "M1");
    }

    #[test]
    fn postcode_prefix_refuses() {
        let f = "input.serviceAreas[3].prefix";
        assert!(assert_names(postcode_prefix(f, "  "), f).contains("empty"));
        for bad in ["GL50 3AB", "GLA", "5", "GL-50", "GL500", "ÄB", "GL50 3"] {
            let m = assert_names(postcode_prefix(f, bad), f);
            assert!(
                m.contains("not a postcode area or district"),
                "{bad:?}: {m}"
            );
        }
        assert_names(postcode_prefix(f, &"G".repeat(100)), f);
    }

    #[test]
    fn age_range_accepts() {
        let (lo, hi) = ("input.minAgeMonths", "input.maxAgeMonths");
        assert!(age_range(lo, hi, None, None).is_ok());
        assert!(age_range(lo, hi, Some(0.0), Some(60.0)).is_ok());
        assert!(age_range(lo, hi, Some(6.0), Some(6.0)).is_ok());
        assert!(age_range(lo, hi, Some(0.5), None).is_ok());
        assert!(age_range(lo, hi, None, Some(24.0)).is_ok());
    }

    #[test]
    fn age_range_names_the_field_at_fault() {
        let (lo, hi) = ("input.minAgeMonths", "input.maxAgeMonths");
        assert!(assert_names(age_range(lo, hi, Some(-1.0), Some(12.0)), lo).contains("0 and 60"));
        assert!(assert_names(age_range(lo, hi, Some(0.0), Some(61.0)), hi).contains("0 and 60"));
        assert_names(age_range(lo, hi, None, Some(-0.5)), hi);
        assert_names(age_range(lo, hi, Some(f64::INFINITY), None), lo);
        assert!(assert_names(age_range(lo, hi, Some(f64::NAN), None), lo).contains("finite"));
        assert_names(age_range(lo, hi, Some(1.0), Some(f64::NAN)), hi);
        let m = assert_names(age_range(lo, hi, Some(24.0), Some(12.0)), lo);
        assert!(m.contains(hi), "{m}");
    }

    #[test]
    fn latitude_longitude_bounds() {
        let f = "input.locations[0]";
        assert!(latitude_longitude(f, 51.9, -2.07).is_ok()); // Cheltenham
        assert!(latitude_longitude(f, 54.6, -5.93).is_ok()); // Belfast
        assert!(latitude_longitude(f, 60.15, -1.15).is_ok()); // Lerwick
        assert!(latitude_longitude(f, 49.91, -6.3).is_ok()); // Isles of Scilly
        assert!(latitude_longitude(f, 52.63, 1.3).is_ok()); // Norwich
        assert!(latitude_longitude(f, 49.5, -8.8).is_ok());
        assert!(latitude_longitude(f, 61.5, 2.2).is_ok());
        for (lat, lon) in [
            (48.85, 2.2),
            (62.0, 0.0),
            (f64::NAN, 0.0),
            (f64::INFINITY, 0.0),
        ] {
            let m = assert_names(latitude_longitude(f, lat, lon), f);
            assert!(m.contains("latitude"), "{lat},{lon}: {m}");
        }
        for (lat, lon) in [
            (53.35, -9.0),
            (51.5, 2.35),
            (51.5, f64::NAN),
            (52.0, -180.0),
        ] {
            let m = assert_names(latitude_longitude(f, lat, lon), f);
            assert!(
                m.contains("longitude must be between -8.8 and 2.2"),
                "{lat},{lon}: {m}"
            );
        }
        // Swapped coordinates fail on the latitude.
        let m = assert_names(latitude_longitude(f, -2.07, 51.9), f);
        assert!(m.contains("latitude must be between 49.5 and 61.5"), "{m}");
    }

    #[test]
    fn radius_km_bounds() {
        let f = "input.serviceAreas[0].radiusKm";
        for good in [0.1, 1.0, 25.0, 500.0] {
            assert!(radius_km(f, good).is_ok(), "{good}");
        }
        for bad in [
            0.0,
            -1.0,
            500.01,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let m = assert_names(radius_km(f, bad), f);
            assert!(m.contains("500"), "{bad}: {m}");
        }
    }

    #[test]
    fn language_list_is_sorted_lowercase_pairs() {
        let codes: Vec<&str> = codes::LANGUAGES.iter().map(|l| l.code).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_lowercase()))
        );
    }

    #[test]
    fn language_accepts_and_lowercases() {
        let f = "input.languages[0]";
        for (given, want) in [
            ("en", "en"),
            ("cy", "cy"),
            ("PL", "pl"),
            (" Ur ", "ur"),
            ("pa", "pa"),
            ("bn", "bn"),
            ("so", "so"),
            ("zu", "zu"),
            ("aa", "aa"),
        ] {
            assert_eq!(language(f, given).unwrap(), want);
        }
    }

    #[test]
    fn language_refuses() {
        let f = "input.languages[4]";
        for bad in ["", "e", "eng", "en-GB", "e1", "  ", "ñe", "é"] {
            let m = assert_names(language(f, bad), f);
            assert!(m.contains("two-letter"), "{bad:?}: {m}");
        }
        for unknown in ["xx", "qq", "iw", "sh", "ZZ"] {
            let m = assert_names(language(f, unknown), f);
            assert!(m.contains("unknown"), "{unknown:?}: {m}");
        }
    }

    #[test]
    fn time_of_day_accepts() {
        let f = "input.schedules[0].opensAt";
        for good in ["00:00", "09:30", "12:00", "23:59"] {
            assert_eq!(time_of_day(f, good).unwrap(), good);
        }
        assert_eq!(time_of_day(f, " 08:15 ").unwrap(), "08:15");
    }

    #[test]
    fn time_of_day_refuses() {
        let f = "input.schedules[1].closesAt";
        for bad in [
            "",
            "9:30",
            "09:3",
            "24:00",
            "23:60",
            "0930",
            "09.30",
            "09:30:00",
            "ab:cd",
            "-1:00",
            "٠٩:٣٠",
            "9:300",
        ] {
            let m = assert_names(time_of_day(f, bad), f);
            assert!(m.contains("HH:MM"), "{bad:?}: {m}");
        }
    }

    #[test]
    fn date_not_before_works() {
        let f = "input.verifiedOn";
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let earliest = day(2024, 1, 1);
        assert!(date_not_before(f, day(2024, 1, 1), earliest).is_ok());
        assert!(date_not_before(f, day(2030, 12, 31), earliest).is_ok());
        let m = assert_names(date_not_before(f, day(2023, 12, 31), earliest), f);
        assert!(m.contains("must not be before 2024-01-01"), "{m}");
        assert_names(date_not_before(f, day(1900, 1, 1), earliest), f);
    }

    #[test]
    fn ordered_times_works() {
        let f = "input";
        let at = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
        assert!(ordered_times(f, at(1, 9), at(1, 10)).is_ok());
        assert!(ordered_times(f, at(1, 9), at(15, 9)).is_ok());
        let m = assert_names(ordered_times(f, at(1, 10), at(1, 9)), "input.endsAt");
        assert!(m.contains("after input.startsAt"), "{m}");
        assert_names(ordered_times(f, at(1, 9), at(1, 9)), "input.endsAt");
        let m = assert_names(ordered_times(f, at(1, 9), at(15, 10)), "input.endsAt");
        assert!(m.contains("at most 14 days"), "{m}");
        let m = assert_names(
            ordered_times("input.patch", at(1, 9), at(30, 9)),
            "input.patch.endsAt",
        );
        assert!(m.contains("14 days"), "{m}");
    }

    #[test]
    fn list_len_works() {
        let f = "input.phones";
        assert!(list_len(f, 0, 20).is_ok());
        assert!(list_len(f, 20, 20).is_ok());
        let m = assert_names(list_len(f, 21, 20), f);
        assert!(m.contains("at most 20 items, not 21"), "{m}");
        let m = assert_names(list_len("input.locations", 2, 1), "input.locations");
        assert!(m.contains("at most 1 item,"), "{m}");
        assert_names(list_len(f, 1, 0), f);
    }

    #[test]
    fn uuid_works() {
        let f = "input.organizationId";
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let want = Uuid::parse_str(id).unwrap();
        assert_eq!(uuid(f, id).unwrap(), want);
        assert_eq!(uuid(f, &format!(" {} ", id.to_uppercase())).unwrap(), want);
        assert_eq!(uuid(f, "67e5504410b1426f9247bb680e5fe0c8").unwrap(), want);
        for bad in [
            "",
            "not-a-uuid",
            "67e55044-10b1-426f-9247-bb680e5fe0c",
            "67e55044-10b1-426f-9247-bb680e5fe0c8x",
            "zze55044-10b1-426f-9247-bb680e5fe0c8",
        ] {
            let m = assert_names(uuid(f, bad), f);
            assert!(m.contains("not a valid id"), "{bad:?}: {m}");
        }
    }
}
