//! What stewards read: a record's change history with who made each change, and the listings
//! due for re-verification. Scope is a condition of the query (a list never loads rows to drop
//! them one by one); the GraphQL layer only pages and formats.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use qiao_schema::entity::{account, metadata, service};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::policy::{Scope, StaffReader, may_change_listing, may_change_service};
use crate::directory::hours::local_date;
use crate::directory::rules::listed_statuses;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Page, PageRequest};

/// Oldest "not verified for" age a stale-listing query may ask for, in days (ten years).
pub const MAX_STALE_DAYS: i32 = 3650;

/// One recorded change, with the name of who made it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub field: String,
    pub previous_value: Option<String>,
    pub new_value: Option<String>,
    /// create, update, verify or archive.
    pub action: String,
    pub changed_at: DateTime<Utc>,
    /// The account's display name; its id when the account is gone.
    pub changed_by: String,
}

/// Who last verified a service, for staff who may change it; `None` for anyone else (provider
/// staff of another organisation, committee staff of another area), as for a service never verified.
pub async fn verifier(
    db: &DatabaseConnection,
    reader: &StaffReader,
    service: &service::Model,
) -> ApiResult<Option<String>> {
    Ok(if may_change_service(db, &reader.scope, &service.id).await? { service.assurer.clone() } else { None })
}

/// One page of the history of a record in scope, newest first.
pub async fn history_page(
    db: &DatabaseConnection,
    scope: &Scope,
    resource_id: &str,
    page: &PageRequest,
) -> ApiResult<Page<HistoryEntry>> {
    let query = history_query(db, scope, resource_id).await?;
    let rows = query.offset(page.sql_offset()).limit(page.sql_limit()).all(db).await?;
    let mut page = page.page_of_fetched(rows);
    let rows = std::mem::take(&mut page.items);
    Ok(page.with_items(with_names(db, rows).await?))
}

/// The history rows of a record the scope may change, newest first; out of scope reads as missing.
async fn history_query(
    db: &DatabaseConnection,
    scope: &Scope,
    resource_id: &str,
) -> ApiResult<sea_orm::Select<metadata::Entity>> {
    if !may_change_listing(db, scope, resource_id).await? {
        return Err(ApiError::not_found("listing"));
    }
    Ok(metadata::Entity::find()
        .filter(metadata::Column::ResourceId.eq(resource_id))
        .order_by_desc(metadata::Column::LastActionDate)
        .order_by_desc(metadata::Column::Id))
}

/// History rows with the display names of who made them, read in one query.
async fn with_names(db: &DatabaseConnection, rows: Vec<metadata::Model>) -> ApiResult<Vec<HistoryEntry>> {
    let account_ids: Vec<String> = rows.iter().map(|r| r.updated_by.clone()).collect();
    let names: HashMap<String, String> = account::Entity::find()
        .filter(account::Column::Id.is_in(account_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| HistoryEntry {
            changed_by: names.get(&row.updated_by).cloned().unwrap_or(row.updated_by),
            field: row.field_name,
            previous_value: row.previous_value,
            new_value: row.replacement_value,
            action: row.last_action_type,
            changed_at: row.last_action_date,
        })
        .collect())
}

/// One page of the listings in scope not verified for `older_than_days` days (1 to
/// [`MAX_STALE_DAYS`]) before `now`'s local date, or never; least recently verified first.
pub async fn stale_listings(
    db: &DatabaseConnection,
    scope: &Scope,
    older_than_days: i32,
    now: DateTime<Utc>,
    page: &PageRequest,
) -> ApiResult<Page<service::Model>> {
    if !(1..=MAX_STALE_DAYS).contains(&older_than_days) {
        return Err(ApiError::bad_input(
            "olderThanDays",
            format!("olderThanDays must be 1 to {MAX_STALE_DAYS} (天数须为 1 到 {MAX_STALE_DAYS})"),
        ));
    }
    let cutoff = local_date(now) - Duration::days(i64::from(older_than_days));
    let mut query = service::Entity::find()
        .filter(service::Column::Status.is_in(listed_statuses()))
        .filter(
            Condition::any().add(service::Column::AssuredDate.is_null()).add(service::Column::AssuredDate.lt(cutoff)),
        )
        .order_by_asc(service::Column::AssuredDate)
        .order_by_asc(service::Column::Id);
    if let Some(in_scope) = scope.services_condition(db).await? {
        query = query.filter(in_scope);
    }
    let rows = query.offset(page.sql_offset()).limit(page.sql_limit()).all(db).await?;
    Ok(page.page_of_fetched(rows))
}
