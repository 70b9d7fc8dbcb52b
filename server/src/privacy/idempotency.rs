//! Replay-safe mutations for phones that retry (`createClient`, `createReferral`, transitions,
//! feedback): the caller sends a key with the request; a retry with the same key and the same
//! payload gets the first result and creates nothing; the same key with another payload is a
//! CONFLICT. Keys are scoped to the operation and the caller (another caller's identical key is
//! another key), store only a digest of the payload and the id of the result, and expire after
//! [`KEY_LIFETIME_DAYS`] (a phone may sit offline for days before it retries).
//!
//! Use: build an [`IdempotencyKey`]; [`IdempotencyKey::replay`] before doing anything; then
//! [`IdempotencyKey::claim`] first thing inside the write transaction: of two concurrent first
//! tries the second finds the key [`Claim::Taken`], rolls back and replays the first.

use chrono::{DateTime, Duration, Utc};
use qiao_schema::entity::idempotency_key;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, SqlErr};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::values::TextLimit;

pub const KEY_LIFETIME_DAYS: i64 = 7;

/// A checked key, scoped to an operation and a caller, with the digest of the payload it carries.
#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    id: String,
    payload_digest: String,
}

/// The outcome of claiming a key inside a write transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: go on and commit.
    Claimed,
    /// A concurrent first try holds it: roll back and [`IdempotencyKey::replay`].
    Taken,
}

impl IdempotencyKey {
    /// `scope` names the caller (an account id, or `code:<referral code>` for the public);
    /// `payload` is everything the request says (serialised to compare retries).
    pub fn new(operation: &str, scope: &str, key: &str, payload: &impl Serialize) -> ApiResult<Self> {
        const MAX: usize = TextLimit::IdempotencyKey.chars();
        let length = key.chars().count();
        if length == 0 || length > MAX || key.chars().any(char::is_control) {
            return Err(ApiError::bad_input(
                "idempotencyKey",
                format!(
                    "idempotencyKey must be 1 to {MAX} printable characters, e.g. a UUID \
                     (idempotencyKey 须为 1 到 {MAX} 个可见字符)"
                ),
            ));
        }
        let payload = serde_json::to_vec(payload).map_err(|e| ApiError::internal(e.to_string()))?;
        let hex = |bytes: &[u8]| Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        // The scope and key are hashed so the stored id says nothing about who sent it.
        let id = format!("{operation}:{}", hex(format!("{scope}\u{0}{key}").as_bytes()));
        Ok(Self { id, payload_digest: hex(&payload) })
    }

    /// The result id of an earlier request with this key, if it is still alive; CONFLICT when
    /// that request carried another payload.
    pub async fn replay(&self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> ApiResult<Option<String>> {
        let Some(stored) = idempotency_key::Entity::find_by_id(self.id.clone())
            .filter(idempotency_key::Column::CreatedAt.gt(expiry(now)))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if stored.payload_digest.as_deref() != Some(self.payload_digest.as_str()) {
            return Err(ApiError::conflict(
                "this idempotencyKey was already used for another request: use a new key for a new \
                 request (该 idempotencyKey 已用于另一个请求，新请求请用新的 key)",
            ));
        }
        Ok(Some(stored.response))
    }

    /// Claims the key for `result_id`, first thing in the write transaction.
    pub async fn claim(&self, txn: &impl ConnectionTrait, result_id: &str, now: DateTime<Utc>) -> ApiResult<Claim> {
        // A dead key with this id goes first, so the insert can take its place.
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::Id.eq(self.id.clone()))
            .filter(idempotency_key::Column::CreatedAt.lte(expiry(now)))
            .exec(txn)
            .await?;
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            id: Set(self.id.clone()),
            response: Set(result_id.to_owned()),
            created_at: Set(now),
            payload_digest: Set(Some(self.payload_digest.clone())),
        })
        .exec_without_returning(txn)
        .await;
        match inserted {
            Ok(_) => Ok(Claim::Claimed),
            Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(Claim::Taken),
            Err(error) => Err(error.into()),
        }
    }
}

/// Keys created at or before this are dead.
fn expiry(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(KEY_LIFETIME_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_scoped_to_operation_and_caller_and_carry_the_payload() {
        let key = |op: &str, scope: &str, payload: &str| IdempotencyKey::new(op, scope, "k-1", &payload).ok();
        let a = key("createReferral", "acct-1", "x").map(|k| k.id);
        assert_ne!(a, key("createReferral", "acct-2", "x").map(|k| k.id));
        assert_ne!(a, key("createClient", "acct-1", "x").map(|k| k.id));
        assert_ne!(
            key("createReferral", "acct-1", "x").map(|k| k.payload_digest),
            key("createReferral", "acct-1", "y").map(|k| k.payload_digest)
        );
        assert!(IdempotencyKey::new("op", "s", "", &()).is_err());
        assert!(IdempotencyKey::new("op", "s", "a\nb", &()).is_err());
    }
}
