//! The store and its transactions (see the module above).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use qiao_schema::entity::directory_change;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, EntityTrait, ExecResult, QueryResult,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::directory::feed::{self, Changed};
use crate::directory::handle::DirectoryHandle;

/// Feed rows inserted per statement (PostgreSQL takes at most 65,535 parameters).
const FEED_ROWS_PER_INSERT: usize = 1_000;

/// The database and the index that mirrors it: what a write needs.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    directory: Arc<DirectoryHandle>,
}

impl Store {
    pub fn new(db: DatabaseConnection, directory: Arc<DirectoryHandle>) -> Self {
        Self { db, directory }
    }

    /// For reads; writes go through [`Db::begin`].
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn directory(&self) -> &Arc<DirectoryHandle> {
        &self.directory
    }
}

/// A write transaction of the kernel. Reads and writes inside it go through it like through any
/// sea-orm connection.
pub struct Txn {
    inner: DatabaseTransaction,
    /// Set only on the outermost transaction: what to bring up to date once it commits.
    outermost: Option<Store>,
    /// What this transaction (and its savepoints) changed in the directory. A savepoint that
    /// rolls back leaves its services here: looking at an unchanged service again is harmless.
    changed: Arc<Mutex<Changed>>,
    /// Whether this transaction (not counting its savepoints) already wrote a feed row for the
    /// whole directory: one says it all, and an import records thousands of rows of kinds the
    /// feed cannot narrow down.
    wrote_everything: AtomicBool,
}

/// Where a write goes: the store (a new transaction), or an open transaction (a savepoint in it).
pub trait Db: ConnectionTrait + Send + Sync {
    fn begin(&self) -> impl Future<Output = Result<Txn, DbErr>> + Send;
}

impl Db for Store {
    async fn begin(&self) -> Result<Txn, DbErr> {
        let inner = begin_write(&self.db).await?;
        Ok(Txn {
            inner,
            outermost: Some(self.clone()),
            changed: Arc::default(),
            wrote_everything: AtomicBool::new(false),
        })
    }
}

/// Begins a write transaction that changes no listing (accounts, areas, suggestions): on SQLite it
/// takes the write lock up front, so concurrent writers queue behind the busy timeout instead of
/// failing with "database is locked" when a read lock is upgraded; PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// Records in the feed that the whole directory may have changed, for a load that writes rows
/// without the kernel (the demo seed, `qiao seed-synthetic`): running servers rebuild their index
/// from it, and an index build saved before it is no longer used (`directory::snapshot`).
pub async fn publish_bulk_load(db: &DatabaseConnection, what: &str, at: DateTime<Utc>) -> Result<(), DbErr> {
    let txn = Txn {
        inner: begin_write(db).await?,
        outermost: None,
        changed: Arc::default(),
        wrote_everything: AtomicBool::new(false),
    };
    txn.publish("directory", what, "import", at).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.inner.execute_unprepared(&format!("NOTIFY {}", feed::CHANNEL)).await?;
    }
    txn.inner.commit().await
}

impl Db for Txn {
    async fn begin(&self) -> Result<Txn, DbErr> {
        let inner = self.inner.begin().await?;
        Ok(Txn { inner, outermost: None, changed: Arc::clone(&self.changed), wrote_everything: AtomicBool::new(false) })
    }
}

impl Txn {
    /// Commits; the outermost commit of a transaction that changed the directory returns only
    /// once the search index includes the change.
    pub async fn commit(self) -> Result<(), DbErr> {
        let changed = match &self.outermost {
            Some(_) => std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner())),
            None => Changed::default(),
        };
        if !changed.is_empty() && self.inner.get_database_backend() == DbBackend::Postgres {
            // Delivered at commit (never on rollback): wakes the other servers' feed followers.
            self.inner.execute_unprepared(&format!("NOTIFY {}", feed::CHANNEL)).await?;
        }
        self.inner.commit().await?;
        if let Some(store) = self.outermost
            && !changed.is_empty()
        {
            store.directory.catch_up(&store.db, changed).await?;
        }
        Ok(())
    }

    /// Rolls back everything this transaction (or savepoint) wrote.
    pub async fn rollback(self) -> Result<(), DbErr> {
        self.inner.rollback().await
    }

    /// Records that a listing changed, in this transaction: the one publish point of the
    /// directory (called by [`super::history::record`] for every recorded change, and by whole-directory
    /// imports).
    pub async fn publish(
        &self,
        resource_type: &str,
        resource_id: &str,
        action: &str,
        at: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        // The feed names services, resolved now, inside the write: after the commit a location
        // or an organisation no longer says which listings it changed (see `directory::feed`).
        let services = feed::affected_services(&self.inner, resource_type, resource_id).await?;
        let rows: Vec<Option<String>> = match &services {
            Some(services) => services.iter().cloned().map(Some).collect(),
            None if self.wrote_everything.swap(true, Ordering::SeqCst) => Vec::new(),
            None => vec![None],
        };
        for chunk in rows.chunks(FEED_ROWS_PER_INSERT) {
            directory_change::Entity::insert_many(chunk.iter().map(|service_id| directory_change::ActiveModel {
                id: NotSet,
                resource_type: Set(resource_type.to_owned()),
                resource_id: Set(resource_id.to_owned()),
                action: Set(action.to_owned()),
                changed_at: Set(at),
                service_id: Set(service_id.clone()),
                txid: NotSet, // PostgreSQL: the writer's transaction id; SQLite: 0
            }))
            .exec_without_returning(&self.inner)
            .await?;
        }
        self.changed.lock().unwrap_or_else(|p| p.into_inner()).add(services.as_deref());
        Ok(())
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Txn {
    fn get_database_backend(&self) -> DbBackend {
        self.inner.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.inner.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.inner.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.inner.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.inner.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.inner.support_returning()
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for Store {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.db.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.db.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }
}
