//! Services: creating and editing one (with its languages, costs and documents), verifying it,
//! and the status changes stewards make.

use chrono::NaiveDate;
use qiao_schema::domain::ServiceStatus;
use qiao_schema::entity::*;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::{Db, Outcome, Steward, Text, check_optional_text, check_text, patch_text, save_service};
use crate::auth::policy::{location_in_scope, organization_in_scope, service_in_scope};
use crate::error::{ApiError, ApiResult};
use crate::kernel::history::{Action, created, list_change, record};
use crate::values::{Field, LanguageTag, Money, TextLimit, ValueError};

/// A cost option: what for, and how much in fen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub option: Text,
    pub amount_fen: i64,
}

pub struct ServiceFields {
    pub name: Text,
    pub description: Text,
    pub category_term_id: String,
    pub location_ids: Vec<String>,
    pub languages: Vec<String>,
    pub costs: Vec<Cost>,
    pub documents: Vec<Text>,
    pub fees_description: Option<Text>,
    pub application_process: Option<Text>,
    pub eligibility_description: Option<Text>,
}

#[derive(Default)]
pub struct ServicePatch {
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub category_term_id: Option<String>,
    pub languages: Option<Vec<String>>,
    pub costs: Option<Vec<Cost>>,
    pub documents: Option<Vec<Text>>,
    pub fees_description: Option<Text>,
    pub application_process: Option<Text>,
}

fn check_languages(languages: &[String]) -> ApiResult<Vec<String>> {
    Ok(LanguageTag::parse_list(Field::ServiceLanguages, languages, true)?
        .into_iter()
        .map(LanguageTag::into_string)
        .collect())
}

fn check_costs(costs: &[Cost]) -> ApiResult<()> {
    if costs.is_empty() {
        return Err(ValueError::new(
            Field::ServiceCosts,
            "give at least one cost option; 0 means free (请至少填写一项费用，0 表示免费)",
        )
        .into());
    }
    for cost in costs {
        check_text(Field::CostOption, &cost.option, TextLimit::Name)?;
        Money::from_fen(Field::CostAmount, cost.amount_fen)?;
    }
    Ok(())
}

async fn check_category(db: &impl ConnectionTrait, term_id: &str) -> ApiResult<()> {
    if taxonomy_term::Entity::find_by_id(term_id.to_owned()).one(db).await?.is_some() {
        Ok(())
    } else {
        Err(ValueError::new(Field::ServiceCategory, "unknown category (未知类别)").into())
    }
}

async fn replace_languages(db: &impl ConnectionTrait, service_id: &str, languages: &[String]) -> ApiResult<()> {
    language::Entity::delete_many().filter(language::Column::ServiceId.eq(service_id)).exec(db).await?;
    for (index, code) in languages.iter().enumerate() {
        language::Entity::insert(language::ActiveModel {
            id: Set(format!("{service_id}-lang-{index}")),
            service_id: Set(service_id.to_owned()),
            code: Set(code.clone()),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn replace_costs(db: &impl ConnectionTrait, service_id: &str, costs: &[Cost]) -> ApiResult<()> {
    cost_option::Entity::delete_many().filter(cost_option::Column::ServiceId.eq(service_id)).exec(db).await?;
    for cost in costs {
        cost_option::Entity::insert(cost_option::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            service_id: Set(service_id.to_owned()),
            option_zh: Set(cost.option.zh.trim().to_owned()),
            option_en: Set(cost.option.en.trim().to_owned()),
            amount_fen: Set(cost.amount_fen),
            currency: Set("CNY".to_owned()),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn replace_documents(db: &impl ConnectionTrait, service_id: &str, documents: &[Text]) -> ApiResult<()> {
    required_document::Entity::delete_many()
        .filter(required_document::Column::ServiceId.eq(service_id))
        .exec(db)
        .await?;
    for document in documents {
        let document = check_text(Field::ServiceDocuments, document, TextLimit::Name)?;
        required_document::Entity::insert(required_document::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            service_id: Set(service_id.to_owned()),
            document_zh: Set(document.zh),
            document_en: Set(document.en),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

async fn current_languages(db: &impl ConnectionTrait, service_id: &str) -> ApiResult<Vec<String>> {
    Ok(language::Entity::find()
        .filter(language::Column::ServiceId.eq(service_id))
        .order_by_asc(language::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.code)
        .collect())
}

async fn current_costs(db: &impl ConnectionTrait, service_id: &str) -> ApiResult<Vec<Cost>> {
    Ok(cost_option::Entity::find()
        .filter(cost_option::Column::ServiceId.eq(service_id))
        .order_by_asc(cost_option::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| Cost { option: Text { zh: c.option_zh, en: c.option_en }, amount_fen: c.amount_fen })
        .collect())
}

async fn current_documents(db: &impl ConnectionTrait, service_id: &str) -> ApiResult<Vec<Text>> {
    Ok(required_document::Entity::find()
        .filter(required_document::Column::ServiceId.eq(service_id))
        .order_by_asc(required_document::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|d| Text { zh: d.document_zh, en: d.document_en })
        .collect())
}

/// Creates a service of an organisation at some of its locations (each in the actor's scope).
pub async fn create_service(
    db: &impl Db,
    actor: &Steward,
    organization_id: &str,
    fields: ServiceFields,
) -> ApiResult<Outcome> {
    let name = check_text(Field::ServiceName, &fields.name, TextLimit::Name)?;
    let description = check_text(Field::ServiceDescription, &fields.description, TextLimit::LongText)?;
    let languages = check_languages(&fields.languages)?;
    check_costs(&fields.costs)?;
    let (fees_zh, fees_en) = check_optional_text(Field::ServiceFeesDescription, fields.fees_description.as_ref())?;
    let (process_zh, process_en) =
        check_optional_text(Field::ServiceApplicationProcess, fields.application_process.as_ref())?;
    let (eligibility_zh, eligibility_en) =
        check_optional_text(Field::ServiceEligibilityDescription, fields.eligibility_description.as_ref())?;
    if fields.location_ids.is_empty() {
        return Err(ValueError::new(
            Field::ServiceLocations,
            "a service needs at least one of its organisation's locations (请至少选择一个地点)",
        )
        .into());
    }
    let txn = db.begin().await?;
    let organization = organization_in_scope(&txn, &actor.scope, organization_id).await?;
    check_category(&txn, &fields.category_term_id).await?;
    for location_id in &fields.location_ids {
        let location = location_in_scope(&txn, &actor.scope, location_id).await?;
        if location.organization_id != organization.id || location.archived_at.is_some() {
            return Err(ApiError::not_found("location"));
        }
    }
    let row = service::Model {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: organization.id.clone(),
        program_id: None,
        category_term_id: fields.category_term_id,
        name_zh: name.zh,
        name_en: name.en,
        description_zh: description.zh,
        description_en: description.en,
        url: None,
        email: None,
        status: ServiceStatus::Active,
        application_process_zh: process_zh,
        application_process_en: process_en,
        fees_description_zh: fees_zh,
        fees_description_en: fees_en,
        eligibility_description_zh: eligibility_zh,
        eligibility_description_en: eligibility_en,
        minimum_age: None,
        maximum_age: None,
        alert_zh: None,
        alert_en: None,
        assured_date: None,
        assurer: None,
        last_modified: actor.now,
    };
    service::Entity::insert(service::ActiveModel::from(row.clone())).exec_without_returning(&txn).await?;
    for location_id in &fields.location_ids {
        service_at_location::Entity::insert(service_at_location::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            service_id: Set(row.id.clone()),
            location_id: Set(location_id.clone()),
        })
        .exec_without_returning(&txn)
        .await?;
    }
    replace_languages(&txn, &row.id, &languages).await?;
    replace_costs(&txn, &row.id, &fields.costs).await?;
    replace_documents(&txn, &row.id, &fields.documents).await?;
    let mut changes = created(&row)?;
    changes.extend(list_change("locations", &Vec::<String>::new(), &fields.location_ids)?);
    changes.extend(list_change("languages", &Vec::<String>::new(), &languages)?);
    changes.extend(list_change("costs", &Vec::<Cost>::new(), &fields.costs)?);
    changes.extend(list_change("documents", &Vec::<Text>::new(), &fields.documents)?);
    record(&txn, "service", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
    txn.commit().await?;
    Ok(Outcome { id: row.id, resource_type: "service", changes })
}

pub async fn update_service(db: &impl Db, actor: &Steward, id: &str, patch: ServicePatch) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let mut after = before.clone();
    patch_text(Field::ServiceName, patch.name.as_ref(), TextLimit::Name, &mut after.name_zh, &mut after.name_en)?;
    patch_text(
        Field::ServiceDescription,
        patch.description.as_ref(),
        TextLimit::LongText,
        &mut after.description_zh,
        &mut after.description_en,
    )?;
    if let Some(term) = patch.category_term_id {
        check_category(&txn, &term).await?;
        after.category_term_id = term;
    }
    if let Some(text) = &patch.fees_description {
        (after.fees_description_zh, after.fees_description_en) =
            check_optional_text(Field::ServiceFeesDescription, Some(text))?;
    }
    if let Some(text) = &patch.application_process {
        (after.application_process_zh, after.application_process_en) =
            check_optional_text(Field::ServiceApplicationProcess, Some(text))?;
    }
    let mut extra = Vec::new();
    if let Some(languages) = &patch.languages {
        let languages = check_languages(languages)?;
        let current = current_languages(&txn, id).await?;
        if let Some(change) = list_change("languages", &current, &languages)? {
            replace_languages(&txn, id, &languages).await?;
            extra.push(change);
        }
    }
    if let Some(costs) = &patch.costs {
        check_costs(costs)?;
        let current = current_costs(&txn, id).await?;
        if let Some(change) = list_change("costs", &current, costs)? {
            replace_costs(&txn, id, costs).await?;
            extra.push(change);
        }
    }
    if let Some(documents) = &patch.documents {
        let current = current_documents(&txn, id).await?;
        if let Some(change) = list_change("documents", &current, documents)? {
            replace_documents(&txn, id, documents).await?;
            extra.push(change);
        }
    }
    let outcome = save_service(&txn, actor, Action::Update, &before, after, extra).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Marks a service as checked today by the actor (HSDS `assured_date`, `assurer`).
pub async fn verify_service(db: &impl Db, actor: &Steward, id: &str, today: NaiveDate) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let after = service::Model {
        assured_date: Some(today),
        assurer: Some(format!("{} ({})", actor.account.display_name, actor.account.id)),
        ..before.clone()
    };
    let outcome = save_service(&txn, actor, Action::Verify, &before, after, Vec::new()).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// The status changes stewards make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Temporarily closed: stays listed and says so, with the reason as its alert.
    CloseTemporarily,
    /// Back to active from temporarily closed or inactive.
    Reopen,
    /// Archived (HSDS `defunct`): vanishes from the public directory.
    Archive,
}

pub async fn change_service_status(
    db: &impl Db,
    actor: &Steward,
    id: &str,
    change: StatusChange,
    reason: Option<Text>,
) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let mut after = before.clone();
    let action = match change {
        StatusChange::CloseTemporarily => {
            if !matches!(before.status, ServiceStatus::Active) {
                return Err(ApiError::conflict(
                    "only an active service can be closed temporarily (只有正常服务可以暂停)",
                ));
            }
            let reason = check_text(
                Field::ServiceStatusReason,
                reason.as_ref().ok_or_else(|| {
                    ValueError::new(Field::ServiceStatusReason, "say why it is closed (请说明暂停原因)")
                })?,
                TextLimit::LongText,
            )?;
            after.status = ServiceStatus::TemporarilyClosed;
            (after.alert_zh, after.alert_en) = (Some(reason.zh), Some(reason.en));
            Action::Update
        }
        StatusChange::Reopen => {
            if !matches!(before.status, ServiceStatus::TemporarilyClosed | ServiceStatus::Inactive) {
                return Err(ApiError::conflict("only a closed service can be reopened (只有暂停的服务可以恢复)"));
            }
            after.status = ServiceStatus::Active;
            (after.alert_zh, after.alert_en) = (None, None);
            Action::Update
        }
        StatusChange::Archive => {
            if before.status == ServiceStatus::Defunct {
                return Err(ApiError::conflict("already archived (已归档)"));
            }
            after.status = ServiceStatus::Defunct;
            Action::Archive
        }
    };
    let outcome = save_service(&txn, actor, action, &before, after, Vec::new()).await?;
    txn.commit().await?;
    Ok(outcome)
}
