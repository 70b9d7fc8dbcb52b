//! Seed data for Qiao and its loader.
//!
//! - `data/taxonomy.json`: the service categories (reference data, always loaded).
//! - `data/shanghai.json`, `data/guiyang.json`, `data/guizhou-hometown.json` (a hometown county
//!   families return to), `data/holidays.json`: the demo directory, loaded into an empty database.
//! - [`synthetic`]: a deterministic generator of `N` services over real district centroids, for
//!   tests and benchmarks.
//!
//! The data files are compiled into the binary, so the server seeds itself wherever it runs.
//! Loading is idempotent: ids derive from the files' keys and existing rows are left alone.

mod loader;
pub mod model;
pub mod rows;
pub mod synthetic;

pub use loader::{LoadReport, directory_is_empty, load_demo_directory, load_directory, load_reference_data};

/// What went wrong while reading or loading seed data.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed file {file} is not valid: {source}")]
    Parse {
        file: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("seed entry {key}: {message}")]
    Invalid { key: String, message: String },
    #[error("database error while seeding: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl SeedError {
    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> Self {
        Self::Invalid { key: key.to_owned(), message: message.into() }
    }
}

/// The embedded data files.
pub mod files {
    use crate::SeedError;
    use crate::model::{DirectoryFile, HolidayFile, TaxonomyFile};

    pub const TAXONOMY: &str = include_str!("../data/taxonomy.json");
    pub const HOLIDAYS: &str = include_str!("../data/holidays.json");
    pub const DIRECTORIES: [(&str, &str); 3] = [
        ("shanghai.json", include_str!("../data/shanghai.json")),
        ("guiyang.json", include_str!("../data/guiyang.json")),
        ("guizhou-hometown.json", include_str!("../data/guizhou-hometown.json")),
    ];
    pub const DISTRICT_CENTROIDS_GCJ02: &str = include_str!("../data/cn-admin-centroids-gcj02.csv");

    pub fn taxonomy() -> Result<TaxonomyFile, SeedError> {
        serde_json::from_str(TAXONOMY).map_err(|source| SeedError::Parse { file: "taxonomy.json", source })
    }

    pub fn holidays() -> Result<HolidayFile, SeedError> {
        serde_json::from_str(HOLIDAYS).map_err(|source| SeedError::Parse { file: "holidays.json", source })
    }

    pub fn directories() -> Result<Vec<DirectoryFile>, SeedError> {
        DIRECTORIES
            .iter()
            .map(|(file, text)| serde_json::from_str(text).map_err(|source| SeedError::Parse { file, source }))
            .collect()
    }
}
