//! The index follows the database: live, after a crash or a lost index, and across instances.

use std::time::{Duration, Instant};

use entity::{ChangeOp, service};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, TransactionTrait,
};
use serde_json::json;
use signpost_api::feed;
use tests::{Options, TestApp};
use uuid::Uuid;

/// Renames a service the way every write path does: the row and a feed entry in one transaction.
async fn rename(app: &TestApp, id: Uuid, name: &str) -> i64 {
    let txn = app.db.begin().await.expect("begin");
    feed::lock(&txn).await.expect("lock");
    let row = service::Entity::find_by_id(id)
        .one(&txn)
        .await
        .expect("find")
        .expect("service");
    let mut active = row.into_active_model();
    active.name = Set(name.to_owned());
    active.update(&txn).await.expect("update");
    let seq = feed::record(&txn, "service", id, ChangeOp::Update)
        .await
        .expect("feed");
    txn.commit().await.expect("commit");
    seq
}

async fn hits_for(app: &TestApp, text: &str) -> Vec<String> {
    let data = app
        .data(
            "query($t: String) { search(text: $t) { edges { node { name } } } }",
            json!({ "t": text }),
        )
        .await;
    data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// Waits (up to a generous bound, so slow machines do not fail) until `text` finds `name`.
async fn wait_until_found(app: &TestApp, text: &str, name: &str) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        if hits_for(app, text).await.iter().any(|n| n == name) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} never became searchable");
}

async fn some_active_service(app: &TestApp) -> Uuid {
    service::Entity::find()
        .filter(service::Column::Status.eq(entity::ServiceStatus::Active))
        .one(&app.db)
        .await
        .expect("query")
        .expect("an active service")
        .id
}

async fn active_count(app: &TestApp) -> u64 {
    service::Entity::find()
        .filter(service::Column::Status.eq(entity::ServiceStatus::Active))
        .count(&app.db)
        .await
        .expect("count")
}

async fn indexed_active(app: &TestApp) -> u64 {
    let data = app
        .data("{ search(first: 1) { totalCount } }", json!({}))
        .await;
    data["search"]["totalCount"].as_u64().expect("total")
}

#[tokio::test]
async fn a_change_in_the_feed_becomes_searchable_and_readiness_follows() {
    let app = TestApp::spawn().await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let id = some_active_service(&app).await;
    let seq = rename(&app, id, "Quokka parent circle").await;
    let took = wait_until_found(&app, "quokka", "Quokka parent circle").await;
    println!("a feed change became searchable after {took:?} (polling)");
    // The index commits (and a search may see the change) just before the follower records the
    // sequence number it applied: that record follows within moments.
    let started = Instant::now();
    while app.indexer.applied() < seq {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the change was searchable but the follower never recorded seq {seq} as applied"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn an_index_left_behind_the_feed_catches_up_on_start() {
    let app = TestApp::spawn().await;
    let id = some_active_service(&app).await;
    let first = app.settings();
    let app = app
        .restart_after(|_| {
            // While no server runs, a write lands in the database (say from another instance).
            let db_url = first.database_url.clone().unwrap_or_else(|| {
                format!(
                    "sqlite://{}?mode=rwc",
                    first.data_dir.join(signpost_api::db::SQLITE_FILE).display()
                )
            });
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async move {
                    let db = sea_orm::Database::connect(db_url).await.expect("connect");
                    let txn = db.begin().await.expect("begin");
                    feed::lock(&txn).await.expect("lock");
                    let row = service::Entity::find_by_id(id)
                        .one(&txn)
                        .await
                        .expect("find")
                        .expect("row");
                    let mut active = row.into_active_model();
                    active.name = Set("Wombat wellbeing walk".to_owned());
                    active.update(&txn).await.expect("update");
                    feed::record(&txn, "service", id, ChangeOp::Update)
                        .await
                        .expect("feed");
                    txn.commit().await.expect("commit");
                    db.close().await.expect("close");
                });
            })
            .join()
            .expect("writer thread");
        })
        .await;
    // Searchable as soon as the server is up: the start replays what the index missed.
    assert!(
        hits_for(&app, "wombat")
            .await
            .contains(&"Wombat wellbeing walk".to_owned())
    );
    assert_eq!(indexed_active(&app).await, active_count(&app).await);
}

#[tokio::test]
async fn a_deleted_index_is_rebuilt_on_start_with_nothing_missing() {
    let app = TestApp::spawn().await;
    let before = indexed_active(&app).await;
    assert_eq!(before, active_count(&app).await);
    let app = app
        .restart_after(|dir| {
            std::fs::remove_dir_all(dir.join(signpost_api::INDEX_DIR)).expect("delete the index");
        })
        .await;
    assert_eq!(indexed_active(&app).await, before);

    // A damaged index directory is replaced too.
    let app = app
        .restart_after(|dir| {
            let index = dir.join(signpost_api::INDEX_DIR);
            std::fs::remove_dir_all(&index).expect("delete");
            std::fs::create_dir_all(&index).expect("create");
            std::fs::write(index.join("meta.json"), b"{ not json").expect("damage");
        })
        .await;
    assert_eq!(indexed_active(&app).await, before);
}

#[tokio::test]
async fn two_instances_on_one_database_converge() {
    let first = TestApp::spawn().await;
    let second = first.second_instance().await;
    assert_eq!(indexed_active(&second).await, indexed_active(&first).await);
    let id = some_active_service(&first).await;
    rename(&first, id, "Capybara calm club").await;
    let took = wait_until_found(&second, "capybara", "Capybara calm club").await;
    println!(
        "a change made through one instance became searchable on the other after {took:?} ({})",
        if first.on_postgres() {
            "PostgreSQL, LISTEN/NOTIFY"
        } else {
            "SQLite, polling"
        }
    );
    wait_until_found(&first, "capybara", "Capybara calm club").await;
}

#[tokio::test]
async fn readiness_reports_an_index_behind_the_feed() {
    let app = TestApp::spawn().await;
    // An indexer of its own (no follower) over the same database.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = app.settings();
    settings.data_dir = dir.path().to_path_buf();
    if settings.database_url.is_none() {
        let file = app.data_dir.path().join(signpost_api::db::SQLITE_FILE);
        settings.database_url = Some(format!("sqlite://{}?mode=rwc", file.display()));
    }
    let db = signpost_api::db::connect(&settings, std::sync::Arc::default())
        .await
        .expect("connect");
    let indexer = signpost_api::open_index(&settings, &db)
        .await
        .expect("index");
    assert_eq!(indexer.lag().await.expect("lag"), 0);
    let id = some_active_service(&app).await;
    rename(&app, id, "Pangolin play").await;
    assert_eq!(
        indexer.lag().await.expect("lag"),
        1,
        "one change not yet applied"
    );
    indexer.catch_up().await.expect("catch up");
    assert_eq!(indexer.lag().await.expect("lag"), 0);
    indexer.close().await;
    // The serving instance reports ready once its follower has applied the change (its
    // searches may see the change a moment before it records the change as applied).
    wait_until_found(&app, "pangolin", "Pangolin play").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let ready: serde_json::Value = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json");
        if ready["index"] == "current" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not current after 10 s: {ready}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The services a search for `text` finds, each with its organisation's name, and how many
/// SQL statements the page ran.
async fn found_with_organisations(app: &TestApp, text: &str) -> (Vec<(String, String)>, u64) {
    let before = app.metric("signpost_db_statements_total").await;
    let data = app
        .data(
            "query($text: String) { search(text: $text, first: 100, sort: NAME) { edges { node { id organization { name } } } } }",
            json!({ "text": text }),
        )
        .await;
    let statements = app.metric("signpost_db_statements_total").await - before;
    let found = data["search"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            let node = &e["node"];
            let name = node["organization"]["name"].as_str().unwrap_or_default();
            (node["id"].to_string(), name.to_owned())
        })
        .collect();
    (found, statements)
}

/// Runs `signpost reindex` with `settings` (on a thread and runtime of its own, as the command
/// does, while the test's server is stopped); returns how many listings it indexed.
fn reindex(settings: signpost_api::config::Settings) -> anyhow::Result<u64> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(signpost_api::reindex(&settings))
    })
    .join()
    .expect("reindex thread")
}

#[tokio::test]
async fn reindex_rebuilds_from_the_database() {
    let app = TestApp::spawn().await;
    // A listing of an organisation whose name says what no listing does.
    let admin = app.admin_token().await;
    let created = app
        .data_as(
            Some(&admin),
            "mutation { createOrganization(input: { name: \"Quokkaville Family Trust\" }) { id } }",
            json!({}),
        )
        .await;
    let organization = created["createOrganization"]["id"].clone();
    let input = json!({
        "organizationId": organization,
        "name": "Tuesday baby group",
        "description": "A weekly drop-in group for parents and their babies.",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": {},
        "referral": { "selfReferral": true, "professionalReferral": true },
    });
    let created = app
        .data_as(
            Some(&admin),
            "mutation($input: ServiceInput!) { createService(input: $input) { id } }",
            json!({ "input": input }),
        )
        .await;
    let quokka = (
        created["createService"]["id"].to_string(),
        "Quokkaville Family Trust".to_owned(),
    );
    let before = indexed_active(&app).await;
    let (listed, _) = found_with_organisations(&app, "").await;
    let (by_organisation, _) = found_with_organisations(&app, "quokkaville").await;
    assert_eq!(by_organisation, std::slice::from_ref(&quokka));
    let settings = app.settings();
    let app = app
        .restart_after(|_| {
            let count = reindex(settings).expect("reindex");
            assert!(
                count >= before,
                "every service, of every status, is indexed: {count}"
            );
        })
        .await;
    assert_eq!(indexed_active(&app).await, before);
    // Each listing is indexed with its organisation, whose name finds it, and its card holds
    // the organisation: the page runs no SQL (once the schema's first reads are done).
    found_with_organisations(&app, "").await;
    assert_eq!(found_with_organisations(&app, "").await, (listed, 0));
    assert_eq!(
        found_with_organisations(&app, "quokkaville").await,
        (vec![quokka], 0)
    );
}

#[tokio::test]
async fn imported_postcodes_give_full_postcode_precision() {
    let app = TestApp::spawn().await;
    let settings = app.settings();
    let app = app
        .restart_after(|_| {
            let csv_dir = tempfile::tempdir().expect("tempdir");
            std::fs::write(
                csv_dir.path().join("gl.csv"),
                "\"GL50 1AA\",10,394900,222300\r\n\"GL50 1AB\",90,0,0\r\n",
            )
            .expect("csv");
            let dir = csv_dir.path().to_path_buf();
            let count = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime
                    .block_on(signpost_api::import_postcodes(&settings, dir))
                    .expect("import")
            })
            .join()
            .expect("import thread");
            assert_eq!(count, 1, "rows without coordinates are skipped");
        })
        .await;
    let data = app
        .data("{ a: geocode(postcode: \"GL50 1AA\") { precision latitude } b: geocode(postcode: \"GL50 1ZZ\") { precision } }", json!({}))
        .await;
    assert_eq!(data["a"]["precision"], "FULL_POSTCODE");
    assert!(
        data["a"]["latitude"]
            .as_f64()
            .is_some_and(|lat| (lat - 51.9).abs() < 0.05)
    );
    assert_eq!(data["b"]["precision"], "SECTOR");
}

/// The place order of a listing's first venue with a position, as the listing's loader reads
/// its venues.
fn first_place_order(record: &signpost_api::store::listing::ServiceRecord) -> u64 {
    search::place_order(
        record
            .locations
            .iter()
            .find_map(|place| Some((place.location.latitude?, place.location.longitude?))),
    )
}

#[tokio::test]
async fn a_rebuild_reads_listings_in_the_order_the_index_keeps() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let created = app
        .data_as(
            Some(&admin),
            "mutation { createOrganization(input: { name: \"Venues Everywhere\" }) { id } }",
            json!({}),
        )
        .await;
    let organization = created["createOrganization"]["id"].clone();
    let create = |venues: serde_json::Value| {
        let input = json!({
            "organizationId": organization,
            "name": "Roaming parent and baby group",
            "description": "Meets in a different venue each week.",
            "levelOfNeed": "UNIVERSAL",
            "eligibility": {},
            "referral": { "selfReferral": true, "professionalReferral": false },
            "locations": venues,
        });
        let app = &app;
        let admin = &admin;
        async move {
            let created = app
                .data_as(
                    Some(admin),
                    "mutation($input: ServiceInput!) { createService(input: $input) { id } }",
                    json!({ "input": input }),
                )
                .await;
            Uuid::parse_str(created["createService"]["id"].as_str().expect("id")).expect("uuid")
        }
    };
    // Each listing's first venue has no position; its second (Penzance, Lerwick, Belfast or
    // Norwich) places it, and its third lies far from the second.
    let places = [
        ((50.1188, -5.5371), (57.1497, -2.0943)),
        ((60.1530, -1.1493), (50.3755, -4.1427)),
        ((54.5973, -5.9301), (51.4545, -2.5879)),
        ((52.6309, 1.2974), (55.9533, -3.1883)),
    ];
    let mut placed = Vec::new();
    for (second, third) in places {
        let id = create(json!([
            { "name": "To be confirmed" },
            { "name": "Second", "latitude": second.0, "longitude": second.1 },
            { "name": "Third", "latitude": third.0, "longitude": third.1 },
        ]))
        .await;
        placed.push((id, search::place_order(Some(second))));
    }
    let unplaced = create(json!([])).await;

    let ordered = signpost_api::indexing::places_in_order(&app.db)
        .await
        .expect("ids in place order");
    let mut all = signpost_api::store::openreferral::all_service_ids(&app.db)
        .await
        .expect("ids");
    let mut seen = ordered.clone();
    seen.sort_unstable();
    all.sort_unstable();
    assert_eq!(seen, all, "every service, once");
    let records = signpost_api::store::listing::load_many(
        &app.db,
        &ordered,
        signpost_api::store::listing::Parts {
            locations: true,
            ..signpost_api::store::listing::Parts::NONE
        },
    )
    .await
    .expect("listings");
    assert_eq!(
        records.iter().map(|r| r.service.id).collect::<Vec<_>>(),
        ordered
    );
    let orders: Vec<u64> = records.iter().map(first_place_order).collect();
    assert!(
        orders.windows(2).all(|pair| pair[0] <= pair[1]),
        "in place order: {orders:?}"
    );
    for (id, order) in placed {
        let at = ordered.iter().position(|o| *o == id).expect("listed");
        assert_eq!(
            orders[at], order,
            "placed by its first venue with a position"
        );
    }
    let at = ordered.iter().position(|o| *o == unplaced).expect("listed");
    assert_eq!(orders[at], u64::MAX, "a listing without a venue comes last");
    assert!(orders[at..].iter().all(|order| *order == u64::MAX));
}

/// A name word no other listing's name holds, and no stemmer shortens: three consonants after
/// "qz" (no vowel, so no suffix rule applies), one word for each `n` below 5,832.
fn consonant_word(n: usize) -> String {
    const LETTERS: &[u8] = b"bcdfghjkmnpqrtvwxz";
    let letter = |k: usize| char::from(LETTERS[k % LETTERS.len()]);
    let base = LETTERS.len();
    format!(
        "qz{}{}{}",
        letter(n / (base * base)),
        letter(n / base),
        letter(n)
    )
}

/// How many listings [`many_listings`] imports: a rebuild reads 500 at a time, two reads at
/// once, so these are two pairs of full chunks and a short last one.
const MANY: usize = 1_234;

/// The organisation that runs the `n`th of [`many_listings`]: one of seven.
fn organization_of(n: usize) -> String {
    format!("Trust {}", consonant_word(5_000 + n % 7))
}

/// The `n` of one of [`many_listings`] from its id.
fn listing_number(id: Uuid) -> usize {
    id.to_string()[24..]
        .parse()
        .expect("a listing of many_listings")
}

/// Imports [`MANY`] listings, each with a word of its own in its name ([`consonant_word`]),
/// one of seven organisations ([`organization_of`]) and a venue placed so that place order is
/// not id order; waits until the server has indexed them and returns their ids in place order
/// (the order a rebuild reads them in).
async fn many_listings(app: &TestApp) -> Vec<Uuid> {
    let id = |n: usize| format!("00000000-0000-4000-8000-{n:012}");
    let services: Vec<serde_json::Value> = (0..MANY)
        .map(|n| {
            let step = u32::try_from((n * 7_919) % 1_000).expect("small");
            let across = u32::try_from((n * 104_729) % 1_000).expect("small");
            json!({
                "id": id(n),
                "name": format!("Listing {}", consonant_word(n)),
                "description": "Perinatal mental health support for parents.",
                "status": "active",
                "organization": {
                    "id": id(900_000 + n % 7),
                    "name": organization_of(n),
                    "description": "A trust.",
                },
                "service_at_locations": [{
                    "id": id(100_000 + n),
                    "location": {
                        "id": id(200_000 + n),
                        "location_type": "physical",
                        "name": "Family hub",
                        "latitude": 50.0 + f64::from(step) / 250.0,
                        "longitude": -5.0 + f64::from(across) / 200.0,
                    },
                }],
            })
        })
        .collect();
    let report = signpost_api::hsds::import::import_document(
        &app.db,
        &signpost_api::hsds::import::Actor::system(),
        &serde_json::Value::Array(services),
        true,
    )
    .await
    .unwrap_or_else(|err| panic!("the import failed: {err}"));
    assert_eq!(report.imported, MANY, "{report:?}");
    app.indexer
        .wait_for(report.last_seq)
        .await
        .unwrap_or_else(|err| panic!("the index did not catch up: {err}"));
    let ordered = signpost_api::indexing::places_in_order(&app.db)
        .await
        .expect("ids in place order");
    let mut by_id = ordered.clone();
    by_id.sort_unstable();
    assert_ne!(ordered, by_id, "place order is not id order here");
    ordered
}

/// Checks that the server's index holds every one of [`many_listings`] (`ordered` as it gave
/// them), and that the first and last listing of every chunk a rebuild reads, and a spread of
/// others, are each found by their own word with their own organisation.
async fn every_chunk_is_indexed(app: &TestApp, ordered: &[Uuid]) {
    assert_eq!(
        indexed_active(app).await,
        u64::try_from(MANY).expect("small")
    );
    let mut sample: Vec<usize> = (0..MANY).step_by(53).collect();
    for start in (0..MANY).step_by(500) {
        sample.extend([start, (start + 499).min(MANY - 1)]);
    }
    for at in sample {
        let listing = ordered[at];
        let n = listing_number(listing);
        let word = consonant_word(n);
        let data = app
            .data(
                "query($text: String) { search(text: $text, first: 3) { edges { node { id name organization { name } } } } }",
                json!({ "text": word }),
            )
            .await;
        let top = &data["search"]["edges"][0]["node"];
        assert_eq!(top["id"], listing.to_string(), "{word}: {data}");
        assert_eq!(top["name"], format!("Listing {word}"), "{data}");
        assert_eq!(top["organization"]["name"], organization_of(n), "{data}");
    }
}

#[tokio::test]
async fn a_rebuild_of_many_chunks_indexes_every_listing_whole() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let ordered = many_listings(&app).await;
    let settings = app.settings();
    let app = app
        .restart_after(|_| {
            let count = reindex(settings).expect("reindex");
            assert_eq!(count, u64::try_from(MANY).expect("small"));
        })
        .await;
    every_chunk_is_indexed(&app, &ordered).await;
}

#[tokio::test]
async fn a_rebuild_whose_read_fails_leaves_the_index_as_it_was() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let ordered = many_listings(&app).await;
    // A listing of the third chunk whose row no longer reads back (a level of need that is
    // none of the known ones, written past the application): the rebuild fails there, with
    // the fourth chunk's read under way, and `signpost reindex` says so.
    let broken = ordered[1_100];
    let changed = service::Entity::update_many()
        .col_expr(
            service::Column::LevelOfNeed,
            sea_orm::sea_query::Expr::value("SEVERE"),
        )
        .filter(service::Column::Id.eq(broken))
        .exec(&app.db)
        .await
        .expect("update");
    assert_eq!(changed.rows_affected, 1);
    let settings = app.settings();
    let app = app
        .restart_after(|_| {
            let failed = reindex(settings).expect_err("a rebuild of an unreadable listing");
            println!("signpost reindex failed as expected: {failed:#}");
        })
        .await;
    // The index the server had is the one it starts with, whole.
    every_chunk_is_indexed(&app, &ordered).await;
}
