//! What changed in the referrals a caller follows, read from `referral_event` by event id.
//!
//! The cursor is an event id (opaque to clients, see `pagination`). A page reads at most up to
//! the newest event that existed when it began, so its cursor never runs past an event it did not
//! look at; when nothing more is visible, the cursor moves to that newest event, so a quiet
//! caller's next poll starts where everybody's log ends instead of re-reading others' events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use qiao_schema::domain::ReferralStatus;
use qiao_schema::entity::{referral, referral_event};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult, QuerySelect};

use super::Watcher;
use crate::auth::{self, Caller};
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{self, List};
use crate::privacy::audit;

/// One referral that changed: its state now and its newest event.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ChangedReferral {
    pub referral_id: String,
    pub code: String,
    pub status: ReferralStatus,
    pub live: bool,
    /// The newest event of the referral read by this page.
    pub last_event_id: i64,
    pub changed_at: DateTime<Utc>,
}

/// A page of changes and where to continue.
#[derive(Debug, Clone)]
pub struct Changes {
    /// Oldest change first.
    pub referrals: Vec<ChangedReferral>,
    /// Pass back as `cursor` for the next page or the next poll.
    pub cursor: String,
    /// More changes are waiting: ask again at once with `cursor`.
    pub has_more: bool,
}

/// The cursor of the position after event `event_id` (0: before every event).
pub fn cursor_of(event_id: i64) -> String {
    pagination::encode(List::ReferralChanges, &event_id.to_string())
}

/// The newest event id (0 when there is none).
async fn newest_event_id(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let newest: Option<Option<i64>> = referral_event::Entity::find()
        .select_only()
        .column_as(Expr::col(referral_event::Column::Id).max(), "newest")
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.flatten().unwrap_or(0))
}

fn unknown_cursor(field: &str) -> ApiError {
    ApiError::bad_input(
        field,
        "this cursor is unknown here (not issued by this server, or from another database): sync again \
         without a cursor (游标无效，请不带游标重新同步)",
    )
}

/// Checks a client's cursor against the log: the event id it names, 0 for none. A cursor that
/// does not decode, or names an event beyond the newest, was not issued here.
pub async fn position_of(db: &impl ConnectionTrait, cursor: Option<&str>, field: &str) -> ApiResult<(i64, i64)> {
    let newest = newest_event_id(db).await?;
    let Some(cursor) = cursor else { return Ok((0, newest)) };
    let position = pagination::payload(List::ReferralChanges, cursor)
        .filter(|payload| !payload.is_empty() && payload.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|payload| payload.parse::<i64>().ok())
        .ok_or_else(|| unknown_cursor(field))?;
    if position > newest {
        return Err(unknown_cursor(field));
    }
    Ok((position, newest))
}

/// `referralsChangedSince`: the caller's referrals with events after `cursor`, oldest change
/// first, each once, at most `first`. Reading a live referral's status is audited.
pub async fn changed_since(
    db: &DatabaseConnection,
    watcher: &Watcher,
    cursor: Option<&str>,
    first: Option<i32>,
    request_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Changes> {
    let first = pagination::page_size(first)?;
    let (after, upto) = position_of(db, cursor, "cursor").await?;
    let event = |c: referral_event::Column| Expr::col((referral_event::Entity, c));
    let column = |c: referral::Column| Expr::col((referral::Entity, c));
    let mut query = scoped_events(watcher, after, upto);
    query
        .column((referral::Entity, referral::Column::Code))
        .column((referral::Entity, referral::Column::Status))
        .column((referral::Entity, referral::Column::Live))
        .expr_as(column(referral::Column::Id), Alias::new("referral_id"))
        .expr_as(event(referral_event::Column::Id).max(), Alias::new("last_event_id"))
        .expr_as(event(referral_event::Column::At).max(), Alias::new("changed_at"))
        .group_by_columns([
            (referral::Entity, referral::Column::Id),
            (referral::Entity, referral::Column::Code),
            (referral::Entity, referral::Column::Status),
            (referral::Entity, referral::Column::Live),
        ])
        .order_by_expr(event(referral_event::Column::Id).max(), Order::Asc)
        .limit(first as u64 + 1);
    let statement = db.get_database_backend().build(&query);
    let mut referrals = ChangedReferral::find_by_statement(statement).all(db).await?;
    let has_more = referrals.len() > first;
    referrals.truncate(first);
    // Ids never tie (each event belongs to one referral), so every referral left out has a newer
    // event than the last one returned and comes on the next page.
    let position = match referrals.last() {
        Some(last) if has_more => last.last_event_id,
        _ => upto,
    };
    let audit_rows: Vec<_> = referrals
        .iter()
        .filter(|change| change.live)
        .map(|change| watcher.audit_read(&change.referral_id, "referral changes", request_id, now))
        .collect();
    audit::record(db, &audit_rows).await?;
    Ok(Changes { referrals, cursor: cursor_of(position), has_more })
}

/// `referral_event` joined to its referral, within the watcher's scope, after `after` and up to
/// `upto` (no columns selected yet).
fn scoped_events(watcher: &Watcher, after: i64, upto: i64) -> SelectStatement {
    let event = |c: referral_event::Column| Expr::col((referral_event::Entity, c));
    Query::select()
        .from(referral_event::Entity)
        .inner_join(
            referral::Entity,
            Expr::col((referral::Entity, referral::Column::Id))
                .equals((referral_event::Entity, referral_event::Column::ReferralId)),
        )
        .and_where(event(referral_event::Column::Id).gt(after))
        .and_where(event(referral_event::Column::Id).lte(upto))
        .and_where(watcher.referral_condition())
        .to_owned()
}

/// One status change, as the subscription delivers it.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct StatusChange {
    pub event_id: i64,
    pub referral_id: String,
    pub code: String,
    pub live: bool,
    pub status: ReferralStatus,
    pub previous_status: Option<ReferralStatus>,
    pub at: DateTime<Utc>,
}

/// Most status changes one poll of a subscription reads; the rest come on the next poll.
const STATUS_BATCH: u64 = 100;

/// The status events after `after` (up to the newest now) of the referrals `watcher` follows, in
/// order, and the position to poll from next.
pub async fn status_changes_after(
    db: &impl ConnectionTrait,
    watcher: &Watcher,
    after: i64,
) -> ApiResult<(Vec<StatusChange>, i64)> {
    let upto = newest_event_id(db).await?;
    if upto <= after {
        return Ok((Vec::new(), after));
    }
    let event = |c: referral_event::Column| Expr::col((referral_event::Entity, c));
    let mut query = scoped_events(watcher, after, upto);
    query
        .expr_as(event(referral_event::Column::Id), Alias::new("event_id"))
        .column((referral_event::Entity, referral_event::Column::ReferralId))
        .column((referral::Entity, referral::Column::Code))
        .column((referral::Entity, referral::Column::Live))
        .column((referral_event::Entity, referral_event::Column::Status))
        .column((referral_event::Entity, referral_event::Column::PreviousStatus))
        .column((referral_event::Entity, referral_event::Column::At))
        .and_where(event(referral_event::Column::Status).is_not_null())
        .order_by((referral_event::Entity, referral_event::Column::Id), Order::Asc)
        .limit(STATUS_BATCH);
    if let Watcher::Provider(_) = watcher {
        // A provider never hears of the referrer's draft.
        query.and_where(event(referral_event::Column::Status).ne(ReferralStatus::Draft.to_value()));
    }
    let statement = db.get_database_backend().build(&query);
    let changes = StatusChange::find_by_statement(statement).all(db).await?;
    // A full batch stops at its last event; otherwise everything up to `upto` was read.
    let next = if changes.len() as u64 == STATUS_BATCH { changes.last().map_or(upto, |c| c.event_id) } else { upto };
    Ok((changes, next))
}

/// A subscription's polling state.
pub struct StatusFeed {
    db: DatabaseConnection,
    account_id: String,
    organization_id: String,
    position: i64,
    poll: Duration,
    request_id: Option<String>,
    clock: std::sync::Arc<dyn Clock>,
    /// When the account was last checked.
    checked_at: std::time::Instant,
    /// Freed when the feed is dropped (the stream ended or the socket closed).
    _slot: super::SubscriptionSlot,
}

impl StatusFeed {
    /// Starts after `since` (a `referralsChangedSince` cursor) or, without one, after the newest
    /// event now.
    pub async fn start(
        db: DatabaseConnection,
        watcher: &Watcher,
        since: Option<&str>,
        poll: Duration,
        request_id: Option<String>,
        clock: std::sync::Arc<dyn Clock>,
        slots: &std::sync::Arc<super::SubscriptionSlots>,
    ) -> ApiResult<Self> {
        let slot = slots.take(watcher.account_id())?;
        let (position, newest) = position_of(&db, since, "since").await?;
        let position = if since.is_some() { position } else { newest };
        Ok(Self {
            db,
            account_id: watcher.account_id().to_owned(),
            organization_id: watcher.organization_id().to_owned(),
            position,
            poll,
            request_id,
            clock,
            checked_at: std::time::Instant::now(),
            _slot: slot,
        })
    }

    /// Waits for the next status changes. `None` ends the subscription: the account was disabled
    /// or lost the role or organisation it subscribed with. An idle poll costs one index look-up
    /// (the newest event id); the account is checked before anything is delivered and at least
    /// every [`RECHECK`], so a change of rights ends a quiet stream within that time.
    pub async fn next_batch(&mut self) -> Option<Vec<StatusChange>> {
        loop {
            tokio::time::sleep(self.poll).await;
            let newest = match newest_event_id(&self.db).await {
                Ok(newest) => newest,
                Err(error) => {
                    log_poll_error(&error);
                    continue;
                }
            };
            let news = newest > self.position;
            if !news && self.checked_at.elapsed() < RECHECK {
                continue;
            }
            let now = self.clock.now();
            let watcher = match self.current_watcher(now).await {
                Ok(Some(watcher)) => watcher,
                Ok(None) => return None,
                Err(error) => {
                    log_poll_error(&error);
                    continue;
                }
            };
            self.checked_at = std::time::Instant::now();
            if !news {
                continue;
            }
            match status_changes_after(&self.db, &watcher, self.position).await {
                Ok((changes, next)) => {
                    let audit_rows: Vec<_> = changes
                        .iter()
                        .filter(|change| change.live)
                        .map(|change| {
                            watcher.audit_read(
                                &change.referral_id,
                                "referral status subscription",
                                self.request_id.as_deref(),
                                now,
                            )
                        })
                        .collect();
                    // Delivered only once the reads are on the audit trail.
                    if let Err(error) = audit::record(&self.db, &audit_rows).await {
                        log_poll_error(&error);
                        continue;
                    }
                    self.position = next;
                    if !changes.is_empty() {
                        return Some(changes);
                    }
                }
                Err(error) => log_poll_error(&error),
            }
        }
    }

    /// The subscriber's rights as of now: `None` when it may no longer follow what it subscribed
    /// to (disabled, another role, another organisation).
    async fn current_watcher(&self, now: DateTime<Utc>) -> ApiResult<Option<Watcher>> {
        let Some(account) = auth::load_account(&self.db, &self.account_id).await? else { return Ok(None) };
        match Watcher::of(&self.db, &Caller::Account(std::sync::Arc::new(account)), now).await {
            Ok(watcher) if watcher.organization_id() == self.organization_id => Ok(Some(watcher)),
            Ok(_) | Err(ApiError::Forbidden | ApiError::Unauthenticated) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Longest a quiet subscription goes without checking its account.
pub const RECHECK: Duration = Duration::from_secs(30);

fn log_poll_error(error: &ApiError) {
    match error {
        ApiError::Internal(cause) => {
            tracing::warn!(error = %crate::error::error_chain(cause), "referral subscription poll failed; retrying")
        }
        other => tracing::warn!(code = other.code().as_str(), "referral subscription poll failed; retrying"),
    }
}
