//! The public directory: the in-memory read model that serves search, opening hours, text and
//! geometry, and the database reads behind a service's detail page. No GraphQL here: these are
//! plain functions and types, tested on their own.

pub mod chunked;
pub mod detail;
pub mod detail_cache;
pub mod eligibility;
pub mod feed;
pub mod geometry;
pub mod handle;
pub mod hours;
pub mod index;
pub mod record_id;
pub mod records;
pub mod region;
pub mod rules;
pub mod search;
pub mod snapshot;
pub mod text;
pub mod villages;

pub use index::Directory;
