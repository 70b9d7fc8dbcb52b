//! Published operations by hash: persisted queries for phones on weak networks, and (when
//! `QIAO_TRUSTED_DOCUMENTS` is on) the only operations the server executes.
//!
//! The operations are the files of `mobile-client-spec/operations/`, embedded at build time. A
//! document's hash is the SHA-256 (lower-case hex) of its file's exact text. The app sends
//! `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "…"}}, "variables": …}` with no
//! `query` (Apollo's automatic-persisted-queries shape), and the server fills in the text:
//! a request of a few hundred bytes instead of a few KiB.
//!
//! - Trusted documents off (default): a registered hash is answered; an unknown hash gets
//!   `BAD_USER_INPUT` with `extensions.reason = "PERSISTED_QUERY_NOT_FOUND"` (send the text);
//!   any query text is executed as usual.
//! - Trusted documents on (production hardening): only registered documents run: by hash, or by a
//!   text equal to a registered one. Anything else gets `BAD_USER_INPUT` with
//!   `extensions.reason = "UNTRUSTED_DOCUMENT"`, before it is parsed.

use std::collections::HashMap;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/published_operations.rs"));

/// Registered documents by hash.
static BY_HASH: LazyLock<HashMap<String, &'static str>> =
    LazyLock::new(|| PUBLISHED_OPERATIONS.iter().map(|(_, text)| (sha256_hex(text), *text)).collect());

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Why a request's document is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A hash no published operation has.
    PersistedQueryNotFound,
    /// Trusted documents only, and this text is not one of them.
    UntrustedDocument,
    /// Both a hash and a text, and they disagree.
    HashMismatch,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::UntrustedDocument => "UNTRUSTED_DOCUMENT",
            Self::HashMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::PersistedQueryNotFound => {
                "no published operation has this hash: send the query text (未找到该哈希对应的操作，请发送完整查询)"
            }
            Self::UntrustedDocument => {
                "this server runs only the published operations of mobile-client-spec (本服务只执行已发布的操作)"
            }
            Self::HashMismatch => "the query text does not match its sha256Hash (查询文本与哈希不符)",
        }
    }
}

/// Resolves the document of `request` in place: fills the text in from a hash, and in trusted mode
/// refuses anything unpublished.
pub fn resolve(request: &mut async_graphql::Request, trusted_only: bool) -> Result<(), Refusal> {
    let hash = persisted_hash(request);
    match hash {
        Some(hash) => {
            let known = BY_HASH.get(&hash).copied();
            if request.query.trim().is_empty() {
                request.query = known.ok_or(Refusal::PersistedQueryNotFound)?.to_owned();
            } else if sha256_hex(&request.query) != hash {
                return Err(Refusal::HashMismatch);
            } else if known.is_none() && trusted_only {
                return Err(Refusal::UntrustedDocument);
            }
            Ok(())
        }
        None if trusted_only && !BY_HASH.contains_key(&sha256_hex(&request.query)) => Err(Refusal::UntrustedDocument),
        None => Ok(()),
    }
}

/// The text of the published operation in `file` (`NearbyServices.graphql`), if there is one.
pub fn published_text(file: &str) -> Option<&'static str> {
    PUBLISHED_OPERATIONS.iter().find(|(name, _)| *name == file).map(|(_, text)| *text)
}

/// `extensions.persistedQuery.sha256Hash`, lower-cased.
fn persisted_hash(request: &async_graphql::Request) -> Option<String> {
    let persisted = request.extensions.get("persistedQuery")?;
    let async_graphql::Value::Object(fields) = persisted else { return None };
    match fields.get("sha256Hash")? {
        async_graphql::Value::String(hash) => Some(hash.to_ascii_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> async_graphql::Request {
        let mut request = async_graphql::Request::new(query);
        let persisted = async_graphql::Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": hash }));
        request.extensions.insert("persistedQuery".to_owned(), persisted.unwrap_or_default());
        request
    }

    #[test]
    fn every_published_operation_is_registered() {
        assert!(PUBLISHED_OPERATIONS.len() >= 40, "{} operations", PUBLISHED_OPERATIONS.len());
        assert!(PUBLISHED_OPERATIONS.iter().any(|(name, _)| *name == "NearbyServices.graphql"));
        assert_eq!(BY_HASH.len(), PUBLISHED_OPERATIONS.len(), "two operation files have the same text");
    }

    #[test]
    fn a_hash_is_answered_and_an_unpublished_document_refused_when_trusted_only() {
        let (_, text) = PUBLISHED_OPERATIONS[0];
        let mut by_hash = with_hash("", &sha256_hex(text));
        assert_eq!(resolve(&mut by_hash, true), Ok(()));
        assert_eq!(by_hash.query, text);
        assert_eq!(resolve(&mut async_graphql::Request::new(text), true), Ok(()));
        assert_eq!(resolve(&mut async_graphql::Request::new("{ __typename }"), true), Err(Refusal::UntrustedDocument));
        assert_eq!(resolve(&mut async_graphql::Request::new("{ __typename }"), false), Ok(()));
        assert_eq!(resolve(&mut with_hash("", &"0".repeat(64)), false), Err(Refusal::PersistedQueryNotFound));
        assert_eq!(resolve(&mut with_hash("{ __typename }", &sha256_hex(text)), false), Err(Refusal::HashMismatch));
    }
}
