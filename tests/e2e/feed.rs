//! The change feed and the index that follows it: commit-order-safe tailing under concurrent
//! writers, feed-patched index equal to a rebuilt one, and replicas that follow one database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use qiao_server::DirectoryHandle;
use qiao_server::directory::Directory;
use qiao_server::directory::feed::{self, FeedError};
use qiao_server::kernel::{Db, Store};
use qiao_tests::{TestApp, backends};
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
