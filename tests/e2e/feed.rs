//! The change feed and the index that follows it: commit-order-safe tailing under concurrent
//! writers, feed-patched index equal to a rebuilt one, and replicas that follow one database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use qiao_server::DirectoryHandle;
use qiao_server::directory::Directory;
use qiao_server::directory::feed::{self, FeedError};
use qiao_server::kernel::{Db, Store};
use qiao_tests::{Backend, TestApp, backends};
use sea_orm::DatabaseConnection;

async fn store_of(db: &DatabaseConnection) -> Store {
    let directory = Arc::new(DirectoryHandle::new(Directory::load(db).await.expect("index")));
    Store::new(db.clone(), directory)
}

/// Reads the feed from `cursor` until at least `wanted` entries came (within 20 s: the horizon is
/// the whole PostgreSQL cluster's, and other tests' transactions may hold it back for a while).
async fn drain_at_least(db: &DatabaseConnection, cursor: i64, wanted: usize) -> (Vec<String>, i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (mut seen, mut cursor) = drain(db, cursor).await;
    while seen.len() < wanted && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (more, next) = drain(db, cursor).await;
        seen.extend(more);
        cursor = next;
    }
    (seen, cursor)
}

/// Reads the feed from `cursor` to the safe horizon; returns the service ids and the new cursor.
async fn drain(db: &DatabaseConnection, mut cursor: i64) -> (Vec<String>, i64) {
    let mut seen = Vec::new();
    loop {
        let (entries, next) = feed::entries_since(db, cursor, 7).await.expect("feed reads");
        if entries.is_empty() {
            return (seen, cursor);
        }
        seen.extend(entries.into_iter().filter_map(|entry| entry.service_id));
        cursor = next;
    }
}

#[tokio::test]
async fn a_reader_never_skips_a_change_that_commits_after_a_later_one() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, false).await;
        let writes = app.database().await;
        let store = store_of(&writes).await;
        let db = app.database().await; // the reader's own pool (SQLite's pool is one connection)
        let now = chrono::Utc::now();
        let start = feed::head(&db).await.expect("head");

        // The older transaction writes first (smaller id) and commits last.
        let older = store.begin().await.expect("begin");
        older.publish("service", "late", "update", now).await.expect("publish");
        let (before, cursor) = drain(&db, start).await;
        assert!(before.is_empty(), "nothing is committed yet: {before:?}");
        let newer = if matches!(app.backend, qiao_tests::Backend::Postgres(_)) {
            // On PostgreSQL the newer writer commits first, while the older is still running.
            let newer = store.begin().await.expect("begin");
            newer.publish("service", "early", "update", now).await.expect("publish");
            newer.commit().await.expect("commit");
            let (seen, after) = drain(&db, cursor).await;
            assert!(seen.is_empty(), "the early commit waits behind the running older writer: {seen:?}");
            assert_eq!(after, cursor);
            true
        } else {
            false // SQLite: the second writer would wait for the first one's lock
        };
        older.commit().await.expect("commit");
        let (seen, _) = drain_at_least(&db, cursor, if newer { 2 } else { 1 }).await;
        let expected: Vec<String> = if newer { vec!["late".into(), "early".into()] } else { vec!["late".into()] };
        assert_eq!(seen, expected, "both, in (transaction, id) order");
        db.close().await.ok();
        writes.close().await.ok();
        app.finish().await;
    }
}

#[tokio::test]
async fn a_tailing_reader_sees_every_committed_change_of_concurrent_writers_exactly_once() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, false).await;
        let writes = app.database().await;
        let store = store_of(&writes).await;
        let db = app.database().await;
        let start = feed::head(&db).await.expect("head");

        // Writers with random pauses between their writes and their commit; every fifth rolls back.
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for writer in 0..8u64 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let mut committed = Vec::new();
                for round in 0..6u64 {
                    let txn = store.begin().await.expect("begin");
                    let mut ids = Vec::new();
                    for k in 0..3u64 {
                        let id = format!("w{writer}-r{round}-k{k}");
                        txn.publish("service", &id, "update", chrono::Utc::now()).await.expect("publish");
                        ids.push(id);
                        tokio::time::sleep(Duration::from_millis((writer * 7 + round * 3 + k) % 5)).await;
                    }
                    if (writer + round) % 5 == 0 {
                        txn.rollback().await.expect("rollback");
                    } else {
                        txn.commit().await.expect("commit");
                        committed.extend(ids);
                    }
                }
                committed
            }));
        }
        // The reader tails while they write.
        let reader = {
            let db = db.clone();
            let done = done.clone();
            tokio::spawn(async move {
                let (mut seen, mut cursor) = (Vec::new(), start);
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let (more, next) = drain(&db, cursor).await;
                    seen.extend(more);
                    cursor = next;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                (seen, cursor)
            })
        };
        let mut committed = BTreeSet::new();
        for writer in writers {
            committed.extend(writer.await.expect("writer"));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let (mut seen, cursor) = reader.await.expect("reader");
        // Everything has committed: the rest arrives once the horizon passes it.
        seen.extend(drain_at_least(&db, cursor, committed.len() - seen.len().min(committed.len())).await.0);
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no change is read twice");
        assert_eq!(unique, committed, "every committed change is read, no rolled-back one ({:?})", app.backend);
        db.close().await.ok();
        writes.close().await.ok();
        app.finish().await;
    }
}

#[tokio::test]
async fn an_unknown_cursor_is_refused() {
    for backend in backends() {
        let app = TestApp::spawn_with(backend, false).await;
        let db = app.database().await;
        assert!(matches!(feed::entries_since(&db, 987_654_321, 10).await, Err(FeedError::UnknownCursor)));
        assert!(feed::entries_since(&db, 0, 10).await.is_ok(), "0 is before the first entry");
        db.close().await.ok();
        app.finish().await;
    }
}

/// A small deterministic generator (no dependency needed for a few hundred choices).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// What an index answers, by ids: every service it holds, and a set of searches.
fn answers(directory: &Directory) -> Vec<String> {
    use qiao_server::directory::search::NearbyQuery;
    let mut out = directory.describe();
    let (lat, lon) = qiao_tests::T_VILLAGE;
    for text in
        [None, Some("法律"), Some("图书"), Some("legal"), Some("lib"), Some("改名"), Some("renamed"), Some("中心")]
    {
        for categories in [None, directory.taxonomy.by_code("LEGAL_AID").map(|t| directory.expand_categories(&[t]))] {
            let result = directory.nearby(&NearbyQuery {
                centre: qiao_schema::datum::LatLon::new(lat, lon),
                radius_m: 50_000.0,
                categories: categories.clone(),
                text: text.map(str::to_owned),
                open_now: false,
                languages: Vec::new(),
                free_only: false,
                eligible_without_local_hukou: false,
                situation: None,
                first: 100,
                after: None,
                now: qiao_tests::china_time(2026, 11, 25, 10, 0),
            });
            let hits: Vec<String> = result
                .hits
                .iter()
                .map(|hit| {
                    format!(
                        "{} {}",
                        directory.services[directory.places[hit.place as usize].service as usize].id,
                        hit.cursor.place_id
                    )
                })
                .collect();
            let areas: Vec<String> =
                result.area_services.iter().map(|s| directory.services[*s as usize].id.to_string()).collect();
            out.push(format!(
                "{text:?} {:?}: {hits:?} areas {areas:?} beyond {:?}",
                categories.is_some(),
                result.nearest_beyond_radius_m
            ));
        }
    }
    out
}

#[tokio::test]
async fn an_index_read_in_many_chunks_side_by_side_equals_one_read_at_once() {
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let db = app.database().await;
        let whole = Directory::load_in_chunks(&db, 1_000_000).await.expect("one chunk");
        // The demo directory's services in chunks of 1, 2 and 7, read by two readers at once.
        for chunk in [1, 2, 7] {
            let chunked = Directory::load_in_chunks(&db, chunk).await.expect("many chunks");
            assert_eq!(chunked.describe(), whole.describe(), "chunks of {chunk}");
            assert_eq!(chunked.service_count(), whole.service_count());
        }
        assert!(whole.service_count() > 20, "the demo directory is there");
        // Every service is found by its id (the base is looked up by binary search).
        for line in whole.describe() {
            let id = line.split(' ').next().expect("an id");
            assert!(whole.service(id).is_some_and(|entry| entry.id.is(id)), "{id}");
        }
        assert!(whole.service("00000000-0000-0000-0000-000000000000").is_none());
        assert!(whole.service("not an id").is_none());
    }
}

/// A full build on an SQLite file reads through rusqlite (`directory::records::SqliteFile`), a
/// patch through sea-orm: both must read every record alike, every table and column of it. A
/// full build also reads by ranges of service ids, finding their organisations once and their
/// places by subquery, where a patch names its services' ids: on either database both ways must
/// read the same records.
#[tokio::test]
async fn the_sqlite_file_reader_reads_every_record_exactly_as_sea_orm_does() {
    use qiao_server::directory::records::{BuildReader, read_every_listed_record, read_service_records};

    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let db = app.database().await;
        // An archived organisation and an archived location, which both ways must leave out.
        {
            use sea_orm::ConnectionTrait;
            for archive in [
                "UPDATE organization SET archived_at = CURRENT_TIMESTAMP \
                 WHERE id = (SELECT organization_id FROM service WHERE status = 'active' ORDER BY id LIMIT 1)",
                "UPDATE location SET archived_at = CURRENT_TIMESTAMP \
                 WHERE id = (SELECT location_id FROM service_at_location ORDER BY service_id DESC LIMIT 1)",
            ] {
                db.execute_unprepared(archive).await.expect("archived");
            }
        }
        let by_orm = read_every_listed_record(&db, 7, BuildReader::Orm).await.expect("sea-orm reads");
        let ids: Vec<String> = serde_json::to_value(&by_orm)
            .expect("records serialise")
            .as_array()
            .expect("a list")
            .iter()
            .map(|record| record["service"]["id"].as_str().expect("a service id").to_owned())
            .collect();
        let by_ids = read_service_records(&db, &ids).await.expect("a patch's read");
        assert_eq!(by_ids, by_orm, "by ids and by ranges of ids ({:?})", app.backend);
        let as_json = serde_json::to_value(&by_orm).expect("records serialise");
        assert!(
            as_json.as_array().expect("a list").iter().any(|r| r["organization"].is_null()),
            "the archived organisation is left out"
        );
        if !matches!(app.backend, Backend::Sqlite) {
            let refused = read_every_listed_record(&db, 7, BuildReader::SqliteFile).await;
            assert!(refused.is_err(), "only an SQLite file is read directly");
            continue;
        }
        // Chunks of 7 and of all at once: the range statements and their cached forms alike.
        for chunk in [7, 1_000_000] {
            let by_file = read_every_listed_record(&db, chunk, BuildReader::SqliteFile).await.expect("the file reads");
            assert_eq!(by_file, by_orm, "chunks of {chunk}");
        }
        // The demo directory exercises every part of a record (so no column is compared only
        // while empty): each list somewhere non-empty, each optional somewhere set.
        let records = serde_json::to_value(&by_orm).expect("records serialise");
        let records = records.as_array().expect("a list");
        assert!(records.len() > 20, "the demo directory is there");
        for part in ["extra_terms", "languages", "costs", "requirements", "schedules", "exceptions", "places", "areas"]
        {
            let filled = records.iter().any(|r| r[part].as_array().is_some_and(|list| !list.is_empty()));
            assert!(filled, "some record has {part}");
        }
        for part in ["organization", "capacity"] {
            assert!(records.iter().any(|r| !r[part].is_null()), "some record has {part}");
        }
        let places = records.iter().flat_map(|r| r["places"].as_array().into_iter().flatten());
        assert!(places.clone().any(|p| !p[2].is_null()), "some place has an address");
        assert!(places.clone().any(|p| !p[1]["latitude"].is_null()), "some place has a point");
        db.close().await.ok();
        app.finish().await;
    }
}

/// A full build on SQLite reads the service table and the tables with a row or so per service
/// through indexes that hold every column it reads, in the order it asks for (migration m0009):
/// through an index on the owner alone every row is a seek into the table, and at a million
/// services with random ids that was most of a first start (docs/BENCHMARKS.md). A column added
/// to one of these reads, or another order, would quietly undo it; this says which.
#[tokio::test]
async fn a_full_build_reads_its_big_tables_through_covering_indexes_without_sorting() {
    use qiao_server::directory::records::build_query_plans;

    let app = TestApp::spawn(Backend::Sqlite).await;
    let db = app.database().await;
    let plans = build_query_plans(&db, 7).await.expect("the build's statements are explained");
    // The statement that reads `table` (its first FROM; a subquery may name others).
    let read_of = |table: &str| {
        let from = format!(" FROM \"{table}\"");
        plans
            .iter()
            .find(|p| p.sql.find(" FROM ").is_some_and(|at| p.sql[at..].starts_with(&from)))
            .unwrap_or_else(|| panic!("the build reads {table}"))
    };
    for table in ["service", "service_at_location", "language", "cost_option", "eligibility_requirement", "schedule"] {
        let read = read_of(table);
        let plan = read.plan.join(" / ");
        assert!(
            plan.contains(&format!("SEARCH {table} USING COVERING INDEX ix_{table}_build")),
            "{table} is read through its covering index, not: {plan}\n{}",
            read.sql
        );
        assert!(!plan.contains("TEMP B-TREE"), "{table} is read in the index's order, not sorted: {plan}");
    }
    // The places of a range of services are looked up by id through the links the range owns
    // (a subquery on the links' index), never by a scan of a table of a million rows.
    for table in ["location", "address"] {
        let read = read_of(table);
        let plan = read.plan.join(" / ");
        assert!(plan.contains(&format!("SEARCH {table} USING INDEX")), "{table} is looked up by id: {plan}");
        assert!(
            plan.contains("SEARCH service_at_location USING COVERING INDEX"),
            "{table}'s ids come from the range's links: {plan}\n{}",
            read.sql
        );
        assert!(!plan.contains("SCAN "), "nothing is scanned to find {table}: {plan}");
    }
    db.close().await.ok();
    app.finish().await;
}

#[tokio::test]
async fn a_feed_patched_index_answers_exactly_like_a_rebuilt_one_after_random_edits() {
    use qiao_schema::entity::{location, organization, service};
    use sea_orm::EntityTrait;
    use serde_json::json;

    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let db = app.database().await;
        let cursor = feed::head(&db).await.expect("head");
        let follower = Arc::new(DirectoryHandle::at(Directory::load(&db).await.expect("index"), cursor));
        let admin = app.token_of("admin").await;
        let mut random = Lcg(9);
        let categories = ["LEGAL_AID", "LIBRARY", "SCHOOL", "LABOUR_DISPUTE", "HEALTH"];
        let mut applied = 0;
        for round in 0..60 {
            let services = service::Entity::find().all(&db).await.expect("services");
            let locations = location::Entity::find().all(&db).await.expect("locations");
            let organizations = organization::Entity::find().all(&db).await.expect("organizations");
            let service = &services[random.below(services.len())].id;
            let location = &locations[random.below(locations.len())];
            let (query, variables) = match random.below(9) {
                0 | 1 => (
                    "mutation($id: ID!, $input: ServicePatchInput!) { updateService(id: $id, input: $input) { id } }",
                    json!({ "id": service, "input": { "name": { "zh": format!("改名服务{round}"), "en": format!("Renamed service {round}") } } }),
                ),
                2 => (
                    "mutation($id: ID!, $input: ServicePatchInput!) { updateService(id: $id, input: $input) { id } }",
                    json!({ "id": service, "input": { "category": categories[random.below(categories.len())] } }),
                ),
                3 => ("mutation($id: ID!) { archiveService(id: $id) { id } }", json!({ "id": service })),
                4 => (
                    "mutation($id: ID!, $reason: TextInput!) { closeServiceTemporarily(id: $id, reason: $reason) { id } }",
                    json!({ "id": service, "reason": { "zh": "装修", "en": "Renovation" } }),
                ),
                5 => (
                    "mutation($id: ID!, $input: LocationPatchInput!) { updateLocation(id: $id, input: $input) { id } }",
                    json!({ "id": location.id, "input": { "point": {
                        "lat": 31.0 + random.below(400) as f64 / 1000.0, "lon": 121.2 + random.below(400) as f64 / 1000.0 } } }),
                ),
                6 if round % 4 == 0 => {
                    ("mutation($id: ID!) { archiveLocation(id: $id) { id } }", json!({ "id": location.id }))
                }
                7 => (
                    "mutation($id: ID!, $input: OrganizationPatchInput!) { updateOrganization(id: $id, input: $input) { id } }",
                    json!({ "id": organizations[random.below(organizations.len())].id,
                            "input": { "name": { "zh": format!("改名机构{round}"), "en": format!("Renamed organisation {round}") } } }),
                ),
                _ => (
                    "mutation($org: ID!, $input: ServiceInput!) { createService(organizationId: $org, input: $input) { id } }",
                    json!({ "org": location.organization_id, "input": {
                        "name": { "zh": format!("新图书室{round}"), "en": format!("New library {round}") },
                        "description": { "zh": "测试", "en": "Test" },
                        "category": categories[random.below(categories.len())],
                        "locationIds": [location.id], "languages": ["zh"],
                        "costs": [{ "option": { "zh": "免费", "en": "Free" }, "amountYuan": 0 }] } }),
                ),
            };
            let response = app.graphql_as(&admin, query, variables).await;
            if response.get("errors").is_none() {
                applied += 1;
            }
            // Follow the feed every few edits, as a replica would.
            if round % 5 == 4 {
                follower.follow_feed(&db).await.expect("follow the feed");
            }
        }
        assert!(applied >= 30, "most random edits apply ({applied} of 60)");
        let rebuilt = Directory::load(&db).await.expect("rebuild");
        // The feed is read below the safe horizon: on PostgreSQL other tests' transactions may hold
        // it back for a moment.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            follower.follow_feed(&db).await.expect("follow the feed");
            let (patched, fresh) = (answers(&follower.current()), answers(&rebuilt));
            if patched == fresh {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                let differing: Vec<_> = patched.iter().zip(&fresh).filter(|(a, b)| a != b).take(3).collect();
                panic!("patched and rebuilt indexes differ ({:?}): {differing:#?}", app.backend);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        db.close().await.ok();
        app.finish().await;
    }
}

#[tokio::test]
async fn a_listing_changed_through_one_server_is_found_on_another_within_two_seconds() {
    use serde_json::json;

    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let replica = app.spawn_replica(&[]).await;
        let admin = app.token_of("admin").await;
        let search = r#"query($text: String!) { nearbyServices(near: { lat: 31.105, lon: 121.355 }, radiusMeters: 50000, text: $text) {
            edges { node { id } } } }"#;
        let found = replica.data(search, json!({ "text": "法律援助中心" })).await;
        let service =
            found["nearbyServices"]["edges"][0]["node"]["id"].as_str().expect("a legal aid service").to_owned();

        let renamed = app
            .data_as(
                &admin,
                "mutation($id: ID!, $input: ServicePatchInput!) { updateService(id: $id, input: $input) { id } }",
                json!({ "id": service, "input": { "name": { "zh": "桥头复制测试中心", "en": "Replica probe centre" } } }),
            )
            .await;
        assert_eq!(renamed["updateService"]["id"], service);
        let written = tokio::time::Instant::now();
        // The writing server answers with the change already searchable.
        let here = app.data(search, json!({ "text": "复制测试" })).await;
        assert_eq!(here["nearbyServices"]["edges"][0]["node"]["id"], service, "searchable at once where written");
        loop {
            let there = replica.data(search, json!({ "text": "复制测试" })).await;
            if there["nearbyServices"]["edges"][0]["node"]["id"] == service {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(2),
                "the replica finds the change within 2 s ({:?})",
                app.backend
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        replica.finish().await;
        app.finish().await;
    }
}
