//! A damaged search index heals: on start the server moves an index it cannot read in full
//! aside and rebuilds it from the database, and `signpost reindex` works whatever state the
//! old index is in. Nothing is lost and nothing is served wrong.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use signpost_api::INDEX_DIR;
use tests::{TestApp, signpost_command};

/// Searches whose results are compared before the damage and after the repair.
const QUERIES: [Option<&str>; 5] = [
    None,
    Some("postnatal depression"),
    Some("dad"),
    Some("baby"),
    Some("anxiety pregnancy"),
];

/// Each query's total and the ids it finds (sorted: a rebuilt index may break score ties in
/// another order).
async fn results(app: &TestApp) -> Vec<(Option<&'static str>, u64, Vec<String>)> {
    let mut out = Vec::new();
    for text in QUERIES {
        let data = app
            .data(
                "query($t: String) { search(text: $t, first: 100) { totalCount edges { node { id } } } }",
                json!({ "t": text }),
            )
            .await;
        let mut ids: Vec<String> = data["search"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
            .collect();
        ids.sort();
        let total = data["search"]["totalCount"]
            .as_u64()
            .unwrap_or_else(|| panic!("no totalCount in {data}"));
        out.push((text, total, ids));
    }
    assert!(
        out.iter()
            .all(|(_, total, ids)| *total > 0 && !ids.is_empty()),
        "every query finds something in the demo directory: {out:?}"
    );
    out
}

/// Waits until `/readyz` answers 200 with the index current.
async fn assert_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("json");
        if status == 200 && body["index"] == "current" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not ready after 10 s: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The index's segment files with extension `ext`, largest first.
fn segment_files(index: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(index)
        .expect("the index directory")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .map(|path| (std::fs::metadata(&path).expect("metadata").len(), path))
        .collect();
    files.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
    assert!(
        !files.is_empty(),
        "no .{ext} segment file in {}",
        index.display()
    );
    files.into_iter().map(|(_, path)| path).collect()
}

/// Cuts the largest document store file to half its length.
fn truncate_a_segment_file(index: &Path) {
    let file = &segment_files(index, "store")[0];
    let len = std::fs::metadata(file).expect("metadata").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(file)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate");
}

/// Deletes the largest term dictionary file.
fn delete_a_segment_file(index: &Path) {
    std::fs::remove_file(&segment_files(index, "term")[0]).expect("delete");
}

/// Overwrites `meta.json` with bytes that are not JSON.
fn damage_meta_json(index: &Path) {
    let meta = index.join("meta.json");
    assert!(meta.exists(), "no meta.json in {}", index.display());
    std::fs::write(&meta, [0xde, 0xad, 0xbe, 0xef, b'{', 0, 0xff]).expect("damage");
}

fn damaged_copies(data_dir: &Path) -> Vec<PathBuf> {
    search::dir::damaged_copies(&data_dir.join(INDEX_DIR)).expect("list the damaged copies")
}

/// Damages the index while no server runs, restarts, and checks that the server heals it:
/// ready, the same results as before, and the damaged index kept aside.
async fn heals_after(damage: fn(&Path)) {
    let app = TestApp::spawn().await;
    let before = results(&app).await;
    let app = app
        .restart_after(|dir| {
            damage(&dir.join(INDEX_DIR));
        })
        .await;
    assert_ready(&app).await;
    assert_eq!(results(&app).await, before);
    let copies = damaged_copies(app.data_dir.path());
    assert_eq!(copies.len(), 1, "one damaged copy kept: {copies:?}");
    assert!(
        copies[0].join("meta.json").exists(),
        "the damaged copy keeps its files for inspection"
    );
}

#[tokio::test]
async fn a_truncated_segment_file_is_set_aside_and_rebuilt_on_start() {
    heals_after(truncate_a_segment_file).await;
}

#[tokio::test]
async fn a_deleted_segment_file_is_set_aside_and_rebuilt_on_start() {
    heals_after(delete_a_segment_file).await;
}

#[tokio::test]
async fn a_damaged_meta_json_is_set_aside_and_rebuilt_on_start() {
    heals_after(damage_meta_json).await;
}

#[tokio::test]
async fn damaged_copies_are_pruned_to_the_newest_few() {
    let mut app = TestApp::spawn().await;
    for round in 0..search::dir::KEEP_DAMAGED + 2 {
        app = app
            .restart_after(|dir| {
                if round % 2 == 0 {
                    truncate_a_segment_file(&dir.join(INDEX_DIR));
                } else {
                    damage_meta_json(&dir.join(INDEX_DIR));
                }
            })
            .await;
        let copies = damaged_copies(app.data_dir.path());
        assert_eq!(
            copies.len(),
            (round + 1).min(search::dir::KEEP_DAMAGED),
            "after {} damaged starts: {copies:?}",
            round + 1
        );
    }
    assert_ready(&app).await;
}

#[tokio::test]
async fn an_edit_made_before_the_damage_is_found_after_the_rebuild() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let organization = app
        .data(
            "{ organizations(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await["organizations"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("an organisation")
        .to_owned();
    let created = app
        .data_as(
            Some(&admin),
            "mutation($input: ServiceInput!) { createService(input: $input) { id } }",
            json!({ "input": {
                "organizationId": organization,
                "name": "Narwhal nurture circle",
                "description": "A weekly circle for new parents.",
                "levelOfNeed": "UNIVERSAL",
                "eligibility": { "fromPregnancy": true },
                "referral": { "selfReferral": true, "professionalReferral": true }
            } }),
        )
        .await["createService"]["id"]
        .as_str()
        .expect("the new service's id")
        .to_owned();
    assert!(
        app_search(&app, "narwhal").await.contains(&created),
        "searchable when the mutation returns"
    );
    let before = results(&app).await;

    let app = app
        .restart_after(|dir| {
            let index = dir.join(INDEX_DIR);
            delete_a_segment_file(&index);
            truncate_a_segment_file(&index);
        })
        .await;
    assert_ready(&app).await;
    assert!(
        app_search(&app, "narwhal").await.contains(&created),
        "the edit is found after the rebuild"
    );
    assert_eq!(results(&app).await, before);
    assert_eq!(damaged_copies(app.data_dir.path()).len(), 1);
}

/// The ids a free-text search finds.
async fn app_search(app: &TestApp, text: &str) -> Vec<String> {
    let data = app
        .data(
            "query($t: String) { search(text: $t, first: 100) { edges { node { id } } } }",
            json!({ "t": text }),
        )
        .await;
    data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
        .collect()
}

/// Runs `signpost reindex` on `settings` and returns (success, stdout, stderr).
fn reindex_command(settings: &signpost_api::config::Settings) -> (bool, String, String) {
    let output = signpost_command(settings)
        .arg("reindex")
        .output()
        .expect("signpost reindex runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn reindex_replaces_a_damaged_or_missing_index() {
    let app = TestApp::spawn().await;
    let before = results(&app).await;
    let settings = app.settings();
    let app = app
        .restart_after(|dir| {
            let index = dir.join(INDEX_DIR);
            truncate_a_segment_file(&index);
            delete_a_segment_file(&index);
            let (ok, stdout, stderr) = reindex_command(&settings);
            assert!(ok, "reindex of a damaged index failed\n{stdout}\n{stderr}");
            assert!(stdout.starts_with("indexed "), "{stdout}");
            assert_eq!(
                damaged_copies(dir).len(),
                1,
                "the damaged index is kept aside"
            );
            assert!(
                !search::dir::building_dir(&index)
                    .expect("the build directory")
                    .exists(),
                "nothing is left of the build"
            );

            std::fs::remove_dir_all(&index).expect("delete the index");
            let (ok, stdout, stderr) = reindex_command(&settings);
            assert!(ok, "reindex without an index failed\n{stdout}\n{stderr}");
            assert!(index.join("meta.json").exists());
        })
        .await;
    assert_ready(&app).await;
    assert_eq!(results(&app).await, before);
    assert_eq!(
        damaged_copies(app.data_dir.path()).len(),
        1,
        "the server found the reindexed index whole"
    );
}

#[tokio::test]
async fn reindex_refuses_while_a_server_holds_the_index() {
    let app = TestApp::spawn().await;
    let before = results(&app).await;
    let settings = app.settings();
    let (ok, stdout, stderr) = tokio::task::spawn_blocking(move || reindex_command(&settings))
        .await
        .expect("the command's task");
    assert!(!ok, "reindex ran beside a server\n{stdout}\n{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(damaged_copies(app.data_dir.path()).is_empty());
    assert_eq!(results(&app).await, before);
    // The server's index was left alone: it starts again without a rebuild.
    let app = app.restart().await;
    assert_eq!(results(&app).await, before);
    assert!(damaged_copies(app.data_dir.path()).is_empty());
}
