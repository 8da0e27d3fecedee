//! Signpost's web client: the search page as a load target (the search class's queries sent as
//! `GET /?q=...` with the page's own parameters) and the weight of a first visit to a page (the
//! HTML and every same-origin file a browser fetches to show it).

use std::{collections::VecDeque, io::Read as _, io::Write as _, net::SocketAddr};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;
use url::Url;

use crate::{http::HttpConn, load::Target, model::Query};

/// The search page's name in the report.
pub const NAME: &str = "search page (HTML)";
/// Results on one search page.
pub const PAGE_RESULTS: usize = 10;
/// The cookie holding the visitor's CSRF token, kept per connection as a browser keeps it.
const CSRF_COOKIE: &str = "signpost_csrf";
/// What the page says when nothing matched.
const NO_RESULTS: &str = "No service matches everything you asked for.";
/// The heading above the results (or the empty-result message).
const RESULTS_HEADING: &str = "id=\"results-heading\"";
/// How a result card links to its service.
const CARD_LINK: &str = "class=\"nhsuk-card__link\" href=\"/services/";

/// What of the search queries the page cannot say, for the report's notes.
pub const UNMAPPED: &str = "The search page row sends each search query as `GET /` with the \
    page's parameters: `q` (the words), `postcode` with `covers=all` (the GraphQL query has no \
    catchment filter), `age` with `unit=months`, `category` and, for filter-and-distance \
    queries, `sort=distance`. Not mapped: `radiusKm` (the page has no radius, so a distance \
    query lists everything matching its filters nearest first, and a keyword query's radius is \
    dropped). The page shows 10 results against the GraphQL query's 20, and asks for more about \
    each (facets, highlights, the whole card, the postcode's position). Each connection keeps \
    the CSRF cookie of its first answer, as a browser does.";

/// The search page at `addr` as a load target.
pub struct SearchPage {
    pub addr: SocketAddr,
}

/// A connection, with the cookie a browser would send back.
pub struct PageConn {
    http: HttpConn,
    cookie: Option<String>,
}

/// An age in months as the page's age field takes it.
fn months(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

/// The page's address for a search query (`None` for queries of other classes).
pub fn page_path(query: &Query) -> Option<String> {
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    let (category, age) = match query {
        Query::Keyword {
            text,
            category,
            infant_age_months,
            near,
            radius_km: _,
        } => {
            pairs.append_pair("q", text);
            if let Some(place) = near {
                pairs.append_pair("postcode", &place.postcode);
                pairs.append_pair("covers", "all");
            }
            (category, infant_age_months)
        }
        Query::Distance {
            category,
            infant_age_months,
            near,
            radius_km: _,
        } => {
            pairs.append_pair("postcode", &near.postcode);
            pairs.append_pair("covers", "all");
            pairs.append_pair("sort", "distance");
            (category, infant_age_months)
        }
        _ => return None,
    };
    if let Some(age) = age {
        pairs.append_pair("age", &months(*age));
        pairs.append_pair("unit", "months");
    }
    if let Some(category) = category {
        pairs.append_pair("category", category);
    }
    Some(format!("/?{}", pairs.finish()))
}

/// The services a results page lists, in order; an error when the page shows neither results
/// nor the empty-result message.
pub fn result_ids(html: &str) -> Result<Vec<String>> {
    if !html.contains(RESULTS_HEADING) {
        bail!("a page without results");
    }
    let ids: Vec<String> = html
        .match_indices(CARD_LINK)
        .map(|(at, _)| {
            let rest = &html[at + CARD_LINK.len()..];
            let end = rest.find(['?', '"', '&']).unwrap_or(rest.len());
            rest[..end].to_owned()
        })
        .collect();
    if ids.is_empty() && !html.contains(NO_RESULTS) {
        bail!("a page with no result cards and no empty-result message");
    }
    if ids.len() > PAGE_RESULTS {
        bail!("a page of {} results", ids.len());
    }
    Ok(ids)
}

/// The `name=value` of a `Set-Cookie` header for `name`, if the answer sets it.
fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .find(|pair| {
            pair.split_once('=')
                .is_some_and(|(key, _)| key.trim() == name)
        })
        .map(|pair| pair.trim().to_owned())
}

#[async_trait::async_trait]
impl Target for SearchPage {
    type Conn = PageConn;

    fn name(&self) -> &str {
        NAME
    }

    async fn connect(&self) -> Result<PageConn> {
        Ok(PageConn {
            http: HttpConn::connect(self.addr).await?,
            cookie: None,
        })
    }

    async fn run(&self, conn: &mut PageConn, query: &Query) -> Result<Vec<String>> {
        let path = page_path(query).context("not a search query")?;
        let mut headers = vec![("accept", "text/html")];
        if let Some(cookie) = &conn.cookie {
            headers.push(("cookie", cookie.as_str()));
        }
        let (status, answer_headers, body) = conn
            .http
            .exchange(Method::GET, &path, &headers, Bytes::new())
            .await?;
        if status != StatusCode::OK {
            bail!("{path}: HTTP {status}");
        }
        if conn.cookie.is_none() {
            conn.cookie = set_cookie(&answer_headers, CSRF_COOKIE);
        }
        let html = std::str::from_utf8(&body).context("a page that is not UTF-8")?;
        result_ids(html).with_context(|| path.clone())
    }
}

/// One file of a first visit.
#[derive(Clone, Debug, Serialize)]
pub struct Resource {
    /// The address on the server.
    pub path: String,
    /// `page`, `stylesheet`, `script` (a module, or one it imports) or `from CSS` (an image the
    /// stylesheet names; a browser fetches it only when a rule using it applies).
    pub kind: String,
    /// The `Content-Encoding` the server chose, when it compressed the file.
    pub encoding: Option<String>,
    /// The body as sent (headers not counted).
    pub wire_bytes: u64,
    /// The body decoded.
    pub raw_bytes: u64,
    /// The decoded body gzipped here (level 6) when the server sent it uncompressed.
    pub gzip_bytes: Option<u64>,
}

impl Resource {
    /// Its size gzipped: as sent when the server compressed it, else gzipped here.
    pub fn gzipped(&self) -> u64 {
        self.gzip_bytes.unwrap_or(self.wire_bytes)
    }
}

/// The weight of a first visit to one page: no cookie, nothing cached.
#[derive(Clone, Debug, Serialize)]
pub struct FirstLoad {
    /// The page's address.
    pub page: String,
    /// Result cards on the page (none: the page shows no search, only the form).
    pub results: Option<usize>,
    pub resources: Vec<Resource>,
    /// The bodies as sent.
    pub wire_bytes: u64,
    /// The bodies with the uncompressed ones gzipped too.
    pub gzip_bytes: u64,
}

/// The page's resources and the first visits measured.
#[derive(Clone, Debug, Serialize)]
pub struct WebClient {
    pub first_loads: Vec<FirstLoad>,
}

fn gzip(bytes: &[u8]) -> Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

/// One tag's attributes (`name="value"`, `name='value'`, `name=value` or a bare `name`), names
/// lowercased.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = tag.as_bytes();
    let mut i = 0;
    // Past the tag's name.
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
        i += 1;
    }
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=/>".contains(&bytes[i]) {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name = tag[start..i].to_ascii_lowercase();
        let mut value = String::new();
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && (bytes[i] == b'"' || bytes[i] == b'\'') {
                let quote = bytes[i];
                let from = i + 1;
                i = from;
                while i < bytes.len() && bytes[i] != quote {
                    i += 1;
                }
                value = tag[from..i].to_owned();
                i += 1;
            } else {
                let from = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                value = tag[from..i].to_owned();
            }
        }
        out.push((name, value.replace("&amp;", "&")));
    }
    out
}

/// The files an HTML page has a browser fetch as it loads: stylesheets, scripts (with whether
/// each is a module) and icons.
fn html_references(html: &str) -> Vec<(String, &'static str, bool)> {
    let mut out = Vec::new();
    for (at, _) in html.match_indices('<') {
        let rest = &html[at + 1..];
        let Some(end) = rest.find('>') else { break };
        let tag = &rest[..end];
        let name = tag
            .split(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let attrs = attributes(tag);
        let get = |key: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        match name.as_str() {
            "link" => {
                let rel = get("rel").unwrap_or_default().to_ascii_lowercase();
                let rels: Vec<&str> = rel.split_ascii_whitespace().collect();
                let Some(href) = get("href") else { continue };
                if rels.contains(&"stylesheet") {
                    out.push((href.to_owned(), "stylesheet", false));
                } else if rels.contains(&"modulepreload") {
                    out.push((href.to_owned(), "script", true));
                } else if rels.contains(&"icon") || rels.contains(&"preload") {
                    out.push((href.to_owned(), "icon", false));
                }
            }
            "script" => {
                if let Some(src) = get("src") {
                    out.push((src.to_owned(), "script", get("type") == Some("module")));
                }
            }
            _ => {}
        }
    }
    out
}

/// The addresses a stylesheet names: `url(...)` and `@import`.
fn css_references(css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (at, _) in css.match_indices("url(") {
        let rest = &css[at + 4..];
        let Some(end) = rest.find(')') else { break };
        let target = rest[..end].trim().trim_matches(['"', '\'']).trim();
        if !target.is_empty() && !target.starts_with("data:") && !target.starts_with('#') {
            out.push(target.to_owned());
        }
    }
    for (at, _) in css.match_indices("@import") {
        let rest = css[at + 7..].trim_start();
        if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let rest = &rest[1..];
            if let Some(end) = rest.find(quote) {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

/// The modules a module imports statically (`import ... from '...'`, `import '...'`,
/// `export ... from '...'`), which a browser fetches before running it. Only relative and
/// absolute addresses: a bare specifier does not load without an import map.
fn js_imports(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for keyword in ["from", "import"] {
        for (at, _) in js.match_indices(keyword) {
            // A whole word, not part of a name (`Array.from` is followed by `(`, not a quote).
            let before = js[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == '.') {
                continue;
            }
            let rest = js[at + keyword.len()..].trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let rest = &rest[1..];
            let Some(end) = rest.find(quote) else {
                continue;
            };
            let specifier = &rest[..end];
            if specifier.starts_with("./")
                || specifier.starts_with("../")
                || specifier.starts_with('/')
            {
                out.push(specifier.to_owned());
            }
        }
    }
    out
}

/// The path (with its query) of `url` when it is on `origin`.
fn same_origin(origin: &Url, url: &Url) -> Option<String> {
    (url.origin() == origin.origin()).then(|| {
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        path
    })
}

/// Fetches `path` as a browser would on a first visit (accepting gzip); returns the resource and
/// its decoded body.
async fn fetch(conn: &mut HttpConn, path: &str, kind: &str) -> Result<(Resource, Vec<u8>)> {
    let (status, headers, body) = conn
        .exchange(
            Method::GET,
            path,
            &[("accept-encoding", "gzip"), ("accept", "*/*")],
            Bytes::new(),
        )
        .await?;
    if status != StatusCode::OK {
        bail!("{path}: HTTP {status}");
    }
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v != "identity");
    let decoded = match encoding.as_deref() {
        None => body.to_vec(),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&body[..])
                .read_to_end(&mut out)
                .with_context(|| format!("{path}: a broken gzip body"))?;
            out
        }
        Some(other) => bail!("{path}: sent as {other}, which was not asked for"),
    };
    let resource = Resource {
        path: path.to_owned(),
        kind: kind.to_owned(),
        wire_bytes: body.len() as u64,
        raw_bytes: decoded.len() as u64,
        gzip_bytes: if encoding.is_none() {
            Some(gzip(&decoded)?)
        } else {
            None
        },
        encoding,
    };
    Ok((resource, decoded))
}

/// The weight of a first visit to `page`: the page, then every same-origin stylesheet, script,
/// module it imports and image the stylesheets name, each once.
pub async fn first_load(addr: SocketAddr, page: &str) -> Result<FirstLoad> {
    let origin: Url = format!("http://{addr}/").parse()?;
    let mut conn = HttpConn::connect(addr).await?;
    let (html_resource, html) = fetch(&mut conn, page, "page").await?;
    let html = String::from_utf8(html).context("a page that is not UTF-8")?;
    let results = result_ids(&html).ok().map(|ids| ids.len());
    let page_url = origin.join(page)?;
    let mut resources = vec![html_resource];
    let mut seen = vec![page.to_owned()];
    let mut queue: VecDeque<(Url, &'static str, bool)> = VecDeque::new();
    for (href, kind, module) in html_references(&html) {
        queue.push_back((page_url.join(&href)?, kind, module));
    }
    while let Some((url, kind, module)) = queue.pop_front() {
        let Some(path) = same_origin(&origin, &url) else {
            continue;
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        let (resource, body) = fetch(&mut conn, &path, kind).await?;
        let text = String::from_utf8_lossy(&body);
        match kind {
            "stylesheet" => {
                for target in css_references(&text) {
                    let next = url.join(&target)?;
                    let kind = if target.ends_with(".css") {
                        "stylesheet"
                    } else {
                        "from CSS"
                    };
                    queue.push_back((next, kind, false));
                }
            }
            "script" if module => {
                for specifier in js_imports(&text) {
                    queue.push_back((url.join(&specifier)?, "script", true));
                }
            }
            _ => {}
        }
        resources.push(resource);
    }
    // A page naming no icon has the browser ask for /favicon.ico; counted when it is served.
    if !resources.iter().any(|r| r.kind == "icon")
        && let Ok((resource, _)) = fetch(&mut conn, "/favicon.ico", "icon").await
    {
        resources.push(resource);
    }
    Ok(FirstLoad {
        page: page.to_owned(),
        results,
        wire_bytes: resources.iter().map(|r| r.wire_bytes).sum(),
        gzip_bytes: resources.iter().map(Resource::gzipped).sum(),
        resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Place;

    fn place() -> Place {
        Place {
            postcode: "GL50 3".to_owned(),
            district: "GL50".to_owned(),
            area: "GL".to_owned(),
            latitude: 51.9,
            longitude: -2.07,
        }
    }

    #[test]
    fn search_queries_become_the_page_s_parameters() {
        let keyword = Query::Keyword {
            text: "low mood".to_owned(),
            category: Some("3f1c0b4e-0000-4000-8000-000000000001".to_owned()),
            infant_age_months: Some(6.0),
            near: Some(place()),
            radius_km: Some(10.0),
        };
        assert_eq!(
            page_path(&keyword).as_deref(),
            Some(
                "/?q=low+mood&postcode=GL50+3&covers=all&age=6&unit=months&category=3f1c0b4e-0000-4000-8000-000000000001"
            )
        );
        let distance = Query::Distance {
            category: None,
            infant_age_months: Some(2.5),
            near: place(),
            radius_km: 5.0,
        };
        assert_eq!(
            page_path(&distance).as_deref(),
            Some("/?postcode=GL50+3&covers=all&sort=distance&age=2.5&unit=months")
        );
        assert_eq!(page_path(&Query::Fetch { id: "x".to_owned() }), None);
    }

    #[test]
    fn pages_are_read_for_their_results_or_the_empty_message() {
        let found = r#"<h2 id="results-heading">2 services found</h2><ol>
            <a class="nhsuk-card__link" href="/services/a1?q=x">A</a>
            <a class="nhsuk-card__link" href="/services/b2">B</a></ol>"#;
        assert_eq!(
            result_ids(found).ok(),
            Some(vec!["a1".to_owned(), "b2".to_owned()])
        );
        let empty = format!(r#"<h2 id="results-heading">0 services found</h2><p>{NO_RESULTS}</p>"#);
        assert_eq!(result_ids(&empty).ok(), Some(Vec::new()));
        assert!(result_ids(r#"<h2 id="results-heading">0 services found</h2>"#).is_err());
        assert!(result_ids("<h1>Too many requests</h1>").is_err());
    }

    #[test]
    fn the_files_a_page_loads_are_found() {
        let html = r#"<head><link rel="stylesheet" href="/assets/a.css"><link rel=icon href='/i.png'>
            <script type="module" src="/assets/app.js"></script><script>inline()</script></head>"#;
        assert_eq!(
            html_references(html),
            vec![
                ("/assets/a.css".to_owned(), "stylesheet", false),
                ("/i.png".to_owned(), "icon", false),
                ("/assets/app.js".to_owned(), "script", true),
            ]
        );
        let css = r#"a{background:url(/assets/images/x.svg)}b{background:url("y.svg")}c{background:url(data:image/png;base64,AA)}@import "more.css";"#;
        assert_eq!(
            css_references(css),
            vec!["/assets/images/x.svg", "y.svg", "more.css"]
        );
        let js = r#"import { initAll } from './nhsuk.js'
            import "../side.js"; const x = Array.from(y); import lib from 'bare'; export * from "/z.js""#;
        assert_eq!(js_imports(js), vec!["./nhsuk.js", "/z.js", "../side.js"]);
    }
}
