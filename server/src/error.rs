//! The API's one error type and its stable codes.
//!
//! Use [`ApiError::bad_input`] for anything the caller sent that cannot be served (say which
//! field and why, in Chinese and English), [`ApiError::not_found`] for an id that does not exist
//! *or that the caller may not see* (the two must read the same), and `?` on anything internal:
//! internal errors are logged with their cause and answered with a bare "internal error", so no
//! detail of the database or the code reaches a client. A value that fails to parse
//! ([`crate::values`]) becomes [`ApiError::Invalid`], which names the domain field; each way in
//! (GraphQL in `graphql/errors.rs`, the CSV import) maps that field to its own names.

use crate::values::ValueError;

/// Stable `extensions.code` values; the catalogue is in `mobile-client-spec/README.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    RateLimited,
    Internal,
}

impl ErrorCode {
    /// Every code, for the catalogue check.
    pub const ALL: [Self; 7] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::RateLimited,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::Internal => "INTERNAL",
        }
    }
}

/// An error answered to the client.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into its error without
/// extensions, which would drop the code. The only way out is the `From` in `graphql/errors.rs`.
#[derive(Debug)]
pub enum ApiError {
    /// The request cannot be served as sent. `field` is the argument path, e.g. `near.lat`.
    BadInput { field: String, message: String },
    /// A value that is not valid for its domain field (BAD_USER_INPUT too).
    Invalid(ValueError),
    /// Nothing with that id exists, or the caller may not see it (the two read the same).
    NotFound { what: &'static str },
    /// No valid credentials: signed out, or a token that failed verification.
    Unauthenticated,
    /// Signed in, but the role may not do this at all.
    Forbidden,
    /// The request conflicts with the current state (a taken username, a decided suggestion).
    Conflict { message: String },
    /// Too many requests from this client; try again later.
    RateLimited,
    /// An offline-sync cursor that cannot be continued (unknown, expired, for another area):
    /// BAD_USER_INPUT with `extensions.reason = "SNAPSHOT_REQUIRED"`, so the app takes a new
    /// snapshot (see the `sync` module).
    SnapshotRequired { message: String },
    /// A fault on our side; the cause is logged, the client reads "internal error".
    Internal(BoxError),
}

impl ApiError {
    /// A bad argument; `message` should carry English and Chinese.
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }

    pub fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }

    /// A conflict; `message` should carry English and Chinese.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict { message: message.into() }
    }

    /// An internal error with a cause for the log.
    pub fn internal(cause: impl Into<BoxError>) -> Self {
        Self::Internal(cause.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::BadInput { .. } | Self::Invalid(_) | Self::SnapshotRequired { .. } => ErrorCode::BadUserInput,
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden => ErrorCode::Forbidden,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::RateLimited => ErrorCode::RateLimited,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message shown to the client.
    pub fn message(&self) -> String {
        match self {
            Self::BadInput { message, .. } => message.clone(),
            Self::Invalid(error) => error.message.clone(),
            Self::NotFound { what } => format!("{what} not found (未找到)"),
            Self::Unauthenticated => "sign-in required or the token is invalid or expired (请重新登录)".to_owned(),
            Self::Forbidden => "your role may not do this (无权进行此操作)".to_owned(),
            Self::Conflict { message } | Self::SnapshotRequired { message } => message.clone(),
            Self::RateLimited => "too many requests; try again in a minute (请求过于频繁，请稍后再试)".to_owned(),
            Self::Internal(_) => "internal error (服务器内部错误)".to_owned(),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl From<ValueError> for ApiError {
    fn from(error: ValueError) -> Self {
        Self::Invalid(error)
    }
}

/// An internal error's cause, kept for the log.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error and its causes on one line, for the log.
pub fn error_chain(error: &BoxError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// The catalogue of codes in `mobile-client-spec/README.md` ("Errors": a table row per code) and the code
    /// agree: every code the server sends is documented, and the table lists no other.
    #[test]
    fn the_error_catalogue_for_the_app_lists_exactly_the_codes_the_server_sends() {
        let spec = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/README.md");
        let text = std::fs::read_to_string(&spec).unwrap_or_default();
        // The table of the "## Errors" section.
        let section = text.split("\n## ").find(|part| part.starts_with("Errors")).unwrap_or_default();
        let documented: Vec<&str> = section
            .lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|rest| rest.split_once('`').map(|(code, _)| code))
            .filter(|code| !code.is_empty() && code.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .collect();
        let sent: Vec<&str> = ErrorCode::ALL.iter().map(|code| code.as_str()).collect();
        for code in &sent {
            assert!(documented.contains(code), "{code} is not in the catalogue of {}", spec.display());
        }
        for code in &documented {
            assert!(sent.contains(code), "the catalogue lists {code}, which the server never sends");
        }
    }
}
