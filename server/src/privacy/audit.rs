//! The audit trail of personal data: one append-only row for every read and write of a client's
//! personal data or a live referral, allowed or denied. A row names who (account, role,
//! organisation), which record and which fields, why, and the request; never a personal value.
//!
//! Rows form a hash chain: each row's `hash` is SHA-256 over the previous row's hash and its own
//! content, and `seq` counts 1, 2, 3… So a changed row breaks its own hash, a removed row leaves a
//! gap in `seq`, and swapped rows break the links; [`verify`] (`qiao verify-audit`) walks the
//! chain and names the first bad row. (Cutting rows off the end is not detectable by a chain
//! alone: export the head hash elsewhere to anchor it.)
//!
//! Appending reads the last row and writes the next, so appenders must not interleave: on
//! PostgreSQL a transaction-scoped advisory lock serialises them; on SQLite the write
//! transaction already does.

use chrono::{DateTime, SubsecRound, Utc};
use qiao_schema::entity::audit_log;
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, QuerySelect, Statement,
};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::kernel::begin_write;

/// The advisory lock key of the audit chain on PostgreSQL (any constant unique to this use).
const CHAIN_LOCK: i64 = 0x5149_414f_4155_4449; // "QIAOAUDI"
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audited access was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Read,
    Create,
    Update,
    Erase,
    Purge,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Create => "create",
            Self::Update => "update",
            Self::Erase => "erase",
            Self::Purge => "purge",
        }
    }
}

/// One audited access. Field names only, never values.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub account_id: Option<String>,
    /// `social_worker`, `provider_staff`, `admin`, `public` (by code), `system` (purge).
    pub role: String,
    pub organization_id: Option<String>,
    /// `client`, `referral`, `consent`.
    pub record_type: &'static str,
    pub record_id: String,
    pub fields: Vec<&'static str>,
    pub action: AuditAction,
    /// Why: e.g. `view referral`, `create client`, `erase on request`.
    pub purpose: String,
    pub allowed: bool,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// Appends an entry inside the caller's write transaction (so the entry commits or rolls back with
/// the write it records).
pub async fn append(txn: &impl ConnectionTrait, entry: &AuditEntry) -> ApiResult<()> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [CHAIN_LOCK.into()],
        ))
        .await?;
    }
    let last = audit_log::Entity::find().order_by_desc(audit_log::Column::Seq).limit(1).one(txn).await?;
    let (seq, prev_hash) = match last {
        Some(row) => (row.seq + 1, row.hash),
        None => (1, GENESIS.to_owned()),
    };
    // Stored at microseconds, the finest both databases keep, so the hash recomputes exactly.
    let at = entry.at.trunc_subsecs(6);
    let fields = entry.fields.join(",");
    let content = Content {
        seq,
        at,
        account_id: entry.account_id.as_deref(),
        role: &entry.role,
        organization_id: entry.organization_id.as_deref(),
        record_type: entry.record_type,
        record_id: &entry.record_id,
        fields: &fields,
        action: entry.action.as_str(),
        purpose: &entry.purpose,
        allowed: entry.allowed,
        request_id: entry.request_id.as_deref(),
    };
    let hash = content.hash(&prev_hash);
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: NotSet,
        seq: Set(seq),
        at: Set(at),
        account_id: Set(entry.account_id.clone()),
        role: Set(entry.role.clone()),
        organization_id: Set(entry.organization_id.clone()),
        record_type: Set(entry.record_type.to_owned()),
        record_id: Set(entry.record_id.clone()),
        fields: Set(fields.clone()),
        action: Set(entry.action.as_str().to_owned()),
        purpose: Set(entry.purpose.clone()),
        allowed: Set(entry.allowed),
        request_id: Set(entry.request_id.clone()),
        prev_hash: Set(prev_hash),
        hash: Set(hash),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// Appends entries in a transaction of their own: for reads, which change nothing else.
pub async fn record(db: &DatabaseConnection, entries: &[AuditEntry]) -> ApiResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let txn = begin_write(db).await?;
    for entry in entries {
        append(&txn, entry).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The hashed content of a row: everything but its own id and hashes.
struct Content<'a> {
    seq: i64,
    at: DateTime<Utc>,
    account_id: Option<&'a str>,
    role: &'a str,
    organization_id: Option<&'a str>,
    record_type: &'a str,
    record_id: &'a str,
    fields: &'a str,
    action: &'a str,
    purpose: &'a str,
    allowed: bool,
    request_id: Option<&'a str>,
}

impl Content<'_> {
    fn of(row: &audit_log::Model) -> Content<'_> {
        Content {
            seq: row.seq,
            at: row.at,
            account_id: row.account_id.as_deref(),
            role: &row.role,
            organization_id: row.organization_id.as_deref(),
            record_type: &row.record_type,
            record_id: &row.record_id,
            fields: &row.fields,
            action: &row.action,
            purpose: &row.purpose,
            allowed: row.allowed,
            request_id: row.request_id.as_deref(),
        }
    }

    /// SHA-256 (hex) over the previous hash and a JSON array of the content: unambiguous
    /// whatever characters the values hold.
    fn hash(&self, prev_hash: &str) -> String {
        let canonical = serde_json::json!([
            prev_hash,
            self.seq,
            self.at.timestamp_micros(),
            self.account_id,
            self.role,
            self.organization_id,
            self.record_type,
            self.record_id,
            self.fields,
            self.action,
            self.purpose,
            self.allowed,
            self.request_id,
        ]);
        Sha256::digest(canonical.to_string().as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

/// The first row where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit row id {id} (seq {seq}): {problem}")]
pub struct BrokenChain {
    pub id: i64,
    pub seq: i64,
    pub problem: String,
}

/// The outcome of a verification: how many rows were checked, or where the chain breaks.
pub type Verification = Result<u64, BrokenChain>;

/// Walks the whole chain in id order, a page at a time.
pub async fn verify(db: &impl ConnectionTrait) -> ApiResult<Verification> {
    const PAGE: u64 = 1000;
    let mut checked = 0u64;
    let mut previous: Option<(i64, String)> = None; // (seq, hash)
    let mut after_id = i64::MIN;
    loop {
        use sea_orm::{ColumnTrait, QueryFilter};
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::Id.gt(after_id))
            .order_by_asc(audit_log::Column::Id)
            .limit(PAGE)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        for row in &rows {
            let (expected_seq, prev_hash) = match &previous {
                Some((seq, hash)) => (seq + 1, hash.as_str()),
                None => (1, GENESIS),
            };
            let broken = |problem: String| Ok(Err(BrokenChain { id: row.id, seq: row.seq, problem }));
            if row.seq != expected_seq {
                return broken(format!("expected seq {expected_seq}: a row was removed or the rows were reordered"));
            }
            if row.prev_hash != prev_hash {
                return broken("does not link to the row before it (removed, inserted or reordered rows)".to_owned());
            }
            if Content::of(row).hash(&row.prev_hash) != row.hash {
                return broken("its content does not match its hash (the row was changed)".to_owned());
            }
            previous = Some((row.seq, row.hash.clone()));
            checked += 1;
        }
    }
    Ok(Ok(checked))
}

impl From<BrokenChain> for ApiError {
    fn from(broken: BrokenChain) -> Self {
        ApiError::internal(broken.to_string())
    }
}
