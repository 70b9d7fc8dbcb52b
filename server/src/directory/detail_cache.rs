//! The public detail of recently viewed services, kept in memory so that the detail screen costs
//! one map look-up instead of about eighteen database queries.
//!
//! ## Staying exact
//!
//! An entry is only ever the database's current state of a listed service. Every write that can
//! change a service's public detail publishes that service on the change feed
//! (`crate::kernel::history::record` → `super::feed::affected_services`), and the directory
//! handle forgets those services when it applies the change: on this server before the mutation
//! answers, on the other replicas when they follow the feed (within the feed's poll interval),
//! exactly as search sees the change. A full rebuild forgets everything.
//!
//! A load races with a write when it reads the database before the write commits and finishes
//! after the write's services were forgotten: it would put back the old state for good. So every
//! forgetting bumps a generation, and a load stores its result only if no forgetting happened
//! while it read (it still answers with what it read, as an uncached read would).
//!
//! Only what every caller may see is cached (the listed service's public rows); time-dependent
//! answers (open now, the next seven days) are computed per request from the cached hours.
//! Memory is bounded by the number of entries (`QIAO_DETAIL_CACHE_ENTRIES`); the oldest entry
//! goes first.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use sea_orm::{DatabaseConnection, DbErr};

use super::detail::{ServiceDetail, load_service_detail};

/// Default number of services kept (a few kilobytes each).
pub const DEFAULT_ENTRIES: usize = 5_000;

/// The detail cache the directory handle keeps.
pub type DetailCache = ForgetfulCache<ServiceDetail>;

/// A bounded map from service id to a value read from the database, which forgets services
/// when told they changed, and never keeps a value read across such a change.
#[derive(Debug)]
pub struct ForgetfulCache<T> {
    capacity: usize,
    inner: Mutex<Entries<T>>,
}

#[derive(Debug)]
struct Entries<T> {
    /// Each value with the number of its insertion.
    by_id: HashMap<String, (Arc<T>, u64)>,
    /// Insertions in order, for eviction; an insertion whose value was forgotten or replaced
    /// since is skipped.
    order: VecDeque<(String, u64)>,
    inserted: u64,
    /// Bumped by every forgetting (see the module documentation).
    generation: u64,
}

impl<T> Default for ForgetfulCache<T> {
    fn default() -> Self {
        Self::new(DEFAULT_ENTRIES)
    }
}

impl DetailCache {
    /// The listed service's detail, from memory or from the database; `None` when it does not
    /// exist or is not listed (not cached: a service that appears is published like any change).
    pub async fn get(&self, db: &DatabaseConnection, id: &str) -> Result<Option<Arc<ServiceDetail>>, DbErr> {
        self.get_or_load(id, || load_service_detail(db, id)).await
    }
}

impl<T> ForgetfulCache<T> {
    /// A cache of at most `capacity` entries; 0 turns caching off.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Entries { by_id: HashMap::new(), order: VecDeque::new(), inserted: 0, generation: 0 }),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries<T>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value of `id`, from memory or from `load` (kept unless something was forgotten while
    /// it loaded); `None` from `load` is answered and not kept.
    pub async fn get_or_load<F, Fut, E>(&self, id: &str, load: F) -> Result<Option<Arc<T>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let generation = {
            let entries = self.entries();
            if let Some((value, _)) = entries.by_id.get(id) {
                return Ok(Some(Arc::clone(value)));
            }
            entries.generation
        };
        let Some(value) = load().await? else { return Ok(None) };
        let value = Arc::new(value);
        if self.capacity > 0 {
            let mut entries = self.entries();
            if entries.generation == generation && !entries.by_id.contains_key(id) {
                entries.inserted += 1;
                let number = entries.inserted;
                entries.by_id.insert(id.to_owned(), (Arc::clone(&value), number));
                entries.order.push_back((id.to_owned(), number));
                let Entries { by_id, order, .. } = &mut *entries;
                let current = |by_id: &HashMap<String, (Arc<T>, u64)>, (id, number): &(String, u64)| {
                    by_id.get(id).is_some_and(|(_, kept)| kept == number)
                };
                while by_id.len() > self.capacity {
                    let Some(oldest) = order.pop_front() else { break };
                    if current(by_id, &oldest) {
                        by_id.remove(&oldest.0);
                    }
                }
                // Forgotten values leave their insertions in `order`; keep it from growing
                // without bound.
                if order.len() > 2 * self.capacity {
                    order.retain(|insertion| current(by_id, insertion));
                }
            }
        }
        Ok(Some(value))
    }

    /// Forgets these services (their public detail may have changed).
    pub fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        let mut entries = self.entries();
        entries.generation += 1;
        for id in ids {
            entries.by_id.remove(id);
        }
    }

    /// Forgets every service (the whole directory may have changed).
    pub fn clear(&self) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.by_id.clear();
        entries.order.clear();
    }

    /// How many services are held now.
    pub fn len(&self) -> usize {
        self.entries().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use super::*;

    async fn read(cache: &ForgetfulCache<String>, id: &str, database: &str) -> Option<String> {
        let value = database.to_owned();
        let loaded = cache.get_or_load(id, || async move { Ok::<_, Infallible>(Some(value)) }).await;
        loaded.ok().flatten().map(|value| value.as_ref().clone())
    }

    #[tokio::test]
    async fn a_kept_value_is_answered_until_forgotten() {
        let cache = ForgetfulCache::new(10);
        assert_eq!(read(&cache, "a", "v1").await.as_deref(), Some("v1"));
        assert_eq!(read(&cache, "a", "v2").await.as_deref(), Some("v1"), "from memory");
        cache.forget(&["a".to_owned()]);
        assert_eq!(read(&cache, "a", "v2").await.as_deref(), Some("v2"), "read again once forgotten");
        cache.clear();
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_value_read_across_a_change_is_answered_but_not_kept() {
        let cache: ForgetfulCache<String> = ForgetfulCache::new(10);
        // The load reads the old state, then the write commits and forgets the service before
        // the load finishes.
        let stale = cache
            .get_or_load("a", || async {
                cache.forget(&["a".to_owned()]);
                Ok::<_, Infallible>(Some("old".to_owned()))
            })
            .await;
        assert_eq!(stale.ok().flatten().as_deref().map(String::as_str), Some("old"));
        assert!(cache.is_empty(), "the old state must not be kept");
        assert_eq!(read(&cache, "a", "new").await.as_deref(), Some("new"));
    }

    #[tokio::test]
    async fn missing_services_are_not_kept_and_the_oldest_goes_first() {
        let cache: ForgetfulCache<String> = ForgetfulCache::new(2);
        let missing = cache.get_or_load("x", || async { Ok::<_, Infallible>(None) }).await;
        assert!(matches!(missing, Ok(None)));
        assert!(cache.is_empty());
        for id in ["a", "b", "c"] {
            read(&cache, id, id).await;
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(read(&cache, "a", "a2").await.as_deref(), Some("a2"), "a was evicted");
        // Many forgettings never let the order list grow beyond twice the capacity.
        for round in 0..100 {
            cache.forget(&["a".to_owned()]);
            read(&cache, "a", &format!("a{round}")).await;
        }
        assert!(cache.entries().order.len() <= 4);
        let off: ForgetfulCache<String> = ForgetfulCache::new(0);
        read(&off, "a", "a").await;
        assert!(off.is_empty(), "capacity 0 keeps nothing");
    }
}
