//! When freed memory goes back to the system.
//!
//! The binary's allocator is mimalloc (`main.rs`). It hands pages that fall empty back to the
//! system only after a delay, and only when the thread that freed them allocates again. Building
//! the index frees as much as it keeps (rows read from the database, vectors grown by doubling,
//! the maps the text index is frozen from); the threads that freed it then sit idle, so at a
//! million services some 300 MB of RSS stayed held by nothing (1.25 GB after start-up instead of
//! 0.95 GB, docs/BENCHMARKS.md). While an index is built, empty pages go back at once.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (the Rust bindings do not name it):
/// milliseconds before an empty page is returned; 0 returns it at once.
const PURGE_DELAY: mi_option_t = 15;

/// Returns freed memory to the system at once until dropped, then restores the delay (purging
/// at once while serving would turn the churn of every request into system calls).
pub struct PromptRelease {
    previous: std::os::raw::c_long,
}

#[allow(unsafe_code)]
pub fn release_freed_memory_promptly() -> PromptRelease {
    // SAFETY: mimalloc's options are plain values it reads atomically; `mi_option_get` and
    // `mi_option_set` may be called from any thread at any time (mimalloc's documentation), and
    // `PURGE_DELAY` is a valid option of the linked version (`c_src/mimalloc/v3/include`).
    let previous = unsafe { mi_option_get(PURGE_DELAY) };
    // SAFETY: as above.
    unsafe { mi_option_set(PURGE_DELAY, 0) };
    PromptRelease { previous }
}

impl Drop for PromptRelease {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: as in `release_freed_memory_promptly`.
        unsafe { mi_option_set(PURGE_DELAY, self.previous) };
    }
}
