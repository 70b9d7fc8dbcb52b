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
