//! The stylesheets, scripts and icons, embedded in the binary and served with long cache
//! headers: the NHS.UK frontend's files carry its version in their names, Signpost's own a hash
//! of their content, so a changed file is a new address. Each is gzipped once, at first use,
//! for browsers that accept it (pages are not compressed: they hold a CSRF token beside what
//! the visitor typed).

use std::{io::Write as _, sync::LazyLock};

use axum::{
    extract::Path,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The vendored NHS.UK frontend's version (see `api/assets/nhsuk/README.md`).
pub const NHSUK_VERSION: &str = "10.6.1";

const NHSUK_CSS: &[u8] = include_bytes!("../../assets/nhsuk/nhsuk-frontend-10.6.1.min.css");
const NHSUK_JS: &[u8] = include_bytes!("../../assets/nhsuk/nhsuk-frontend-10.6.1.min.js");
const APP_CSS: &[u8] = include_bytes!("../../assets/app.css");
const APP_JS: &[u8] = include_bytes!("../../assets/app.js");

/// Cache for a year: the address changes with the content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache for a week: the icons keep their names across frontend versions.
const WEEK: &str = "public, max-age=604800";

/// One embedded file.
struct Asset {
    path: String,
    content_type: &'static str,
    cache: &'static str,
    body: &'static [u8],
    gzipped: Option<Vec<u8>>,
}

/// `body` gzipped, when that makes it smaller.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(body).ok()?;
    let gzipped = encoder.finish().ok()?;
    (gzipped.len() < body.len()).then_some(gzipped)
}

/// FNV-1a, enough to tell versions of a file apart in its address.
fn short_hash(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:010x}", hash >> 24)
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let icons: [(&str, &[u8]); 4] = [
        (
            "nhsuk-icon-arrow-down.svg",
            include_bytes!("../../assets/nhsuk/images/nhsuk-icon-arrow-down.svg"),
        ),
        (
            "nhsuk-icon-arrow-up-down.svg",
            include_bytes!("../../assets/nhsuk/images/nhsuk-icon-arrow-up-down.svg"),
        ),
        (
            "nhsuk-icon-arrow-up.svg",
            include_bytes!("../../assets/nhsuk/images/nhsuk-icon-arrow-up.svg"),
        ),
        (
            "nhsuk-icon-cross.svg",
            include_bytes!("../../assets/nhsuk/images/nhsuk-icon-cross.svg"),
        ),
    ];
    let mut assets = vec![
        Asset {
            path: format!("nhsuk-frontend-{NHSUK_VERSION}.min.css"),
            content_type: "text/css; charset=utf-8",
            cache: IMMUTABLE,
            body: NHSUK_CSS,
            gzipped: None,
        },
        Asset {
            path: format!("nhsuk-frontend-{NHSUK_VERSION}.min.js"),
            content_type: "text/javascript; charset=utf-8",
            cache: IMMUTABLE,
            body: NHSUK_JS,
            gzipped: None,
        },
        Asset {
            path: format!("app-{}.css", short_hash(APP_CSS)),
            content_type: "text/css; charset=utf-8",
            cache: IMMUTABLE,
            body: APP_CSS,
            gzipped: None,
        },
        Asset {
            path: format!("app-{}.js", short_hash(APP_JS)),
            content_type: "text/javascript; charset=utf-8",
            cache: IMMUTABLE,
            body: APP_JS,
            gzipped: None,
        },
    ];
    assets.extend(icons.into_iter().map(|(name, body)| Asset {
        path: format!("images/{name}"),
        content_type: "image/svg+xml",
        cache: WEEK,
        body,
        gzipped: None,
    }));
    for asset in &mut assets {
        asset.gzipped = gzip(asset.body);
    }
    assets
});

/// The address of an embedded file by its plain name ("app.css", "nhsuk.css", "nhsuk.js").
pub fn url(name: &str) -> String {
    let path = match name {
        "nhsuk.css" => format!("nhsuk-frontend-{NHSUK_VERSION}.min.css"),
        "nhsuk.js" => format!("nhsuk-frontend-{NHSUK_VERSION}.min.js"),
        "app.css" => format!("app-{}.css", short_hash(APP_CSS)),
        "app.js" => format!("app-{}.js", short_hash(APP_JS)),
        other => other.to_owned(),
    };
    format!("/assets/{path}")
}

/// Whether the request's `Accept-Encoding` takes gzip.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `GET /assets/{path}`.
pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => match &asset.gzipped {
            Some(gzipped) if accepts_gzip(&headers) => (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CACHE_CONTROL, asset.cache),
                    (header::CONTENT_ENCODING, "gzip"),
                    (header::VARY, "accept-encoding"),
                ],
                gzipped.clone(),
            )
                .into_response(),
            _ => (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CACHE_CONTROL, asset.cache),
                    (header::VARY, "accept-encoding"),
                ],
                asset.body,
            )
                .into_response(),
        },
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such file",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_sent_only_to_those_who_take_it() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT_ENCODING,
                header::HeaderValue::from_str(value)
                    .unwrap_or_else(|_| header::HeaderValue::from_static("")),
            );
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn the_frontend_is_small_once_gzipped() {
        let weight: usize = ASSETS
            .iter()
            .filter(|asset| !asset.path.starts_with("images/"))
            .map(|asset| asset.gzipped.as_ref().map_or(asset.body.len(), Vec::len))
            .sum();
        assert!(weight < 90 * 1024, "{weight} bytes");
    }
}
