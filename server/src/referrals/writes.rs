//! Every change to a referral: create, move through the status machine, forward elsewhere, note,
//! and the person's own feedback by code. Each runs in one write transaction that appends an
//! audit row *before* the referral event it records (the audit chain's advisory lock then orders
//! events by commit on PostgreSQL, so a reader tailing events by id never skips a late commit).

use chrono::{Duration, NaiveDate};
use qiao_schema::domain::{ReferralStatus, Urgency};
use qiao_schema::entity::{client, referral, referral_event, service_at_location};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;

use super::machine::{self, Refusal, Side};
use super::{Env, FeedbackReason, Party, ReasonCode, Who, consented_fields};
use crate::auth::policy::{CaseWorker, ProviderDesk};
use crate::directory::detail::find_listed_service;
use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;
use crate::privacy::audit::{self, AuditAction};
use crate::privacy::crypto::Slot;
use crate::privacy::idempotency::{Claim, IdempotencyKey};
use crate::values::{BoundedText, Field, ReferralCode, TextLimit};

/// Where a referral's sealed values live (bound into the ciphertext).
pub(super) fn needs_slot(referral_id: &str) -> Slot<'_> {
    Slot { table: "referral", id: referral_id, field: "needs" }
}

pub(super) fn outcome_slot(referral_id: &str) -> Slot<'_> {
    Slot { table: "referral", id: referral_id, field: "outcome" }
}

/// An event's note is bound to its referral (the event's own id is only known once inserted).
pub(super) fn note_slot(referral_id: &str) -> Slot<'_> {
    Slot { table: "referral_event", id: referral_id, field: "note" }
}

/// A new referral as the social worker sends it.
#[derive(Debug, Clone, Serialize)]
pub struct NewReferral {
    pub client_id: String,
    pub service_id: String,
    pub location_id: Option<String>,
    pub live: bool,
    /// Free text (sealed).
    pub needs: Option<String>,
    /// Category codes of the needs (already checked against the taxonomy).
    pub need_categories: Vec<String>,
    pub urgency: Urgency,
    pub follow_up_on: Option<NaiveDate>,
    /// Kept as a draft (not sent) when true.
    pub draft: bool,
}

fn optional_text(field: Field, text: Option<&str>, limit: TextLimit) -> ApiResult<Option<String>> {
    Ok(BoundedText::parse_optional(field, text, limit)?.map(BoundedText::into_string))
}

/// The referral `id` if `party` may see it, locked for this transaction's update on PostgreSQL;
/// NOT_FOUND otherwise (out of scope reads like missing).
async fn lock_in_scope(txn: &DatabaseTransaction, party: &Party, id: &str) -> ApiResult<referral::Model> {
    referral::Entity::find_by_id(id.to_owned())
        .filter(party.scope())
        .filter(referral::Column::PurgedAt.is_null())
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ApiError::not_found("referral"))
}

/// The referral a replayed key produced, as `party` sees it now.
async fn replayed(env: &Env<'_>, party: &Party, id: &str) -> ApiResult<referral::Model> {
    referral::Entity::find_by_id(id.to_owned())
        .filter(party.scope())
        .one(env.db)
        .await?
        .ok_or(ApiError::not_found("referral"))
}

/// A fresh public code no referral holds yet (a repeat is a 2^-50 event; try a few times anyway).
async fn fresh_code(txn: &DatabaseTransaction) -> ApiResult<String> {
    for _ in 0..5 {
        let code = ReferralCode::generate().map_err(ApiError::internal)?.into_string();
        if referral::Entity::find().filter(referral::Column::Code.eq(code.as_str())).count(txn).await? == 0 {
            return Ok(code);
        }
    }
    Err(ApiError::internal("no free referral code after 5 tries"))
}

/// Appends an event (after the caller appended its audit row).
#[allow(clippy::too_many_arguments)]
async fn append_event(
    txn: &DatabaseTransaction,
    env: &Env<'_>,
    referral_id: &str,
    status: Option<ReferralStatus>,
    previous: Option<ReferralStatus>,
    who: &Who,
    reason_code: Option<&str>,
    note: Option<&str>,
) -> ApiResult<()> {
    referral_event::Entity::insert(referral_event::ActiveModel {
        id: NotSet,
        referral_id: Set(referral_id.to_owned()),
        status: Set(status),
        previous_status: Set(previous),
        actor_account_id: Set(who.account_id.clone()),
        actor_role: Set(who.role.clone()),
        actor_organization_id: Set(who.organization_id.clone()),
        reason_code: Set(reason_code.map(str::to_owned)),
        note_sealed: Set(env.cipher.seal_optional(note_slot(referral_id), note)?),
        at: Set(env.now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// What a new referral row holds, for [`insert_referral`].
struct NewRow<'a> {
    client_id: &'a str,
    service_id: &'a str,
    location_id: Option<&'a str>,
    referring_account_id: &'a str,
    referring_organization_id: &'a str,
    target_organization_id: &'a str,
    live: bool,
    status: ReferralStatus,
    need_categories: String,
    needs: Option<&'a str>,
    urgency: Urgency,
    follow_up_on: Option<NaiveDate>,
    forwarded_from_id: Option<&'a str>,
}

/// Inserts a referral and its first event, audited, in `txn`.
async fn insert_referral(
    txn: &DatabaseTransaction,
    env: &Env<'_>,
    id: String,
    who: &Who,
    row: NewRow<'_>,
) -> ApiResult<referral::Model> {
    let code = fresh_code(txn).await?;
    let mut fields = vec!["status", "service", "client"];
    if row.needs.is_some() {
        fields.push("needs");
    }
    audit::append(txn, &who.audit(env, ("referral", &id), fields, AuditAction::Create, "create referral", true))
        .await?;
    let sent = row.status == ReferralStatus::Requested;
    let model = referral::Model {
        code,
        client_id: row.client_id.to_owned(),
        service_id: row.service_id.to_owned(),
        location_id: row.location_id.map(str::to_owned),
        referring_account_id: row.referring_account_id.to_owned(),
        referring_organization_id: row.referring_organization_id.to_owned(),
        target_organization_id: row.target_organization_id.to_owned(),
        live: row.live,
        status: row.status,
        need_categories: row.need_categories,
        needs_sealed: env.cipher.seal_optional(needs_slot(&id), row.needs)?,
        urgency: row.urgency,
        follow_up_on: row.follow_up_on,
        reason_code: None,
        outcome_sealed: None,
        feedback: None,
        feedback_reason_code: None,
        feedback_at: None,
        forwarded_from_id: row.forwarded_from_id.map(str::to_owned),
        created_at: env.now,
        updated_at: env.now,
        sent_at: sent.then_some(env.now),
        accepted_at: None,
        ended_at: None,
        retain_until: None,
        purged_at: None,
        id,
    };
    referral::Entity::insert(referral::ActiveModel::from(model.clone())).exec_without_returning(txn).await?;
    append_event(txn, env, &model.id, Some(model.status), None, who, None, None).await?;
    Ok(model)
}

/// The bilingual refusal of a live referral without consent.
fn consent_needed() -> ApiError {
    ApiError::conflict(
        "a live referral shares the client's data with the service's organisation and needs the \
         client's current consent for that organisation: record the consent first, or send a logged \
         referral (live: false), which shares nothing about the person \
         (实时转介会把服务对象的信息提供给服务机构，须先记录其对该机构的有效同意；或改用仅登记转介（live: false），不提供任何个人信息)",
    )
}

/// Creates a referral from `worker`'s organisation for one of its clients to a listed service:
/// REQUESTED (sent), or DRAFT when asked. Idempotent: a retry with the same key and payload
/// returns the first referral; the key with another payload is a CONFLICT.
pub async fn create(
    env: &Env<'_>,
    worker: &CaseWorker,
    new: NewReferral,
    idempotency_key: &str,
) -> ApiResult<referral::Model> {
    let needs = optional_text(Field::ReferralNeeds, new.needs.as_deref(), TextLimit::LongText)?;
    let new = NewReferral { needs, ..new };
    let key = IdempotencyKey::new("createReferral", &worker.account.id, idempotency_key, &new)?;
    let party = Party::Referrer(worker.clone());
    if let Some(id) = key.replay(env.db, env.now).await? {
        return replayed(env, &party, &id).await;
    }
    let client = client::Entity::find_by_id(new.client_id.clone())
        .filter(client::Column::OrganizationId.eq(worker.organization_id()))
        .filter(client::Column::ErasedAt.is_null())
        .one(env.db)
        .await?
        .ok_or(ApiError::not_found("client"))?;
    let (service, _) = find_listed_service(env.db, &new.service_id).await?.ok_or(ApiError::not_found("service"))?;
    if let Some(location_id) = &new.location_id {
        let offered_there = service_at_location::Entity::find()
            .filter(service_at_location::Column::ServiceId.eq(service.id.as_str()))
            .filter(service_at_location::Column::LocationId.eq(location_id.as_str()))
            .count(env.db)
            .await?
            > 0;
        if !offered_there {
            return Err(ApiError::bad_input(
                "locationId",
                "the service is not offered at that location (该服务不在这个地点提供)",
            ));
        }
    }
    if new.live && consented_fields(env.db, &client.id, &service.organization_id).await?.is_none() {
        return Err(consent_needed());
    }

    let id = uuid::Uuid::now_v7().to_string();
    let txn = begin_write(env.db).await?;
    if key.claim(&txn, &id, env.now).await? == Claim::Taken {
        txn.rollback().await?;
        let first = key.replay(env.db, env.now).await?.ok_or_else(|| ApiError::internal("taken key vanished"))?;
        return replayed(env, &party, &first).await;
    }
    let row = NewRow {
        client_id: &client.id,
        service_id: &service.id,
        location_id: new.location_id.as_deref(),
        referring_account_id: &worker.account.id,
        referring_organization_id: worker.organization_id(),
        target_organization_id: &service.organization_id,
        live: new.live,
        status: if new.draft { ReferralStatus::Draft } else { ReferralStatus::Requested },
        need_categories: new.need_categories.join(","),
        needs: new.needs.as_deref(),
        urgency: new.urgency,
        follow_up_on: new.follow_up_on,
        forwarded_from_id: None,
    };
    let model = insert_referral(&txn, env, id, &party.who(), row).await?;
    txn.commit().await?;
    Ok(model)
}

/// A move through the status machine as the caller asks for it.
#[derive(Debug, Clone, Serialize)]
pub struct Move {
    pub to: ReferralStatus,
    /// Why, as a code (counted in reports).
    #[serde(skip)]
    pub reason_code: Option<ReasonCode>,
    /// Why, in words (sealed).
    pub reason: Option<String>,
    /// The provider's outcome, with COMPLETED or FAILED (sealed).
    pub outcome: Option<String>,
    /// A note with the move, e.g. the appointment (sealed; its own event after the move's).
    pub note: Option<String>,
}

/// What a transition's idempotency key compares.
#[derive(Serialize)]
struct MovePayload<'a> {
    id: &'a str,
    to: ReferralStatus,
    reason_code: Option<&'static str>,
    reason: Option<&'a str>,
    outcome: Option<&'a str>,
    note: Option<&'a str>,
}

/// Moves a referral to `to` as `party`: illegal moves are CONFLICT, moves of the other side
/// FORBIDDEN, a missing reason BAD_USER_INPUT; a refused move changes nothing. With a key, a retry
/// returns the referral as it is instead of a CONFLICT for the repeated move.
pub async fn transition(
    env: &Env<'_>,
    party: &Party,
    id: &str,
    mv: Move,
    idempotency_key: Option<&str>,
    retention: Duration,
) -> ApiResult<referral::Model> {
    let reason = optional_text(Field::ReferralReason, mv.reason.as_deref(), TextLimit::DecisionReason)?;
    let outcome = optional_text(Field::ReferralOutcome, mv.outcome.as_deref(), TextLimit::LongText)?;
    let note = optional_text(Field::ReferralNote, mv.note.as_deref(), TextLimit::LongText)?;
    let key = match idempotency_key {
        Some(key) => {
            let payload = MovePayload {
                id,
                to: mv.to,
                reason_code: mv.reason_code.map(ReasonCode::as_str),
                reason: reason.as_deref(),
                outcome: outcome.as_deref(),
                note: note.as_deref(),
            };
            Some(IdempotencyKey::new("transitionReferral", party.account_id(), key, &payload)?)
        }
        None => None,
    };
    if let Some(key) = &key
        && let Some(first) = key.replay(env.db, env.now).await?
    {
        return replayed(env, party, &first).await;
    }
    if outcome.is_some() && !matches!(mv.to, ReferralStatus::Completed | ReferralStatus::Failed) {
        return Err(ApiError::bad_input(
            "outcome",
            "an outcome goes with COMPLETED or FAILED (结果只能在完成或失败时填写)",
        ));
    }
    // A reason in words alone counts; its code is then `other`.
    let reason_code = mv.reason_code.or(reason.as_ref().map(|_| ReasonCode::Other));
    if reason_code == Some(ReasonCode::Forwarded) {
        return Err(ApiError::bad_input(
            "reasonCode",
            "FORWARDED is set by forwardReferral, which also makes the new referral (转介他处请用 forwardReferral)",
        ));
    }

    let txn = begin_write(env.db).await?;
    let current = lock_in_scope(&txn, party, id).await?;
    let refused = match machine::check(current.status, mv.to, party.side(), reason_code.is_some()) {
        Ok(()) => None,
        Err(Refusal::Illegal) => Some(ApiError::conflict(format!(
            "a referral cannot move from {} to {} (转介状态不能从 {} 变为 {})",
            status_name(current.status),
            status_name(mv.to),
            status_name(current.status),
            status_name(mv.to)
        ))),
        Err(Refusal::OtherSide) => Some(ApiError::Forbidden),
        Err(Refusal::ReasonMissing) => Some(ApiError::bad_input(
            "reason",
            format!(
                "moving a referral to {} needs a reason: reasonCode or reason (变为 {} 须说明原因)",
                status_name(mv.to),
                status_name(mv.to)
            ),
        )),
    };
    if outcome.is_some() && party.side() != Side::Provider {
        txn.rollback().await?;
        return Err(ApiError::Forbidden);
    }
    if let Some(error) = refused {
        txn.rollback().await?;
        return Err(error);
    }
    if let Some(key) = &key
        && key.claim(&txn, id, env.now).await? == Claim::Taken
    {
        txn.rollback().await?;
        return replayed(env, party, id).await;
    }
    let code = if machine::needs_reason(mv.to) { reason_code.map(ReasonCode::as_str) } else { None };
    let model =
        apply_move(&txn, env, party, &current, mv.to, code, reason.as_deref(), outcome.as_deref(), retention).await?;
    if let Some(note) = &note {
        write_note(&txn, env, party, id, note).await?;
    }
    txn.commit().await?;
    Ok(model)
}

/// Appends a note event (audited first) in `txn`.
async fn write_note(txn: &DatabaseTransaction, env: &Env<'_>, party: &Party, id: &str, note: &str) -> ApiResult<()> {
    let who = party.who();
    audit::append(txn, &who.audit(env, ("referral", id), vec!["note"], AuditAction::Update, "add referral note", true))
        .await?;
    append_event(txn, env, id, None, None, &who, None, Some(note)).await
}

/// Writes a checked move: the row (compare-and-set on the status read), the audit row, the event.
#[allow(clippy::too_many_arguments)]
async fn apply_move(
    txn: &DatabaseTransaction,
    env: &Env<'_>,
    party: &Party,
    current: &referral::Model,
    to: ReferralStatus,
    reason_code: Option<&str>,
    reason: Option<&str>,
    outcome: Option<&str>,
    retention: Duration,
) -> ApiResult<referral::Model> {
    let mut next = current.clone();
    next.status = to;
    next.updated_at = env.now;
    if reason_code.is_some() {
        next.reason_code = reason_code.map(str::to_owned);
    }
    match to {
        ReferralStatus::Requested => next.sent_at = Some(env.now),
        ReferralStatus::Accepted => next.accepted_at = Some(env.now),
        _ => {}
    }
    if to.is_terminal() && next.ended_at.is_none() {
        next.ended_at = Some(env.now);
        next.retain_until = Some(crate::clients::retention::retain_until(env.now, retention));
    }
    if outcome.is_some() {
        next.outcome_sealed = env.cipher.seal_optional(outcome_slot(&current.id), outcome)?;
    }
    // Only what a move changes is written, and only while the status is still the one read.
    let updated = referral::Entity::update_many()
        .col_expr(referral::Column::Status, Expr::value(next.status))
        .col_expr(referral::Column::UpdatedAt, Expr::value(next.updated_at))
        .col_expr(referral::Column::ReasonCode, Expr::value(next.reason_code.clone()))
        .col_expr(referral::Column::SentAt, Expr::value(next.sent_at))
        .col_expr(referral::Column::AcceptedAt, Expr::value(next.accepted_at))
        .col_expr(referral::Column::EndedAt, Expr::value(next.ended_at))
        .col_expr(referral::Column::RetainUntil, Expr::value(next.retain_until))
        .col_expr(referral::Column::OutcomeSealed, Expr::value(next.outcome_sealed.clone()))
        .filter(referral::Column::Id.eq(current.id.as_str()))
        .filter(referral::Column::Status.eq(current.status))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ApiError::conflict(
            "the referral changed while this request ran: reload it and try again (转介刚被他人更新，请刷新后重试)",
        ));
    }
    let mut fields = vec!["status"];
    if reason.is_some() {
        fields.push("reason");
    }
    if outcome.is_some() {
        fields.push("outcome");
    }
    let who = party.who();
    let purpose = format!("move referral to {}", status_name(to));
    audit::append(txn, &who.audit(env, ("referral", &current.id), fields, AuditAction::Update, &purpose, true)).await?;
    append_event(txn, env, &current.id, Some(to), Some(current.status), &who, reason_code, reason).await?;
    Ok(next)
}

/// The stored (snake_case) name of a status, for messages.
pub fn status_name(status: ReferralStatus) -> String {
    sea_orm::ActiveEnum::to_value(&status)
}

/// Adds a note (sealed) to a referral's history, by either side.
pub async fn add_note(env: &Env<'_>, party: &Party, id: &str, note: &str) -> ApiResult<referral::Model> {
    let note = BoundedText::parse(Field::ReferralNote, note, TextLimit::LongText)?.into_string();
    let txn = begin_write(env.db).await?;
    let current = lock_in_scope(&txn, party, id).await?;
    referral::Entity::update_many()
        .col_expr(referral::Column::UpdatedAt, Expr::value(env.now))
        .filter(referral::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    let who = party.who();
    audit::append(
        &txn,
        &who.audit(env, ("referral", id), vec!["note"], AuditAction::Update, "add referral note", true),
    )
    .await?;
    append_event(&txn, env, id, None, None, &who, None, Some(&note)).await?;
    txn.commit().await?;
    Ok(referral::Model { updated_at: env.now, ..current })
}

/// "Referred elsewhere": the provider cannot help and sends the person on to another service.
/// This referral ends (REJECTED when it was only requested, FAILED once accepted: "we could not
/// help", reason code `forwarded`), and a new referral, linked by `forwarded_from_id`, goes to
/// the other service from the same referring social worker, who follows it in the caseload. The
/// new one is live only when this one was live *and* the client's current consent names the new
/// organisation; otherwise it is logged (shares nothing about the person).
///
/// Returns (the ended referral, the new referral).
pub async fn forward(
    env: &Env<'_>,
    desk: &ProviderDesk,
    id: &str,
    service_id: &str,
    reason: Option<String>,
    retention: Duration,
) -> ApiResult<(referral::Model, referral::Model)> {
    let reason = optional_text(Field::ReferralReason, reason.as_deref(), TextLimit::DecisionReason)?;
    let party = Party::Provider(desk.clone());
    let (service, _) = find_listed_service(env.db, service_id).await?.ok_or(ApiError::not_found("service"))?;
    let txn = begin_write(env.db).await?;
    let current = lock_in_scope(&txn, &party, id).await?;
    let ended = match current.status {
        ReferralStatus::Requested => ReferralStatus::Rejected,
        ReferralStatus::Accepted | ReferralStatus::InProgress | ReferralStatus::OnHold => ReferralStatus::Failed,
        other => {
            txn.rollback().await?;
            return Err(ApiError::conflict(format!(
                "a {} referral cannot be forwarded (状态为 {} 的转介不能转介他处)",
                status_name(other),
                status_name(other)
            )));
        }
    };
    if service.id == current.service_id {
        txn.rollback().await?;
        return Err(ApiError::bad_input(
            "serviceId",
            "forward to another service than this referral's own (请选择另一项服务)",
        ));
    }
    let live = current.live && consented_fields(&txn, &current.client_id, &service.organization_id).await?.is_some();
    let needs = env.cipher.open_optional(needs_slot(&current.id), current.needs_sealed.as_deref())?;
    let old = apply_move(
        &txn,
        env,
        &party,
        &current,
        ended,
        Some(ReasonCode::Forwarded.as_str()),
        reason.as_deref(),
        None,
        retention,
    )
    .await?;
    let row = NewRow {
        client_id: &current.client_id,
        service_id: &service.id,
        location_id: None,
        referring_account_id: &current.referring_account_id,
        referring_organization_id: &current.referring_organization_id,
        target_organization_id: &service.organization_id,
        live,
        status: ReferralStatus::Requested,
        need_categories: current.need_categories.clone(),
        needs: needs.as_deref(),
        urgency: current.urgency,
        follow_up_on: current.follow_up_on,
        forwarded_from_id: Some(&current.id),
    };
    let new = insert_referral(&txn, env, uuid::Uuid::now_v7().to_string(), &party.who(), row).await?;
    txn.commit().await?;
    Ok((old, new))
}

/// What a feedback's idempotency key compares.
#[derive(Serialize)]
struct FeedbackPayload {
    got_help: bool,
    reason: Option<&'static str>,
}

/// The person's own word, with the public code and no account: got help or not, and why not.
/// A later feedback replaces an earlier one (people change their mind); with a key, a retry
/// changes nothing. NOT_FOUND for a code that names no sent referral.
pub async fn feedback(
    env: &Env<'_>,
    code: &str,
    got_help: bool,
    reason: Option<FeedbackReason>,
    idempotency_key: Option<&str>,
) -> ApiResult<referral::Model> {
    let code = ReferralCode::parse(code).ok_or(ApiError::not_found("referral"))?;
    let reason = if got_help { None } else { reason.or(Some(FeedbackReason::Other)) };
    let key = match idempotency_key {
        Some(key) => Some(IdempotencyKey::new(
            "referralFeedback",
            &format!("code:{}", code.as_str()),
            key,
            &FeedbackPayload { got_help, reason: reason.map(FeedbackReason::as_str) },
        )?),
        None => None,
    };
    let txn = begin_write(env.db).await?;
    let current = referral::Entity::find()
        .filter(referral::Column::Code.eq(code.as_str()))
        .filter(referral::Column::Status.is_not_in([ReferralStatus::Draft, ReferralStatus::EnteredInError]))
        .filter(referral::Column::PurgedAt.is_null())
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(ApiError::not_found("referral"))?;
    if let Some(key) = &key {
        if let Some(first) = key.replay(&txn, env.now).await?
            && first == current.id
        {
            txn.rollback().await?;
            return Ok(current);
        }
        if key.claim(&txn, &current.id, env.now).await? == Claim::Taken {
            txn.rollback().await?;
            return Ok(current);
        }
    }
    let feedback = if got_help { "got_help" } else { "could_not" };
    referral::Entity::update_many()
        .col_expr(referral::Column::Feedback, Expr::value(feedback))
        .col_expr(referral::Column::FeedbackReasonCode, Expr::value(reason.map(FeedbackReason::as_str)))
        .col_expr(referral::Column::FeedbackAt, Expr::value(env.now))
        .col_expr(referral::Column::UpdatedAt, Expr::value(env.now))
        .filter(referral::Column::Id.eq(current.id.as_str()))
        .exec(&txn)
        .await?;
    let who = Who::public();
    let entry =
        who.audit(env, ("referral", &current.id), vec!["feedback"], AuditAction::Update, "feedback by code", true);
    audit::append(&txn, &entry).await?;
    append_event(&txn, env, &current.id, None, None, &who, Some(&format!("feedback_{feedback}")), None).await?;
    txn.commit().await?;
    Ok(referral::Model {
        feedback: Some(feedback.to_owned()),
        feedback_reason_code: reason.map(|r| r.as_str().to_owned()),
        feedback_at: Some(env.now),
        updated_at: env.now,
        ..current
    })
}
