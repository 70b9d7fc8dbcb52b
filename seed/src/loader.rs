//! Writes seed rows into the database, in one transaction, skipping rows that already exist.

use std::collections::HashSet;

use qiao_schema::entity::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Iterable, PaginatorTrait,
    TransactionTrait, TryInsertResult,
};

use crate::SeedError;
use crate::model::{DirectoryFile, Holiday};
use crate::rows::{DirectoryRows, taxonomy_rows};

/// How many rows a load inserted (rows that already existed are not counted).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadReport {
    pub inserted_rows: u64,
    pub services: usize,
}

/// Loads the category taxonomy. Safe to call on every start.
pub async fn load_reference_data(db: &DatabaseConnection) -> Result<LoadReport, SeedError> {
    let rows = taxonomy_rows(&crate::files::taxonomy()?)?;
    let txn = db.begin().await?;
    let mut inserted_rows = insert_all::<taxonomy::ActiveModel>(&txn, rows.taxonomies).await?;
    inserted_rows += insert_all::<taxonomy_term::ActiveModel>(&txn, rows.terms).await?;
    txn.commit().await?;
    Ok(LoadReport { inserted_rows, services: 0 })
}

/// Whether the directory has no services yet (the server seeds demo data only then).
pub async fn directory_is_empty(db: &DatabaseConnection) -> Result<bool, SeedError> {
    Ok(service::Entity::find().count(db).await? == 0)
}

/// Loads the demo directory (Shanghai's T village and its neighbours, Guiyang, and Zhijin County
/// in Guizhou, a hometown families return to).
pub async fn load_demo_directory(db: &DatabaseConnection) -> Result<LoadReport, SeedError> {
    let files = crate::files::directories()?;
    let holidays = crate::files::holidays()?.holidays;
    load_directory(db, &files, &holidays).await
}

/// Loads directory files; the taxonomy must be loaded already.
pub async fn load_directory(
    db: &DatabaseConnection,
    files: &[DirectoryFile],
    holidays: &[Holiday],
) -> Result<LoadReport, SeedError> {
    let codes: HashSet<String> = crate::files::taxonomy()?.categories.into_iter().map(|c| c.code).collect();
    let rows = DirectoryRows::build(files, holidays, &codes)?;
    let services = rows.services.len();
    let txn = db.begin().await?;
    let mut n = 0;
    n += insert_all::<urban_village::ActiveModel>(&txn, rows.urban_villages).await?;
    n += insert_all::<organization::ActiveModel>(&txn, rows.organizations).await?;
    n += insert_all::<organization_identifier::ActiveModel>(&txn, rows.organization_identifiers).await?;
    n += insert_all::<program::ActiveModel>(&txn, rows.programs).await?;
    n += insert_all::<location::ActiveModel>(&txn, rows.locations).await?;
    n += insert_all::<address::ActiveModel>(&txn, rows.addresses).await?;
    n += insert_all::<accessibility::ActiveModel>(&txn, rows.accessibility).await?;
    n += insert_all::<service::ActiveModel>(&txn, rows.services).await?;
    n += insert_all::<service_at_location::ActiveModel>(&txn, rows.service_at_locations).await?;
    n += insert_all::<schedule::ActiveModel>(&txn, rows.schedules).await?;
    n += insert_all::<schedule_exception::ActiveModel>(&txn, rows.schedule_exceptions).await?;
    n += insert_all::<phone::ActiveModel>(&txn, rows.phones).await?;
    n += insert_all::<contact::ActiveModel>(&txn, rows.contacts).await?;
    n += insert_all::<language::ActiveModel>(&txn, rows.languages).await?;
    n += insert_all::<cost_option::ActiveModel>(&txn, rows.cost_options).await?;
    n += insert_all::<required_document::ActiveModel>(&txn, rows.required_documents).await?;
    n += insert_all::<eligibility_requirement::ActiveModel>(&txn, rows.eligibility_requirements).await?;
    n += insert_all::<service_capacity::ActiveModel>(&txn, rows.capacities).await?;
    n += insert_all::<service_area::ActiveModel>(&txn, rows.service_areas).await?;
    n += insert_all::<service_support::ActiveModel>(&txn, rows.supports).await?;
    n += insert_all::<attribute::ActiveModel>(&txn, rows.attributes).await?;
    txn.commit().await?;
    Ok(LoadReport { inserted_rows: n, services })
}

/// Inserts rows in batches, leaving rows whose primary key exists untouched.
async fn insert_all<A>(
    db: &impl ConnectionTrait,
    rows: Vec<<A::Entity as EntityTrait>::Model>,
) -> Result<u64, SeedError>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    // Stay well under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters per statement.
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let batch_size = (16_000 / columns).max(1);
    let mut inserted = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(batch_size).collect();
        let result = sea_orm::InsertMany::<A>::many(batch).on_conflict_do_nothing().exec_without_returning(db).await?;
        if let TryInsertResult::Inserted(count) = result {
            inserted += count;
        }
    }
    Ok(inserted)
}
