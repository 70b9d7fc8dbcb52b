//! Open Referral HSDS 3.0 export and import of the whole directory (admins only). The mapping
//! lives in `crate::hsds`; these resolvers check the role, convert, and reload the search index.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use super::context::state;
use crate::auth::caller;
use crate::auth::policy::Admin;
use crate::error::ApiError;
use crate::hsds::{self, HsdsPackage, PackageFile, RecordError};

/// Most files one import may carry (a package has at most 25).
const MAX_FILES: usize = 64;
/// Most errors listed in one refused import; the rest are counted in a last entry.
const MAX_ERRORS: usize = 500;

/// The form of an exported HSDS package.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum HsdsFormat {
    /// `datapackage.json` plus one JSON array of records per table (`service.json`, …).
    JsonDatapackage,
    /// `datapackage.json` plus one CSV file per table, named as HSDS 3.0 names them
    /// (`services.csv`, …); `x-qiao` cells hold JSON text.
    Csv,
}

impl From<HsdsFormat> for hsds::Format {
    fn from(format: HsdsFormat) -> Self {
        match format {
            HsdsFormat::JsonDatapackage => Self::JsonDatapackage,
            HsdsFormat::Csv => Self::Csv,
        }
    }
}

/// One file of an HSDS package.
#[derive(SimpleObject)]
pub struct HsdsFile {
    /// File name, e.g. `datapackage.json`, `service.json` or `services.csv`.
    pub name: String,
    /// The file's text (UTF-8).
    pub content: String,
}

/// The whole directory as an HSDS 3.0 package.
#[derive(SimpleObject)]
pub struct HsdsExport {
    /// `datapackage.json` first, then one file per table that has records.
    pub files: Vec<HsdsFile>,
}

/// One file of an HSDS package to import.
#[derive(InputObject)]
pub struct HsdsFileInput {
    /// File name: `datapackage.json`, or a table's file (`service.json`, `services.csv`, …).
    pub name: String,
    /// The file's text (UTF-8).
    pub content: String,
}

/// Rows an import wrote to one table.
#[derive(SimpleObject)]
pub struct HsdsTableCount {
    /// The package's table name (`service`, `x-qiao-urban_village`, …).
    pub table: String,
    /// Rows written (created plus updated).
    pub records: i32,
    /// Rows with a new id.
    pub created: i32,
    /// Rows whose id existed and whose content was replaced.
    pub updated: i32,
}

/// One problem that made an import refuse the package.
#[derive(SimpleObject)]
pub struct HsdsImportError {
    /// The file, as named in the request.
    pub file: String,
    /// The record's id, or `row N` when it has none; null for a problem of the whole file.
    pub record: Option<String>,
    /// The field, e.g. `organization_id` or `x-qiao.en.name`; null for the whole record or file.
    pub field: Option<String>,
    /// What is wrong, in English with Chinese in brackets.
    pub message: String,
}

impl From<RecordError> for HsdsImportError {
    fn from(error: RecordError) -> Self {
        Self { file: error.file, record: error.record, field: error.field, message: error.message }
    }
}

/// What an import did: everything, or (when `imported` is false) nothing.
#[derive(SimpleObject)]
pub struct HsdsImportReport {
    /// True when the package was written; false when it was refused and nothing changed.
    pub imported: bool,
    /// Rows written per table (empty when refused).
    pub counts: Vec<HsdsTableCount>,
    /// Every problem found, at most 500 (empty when imported).
    pub errors: Vec<HsdsImportError>,
}

fn refused(errors: Vec<RecordError>) -> HsdsImportReport {
    let total = errors.len();
    let mut listed: Vec<HsdsImportError> = errors.into_iter().take(MAX_ERRORS).map(Into::into).collect();
    if total > MAX_ERRORS {
        listed.push(HsdsImportError {
            file: String::new(),
            record: None,
            field: None,
            message: format!("… and {} more problems (另有 {} 个问题未列出)", total - MAX_ERRORS, total - MAX_ERRORS),
        });
    }
    HsdsImportReport { imported: false, counts: Vec::new(), errors: listed }
}

fn count(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[derive(Default)]
pub struct HsdsQuery;

#[Object]
impl HsdsQuery {
    /// The whole directory (every status, archived records too) as an Open Referral HSDS 3.0
    /// package: Chinese text in the HSDS fields, English and Qiao-only facts in `x-qiao`
    /// extensions (admins only).
    async fn export_directory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "JSON_DATAPACKAGE (JSON arrays) or CSV.")] format: HsdsFormat,
    ) -> async_graphql::Result<HsdsExport> {
        let state = state(ctx)?;
        let admin = Admin::of(&state.db, caller(ctx), state.clock.now()).await?;
        let package = hsds::export(&state.db, &admin).await.map_err(ApiError::from)?;
        let files = package.to_files(format.into()).map_err(ApiError::internal)?;
        Ok(HsdsExport { files: files.into_iter().map(|f| HsdsFile { name: f.name, content: f.content }).collect() })
    }
}

#[derive(Default)]
pub struct HsdsMutation;

#[Object]
impl HsdsMutation {
    /// Imports an HSDS 3.0 package (either form of `exportDirectory`, or HSDS data from
    /// elsewhere) in one transaction: records are created or replaced by id, never deleted, so
    /// importing the same package again changes nothing. When any record is wrong nothing is
    /// written and every problem is listed (admins only).
    async fn import_directory(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The package's files: `datapackage.json` (optional) and one file per table.")] files: Vec<
            HsdsFileInput,
        >,
    ) -> async_graphql::Result<HsdsImportReport> {
        let state = state(ctx)?;
        let admin = Admin::of(&state.db, caller(ctx), state.clock.now()).await?;
        if files.len() > MAX_FILES {
            return Err(ApiError::bad_input(
                "files",
                format!("at most {MAX_FILES} files per import (每次最多导入 {MAX_FILES} 个文件)"),
            )
            .into());
        }
        let files: Vec<PackageFile> =
            files.into_iter().map(|f| PackageFile { name: f.name, content: f.content }).collect();
        let package = match HsdsPackage::from_files(&files) {
            Ok(package) => package,
            Err(errors) => return Ok(refused(errors)),
        };
        let report = hsds::import(&state.store, &admin, &package, state.clock.now()).await?;
        if !report.imported {
            tracing::info!(account = %admin.account.id, problems = report.errors.len(), "HSDS import refused");
            return Ok(refused(report.errors));
        }
        let rows: u64 = report.counts.iter().map(|c| c.created + c.updated).sum();
        tracing::info!(account = %admin.account.id, rows, "HSDS import written");
        Ok(HsdsImportReport {
            imported: true,
            counts: report
                .counts
                .into_iter()
                .map(|c| HsdsTableCount {
                    table: c.table.to_owned(),
                    records: count(c.created + c.updated),
                    created: count(c.created),
                    updated: count(c.updated),
                })
                .collect(),
            errors: Vec::new(),
        })
    }
}
