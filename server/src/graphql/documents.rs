//! Parsed documents of the operations clients send again and again (the app's published
//! operations, by hash or by text), so that a repeated request skips the GraphQL parser: a
//! quarter of the instructions of a search or detail request (`docs/BENCHMARKS.md`, "Per-request
//! cost").
//!
//! Only the parse is skipped. A request whose document comes from here still passes every check
//! a freshly parsed one does, on the same document: the alias and directive scan of its text and
//! the shape walk ([`super::ShapeLimits`]), the engine's recursion and directive limits, and
//! validation with its depth and complexity limits. (A text that passed the scan, the walk and
//! validation before in the same schema, whose limits never change, is not scanned or walked
//! again and its validation result is given back by [`super::validations`]: see there why that
//! is the same answer.)
//!
//! Privacy: a document is kept only when its text writes no string and no number other than a
//! whole one (no search text, no id, no coordinates): what a person asks comes in the variables,
//! which are never kept. The published operations are written that way.
//!
//! Bounded: at most [`ENTRIES`] documents of texts up to [`MAX_TEXT_BYTES`]; the oldest goes
//! first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::parser::types::ExecutableDocument;

/// Documents kept (the app publishes a few dozen operations).
pub const ENTRIES: usize = 256;

/// Longest text kept (the longest published operation is under 2 KiB).
pub const MAX_TEXT_BYTES: usize = 4 * 1024;

/// A parse is a function of the text alone, so one cache serves every schema in the process.
static DOCUMENTS: LazyLock<DocumentCache> = LazyLock::new(|| DocumentCache::new(ENTRIES));

/// The parsed document of `text`, when it is kept.
pub fn cached(text: &str) -> Option<ExecutableDocument> {
    DOCUMENTS.get(text)
}

/// Keeps the parsed document of `text` once it has passed the shape checks, if it may be kept.
pub fn keep(text: &str, document: &ExecutableDocument) {
    DOCUMENTS.keep(text, document);
}

#[derive(Debug)]
pub struct DocumentCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    by_text: HashMap<Arc<str>, Arc<ExecutableDocument>>,
    /// Texts in the order they were kept, for eviction.
    order: VecDeque<Arc<str>>,
}

impl DocumentCache {
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Entries::default()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the kept document (the engine takes a document by value); copied outside the lock.
    pub fn get(&self, text: &str) -> Option<ExecutableDocument> {
        if text.len() > MAX_TEXT_BYTES {
            return None;
        }
        let document = self.entries().by_text.get(text).cloned()?;
        Some(ExecutableDocument::clone(&document))
    }

    pub fn keep(&self, text: &str, document: &ExecutableDocument) {
        if self.capacity == 0 || text.len() > MAX_TEXT_BYTES || self.entries().by_text.contains_key(text) {
            return;
        }
        if !literal_free(text) {
            return;
        }
        let document = Arc::new(document.clone());
        let text: Arc<str> = Arc::from(text);
        let mut entries = self.entries();
        if entries.by_text.contains_key(&*text) {
            return;
        }
        while entries.by_text.len() >= self.capacity {
            let Some(oldest) = entries.order.pop_front() else { break };
            entries.by_text.remove(&*oldest);
        }
        entries.order.push_back(Arc::clone(&text));
        entries.by_text.insert(text, document);
    }

    pub fn len(&self) -> usize {
        self.entries().by_text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a document's text writes no string (`"…"`, `"""…"""`) and no number with a fraction
/// or an exponent, outside comments: then nothing a person typed or where they are can be in it.
pub fn literal_free(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => return false,
            // Names (which may hold digits: `hoursNext7Days`, `$id2`) are skipped whole.
            c if c == b'_' || c.is_ascii_alphabetic() => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() => {
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i < bytes.len() && matches!(bytes[i], b'.' | b'e' | b'E') {
                    return false;
                }
            }
            _ => i += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(text).expect("a valid document")
    }

    #[test]
    fn only_documents_without_strings_or_fractional_numbers_are_kept() {
        assert!(literal_free("query Q($id: ID!, $n: Int = 20) { service(id: $id) { hoursNext7Days { date } } }"));
        assert!(literal_free(
            "# \"a comment\" 31.2\n{ nearbyServices(first: 20, radiusMeters: 3000) { edges { cursor } } }"
        ));
        assert!(!literal_free("{ service(id: \"abc\") { name } }"));
        assert!(!literal_free("{ nearbyServices(near: {lat: 31.1, lon: 121}) { edges { cursor } } }"));
        assert!(!literal_free("{ nearbyServices(near: {lat: 3e1, lon: 121}) { edges { cursor } } }"));
        assert!(!literal_free("{ categories { description(text: \"\"\"x\"\"\") } }"));
        for (_, text) in crate::trusted_documents::PUBLISHED_OPERATIONS {
            assert!(literal_free(text), "published operations are kept: {text}");
        }
    }

    #[test]
    fn a_kept_document_is_answered_and_the_oldest_goes_first() {
        let cache = DocumentCache::new(2);
        let texts = ["{ a }", "{ b }", "{ c }"];
        for text in texts {
            cache.keep(text, &parsed(text));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get("{ a }").is_none(), "the oldest went first");
        let document = cache.get("{ c }").expect("kept");
        assert_eq!(format!("{document:?}"), format!("{:?}", parsed("{ c }")));
        cache.keep("{ s(id: \"private\") }", &parsed("{ s(id: \"private\") }"));
        assert!(cache.get("{ s(id: \"private\") }").is_none(), "a document with a string is not kept");
        let long = format!("{{ {} }}", "a ".repeat(MAX_TEXT_BYTES));
        cache.keep(&long, &parsed(&long));
        assert!(cache.get(&long).is_none(), "a long text is not kept");
        let off = DocumentCache::new(0);
        off.keep("{ a }", &parsed("{ a }"));
        assert!(off.is_empty());
    }
}
