//! Listing stewardship: committee staff keep the listings of their areas accurate; provider staff
//! keep their own services' hours, capacity and alerts current; admins may do both anywhere.
//!
//! Each function takes a capability ([`Steward`] or [`Keeper`], made only by `auth::policy` from
//! the database), checks scope (out of scope reads as NOT_FOUND), parses its input through
//! `crate::values`, writes in one kernel transaction (a savepoint when handed an open one, see
//! [`Db`]), and records every changed field with `kernel::history::record`, which also publishes
//! the change so search sees it when the write returns.
//!
//! One module per kind of listing: `organizations`, `locations`, `services` (create, edit, verify,
//! status) and `service_facts` (hours, eligibility, capacity, alert, phone), all re-exported here.
//! This module keeps what they share: the bilingual text checks and `save`, the one
//! compare-and-set write (with history) that every change goes through.

pub mod import;
mod locations;
mod organizations;
pub mod reads;
mod service_facts;
mod services;

use qiao_schema::entity::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, Iterable, QueryFilter};
use serde::Serialize;

use crate::error::{ApiError, ApiResult};
use crate::kernel::history::{Action, Change, diff, record};
use crate::values::{BilingualText, Field, TextLimit};

pub use crate::auth::policy::{Actor, Keeper, Steward};
pub use crate::kernel::{Db, Outcome, Txn};
pub use locations::{LocationFields, LocationPatch, archive_location, create_location, update_location};
pub use organizations::{
    OrganizationFields, OrganizationPatch, archive_organization, create_organization, update_organization,
};
pub use service_facts::{
    ExceptionSpec, HoursSpec, RequirementSpec, service_hours, set_service_alert, set_service_capacity,
    set_service_eligibility, set_service_hours, set_service_phone,
};
pub use services::{
    Cost, ServiceFields, ServicePatch, StatusChange, change_service_status, create_service, update_service,
    verify_service,
};

/// Bilingual text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

fn check_text(field: Field, text: &Text, limit: TextLimit) -> ApiResult<Text> {
    let (zh, en) = BilingualText::parse(field, &text.zh, &text.en, limit)?.into_pair();
    Ok(Text { zh, en })
}

/// Applies an optional bilingual patch to a `_zh` / `_en` column pair, after checking it.
fn patch_text(field: Field, patch: Option<&Text>, limit: TextLimit, zh: &mut String, en: &mut String) -> ApiResult<()> {
    if let Some(text) = patch {
        let text = check_text(field, text, limit)?;
        (*zh, *en) = (text.zh, text.en);
    }
    Ok(())
}

fn check_optional_text(field: Field, text: Option<&Text>) -> ApiResult<(Option<String>, Option<String>)> {
    match text {
        None => Ok((None, None)),
        Some(text) => {
            let text = check_text(field, text, TextLimit::LongText)?;
            Ok((Some(text.zh), Some(text.en)))
        }
    }
}

/// Saves `after` over `before` and records the difference.
///
/// Only the changed columns are written, and only while they still hold what `before` read
/// (compare-and-set): a write never puts back a stale copy of a field it did not mean to change,
/// and should two writers ever change the same field from the same value at once, the second is
/// told so instead of silently undoing the first. (Writers lock the row before reading it, see
/// `auth::policy`, so on both databases the second normally waits and then reads the new value.)
async fn save<M>(
    db: &Txn,
    actor: &Actor,
    resource_type: &'static str,
    action: Action,
    before: &M,
    after: M,
) -> ApiResult<Outcome>
where
    M: sea_orm::ModelTrait + Serialize + Clone + sea_orm::IntoActiveModel<<M::Entity as EntityTrait>::ActiveModel>,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + Send,
{
    use sea_orm::IdenStatic;

    let changes = diff(before, &after)?;
    let id = serde_json::to_value(&after)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_owned)))
        .unwrap_or_default();
    if changes.is_empty() {
        return Ok(Outcome { id, resource_type, changes });
    }
    let mut active = after.clone().into_active_model();
    let mut update = <M::Entity as EntityTrait>::update_many();
    for column in <M::Entity as EntityTrait>::Column::iter() {
        let name = column.as_str();
        if name == "id" {
            update = update.filter(column.eq(before.get(column)));
        } else if let Some(change) = changes.iter().find(|c| c.field == name) {
            active.reset(column);
            update = update.filter(match change.previous {
                None => column.is_null(),
                Some(_) => column.eq(before.get(column)),
            });
        }
    }
    let result = update.set(active).exec(db).await?;
    if result.rows_affected != 1 {
        return Err(ApiError::conflict(
            "this listing was changed by someone else at the same moment; reload it and try again \
             (此信息刚被他人修改，请刷新后重试)",
        ));
    }
    record(db, resource_type, &id, action, &changes, &actor.account.id, actor.now).await?;
    Ok(Outcome { id, resource_type, changes })
}

/// Saves a changed service row (stamping `last_modified`) and records it.
async fn save_service(
    db: &Txn,
    actor: &Actor,
    action: Action,
    before: &service::Model,
    mut after: service::Model,
    extra_changes: Vec<Change>,
) -> ApiResult<Outcome> {
    let row_changed = !diff(before, &after)?.is_empty();
    if row_changed || !extra_changes.is_empty() {
        after.last_modified = actor.now;
    }
    let mut outcome = save(db, actor, "service", action, before, after).await?;
    record(db, "service", &before.id, action, &extra_changes, &actor.account.id, actor.now).await?;
    outcome.changes.extend(extra_changes);
    Ok(outcome)
}
// ---------------------------------------------------------------------------------------------
// Reading history and what needs re-verification
