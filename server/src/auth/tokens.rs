//! Access tokens (short-lived JWTs) and refresh tokens (opaque, stored hashed, rotated).
//!
//! Access token: HS256 only (the algorithm is pinned; `alg: none` and every other algorithm is
//! refused), header `kid` selects the key, claims `iss`, `aud`, `sub`, `exp`, `nbf`, `iat` and
//! `typ: "access"` are all required. Times are checked against the server's clock (injected, so
//! tests can move it) rather than the library's.
//!
//! Refresh token: 32 random bytes, shown once, stored as SHA-256. Each use rotates it; using a
//! rotated or revoked token again means it leaked, so its whole family (every token descended
//! from the same sign-in) is revoked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use qiao_schema::entity::refresh_token;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::keys::Secrets;
use crate::error::{ApiError, ApiResult};

pub const ISSUER: &str = "qiao";
pub const AUDIENCE: &str = "qiao-app";
pub const ACCESS_TOKEN_TYPE: &str = "access";
/// Access tokens live 10 minutes (the issue allows at most 15).
pub const ACCESS_TOKEN_MINUTES: i64 = 10;
pub const REFRESH_TOKEN_DAYS: i64 = 30;
/// Clock skew tolerated between replicas, seconds.
const LEEWAY_SECONDS: i64 = 30;
/// Longest token accepted; anything longer is refused before parsing.
pub const MAX_TOKEN_BYTES: usize = 4096;
const REFRESH_PREFIX: &str = "qrt_";

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub typ: String,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct AccessTokens {
    secrets: Secrets,
}

impl AccessTokens {
    pub fn new(secrets: Secrets) -> Self {
        Self { secrets }
    }

    /// A token for `account_id`, valid from `now` for [`ACCESS_TOKEN_MINUTES`].
    pub fn issue(&self, account_id: &str, now: DateTime<Utc>) -> ApiResult<(String, DateTime<Utc>)> {
        let expires = now + Duration::minutes(ACCESS_TOKEN_MINUTES);
        let claims = AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: account_id.to_owned(),
            exp: expires.timestamp(),
            nbf: now.timestamp(),
            iat: now.timestamp(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.secrets.signing.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&self.secrets.signing.secret))
            .map_err(ApiError::internal)?;
        Ok((token, expires))
    }

    /// The account id of a valid access token; `None` for anything else (the caller answers
    /// UNAUTHENTICATED without saying why).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<String> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let key = self.secrets.key(header.kid.as_deref()?)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        // Times are checked below against the server's clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &DecodingKey::from_secret(&key.secret), &validation)
            .ok()?
            .claims;
        let now = now.timestamp();
        let fresh = claims.exp > now - LEEWAY_SECONDS && claims.nbf <= now + LEEWAY_SECONDS;
        // A correctly signed token that lives longer than this server ever issues was not made
        // by it the ordinary way (a leaked key, a tool, a bug): it would outlive a disabled
        // account or a rotated key, so it is refused however it was measured.
        let longest = ACCESS_TOKEN_MINUTES * 60 + LEEWAY_SECONDS;
        let bounded = claims.exp.saturating_sub(claims.iat) <= longest && claims.exp.saturating_sub(now) <= longest;
        (fresh && bounded && claims.typ == ACCESS_TOKEN_TYPE && !claims.sub.is_empty()).then_some(claims.sub)
    }
}

fn refresh_token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Creates a refresh token in `family` (a new family for a new sign-in) and returns it.
pub async fn create_refresh_token(
    db: &impl ConnectionTrait,
    account_id: &str,
    family_id: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<String> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|error| ApiError::internal(error.to_string()))?;
    let token = format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
    let id = uuid::Uuid::now_v7().to_string();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(id.clone()),
        account_id: Set(account_id.to_owned()),
        family_id: Set(family_id.map_or(id, str::to_owned)),
        token_hash: Set(refresh_token_hash(&token)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(REFRESH_TOKEN_DAYS)),
        rotated_at: Set(None),
        revoked_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(token)
}

/// The outcome of exchanging a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// The token was spent; here are its account and the family's next token.
    Rotated { account_id: String, token: String },
    /// Unknown, expired, spent or revoked. A refusal may have revoked the token's family (reuse
    /// of a spent token), so the caller must commit it like a success, never roll it back.
    Refused,
}

/// Exchanges a refresh token for a new one in the same family. Reuse of a spent token revokes
/// the family and is refused.
pub async fn rotate_refresh_token(db: &impl ConnectionTrait, token: &str, now: DateTime<Utc>) -> ApiResult<Rotation> {
    if token.len() > MAX_TOKEN_BYTES || !token.starts_with(REFRESH_PREFIX) {
        return Ok(Rotation::Refused);
    }
    let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(refresh_token_hash(token)))
        .one(db)
        .await?
    else {
        return Ok(Rotation::Refused);
    };
    if row.revoked_at.is_some() || row.rotated_at.is_some() {
        tracing::warn!(family = %row.family_id, "a spent refresh token was used again: revoking its family");
        revoke_family(db, &row.family_id, now).await?;
        return Ok(Rotation::Refused);
    }
    if row.expires_at <= now {
        return Ok(Rotation::Refused);
    }
    // Spend the token only if nobody spent it in the meantime (two racing refreshes: one wins,
    // the other is reuse).
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(&row.id))
        .filter(refresh_token::Column::RotatedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        revoke_family(db, &row.family_id, now).await?;
        return Ok(Rotation::Refused);
    }
    let next = create_refresh_token(db, &row.account_id, Some(&row.family_id), now).await?;
    Ok(Rotation::Rotated { account_id: row.account_id, token: next })
}

/// Revokes the family of `token` (sign-out). Unknown tokens are ignored: signing out twice is fine.
pub async fn revoke_refresh_token(db: &impl ConnectionTrait, token: &str, now: DateTime<Utc>) -> ApiResult<()> {
    if let Some(row) = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(refresh_token_hash(token)))
        .one(db)
        .await?
    {
        revoke_family(db, &row.family_id, now).await?;
    }
    Ok(())
}

/// Revokes every refresh token of an account (disabled account, password reset).
pub async fn revoke_all_for_account(db: &impl ConnectionTrait, account_id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::AccountId.eq(account_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

async fn revoke_family(db: &impl ConnectionTrait, family_id: &str, now: DateTime<Utc>) -> ApiResult<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::SigningKey;

    fn secrets(signing: (&str, u8), verifying: &[(&str, u8)]) -> Secrets {
        let key = |(kid, byte): (&str, u8)| SigningKey { kid: kid.to_owned(), secret: vec![byte; 32] };
        Secrets {
            signing: key(signing),
            verifying: verifying.iter().copied().map(key).collect(),
            phone_pepper: vec![0; 16],
            data_keys: Vec::new(),
        }
    }

    #[test]
    fn after_a_rotation_the_previous_key_still_verifies_until_it_is_dropped() {
        let now = Utc::now();
        let old = AccessTokens::new(secrets(("2026-10", 1), &[]));
        let (token, _) = old.issue("account-1", now).unwrap_or_default();
        let rotated = AccessTokens::new(secrets(("2026-11", 2), &[("2026-10", 1)]));
        assert_eq!(rotated.verify(&token, now).as_deref(), Some("account-1"));
        let (fresh, _) = rotated.issue("account-1", now).unwrap_or_default();
        assert_eq!(old.verify(&fresh, now), None, "a new key is unknown to the old configuration");
        let dropped = AccessTokens::new(secrets(("2026-11", 2), &[]));
        assert_eq!(dropped.verify(&token, now), None);
    }

    #[test]
    fn a_token_is_refused_once_expired_and_before_it_is_valid() {
        let now = Utc::now();
        let tokens = AccessTokens::new(secrets(("k", 3), &[]));
        let (token, expires) = tokens.issue("account-1", now).unwrap_or_default();
        assert!(expires - now <= Duration::minutes(15));
        assert!(tokens.verify(&token, now + Duration::minutes(ACCESS_TOKEN_MINUTES) - Duration::seconds(1)).is_some());
        assert!(
            tokens
                .verify(&token, now + Duration::minutes(ACCESS_TOKEN_MINUTES) + Duration::seconds(LEEWAY_SECONDS + 1))
                .is_none()
        );
        assert!(tokens.verify(&token, now - Duration::seconds(LEEWAY_SECONDS + 5)).is_none());
    }

    fn signed(claims: &AccessClaims, byte: u8) -> String {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k".to_owned());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&[byte; 32])).unwrap_or_default()
    }

    #[test]
    fn a_signed_token_that_lives_longer_than_the_server_ever_issues_is_refused() {
        let now = Utc::now().timestamp();
        let tokens = AccessTokens::new(secrets(("k", 4), &[]));
        let claims = |iat: i64, exp: i64| AccessClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: "account-1".to_owned(),
            exp,
            nbf: iat,
            iat,
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        };
        let now_utc = DateTime::from_timestamp(now, 0).unwrap_or_default();
        let lifetime = ACCESS_TOKEN_MINUTES * 60;
        let ordinary = signed(&claims(now, now + lifetime), 4);
        assert_eq!(tokens.verify(&ordinary, now_utc).as_deref(), Some("account-1"));
        let thirty_years = signed(&claims(now, now + 30 * 365 * 24 * 3600), 4);
        assert_eq!(tokens.verify(&thirty_years, now_utc), None, "a 30-year exp");
        let an_hour = signed(&claims(now, now + 3600), 4);
        assert_eq!(tokens.verify(&an_hour, now_utc), None, "an hour, past the configured lifetime");
        // Issued long ago with a long life: its remaining time is short but its lifetime is not.
        let backdated = signed(&claims(now - 86_400, now + 60), 4);
        assert_eq!(tokens.verify(&backdated, now_utc), None, "a day-long token near its end");
        // Claims an ordinary lifetime but starts in the future: it still runs too long from now.
        let future_iat = signed(&claims(now + 86_400, now + 86_400 + lifetime), 4);
        assert_eq!(tokens.verify(&future_iat, now_utc), None, "an iat a day ahead");
        let extreme = signed(&claims(i64::MIN, i64::MAX), 4);
        assert_eq!(tokens.verify(&extreme, now_utc), None, "extreme values do not overflow");
    }
}
