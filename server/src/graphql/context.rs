//! What every resolver takes from the request: the application state, a way to fail with an
//! API error, and the guard for staff-only fields. Resolver modules import this module and
//! never each other's helpers.

use async_graphql::{Context, Guard};

use crate::AppState;
use crate::auth::caller;
use crate::error::{ApiError, ApiResult};

/// The application state the schema was built with.
pub fn state<'a>(ctx: &Context<'a>) -> ApiResult<&'a AppState> {
    ctx.data::<AppState>().map_err(|_| ApiError::Internal("application state missing from the schema".into()))
}

/// Returns an API error from a resolver (spelled out so the code is kept; see `ApiError`).
pub fn fail<T>(error: ApiError) -> async_graphql::Result<T> {
    Err(error.into())
}

/// Allows staff only (committee, provider, admin); everyone else gets FORBIDDEN.
pub struct StaffGuard;

impl Guard for StaffGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if caller(ctx).is_staff() { Ok(()) } else { Err(ApiError::Forbidden.into()) }
    }
}
