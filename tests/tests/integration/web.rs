//! The web client over HTTP against the real server, its HTML parsed: every page and form, each
//! search filter, the shortlist, reports, sign in and out, CSRF refusals, and bad input
//! answered with a page that explains.

use entity::{Role, Visibility, phone};
use reqwest::{StatusCode, header};
use scraper::{Html, Selector};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use signpost_api::store::audit::Actor;
use tests::TestApp;

/// A demo service with a line for professionals only.
const BABY_BOND: &str = "806c6330-6a12-49e8-aac6-bea6d5e6d845";
/// A demo service about domestic abuse.
const DOMESTIC_ABUSE: &str = "27edc35c-1151-4563-a68e-0d101072a980";
/// A postcode in the demo directory's catchments (Old Trafford).
const POSTCODE: &str = "M16 0RA";
const PASSWORD: &str = "correct horse battery staple";

/// A browser without JavaScript: keeps its cookies, does not follow redirects.
struct Browser<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

/// A page as the browser got it.
struct Page {
    status: StatusCode,
    headers: header::HeaderMap,
    html: Html,
    text: String,
}

impl Page {
    fn select(&self, css: &str) -> Vec<scraper::ElementRef<'_>> {
        let selector = Selector::parse(css).unwrap_or_else(|err| panic!("{css}: {err}"));
        self.html.select(&selector).collect()
    }

    fn has(&self, css: &str) -> bool {
        !self.select(css).is_empty()
    }

    fn texts(&self, css: &str) -> Vec<String> {
        self.select(css)
            .iter()
            .map(|e| e.text().collect::<String>())
            .collect()
    }

    fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.select(css)
            .first()
            .and_then(|e| e.value().attr(name))
            .map(str::to_owned)
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// The result cards' texts.
    fn cards(&self) -> Vec<String> {
        self.texts("#results .nhsuk-card")
    }
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|err| panic!("{err}"));
        Self {
            app,
            client,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, headers: &header::HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.retain(|(k, _)| k != name);
                let expired = text.contains("Max-Age=0");
                if !expired {
                    self.cookies.push((name.to_owned(), value.to_owned()));
                }
            }
        }
    }

    async fn read(&mut self, response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        self.keep_cookies(&headers);
        let text = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            html: Html::parse_document(&text),
            text,
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let response = self
            .client
            .get(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        self.read(response).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = self
            .client
            .post(self.app.url(path))
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST {path}: {err}"));
        self.read(response).await
    }

    /// The CSRF token of the first form on `page`.
    fn csrf(page: &Page) -> String {
        page.attr("input[name=csrf]", "value")
            .unwrap_or_else(|| panic!("no CSRF field in {}", page.text))
    }
}

fn search_path(pairs: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("/?{query}")
}

#[tokio::test]
async fn the_search_page_is_private_and_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("cache-control").contains("private"));
    assert_eq!(page.header("referrer-policy"), "same-origin");
    assert!(
        page.header("content-security-policy")
            .contains("default-src 'self'")
    );
    for field in [
        "q", "postcode", "age", "unit", "pregnant", "self", "language", "sort",
    ] {
        assert!(
            page.has(&format!("label[for={field}]")),
            "no label for {field}"
        );
    }
    assert!(page.has("a.nhsuk-skip-link[href='#maincontent']"));
    assert!(!page.text.contains("nhsuk-header__logo"), "no NHS logo");
    let mut assets = Vec::new();
    for (css, attr) in [
        ("link[href]", "href"),
        ("script[src]", "src"),
        ("img[src]", "src"),
    ] {
        for element in page.select(css) {
            let address = element.value().attr(attr).unwrap_or_default().to_owned();
            assert!(address.starts_with('/'), "{address} is on another origin");
            assets.push(address);
        }
    }
    assert!(assets.len() >= 3, "{assets:?}");
    for address in assets {
        let response = app
            .client
            .get(app.url(&address))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(response.status(), 200, "{address}");
        let cache = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(cache.contains("max-age=31536000"), "{address}: {cache}");
        let body = response.text().await.unwrap_or_default();
        assert!(
            !body.contains("assets.nhs.uk"),
            "{address} loads fonts from elsewhere"
        );
    }
    // Assets go gzipped to browsers that take it; pages never (they hold a CSRF token).
    let stylesheet = page
        .attr("link[rel=stylesheet]", "href")
        .unwrap_or_default();
    let gzipped = app
        .client
        .get(app.url(&stylesheet))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        gzipped
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let page_gzipped = app
        .client
        .get(app.url("/?q=baby"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(
        page_gzipped
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_none()
    );
    // GraphiQL is still at /graphql.
    let graphiql = browser.get("/graphql").await;
    assert_eq!(graphiql.status, StatusCode::OK);
    assert!(graphiql.text.to_lowercase().contains("graphiql"));
}

#[tokio::test]
async fn a_search_by_need_and_postcode_shows_cards_that_answer_the_questions() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&search_path(&[
            ("q", "postnatal depression"),
            ("postcode", POSTCODE),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let cards = page.cards();
    assert!(!cards.is_empty(), "no results: {}", page.text);
    for card in &cards {
        assert!(card.contains("Run by"), "{card}");
        assert!(card.contains("Covers M16 0RA"), "{card}");
        assert!(card.contains("Yes"), "{card}");
        assert!(card.contains("Referral"), "{card}");
        assert!(card.contains("Level of need"), "{card}");
        assert!(card.contains("Last checked"), "{card}");
        assert!(card.contains("Age"), "{card}");
        assert!(card.contains("In pregnancy"), "{card}");
    }
    assert!(
        cards.iter().any(|c| c.contains(" miles")),
        "no distance in miles"
    );
    // A mental health search shows the urgent routes.
    let care = page.texts("#urgent-help").join(" ");
    assert!(
        care.contains("NHS 111") && care.contains("option 2"),
        "{care}"
    );
    assert!(care.contains("999") && care.contains("116 123"), "{care}");
    // Facet counts.
    assert!(page.texts("label[for=audience-mothers]")[0].contains('('));
    // A search that is not about mental health has no care card.
    let page = browser.get(&search_path(&[("q", "baby massage")])).await;
    assert!(!page.has("#urgent-help"));
}

#[tokio::test]
async fn the_page_says_who_the_words_describe_and_undoes_it_with_one_link() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&search_path(&[(
            "q",
            "dad struggling with low mood, baby 4 months",
        )]))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let read = page.texts(".nhsuk-inset-text").join(" ");
    assert!(read.contains("Showing services for:"), "{read}");
    assert!(
        read.contains("a father") && read.contains("baby 4 months"),
        "{read}"
    );
    let undo = page
        .attr(".nhsuk-inset-text a", "href")
        .expect("a link to search without the reading");
    assert!(undo.contains("interpret=off"), "{undo}");
    let narrowed = page.cards().len();
    let page = browser.get(&undo).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let read = page.texts(".nhsuk-inset-text").join(" ");
    assert!(
        read.contains("Not filtering by who the words describe"),
        "{read}"
    );
    assert!(page.cards().len() >= narrowed);
    let redo = page
        .attr(".nhsuk-inset-text a", "href")
        .expect("a link to filter again");
    assert!(!redo.contains("interpret"), "{redo}");
}

#[tokio::test]
async fn each_filter_narrows_the_results() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let all = browser.get(&search_path(&[("q", "")])).await;
    let total = |page: &Page| -> i64 {
        page.texts("#results-heading")
            .first()
            .and_then(|t| t.split_whitespace().next().map(str::to_owned))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no total in {}", page.text))
    };
    let everything = total(&all);
    assert!(everything > 20, "{everything}");
    let checks: [(&[(&str, &str)], &str); 6] = [
        (&[("audience", "FATHERS")], "Fathers"),
        (&[("level", "SPECIALIST")], "Specialist"),
        (&[("self", "yes")], "refer themselves"),
        (&[("pregnant", "yes")], "In pregnancy Yes"),
        (
            &[("age", "130"), ("unit", "weeks")],
            "fits a baby of 30 months",
        ),
        (&[("postcode", POSTCODE)], "Covers M16 0RA"),
    ];
    for (pairs, expected) in checks {
        let mut query = vec![("q", "")];
        query.extend_from_slice(pairs);
        let page = browser.get(&search_path(&query)).await;
        assert_eq!(page.status, StatusCode::OK, "{pairs:?}: {}", page.text);
        let cards = page.cards();
        assert!(!cards.is_empty(), "{pairs:?} found nothing");
        for card in &cards {
            let squeezed = |text: &str| text.split_whitespace().collect::<String>();
            assert!(
                squeezed(card).contains(&squeezed(expected)),
                "{pairs:?}: {card}"
            );
        }
        assert!(total(&page) < everything, "{pairs:?} did not narrow");
    }
    // Nearest first, in miles, when every service near the postcode is asked for.
    let page = browser
        .get(&search_path(&[
            ("q", ""),
            ("postcode", POSTCODE),
            ("covers", "all"),
            ("sort", "distance"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let miles: Vec<f64> = page
        .cards()
        .iter()
        .filter_map(|card| {
            // The number just before " miles".
            let before = &card[..card.find(" miles")?];
            let start = before
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |at| at + 1);
            before[start..].parse().ok()
        })
        .collect();
    assert!(!miles.is_empty(), "no distances");
    assert!(miles.windows(2).all(|w| w[0] <= w[1]), "{miles:?}");
    // Language and delivery mode narrow too (their labels are not on the cards).
    for pairs in [[("language", "ur")], [("mode", "GROUP")]] {
        let mut query = vec![("q", "")];
        query.extend_from_slice(&pairs);
        let page = browser.get(&search_path(&query)).await;
        assert_eq!(page.status, StatusCode::OK);
        let found = total(&page);
        assert!(found > 0 && found < everything, "{pairs:?}: {found}");
    }
    // Sorting by name.
    let page = browser
        .get(&search_path(&[("q", ""), ("sort", "name")]))
        .await;
    let names = page.texts("#results .nhsuk-card__link");
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, sorted);
    // Paging: the next page holds other services.
    let next = page
        .attr("a.nhsuk-pagination__link--next", "href")
        .unwrap_or_else(|| panic!("no next page"));
    let second = browser.get(&next).await;
    let more = second.texts("#results .nhsuk-card__link");
    assert!(!more.is_empty());
    assert!(more.iter().all(|n| !names.contains(n)), "{more:?}");
    // An empty result says which filter to remove.
    let page = browser
        .get(&search_path(&[
            ("q", "zzzz qqqq xxxx"),
            ("audience", "CARERS"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Remove "), "{}", page.text);
}

/// Text without its white space, to compare what a card says whatever its layout.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect()
}

#[tokio::test]
async fn cards_of_an_all_services_search_say_whether_each_covers_the_postcode() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    for (name, answer) in [
        (
            "Trafford Health Visiting Service",
            "Yes (postcode district M16)",
        ),
        ("Gloucestershire Health Visiting", "No"),
    ] {
        let page = browser
            .get(&search_path(&[
                ("q", name),
                ("postcode", POSTCODE),
                ("covers", "all"),
            ]))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        let cards = page.cards();
        let card = cards
            .iter()
            .find(|card| card.contains(name))
            .unwrap_or_else(|| panic!("no card for {name}: {cards:?}"));
        assert!(
            squeezed(card).contains(&squeezed(&format!("Covers {POSTCODE} {answer}"))),
            "{card}"
        );
    }
    // Some cards of a search near the postcode say no, others yes; each says one of the three.
    let page = browser
        .get(&search_path(&[
            ("q", ""),
            ("postcode", POSTCODE),
            ("covers", "all"),
            ("sort", "distance"),
        ]))
        .await;
    let answers: Vec<String> = page
        .texts("#results .sp-card-facts .nhsuk-summary-list__row")
        .into_iter()
        .filter(|row| row.contains("Covers"))
        .map(|row| squeezed(&row).replace(&squeezed(&format!("Covers {POSTCODE}")), ""))
        .collect();
    assert_eq!(answers.len(), page.cards().len(), "{answers:?}");
    assert!(answers.iter().any(|a| a.starts_with("Yes(")), "{answers:?}");
    assert!(
        answers.iter().all(|a| a.starts_with("Yes(")
            || a == "No"
            || a.starts_with(&squeezed("Not stated \u{2014} check with the service"))),
        "{answers:?}"
    );
}

#[tokio::test]
async fn the_language_list_shows_how_many_services_each_language_finds() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let total = |page: &Page| -> i64 {
        page.texts("#results-heading")
            .first()
            .and_then(|t| t.split_whitespace().next().map(str::to_owned))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no total in {}", page.text))
    };
    // "Urdu (3)" -> ("ur", 3), for every language listed.
    let counts = |page: &Page| -> Vec<(String, i64)> {
        page.select("select#language option")
            .iter()
            .filter_map(|option| {
                let code = option.value().attr("value")?.to_owned();
                let text = option.text().collect::<String>();
                let count = text
                    .rsplit_once('(')
                    .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())?;
                Some((code, count))
            })
            .collect()
    };
    let page = browser.get(&search_path(&[("q", "")])).await;
    let listed = counts(&page);
    let options = page.select("select#language option").len();
    assert_eq!(listed.len() + 1, options, "every language has a count");
    assert!(listed.len() >= 3, "{listed:?}");
    assert!(
        page.texts("select#language option")
            .iter()
            .any(|t| t.starts_with("Urdu (")),
        "{listed:?}"
    );
    for (code, count) in &listed {
        let chosen = browser
            .get(&search_path(&[("q", ""), ("language", code)]))
            .await;
        assert_eq!(total(&chosen), *count, "{code}");
        // With a language chosen, the others still count what choosing them would find.
        assert_eq!(counts(&chosen), listed, "{code}");
        assert_eq!(
            chosen
                .attr("select#language option[selected]", "value")
                .as_deref(),
            Some(code.as_str())
        );
    }
}

#[tokio::test]
async fn suggestions_for_the_script_say_what_they_name() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let response = app
        .client
        .get(app.url("/suggest?prefix=baby"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
    );
    let suggestions: Vec<serde_json::Value> = response.json().await.unwrap_or_default();
    assert!(!suggestions.is_empty());
    let mut services = 0;
    for suggestion in &suggestions {
        let text = suggestion["text"].as_str().expect("a text");
        assert!(text.to_lowercase().contains("baby"), "{suggestion}");
        assert!(suggestion["id"].is_string(), "{suggestion}");
        match suggestion["kind"].as_str() {
            Some("SERVICE") => {
                services += 1;
                let href = suggestion["href"].as_str().expect("a service's page");
                let page = browser.get(href).await;
                assert_eq!(page.status, StatusCode::OK, "{href}");
                assert_eq!(page.texts("h1").first().map(String::as_str), Some(text));
            }
            Some("CATEGORY") => assert!(suggestion["href"].is_null(), "{suggestion}"),
            other => panic!("unexpected kind {other:?}"),
        }
    }
    assert!(services > 0, "{suggestions:?}");
    for prefix in ["", "%20", &"x".repeat(101)] {
        let response = app
            .client
            .get(app.url(&format!("/suggest?prefix={prefix}")))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap_or_default(), "[]");
    }
}

#[tokio::test]
async fn bad_input_is_answered_with_a_page_that_explains() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let long = "a".repeat(5_000);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("postcode", "NOT A POSTCODE")], "#postcode"),
        (&[("age", "400"), ("unit", "months")], "#age"),
        (&[("age", "soon")], "#age"),
        (&[("q", long.as_str())], "#q"),
        (&[("audience", "ALIENS")], "#audience"),
    ];
    for (pairs, anchor) in cases {
        let page = browser.get(&search_path(pairs)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{pairs:?}");
        assert!(page.has(".nhsuk-error-summary"), "{pairs:?}");
        let links: Vec<String> = page
            .select(".nhsuk-error-summary a")
            .iter()
            .filter_map(|a| a.value().attr("href").map(str::to_owned))
            .collect();
        assert!(links.iter().any(|l| l == anchor), "{pairs:?}: {links:?}");
        assert!(page.has(".nhsuk-form-group--error"));
    }
    // Events and service pages too.
    let page = browser.get("/events?postcode=12345").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.has(".nhsuk-error-summary"));
    let page = browser.get("/services/not-an-id").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = browser
        .get("/services/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = browser.get("/?q=x&after=not-a-cursor").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.text);
}

#[tokio::test]
async fn the_service_page_shows_the_listing_and_takes_reports() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&format!("/services/{BABY_BOND}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.header("cache-control").contains("private"));
    let text = page.text.clone();
    for part in [
        "Baby Bond",
        "Who it is for",
        "How to refer",
        "01632 960140",
        "Last checked",
        "Funded by",
        "Opening times",
        "Events in the next",
        "Report a problem with this listing",
    ] {
        assert!(text.contains(part), "no {part}");
    }
    // The professional-only line is not public; signing in comes back to this page.
    assert!(!text.contains("01632 960141"));
    assert!(page.has(&format!(
        "a[href='/sign-in?next=%2Fservices%2F{BABY_BOND}']"
    )));
    assert!(
        !page.has(".sp-exit"),
        "exit this page on a listing not about abuse"
    );
    // Report kinds.
    let kinds: Vec<String> = page
        .select("input[name=kind]")
        .iter()
        .filter_map(|e| e.value().attr("value").map(str::to_owned))
        .collect();
    assert_eq!(
        kinds,
        [
            "out-of-date",
            "closed",
            "wrong-catchment",
            "wrong-contact-details",
            "other"
        ]
    );
    let csrf = Browser::csrf(&page);
    let path = format!("/services/{BABY_BOND}/report");
    // Without the CSRF token: refused.
    let refused = browser
        .post(
            &path,
            &[("kind", "closed"), ("message", "The group has stopped")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Without a kind: explained.
    let explained = browser
        .post(
            &path,
            &[("csrf", &csrf), ("message", "The group has stopped")],
        )
        .await;
    assert_eq!(explained.status, StatusCode::BAD_REQUEST);
    assert!(explained.has(".nhsuk-error-summary a[href='#kind']"));
    // Filed.
    let filed = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("kind", "wrong-catchment"),
                ("message", "It covers M32 too"),
            ],
        )
        .await;
    assert_eq!(filed.status, StatusCode::SEE_OTHER);
    let location = filed.header("location");
    let thanks = browser.get(&location).await;
    assert!(thanks.text.contains("Your report was sent"));
    let reports = signpost_api::store::editing::reports(&app.db, false)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].kind.as_deref(), Some("WRONG_CATCHMENT"));
    assert_eq!(reports[0].message, "It covers M32 too");
    // And partners see the kind through GraphQL.
    let admin = app.admin_token().await;
    let data = app
        .data_as(
            Some(&admin),
            "{ listingReports { kind message } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(data["listingReports"][0]["kind"], "WRONG_CATCHMENT");
}

#[tokio::test]
async fn domestic_abuse_listings_offer_a_quick_exit() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&format!("/services/{DOMESTIC_ABUSE}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let exit = page
        .attr(".sp-exit a", "href")
        .unwrap_or_else(|| panic!("no exit control"));
    assert!(exit.starts_with("https://"));
    assert_eq!(page.texts(".sp-exit a")[0].trim(), "Exit this page");
}

#[tokio::test]
async fn the_shortlist_lives_in_the_address_and_can_be_shared() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser.get(&search_path(&[("q", "baby")])).await;
    let adds: Vec<String> = page
        .select("#results a")
        .iter()
        .filter(|a| a.text().collect::<String>().starts_with("Add to shortlist"))
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert!(adds.len() >= 2);
    let once = browser.get(&adds[0]).await;
    assert!(once.text.contains("Shortlist: 1 service"));
    let add_second = once
        .select("#results a")
        .iter()
        .filter(|a| a.text().collect::<String>().starts_with("Add to shortlist"))
        .find_map(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_else(|| panic!("no second add link"));
    let twice = browser.get(&add_second).await;
    assert!(twice.text.contains("Shortlist: 2 services"));
    let list_link = twice
        .select("a")
        .iter()
        .find(|a| {
            a.text()
                .collect::<String>()
                .contains("View, print or share")
        })
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_else(|| panic!("no link to the shortlist"));
    let list = browser.get(&list_link).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.select("ol.nhsuk-list--number > li").len(), 2);
    let mailto = list.attr("a[href^='mailto:']", "href").unwrap_or_default();
    assert!(mailto.contains("subject=") && mailto.contains("body="));
    assert!(list.has("a[href^='sms:']"));
    assert!(list.text.contains("This list online: http://"));
    // Print view, plain text, QR code.
    let print_link = list
        .attr("a[href^='/shortlist/print']", "href")
        .unwrap_or_default();
    let print = browser.get(&print_link).await;
    assert_eq!(print.status, StatusCode::OK);
    assert_eq!(print.select("section.sp-print-entry").len(), 2);
    let text_link = list
        .attr("a[href^='/shortlist.txt']", "href")
        .unwrap_or_default();
    let text = browser.get(&text_link).await;
    assert!(text.header("content-type").starts_with("text/plain"));
    assert!(text.text.starts_with("Services for your family"));
    let qr_link = list.attr(".sp-qr img", "src").unwrap_or_default();
    let qr = browser.get(&qr_link).await;
    assert_eq!(qr.header("content-type"), "image/svg+xml");
    assert!(qr.text.contains("<svg"));
    // Removing one leaves the other.
    let remove = list
        .select("ol a")
        .iter()
        .find(|a| a.text().collect::<String>().starts_with("Remove"))
        .and_then(|a| a.value().attr("href").map(str::to_owned))
        .unwrap_or_default();
    let fewer = browser.get(&remove).await;
    assert_eq!(fewer.select("ol.nhsuk-list--number > li").len(), 1);
}

#[tokio::test]
async fn events_near_a_postcode_are_listed() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/events").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.has("label[for=postcode]"));
    let page = browser
        .get(&format!("/events?postcode={}&miles=20&weeks=8", "M16+0RA"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let heading = page.texts("#events-heading").join(" ");
    assert!(heading.contains("within 20 miles of M16 0RA"), "{heading}");
    assert!(
        !page
            .select("ul[aria-labelledby=events-heading] .nhsuk-card")
            .is_empty(),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn a_professional_signs_in_sees_professional_lines_and_signs_out() {
    let app = TestApp::spawn().await;
    let email = "health.visitor@example.org";
    signpost_api::store::accounts::create_user(
        &app.db,
        &Actor::command_line(),
        email,
        PASSWORD,
        Role::Professional,
        None,
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let professional_line = phone::Entity::find()
        .filter(phone::Column::Visibility.eq(Visibility::Professional))
        .filter(phone::Column::ServiceId.eq(uuid::Uuid::parse_str(BABY_BOND).unwrap_or_default()))
        .one(&app.db)
        .await
        .ok()
        .flatten()
        .map(|p| p.number)
        .unwrap_or_else(|| panic!("the demo has no professional line"));
    let mut browser = Browser::new(&app);
    let form = browser.get("/sign-in").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = Browser::csrf(&form);
    // Without the token: refused.
    let refused = browser
        .post("/sign-in", &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text.contains("This form has expired"));
    // A wrong password is explained.
    let wrong = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", "not the password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(wrong.has(".nhsuk-error-summary"));
    // Signed in.
    let next = format!("/services/{BABY_BOND}");
    let signed = browser
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("email", email),
                ("password", PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.header("location"), next);
    let session = signed
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("signpost_session="))
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_owned();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "Secure over plain HTTP: {session}"
    );
    let max_age: u64 = session
        .split("Max-Age=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!((6 * 3600..=10 * 3600).contains(&max_age), "{max_age}");
    let page = browser.get(&next).await;
    assert!(page.text.contains(&professional_line), "{}", page.text);
    assert!(page.text.contains("For professionals only"));
    assert!(page.text.contains(email));
    // The token is never in page script or markup.
    let token = session
        .trim_start_matches("signpost_session=")
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(!page.text.contains(&token));
    // Read-only: the professional's token reads no sync feed and changes nothing.
    let (_, body) = app
        .post_as(
            Some(&token),
            "{ changes(first: 1) { totalCount } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let (_, body) = app
        .post_as(
            Some(&token),
            "mutation($id: ID!) { verifyService(id: $id) { id } }",
            serde_json::json!({ "id": BABY_BOND }),
        )
        .await;
    assert!(body["errors"][0].is_object(), "{body}");
    // Sign out needs the (new) CSRF token.
    let csrf = Browser::csrf(&page);
    let refused = browser.post("/sign-out", &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let page = browser.get(&next).await;
    assert!(!page.text.contains(&professional_line));
    assert!(page.text.contains("Sign in (professionals)"));
}

#[tokio::test]
async fn the_access_log_holds_no_postcode_or_search_words() {
    let server = tests::ServerProcess::start(&[
        ("SIGNPOST_SEED_DEMO", "true"),
        ("RUST_LOG", "info,tower_http=debug"),
    ])
    .await;
    let response = reqwest::get(server.url("/?q=secretneedwords&postcode=M16+0RA"))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
    let _ = response.text().await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let log = String::from_utf8_lossy(&server.stderr()).into_owned();
    assert!(
        log.contains("path=/") || log.contains("\"path\":\"/\""),
        "no access log line: {log}"
    );
    assert!(!log.contains("secretneedwords"), "{log}");
    assert!(!log.contains("M16"), "{log}");
}

/// The number a results heading ("13 services found", "1 service found") gives.
fn found(page: &Page) -> i64 {
    let heading = page.texts("#results-heading").concat();
    heading
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {heading:?}"))
}

#[tokio::test]
async fn an_empty_result_says_what_removing_each_choice_would_find() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let page = browser
        .get(&search_path(&[
            ("q", "zzzz qqqq xxxx"),
            ("level", "SPECIALIST"),
            ("audience", "FATHERS"),
        ]))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(found(&page), 0);
    let choices: Vec<(String, String)> = page
        .select(".sp-removals li")
        .iter()
        .map(|li| {
            let link = li
                .select(&Selector::parse("a").expect("selector"))
                .next()
                .and_then(|a| a.value().attr("href"))
                .expect("a link to search without the choice")
                .to_owned();
            (squeezed(&li.text().collect::<String>()), link)
        })
        .collect();
    assert_eq!(choices.len(), 3, "{choices:?}");
    let mut some_found = false;
    for (words, link) in choices {
        let after = browser.get(&link).await;
        assert_eq!(after.status, StatusCode::OK);
        let count = found(&after);
        let said = match count {
            0 => "(stillnoservice)".to_owned(),
            1 => "(finds1service)".to_owned(),
            n => format!("(finds{n}services)"),
        };
        assert!(
            words.ends_with(&said),
            "{words} should say {said}: its link finds {count}"
        );
        some_found |= count > 0;
    }
    assert!(some_found, "removing a choice should find something");
}
