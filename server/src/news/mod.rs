//! Referral news: what changed in the referrals a caller follows, and who is told.
//!
//! - [`changes`]: `referralsChangedSince` (polling and offline catch-up) and the polling behind
//!   the `referralStatusChanged` subscription, both read from the append-only `referral_event`
//!   log by event id and scoped in SQL by the caller's organisation ([`Watcher`]).
//! - [`notify`]: turns status events into content-free messages in `notification_outbox` and
//!   sends them through a [`notify::Sender`]; [`worker`] runs both in the server.
//!
//! Why the event id can be a cursor: every transaction that inserts a `referral_event` first
//! appends to the audit chain (`privacy::audit::append`), which on PostgreSQL takes a
//! transaction-scoped advisory lock; so event ids are handed out, and committed, one transaction
//! at a time. A reader that has seen event N will never later see a smaller id commit (on SQLite
//! writers are serialised anyway). Nothing here needs an in-process broadcast, so any replica
//! can serve any subscriber and run the worker.

pub mod changes;
pub mod notify;
pub mod worker;

use chrono::{DateTime, Utc};
use qiao_schema::domain::{ReferralStatus, Role};
use qiao_schema::entity::referral;
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{ActiveEnum, ConnectionTrait};

use crate::auth::Caller;
use crate::auth::policy::{CaseWorker, ProviderDesk};
use crate::error::ApiResult;
use crate::privacy::audit::{AuditAction, AuditEntry};

/// Whose referrals a caller follows: a social worker those its organisation made, provider staff
/// those sent to its organisation (once sent: a draft is the referrer's own). Committee staff,
/// migrants, admins and anonymous callers follow none (FORBIDDEN / UNAUTHENTICATED).
#[derive(Debug, Clone)]
pub enum Watcher {
    Worker(CaseWorker),
    Provider(ProviderDesk),
}

impl Watcher {
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        match caller.account().map(|account| account.role) {
            Some(Role::ProviderStaff) => ProviderDesk::of(db, caller, now).await.map(Self::Provider),
            // Anonymous: UNAUTHENTICATED; any other role: FORBIDDEN.
            _ => CaseWorker::of(db, caller, now).await.map(Self::Worker),
        }
    }

    pub fn organization_id(&self) -> &str {
        match self {
            Self::Worker(worker) => worker.organization_id(),
            Self::Provider(desk) => desk.organization_id(),
        }
    }

    pub fn account_id(&self) -> &str {
        match self {
            Self::Worker(worker) => &worker.account.id,
            Self::Provider(desk) => &desk.account.id,
        }
    }

    /// The audit trail's name of the role.
    pub fn role_name(&self) -> &'static str {
        match self {
            Self::Worker(_) => "social_worker",
            Self::Provider(_) => "provider_staff",
        }
    }

    /// The referrals this caller follows, as a condition on `referral` (lists are scoped in the
    /// query, never filtered row by row).
    pub fn referral_condition(&self) -> SimpleExpr {
        let column = |c: referral::Column| Expr::col((referral::Entity, c));
        match self {
            Self::Worker(worker) => column(referral::Column::ReferringOrganizationId).eq(worker.organization_id()),
            Self::Provider(desk) => column(referral::Column::TargetOrganizationId)
                .eq(desk.organization_id())
                .and(column(referral::Column::Status).ne(ReferralStatus::Draft.to_value())),
        }
    }

    /// The audit row of this caller reading a live referral's code and status.
    pub fn audit_read(
        &self,
        referral_id: &str,
        purpose: &str,
        request_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            account_id: Some(self.account_id().to_owned()),
            role: self.role_name().to_owned(),
            organization_id: Some(self.organization_id().to_owned()),
            record_type: "referral",
            record_id: referral_id.to_owned(),
            fields: vec!["code", "status"],
            action: AuditAction::Read,
            purpose: purpose.to_owned(),
            allowed: true,
            request_id: request_id.map(str::to_owned),
            at,
        }
    }
}

/// Live subscriptions a server holds at once: each polls the database, so their number is
/// bounded per server (`QIAO_MAX_SUBSCRIPTIONS`) and per account ([`PER_ACCOUNT`]: a few devices
/// and screens, not a script's thousands).
#[derive(Debug)]
pub struct SubscriptionSlots {
    max: usize,
    held: std::sync::Mutex<SlotCounts>,
}

#[derive(Debug, Default)]
struct SlotCounts {
    total: usize,
    by_account: std::collections::HashMap<String, usize>,
}

/// Most live subscriptions of one account on one server.
pub const PER_ACCOUNT: usize = 10;

impl SubscriptionSlots {
    pub fn new(max: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self { max, held: Default::default() })
    }

    /// A slot for `account_id`, held until the returned guard is dropped; RATE_LIMITED when the
    /// server or the account has none left.
    pub fn take(self: &std::sync::Arc<Self>, account_id: &str) -> ApiResult<SubscriptionSlot> {
        let mut held = self.held.lock().map_err(|_| crate::error::ApiError::internal("subscription slots"))?;
        let mine = held.by_account.get(account_id).copied().unwrap_or(0);
        if held.total >= self.max || mine >= PER_ACCOUNT {
            return Err(crate::error::ApiError::RateLimited);
        }
        held.total += 1;
        held.by_account.insert(account_id.to_owned(), mine + 1);
        Ok(SubscriptionSlot { slots: self.clone(), account_id: account_id.to_owned() })
    }
}

/// A held subscription slot; dropping it (the stream ended or the socket closed) frees it.
#[derive(Debug)]
pub struct SubscriptionSlot {
    slots: std::sync::Arc<SubscriptionSlots>,
    account_id: String,
}

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.slots.held.lock() {
            held.total = held.total.saturating_sub(1);
            if let Some(count) = held.by_account.get_mut(&self.account_id) {
                *count -= 1;
                if *count == 0 {
                    held.by_account.remove(&self.account_id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_slots_are_bounded_per_server_and_per_account_and_come_back() {
        let slots = SubscriptionSlots::new(12);
        let mine: Vec<_> = (0..PER_ACCOUNT).map(|_| slots.take("a")).collect::<Result<_, _>>().expect("slots");
        assert!(matches!(slots.take("a"), Err(crate::error::ApiError::RateLimited)));
        let others = [slots.take("b").expect("slot"), slots.take("c").expect("slot")];
        assert!(matches!(slots.take("d"), Err(crate::error::ApiError::RateLimited)), "the server is full");
        drop(mine);
        assert!(slots.take("a").is_ok() && slots.take("d").is_ok());
        drop(others);
    }
}
