//! The current search index, and how it follows the database: patched service by service from
//! the change feed (`super::feed`), rebuilt whole only as a safety net.
//!
//! Requests read one consistent snapshot ([`DirectoryHandle::current`], an `Arc<Directory>`).
//! Writers never touch the index: the write kernel (`crate::kernel`) publishes each change in
//! the writer's transaction and, once it has committed, hands the handle what it changed
//! ([`DirectoryHandle::catch_up`]) before the mutation answers, so the writer and everyone after
//! see the change. Changes made through other servers arrive through the feed
//! ([`DirectoryHandle::follow_feed`], run by [`follow`] on a LISTEN/NOTIFY wake-up or a timer).
//!
//! ## Patching without copying the index (one copy, shared structure)
//!
//! A snapshot is shared by the requests that read it, so it cannot change under them; copying
//! the whole index for every write would cost in proportion to the directory, and keeping a
//! second copy to patch would double its memory. Instead a patch clones the current `Directory`
//! cheaply and patches the clone: services and places live in chunks behind `Arc`
//! ([`super::chunked::Chunked`]), so the clone shares every chunk and a patch copies only the
//! chunks of the slots it touches; the id map, R-tree and text index of the last full build (the
//! *base*) are shared and never change, and what patches add since sits in a small *delta* that
//! the clone copies (see [`Directory`]). The patched clone is swapped in as the current snapshot;
//! the old one is freed when its last request ends. So the index exists once, plus the chunks
//! and the delta of snapshots still being read. Once the delta passes
//! [`super::index::MAX_DELTA_SERVICES`] services, a full rebuild starts in the background and
//! folds it into a new base.
//!
//! A patch re-reads the changed services' current rows (`records::read_service_records`) *under
//! the writer lock*, so patches are read and applied in one order and a slower patch can never
//! put back an older state. Applying a feed entry twice, or late, is therefore harmless.
//!
//! Catching up runs in its own task, so a request that is cancelled (a client that hangs up, a
//! timeout) cannot leave the index stale half-way.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use sea_orm::{DatabaseConnection, DbBackend, DbErr};
use tokio::sync::Mutex;

use super::Directory;
use super::detail_cache::DetailCache;
use super::feed::{self, Changed, FeedError};
use super::records::{ServiceRecord, read_service_records};
use super::snapshot::SnapshotFile;

/// Feed entries read per query.
const FEED_BATCH: u64 = 5_000;

/// The current directory index.
#[derive(Default)]
pub struct DirectoryHandle {
    current: RwLock<Arc<Directory>>,
    writer: Mutex<Writer>,
    /// One full rebuild at a time.
    rebuilding: Mutex<()>,
    /// Recently viewed services' public detail, forgotten as their changes are applied.
    details: DetailCache,
    /// A rebuild to fold a grown delta into the base has been started and has not finished.
    folding: AtomicBool,
    /// Where each full build from the database is saved for the next start (`super::snapshot`).
    snapshot: Option<SnapshotFile>,
}

#[derive(Default)]
struct Writer {
    /// The feed position every entry up to which (in feed order) is in the index.
    cursor: i64,
    /// Entries beyond the safe horizon already applied (PostgreSQL; see [`DirectoryHandle::follow_feed`]).
    early: HashSet<i64>,
    /// While a rebuild loads: the services patched meanwhile, to patch into the new index.
    during_rebuild: Option<BTreeSet<String>>,
}

impl DirectoryHandle {
    /// The handle of an index built from the database when the feed stood at `cursor`
    /// ([`feed::head`] taken before the build).
    pub fn new(directory: Directory) -> Self {
        Self::at(directory, 0)
    }

    pub fn at(directory: Directory, cursor: i64) -> Self {
        Self {
            current: RwLock::new(Arc::new(directory)),
            writer: Mutex::new(Writer { cursor, ..Writer::default() }),
            rebuilding: Mutex::new(()),
            details: DetailCache::default(),
            folding: AtomicBool::new(false),
            snapshot: None,
        }
    }

    /// The index a server starts with: from the saved build in `snapshot` when there is a usable
    /// one, brought up to date from the feed before this returns; otherwise built from the
    /// database (and saved there for the next start).
    pub async fn open(
        db: &DatabaseConnection,
        snapshot: Option<SnapshotFile>,
        detail_cache_entries: usize,
    ) -> Result<Arc<Self>, DbErr> {
        let started = std::time::Instant::now();
        let saved = match &snapshot {
            Some(file) => file.usable(db).await,
            None => None,
        };
        if let Some(saved) = saved {
            let cursor = saved.cursor();
            match Directory::load_saved(db, saved).await {
                Ok(directory) => {
                    let built = started.elapsed().as_secs_f64();
                    let handle = Arc::new(Self {
                        snapshot,
                        ..Self::at(directory, cursor).with_detail_cache(detail_cache_entries)
                    });
                    // What changed since the build was saved, before anyone searches.
                    handle.follow_feed(db).await?;
                    let directory = handle.current();
                    tracing::info!(
                        services = directory.service_count(),
                        places = directory.place_count(),
                        seconds = started.elapsed().as_secs_f64(),
                        built_seconds = built,
                        "directory index built from the saved build and the feed since"
                    );
                    return Ok(handle);
                }
                Err(error) => tracing::warn!(%error, "the saved index build is unusable; building from the database"),
            }
        }
        // The feed position is taken before the build: what the build misses comes after it.
        let cursor = feed::head(db).await?;
        let mut saving = match &snapshot {
            Some(file) => file.writer(db, cursor).await,
            None => None,
        };
        let directory = Directory::load_saving(db, saving.as_mut()).await?;
        tracing::info!(
            services = directory.service_count(),
            places = directory.place_count(),
            seconds = started.elapsed().as_secs_f64(),
            "directory index built from the database"
        );
        if let Some(saving) = saving {
            tokio::spawn(saving.finish());
        }
        Ok(Arc::new(Self { snapshot, ..Self::at(directory, cursor).with_detail_cache(detail_cache_entries) }))
    }

    /// Keeps at most `entries` services' detail in memory (0: none).
    pub fn with_detail_cache(mut self, entries: usize) -> Self {
        self.details = DetailCache::new(entries);
        self
    }

    /// The public detail of listed services, exact as of the changes this index has applied.
    pub fn details(&self) -> &DetailCache {
        &self.details
    }

    /// The feed position the index has applied everything up to (for the lag metric).
    pub async fn cursor(&self) -> i64 {
        self.writer.lock().await.cursor
    }

    pub fn current(&self) -> Arc<Directory> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn swap(&self, directory: Arc<Directory>) -> Arc<Directory> {
        std::mem::replace(&mut *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()), directory)
    }

    /// Rebuilds the whole index from the database and swaps it in: the safety net (on a timer,
    /// on demand, after a change of the whole directory). Writes keep being applied meanwhile;
    /// the services they touched are patched into the new index before it goes live.
    pub async fn reload(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let _one_at_a_time = self.rebuilding.lock().await;
        self.writer.lock().await.during_rebuild = Some(BTreeSet::new());
        // Taken before reading: whatever the build misses comes after it in the feed.
        let loaded = match feed::head(db).await {
            Ok(head) => {
                let mut saving = match &self.snapshot {
                    Some(file) => file.writer(db, head).await,
                    None => None,
                };
                let built = Directory::load_saving(db, saving.as_mut()).await;
                if let (Ok(_), Some(saving)) = (&built, saving) {
                    // Synced and renamed in the background: the new index need not wait for it.
                    tokio::spawn(saving.finish());
                }
                built.map(|directory| (head, directory))
            }
            Err(error) => Err(error),
        };
        let mut writer = self.writer.lock().await;
        let touched = writer.during_rebuild.take().unwrap_or_default();
        let (head, mut fresh) = loaded?;
        let ids: Vec<String> = touched.into_iter().collect();
        let records: Vec<Arc<ServiceRecord>> =
            read_service_records(db, &ids).await?.into_iter().map(Arc::new).collect();
        fresh.patch(&ids, &records);
        self.swap(Arc::new(fresh));
        self.details.clear();
        writer.early.clear();
        // Re-reading the feed from the build's start is harmless (applying is idempotent).
        writer.cursor = head;
        Ok(())
    }

    /// Makes sure what a just-committed transaction changed is in the index; returns when it is.
    pub async fn catch_up(self: &Arc<Self>, db: &DatabaseConnection, changed: Changed) -> Result<(), DbErr> {
        let (handle, db) = (Arc::clone(self), db.clone());
        let task = tokio::spawn(async move {
            if changed.everything {
                return handle.reload(&db).await;
            }
            let mut writer = handle.writer.lock().await;
            handle.apply(&mut writer, &db, changed.services.into_iter().collect()).await
        });
        task.await.map_err(|e| DbErr::Custom(format!("directory catch-up task failed: {e}")))?
    }

    /// Applies what the feed holds beyond this index's cursor (other servers' writes, and this
    /// one's again). On PostgreSQL, entries already committed but beyond the safe horizon (behind
    /// a long-running writer) are applied too, without moving the cursor past the horizon, so a
    /// slow transaction elsewhere delays nobody's changes; they are applied again once safe.
    pub async fn follow_feed(self: &Arc<Self>, db: &DatabaseConnection) -> Result<(), DbErr> {
        let mut writer = self.writer.lock().await;
        loop {
            let (entries, next) = match feed::entries_since(db, writer.cursor, FEED_BATCH).await {
                Ok(read) => read,
                Err(FeedError::UnknownCursor) => {
                    drop(writer);
                    tracing::warn!("the index's feed cursor is unknown to the database; rebuilding");
                    return self.reload(db).await;
                }
                Err(FeedError::Db(error)) => return Err(error),
            };
            if entries.is_empty() {
                break;
            }
            let early = std::mem::take(&mut writer.early);
            let fresh: Vec<_> = entries.iter().filter(|entry| !early.contains(&entry.cursor)).collect();
            writer.early = early;
            for entry in &entries {
                writer.early.remove(&entry.cursor);
            }
            let changed = Changed::of_entries(fresh);
            if changed.everything {
                drop(writer);
                return self.reload(db).await;
            }
            self.apply(&mut writer, db, changed.services.into_iter().collect()).await?;
            writer.cursor = next;
        }
        if db.get_database_backend() == DbBackend::Postgres {
            let entries = feed::entries_beyond_horizon(db, FEED_BATCH).await?;
            let new: Vec<_> = entries.iter().filter(|entry| !writer.early.contains(&entry.cursor)).collect();
            let changed = Changed::of_entries(new.iter().copied());
            if !changed.services.is_empty() {
                self.apply(&mut writer, db, changed.services.into_iter().collect()).await?;
            }
            if writer.early.len() > 100_000 {
                writer.early.clear(); // forgetting only costs applying them once more
            }
            writer.early.extend(new.iter().filter(|entry| entry.service_id.is_some()).map(|entry| entry.cursor));
        }
        Ok(())
    }

    /// Reads the services' current records and patches them into a new snapshot that shares
    /// everything else with the current one (the writer lock is held, so patches never race).
    async fn apply(
        self: &Arc<Self>,
        writer: &mut Writer,
        db: &DatabaseConnection,
        ids: Vec<String>,
    ) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        let records: Vec<Arc<ServiceRecord>> =
            read_service_records(db, &ids).await?.into_iter().map(Arc::new).collect();
        if let Some(touched) = &mut writer.during_rebuild {
            touched.extend(ids.iter().cloned());
        }
        self.details.forget(&ids);
        let mut next = Directory::clone(&self.current());
        next.patch(&ids, &records);
        let wants_rebuild = next.wants_rebuild();
        self.swap(Arc::new(next));
        if wants_rebuild && !self.folding.swap(true, Ordering::AcqRel) {
            let (handle, db) = (Arc::clone(self), db.clone());
            tokio::spawn(async move {
                tracing::info!("many services patched since the last build; rebuilding the index");
                if let Err(error) = handle.reload(&db).await {
                    tracing::warn!(%error, "rebuilding the directory index failed; patches stay in the delta");
                }
                handle.folding.store(false, Ordering::Release);
            });
        }
        Ok(())
    }
}

/// How a server follows the feed.
#[derive(Debug, Clone, Copy)]
pub struct FollowSettings {
    /// How often to look at the feed without a wake-up (the only way on SQLite).
    pub poll: Duration,
    /// How often to rebuild the whole index anyway; `None`: never.
    pub rebuild_every: Option<Duration>,
}

/// Starts following the feed in the background: woken by PostgreSQL notifications (and polling
/// anyway, in case one is lost or the listening connection drops), rebuilding on the timer. Ends
/// when the handle is dropped.
pub fn follow(handle: &Arc<DirectoryHandle>, db: DatabaseConnection, settings: FollowSettings) {
    let weak: Weak<DirectoryHandle> = Arc::downgrade(handle);
    tokio::spawn(async move {
        let mut listener = None;
        let mut next_listen_attempt = tokio::time::Instant::now();
        let mut next_rebuild = settings.rebuild_every.map(|every| tokio::time::Instant::now() + every);
        loop {
            if listener.is_none()
                && db.get_database_backend() == DbBackend::Postgres
                && tokio::time::Instant::now() >= next_listen_attempt
            {
                listener = listen(&db).await;
                next_listen_attempt = tokio::time::Instant::now() + Duration::from_secs(10);
            }
            match listener.as_mut() {
                Some(active) => {
                    tokio::select! {
                        received = active.recv() => if received.is_err() { listener = None },
                        () = tokio::time::sleep(settings.poll) => {}
                    }
                }
                None => tokio::time::sleep(settings.poll).await,
            }
            let Some(handle) = weak.upgrade() else { return };
            let result = match next_rebuild {
                Some(due) if tokio::time::Instant::now() >= due => {
                    next_rebuild = settings.rebuild_every.map(|every| tokio::time::Instant::now() + every);
                    handle.reload(&db).await
                }
                _ => handle.follow_feed(&db).await,
            };
            if let Err(error) = result {
                tracing::warn!(%error, "following the directory feed failed; retrying");
            }
        }
    });
}

async fn listen(db: &DatabaseConnection) -> Option<sea_orm::sqlx::postgres::PgListener> {
    let pool = db.get_postgres_connection_pool();
    let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for directory changes; polling only");
            return None;
        }
    };
    match listener.listen(feed::CHANNEL).await {
        Ok(()) => Some(listener),
        Err(error) => {
            tracing::warn!(%error, "cannot listen for directory changes; polling only");
            None
        }
    }
}
