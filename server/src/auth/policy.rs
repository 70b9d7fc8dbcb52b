//! Scopes: what part of the directory an account may change, always read from the database.
//!
//! - admin: everything;
//! - committee staff: places inside their stewardship areas (an area is a set of urban villages
//!   and/or a polygon; a point on a boundary is inside);
//! - provider staff: their own organisation's services (hours, capacity, alerts);
//! - others: nothing.
//!
//! A service is in a committee's scope when one of its places is; an organisation when one of
//! its locations is. Objects out of scope are reported as NOT_FOUND, exactly like missing ones.

use geo::Polygon;
use qiao_schema::datum::LatLon;
use qiao_schema::domain::Role;
use qiao_schema::entity::*;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::Account;
use crate::directory::geometry::{covers, parse_polygon};
use crate::error::{ApiError, ApiResult};

/// The polygons of a committee's areas.
#[derive(Debug, Clone, Default)]
pub struct AreaScope {
    pub polygons: Vec<Polygon<f64>>,
}

impl AreaScope {
    pub fn covers(&self, point: LatLon) -> bool {
        self.polygons.iter().any(|polygon| covers(polygon, point))
    }
}

/// What an account may steward.
#[derive(Debug, Clone)]
pub enum Scope {
    Everything,
    Areas(AreaScope),
    Organization(String),
    Nothing,
}

impl Scope {
    pub async fn of(db: &impl ConnectionTrait, account: &Account) -> ApiResult<Self> {
        Ok(match account.role {
            Role::Admin => Self::Everything,
            Role::CommitteeStaff => Self::Areas(areas_of(db, &account.id).await?),
            Role::ProviderStaff => match &account.organization_id {
                Some(organization) => Self::Organization(organization.clone()),
                None => Self::Nothing,
            },
            Role::Migrant | Role::SocialWorker => Self::Nothing,
        })
    }

    /// Whether a new or moved place at `point` is inside the scope.
    pub fn covers_point(&self, point: LatLon) -> bool {
        match self {
            Self::Everything => true,
            Self::Areas(areas) => areas.covers(point),
            Self::Organization(_) | Self::Nothing => false,
        }
    }
}

/// The polygons of an account's stewardship areas: each area's own boundary and its villages'.
pub async fn areas_of(db: &impl ConnectionTrait, account_id: &str) -> ApiResult<AreaScope> {
    let area_ids: Vec<String> = account_area::Entity::find()
        .filter(account_area::Column::AccountId.eq(account_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.area_id)
        .collect();
    area_polygons(db, &area_ids).await
}

/// The polygons of the given stewardship areas.
pub async fn area_polygons(db: &impl ConnectionTrait, area_ids: &[String]) -> ApiResult<AreaScope> {
    if area_ids.is_empty() {
        return Ok(AreaScope::default());
    }
    let areas =
        stewardship_area::Entity::find().filter(stewardship_area::Column::Id.is_in(area_ids.to_vec())).all(db).await?;
    let village_ids: Vec<String> = stewardship_area_village::Entity::find()
        .filter(stewardship_area_village::Column::AreaId.is_in(area_ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.urban_village_id)
        .collect();
    let villages = urban_village::Entity::find().filter(urban_village::Column::Id.is_in(village_ids)).all(db).await?;
    let polygons = areas
        .iter()
        .filter_map(|area| area.boundary.as_deref())
        .chain(villages.iter().map(|village| village.boundary.as_str()))
        .filter_map(parse_polygon)
        .collect();
    Ok(AreaScope { polygons })
}

/// The physical points of a service's places (archived locations excluded).
async fn service_points(db: &impl ConnectionTrait, service_id: &str) -> ApiResult<Vec<LatLon>> {
    let location_ids: Vec<String> = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(service_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.location_id)
        .collect();
    location_points(db, location::Column::Id.is_in(location_ids)).await
}

async fn location_points(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
) -> ApiResult<Vec<LatLon>> {
    Ok(location::Entity::find()
        .filter(condition)
        .filter(location::Column::ArchivedAt.is_null())
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| Some(LatLon::new(row.latitude?, row.longitude?)))
        .collect())
}

/// The service if `scope` may change it; NOT_FOUND if it does not exist or is out of scope.
pub async fn service_in_scope(db: &impl ConnectionTrait, scope: &Scope, service_id: &str) -> ApiResult<service::Model> {
    let not_found = || ApiError::not_found("service");
    let service = service::Entity::find_by_id(service_id.to_owned()).one(db).await?.ok_or_else(not_found)?;
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Organization(organization) => service.organization_id == *organization,
        Scope::Areas(areas) => service_points(db, service_id).await?.into_iter().any(|p| areas.covers(p)),
        Scope::Nothing => false,
    };
    if allowed { Ok(service) } else { Err(not_found()) }
}

/// The organisation if a committee or admin may change it; NOT_FOUND otherwise.
pub async fn organization_in_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
    organization_id: &str,
) -> ApiResult<organization::Model> {
    let not_found = || ApiError::not_found("organization");
    let organization =
        organization::Entity::find_by_id(organization_id.to_owned()).one(db).await?.ok_or_else(not_found)?;
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Areas(areas) => location_points(db, location::Column::OrganizationId.eq(organization_id))
            .await?
            .into_iter()
            .any(|p| areas.covers(p)),
        Scope::Organization(_) | Scope::Nothing => false,
    };
    if allowed { Ok(organization) } else { Err(not_found()) }
}

/// The location if a committee or admin may change it; NOT_FOUND otherwise.
pub async fn location_in_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
    location_id: &str,
) -> ApiResult<location::Model> {
    let not_found = || ApiError::not_found("location");
    let location = location::Entity::find_by_id(location_id.to_owned()).one(db).await?.ok_or_else(not_found)?;
    let point = location.latitude.zip(location.longitude).map(|(lat, lon)| LatLon::new(lat, lon));
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Areas(areas) => point.is_some_and(|p| areas.covers(p)),
        Scope::Organization(_) | Scope::Nothing => false,
    };
    if allowed { Ok(location) } else { Err(not_found()) }
}
