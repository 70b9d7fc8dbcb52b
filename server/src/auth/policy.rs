//! Authorisation as capabilities, and the scopes they carry, always read from the database.
//!
//! A domain function that changes something takes a capability, and a capability can only be made
//! here, by checking the caller's role and loading its scope from the database:
//! - [`Admin`]: administrators (accounts, areas, whole-directory imports);
//! - [`Steward`]: committee staff (within their areas) and admins (everywhere) keep listings;
//! - [`Keeper`]: provider staff (their own organisation's services), committee staff and admins
//!   keep hours, capacity and alerts.
//!
//! So a resolver cannot forget a role check (without the capability it cannot call the domain
//! function) and a write path cannot forget the scope (the domain function checks it).
//!
//! Scope rules, the same for every path:
//! - a committee may change a *place* inside its areas (a point on a boundary is inside);
//! - it may change a *service* or an *organisation* as a whole only when every one of its current
//!   places lies inside its areas: a record shared with another area belongs to no single
//!   committee (an admin changes it), so one committee can never take another area's listing out
//!   of search; adding a place to an organisation needs the organisation in scope too;
//! - provider staff may change their own organisation's services;
//! - out of scope reads as NOT_FOUND, exactly like missing.

use std::ops::Deref;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Polygon};
use qiao_schema::datum::LatLon;
use qiao_schema::domain::Role;
use qiao_schema::entity::*;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Account, Caller};
use crate::directory::geometry::{covers, parse_polygon};
use crate::directory::rules::listed_location_condition;
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

/// Made only in this module: a capability's fields can be read anywhere, but a capability can be
/// built only by the checks below.
#[derive(Debug, Clone)]
struct Checked;

/// Who is acting, with the scope loaded from the database, and when.
#[derive(Debug, Clone)]
pub struct Actor {
    pub account: Account,
    pub scope: Scope,
    pub now: DateTime<Utc>,
    _checked: Checked,
}

impl Actor {
    async fn of(db: &impl ConnectionTrait, caller: &Caller, roles: &[Role], now: DateTime<Utc>) -> ApiResult<Self> {
        let account = caller.require_role(roles)?.clone();
        let scope = Scope::of(db, &account).await?;
        Ok(Self { account, scope, now, _checked: Checked })
    }
}

macro_rules! capability {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(Actor);

        impl Deref for $name {
            type Target = Actor;
            fn deref(&self) -> &Actor {
                &self.0
            }
        }
    };
}

capability!(
    /// An administrator: accounts, areas, whole-directory imports, and every listing.
    Admin
);
capability!(
    /// May keep listings (organisations, places, services): committee staff in their areas, admins.
    Steward
);
capability!(
    /// May keep services' hours, capacity and alerts: provider staff for their own organisation,
    /// committee staff in their areas, admins.
    Keeper
);
capability!(
    /// Staff who may read listing internals (history, who verified) within their scope.
    StaffReader
);

capability!(
    /// A social worker of an organisation: records its clients and consents, refers them and
    /// follows its own organisation's referrals. Sees nothing of other organisations.
    CaseWorker
);
capability!(
    /// Staff of a service provider: works the referrals sent to its own organisation's services,
    /// seeing client data only where a current consent names the organisation.
    ProviderDesk
);

/// The organisation a referral capability acts for (checked to exist when the capability is made).
fn organization_of(actor: &Actor) -> &str {
    actor.account.organization_id.as_deref().unwrap_or_default()
}

impl CaseWorker {
    /// A social worker's account with an organisation; FORBIDDEN otherwise.
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        let actor = Actor::of(db, caller, &[Role::SocialWorker], now).await?;
        if actor.account.organization_id.is_none() {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(actor))
    }

    pub fn organization_id(&self) -> &str {
        organization_of(&self.0)
    }
}

impl ProviderDesk {
    /// A provider staff account with an organisation; FORBIDDEN otherwise.
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        let actor = Actor::of(db, caller, &[Role::ProviderStaff], now).await?;
        if actor.account.organization_id.is_none() {
            return Err(ApiError::Forbidden);
        }
        Ok(Self(actor))
    }

    pub fn organization_id(&self) -> &str {
        organization_of(&self.0)
    }
}

impl Admin {
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        Actor::of(db, caller, &[Role::Admin], now).await.map(Self)
    }

    pub fn steward(&self) -> Steward {
        Steward(self.0.clone())
    }
}

impl Steward {
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        Actor::of(db, caller, &[Role::CommitteeStaff, Role::Admin], now).await.map(Self)
    }

    /// A steward keeps hours, capacity and alerts too.
    pub fn keeper(&self) -> Keeper {
        Keeper(self.0.clone())
    }

    /// For unit tests of domain functions: an admin steward that exists in no database.
    #[cfg(test)]
    pub fn admin_for_tests(now: DateTime<Utc>) -> Self {
        let account = Account {
            id: "admin".into(),
            role: Role::Admin,
            organization_id: None,
            display_name: "Admin".into(),
            username: Some("admin".into()),
        };
        Self(Actor { account, scope: Scope::Everything, now, _checked: Checked })
    }
}

impl Keeper {
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        Actor::of(db, caller, &[Role::ProviderStaff, Role::CommitteeStaff, Role::Admin], now).await.map(Self)
    }
}

impl StaffReader {
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        Actor::of(db, caller, &[Role::ProviderStaff, Role::CommitteeStaff, Role::Admin], now).await.map(Self)
    }
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

    /// The services this scope may change, as a query condition on `service` (`None`: all), so
    /// that lists are filtered by the database, not row by row.
    pub async fn services_condition(&self, db: &impl ConnectionTrait) -> ApiResult<Option<Condition>> {
        Ok(match self {
            Self::Everything => None,
            Self::Organization(organization) => {
                Some(Condition::all().add(service::Column::OrganizationId.eq(organization.clone())))
            }
            Self::Nothing => Some(Condition::all().add(service::Column::Id.is_null())),
            Self::Areas(areas) => {
                let inside = locations_inside(db, areas).await?;
                // Some current place inside, and no current place outside.
                let places = |inside_areas: bool| {
                    let mut query = Query::select();
                    query
                        .column((service_at_location::Entity, service_at_location::Column::ServiceId))
                        .from(service_at_location::Entity)
                        .inner_join(
                            location::Entity,
                            Expr::col((location::Entity, location::Column::Id))
                                .equals((service_at_location::Entity, service_at_location::Column::LocationId)),
                        )
                        .and_where(listed_location_condition());
                    let at = Expr::col((location::Entity, location::Column::Id));
                    query.and_where(if inside_areas { at.is_in(inside.clone()) } else { at.is_not_in(inside.clone()) });
                    query.to_owned()
                };
                Some(
                    Condition::all()
                        .add(service::Column::Id.in_subquery(places(true)))
                        .add(service::Column::Id.not_in_subquery(places(false))),
                )
            }
        })
    }
}

/// The ids of the current places inside a committee's areas: a bounding-box query, then the
/// exact polygon test on the few candidates.
async fn locations_inside(db: &impl ConnectionTrait, areas: &AreaScope) -> ApiResult<Vec<String>> {
    let mut inside = Vec::new();
    for polygon in &areas.polygons {
        let Some(bounds) = polygon.bounding_rect() else { continue };
        let candidates = location::Entity::find()
            .select_only()
            .column(location::Column::Id)
            .column(location::Column::Latitude)
            .column(location::Column::Longitude)
            .filter(listed_location_condition())
            .filter(location::Column::Longitude.between(bounds.min().x, bounds.max().x))
            .filter(location::Column::Latitude.between(bounds.min().y, bounds.max().y))
            .into_tuple::<(String, Option<f64>, Option<f64>)>()
            .all(db)
            .await?;
        inside.extend(candidates.into_iter().filter_map(|(id, lat, lon)| {
            let point = LatLon::new(lat?, lon?);
            areas.covers(point).then_some(id)
        }));
    }
    inside.sort();
    inside.dedup();
    Ok(inside)
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

/// The points of a set of current (not archived) places; `None` for a place without one (a
/// virtual place), which no area covers.
async fn current_points(
    db: &impl ConnectionTrait,
    condition: sea_orm::sea_query::SimpleExpr,
) -> ApiResult<Vec<Option<LatLon>>> {
    Ok(location::Entity::find()
        .filter(condition)
        .filter(listed_location_condition())
        .all(db)
        .await?
        .into_iter()
        .map(|row| Some(LatLon::new(row.latitude?, row.longitude?)))
        .collect())
}

/// Whether a committee's areas hold every one of these places (and there is at least one).
fn all_inside(areas: &AreaScope, points: &[Option<LatLon>]) -> bool {
    !points.is_empty() && points.iter().all(|point| point.is_some_and(|p| areas.covers(p)))
}

/// The service if `scope` may change it, locked for this transaction's update on PostgreSQL;
/// NOT_FOUND if it does not exist or is out of scope.
pub async fn service_in_scope(db: &impl ConnectionTrait, scope: &Scope, service_id: &str) -> ApiResult<service::Model> {
    check_service(db, scope, service_id, true).await
}

/// Whether `scope` may change the service (a read: nothing is locked).
pub async fn may_change_service(db: &impl ConnectionTrait, scope: &Scope, service_id: &str) -> ApiResult<bool> {
    allowed(check_service(db, scope, service_id, false).await)
}

/// Whether `scope` may change the service, organisation or place with this id (a read: nothing is
/// locked), e.g. to read its history.
pub async fn may_change_listing(db: &impl ConnectionTrait, scope: &Scope, id: &str) -> ApiResult<bool> {
    Ok(allowed(check_service(db, scope, id, false).await)?
        || allowed(check_organization(db, scope, id, false).await)?
        || allowed(check_location(db, scope, id, false).await)?)
}

/// "Not found" (missing or out of scope) reads as no; anything else is an error.
fn allowed<T>(check: ApiResult<T>) -> ApiResult<bool> {
    match check {
        Ok(_) => Ok(true),
        Err(ApiError::NotFound { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}

async fn check_service(
    db: &impl ConnectionTrait,
    scope: &Scope,
    service_id: &str,
    lock: bool,
) -> ApiResult<service::Model> {
    let not_found = || ApiError::not_found("service");
    let mut query = service::Entity::find_by_id(service_id.to_owned());
    if lock {
        query = query.lock_exclusive();
    }
    let service = query.one(db).await?.ok_or_else(not_found)?;
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Organization(organization) => service.organization_id == *organization,
        Scope::Areas(areas) => {
            let location_ids = service_at_location::Entity::find()
                .select_only()
                .column(service_at_location::Column::LocationId)
                .filter(service_at_location::Column::ServiceId.eq(service_id))
                .into_tuple::<String>()
                .all(db)
                .await?;
            all_inside(areas, &current_points(db, location::Column::Id.is_in(location_ids)).await?)
        }
        Scope::Nothing => false,
    };
    if allowed { Ok(service) } else { Err(not_found()) }
}

/// The organisation if a committee or admin may change it (locked, as above); NOT_FOUND otherwise.
pub async fn organization_in_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
    organization_id: &str,
) -> ApiResult<organization::Model> {
    check_organization(db, scope, organization_id, true).await
}

async fn check_organization(
    db: &impl ConnectionTrait,
    scope: &Scope,
    organization_id: &str,
    lock: bool,
) -> ApiResult<organization::Model> {
    let not_found = || ApiError::not_found("organization");
    let mut query = organization::Entity::find_by_id(organization_id.to_owned());
    if lock {
        query = query.lock_exclusive();
    }
    let organization = query.one(db).await?.ok_or_else(not_found)?;
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Areas(areas) => {
            all_inside(areas, &current_points(db, location::Column::OrganizationId.eq(organization_id)).await?)
        }
        Scope::Organization(_) | Scope::Nothing => false,
    };
    if allowed { Ok(organization) } else { Err(not_found()) }
}

/// The location if a committee or admin may change it (locked, as above); NOT_FOUND otherwise.
pub async fn location_in_scope(
    db: &impl ConnectionTrait,
    scope: &Scope,
    location_id: &str,
) -> ApiResult<location::Model> {
    check_location(db, scope, location_id, true).await
}

async fn check_location(
    db: &impl ConnectionTrait,
    scope: &Scope,
    location_id: &str,
    lock: bool,
) -> ApiResult<location::Model> {
    let not_found = || ApiError::not_found("location");
    let mut query = location::Entity::find_by_id(location_id.to_owned());
    if lock {
        query = query.lock_exclusive();
    }
    let location = query.one(db).await?.ok_or_else(not_found)?;
    let point = location.latitude.zip(location.longitude).map(|(lat, lon)| LatLon::new(lat, lon));
    let allowed = match scope {
        Scope::Everything => true,
        Scope::Areas(areas) => point.is_some_and(|p| areas.covers(p)),
        Scope::Organization(_) | Scope::Nothing => false,
    };
    if allowed { Ok(location) } else { Err(not_found()) }
}
