//! Sign-in: `login`, `refreshToken`, `logout`, `registerMigrant`, and `me`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::context::{fail, state};
use crate::accounts::{self, SignedIn};
use crate::auth::{Account, caller};
use crate::error::ApiError;

/// An account's role.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::Role")]
pub enum Role {
    /// A resident: search never needs an account; a registered migrant can follow their own referrals later.
    Migrant,
    /// A social worker of an organisation: records clients and referrals.
    SocialWorker,
    /// Neighbourhood committee staff: keep the listings of their areas accurate.
    CommitteeStaff,
    /// Staff of a service provider: keep their own organisation's hours, capacity and alerts current.
    ProviderStaff,
    /// Manages organisations, areas and accounts.
    Admin,
}

/// Tokens from signing in or refreshing.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// Short-lived access token (10 minutes): send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// When the access token expires.
    pub access_token_expires_at: DateTime<Utc>,
    /// Opaque refresh token (30 days), single use: exchange it with `refreshToken` for new tokens.
    /// Keep it in the phone's secure storage.
    pub refresh_token: String,
    /// The signed-in account.
    pub account: Me,
}

impl From<SignedIn> for AuthPayload {
    fn from(signed_in: SignedIn) -> Self {
        Self {
            access_token: signed_in.access_token,
            access_token_expires_at: signed_in.access_token_expires_at,
            refresh_token: signed_in.refresh_token,
            account: Me::from(&signed_in.account),
        }
    }
}

/// The signed-in account.
#[derive(SimpleObject, Clone)]
pub struct Me {
    /// Account id.
    pub id: ID,
    /// Login name (null for a migrant who signs in with a phone number).
    pub username: Option<String>,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Organisation of a social worker or provider staff.
    pub organization_id: Option<ID>,
}

impl From<&Account> for Me {
    fn from(account: &Account) -> Self {
        Self {
            id: ID(account.id.clone()),
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            role: account.role.into(),
            organization_id: account.organization_id.clone().map(ID),
        }
    }
}

/// Counts a sign-in attempt against the client's limit.
fn check_sign_in_rate(ctx: &Context<'_>) -> Result<(), ApiError> {
    let state = state(ctx)?;
    crate::rate_limit::check(ctx, &state.auth.sign_in_limiter)
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// The signed-in account; null when anonymous.
    async fn me(&self, ctx: &Context<'_>) -> Option<Me> {
        caller(ctx).account().map(Me::from)
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with a username (or a migrant's phone number) and password. A wrong name or
    /// password gives UNAUTHENTICATED, the same either way.
    async fn login(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Username, or the mobile number a migrant registered with.")] username: String,
        #[graphql(desc = "Password.")] password: String,
    ) -> async_graphql::Result<AuthPayload> {
        check_sign_in_rate(ctx)?;
        let state = state(ctx)?;
        Ok(accounts::login(&state.db, &state.auth, &username, &password, state.clock.now()).await?.into())
    }

    /// Exchanges a refresh token for new tokens. Each refresh token works once: using one again
    /// signs out every device of that sign-in (it must have been stolen).
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refresh token from `login` or the last refresh.")] refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        let state = state(ctx)?;
        Ok(accounts::refresh(&state.db, &state.auth, &refresh_token, state.clock.now()).await?.into())
    }

    /// Signs out: the refresh token and every token rotated from the same sign-in stop working.
    /// Access tokens already issued expire on their own within 10 minutes.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The current refresh token.")] refresh_token: String,
    ) -> async_graphql::Result<bool> {
        let state = state(ctx)?;
        crate::auth::tokens::revoke_refresh_token(&state.db, &refresh_token, state.clock.now()).await?;
        Ok(true)
    }

    /// Registers a migrant account (optional: search never needs one) with a username or a
    /// mainland mobile number, and signs it in. The phone number is stored only as a keyed hash.
    async fn register_migrant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A username (3-32 of a-z 0-9 . _ -) or a mainland mobile number.")] login: String,
        #[graphql(desc = "Password, 8 to 128 characters.")] password: String,
        #[graphql(desc = "Name to show; defaults to the username.")] display_name: Option<String>,
    ) -> async_graphql::Result<AuthPayload> {
        check_sign_in_rate(ctx)?;
        let state = state(ctx)?;
        if caller(ctx).account().is_some() {
            return fail(ApiError::conflict("already signed in (已登录)"));
        }
        Ok(accounts::register_migrant(&state.db, &state.auth, &login, password, display_name, state.clock.now())
            .await?
            .into())
    }
}
