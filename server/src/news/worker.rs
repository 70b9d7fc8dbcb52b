//! The notification worker: a task of the server that queues and sends referral news every
//! `QIAO_NOTIFICATION_POLL_MS`. Every replica may run one: the steps it repeats are safe to run
//! side by side (see `notify`).

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use super::notify::{self, Sender};
use crate::clock::Clock;
use crate::error::{ApiError, error_chain};
use crate::privacy::crypto::DataCipher;

/// What the worker needs.
pub struct Worker {
    pub db: DatabaseConnection,
    pub cipher: DataCipher,
    pub clock: Arc<dyn Clock>,
    /// `None`: queue only; the messages wait for a real sender.
    pub sender: Option<Arc<dyn Sender>>,
    pub poll: Duration,
}

impl Worker {
    /// Runs until `stop` turns true (or its sender is dropped).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => {}
                () = tokio::time::sleep(self.poll) => {}
            }
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            self.round().await;
        }
    }

    /// Queues everything new (batch after batch), then sends what is due.
    pub async fn round(&self) {
        loop {
            match notify::enqueue(&self.db, &self.cipher, self.clock.now()).await {
                Ok(read) if read > 0 => continue,
                Ok(_) => break,
                Err(error) => {
                    log("queueing referral notifications failed", &error);
                    break;
                }
            }
        }
        if let Some(sender) = &self.sender
            && let Err(error) = notify::send_due(&self.db, &self.cipher, sender.as_ref(), self.clock.now()).await
        {
            log("sending referral notifications failed", &error);
        }
    }
}

fn log(what: &'static str, error: &ApiError) {
    match error {
        ApiError::Internal(cause) => tracing::warn!(error = %error_chain(cause), "{what}"),
        other => tracing::warn!(code = other.code().as_str(), "{what}"),
    }
}
