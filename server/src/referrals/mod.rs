//! Referrals: the bridge from a social worker's client to a service, followed to its outcome.
//!
//! - [`machine`]: the status machine of DESIGN.md, a pure function (who may move from which status
//!   to which, and which moves need a reason).
//! - [`writes`]: `createReferral`, `transitionReferral`, `forwardReferral` ("referred
//!   elsewhere"), `addReferralNote` and the person's feedback by code. Every write appends an
//!   audit row and then an append-only `referral_event` (audit first: see `privacy::audit`), in one
//!   transaction; a status change locks the referral's row (PostgreSQL `FOR UPDATE`; SQLite holds
//!   the write lock from `BEGIN IMMEDIATE`) and compares the status it read.
//! - [`reads`]: one referral as its caller may see it, the client's data by consent, the events,
//!   the public view by code, the caseload, one client's referrals, the inbox and the counts by
//!   status.
//! - [`demo`]: the demo referral.
//!
//! Who sees what (scopes are SQL conditions, [`Party::scope`]): a social worker sees the referrals
//! its organisation made; provider staff see the referrals made to their organisation's services,
//! with client data only when the referral is *live* and a current (not withdrawn) consent names
//! their organisation, and then only the fields the consent covers. Everyone else (committee
//! staff, migrants, admins, other organisations, the anonymous) sees nothing, and a referral they
//! may not see reads exactly like one that does not exist (null / NOT_FOUND).
//!
//! Personal values (needs, notes, reasons, outcomes, the client's data) are sealed at rest with
//! `privacy::crypto` and never logged; the audit trail names fields, never values.

pub mod demo;
pub mod machine;
pub mod reads;
pub mod writes;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use qiao_schema::domain::{ReferralStatus, Role};
use qiao_schema::entity::{consent, referral};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::auth::Caller;
use crate::auth::policy::{CaseWorker, ProviderDesk};
use crate::error::{ApiError, ApiResult};
use crate::privacy::audit::{AuditAction, AuditEntry};
use crate::privacy::crypto::DataCipher;
pub use machine::Side;

/// What every referral function needs besides its capability: the database, the cipher that
/// seals personal values, the request (for the audit trail) and the time.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub db: &'a DatabaseConnection,
    pub cipher: &'a DataCipher,
    /// The HTTP request's id, written into audit rows.
    pub request_id: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// The caller acting on one side of referrals, with the capability that proves it.
#[derive(Debug, Clone)]
pub enum Party {
    /// A social worker: the referrals its organisation made.
    Referrer(CaseWorker),
    /// Provider staff: the referrals made to its organisation's services.
    Provider(ProviderDesk),
}

impl Party {
    /// The caller's side: a social worker refers, provider staff provide. UNAUTHENTICATED when
    /// anonymous, FORBIDDEN for any other role or an account without an organisation.
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        match caller.require_account()?.role {
            Role::SocialWorker => Ok(Self::Referrer(CaseWorker::of(db, caller, now).await?)),
            Role::ProviderStaff => Ok(Self::Provider(ProviderDesk::of(db, caller, now).await?)),
            _ => Err(ApiError::Forbidden),
        }
    }

    pub fn side(&self) -> Side {
        match self {
            Self::Referrer(_) => Side::Referrer,
            Self::Provider(_) => Side::Provider,
        }
    }

    pub fn organization_id(&self) -> &str {
        match self {
            Self::Referrer(worker) => worker.organization_id(),
            Self::Provider(desk) => desk.organization_id(),
        }
    }

    pub fn account_id(&self) -> &str {
        match self {
            Self::Referrer(worker) => &worker.account.id,
            Self::Provider(desk) => &desk.account.id,
        }
    }

    /// The referrals this party may see, as a query condition: the referrer's organisation sees
    /// what it made; the provider what was sent to it (a draft has not been sent).
    pub fn scope(&self) -> Condition {
        match self {
            Self::Referrer(_) => {
                Condition::all().add(referral::Column::ReferringOrganizationId.eq(self.organization_id()))
            }
            Self::Provider(_) => Condition::all()
                .add(referral::Column::TargetOrganizationId.eq(self.organization_id()))
                .add(referral::Column::Status.ne(ReferralStatus::Draft)),
        }
    }

    /// Whether this party may see `row` (the same rule as [`scope`](Self::scope)).
    pub fn sees(&self, row: &referral::Model) -> bool {
        match self {
            Self::Referrer(_) => row.referring_organization_id == self.organization_id(),
            Self::Provider(_) => {
                row.target_organization_id == self.organization_id() && row.status != ReferralStatus::Draft
            }
        }
    }

    pub fn who(&self) -> Who {
        Who {
            account_id: Some(self.account_id().to_owned()),
            role: match self {
                Self::Referrer(_) => "social_worker",
                Self::Provider(_) => "provider_staff",
            }
            .to_owned(),
            organization_id: Some(self.organization_id().to_owned()),
        }
    }
}

/// Who acted, as the audit trail and the events name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub account_id: Option<String>,
    /// `social_worker`, `provider_staff`, `committee_staff`, `migrant`, `admin`, or `public`.
    pub role: String,
    pub organization_id: Option<String>,
}

impl Who {
    /// Any caller, for audit rows of refused reads.
    pub fn of_caller(caller: &Caller) -> Self {
        match caller.account() {
            Some(account) => Self {
                account_id: Some(account.id.clone()),
                role: sea_orm::ActiveEnum::to_value(&account.role),
                organization_id: account.organization_id.clone(),
            },
            None => Self::public(),
        }
    }

    /// A person acting with a referral's public code (no account).
    pub fn public() -> Self {
        Self { account_id: None, role: "public".to_owned(), organization_id: None }
    }

    /// An audit row of this actor.
    fn audit(
        &self,
        env: &Env<'_>,
        record: (&'static str, &str),
        fields: Vec<&'static str>,
        action: AuditAction,
        purpose: &str,
        allowed: bool,
    ) -> AuditEntry {
        AuditEntry {
            account_id: self.account_id.clone(),
            role: self.role.clone(),
            organization_id: self.organization_id.clone(),
            record_type: record.0,
            record_id: record.1.to_owned(),
            fields,
            action,
            purpose: purpose.to_owned(),
            allowed,
            request_id: env.request_id.map(str::to_owned),
            at: env.now,
        }
    }
}

/// Why a referral took a status that needs a reason (stored as its snake_case code, counted in
/// reports; the words, if any, are a sealed note beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReasonCode {
    NoCapacity,
    NotEligible,
    ClientDeclined,
    ClientUnreachable,
    ServiceUnavailable,
    Duplicate,
    /// The provider referred the person to another service ([`writes::forward`]).
    Forwarded,
    ResolvedOtherwise,
    Other,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoCapacity => "no_capacity",
            Self::NotEligible => "not_eligible",
            Self::ClientDeclined => "client_declined",
            Self::ClientUnreachable => "client_unreachable",
            Self::ServiceUnavailable => "service_unavailable",
            Self::Duplicate => "duplicate",
            Self::Forwarded => "forwarded",
            Self::ResolvedOtherwise => "resolved_otherwise",
            Self::Other => "other",
        }
    }

    pub const ALL: [Self; 9] = [
        Self::NoCapacity,
        Self::NotEligible,
        Self::ClientDeclined,
        Self::ClientUnreachable,
        Self::ServiceUnavailable,
        Self::Duplicate,
        Self::Forwarded,
        Self::ResolvedOtherwise,
        Self::Other,
    ];

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.as_str() == code)
    }
}

/// Why the person could not get help, in their own feedback by code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackReason {
    NotEligible,
    MissingDocuments,
    ServiceClosed,
    NoAnswer,
    TooFar,
    TooExpensive,
    TreatedBadly,
    Other,
}

impl FeedbackReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotEligible => "not_eligible",
            Self::MissingDocuments => "missing_documents",
            Self::ServiceClosed => "service_closed",
            Self::NoAnswer => "no_answer",
            Self::TooFar => "too_far",
            Self::TooExpensive => "too_expensive",
            Self::TreatedBadly => "treated_badly",
            Self::Other => "other",
        }
    }
}

/// The client fields a consent may cover, as `consent.data_scope` spells them.
pub const CLIENT_FIELDS: [&str; 4] = ["display_name", "phone", "preferred_language", "notes"];

/// The client fields that current (not withdrawn) consents for `organization_id` cover; `None`
/// when there is no current consent.
pub async fn consented_fields(
    db: &impl ConnectionTrait,
    client_id: &str,
    organization_id: &str,
) -> ApiResult<Option<BTreeSet<&'static str>>> {
    let consents = consent::Entity::find()
        .filter(consent::Column::ClientId.eq(client_id))
        .filter(consent::Column::RecipientOrganizationId.eq(organization_id))
        .filter(consent::Column::WithdrawnAt.is_null())
        .all(db)
        .await?;
    if consents.is_empty() {
        return Ok(None);
    }
    let named: BTreeSet<&str> = consents.iter().flat_map(|c| c.data_scope.split(',').map(str::trim)).collect();
    Ok(Some(CLIENT_FIELDS.into_iter().filter(|field| named.contains(field)).collect()))
}
