//! Erasure on request and retention (PIPL: keep personal data no longer than the purpose needs).
//!
//! - [`erase`] (an admin, on the person's request) removes every sealed value of a client: its
//!   name, phone and its digest, language, notes; its consents' purposes (the consents end); its
//!   referrals' needs and outcome texts and their events' notes; its household links and its
//!   queued messages. Referral statuses, codes and dates stay, anonymised, so that the counts
//!   funders ask for still add up.
//! - [`purge_expired`] (`qiao purge-expired`, and [`daily_sweep`] in the server) removes the
//!   sealed texts of referrals past their `retain_until` (`ended_at` plus
//!   `QIAO_REFERRAL_RETENTION_DAYS`, set by the referral module when a referral ends), and erases
//!   clients with no referral left inside retention and no activity for the retention period.
//!
//! On SQLite, `secure_delete` (set on every connection, `db.rs`) zeroes what an update replaces,
//! and after each erasure or purge the WAL is checkpointed and truncated (`db::flush_erased`),
//! so the removed values leave the database file and its WAL.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use qiao_schema::entity::{client, client_link, consent, notification_outbox, referral, referral_event};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::{ClientField, entry_of};
use crate::auth::policy::Admin;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;
use crate::privacy::audit::{self, AuditAction, AuditEntry};

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Referrals whose personal texts were removed.
    pub referrals: u64,
    /// Clients erased.
    pub clients: u64,
}

/// How many referrals one purge transaction handles (keeps the write lock short).
const BATCH: u64 = 200;

/// The `retain_until` of a referral that ended at `ended_at`.
pub fn retain_until(ended_at: DateTime<Utc>, retention: Duration) -> DateTime<Utc> {
    ended_at + retention
}

/// Erases a client on request (admins). NOT_FOUND when there is no such client; erasing an
/// erased client again answers `true` and changes nothing.
pub async fn erase(
    db: &DatabaseConnection,
    admin: &Admin,
    client_id: &str,
    request_id: Option<&str>,
) -> ApiResult<bool> {
    let txn = begin_write(db).await?;
    let row = client::Entity::find_by_id(client_id.to_owned())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("client"))?;
    if row.erased_at.is_some() {
        txn.rollback().await?;
        return Ok(true);
    }
    let fields = ClientField::ALL.iter().map(|field| field.as_str()).collect();
    audit::append(
        &txn,
        &entry_of(admin, "client", client_id, fields, AuditAction::Erase, "erase on request", request_id),
    )
    .await?;
    erase_in(&txn, client_id, admin.now).await?;
    txn.commit().await?;
    crate::db::flush_erased(db).await?;
    Ok(true)
}

/// Removes every sealed value of a client and of what hangs off it, inside the caller's
/// transaction.
async fn erase_in(txn: &impl ConnectionTrait, client_id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    client::Entity::update_many()
        .col_expr(client::Column::DisplayNameSealed, Expr::value(""))
        .col_expr(client::Column::PhoneSealed, Expr::value(Option::<String>::None))
        .col_expr(client::Column::PhoneDigest, Expr::value(Option::<String>::None))
        .col_expr(client::Column::PreferredLanguageSealed, Expr::value(Option::<String>::None))
        .col_expr(client::Column::NotesSealed, Expr::value(Option::<String>::None))
        .col_expr(client::Column::SensitiveKinds, Expr::value(""))
        .col_expr(client::Column::AcceptsMessages, Expr::value(false))
        .col_expr(client::Column::ErasedAt, Expr::value(Some(now)))
        .col_expr(client::Column::UpdatedAt, Expr::value(now))
        .filter(client::Column::Id.eq(client_id))
        .exec(txn)
        .await?;
    // The consents end with the data they were about; their purposes go.
    consent::Entity::update_many()
        .col_expr(consent::Column::WithdrawnAt, Expr::value(Some(now)))
        .filter(consent::Column::ClientId.eq(client_id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .exec(txn)
        .await?;
    consent::Entity::update_many()
        .col_expr(consent::Column::PurposeSealed, Expr::value(""))
        .filter(consent::Column::ClientId.eq(client_id))
        .exec(txn)
        .await?;
    let referral_ids: Vec<String> = referral::Entity::find()
        .select_only()
        .column(referral::Column::Id)
        .filter(referral::Column::ClientId.eq(client_id))
        .into_tuple()
        .all(txn)
        .await?;
    strip_referrals(txn, &referral_ids, now).await?;
    notification_outbox::Entity::delete_many()
        .filter(notification_outbox::Column::ClientId.eq(client_id))
        .exec(txn)
        .await?;
    client_link::Entity::delete_many()
        .filter(
            Condition::any()
                .add(client_link::Column::ClientId.eq(client_id))
                .add(client_link::Column::RelatedClientId.eq(client_id)),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// Removes the sealed texts of referrals and of their events; statuses and dates stay.
async fn strip_referrals(txn: &impl ConnectionTrait, ids: &[String], now: DateTime<Utc>) -> ApiResult<()> {
    for chunk in ids.chunks(BATCH as usize) {
        referral::Entity::update_many()
            .col_expr(referral::Column::NeedsSealed, Expr::value(Option::<String>::None))
            .col_expr(referral::Column::OutcomeSealed, Expr::value(Option::<String>::None))
            .filter(referral::Column::Id.is_in(chunk.iter().cloned()))
            .exec(txn)
            .await?;
        referral::Entity::update_many()
            .col_expr(referral::Column::PurgedAt, Expr::value(Some(now)))
            .filter(referral::Column::Id.is_in(chunk.iter().cloned()))
            .filter(referral::Column::PurgedAt.is_null())
            .exec(txn)
            .await?;
        referral_event::Entity::update_many()
            .col_expr(referral_event::Column::NoteSealed, Expr::value(Option::<String>::None))
            .filter(referral_event::Column::ReferralId.is_in(chunk.iter().cloned()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// An audit entry of the retention sweep itself.
fn system_entry(
    record_type: &'static str,
    record_id: &str,
    fields: Vec<&'static str>,
    action: AuditAction,
    now: DateTime<Utc>,
) -> AuditEntry {
    AuditEntry {
        account_id: None,
        role: "system".to_owned(),
        organization_id: None,
        record_type,
        record_id: record_id.to_owned(),
        fields,
        action,
        purpose: "retention expired".to_owned(),
        allowed: true,
        request_id: None,
        at: now,
    }
}

/// Applies retention at `now`: strips referrals past `retain_until`, then erases clients whose
/// every referral is past retention (or who have none) and who saw no activity (no change, no
/// referral change, no consent) for `retention`.
pub async fn purge_expired(db: &DatabaseConnection, now: DateTime<Utc>, retention: Duration) -> ApiResult<PurgeReport> {
    let mut report = PurgeReport::default();
    loop {
        let txn = begin_write(db).await?;
        let ids: Vec<String> = referral::Entity::find()
            .select_only()
            .column(referral::Column::Id)
            .filter(referral::Column::RetainUntil.lte(now))
            .filter(referral::Column::PurgedAt.is_null())
            .order_by_asc(referral::Column::Id)
            .limit(BATCH)
            .into_tuple()
            .all(&txn)
            .await?;
        if ids.is_empty() {
            txn.rollback().await?;
            break;
        }
        for id in &ids {
            audit::append(
                &txn,
                &system_entry("referral", id, vec!["needs", "outcome", "event_notes"], AuditAction::Purge, now),
            )
            .await?;
        }
        strip_referrals(&txn, &ids, now).await?;
        txn.commit().await?;
        report.referrals += ids.len() as u64;
    }
    let cutoff = now - retention;
    let candidates: Vec<String> = client::Entity::find()
        .select_only()
        .column(client::Column::Id)
        .filter(client::Column::ErasedAt.is_null())
        .filter(client::Column::UpdatedAt.lte(cutoff))
        .order_by_asc(client::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    for id in candidates {
        let txn = begin_write(db).await?;
        // Checked again inside the write transaction: activity may have come meanwhile.
        let still_idle = client::Entity::find_by_id(id.clone())
            .filter(client::Column::ErasedAt.is_null())
            .filter(client::Column::UpdatedAt.lte(cutoff))
            .lock_exclusive()
            .one(&txn)
            .await?
            .is_some();
        let kept_by_referral = referral::Entity::find()
            .filter(referral::Column::ClientId.eq(id.clone()))
            .filter(
                Condition::any()
                    // Not ended (no retention date yet), or ended and still inside retention.
                    .add(
                        Condition::all()
                            .add(referral::Column::RetainUntil.is_null())
                            .add(referral::Column::PurgedAt.is_null()),
                    )
                    .add(referral::Column::RetainUntil.gt(now))
                    .add(referral::Column::UpdatedAt.gt(cutoff)),
            )
            .count(&txn)
            .await?
            > 0;
        let recent_consent = consent::Entity::find()
            .filter(consent::Column::ClientId.eq(id.clone()))
            .filter(
                Condition::any()
                    .add(consent::Column::CapturedAt.gt(cutoff))
                    .add(consent::Column::WithdrawnAt.gt(cutoff)),
            )
            .count(&txn)
            .await?
            > 0;
        if !still_idle || kept_by_referral || recent_consent {
            txn.rollback().await?;
            continue;
        }
        let fields = ClientField::ALL.iter().map(|field| field.as_str()).collect();
        audit::append(&txn, &system_entry("client", &id, fields, AuditAction::Erase, now)).await?;
        erase_in(&txn, &id, now).await?;
        txn.commit().await?;
        report.clients += 1;
    }
    if report != PurgeReport::default() {
        crate::db::flush_erased(db).await?;
    }
    Ok(report)
}

/// Runs [`purge_expired`] a minute after start and then once a day, until the server stops
/// (the task is aborted). Logs counts only.
pub async fn daily_sweep(db: DatabaseConnection, clock: Arc<dyn Clock>, retention: Duration) {
    let mut wait = std::time::Duration::from_secs(60);
    loop {
        tokio::time::sleep(wait).await;
        wait = std::time::Duration::from_secs(24 * 60 * 60);
        match purge_expired(&db, clock.now(), retention).await {
            Ok(report) if report == PurgeReport::default() => tracing::debug!("retention sweep: nothing expired"),
            Ok(report) => {
                tracing::info!(referrals = report.referrals, clients = report.clients, "retention sweep purged")
            }
            Err(error) => tracing::error!(code = error.code().as_str(), "retention sweep failed; retrying tomorrow"),
        }
    }
}
