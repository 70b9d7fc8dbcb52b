//! Listing stewardship: committee staff keep the listings of their areas accurate; provider staff
//! keep their own services' hours, capacity and alerts current; admins may do both anywhere.
//!
//! Each function checks scope against the database (out of scope reads as NOT_FOUND), validates
//! its input, writes in one transaction (a savepoint when handed an open transaction, see [`Db`]),
//! and records every changed field in the history ([`history`]). The GraphQL layer checks the
//! role and reloads the search index afterwards.

pub mod import;
pub mod reads;

use chrono::NaiveDate;
use qiao_schema::datum::LatLon;
use qiao_schema::domain::{CapacityStatus, EligibilityKind, LocationType, ServiceStatus};
use qiao_schema::entity::*;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable,
    QueryFilter, QueryOrder,
};
use serde::Serialize;

use crate::auth::policy::{Scope, location_in_scope, organization_in_scope, service_in_scope};
use crate::directory::hours::parse_minute;
use crate::error::{ApiError, ApiResult};
use crate::kernel::history::{Action, Change, created, diff, list_change, record};
use crate::values::{
    Adcode, BilingualText, Coordinates, EmailAddress, Field, LanguageTag, Money, PhoneNumber, TextLimit, ValueError,
    WebAddress, Weekday,
};

pub use crate::auth::policy::{Actor, Keeper, Steward};
pub use crate::kernel::{Db, Outcome, Txn};

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

fn check_point(point: LatLon) -> ApiResult<LatLon> {
    Ok(Coordinates::parse(Field::LocationPoint, point)?.lat_lon())
}

/// An organisation's website or email: `None` leaves it, a blank string clears it.
fn check_contact<T>(
    value: Option<String>,
    parse: impl Fn(&str) -> Result<T, ValueError>,
    into_string: impl Fn(T) -> String,
) -> ApiResult<Option<Option<String>>> {
    Ok(match value {
        None => None,
        Some(text) if text.trim().is_empty() => Some(None),
        Some(text) => Some(Some(into_string(parse(&text)?))),
    })
}

fn check_website(website: Option<String>) -> ApiResult<Option<Option<String>>> {
    check_contact(website, |t| WebAddress::parse(Field::OrganizationWebsite, t), WebAddress::into_string)
}

fn check_email(email: Option<String>) -> ApiResult<Option<Option<String>>> {
    check_contact(email, |t| EmailAddress::parse(Field::OrganizationEmail, t), EmailAddress::into_string)
}

fn check_in_scope(scope: &Scope, point: LatLon) -> ApiResult<()> {
    if scope.covers_point(point) { Ok(()) } else { Err(ApiError::Forbidden) }
}

// ---------------------------------------------------------------------------------------------
// Organisations

pub struct OrganizationFields {
    pub name: Text,
    pub description: Text,
    pub website: Option<String>,
    pub email: Option<String>,
    pub legal_status: Option<String>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Default)]
pub struct OrganizationPatch {
    pub name: Option<Text>,
    pub description: Option<Text>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub legal_status: Option<String>,
}

/// Creates an organisation with its first location, which must lie in the actor's scope.
pub async fn create_organization(
    db: &impl Db,
    actor: &Steward,
    fields: OrganizationFields,
    first_location: LocationFields,
) -> ApiResult<Outcome> {
    let name = check_text(Field::OrganizationName, &fields.name, TextLimit::Name)?;
    let description = check_text(Field::OrganizationDescription, &fields.description, TextLimit::LongText)?;
    let website = check_website(fields.website)?.flatten();
    let email = check_email(fields.email)?.flatten();
    let point = check_point(first_location.point)?;
    check_in_scope(&actor.scope, point)?;
    let row = organization::Model {
        id: uuid::Uuid::now_v7().to_string(),
        name_zh: name.zh,
        name_en: name.en,
        description_zh: description.zh,
        description_en: description.en,
        website,
        email,
        legal_status: fields.legal_status,
        parent_organization_id: None,
        archived_at: None,
    };
    let txn = db.begin().await?;
    organization::Entity::insert(organization::ActiveModel::from(row.clone())).exec_without_returning(&txn).await?;
    let changes = created(&row)?;
    record(&txn, "organization", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
    insert_location(&txn, actor, &row.id, first_location).await?;
    txn.commit().await?;
    Ok(Outcome { id: row.id, resource_type: "organization", changes })
}

pub async fn update_organization(
    db: &impl Db,
    actor: &Steward,
    id: &str,
    patch: OrganizationPatch,
) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = organization_in_scope(&txn, &actor.scope, id).await?;
    let mut after = before.clone();
    patch_text(Field::OrganizationName, patch.name.as_ref(), TextLimit::Name, &mut after.name_zh, &mut after.name_en)?;
    patch_text(
        Field::OrganizationDescription,
        patch.description.as_ref(),
        TextLimit::LongText,
        &mut after.description_zh,
        &mut after.description_en,
    )?;
    if let Some(website) = check_website(patch.website)? {
        after.website = website;
    }
    if let Some(email) = check_email(patch.email)? {
        after.email = email;
    }
    if let Some(legal_status) = patch.legal_status {
        after.legal_status = Some(legal_status).filter(|l| !l.trim().is_empty());
    }
    let outcome = save(&txn, actor, "organization", Action::Update, &before, after).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Archives an organisation: it and its services vanish from the public directory.
pub async fn archive_organization(db: &impl Db, actor: &Steward, id: &str) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = organization_in_scope(&txn, &actor.scope, id).await?;
    if before.archived_at.is_some() {
        return Err(ApiError::conflict("already archived (已归档)"));
    }
    let after = organization::Model { archived_at: Some(actor.now), ..before.clone() };
    let outcome = save(&txn, actor, "organization", Action::Archive, &before, after).await?;
    txn.commit().await?;
    Ok(outcome)
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

// ---------------------------------------------------------------------------------------------
// Locations

pub struct LocationFields {
    pub name: Text,
    /// WGS-84.
    pub point: LatLon,
    pub street: Text,
    pub district: Text,
    pub city: Text,
    pub adcode: String,
    pub postal_code: Option<String>,
    pub transportation: Option<Text>,
}

#[derive(Default)]
pub struct LocationPatch {
    pub name: Option<Text>,
    pub point: Option<LatLon>,
    pub street: Option<Text>,
    pub transportation: Option<Text>,
}

async fn insert_location(db: &Txn, actor: &Actor, organization_id: &str, fields: LocationFields) -> ApiResult<Outcome> {
    let name = check_text(Field::LocationName, &fields.name, TextLimit::Name)?;
    let street = check_text(Field::LocationStreet, &fields.street, TextLimit::Name)?;
    let district = check_text(Field::LocationDistrict, &fields.district, TextLimit::Name)?;
    let city = check_text(Field::LocationCity, &fields.city, TextLimit::Name)?;
    let adcode = Adcode::parse(Field::LocationAdcode, &fields.adcode)?.into_string();
    let point = check_point(fields.point)?;
    check_in_scope(&actor.scope, point)?;
    let (transportation_zh, transportation_en) =
        check_optional_text(Field::LocationTransportation, fields.transportation.as_ref())?;
    let row = location::Model {
        id: uuid::Uuid::now_v7().to_string(),
        organization_id: organization_id.to_owned(),
        location_type: LocationType::Physical,
        name_zh: name.zh,
        name_en: name.en,
        description_zh: None,
        description_en: None,
        transportation_zh,
        transportation_en,
        latitude: Some(point.lat),
        longitude: Some(point.lon),
        archived_at: None,
    };
    location::Entity::insert(location::ActiveModel::from(row.clone())).exec_without_returning(db).await?;
    let address_row = address::Model {
        id: uuid::Uuid::now_v7().to_string(),
        location_id: row.id.clone(),
        address_1_zh: street.zh,
        address_1_en: street.en,
        district_zh: district.zh,
        district_en: district.en,
        city_zh: city.zh,
        city_en: city.en,
        adcode,
        postal_code: fields.postal_code,
        country: "CN".to_owned(),
        address_type: "physical".to_owned(),
    };
    address::Entity::insert(address::ActiveModel::from(address_row.clone())).exec_without_returning(db).await?;
    let mut changes = created(&row)?;
    changes.extend(
        created(&address_row)?
            .into_iter()
            .filter(|c| c.field != "location_id")
            .map(|c| Change { field: format!("address.{}", c.field), ..c }),
    );
    record(db, "location", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
    Ok(Outcome { id: row.id, resource_type: "location", changes })
}

/// Adds a location to an existing organisation; the point must lie in the actor's scope.
pub async fn create_location(
    db: &impl Db,
    actor: &Steward,
    organization_id: &str,
    fields: LocationFields,
) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    // The organisation itself must be in scope, not only the new place: otherwise a committee
    // could add a place in its area to another area's organisation and so gain the whole of it.
    let organization = organization_in_scope(&txn, &actor.scope, organization_id).await?;
    if organization.archived_at.is_some() {
        return Err(ApiError::not_found("organization"));
    }
    let outcome = insert_location(&txn, actor, &organization.id, fields).await?;
    txn.commit().await?;
    Ok(outcome)
}

pub async fn update_location(db: &impl Db, actor: &Steward, id: &str, patch: LocationPatch) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = location_in_scope(&txn, &actor.scope, id).await?;
    let mut after = before.clone();
    patch_text(Field::LocationName, patch.name.as_ref(), TextLimit::Name, &mut after.name_zh, &mut after.name_en)?;
    if let Some(point) = patch.point {
        // A place may only be moved within the actor's scope.
        let point = check_point(point)?;
        check_in_scope(&actor.scope, point)?;
        (after.latitude, after.longitude) = (Some(point.lat), Some(point.lon));
    }
    if let Some(transportation) = &patch.transportation {
        let text = check_text(Field::LocationTransportation, transportation, TextLimit::LongText)?;
        (after.transportation_zh, after.transportation_en) = (Some(text.zh), Some(text.en));
    }
    let mut outcome = save(&txn, actor, "location", Action::Update, &before, after).await?;
    if let Some(street) = &patch.street {
        let street = check_text(Field::LocationStreet, street, TextLimit::Name)?;
        if let Some(address_before) =
            address::Entity::find().filter(address::Column::LocationId.eq(id)).one(&txn).await?
        {
            let address_after =
                address::Model { address_1_zh: street.zh, address_1_en: street.en, ..address_before.clone() };
            let changes: Vec<Change> = diff(&address_before, &address_after)?
                .into_iter()
                .map(|c| Change { field: format!("address.{}", c.field), ..c })
                .collect();
            if !changes.is_empty() {
                address::ActiveModel::from(address_after).reset_all().update(&txn).await?;
                // Recorded on the location, as when it was created, so that its history shows it.
                record(&txn, "location", id, Action::Update, &changes, &actor.account.id, actor.now).await?;
                outcome.changes.extend(changes);
            }
        }
    }
    txn.commit().await?;
    Ok(outcome)
}

pub async fn archive_location(db: &impl Db, actor: &Steward, id: &str) -> ApiResult<Outcome> {
    let txn = db.begin().await?;
    let before = location_in_scope(&txn, &actor.scope, id).await?;
    if before.archived_at.is_some() {
        return Err(ApiError::conflict("already archived (已归档)"));
    }
    let after = location::Model { archived_at: Some(actor.now), ..before.clone() };
    let outcome = save(&txn, actor, "location", Action::Archive, &before, after).await?;
    txn.commit().await?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Services

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

/// Weekly opening hours on some days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoursSpec {
    /// Stored as iCal codes (`MO,TU`), in the order given.
    pub days: Vec<Weekday>,
    pub opens: String,
    pub closes: String,
}

/// A dated exception: closed, or open with special hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionSpec {
    pub date: NaiveDate,
    pub opens: Option<String>,
    pub closes: Option<String>,
    pub reason: Text,
}

fn check_interval(field: Field, opens: &str, closes: &str) -> ApiResult<()> {
    match (parse_minute(opens), parse_minute(closes)) {
        (Some(o), Some(c)) if o < c => Ok(()),
        _ => Err(ValueError::new(
            field,
            format!("{opens}-{closes} is not an HH:MM interval that closes after it opens (时间段格式错误)"),
        )
        .into()),
    }
}

/// Replaces a service's weekly hours and dated exceptions.
pub async fn set_service_hours(
    db: &impl Db,
    actor: &Keeper,
    id: &str,
    hours: Vec<HoursSpec>,
    exceptions: Vec<ExceptionSpec>,
) -> ApiResult<Outcome> {
    if hours.len() > 50 || exceptions.len() > 400 {
        return Err(ValueError::new(Field::Hours, "too many hours or exceptions (时间条目过多)").into());
    }
    for spec in &hours {
        if spec.days.is_empty() {
            return Err(ValueError::new(Field::HoursDays, "days must be weekdays MO to SU (星期格式错误)").into());
        }
        check_interval(Field::HoursInterval, &spec.opens, &spec.closes)?;
    }
    for exception in &exceptions {
        check_text(Field::ExceptionReason, &exception.reason, TextLimit::Name)?;
        match (&exception.opens, &exception.closes) {
            (None, None) => {}
            (Some(opens), Some(closes)) => check_interval(Field::ExceptionInterval, opens, closes)?,
            _ => {
                return Err(ValueError::new(
                    Field::ExceptionInterval,
                    "give both opens and closes, or neither for closed all day (请同时填写开门和关门时间)",
                )
                .into());
            }
        }
    }
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let old_schedules = schedule::Entity::find()
        .filter(schedule::Column::ServiceId.eq(id))
        .filter(schedule::Column::ServiceAtLocationId.is_null())
        .order_by_asc(schedule::Column::Id)
        .all(&txn)
        .await?;
    let old_exceptions = schedule_exception::Entity::find()
        .filter(schedule_exception::Column::ServiceId.eq(id))
        .filter(schedule_exception::Column::ServiceAtLocationId.is_null())
        .order_by_asc(schedule_exception::Column::Date)
        .all(&txn)
        .await?;
    let old_hours: Vec<HoursSpec> = old_schedules
        .iter()
        .map(|s| HoursSpec {
            days: s.byday.split(',').filter_map(|code| Weekday::from_code(code.trim())).collect(),
            opens: s.opens_at.clone(),
            closes: s.closes_at.clone(),
        })
        .collect();
    let old_exception_specs: Vec<ExceptionSpec> = old_exceptions
        .iter()
        .map(|e| ExceptionSpec {
            date: e.date,
            opens: e.opens_at.clone().filter(|_| !e.closed),
            closes: e.closes_at.clone().filter(|_| !e.closed),
            reason: Text { zh: e.reason_zh.clone(), en: e.reason_en.clone() },
        })
        .collect();
    let mut changes = Vec::new();
    if let Some(change) = list_change("hours", &old_hours, &hours)? {
        schedule::Entity::delete_many()
            .filter(schedule::Column::ServiceId.eq(id))
            .filter(schedule::Column::ServiceAtLocationId.is_null())
            .exec(&txn)
            .await?;
        for spec in &hours {
            schedule::Entity::insert(schedule::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(id.to_owned()),
                service_at_location_id: Set(None),
                byday: Set(spec.days.iter().map(|d| d.code()).collect::<Vec<_>>().join(",")),
                opens_at: Set(spec.opens.clone()),
                closes_at: Set(spec.closes.clone()),
                valid_from: Set(None),
                valid_to: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        changes.push(change);
    }
    let mut sorted_exceptions = exceptions;
    sorted_exceptions.sort_by_key(|e| e.date);
    sorted_exceptions.dedup_by_key(|e| e.date);
    if let Some(change) = list_change("exceptions", &old_exception_specs, &sorted_exceptions)? {
        schedule_exception::Entity::delete_many()
            .filter(schedule_exception::Column::ServiceId.eq(id))
            .filter(schedule_exception::Column::ServiceAtLocationId.is_null())
            .exec(&txn)
            .await?;
        for exception in &sorted_exceptions {
            schedule_exception::Entity::insert(schedule_exception::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(id.to_owned()),
                service_at_location_id: Set(None),
                date: Set(exception.date),
                closed: Set(exception.opens.is_none()),
                opens_at: Set(exception.opens.clone()),
                closes_at: Set(exception.closes.clone()),
                reason_zh: Set(exception.reason.zh.trim().to_owned()),
                reason_en: Set(exception.reason.en.trim().to_owned()),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        changes.push(change);
    }
    let outcome = save_service(&txn, actor, Action::Update, &before, before.clone(), changes).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// A structured eligibility requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementSpec {
    pub kind: EligibilityKind,
    pub months: Option<i32>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
}

/// Replaces a service's eligibility requirements and description.
pub async fn set_service_eligibility(
    db: &impl Db,
    actor: &Steward,
    id: &str,
    requirements: Vec<RequirementSpec>,
    description: Option<Text>,
) -> ApiResult<Outcome> {
    if requirements.len() > 20 {
        return Err(ValueError::new(Field::ServiceRequirements, "at most 20 requirements (条件过多)").into());
    }
    for requirement in &requirements {
        let months_ok = match requirement.kind {
            EligibilityKind::SocialInsuranceMonths => requirement.months.is_some_and(|m| (1..=600).contains(&m)),
            _ => requirement.months.is_none(),
        };
        let ages_ok = match requirement.kind {
            EligibilityKind::AgeRange => {
                let (min, max) = (requirement.min_age, requirement.max_age);
                (min.is_some() || max.is_some())
                    && min.is_none_or(|a| (0..=150).contains(&a))
                    && max.is_none_or(|a| (0..=150).contains(&a))
                    && min.zip(max).is_none_or(|(a, b)| a <= b)
            }
            _ => requirement.min_age.is_none() && requirement.max_age.is_none(),
        };
        if !months_ok || !ages_ok {
            return Err(ValueError::new(
                Field::ServiceRequirements,
                "months go with SOCIAL_INSURANCE_MONTHS (1-600), ages with AGE_RANGE (0-150, min ≤ max) (条件参数不匹配)",
            )
            .into());
        }
    }
    let (description_zh, description_en) =
        check_optional_text(Field::ServiceEligibilityDescription, description.as_ref())?;
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let current: Vec<RequirementSpec> = eligibility_requirement::Entity::find()
        .filter(eligibility_requirement::Column::ServiceId.eq(id))
        .order_by_asc(eligibility_requirement::Column::Id)
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| RequirementSpec { kind: r.kind, months: r.months, min_age: r.min_age, max_age: r.max_age })
        .collect();
    let mut extra = Vec::new();
    if let Some(change) = list_change("eligibility_requirements", &current, &requirements)? {
        eligibility_requirement::Entity::delete_many()
            .filter(eligibility_requirement::Column::ServiceId.eq(id))
            .exec(&txn)
            .await?;
        for (index, requirement) in requirements.iter().enumerate() {
            eligibility_requirement::Entity::insert(eligibility_requirement::ActiveModel {
                id: Set(format!("{id}-req-{index:02}")),
                service_id: Set(id.to_owned()),
                kind: Set(requirement.kind),
                months: Set(requirement.months),
                min_age: Set(requirement.min_age),
                max_age: Set(requirement.max_age),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        extra.push(change);
    }
    let age = requirements.iter().find(|r| r.kind == EligibilityKind::AgeRange);
    let after = service::Model {
        eligibility_description_zh: description_zh,
        eligibility_description_en: description_en,
        minimum_age: age.and_then(|r| r.min_age),
        maximum_age: age.and_then(|r| r.max_age),
        ..before.clone()
    };
    let outcome = save_service(&txn, actor, Action::Update, &before, after, extra).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Sets whether a service is taking people.
pub async fn set_service_capacity(
    db: &impl Db,
    actor: &Keeper,
    id: &str,
    status: CapacityStatus,
    note: Option<Text>,
    today: NaiveDate,
) -> ApiResult<Outcome> {
    let (note_zh, note_en) = check_optional_text(Field::ServiceCapacityNote, note.as_ref())?;
    let txn = db.begin().await?;
    let service = service_in_scope(&txn, &actor.scope, id).await?;
    let existing =
        service_capacity::Entity::find().filter(service_capacity::Column::ServiceId.eq(id)).one(&txn).await?;
    let outcome = match existing {
        Some(before) => {
            let after = service_capacity::Model { status, as_of: today, note_zh, note_en, ..before.clone() };
            save(&txn, actor, "service_capacity", Action::Update, &before, after).await?
        }
        None => {
            let row = service_capacity::Model {
                id: uuid::Uuid::now_v7().to_string(),
                service_id: service.id.clone(),
                status,
                as_of: today,
                note_zh,
                note_en,
            };
            service_capacity::Entity::insert(service_capacity::ActiveModel::from(row.clone()))
                .exec_without_returning(&txn)
                .await?;
            let changes = created(&row)?;
            record(&txn, "service_capacity", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
            Outcome { id: row.id, resource_type: "service_capacity", changes }
        }
    };
    // The capacity is part of the service's listing: its history is the service's too.
    record(&txn, "service", &service.id, Action::Update, &outcome.changes, &actor.account.id, actor.now).await?;
    txn.commit().await?;
    Ok(Outcome { id: service.id, resource_type: "service", changes: outcome.changes })
}

/// Sets or clears (with `None`) a service's alert.
pub async fn set_service_alert(db: &impl Db, actor: &Keeper, id: &str, alert: Option<Text>) -> ApiResult<Outcome> {
    let (alert_zh, alert_en) = check_optional_text(Field::ServiceAlert, alert.as_ref())?;
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let after = service::Model { alert_zh, alert_en, ..before.clone() };
    let outcome = save_service(&txn, actor, Action::Update, &before, after, Vec::new()).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Replaces a service's first phone number (adds one when it has none), with history on the
/// service. For a resident's accepted correction, or an imported listing.
pub async fn set_service_phone(db: &impl Db, actor: &Steward, id: &str, number: &str) -> ApiResult<Outcome> {
    let number = PhoneNumber::parse(Field::ServicePhone, number)?.into_string();
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let phones =
        phone::Entity::find().filter(phone::Column::ServiceId.eq(id)).order_by_asc(phone::Column::Id).all(&txn).await?;
    let numbers_before: Vec<String> = phones.iter().map(|p| p.number.clone()).collect();
    let mut numbers_after = numbers_before.clone();
    match phones.first() {
        Some(first) => {
            if let Some(slot) = numbers_after.first_mut() {
                slot.clone_from(&number);
            }
            if first.number != number {
                phone::ActiveModel { id: Set(first.id.clone()), number: Set(number.clone()), ..Default::default() }
                    .update(&txn)
                    .await?;
            }
        }
        None => {
            numbers_after.push(number.clone());
            phone::Entity::insert(phone::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(Some(id.to_owned())),
                organization_id: Set(None),
                location_id: Set(None),
                number: Set(number.clone()),
                extension: Set(None),
                phone_type: Set("voice".to_owned()),
                description_zh: Set(None),
                description_en: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
        }
    }
    let extra = list_change("phones", &numbers_before, &numbers_after)?.into_iter().collect();
    let outcome = save_service(&txn, actor, Action::Update, &before, before.clone(), extra).await?;
    txn.commit().await?;
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Reading history and what needs re-verification

/// The change history of a record the actor may steward, newest first.
pub async fn history_of(db: &DatabaseConnection, scope: &Scope, resource_id: &str) -> ApiResult<Vec<metadata::Model>> {
    // The record must be in scope, whatever its kind; otherwise it reads as not found.
    let in_scope = service_in_scope(db, scope, resource_id).await.is_ok()
        || organization_in_scope(db, scope, resource_id).await.is_ok()
        || location_in_scope(db, scope, resource_id).await.is_ok();
    if !in_scope {
        return Err(ApiError::not_found("listing"));
    }
    Ok(metadata::Entity::find()
        .filter(metadata::Column::ResourceId.eq(resource_id))
        .order_by_desc(metadata::Column::LastActionDate)
        .order_by_desc(metadata::Column::Id)
        .all(db)
        .await?)
}

/// Listed services in scope last verified before `cutoff` (or never), oldest first.
pub async fn stale_services(
    db: &DatabaseConnection,
    scope: &Scope,
    cutoff: NaiveDate,
) -> ApiResult<Vec<service::Model>> {
    let candidates = service::Entity::find()
        .filter(service::Column::Status.is_in(crate::directory::rules::listed_statuses()))
        .filter(
            sea_orm::Condition::any()
                .add(service::Column::AssuredDate.is_null())
                .add(service::Column::AssuredDate.lt(cutoff)),
        )
        .order_by_asc(service::Column::AssuredDate)
        .order_by_asc(service::Column::Id)
        .all(db)
        .await?;
    let mut stale = Vec::new();
    for candidate in candidates {
        if service_in_scope(db, scope, &candidate.id).await.is_ok() {
            stale.push(candidate);
        }
    }
    Ok(stale)
}
