//! The stylesheets, scripts and icons, embedded in the binary and served with long cache
//! headers: the NHS.UK frontend's files carry its version in their names, Signpost's own a hash
//! of their content, so a changed file is a new address.

use std::sync::LazyLock;

use axum::{
    extract::Path,
    http::{StatusCode, header},
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
        },
        Asset {
            path: format!("nhsuk-frontend-{NHSUK_VERSION}.min.js"),
            content_type: "text/javascript; charset=utf-8",
            cache: IMMUTABLE,
            body: NHSUK_JS,
        },
        Asset {
            path: format!("app-{}.css", short_hash(APP_CSS)),
            content_type: "text/css; charset=utf-8",
            cache: IMMUTABLE,
            body: APP_CSS,
        },
        Asset {
            path: format!("app-{}.js", short_hash(APP_JS)),
            content_type: "text/javascript; charset=utf-8",
            cache: IMMUTABLE,
            body: APP_JS,
        },
    ];
    assets.extend(icons.into_iter().map(|(name, body)| Asset {
        path: format!("images/{name}"),
        content_type: "image/svg+xml",
        cache: WEEK,
        body,
    }));
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

/// `GET /assets/{path}`.
pub async fn serve(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, asset.cache),
            ],
            asset.body,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CACHE_CONTROL, "no-store")],
            "no such file",
        )
            .into_response(),
    }
}
