//! The saved index build (`directory::snapshot`): a server starts from it and the feed since
//! instead of reading the whole database, gets the same index, and never uses a file it cannot
//! trust.

use std::path::PathBuf;
use std::time::Duration;

use qiao_server::directory::Directory;
use qiao_server::directory::feed;
use qiao_server::directory::snapshot::SnapshotFile;
use qiao_tests::{TestApp, backends};
use sea_orm::DatabaseConnection;
use serde_json::json;

fn scratch_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("qiao-test-{}-{name}", uuid::Uuid::now_v7().simple()))
}

/// Renames a listing through the API, and waits until the feed's head (the safe horizon on
/// PostgreSQL, which other tests' transactions may hold back) has moved past it: a saved build is
/// anchored to a feed entry, and a freshly seeded database has none.
async fn write_a_listing(app: &TestApp, name: &str) -> String {
    let db = app.database().await;
    let before = feed::head(&db).await.expect("head");
    let admin = app.token_of("admin").await;
    let service = found(app, "法律援助中心").await[0].clone();
    let renamed = app
        .data_as(
            &admin,
            "mutation($id: ID!, $input: ServicePatchInput!) { updateService(id: $id, input: $input) { id } }",
            json!({ "id": service, "input": { "name": { "zh": name, "en": "Renamed for a saved build" } } }),
        )
        .await;
    assert_eq!(renamed["updateService"]["id"], service);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while feed::head(&db).await.expect("head") == before {
        assert!(tokio::time::Instant::now() < deadline, "the write reaches the feed's head");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service
}

/// Builds the index from the database, saving it to `file`; returns the build.
async fn build_and_save(db: &DatabaseConnection, file: &SnapshotFile) -> Directory {
    let head = feed::head(db).await.expect("head");
    let mut writer = file.writer(db, head).await.expect("a feed entry anchors a saved build");
    let directory = Directory::load_saving(db, Some(&mut writer)).await.expect("build");
    writer.finish().await;
    directory
}

#[tokio::test]
async fn a_saved_build_loads_the_same_index_as_the_database() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let db = app.database().await;
        let file = SnapshotFile::new(scratch_file("same"));
        let head = feed::head(&db).await.expect("head");
        assert!(file.writer(&db, head).await.is_none(), "an empty feed anchors nothing: not saved");
        write_a_listing(&app, "保存前改名中心").await;
        let built = build_and_save(&db, &file).await;
        assert!(!built.from_saved_build());
        let saved = file.usable(&db).await.expect("a fresh saved build is usable");
        assert_eq!(saved.cursor(), feed::head(&db).await.expect("head"));
        assert_eq!(saved.records(), built.service_count() as u64);
        let loaded = Directory::load_saved(&db, saved).await.expect("loads");
        assert!(loaded.from_saved_build());
        assert!(loaded.service_count() > 20, "the demo directory is there");
        assert_eq!(loaded.describe(), built.describe());
        assert_eq!(loaded.place_count(), built.place_count());
        for line in built.describe() {
            let id = line.split(' ').next().expect("an id");
            assert!(loaded.service(id).is_some(), "{id}");
        }
        std::fs::remove_file(file.path()).ok();
        app.finish().await;
    }
}

#[tokio::test]
async fn a_saved_build_that_cannot_be_trusted_is_not_used() {
    for backend in backends() {
        let app = TestApp::spawn(backend.clone()).await;
        let db = app.database().await;
        let path = scratch_file("trust");
        let file = SnapshotFile::new(&path);
        assert!(file.usable(&db).await.is_none(), "no file yet");
        write_a_listing(&app, "保存前改名中心").await;
        build_and_save(&db, &file).await;
        let good = std::fs::read(&path).expect("saved");

        // Damaged inside a frame: the header reads, the frame's checksum does not hold.
        let mut damaged = good.clone();
        let last = damaged.len() - 10;
        damaged[last] ^= 0x5a;
        std::fs::write(&path, &damaged).expect("write");
        let saved = file.usable(&db).await.expect("the header is intact");
        let error = Directory::load_saved(&db, saved).await.expect_err("a damaged frame is refused");
        assert!(error.to_string().contains("damaged"), "{error}");

        // Cut short: fewer frames than the header says.
        std::fs::write(&path, &good[..good.len() - 100]).expect("write");
        // (The header may still read; the build then finds the frames missing.)
        if let Some(saved) = file.usable(&db).await {
            assert!(Directory::load_saved(&db, saved).await.is_err(), "a short file is refused");
        }
        // Not a saved build at all.
        std::fs::write(&path, b"not an index").expect("write");
        assert!(file.usable(&db).await.is_none());

        // Another database (same schema, same demo data, its own feed).
        std::fs::write(&path, &good).expect("write");
        assert!(file.usable(&db).await.is_some(), "restored");
        let other = TestApp::spawn(backend.clone()).await;
        assert!(file.usable(&other.database().await).await.is_none(), "another database's build");
        other.finish().await;

        // The whole directory changed since (an import or a seed).
        qiao_server::kernel::publish_bulk_load(&db, "test-load", chrono::Utc::now()).await.expect("publish");
        assert!(file.usable(&db).await.is_none(), "overtaken by a whole-directory change");

        std::fs::remove_file(&path).ok();
        app.finish().await;
    }
}

const SEARCH: &str = r#"query($text: String!) { nearbyServices(near: { lat: 31.105, lon: 121.355 }, radiusMeters: 50000, text: $text) {
    edges { node { id } } } }"#;

async fn found(app: &TestApp, text: &str) -> Vec<String> {
    let data = app.data(SEARCH, json!({ "text": text })).await;
    data["nearbyServices"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|edge| edge["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn from_saved_build(app: &TestApp) -> bool {
    let text = app.http().get(app.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines().any(|line| line == "qiao_index_from_saved_build 1")
}

/// What was written after the build was saved is in the index of a server that starts from it.
#[tokio::test]
async fn a_server_started_from_a_saved_build_has_every_change_made_since() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let path = scratch_file("server");
        let setting = [("QIAO_INDEX_SNAPSHOT", path.to_str().expect("a UTF-8 path"))];
        write_a_listing(&app, "保存前改名中心").await;
        let first = app.spawn_replica(&setting).await;
        assert!(!from_saved_build(&first).await, "the first start reads the database");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !path.exists() {
            assert!(tokio::time::Instant::now() < deadline, "the build is saved");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        first.finish().await;

        let admin = app.token_of("admin").await;
        let renamed = write_a_listing(&app, "快照之后改名中心").await;
        let archived = found(&app, "图书馆").await[0].clone();
        let archive = app
            .graphql_as(&admin, "mutation($id: ID!) { archiveService(id: $id) { id } }", json!({ "id": archived }))
            .await;
        assert!(archive.get("errors").is_none(), "{archive}");

        let second = app.spawn_replica(&setting).await;
        assert!(from_saved_build(&second).await, "the second start reads the saved build");
        assert_eq!(found(&second, "快照之后改名").await, vec![renamed.clone()], "the rename made since");
        assert!(!found(&second, "图书馆").await.contains(&archived), "the archive made since");
        for text in ["法律援助中心", "图书馆", "学校"] {
            assert_eq!(found(&second, text).await, found(&app, text).await, "{text}");
        }
        second.finish().await;
        std::fs::remove_file(&path).ok();
        app.finish().await;
    }
}
