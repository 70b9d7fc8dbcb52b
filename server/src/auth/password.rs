//! Password hashing with Argon2id (the crate's defaults: 19 MiB, 2 passes, 1 lane, as OWASP
//! recommends). Hashing runs on the blocking pool: it takes tens of milliseconds on purpose.
//!
//! At most [`MAX_CONCURRENT_HASHES`] run at once: unbounded, a burst of sign-ins would take 19 MiB
//! and a blocking thread each (up to the pool's 512). Callers beyond queue for a permit; one that
//! waits longer than [`HASH_QUEUE_TIMEOUT`] is answered RATE_LIMITED instead.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Password hashes computed at once (about the core count: more only queue inside the CPU).
pub const MAX_CONCURRENT_HASHES: usize = 4;
/// Longest a caller waits for a hashing permit (well inside the 15 s request timeout).
pub const HASH_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// A queue for CPU- and memory-heavy blocking work: a fixed number at once, a bounded wait.
struct HashingGate {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl HashingGate {
    fn new(permits: usize, wait: Duration) -> Self {
        Self { permits: Arc::new(Semaphore::new(permits)), wait }
    }

    /// Runs `work` on the blocking pool once a permit is free; RATE_LIMITED after waiting too long.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::RateLimited)?
            .map_err(ApiError::internal)?;
        // The permit goes with the work: if the request is dropped, the hash still holds it until done.
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
}

fn gate() -> &'static HashingGate {
    static GATE: OnceLock<HashingGate> = OnceLock::new();
    GATE.get_or_init(|| HashingGate::new(MAX_CONCURRENT_HASHES, HASH_QUEUE_TIMEOUT))
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> ApiResult<()> {
    let length = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&length) {
        return Err(ApiError::bad_input(
            "password",
            format!(
                "password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters \
                 (密码长度须为 {MIN_PASSWORD_CHARS} 到 {MAX_PASSWORD_CHARS} 个字符)"
            ),
        ));
    }
    Ok(())
}

/// An Argon2id PHC string for `password`, with a fresh random salt.
pub async fn hash_password(password: String) -> ApiResult<String> {
    gate()
        .run(move || Argon2::default().hash_password(password.as_bytes()).map(|hash| hash.to_string()))
        .await?
        .map_err(|error| ApiError::internal(error.to_string()))
}

/// Whether `password` matches `stored`. With no stored hash (an unknown user) a dummy hash is
/// checked instead, so an unknown user and a wrong password take the same time.
pub async fn verify_password(stored: Option<String>, password: String) -> ApiResult<bool> {
    gate()
        .run(move || {
            let (hash, known) = match stored {
                Some(hash) => (hash, true),
                None => (dummy_hash().to_owned(), false),
            };
            let Ok(parsed) = PasswordHash::new(&hash) else {
                tracing::error!("an account has an unreadable password hash");
                return false;
            };
            let matches = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
            known && matches
        })
        .await
}

/// A hash of a random password, computed once, for timing-equal failures.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 24];
        getrandom::fill(&mut random).ok();
        Argon2::default().hash_password(&random).map(|hash| hash.to_string()).unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                .to_owned()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_hash_beyond_the_cap_waits_and_gives_up_after_the_timeout() {
        let gate = Arc::new(HashingGate::new(1, Duration::from_millis(100)));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(move || released.recv().is_ok()).await }
        });
        while gate.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        // The second caller waits its whole timeout for the busy permit, then is told to retry.
        let started = std::time::Instant::now();
        let second = gate.run(|| ()).await;
        assert!(matches!(second, Err(ApiError::RateLimited)));
        assert!(started.elapsed() >= Duration::from_millis(100));
        release.send(()).ok();
        assert!(matches!(first.await, Ok(Ok(true))));
        // Once the permit is back, the next caller runs.
        assert!(gate.run(|| 7).await.is_ok_and(|n| n == 7));
    }

    #[tokio::test]
    async fn a_queued_hash_runs_when_a_permit_frees_up() {
        let gate = Arc::new(HashingGate::new(1, Duration::from_secs(10)));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(move || released.recv().is_ok()).await }
        });
        while gate.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|| "second").await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second waits while the only permit is held");
        release.send(()).ok();
        assert!(matches!(first.await, Ok(Ok(true))));
        assert!(matches!(second.await, Ok(Ok("second"))));
    }
}
