//! The directory's change feed: the `directory_change` table, read in an order that no late
//! commit can slip behind.
//!
//! Every write of a listing publishes, in its own transaction, one row per service whose public
//! listing it may change (`service_id`), or one row without a service when the whole directory
//! may have changed (an HSDS import). A reader keeps a *cursor* (the id of the last row it has
//! applied) and asks for what came after it ([`entries_since`]). An entry says only *which*
//! service to look at again: a reader loads that service's current state, so applying an entry
//! twice, or an older entry after a newer one, leaves the same result.
//!
//! ## Commit order
//!
//! On SQLite writers commit one at a time (each write transaction holds the database's write lock
//! from its first statement), so ids are given out in commit order and "every row with an id above
//! the cursor" never misses one.
//!
//! On PostgreSQL ids come from a sequence when a row is *inserted*, and transactions commit in
//! any order: row 11 may be visible while row 10's transaction is still running, and a reader that
//! moved its cursor to 11 would skip 10 for ever. So each row also records its writer's
//! transaction id (`txid`, a database default), and readers read in `(txid, id)` order, and only
//! rows whose `txid` lies below the **safe horizon**: the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`). Every transaction below the horizon has finished,
//! so the rows below it are final: none can appear later with a smaller `(txid, id)` than a row
//! already read. The price is latency, not correctness: a long-running writer (a large import)
//! holds the horizon back, and other writers' rows wait until it ends. The server that made a
//! write does not wait for the horizon: it patches its own index with the services it changed
//! right after the commit (see `super::handle`), and the feed brings them again later, which is
//! harmless.
//!
//! A cursor is a row id (`0`: before the first row). On PostgreSQL the row it names must still
//! exist (its `txid` places it); a cursor that names no row is [`FeedError::UnknownCursor`].

use std::collections::BTreeSet;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, Value};

use crate::clock::Clock;

/// The PostgreSQL notification channel a committed write wakes the other replicas on.
pub const CHANNEL: &str = "qiao_directory_feed";

/// One change: the service to look at again, or the whole directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// This entry's position; pass it as the cursor to read what comes after.
    pub cursor: i64,
    /// `None`: the whole directory may have changed (reload everything; a phone takes a new
    /// snapshot).
    pub service_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// The cursor names no row of this feed (another database's, or made up).
    #[error("unknown feed cursor")]
    UnknownCursor,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What a set of feed entries (or one transaction's writes) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub services: BTreeSet<String>,
    /// The whole directory may have changed.
    pub everything: bool,
}

impl Changed {
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && !self.everything
    }

    pub fn add(&mut self, services: Option<&[String]>) {
        match services {
            Some(services) => self.services.extend(services.iter().cloned()),
            None => self.everything = true,
        }
    }

    pub fn merge(&mut self, other: Changed) {
        self.services.extend(other.services);
        self.everything |= other.everything;
    }

    pub fn of_entries<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Self {
        let mut changed = Self::default();
        for entry in entries {
            match &entry.service_id {
                Some(id) => {
                    changed.services.insert(id.clone());
                }
                None => changed.everything = true,
            }
        }
        changed
    }
}

/// The services whose public listing a change of `resource_type` / `resource_id` may affect, read
/// in the writer's transaction; `None` when it may affect the whole directory (a kind of record
/// this function does not know: the safe answer).
pub async fn affected_services(
    db: &impl ConnectionTrait,
    resource_type: &str,
    resource_id: &str,
) -> Result<Option<Vec<String>>, DbErr> {
    let sql = match resource_type {
        "service" => return Ok(Some(vec![resource_id.to_owned()])),
        // An organisation's names are searchable and its status lists or hides its services.
        "organization" => "SELECT id FROM service WHERE organization_id = $1",
        // A location is where its services are found, and its status lists or hides them there.
        "location" => "SELECT DISTINCT service_id FROM service_at_location WHERE location_id = $1",
        "service_capacity" => "SELECT service_id FROM service_capacity WHERE id = $1",
        _ => return Ok(None),
    };
    let backend = db.get_database_backend();
    let sql = if backend == DbBackend::Sqlite { sql.replace("$1", "?") } else { sql.to_owned() };
    let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, [Value::from(resource_id)])).await?;
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.try_get_by_index::<String>(0)?);
    }
    Ok(Some(ids))
}

/// Up to `limit` entries after `cursor`, in feed order, none beyond the safe horizon; and the
/// cursor to ask from next time (the last entry's, or `cursor` itself when nothing is new).
pub async fn entries_since(db: &impl ConnectionTrait, cursor: i64, limit: u64) -> Result<(Vec<Entry>, i64), FeedError> {
    let backend = db.get_database_backend();
    let limit = limit.clamp(1, 100_000) as i64;
    let rows = match backend {
        DbBackend::Postgres => {
            let after_txid = match cursor {
                0 => -1,
                _ => {
                    let row = db
                        .query_one_raw(Statement::from_sql_and_values(
                            backend,
                            "SELECT txid FROM directory_change WHERE id = $1",
                            [Value::from(cursor)],
                        ))
                        .await?
                        .ok_or(FeedError::UnknownCursor)?;
                    row.try_get_by_index::<i64>(0)?
                }
            };
            db.query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id, service_id FROM directory_change \
                 WHERE (txid, id) > ($1, $2) \
                   AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                 ORDER BY txid, id LIMIT $3",
                [Value::from(after_txid), Value::from(cursor), Value::from(limit)],
            ))
            .await?
        }
        _ => {
            let (first, last) = sqlite_id_range(db).await?;
            if cursor < 0 || cursor > last || pruned_past(cursor, first) {
                return Err(FeedError::UnknownCursor);
            }
            db.query_all_raw(Statement::from_sql_and_values(
                backend,
                "SELECT id, service_id FROM directory_change WHERE id > ? ORDER BY id LIMIT ?",
                [Value::from(cursor), Value::from(limit)],
            ))
            .await?
        }
    };
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(Entry { cursor: row.try_get_by_index(0)?, service_id: row.try_get_by_index(1)? });
    }
    let next = entries.last().map_or(cursor, |entry| entry.cursor);
    Ok((entries, next))
}

/// Whether any entry after `cursor` (in feed order, committed, the safe horizon aside) says that
/// the whole directory may have changed: then nothing read as of `cursor` is worth patching.
pub async fn whole_directory_changed_since(db: &impl ConnectionTrait, cursor: i64) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let row = match backend {
        DbBackend::Postgres => {
            db.query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT 1 FROM directory_change \
                 WHERE service_id IS NULL \
                   AND (txid, id) > (COALESCE((SELECT txid FROM directory_change WHERE id = $1), -1), $1) \
                 LIMIT 1",
                [Value::from(cursor)],
            ))
            .await?
        }
        _ => {
            db.query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT 1 FROM directory_change WHERE service_id IS NULL AND id > ? LIMIT 1",
                [Value::from(cursor)],
            ))
            .await?
        }
    };
    Ok(row.is_some())
}

/// PostgreSQL: entries that have committed but lie beyond the safe horizon (a transaction older
/// than theirs is still running); a few, unless a writer runs for long. A reader may apply them
/// early, but must not move its cursor past them: [`entries_since`] brings them again once they
/// are safe. (Not "after the cursor": in feed order they all are, while their ids need not be.)
/// Empty on SQLite, where there is no such entry.
pub async fn entries_beyond_horizon(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<Entry>, DbErr> {
    let backend = db.get_database_backend();
    if backend != DbBackend::Postgres {
        return Ok(Vec::new());
    }
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            "SELECT id, service_id FROM directory_change \
             WHERE txid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
             ORDER BY txid, id LIMIT $1",
            [Value::from(limit.clamp(1, 100_000) as i64)],
        ))
        .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        entries.push(Entry { cursor: row.try_get_by_index(0)?, service_id: row.try_get_by_index(1)? });
    }
    Ok(entries)
}

/// The safe horizon as a cursor: the last entry every reader may already apply. Take it *before*
/// reading the directory (a snapshot, a full index build); reading the feed from it afterwards
/// brings everything the read may have missed (and perhaps some it did not: applying is
/// idempotent).
pub async fn head(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    match backend {
        DbBackend::Postgres => {
            let row = db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT id FROM directory_change \
                     WHERE txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
                     ORDER BY txid DESC, id DESC LIMIT 1",
                ))
                .await?;
            row.map_or(Ok(0), |row| row.try_get_by_index(0))
        }
        _ => sqlite_last_id(db).await,
    }
}

async fn sqlite_last_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    Ok(sqlite_id_range(db).await?.1)
}

/// The first and last entry ids (`(None, 0)`: the feed is empty).
async fn sqlite_id_range(db: &impl ConnectionTrait) -> Result<(Option<i64>, i64), DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, "SELECT MIN(id), COALESCE(MAX(id), 0) FROM directory_change"))
        .await?;
    match row {
        Some(row) => Ok((row.try_get_by_index(0)?, row.try_get_by_index(1)?)),
        None => Ok((None, 0)),
    }
}

/// SQLite: whether entries right after `cursor` may have been pruned: the oldest entry left lies
/// beyond the one after it (ids grow by one there). On PostgreSQL a pruned cursor names no row
/// any more, which [`entries_since`] refuses; the cursor 0 (issued while the feed was empty) is
/// taken as it comes, since the first ids may be missing for other reasons (a rolled-back or
/// still running write): a phone's cursor 0 has expired before anything it missed is pruned,
/// and the index's own cursor moves on with the first entry.
fn pruned_past(cursor: i64, first: Option<i64>) -> bool {
    first.is_some_and(|first| cursor < first - 1)
}

/// Removes the entries older than `before`, but never the newest (it keeps the ids growing on
/// SQLite and the head a known cursor). Readers whose cursor lies before what is left get
/// [`FeedError::UnknownCursor`] and start again from a snapshot or a rebuild; phones' cursors
/// expire sooner than entries are pruned (`crate::sync::CURSOR_LIFETIME_DAYS`), so an unexpired
/// cursor never reaches back into pruned entries. Returns how many were removed.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "DELETE FROM directory_change WHERE changed_at < $1 \
             AND id <> (SELECT id FROM directory_change ORDER BY txid DESC, id DESC LIMIT 1)"
        }
        _ => "DELETE FROM directory_change WHERE changed_at < ? AND id < (SELECT MAX(id) FROM directory_change)",
    };
    let result = db.execute_raw(Statement::from_sql_and_values(backend, sql, [Value::from(before)])).await?;
    Ok(result.rows_affected())
}

/// Prunes the feed a few minutes after start and then once a day, keeping `keep` of it, until
/// the server stops (the task is aborted). Logs counts only.
pub async fn daily_prune(db: DatabaseConnection, clock: Arc<dyn Clock>, keep: chrono::Duration) {
    let mut wait = std::time::Duration::from_secs(5 * 60);
    loop {
        tokio::time::sleep(wait).await;
        wait = std::time::Duration::from_secs(24 * 60 * 60);
        match prune(&db, clock.now() - keep).await {
            Ok(removed) => tracing::info!(removed, "directory change feed pruned"),
            Err(error) => tracing::error!(%error, "pruning the directory change feed failed; retrying tomorrow"),
        }
    }
}
