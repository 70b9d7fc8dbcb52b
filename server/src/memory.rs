//! When freed memory goes back to the system.
//!
//! The binary's allocator is mimalloc (`main.rs`). It hands pages that fall empty back to the
//! system only after a delay (a second by default), and only when the thread that owns them
//! allocates again or collects. Building the index frees as much as it keeps (rows read from the
//! database, vectors grown by doubling, the maps the text index is frozen from); the threads that
//! freed it then sit idle, so at a million services some 300 MB of RSS stayed held by nothing
//! (1.25 GB after start-up instead of 0.95 GB, docs/BENCHMARKS.md).
//!
//! So a build shortens the delay while it runs ([`BUILD_PURGE_DELAY_MS`]), and every thread that
//! took part collects (returns its empty pages at once) when its part is over and what it made
//! has been freed: [`BuildEnd::give_back`]. Returning pages the moment they fall empty (a
//! delay of 0, as before) kept the RSS lowest but cost a start at a million services 3–4 s: the
//! build frees and allocates again all the time, and each page given back was faulted in again
//! moments later, a `madvise` and a TLB flush on both cores each time (perf: a fifth of the CPU).

use std::sync::{Arc, Condvar, Mutex, PoisonError};

use libmimalloc_sys::{mi_collect, mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the Rust bindings do not name it):
/// milliseconds before an empty page is returned; 0 returns it at once.
const PURGE_DELAY: mi_option_t = 15;

/// The purge delay while an index is built: long enough that a page freed and needed again
/// moments later stays, short enough that what the build is done with does not pile up.
const BUILD_PURGE_DELAY_MS: std::os::raw::c_long = 20;

/// Held while an index is built (dropping it ends the build's memory regime): the shorter purge
/// delay, and the end of the build that its threads wait for before they collect.
pub struct BuildMemory {
    previous: std::os::raw::c_long,
    ended: BuildEnd,
}

/// The end of a build, which a thread that read for it waits for before it collects: the records
/// it allocated are freed by the thread that indexes them, and only once indexed.
#[derive(Clone, Default)]
pub struct BuildEnd(Arc<(Mutex<bool>, Condvar)>);

#[allow(unsafe_code)]
pub fn build_memory() -> BuildMemory {
    // SAFETY: mimalloc's options are plain values it reads atomically; `mi_option_get` and
    // `mi_option_set` may be called from any thread at any time (mimalloc's documentation), and
    // `PURGE_DELAY` is a valid option of the linked version (`c_src/mimalloc/v3/include`).
    let previous = unsafe { mi_option_get(PURGE_DELAY) };
    // SAFETY: as above.
    unsafe { mi_option_set(PURGE_DELAY, BUILD_PURGE_DELAY_MS) };
    BuildMemory { previous, ended: BuildEnd::default() }
}

impl BuildMemory {
    /// What a thread taking part in the build waits on before giving back its memory.
    pub fn end(&self) -> BuildEnd {
        self.ended.clone()
    }

    /// The build is over: its threads may collect. Call before waiting for them (dropping does
    /// it too).
    pub fn finish(&self) {
        let (ended, changed) = &*self.ended.0;
        *ended.lock().unwrap_or_else(PoisonError::into_inner) = true;
        changed.notify_all();
    }
}

impl Drop for BuildMemory {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        self.finish();
        // SAFETY: as in `build_memory`.
        unsafe { mi_option_set(PURGE_DELAY, self.previous) };
        give_back_freed_memory();
    }
}

impl BuildEnd {
    /// Waits (blocking the thread) for the build to end, then gives back this thread's freed
    /// memory. For threads of the build only, never an async task.
    pub fn give_back(&self) {
        let (ended, changed) = &*self.0;
        let guard = ended.lock().unwrap_or_else(PoisonError::into_inner);
        drop(changed.wait_while(guard, |ended| !*ended).unwrap_or_else(PoisonError::into_inner));
        give_back_freed_memory();
    }
}

/// Returns this thread's empty pages to the system now, and whatever mimalloc had already set
/// aside to return later.
#[allow(unsafe_code)]
pub fn give_back_freed_memory() {
    // SAFETY: `mi_collect` may be called from any thread; `force` frees what the delay holds.
    unsafe { mi_collect(true) };
}
