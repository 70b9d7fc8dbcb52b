//! Offline sync for phones: a snapshot of an area's listed services in a compact form, then the
//! changes since it, read from the directory's change feed (`directory_change`, written by the
//! write kernel in the same transaction as each change). The flow and its guarantees are written
//! for app developers in `mobile-client-spec/OFFLINE-SYNC.md`.
//!
//! A cursor is the feed position the answer is complete up to, when it was issued, and the area
//! it was taken for (`v1.<feed id>.<unix seconds>.<lat µ°>.<lon µ°>.<radius m>`). A cursor
//! older than [`CURSOR_LIFETIME_DAYS`] has expired; so feed rows are pruned once they are a day
//! older than that (`directory::feed::daily_prune`), and an unexpired cursor never reaches back
//! into pruned rows. An answer built *after* its cursor was read
//! includes every change up to the cursor, and possibly a few later ones, which the next delta
//! sends again: the app applies upserts by id, so a repeat is harmless; a skip would not be.
//! The feed is read through `directory::feed` (`head`, `entries_since`), which never hands out
//! a position that a late PostgreSQL commit could slip behind.
//!
//! Everything here is read from the database, not from the search index: the index catches up
//! after a commit, so it can lag the feed by a moment, and an answer must agree with its cursor.
//! Anonymous and unrecorded, like search: nothing about who synced which area is stored.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use qiao_schema::datum::LatLon;
use qiao_schema::domain::ServiceStatus;
use qiao_schema::entity::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::directory::feed::{self, Changed, FeedError};
use crate::directory::geometry::{covers, geodesic_distance_m, parse_polygon};
use crate::directory::rules;
use crate::error::{ApiError, ApiResult};
use crate::language::Language;

/// Largest area radius of a snapshot, in metres.
pub const MAX_SYNC_RADIUS_M: i32 = 20_000;
/// Most services one snapshot carries; a larger area must be split (or its radius reduced).
pub const MAX_SNAPSHOT_SERVICES: usize = 10_000;
/// Most feed entries one delta reads; beyond it a new snapshot is cheaper than the delta.
pub const MAX_DELTA_ENTRIES: usize = 5_000;
/// A cursor older than this many days has expired (the app takes a new snapshot): the bound
/// that lets the feed be pruned, and an old copy is better replaced than patched.
pub const CURSOR_LIFETIME_DAYS: i64 = 30;
/// Rows per `IN (…)` list, well under both databases' bind-parameter limits.
const CHUNK: usize = 500;

/// The area a phone keeps offline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub centre: LatLon,
    pub radius_m: i32,
}

impl Area {
    /// Checks the radius (`field` names the argument in an error).
    pub fn new(centre: LatLon, radius_m: i32, field: &'static str) -> ApiResult<Self> {
        if !(1..=MAX_SYNC_RADIUS_M).contains(&radius_m) {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "radiusMeters must be between 1 and {MAX_SYNC_RADIUS_M} for offline sync, got {radius_m} \
                     (离线同步的半径必须在 1 到 {MAX_SYNC_RADIUS_M} 米之间)"
                ),
            ));
        }
        // Micro-degrees: the cursor names the area exactly, and the app resends the same numbers.
        let round = |v: f64| (v * 1e6).round() / 1e6;
        Ok(Self { centre: LatLon::new(round(centre.lat), round(centre.lon)), radius_m })
    }

    fn contains(&self, point: LatLon) -> bool {
        geodesic_distance_m(self.centre, point) <= f64::from(self.radius_m)
    }

    /// Latitude and longitude bounds around the circle (a little wide), for the SQL prefilter.
    fn bounds(&self) -> (f64, f64, f64, f64) {
        let dlat = f64::from(self.radius_m) / 110_574.0 * 1.01 + 1e-6;
        let cos = self.centre.lat.to_radians().cos().max(0.01);
        let dlon = f64::from(self.radius_m) / (111_320.0 * cos) * 1.01 + 1e-6;
        (self.centre.lat - dlat, self.centre.lat + dlat, self.centre.lon - dlon, self.centre.lon + dlon)
    }

    fn micro(value: f64) -> i64 {
        (value * 1e6).round() as i64
    }
}

/// A position in the change feed, for one area.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyncCursor {
    pub position: i64,
    /// When it was issued (unix seconds).
    pub issued: i64,
    pub area: Area,
}

impl SyncCursor {
    pub fn encode(&self) -> String {
        format!(
            "v1.{}.{}.{}.{}.{}",
            self.position,
            self.issued,
            Area::micro(self.area.centre.lat),
            Area::micro(self.area.centre.lon),
            self.area.radius_m
        )
    }

    /// `None` for anything this server did not write.
    pub fn decode(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix("v1.")?.split('.');
        let position: i64 = parts.next()?.parse().ok()?;
        let issued: i64 = parts.next()?.parse().ok()?;
        let lat: i64 = parts.next()?.parse().ok()?;
        let lon: i64 = parts.next()?.parse().ok()?;
        let radius_m: i32 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || position < 0 {
            return None;
        }
        let centre = LatLon::new(lat as f64 / 1e6, lon as f64 / 1e6);
        Some(Self { position, issued, area: Area { centre, radius_m } })
    }
}

/// `extensions.reason` of the error that asks for a new snapshot (with code BAD_USER_INPUT).
pub const SNAPSHOT_REQUIRED: &str = "SNAPSHOT_REQUIRED";

/// The answer when a delta cannot be given: the app drops its copy and takes a new snapshot.
pub fn snapshot_required(why: &str) -> ApiError {
    ApiError::SnapshotRequired { message: format!("{why}; take a new snapshot (请重新下载离线数据)") }
}

/// One service as a phone keeps it offline: what the search list and the detail screen show,
/// in one language.
#[derive(Debug, Clone, PartialEq)]
pub struct CompactService {
    pub id: String,
    pub name: String,
    /// Category code (`LEGAL_AID`).
    pub category: String,
    pub status: ServiceStatus,
    pub organization: String,
    pub description: String,
    pub is_free: bool,
    pub local_hukou_required: bool,
    /// Weekly hours, e.g. `MO,TU,WE,TH,FR 09:00-17:00; SA 09:00-12:00` (empty when unknown).
    pub hours: String,
    /// The first public phone number.
    pub phone: Option<String>,
    /// Places inside the area, nearest first; empty for a service that serves the area from
    /// elsewhere (a hotline).
    pub places: Vec<CompactPlace>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CompactPlace {
    pub point: LatLon,
    /// Street address.
    pub street: String,
}

/// A snapshot: every listed service of the area, and the cursor its changes start from.
#[derive(Debug)]
pub struct Snapshot {
    pub cursor: SyncCursor,
    pub services: Vec<CompactService>,
}

/// What changed in the area since a cursor.
#[derive(Debug)]
pub struct Delta {
    pub cursor: SyncCursor,
    /// Services to add or replace (their whole compact form).
    pub upserts: Vec<CompactService>,
    /// Services to drop: archived, no longer listed, or moved out of the area.
    pub removed_ids: Vec<String>,
}

/// Every listed service of `area`.
pub async fn snapshot(
    db: &DatabaseConnection,
    area: Area,
    language: Language,
    now: DateTime<Utc>,
) -> ApiResult<Snapshot> {
    // Before reading the directory: the read then covers every change up to the cursor.
    let position = feed::head(db).await?;
    let ids = services_in_area(db, area).await?;
    if ids.len() > MAX_SNAPSHOT_SERVICES {
        return Err(ApiError::bad_input(
            "radiusMeters",
            format!(
                "the area has more than {MAX_SNAPSHOT_SERVICES} services; take a smaller radius \
                 (该范围内服务过多，请缩小半径)"
            ),
        ));
    }
    let services = compact_services(db, &ids, area, language).await?;
    Ok(Snapshot { cursor: SyncCursor { position, issued: now.timestamp(), area }, services })
}

/// The changes in `cursor`'s area since it. An unknown cursor, one for another area, one older
/// than [`CURSOR_LIFETIME_DAYS`], a whole-directory import since it, or more than
/// [`MAX_DELTA_ENTRIES`] changes: [`snapshot_required`].
pub async fn changes_since(
    db: &DatabaseConnection,
    since: &str,
    area: Area,
    language: Language,
    now: DateTime<Utc>,
) -> ApiResult<Delta> {
    let cursor = SyncCursor::decode(since).ok_or_else(|| snapshot_required("unknown cursor"))?;
    if cursor.area.centre != area.centre || cursor.area.radius_m != area.radius_m {
        return Err(snapshot_required("the cursor is for another area"));
    }
    if now.timestamp() - cursor.issued > CURSOR_LIFETIME_DAYS * 86_400 {
        return Err(snapshot_required("the cursor has expired"));
    }
    let (entries, next) = match feed::entries_since(db, cursor.position, MAX_DELTA_ENTRIES as u64 + 1).await {
        Ok(read) => read,
        Err(FeedError::UnknownCursor) => {
            return Err(snapshot_required("the cursor is from another server or database"));
        }
        Err(FeedError::Db(error)) => return Err(error.into()),
    };
    if entries.len() > MAX_DELTA_ENTRIES {
        return Err(snapshot_required("too many changes since the cursor"));
    }
    let changed = Changed::of_entries(&entries);
    if changed.everything {
        return Err(snapshot_required("the directory was replaced or imported since the cursor"));
    }
    let cursor_now = SyncCursor { position: next, issued: now.timestamp(), area };
    if changed.services.is_empty() {
        return Ok(Delta { cursor: cursor_now, upserts: Vec::new(), removed_ids: Vec::new() });
    }
    // Places that moved since the cursor was issued (with an hour's margin for a write that
    // began before and committed after it) may have taken a service out of the area.
    let since_time = DateTime::from_timestamp(cursor.issued - 3600, 0).unwrap_or_default();
    let affected: Vec<String> = changed.services.into_iter().collect();

    // A service changed since the cursor is in the delta only as it is *now*; one that is not
    // listed in the area now is removed if it may have been in the area before.
    let upserts = compact_services(db, &affected, area, language).await?;
    let kept: HashSet<&str> = upserts.iter().map(|s| s.id.as_str()).collect();
    let gone: Vec<String> = affected.iter().filter(|id| !kept.contains(id.as_str())).cloned().collect();
    let removed_ids = possibly_in_area(db, &gone, area, since_time).await?;
    Ok(Delta { cursor: cursor_now, upserts, removed_ids })
}

// ---------------------------------------------------------------------------------------------
// Removals.

/// Of `ids` (services not listed in the area now), those that may have been in it since `since`:
/// a place in the area now (archived, or of a service no longer listed), or a place that moved
/// since then from a point in the area (its history records the old coordinates), or a service
/// area covering the centre. Services that were never near the area are not sent.
async fn possibly_in_area(
    db: &DatabaseConnection,
    ids: &[String],
    area: Area,
    since: DateTime<Utc>,
) -> ApiResult<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let links = service_at_location::Entity::find()
            .filter(service_at_location::Column::ServiceId.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        let location_ids: Vec<String> = links.iter().map(|l| l.location_id.clone()).collect();
        let mut lats: HashMap<String, Vec<f64>> = HashMap::new();
        let mut lons: HashMap<String, Vec<f64>> = HashMap::new();
        for ids in location_ids.chunks(CHUNK) {
            for row in location::Entity::find().filter(location::Column::Id.is_in(ids.to_vec())).all(db).await? {
                lats.entry(row.id.clone()).or_default().extend(row.latitude);
                lons.entry(row.id.clone()).or_default().extend(row.longitude);
            }
            let moves = metadata::Entity::find()
                .filter(metadata::Column::ResourceType.eq("location"))
                .filter(metadata::Column::ResourceId.is_in(ids.to_vec()))
                .filter(metadata::Column::FieldName.is_in(["latitude", "longitude"]))
                .filter(metadata::Column::LastActionDate.gte(since))
                .all(db)
                .await?;
            for change in moves {
                let Some(previous) = change.previous_value.as_deref().and_then(|v| v.parse::<f64>().ok()) else {
                    continue;
                };
                let into = if change.field_name == "latitude" { &mut lats } else { &mut lons };
                into.entry(change.resource_id.clone()).or_default().push(previous);
            }
        }
        let mut near: HashSet<&str> = HashSet::new();
        for link in &links {
            let (Some(lat_options), Some(lon_options)) = (lats.get(&link.location_id), lons.get(&link.location_id))
            else {
                continue;
            };
            let was_near =
                lat_options.iter().any(|lat| lon_options.iter().any(|lon| area.contains(LatLon::new(*lat, *lon))));
            if was_near {
                near.insert(link.service_id.as_str());
            }
        }
        for row in
            service_area::Entity::find().filter(service_area::Column::ServiceId.is_in(chunk.to_vec())).all(db).await?
        {
            if parse_polygon(&row.extent).is_some_and(|polygon| covers(&polygon, area.centre)) {
                near.insert(chunk.iter().find(|id| **id == row.service_id).map(String::as_str).unwrap_or_default());
            }
        }
        out.extend(chunk.iter().filter(|id| near.contains(id.as_str())).cloned());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The area and the compact form.

/// Ids of the listed services with a listed place in the area, or serving it from elsewhere
/// (a service area covering the centre, for services without a place), sorted.
async fn services_in_area(db: &DatabaseConnection, area: Area) -> ApiResult<Vec<String>> {
    let (lat_min, lat_max, lon_min, lon_max) = area.bounds();
    let locations = location::Entity::find()
        .filter(rules::listed_location_condition())
        .filter(location::Column::Latitude.between(lat_min, lat_max))
        .filter(location::Column::Longitude.between(lon_min, lon_max))
        .all(db)
        .await?;
    let inside: Vec<String> = locations
        .into_iter()
        .filter(|l| matches!((l.latitude, l.longitude), (Some(lat), Some(lon)) if area.contains(LatLon::new(lat, lon))))
        .map(|l| l.id)
        .collect();
    let mut ids = BTreeSet::new();
    for chunk in inside.chunks(CHUNK) {
        let links = service_at_location::Entity::find()
            .filter(service_at_location::Column::LocationId.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        ids.extend(links.into_iter().map(|link| link.service_id));
    }
    // Few rows nationally (hotlines, routes): read them all.
    for row in service_area::Entity::find().all(db).await? {
        if parse_polygon(&row.extent).is_some_and(|polygon| covers(&polygon, area.centre)) {
            ids.insert(row.service_id);
        }
    }
    Ok(ids.into_iter().collect())
}

/// The compact form of those of `ids` that are listed and in the area now (see
/// [`services_in_area`]), in id order.
async fn compact_services(
    db: &DatabaseConnection,
    ids: &[String],
    area: Area,
    language: Language,
) -> ApiResult<Vec<CompactService>> {
    let pick = |zh: &str, en: &str| language.pick(zh, en).to_owned();
    let categories: HashMap<String, String> =
        taxonomy_term::Entity::find().all(db).await?.into_iter().map(|term| (term.id, term.code)).collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let chunk = chunk.to_vec();
        let services = service::Entity::find()
            .filter(service::Column::Id.is_in(chunk.clone()))
            .filter(service::Column::Status.is_in(rules::listed_statuses()))
            .order_by_asc(service::Column::Id)
            .all(db)
            .await?;
        let organization_ids: BTreeSet<String> = services.iter().map(|s| s.organization_id.clone()).collect();
        let organizations: HashMap<String, organization::Model> = organization::Entity::find()
            .filter(organization::Column::Id.is_in(organization_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        let links = service_at_location::Entity::find()
            .filter(service_at_location::Column::ServiceId.is_in(chunk.clone()))
            .all(db)
            .await?;
        let location_ids: BTreeSet<String> = links.iter().map(|l| l.location_id.clone()).collect();
        let location_ids: Vec<String> = location_ids.into_iter().collect();
        let mut locations: HashMap<String, location::Model> = HashMap::new();
        let mut streets: HashMap<String, String> = HashMap::new();
        for ids in location_ids.chunks(CHUNK) {
            for row in location::Entity::find()
                .filter(location::Column::Id.is_in(ids.to_vec()))
                .filter(rules::listed_location_condition())
                .all(db)
                .await?
            {
                locations.insert(row.id.clone(), row);
            }
            for row in address::Entity::find().filter(address::Column::LocationId.is_in(ids.to_vec())).all(db).await? {
                streets.insert(row.location_id.clone(), pick(&row.address_1_zh, &row.address_1_en));
            }
        }
        let mut places: HashMap<&str, Vec<(f64, CompactPlace)>> = HashMap::new();
        for link in &links {
            let Some(location) = locations.get(&link.location_id) else { continue };
            let (Some(lat), Some(lon)) = (location.latitude, location.longitude) else { continue };
            let point = LatLon::new(lat, lon);
            if !area.contains(point) {
                continue;
            }
            let street = streets.get(&location.id).cloned().unwrap_or_default();
            places
                .entry(link.service_id.as_str())
                .or_default()
                .push((geodesic_distance_m(area.centre, point), CompactPlace { point, street }));
        }
        let mut covering: HashSet<String> = HashSet::new();
        for row in
            service_area::Entity::find().filter(service_area::Column::ServiceId.is_in(chunk.clone())).all(db).await?
        {
            if parse_polygon(&row.extent).is_some_and(|polygon| covers(&polygon, area.centre)) {
                covering.insert(row.service_id);
            }
        }
        let mut costs: HashMap<String, Vec<i64>> = HashMap::new();
        for row in
            cost_option::Entity::find().filter(cost_option::Column::ServiceId.is_in(chunk.clone())).all(db).await?
        {
            costs.entry(row.service_id).or_default().push(row.amount_fen);
        }
        let mut requirements: HashMap<String, Vec<qiao_schema::domain::EligibilityKind>> = HashMap::new();
        for row in eligibility_requirement::Entity::find()
            .filter(eligibility_requirement::Column::ServiceId.is_in(chunk.clone()))
            .all(db)
            .await?
        {
            requirements.entry(row.service_id).or_default().push(row.kind);
        }
        let mut phones: HashMap<String, String> = HashMap::new();
        for row in phone::Entity::find()
            .filter(phone::Column::ServiceId.is_in(chunk.clone()))
            .order_by_asc(phone::Column::Id)
            .all(db)
            .await?
        {
            if let Some(service) = row.service_id {
                phones.entry(service).or_insert(row.number);
            }
        }
        let mut hours: HashMap<String, Vec<String>> = HashMap::new();
        for row in schedule::Entity::find()
            .filter(schedule::Column::ServiceId.is_in(chunk.clone()))
            .filter(schedule::Column::ServiceAtLocationId.is_null())
            .order_by_asc(schedule::Column::Id)
            .all(db)
            .await?
        {
            hours.entry(row.service_id).or_default().push(format!("{} {}-{}", row.byday, row.opens_at, row.closes_at));
        }

        for service in services {
            if !rules::is_service_listed(service.status, organizations.get(&service.organization_id)) {
                continue;
            }
            let mut service_places = places.remove(service.id.as_str()).unwrap_or_default();
            if service_places.is_empty() && !covering.contains(&service.id) {
                continue; // not in the area (any more)
            }
            service_places.sort_by(|a, b| a.0.total_cmp(&b.0));
            let Some(category) = categories.get(&service.category_term_id) else { continue };
            let organization =
                organizations.get(&service.organization_id).map(|o| pick(&o.name_zh, &o.name_en)).unwrap_or_default();
            out.push(CompactService {
                name: pick(&service.name_zh, &service.name_en),
                category: category.clone(),
                status: service.status,
                organization,
                description: pick(&service.description_zh, &service.description_en),
                is_free: rules::is_free(costs.remove(&service.id).unwrap_or_default()),
                local_hukou_required: rules::requires_local_hukou(requirements.remove(&service.id).unwrap_or_default()),
                hours: hours.remove(&service.id).unwrap_or_default().join("; "),
                phone: phones.remove(&service.id),
                places: service_places.into_iter().map(|(_, place)| place).collect(),
                id: service.id,
            });
        }
    }
    Ok(out)
}
