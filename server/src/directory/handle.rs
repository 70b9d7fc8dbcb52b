//! The current search index, and how it catches up with the database after a write.
//!
//! Requests read one consistent snapshot ([`DirectoryHandle::current`]). Writers never touch the
//! index: the write kernel (`crate::kernel`) records each change in the writer's transaction and,
//! once that transaction has committed, asks the handle to catch up ([`DirectoryHandle::catch_up`])
//! before the mutation answers, so the writer and everyone after see the change.
//!
//! Catching up is a full rebuild today, which is exact and fast at city scale; several writes that
//! commit while one rebuild runs share the next one (a rebuild that *started* after a write
//! committed includes it).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::Mutex;

use super::Directory;

/// The current directory index, swapped whole when it is rebuilt.
#[derive(Default)]
pub struct DirectoryHandle {
    current: RwLock<Arc<Directory>>,
    /// Tickets handed to committed writes that asked to be seen.
    requested: AtomicU64,
    /// Every ticket up to this one is in the current index.
    covered: AtomicU64,
    /// One rebuild at a time.
    rebuilding: Mutex<()>,
}

impl DirectoryHandle {
    pub fn new(directory: Directory) -> Self {
        Self { current: RwLock::new(Arc::new(directory)), ..Self::default() }
    }

    pub fn current(&self) -> Arc<Directory> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// Rebuilds the index from the database and swaps it in, unconditionally (start-up, tests).
    pub async fn reload(&self, db: &DatabaseConnection) -> Result<(), DbErr> {
        let fresh = Arc::new(Directory::load(db).await?);
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = fresh;
        Ok(())
    }

    /// Makes sure every write committed before this call is in the index; returns when it is.
    ///
    /// The rebuild runs in its own task, so a request that is cancelled (a client that hangs up,
    /// a timeout) cannot leave the index stale half-way.
    pub async fn catch_up(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        _changed: super::feed::Changed,
    ) -> Result<(), DbErr> {
        let ticket = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let (handle, db) = (Arc::clone(self), db.clone());
        let task = tokio::spawn(async move {
            let _one_at_a_time = handle.rebuilding.lock().await;
            if handle.covered.load(Ordering::SeqCst) >= ticket {
                return Ok(()); // a rebuild that began after our commit has finished
            }
            // Every ticket handed out so far belongs to a write that has committed.
            let upto = handle.requested.load(Ordering::SeqCst);
            handle.reload(&db).await?;
            handle.covered.store(upto, Ordering::SeqCst);
            Ok(())
        });
        task.await.map_err(|e| DbErr::Custom(format!("directory rebuild task failed: {e}")))?
    }
}
