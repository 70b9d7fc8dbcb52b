//! `importListingsCsv`: committee staff (inside their area) and admins add many listings at once
//! from a spreadsheet saved as CSV. Format and rules in `docs/CSV-IMPORT.md`; domain code in
//! `crate::stewardship::import`.

use async_graphql::{Context, ID, Object, SimpleObject};

use super::stewardship::steward;
use crate::stewardship::import as domain;

/// One problem with an imported file.
#[derive(SimpleObject)]
pub struct ImportError {
    /// Data row, counted from 1 after the header; 0 for the header or the file as a whole.
    pub row: i32,
    /// Line of the file where that row starts: the header is line 1, so this is the row number a
    /// spreadsheet shows, unless a cell above spans lines. 0 for the file as a whole.
    pub line: i32,
    /// The column at fault (its header name), when one is.
    pub column: Option<String>,
    /// What is wrong, in English with Chinese in brackets.
    pub message: String,
}

/// What an import did. All or nothing: when `errors` is not empty nothing was written.
#[derive(SimpleObject)]
pub struct ImportReport {
    /// Listings created (0 when there are errors).
    pub imported: i32,
    /// Ids of the services created, in row order.
    pub service_ids: Vec<ID>,
    /// Every problem found, in row order.
    pub errors: Vec<ImportError>,
}

fn int(value: impl TryInto<i32>) -> i32 {
    value.try_into().unwrap_or(i32::MAX)
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports listings from CSV text (committee staff inside their area, admins anywhere). Each
    /// row creates an organisation named after the listing, its location and one service there,
    /// with history. Every row is checked and every problem reported; if any row is bad,
    /// nothing is imported.
    async fn import_listings_csv(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The file's text (UTF-8): a header row, then one listing per row, at most \
                          500 rows. Columns: see docs/CSV-IMPORT.md.")]
        csv: String,
    ) -> async_graphql::Result<ImportReport> {
        let (actor, state) = steward(ctx).await?;
        let report = domain::import_listings(&state.store, &actor, &csv).await?;
        Ok(ImportReport {
            imported: int(report.imported),
            service_ids: report.service_ids.into_iter().map(ID).collect(),
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportError { row: int(e.row), line: int(e.line), column: e.column, message: e.message })
                .collect(),
        })
    }
}
