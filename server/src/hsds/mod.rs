//! Open Referral HSDS 3.0 export and import of the whole directory (plain functions over a
//! database connection; the admin-only GraphQL fields are in `graphql/hsds.rs`).
//!
//! - [`export`] reads every directory table into an [`HsdsPackage`]; [`HsdsPackage::to_files`]
//!   writes it as a JSON data package or as CSV, each with a `datapackage.json` descriptor.
//! - [`HsdsPackage::from_files`] reads either form back; [`import`] writes a package into the
//!   directory in one transaction, or refuses it whole with every problem listed.
//!
//! Export → import into an empty directory → export gives the same files: whatever HSDS has no
//! field for (English text, Qiao's extension tables and columns) travels in `x-qiao`
//! extensions. `docs/HSDS.md` describes the mapping; `scripts/validate-hsds.py` validates an
//! export against the official schemas.

mod export;
mod files;
mod import;
mod record;
pub mod tables;

use serde_json::{Map, Value};

pub use export::export;
// `neutralise_formula` is shared with the evidence CSV exports.
pub use files::{DESCRIPTOR, WriteError, neutralise_formula};
pub use import::{ImportReport, TableCount, import};
pub use record::RecordError;

use tables::TableSpec;

/// The two forms a package is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON array of records per table.
    JsonDatapackage,
    /// One CSV file per table (HSDS 3.0's own file names), JSON text in `x-qiao` cells.
    Csv,
}

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFile {
    pub name: String,
    pub content: String,
}

/// A package in memory: records (JSON objects) per table, parents' tables first.
#[derive(Debug, Clone, Default)]
pub struct HsdsPackage {
    pub tables: Vec<PackageTable>,
}

/// One table's records.
#[derive(Debug, Clone)]
pub struct PackageTable {
    pub spec: &'static TableSpec,
    /// The file the records came from (for error reports).
    pub file: String,
    pub records: Vec<Map<String, Value>>,
}
