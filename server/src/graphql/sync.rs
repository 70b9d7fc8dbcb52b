//! Offline sync for phones (`directorySnapshot`, `directoryChanges`): thin resolvers over
//! `crate::sync`. Anonymous, like search; the flow is in `mobile-client-spec/OFFLINE-SYNC.md`.

use async_graphql::{Context, Object, SimpleObject};

use super::category::ServiceCategory;
use super::common::{Datum, GeoPointInput, Language, ServiceStatus, language_of, output_point};
use super::context::state;
use crate::sync::{self, Area, CompactService};

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// Every listed service in an area, in a compact form for keeping offline (what the search
    /// list and the detail screen show), with the cursor to ask for changes from. Take one when
    /// the app first needs the area, when the person moves to another area, and whenever
    /// `directoryChanges` answers `extensions.reason = "SNAPSHOT_REQUIRED"`. Anonymous; nothing
    /// about the request is stored.
    #[graphql(complexity = "50 + 20 * child_complexity")]
    async fn directory_snapshot(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Centre of the area, in any datum.")] near: GeoPointInput,
        #[graphql(desc = "Radius of the area in metres, 1 to 20000.")] radius_meters: i32,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
        #[graphql(desc = "Datum of the points returned (default WGS84; GCJ02 for Amap or WeChat maps).")] datum: Option<
            Datum,
        >,
    ) -> async_graphql::Result<DirectorySnapshot> {
        let state = state(ctx)?;
        let area = Area::new(near.to_wgs84("near")?, radius_meters, "radiusMeters")?;
        let snapshot = sync::snapshot(&state.db, area, language_of(ctx, language), state.clock.now()).await?;
        let datum = datum.unwrap_or(Datum::Wgs84);
        Ok(DirectorySnapshot {
            cursor: snapshot.cursor.encode(),
            services: snapshot.services.into_iter().map(|s| OfflineService::from(s, datum)).collect(),
        })
    }

    /// What changed in the area since `since` (the cursor of a snapshot or of the previous
    /// changes): services to add or replace, and ids to drop (archived, closed for good, or moved
    /// out of the area). Keep the new `cursor` for next time. A cursor that cannot be continued
    /// (unknown, expired, taken for another area, or too far behind) answers `BAD_USER_INPUT` with
    /// `extensions.reason = "SNAPSHOT_REQUIRED"` and `extensions.field = "since"`: take a new
    /// snapshot. Send the same `near` and `radiusMeters` as the snapshot. Anonymous.
    #[graphql(complexity = "50 + 20 * child_complexity")]
    async fn directory_changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The cursor of the snapshot or of the last changes applied.")] since: String,
        #[graphql(desc = "Centre of the area, as sent with the snapshot.")] near: GeoPointInput,
        #[graphql(desc = "Radius of the area in metres, as sent with the snapshot.")] radius_meters: i32,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
        #[graphql(desc = "Datum of the points returned (default WGS84).")] datum: Option<Datum>,
    ) -> async_graphql::Result<DirectoryChanges> {
        let state = state(ctx)?;
        let area = Area::new(near.to_wgs84("near")?, radius_meters, "radiusMeters")?;
        let delta = sync::changes_since(&state.db, &since, area, language_of(ctx, language), state.clock.now()).await?;
        let datum = datum.unwrap_or(Datum::Wgs84);
        Ok(DirectoryChanges {
            cursor: delta.cursor.encode(),
            upserts: delta.upserts.into_iter().map(|s| OfflineService::from(s, datum)).collect(),
            removed_ids: delta.removed_ids.into_iter().map(Into::into).collect(),
        })
    }
}

/// An area's listed services, to keep offline.
#[derive(SimpleObject)]
pub struct DirectorySnapshot {
    /// Where the next `directoryChanges` starts from (opaque; keep it with the data).
    pub cursor: String,
    /// Every listed service with a place in the area, or serving it from elsewhere (a hotline).
    pub services: Vec<OfflineService>,
}

/// Changes to apply to an offline copy.
#[derive(SimpleObject)]
pub struct DirectoryChanges {
    /// Where the next `directoryChanges` starts from.
    pub cursor: String,
    /// Services to add, or to replace whole (matched by id).
    pub upserts: Vec<OfflineService>,
    /// Ids of services to drop from the offline copy (ids the app does not have can be ignored).
    pub removed_ids: Vec<async_graphql::ID>,
}

/// A service as kept offline: enough for the search list and the detail screen.
#[derive(SimpleObject)]
pub struct OfflineService {
    /// Same id as `service(id:)`.
    pub id: async_graphql::ID,
    /// Name.
    pub name: String,
    /// Primary category.
    pub category: Option<ServiceCategory>,
    /// Active, or temporarily closed (shown with a notice).
    pub status: ServiceStatus,
    /// Name of the organisation that runs it.
    pub organization: String,
    /// What it offers.
    pub description: String,
    /// Costs nothing.
    pub is_free: bool,
    /// Needs a local hukou.
    pub local_hukou_required: bool,
    /// Weekly hours in China Standard Time, one group per `; `: days (MO TU WE TH FR SA SU) and
    /// `HH:MM-HH:MM`, e.g. `MO,TU,WE,TH,FR 09:00-17:00; SA 09:00-12:00`. Empty when unknown.
    /// Holidays and closures are only online (`service(id:) { hoursNext7Days }`).
    pub hours: String,
    /// A phone number to call.
    pub phone: Option<String>,
    /// Its places in the area, nearest to the centre first; empty for a service that serves
    /// the area from elsewhere (a hotline).
    pub places: Vec<OfflinePlace>,
}

/// A place of an offline service.
#[derive(SimpleObject)]
pub struct OfflinePlace {
    /// Latitude in the requested datum.
    pub lat: f64,
    /// Longitude in the requested datum.
    pub lon: f64,
    /// Street address.
    pub street: String,
}

impl OfflineService {
    fn from(service: CompactService, datum: Datum) -> Self {
        // Six decimals are ~0.1 m: enough for a map, and shorter to send.
        let round = |v: f64| (v * 1e6).round() / 1e6;
        Self {
            id: service.id.into(),
            name: service.name,
            category: ServiceCategory::from_code(&service.category),
            status: service.status.into(),
            organization: service.organization,
            description: service.description,
            is_free: service.is_free,
            local_hukou_required: service.local_hukou_required,
            hours: service.hours,
            phone: service.phone,
            places: service
                .places
                .into_iter()
                .map(|place| {
                    let point = output_point(place.point, datum);
                    OfflinePlace { lat: round(point.lat), lon: round(point.lon), street: place.street }
                })
                .collect(),
        }
    }
}
