//! Public edit suggestions: anyone, without an account, can say that a listing is wrong (closed,
//! moved, wrong phone, something else); the committee of the listing's area, or an admin,
//! accepts or rejects each suggestion. Accepting applies the change through the stewardship
//! functions, in the same transaction, so it lands in the listing's history as that steward's
//! edit.
//!
//! Privacy: nothing about the person who suggested is stored: no account, no client address
//! (the GraphQL layer rate-limits by address in memory only), nothing but the suggestion itself.
//! An idempotency key stores only the suggestion it produced and, for a signed-in sender, a
//! keyed digest of the account (no account id), and is deleted after [`IDEMPOTENCY_HOURS`].
//!
//! Keys are scoped so that nobody gets another sender's suggestion back: a signed-in sender's
//! keys are theirs alone; an anonymous sender's key is shared with every anonymous sender, so it
//! replays only to a retry of the very same suggestion (same service, kind, value and comment,
//! which the retry already knows) and answers CONFLICT to anything else.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use qiao_schema::domain::{ServiceStatus, SuggestionKind, SuggestionStatus};
use qiao_schema::entity::{edit_suggestion, idempotency_key, location, service, service_at_location};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use crate::auth::policy::{Scope, location_in_scope, service_in_scope};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Page, PageRequest};
use crate::stewardship::{self, Actor, Db, LocationPatch, StatusChange, Steward, Text};
use crate::values::{BoundedText, Field, PhoneNumber, TextLimit};

/// The reason shown on a listing closed because a resident said so and gave no comment.
const REPORTED_CLOSED: (&str, &str) = ("据居民反映已关闭", "Reported closed by a resident");

/// A suggestion as the public sends it.
pub struct NewSuggestion {
    pub service_id: String,
    pub kind: SuggestionKind,
    pub proposed_value: Option<String>,
    pub comment: Option<String>,
    /// A key the phone picks once per suggestion and resends on every retry.
    pub idempotency_key: Option<String>,
    /// Whose keys these are: a keyed digest naming the signed-in sender, `None` when anonymous.
    pub caller_scope: Option<String>,
}

/// How long a key replays its suggestion; older keys are deleted. A phone retries within
/// minutes; a day covers a phone that was offline overnight.
pub const IDEMPOTENCY_HOURS: i64 = 24;

/// Trimmed text, `None` when empty; BAD_USER_INPUT when longer than `limit`.
fn optional_text(field: Field, value: Option<String>, limit: TextLimit) -> ApiResult<Option<String>> {
    Ok(BoundedText::parse_optional(field, value.as_deref(), limit)?.map(BoundedText::into_string))
}

/// The stored key: the operation, the sender's scope and the client's key.
fn idempotency_id(scope: Option<&str>, key: &str) -> String {
    match scope {
        Some(scope) => format!("suggestEdit:account:{scope}:{key}"),
        None => format!("suggestEdit:anonymous:{key}"),
    }
}

/// A key is taken exactly as sent (not trimmed, unlike texts): it only has to match itself.
fn check_key(key: Option<String>) -> ApiResult<Option<String>> {
    const MAX: usize = TextLimit::IdempotencyKey.chars();
    match key {
        None => Ok(None),
        Some(key) => {
            let length = key.chars().count();
            if length == 0 || length > MAX || key.chars().any(char::is_control) {
                Err(ApiError::bad_input(
                    "idempotencyKey",
                    format!(
                        "idempotencyKey must be 1 to {MAX} printable characters, e.g. a UUID \
                         (idempotencyKey 须为 1 到 {MAX} 个可见字符)"
                    ),
                ))
            } else {
                Ok(Some(key))
            }
        }
    }
}

/// What a suggestion says, to tell a retry from another suggestion under the same key.
#[derive(PartialEq)]
struct Payload<'a> {
    service_id: &'a str,
    kind: SuggestionKind,
    proposed_value: Option<&'a str>,
    comment: Option<&'a str>,
}

impl<'a> Payload<'a> {
    fn of(row: &'a edit_suggestion::Model) -> Self {
        Self {
            service_id: &row.service_id,
            kind: row.kind,
            proposed_value: row.proposed_value.as_deref(),
            comment: row.comment.as_deref(),
        }
    }
}

/// The suggestion a live key already produced, if any, when `payload` is what it said;
/// CONFLICT when the key was used for another suggestion.
async fn replay(
    db: &DatabaseConnection,
    id: &str,
    payload: &Payload<'_>,
    now: DateTime<Utc>,
) -> ApiResult<Option<edit_suggestion::Model>> {
    let Some(stored) = idempotency_key::Entity::find_by_id(id.to_owned())
        .filter(idempotency_key::Column::CreatedAt.gt(expiry(now)))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let suggestion = edit_suggestion::Entity::find_by_id(stored.response.clone())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::internal(format!("idempotency key {} names a missing suggestion", stored.id)))?;
    if Payload::of(&suggestion) != *payload {
        return Err(ApiError::conflict(
            "this idempotencyKey was already used for another suggestion: use a new key for a new \
             suggestion (该 idempotencyKey 已用于另一条建议，新建议请用新的 key)",
        ));
    }
    Ok(Some(suggestion))
}

/// Keys created at or before this are dead.
fn expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::hours(IDEMPOTENCY_HOURS)
}

/// Records a suggestion from the public. A retry with the same idempotency key (from the same
/// signed-in account, or anonymously with the same suggestion) within [`IDEMPOTENCY_HOURS`]
/// returns the suggestion the key first produced; the key with a different suggestion is a
/// CONFLICT.
pub async fn submit(
    db: &DatabaseConnection,
    new: NewSuggestion,
    now: DateTime<Utc>,
) -> ApiResult<edit_suggestion::Model> {
    let key = check_key(new.idempotency_key)?;
    let key_id = key.as_deref().map(|key| idempotency_id(new.caller_scope.as_deref(), key));
    let mut proposed_value = optional_text(Field::SuggestionProposedValue, new.proposed_value, TextLimit::Name)?;
    let comment = optional_text(Field::SuggestionComment, new.comment, TextLimit::SuggestionComment)?;
    match new.kind {
        SuggestionKind::Moved if proposed_value.is_none() => {
            return Err(ApiError::bad_input(
                "proposedValue",
                "MOVED needs the new street address in proposedValue (搬迁须在 proposedValue 填写新地址)",
            ));
        }
        SuggestionKind::WrongPhone => {
            let number = proposed_value.as_deref().and_then(PhoneNumber::new).ok_or_else(|| {
                ApiError::bad_input(
                    "proposedValue",
                    "WRONG_PHONE needs the right number in proposedValue, e.g. 021-54861801 or 13912345678 \
                     (电话有误须在 proposedValue 填写正确号码)",
                )
            })?;
            proposed_value = Some(number.into_string());
        }
        SuggestionKind::Other if proposed_value.is_none() && comment.is_none() => {
            return Err(ApiError::bad_input(
                "comment",
                "OTHER needs a comment saying what is wrong (请在 comment 说明哪里有误)",
            ));
        }
        _ => {}
    }
    let payload = Payload {
        service_id: &new.service_id,
        kind: new.kind,
        proposed_value: proposed_value.as_deref(),
        comment: comment.as_deref(),
    };
    // Replayed before the listing is looked at: a retry gets its suggestion even if the
    // listing was archived since.
    if let Some(id) = &key_id
        && let Some(first) = replay(db, id, &payload, now).await?
    {
        return Ok(first);
    }
    listed_service(db, &new.service_id).await?;

    let row = edit_suggestion::Model {
        id: uuid::Uuid::now_v7().to_string(),
        service_id: new.service_id,
        kind: new.kind,
        proposed_value,
        comment,
        status: SuggestionStatus::Pending,
        created_at: now,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
    };
    let txn = crate::kernel::begin_write(db).await?;
    if let Some(id) = &key_id {
        // Dead keys go on the way (no separate task needed): a key is only ever written here.
        // A dead key with this very id is gone too, so the insert below can take its place.
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::CreatedAt.lte(expiry(now)))
            .exec(&txn)
            .await?;
        // The key goes in first: of two concurrent first tries, the second fails here and
        // replays the first.
        let stored = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(id.clone()),
            response: Set(row.id.clone()),
            created_at: Set(now),
            payload_digest: Set(None),
        })
        .exec_without_returning(&txn)
        .await;
        if let Err(error) = stored {
            if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
                txn.rollback().await?;
                return replay(db, id, &Payload::of(&row), now)
                    .await?
                    .ok_or_else(|| ApiError::internal("a lost idempotency key"));
            }
            return Err(error.into());
        }
    }
    edit_suggestion::Entity::insert(edit_suggestion::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

/// The service if the public directory lists it (active or temporarily closed, organisation not
/// archived); NOT_FOUND otherwise.
async fn listed_service(db: &DatabaseConnection, id: &str) -> ApiResult<service::Model> {
    let not_found = || ApiError::not_found("service");
    if id.len() > 64 {
        return Err(not_found());
    }
    let (service, _) = crate::directory::detail::find_listed_service(db, id).await?.ok_or_else(not_found)?;
    Ok(service)
}

/// One page of the suggestions with `status` about services in `scope`, oldest first.
pub async fn queue_page(
    db: &DatabaseConnection,
    scope: &Scope,
    status: SuggestionStatus,
    page: &PageRequest,
) -> ApiResult<Page<NamedSuggestion>> {
    let mut query = edit_suggestion::Entity::find()
        .filter(edit_suggestion::Column::Status.eq(status))
        .order_by_asc(edit_suggestion::Column::CreatedAt)
        .order_by_asc(edit_suggestion::Column::Id);
    if let Some(in_scope) = scope.services_condition(db).await? {
        // The scope is a condition on services; the queue holds suggestions about them.
        let services = sea_orm::sea_query::Query::select()
            .column(service::Column::Id)
            .from(service::Entity)
            .cond_where(in_scope)
            .to_owned();
        query = query.filter(edit_suggestion::Column::ServiceId.in_subquery(services));
    }
    let rows = query.offset(page.sql_offset()).limit(page.sql_limit()).all(db).await?;
    let mut page = page.page_of_fetched(rows);
    let rows = std::mem::take(&mut page.items);
    Ok(page.with_items(named(db, rows).await?))
}

/// A suggestion with the name of the service it is about.
#[derive(Debug, Clone)]
pub struct NamedSuggestion {
    pub suggestion: edit_suggestion::Model,
    /// Empty when the service is gone.
    pub service_name: Text,
}

/// Suggestions with their services' names, read in one query.
pub async fn named(db: &DatabaseConnection, rows: Vec<edit_suggestion::Model>) -> ApiResult<Vec<NamedSuggestion>> {
    let service_ids: Vec<String> = rows.iter().map(|r| r.service_id.clone()).collect();
    let names: HashMap<String, Text> = service::Entity::find()
        .filter(service::Column::Id.is_in(service_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, Text { zh: s.name_zh, en: s.name_en }))
        .collect();
    Ok(rows
        .into_iter()
        .map(|suggestion| NamedSuggestion {
            service_name: names
                .get(&suggestion.service_id)
                .cloned()
                .unwrap_or_else(|| Text { zh: String::new(), en: String::new() }),
            suggestion,
        })
        .collect())
}

/// Whether a service is in scope; only "not found" means no, anything else is an error.
async fn visible_in(db: &impl sea_orm::ConnectionTrait, scope: &Scope, service_id: &str) -> ApiResult<bool> {
    match service_in_scope(db, scope, service_id).await {
        Ok(_) => Ok(true),
        Err(ApiError::NotFound { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

/// A pending suggestion about a service in the actor's scope: NOT_FOUND when missing or out of
/// scope (alike), CONFLICT when already decided.
async fn pending_in_scope(db: &impl Db, actor: &Actor, id: &str) -> ApiResult<edit_suggestion::Model> {
    let not_found = || ApiError::not_found("suggestion");
    if id.len() > 64 {
        return Err(not_found());
    }
    let suggestion = edit_suggestion::Entity::find_by_id(id.to_owned()).one(db).await?.ok_or_else(not_found)?;
    if !visible_in(db, &actor.scope, &suggestion.service_id).await? {
        return Err(not_found());
    }
    if suggestion.status != SuggestionStatus::Pending {
        return Err(already_decided());
    }
    Ok(suggestion)
}

fn already_decided() -> ApiError {
    ApiError::conflict("this suggestion has already been accepted or rejected (该建议已处理)")
}

/// Marks a pending suggestion decided. The `status = pending` condition makes two stewards
/// deciding at once safe: the second finds nothing to update and gets CONFLICT.
async fn decide(
    db: &impl Db,
    actor: &Actor,
    suggestion: edit_suggestion::Model,
    status: SuggestionStatus,
    reason: Option<String>,
) -> ApiResult<edit_suggestion::Model> {
    let result = edit_suggestion::Entity::update_many()
        .set(edit_suggestion::ActiveModel {
            status: Set(status),
            decided_by: Set(Some(actor.account.id.clone())),
            decided_at: Set(Some(actor.now)),
            decision_reason: Set(reason.clone()),
            ..Default::default()
        })
        .filter(edit_suggestion::Column::Id.eq(suggestion.id.as_str()))
        .filter(edit_suggestion::Column::Status.eq(SuggestionStatus::Pending))
        .exec(db)
        .await?;
    if result.rows_affected != 1 {
        return Err(already_decided());
    }
    Ok(edit_suggestion::Model {
        status,
        decided_by: Some(actor.account.id.clone()),
        decided_at: Some(actor.now),
        decision_reason: reason,
        ..suggestion
    })
}

/// An accepted suggestion, and whether accepting it changed the listing.
pub struct Accepted {
    pub suggestion: edit_suggestion::Model,
    pub changed_listing: bool,
}

/// Accepts a suggestion and applies it to the listing, with history, in one transaction:
/// CLOSED closes the service temporarily (the comment, or a default, is the public reason);
/// MOVED sets the street of the service's first location; WRONG_PHONE replaces its first phone
/// number; OTHER changes nothing (the steward edits by hand).
pub async fn accept(db: &impl Db, actor: &Steward, id: &str) -> ApiResult<Accepted> {
    let txn = db.begin().await?;
    let suggestion = pending_in_scope(&txn, actor, id).await?;
    let suggestion = decide(&txn, actor, suggestion, SuggestionStatus::Accepted, None).await?;
    let changed_listing = apply(&txn, actor, &suggestion).await?;
    txn.commit().await?;
    Ok(Accepted { suggestion, changed_listing })
}

async fn apply(db: &impl Db, actor: &Steward, suggestion: &edit_suggestion::Model) -> ApiResult<bool> {
    let service_id = suggestion.service_id.as_str();
    let proposed = || {
        suggestion
            .proposed_value
            .clone()
            .ok_or_else(|| ApiError::conflict("the suggestion has no value to apply (该建议没有可采用的内容)"))
    };
    let outcome = match suggestion.kind {
        SuggestionKind::Closed => {
            let service = service_in_scope(db, &actor.scope, service_id).await?;
            if service.status == ServiceStatus::TemporarilyClosed {
                return Ok(false); // already says so
            }
            let reason = match &suggestion.comment {
                Some(comment) => Text { zh: comment.clone(), en: comment.clone() },
                None => Text { zh: REPORTED_CLOSED.0.to_owned(), en: REPORTED_CLOSED.1.to_owned() },
            };
            stewardship::change_service_status(db, actor, service_id, StatusChange::CloseTemporarily, Some(reason))
                .await?
        }
        SuggestionKind::Moved => {
            let street = proposed()?;
            if street.chars().count() > TextLimit::Name.chars() {
                return Err(ApiError::conflict("the proposed address is too long (建议的地址过长)"));
            }
            let location_id = first_location(db, &actor.scope, service_id).await?;
            let patch = LocationPatch { street: Some(Text { zh: street.clone(), en: street }), ..Default::default() };
            stewardship::update_location(db, actor, &location_id, patch).await?
        }
        SuggestionKind::WrongPhone => stewardship::set_service_phone(db, actor, service_id, &proposed()?).await?,
        SuggestionKind::Other => return Ok(false),
    };
    Ok(!outcome.changes.is_empty())
}

/// The service's first place (in the order it was linked) that the actor may change.
async fn first_location(db: &impl Db, scope: &Scope, service_id: &str) -> ApiResult<String> {
    let links = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(service_id))
        .order_by_asc(service_at_location::Column::Id)
        .all(db)
        .await?;
    for link in links {
        match location_in_scope(db, scope, &link.location_id).await {
            Ok(location::Model { id, archived_at: None, .. }) => return Ok(id),
            Ok(_) | Err(ApiError::NotFound { .. }) => continue,
            Err(other) => return Err(other),
        }
    }
    Err(ApiError::conflict("the service has no place whose address could change (该服务没有可修改地址的地点)"))
}

/// Rejects a suggestion; `reason` (1 to 500 characters) says why.
pub async fn reject(db: &impl Db, actor: &Steward, id: &str, reason: &str) -> ApiResult<edit_suggestion::Model> {
    let reason = BoundedText::parse(Field::SuggestionDecisionReason, reason, TextLimit::DecisionReason)?.into_string();
    let txn = db.begin().await?;
    let suggestion = pending_in_scope(&txn, actor, id).await?;
    let suggestion = decide(&txn, actor, suggestion, SuggestionStatus::Rejected, Some(reason)).await?;
    txn.commit().await?;
    Ok(suggestion)
}
