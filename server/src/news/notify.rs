//! Content-free notifications of referral news (the HL7 Gravity referral guide's rule for SMS:
//! say that there is news, never what it is).
//!
//! Two steps, each safe to run on several replicas at once:
//! 1. [`enqueue`] reads `referral_event` after the worker's cursor (`notification_cursor`, locked
//!    while a batch is queued) and writes `notification_outbox` rows for each status change: one
//!    to the referring social worker (unless the worker made the change), one to the client when
//!    the client has a phone, agreed to messages and, for a live referral, still consents to the
//!    target organisation having their data. The unique (event, recipient) index makes a repeat a
//!    no-op, whatever happens to the cursor.
//! 2. [`send_due`] claims due rows one by one (a compare-and-set that counts the attempt and sets
//!    a lease, so two replicas never send the same row at once), builds the message and hands it to
//!    a [`Sender`]. A failure is kept as `last_error` (the sender's words, which must name no
//!    recipient) and tried again after a backoff; after [`MAX_ATTEMPTS`] the row stays unsent.
//!    Delivery is at least once: a replica that dies between sending and recording lets the lease
//!    run out, and the message goes again.
//!
//! A message holds the referral's code and, for the client, the referring organisation's public
//! phone number: never a name, a service, a need or a status. The client's phone is unsealed only
//! to send, and every unsealing is on the audit trail.

use std::path::PathBuf;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use qiao_schema::domain::{NotificationRecipient, ReferralStatus};
use qiao_schema::entity::{client, consent, notification_cursor, notification_outbox, phone, referral, referral_event};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::error::ApiResult;
use crate::kernel::begin_write;
use crate::privacy::audit::{self, AuditAction, AuditEntry};
use crate::privacy::crypto::{DataCipher, Slot};
use crate::privacy::mask_phone;

/// Sending attempts before a message is given up (it stays in the outbox, unsent).
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a replica may take to send a claimed message before another may try it.
pub const LEASE_SECONDS: i64 = 60;
/// Events read per queued batch, messages claimed per sending round.
const ENQUEUE_BATCH: u64 = 200;
const SEND_BATCH: u64 = 50;
/// The worker's row in `notification_cursor`.
const CURSOR: &str = "outbox";
/// Message templates (the outbox stores the key; the text is made when sending).
pub const TEMPLATE_WORKER: &str = "referral_news_worker";
pub const TEMPLATE_CLIENT: &str = "referral_news_client";

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// A social worker, by account (a push to the app in a real deployment).
    Account { account_id: String },
    /// A client, by the phone on their record (unsealed only for this).
    Phone { client_id: String, phone: String },
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Message {
    pub outbox_id: i64,
    pub to: Address,
    /// `zh-CN` or `en`.
    pub language: String,
    pub text: String,
}

/// Why a send failed, in words that name no recipient (kept in `last_error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError(pub String);

/// A channel messages leave through. Implementations must keep addresses and message text out of
/// their errors and logs.
#[async_trait]
pub trait Sender: Send + Sync {
    async fn send(&self, message: &Message) -> Result<(), SendError>;
}

/// The development sender: appends one line per message to a file, with the phone masked
/// (`139****5678`), so a developer sees what would be sent without the file holding a number.
pub struct FileSender {
    path: PathBuf,
    /// One writer at a time, so lines never interleave.
    lock: tokio::sync::Mutex<()>,
}

impl FileSender {
    pub fn new(path: PathBuf) -> Self {
        Self { path, lock: tokio::sync::Mutex::new(()) }
    }
}

#[async_trait]
impl Sender for FileSender {
    async fn send(&self, message: &Message) -> Result<(), SendError> {
        use tokio::io::AsyncWriteExt;
        let to = match &message.to {
            Address::Account { account_id } => format!("account:{account_id}"),
            Address::Phone { client_id, phone } => format!("phone:{} client:{client_id}", mask_phone(phone)),
        };
        let line = format!("{}\t{to}\t{}\t{}\n", message.outbox_id, message.language, message.text);
        let _turn = self.lock.lock().await;
        // The error's kind only: an I/O error's text may carry the path.
        let failed = |error: std::io::Error| SendError(format!("notification file: {}", error.kind()));
        let mut file =
            tokio::fs::OpenOptions::new().create(true).append(true).open(&self.path).await.map_err(failed)?;
        file.write_all(line.as_bytes()).await.map_err(failed)?;
        file.flush().await.map_err(failed)
    }
}

/// The wait before attempt `attempts + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let doublings = attempts.clamp(1, 8) - 1;
    chrono::Duration::seconds((30i64 << doublings).min(3600))
}

/// The message language for a client's preferred language: English for `en…`, otherwise written
/// Chinese (dialects such as `yue` or `wuu` are spoken; their speakers read Chinese).
pub fn message_language(preferred: Option<&str>) -> &'static str {
    match preferred {
        Some(tag) if tag.trim().to_ascii_lowercase().starts_with("en") => "en",
        _ => "zh-CN",
    }
}

/// The text of a message. `call` is the referring organisation's public number, when it has one.
pub fn message_text(template: &str, language: &str, code: &str, call: Option<&str>) -> String {
    let english = language == "en";
    match (template, english, call) {
        (TEMPLATE_WORKER, false, _) => format!("【桥】转介 {code} 有新进展，请打开桥查看。"),
        (TEMPLATE_WORKER, true, _) => format!("[Qiao] Referral {code} has news: open Qiao to see it."),
        (_, false, Some(number)) => format!("【桥】您的转介 {code} 有新进展：请打开桥 App 查看，或致电 {number}。"),
        (_, false, None) => format!("【桥】您的转介 {code} 有新进展：请打开桥 App 查看，或联系为您转介的社工。"),
        (_, true, Some(number)) => {
            format!("[Qiao] Your referral {code} has news: open the Qiao app or call {number}.")
        }
        (_, true, None) => {
            format!("[Qiao] Your referral {code} has news: open the Qiao app or contact your social worker.")
        }
    }
}

/// The client's personal data this module reads, named as the audit trail and the seals name them.
const PHONE: &str = "phone";
const PREFERRED_LANGUAGE: &str = "preferred_language";

fn client_slot<'a>(client_id: &'a str, field: &'a str) -> Slot<'a> {
    Slot { table: "client", id: client_id, field }
}

fn system_read(client_id: &str, fields: Vec<&'static str>, purpose: &str, at: DateTime<Utc>) -> AuditEntry {
    AuditEntry {
        account_id: None,
        role: "system".to_owned(),
        organization_id: None,
        record_type: "client",
        record_id: client_id.to_owned(),
        fields,
        action: AuditAction::Read,
        purpose: purpose.to_owned(),
        allowed: true,
        request_id: None,
        at,
    }
}

/// The client of `referral` when they may be messaged about it: a phone on record, agreed to
/// messages, not erased; and for a live referral a current consent for the target organisation.
async fn messageable_client(db: &impl ConnectionTrait, referral: &referral::Model) -> ApiResult<Option<client::Model>> {
    if referral.purged_at.is_some() {
        return Ok(None);
    }
    let Some(client) = client::Entity::find_by_id(referral.client_id.clone()).one(db).await? else {
        return Ok(None);
    };
    if client.erased_at.is_some() || client.phone_sealed.is_none() || !client.accepts_messages {
        return Ok(None);
    }
    if referral.live {
        let consents = consent::Entity::find()
            .filter(consent::Column::ClientId.eq(&client.id))
            .filter(consent::Column::RecipientOrganizationId.eq(&referral.target_organization_id))
            .filter(consent::Column::WithdrawnAt.is_null())
            .count(db)
            .await?;
        if consents == 0 {
            return Ok(None);
        }
    }
    Ok(Some(client))
}

/// Queues the messages of the events after the worker's cursor (one batch). Returns how many
/// events it read: a full batch means more may be waiting.
pub async fn enqueue(db: &DatabaseConnection, cipher: &DataCipher, now: DateTime<Utc>) -> ApiResult<usize> {
    // Idle rounds only read: a write transaction (on SQLite, the database's write lock) is taken
    // only when there are events past the cursor.
    let read_up_to =
        notification_cursor::Entity::find_by_id(CURSOR.to_owned()).one(db).await?.map_or(0, |c| c.event_id);
    let newer = referral_event::Entity::find().filter(referral_event::Column::Id.gt(read_up_to)).one(db).await?;
    if newer.is_none() {
        return Ok(0);
    }
    let txn = begin_write(db).await?;
    notification_cursor::Entity::insert(notification_cursor::ActiveModel {
        id: Set(CURSOR.to_owned()),
        event_id: Set(0),
        updated_at: Set(now),
    })
    .on_conflict(OnConflict::column(notification_cursor::Column::Id).do_nothing().to_owned())
    .exec_without_returning(&txn)
    .await?;
    let mut find = notification_cursor::Entity::find_by_id(CURSOR.to_owned());
    if txn.get_database_backend() == DbBackend::Postgres {
        // Replicas take turns (SQLite's write transaction already holds the database's lock).
        find = find.lock_exclusive();
    }
    let position = find.one(&txn).await?.map_or(0, |cursor| cursor.event_id);
    let events = referral_event::Entity::find()
        .filter(referral_event::Column::Id.gt(position))
        .order_by_asc(referral_event::Column::Id)
        .limit(ENQUEUE_BATCH)
        .all(&txn)
        .await?;
    let Some(last) = events.last().map(|event| event.id) else {
        txn.rollback().await?;
        return Ok(0);
    };
    let mut rows = Vec::new();
    for event in &events {
        // Notes carry no status news; a draft is the referrer's own work.
        if !event.status.is_some_and(|status| status != ReferralStatus::Draft) {
            continue;
        }
        let Some(referral) = referral::Entity::find_by_id(event.referral_id.clone()).one(&txn).await? else {
            continue;
        };
        let row = |recipient, account_id, client_id, language: &str, template: &str| notification_outbox::ActiveModel {
            id: NotSet,
            referral_id: Set(referral.id.clone()),
            event_id: Set(event.id),
            recipient: Set(recipient),
            account_id: Set(account_id),
            client_id: Set(client_id),
            language: Set(language.to_owned()),
            template: Set(template.to_owned()),
            created_at: Set(now),
            sent_at: Set(None),
            attempts: Set(0),
            last_error: Set(None),
            next_attempt_at: Set(None),
        };
        if event.actor_account_id.as_deref() != Some(referral.referring_account_id.as_str()) {
            rows.push(row(
                NotificationRecipient::SocialWorker,
                Some(referral.referring_account_id.clone()),
                None,
                "zh-CN",
                TEMPLATE_WORKER,
            ));
        }
        if let Some(client) = messageable_client(&txn, &referral).await? {
            let preferred = cipher.open_optional(
                client_slot(&client.id, PREFERRED_LANGUAGE),
                client.preferred_language_sealed.as_deref(),
            )?;
            if preferred.is_some() {
                let entry = system_read(&client.id, vec![PREFERRED_LANGUAGE], "notify of referral news", now);
                audit::append(&txn, &entry).await?;
            }
            let language = message_language(preferred.as_deref());
            rows.push(row(NotificationRecipient::Client, None, Some(client.id.clone()), language, TEMPLATE_CLIENT));
        }
    }
    for row in rows {
        // A row already queued (by another replica, or before a crash) stays as it is.
        notification_outbox::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([notification_outbox::Column::EventId, notification_outbox::Column::Recipient])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    notification_cursor::Entity::update_many()
        .col_expr(notification_cursor::Column::EventId, Expr::value(last))
        .col_expr(notification_cursor::Column::UpdatedAt, Expr::value(now))
        .filter(notification_cursor::Column::Id.eq(CURSOR))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(events.len())
}

/// What one sending round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
    /// Claimed by another replica first.
    pub skipped: usize,
    /// Given up because the recipient may no longer be messaged (erased, no phone, consent or
    /// agreement withdrawn).
    pub dropped: usize,
}

/// Sends the due messages (one round of at most a batch). Returns what happened.
pub async fn send_due(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    sender: &dyn Sender,
    now: DateTime<Utc>,
) -> ApiResult<SendReport> {
    let due = notification_outbox::Entity::find()
        .filter(notification_outbox::Column::SentAt.is_null())
        .filter(notification_outbox::Column::Attempts.lt(MAX_ATTEMPTS))
        .filter(
            Condition::any()
                .add(notification_outbox::Column::NextAttemptAt.is_null())
                .add(notification_outbox::Column::NextAttemptAt.lte(now)),
        )
        .order_by_asc(notification_outbox::Column::Id)
        .limit(SEND_BATCH)
        .all(db)
        .await?;
    let mut report = SendReport::default();
    for row in due {
        // Claim: count the attempt and take a lease, only if nobody did since we read the row.
        let claimed = notification_outbox::Entity::update_many()
            .col_expr(notification_outbox::Column::Attempts, Expr::value(row.attempts + 1))
            .col_expr(
                notification_outbox::Column::NextAttemptAt,
                Expr::value(now + chrono::Duration::seconds(LEASE_SECONDS)),
            )
            .filter(notification_outbox::Column::Id.eq(row.id))
            .filter(notification_outbox::Column::SentAt.is_null())
            .filter(notification_outbox::Column::Attempts.eq(row.attempts))
            .filter(match row.next_attempt_at {
                None => notification_outbox::Column::NextAttemptAt.is_null(),
                Some(at) => notification_outbox::Column::NextAttemptAt.eq(at),
            })
            .exec(db)
            .await?;
        if claimed.rows_affected != 1 {
            report.skipped += 1;
            continue;
        }
        let attempts = row.attempts + 1;
        let Some(message) = compose(db, cipher, &row, now).await? else {
            finish(db, row.id, None, Some("the recipient may no longer be messaged; given up".to_owned()), true)
                .await?;
            report.dropped += 1;
            continue;
        };
        match sender.send(&message).await {
            Ok(()) => {
                finish(db, row.id, Some(now), None, false).await?;
                report.sent += 1;
            }
            Err(SendError(reason)) => {
                let reason: String = reason.chars().take(200).collect();
                tracing::warn!(outbox_id = row.id, attempts, "a notification could not be sent; will retry");
                notification_outbox::Entity::update_many()
                    .col_expr(notification_outbox::Column::LastError, Expr::value(reason))
                    .col_expr(notification_outbox::Column::NextAttemptAt, Expr::value(now + backoff(attempts)))
                    .filter(notification_outbox::Column::Id.eq(row.id))
                    .exec(db)
                    .await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// Records the end of an attempt: sent, or given up (`drop`: no more attempts).
async fn finish(
    db: &DatabaseConnection,
    id: i64,
    sent_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    drop: bool,
) -> ApiResult<()> {
    let mut update = notification_outbox::Entity::update_many()
        .col_expr(notification_outbox::Column::SentAt, Expr::value(sent_at))
        .col_expr(notification_outbox::Column::LastError, Expr::value(last_error))
        .col_expr(notification_outbox::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None));
    if drop {
        update = update.col_expr(notification_outbox::Column::Attempts, Expr::value(MAX_ATTEMPTS));
    }
    update.filter(notification_outbox::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// The message of an outbox row; `None` when its recipient may no longer be messaged.
async fn compose(
    db: &DatabaseConnection,
    cipher: &DataCipher,
    row: &notification_outbox::Model,
    now: DateTime<Utc>,
) -> ApiResult<Option<Message>> {
    let Some(referral) = referral::Entity::find_by_id(row.referral_id.clone()).one(db).await? else {
        return Ok(None);
    };
    let (to, call) = match row.recipient {
        NotificationRecipient::SocialWorker => {
            let Some(account_id) = row.account_id.clone() else { return Ok(None) };
            (Address::Account { account_id }, None)
        }
        NotificationRecipient::Client => {
            // Checked again: consent or the agreement to messages may have been withdrawn since.
            let Some(client) = messageable_client(db, &referral).await? else { return Ok(None) };
            let Some(phone) = cipher.open_optional(client_slot(&client.id, PHONE), client.phone_sealed.as_deref())?
            else {
                return Ok(None);
            };
            audit::record(db, &[system_read(&client.id, vec![PHONE], "send referral news", now)]).await?;
            let call = phone::Entity::find()
                .filter(phone::Column::OrganizationId.eq(&referral.referring_organization_id))
                .order_by_asc(phone::Column::Id)
                .one(db)
                .await?
                .map(|phone| phone.number);
            (Address::Phone { client_id: client.id, phone }, call)
        }
    };
    let text = message_text(&row.template, &row.language, &referral.code, call.as_deref());
    Ok(Some(Message { outbox_id: row.id, to, language: row.language.clone(), text }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_thirty_seconds_to_an_hour() {
        let seconds: Vec<i64> = (1..=9).map(|attempt| backoff(attempt).num_seconds()).collect();
        assert_eq!(seconds, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    }

    #[test]
    fn messages_say_only_that_there_is_news() {
        let zh = message_text(TEMPLATE_CLIENT, "zh-CN", "QX7ABCDEFGH", Some("021-64001234"));
        assert_eq!(zh, "【桥】您的转介 QX7ABCDEFGH 有新进展：请打开桥 App 查看，或致电 021-64001234。");
        let en = message_text(TEMPLATE_CLIENT, "en", "QX7ABCDEFGH", None);
        assert_eq!(en, "[Qiao] Your referral QX7ABCDEFGH has news: open the Qiao app or contact your social worker.");
        assert!(message_text(TEMPLATE_WORKER, "zh-CN", "QX7", None).contains("QX7"));
    }

    #[test]
    fn english_speakers_get_english_and_everyone_else_chinese() {
        assert_eq!(message_language(Some("en-GB")), "en");
        assert_eq!(message_language(Some("EN")), "en");
        assert_eq!(message_language(Some("yue")), "zh-CN");
        assert_eq!(message_language(Some("zh-CN")), "zh-CN");
        assert_eq!(message_language(None), "zh-CN");
    }
}
