//! Locations: the places of an organisation, each with one street address, inside the scope of
//! whoever adds or moves it.

use qiao_schema::datum::LatLon;
use qiao_schema::domain::LocationType;
use qiao_schema::entity::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};

use super::{Actor, Db, Outcome, Steward, Text, Txn, check_optional_text, check_text, patch_text, save};
use crate::auth::policy::{Scope, location_in_scope, organization_in_scope};
use crate::error::{ApiError, ApiResult};
use crate::kernel::history::{Action, Change, created, diff, record};
use crate::values::{Adcode, Coordinates, Field, TextLimit};

pub(super) fn check_point(point: LatLon) -> ApiResult<LatLon> {
    Ok(Coordinates::parse(Field::LocationPoint, point)?.lat_lon())
}
pub(super) fn check_in_scope(scope: &Scope, point: LatLon) -> ApiResult<()> {
    if scope.covers_point(point) { Ok(()) } else { Err(ApiError::Forbidden) }
}

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

pub(super) async fn insert_location(
    db: &Txn,
    actor: &Actor,
    organization_id: &str,
    fields: LocationFields,
) -> ApiResult<Outcome> {
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
