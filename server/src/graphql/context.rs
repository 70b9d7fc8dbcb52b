//! What every resolver takes from the request: the application state, a way to fail with an
//! API error, and the guard for staff-only fields. Resolver modules import this module and
//! never each other's helpers.

use async_graphql::{Context, Guard};

use crate::AppState;
use crate::auth::caller;
use crate::error::{ApiError, ApiResult};

/// The id of the HTTP request being answered (a UUIDv7, also sent back as `x-request-id`), so an
/// audit row or a log line can be matched to the request without storing anything about who sent
/// it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

/// The request id, when the request came through the HTTP layer.
pub fn request_id(ctx: &Context<'_>) -> Option<String> {
    ctx.data_opt::<RequestId>().map(|id| id.0.clone())
}

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
