//! Field-level change history (HSDS `metadata`): who changed which field of which record from
//! what to what, and when. Every write of a listing goes through [`record`], which also publishes
//! the change (see the kernel).

use chrono::{DateTime, Utc};
use qiao_schema::entity::metadata;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde::Serialize;
use serde_json::Value;

use super::store::Txn;
use crate::error::{ApiError, ApiResult};

/// The result of a write: the record and what changed.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub resource_type: &'static str,
    pub changes: Vec<Change>,
}

/// One changed field.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub previous: Option<String>,
    pub new: Option<String>,
}

/// What kind of write a change was (HSDS `last_action_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Verify,
    Archive,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Verify => "verify",
            Self::Archive => "archive",
        }
    }
}

/// A JSON value as history text: strings bare, null as none, anything else as JSON.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The top-level fields that differ between two versions of a row (`id` never changes).
pub fn diff<T: Serialize>(before: &T, after: &T) -> ApiResult<Vec<Change>> {
    let (before, after) = (to_object(before)?, to_object(after)?);
    Ok(after
        .iter()
        .filter(|(field, value)| field.as_str() != "id" && before.get(field.as_str()) != Some(value))
        .map(|(field, value)| Change {
            field: field.clone(),
            previous: before.get(field.as_str()).and_then(as_text),
            new: as_text(value),
        })
        .collect())
}

/// Every non-empty field of a new row, as changes from nothing.
pub fn created<T: Serialize>(row: &T) -> ApiResult<Vec<Change>> {
    Ok(to_object(row)?
        .iter()
        .filter(|(field, value)| field.as_str() != "id" && !value.is_null())
        .map(|(field, value)| Change { field: field.clone(), previous: None, new: as_text(value) })
        .collect())
}

/// A change of a list-valued field (hours, languages, costs), recorded as JSON text.
pub fn list_change<T: Serialize>(field: &str, before: &T, after: &T) -> ApiResult<Option<Change>> {
    let (before, after) = (
        serde_json::to_value(before).map_err(ApiError::internal)?,
        serde_json::to_value(after).map_err(ApiError::internal)?,
    );
    Ok((before != after).then(|| Change { field: field.to_owned(), previous: as_text(&before), new: as_text(&after) }))
}

fn to_object<T: Serialize>(row: &T) -> ApiResult<serde_json::Map<String, Value>> {
    match serde_json::to_value(row).map_err(ApiError::internal)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::internal("a history record must serialise to an object")),
    }
}

/// Writes one metadata row per change, and publishes the change to the search index (see
/// `crate::kernel`): recording and publishing are one step, so no write can do one without the other.
pub async fn record(
    db: &Txn,
    resource_type: &str,
    resource_id: &str,
    action: Action,
    changes: &[Change],
    account_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    for change in changes {
        metadata::Entity::insert(metadata::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            resource_id: Set(resource_id.to_owned()),
            resource_type: Set(resource_type.to_owned()),
            last_action_date: Set(now),
            last_action_type: Set(action.as_str().to_owned()),
            field_name: Set(change.field.clone()),
            previous_value: Set(change.previous.clone()),
            replacement_value: Set(change.new.clone()),
            updated_by: Set(account_id.to_owned()),
        })
        .exec_without_returning(db)
        .await?;
    }
    if !changes.is_empty() {
        db.publish(resource_type, resource_id, action.as_str(), now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Row {
        id: &'static str,
        name: &'static str,
        age: Option<i32>,
    }

    #[test]
    fn only_changed_fields_are_recorded() {
        let changes = diff(&Row { id: "1", name: "a", age: None }, &Row { id: "1", name: "b", age: None }).ok();
        assert_eq!(
            changes,
            Some(vec![Change { field: "name".into(), previous: Some("a".into()), new: Some("b".into()) }])
        );
        let created = created(&Row { id: "1", name: "a", age: Some(3) }).ok().unwrap_or_default();
        assert_eq!(created.len(), 2);
        let age = created.iter().find(|c| c.field == "age");
        assert_eq!(age.and_then(|c| c.new.as_deref()), Some("3"));
    }
}
