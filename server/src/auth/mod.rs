//! Identity and authorisation.
//!
//! The HTTP layer decodes the bearer token once per request into a [`Caller`]: anonymous, or an
//! account loaded from the database (so a disabled account or a changed role takes effect at
//! once; nothing but the account id is trusted from the token). Resolvers then ask for a
//! capability ([`policy`]), made only by checking the caller's role and loading its scope from
//! the database, and hand it to the domain function.

pub mod keys;
pub mod password;
pub mod policy;
pub mod tokens;

use crate::privacy::crypto::DataCipher;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use qiao_schema::domain::Role;
use qiao_schema::entity::account;
use sea_orm::{ConnectionTrait, EntityTrait};
use sha2::Sha256;

use crate::config::RateLimits;
use crate::error::{ApiError, ApiResult};
use crate::rate_limit::{Cidr, RateLimiter};

/// A signed-in account, as of this request.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub role: Role,
    pub organization_id: Option<String>,
    pub display_name: String,
    pub username: Option<String>,
}

impl From<account::Model> for Account {
    fn from(row: account::Model) -> Self {
        Self {
            id: row.id,
            role: row.role,
            organization_id: row.organization_id,
            display_name: row.display_name,
            username: row.username,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Default)]
pub enum Caller {
    #[default]
    Anonymous,
    Account(Arc<Account>),
}

impl Caller {
    pub fn account(&self) -> Option<&Account> {
        match self {
            Self::Anonymous => None,
            Self::Account(account) => Some(account),
        }
    }

    /// The account, or UNAUTHENTICATED.
    pub fn require_account(&self) -> ApiResult<&Account> {
        self.account().ok_or(ApiError::Unauthenticated)
    }

    /// The account if its role is one of `roles`: UNAUTHENTICATED when anonymous, FORBIDDEN for
    /// another role. Private to `auth`: outside it, a role is asked for as a capability
    /// ([`policy`]), which also loads the account's scope.
    fn require_role(&self, roles: &[Role]) -> ApiResult<&Account> {
        let account = self.require_account()?;
        if roles.contains(&account.role) { Ok(account) } else { Err(ApiError::Forbidden) }
    }

    pub fn is_staff(&self) -> bool {
        self.account().is_some_and(|a| matches!(a.role, Role::CommitteeStaff | Role::ProviderStaff | Role::Admin))
    }
}

/// Sign-in machinery shared by every request.
pub struct AuthState {
    pub tokens: tokens::AccessTokens,
    pub phone_pepper: Vec<u8>,
    /// Whose `X-Forwarded-For` is believed (`QIAO_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<Cidr>,
    /// Every GraphQL request, per client (generous: only a script reaches it).
    pub request_limiter: RateLimiter,
    /// Sign-in and registration attempts per client.
    pub sign_in_limiter: RateLimiter,
    /// Edit suggestions per client.
    pub suggestion_limiter: RateLimiter,
    /// Look-ups of a referral by its code per client (codes must not be guessable by trying).
    pub referral_lookup_limiter: RateLimiter,
    /// Seals personal data at rest and computes the digests clients are found by.
    pub cipher: DataCipher,
}

impl AuthState {
    /// With the default rate limits.
    pub fn new(secrets: keys::Secrets) -> Self {
        Self::with_limits(secrets, &RateLimits::default())
    }

    pub fn with_limits(secrets: keys::Secrets, limits: &RateLimits) -> Self {
        let per_minute = |limit: u32| RateLimiter::with_max_keys(limit, Duration::from_secs(60), limits.max_keys);
        let cipher = DataCipher::new(secrets.data_keys.clone(), secrets.phone_pepper.clone());
        Self {
            cipher,
            phone_pepper: secrets.phone_pepper.clone(),
            tokens: tokens::AccessTokens::new(secrets),
            trusted_proxies: limits.trusted_proxies.clone(),
            request_limiter: per_minute(limits.requests_per_minute),
            sign_in_limiter: per_minute(limits.sign_ins_per_minute),
            suggestion_limiter: per_minute(limits.suggestions_per_minute),
            referral_lookup_limiter: per_minute(limits.referral_lookups_per_minute),
        }
    }
}

/// The caller of a GraphQL request (anonymous when the HTTP layer put none in).
pub fn caller<'a>(ctx: &async_graphql::Context<'a>) -> &'a Caller {
    static ANONYMOUS: Caller = Caller::Anonymous;
    ctx.data_opt::<Caller>().unwrap_or(&ANONYMOUS)
}

/// Loads an enabled account; `None` if it does not exist or is disabled.
pub async fn load_account(db: &impl ConnectionTrait, id: &str) -> ApiResult<Option<Account>> {
    Ok(account::Entity::find_by_id(id.to_owned()).one(db).await?.filter(|row| !row.disabled).map(Account::from))
}

/// The keyed digest a phone number is looked up by (the number itself is never stored).
pub fn phone_digest(pepper: &[u8], phone: &str) -> ApiResult<String> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(pepper).map_err(|e| ApiError::internal(e.to_string()))?;
    mac.update(phone.as_bytes());
    Ok(mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_digests_depend_on_the_pepper() {
        let a = phone_digest(b"pepper-one-16byt", "13912345678").ok();
        let b = phone_digest(b"pepper-two-16byt", "13912345678").ok();
        assert!(a.is_some() && a != b);
        assert!(!a.unwrap_or_default().contains("13912345678"));
    }
}
