//! GraphQL objects of the public directory. Each holds the data it shows plus the caller's
//! language; resolvers here only pick and format.

use std::sync::Arc;

use async_graphql::{ComplexObject, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use qiao_schema::datum::LatLon;
use qiao_schema::entity::{address, location};

use super::category::{Category, ServiceCategory};
use super::common::{
    CapacityStatus, ChangeRecord, ChangeRecordConnection, Date, Datum, DeliveryMode, EligibilityKind,
    InterventionLevel, Language, PageInfo, ServiceStatus, SupportFunction, output_point,
};
use super::context::{StaffGuard, state};
use crate::auth::policy::StaffReader;
use crate::directory::Directory;
use crate::directory::detail::{LocationDetail, ServiceDetail, describe_requirement};
use crate::directory::hours::{OpeningHours, format_minute};
use crate::directory::index::{Place, ServiceIdx, Village};
use crate::pagination::{List, PageRequest};

/// A page of services near a point, nearest first.
pub struct NearbyServiceConnection {
    pub edges: Vec<NearbyServiceEdge>,
    pub page_info: PageInfo,
    pub area_services: Vec<NearbyService>,
    pub nearest_beyond_radius_m: Option<f64>,
}

/// A page of services near a point, nearest first.
#[Object]
impl NearbyServiceConnection {
    /// Services at places within the radius, nearest first; each service once, at its nearest
    /// matching place.
    async fn edges(&self) -> &[NearbyServiceEdge] {
        &self.edges
    }

    /// Pagination.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }

    /// Services with no physical place (hotlines, online or mobile services) whose service area
    /// covers the search point: they serve you where you are rather than at a distance. Given on
    /// the first page only, at most 20.
    async fn area_services(&self) -> &[NearbyService] {
        &self.area_services
    }

    /// When the first page is empty: how far away (metres) the nearest matching service is,
    /// so the app can offer to widen the search. Null when something was found, or when nothing
    /// matches within 200 km.
    async fn nearest_beyond_radius_meters(&self) -> Option<i32> {
        self.nearest_beyond_radius_meters_rounded()
    }
}

impl NearbyServiceConnection {
    pub fn nearest_beyond_radius_meters_rounded(&self) -> Option<i32> {
        self.nearest_beyond_radius_m.map(|m| m.round() as i32)
    }
}

/// A search result.
pub struct NearbyServiceEdge {
    pub cursor: String,
    pub distance_m: f64,
    pub node: NearbyService,
}

impl NearbyServiceEdge {
    pub fn distance_meters_rounded(&self) -> i32 {
        self.distance_m.round() as i32
    }
}

/// A search result.
#[Object]
impl NearbyServiceEdge {
    /// Opaque position of this edge, for `after`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    /// Geodesic distance (WGS-84 ellipsoid) from the search point to the place, in metres.
    async fn distance_meters(&self) -> i32 {
        self.distance_meters_rounded()
    }

    /// The service at the place.
    async fn node(&self) -> &NearbyService {
        &self.node
    }
}

/// A service as a search finds it: the facts a result list shows. Pass `id` to `service` for
/// everything else.
pub struct NearbyService {
    pub directory: Arc<Directory>,
    pub service: ServiceIdx,
    /// The place the result refers to; none for area services.
    pub place: Option<u32>,
    pub language: Language,
    pub now: DateTime<Utc>,
}

impl NearbyService {
    fn entry(&self) -> &crate::directory::index::ServiceEntry {
        &self.directory.services[self.service as usize]
    }

    fn place(&self) -> Option<&Place> {
        self.place.map(|p| &self.directory.places[p as usize])
    }

    // What the fields below answer, also written directly by `graphql::published`.

    pub fn id_text(&self) -> String {
        self.entry().id.to_string()
    }

    pub fn name_text(&self) -> &str {
        let entry = self.entry();
        self.language.pick(entry.name_zh(), entry.name_en())
    }

    pub fn primary_category(&self) -> Option<ServiceCategory> {
        ServiceCategory::from_code(&self.directory.taxonomy.terms[self.entry().category].code)
    }

    pub fn listing_status(&self) -> ServiceStatus {
        self.entry().status.into()
    }

    pub fn is_open_now(&self) -> bool {
        match self.place {
            Some(place) => self.directory.is_open_at_place(place, self.now),
            None => self.directory.is_service_open_at(self.service, self.now),
        }
    }

    pub fn free_of_charge(&self) -> bool {
        self.entry().is_free
    }

    /// The result's place in WGS-84 (the default datum of `location { lat lon }`).
    pub fn place_point(&self) -> Option<LatLon> {
        self.place().map(|place| output_point(place.point, Datum::Wgs84))
    }
}

/// A service as a search finds it: the facts a result list shows. Pass `id` to `service` for
/// everything else.
#[Object]
impl NearbyService {
    /// The service's id (for `service(id:)`).
    async fn id(&self) -> ID {
        ID(self.id_text())
    }

    /// Name in the requested language.
    async fn name(&self) -> &str {
        self.name_text()
    }

    /// Name of the organisation that provides it.
    async fn organization_name(&self) -> &str {
        let entry = self.entry();
        self.language.pick(entry.organization_name_zh(), entry.organization_name_en())
    }

    /// Primary category.
    async fn category(&self) -> Option<ServiceCategory> {
        self.primary_category()
    }

    /// All categories, primary first.
    async fn categories(&self) -> Vec<ServiceCategory> {
        let taxonomy = &self.directory.taxonomy;
        self.entry().categories.iter().filter_map(|t| ServiceCategory::from_code(&taxonomy.terms[*t].code)).collect()
    }

    /// Listing status; a temporarily closed service is shown with this status.
    async fn status(&self) -> ServiceStatus {
        self.listing_status()
    }

    /// Whether it is open right now at this place (China Standard Time, holidays included);
    /// never while temporarily closed. The `openNow` search filter decides the same way.
    async fn open_now(&self) -> bool {
        self.is_open_now()
    }

    /// Free of charge (every cost option is zero).
    async fn is_free(&self) -> bool {
        self.free_of_charge()
    }

    /// Whether new people are taken, when known.
    async fn capacity(&self) -> Option<CapacityStatus> {
        self.entry().capacity.map(Into::into)
    }

    /// Languages spoken (BCP-47 codes: zh, en, yue, wuu, …).
    async fn languages(&self) -> &[String] {
        &self.entry().languages
    }

    /// The place this result refers to; null for a service that serves an area.
    async fn location(&self) -> Option<Location> {
        self.place().map(|place| Location::from_place(place, self.language))
    }
}

/// A physical place.
pub struct Location {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub point: Option<LatLon>,
    pub address: Option<Address>,
    pub transportation_zh: Option<String>,
    pub transportation_en: Option<String>,
    pub language: Language,
}

impl Location {
    pub fn from_place(place: &Place, language: Language) -> Self {
        Self {
            id: place.location_id.to_string(),
            name_zh: place.name_zh().to_owned(),
            name_en: place.name_en().to_owned(),
            point: Some(place.point),
            address: Some(Address {
                street: language.pick(place.street_zh(), place.street_en()).to_owned(),
                district: language.pick(place.district_zh(), place.district_en()).to_owned(),
                city: language.pick(place.city_zh(), place.city_en()).to_owned(),
                adcode: None,
                postal_code: None,
            }),
            transportation_zh: None,
            transportation_en: None,
            language,
        }
    }

    pub fn from_rows(location: &location::Model, address: Option<&address::Model>, language: Language) -> Self {
        Self {
            id: location.id.clone(),
            name_zh: location.name_zh.clone(),
            name_en: location.name_en.clone(),
            point: location.latitude.zip(location.longitude).map(|(lat, lon)| LatLon::new(lat, lon)),
            address: address.map(|a| Address {
                street: language.pick(&a.address_1_zh, &a.address_1_en).to_owned(),
                district: language.pick(&a.district_zh, &a.district_en).to_owned(),
                city: language.pick(&a.city_zh, &a.city_en).to_owned(),
                adcode: Some(a.adcode.clone()),
                postal_code: a.postal_code.clone(),
            }),
            transportation_zh: location.transportation_zh.clone(),
            transportation_en: location.transportation_en.clone(),
            language,
        }
    }
}

/// A physical place.
#[Object]
impl Location {
    /// The location's id.
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Name of the place.
    async fn name(&self) -> &str {
        self.language.pick(&self.name_zh, &self.name_en)
    }

    /// Latitude in the requested datum (default WGS84; use GCJ02 to draw on Amap/WeChat maps).
    async fn lat(
        &self,
        #[graphql(desc = "Datum of the result.", default_with = "Datum::Wgs84")] datum: Datum,
    ) -> Option<f64> {
        self.point.map(|p| output_point(p, datum).lat)
    }

    /// Longitude in the requested datum (default WGS84).
    async fn lon(
        &self,
        #[graphql(desc = "Datum of the result.", default_with = "Datum::Wgs84")] datum: Datum,
    ) -> Option<f64> {
        self.point.map(|p| output_point(p, datum).lon)
    }

    /// Postal address.
    async fn address(&self) -> Option<&Address> {
        self.address.as_ref()
    }

    /// How to get there (buses, metro), when known.
    async fn transportation(&self) -> Option<String> {
        self.language.pick_opt(self.transportation_zh.as_deref(), self.transportation_en.as_deref())
    }
}

/// A postal address in the requested language.
#[derive(SimpleObject, Debug, Clone)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// District (区/县).
    pub district: String,
    /// City.
    pub city: String,
    /// Six-digit administrative code of the district, when known.
    pub adcode: Option<String>,
    /// Postal code, when known.
    pub postal_code: Option<String>,
}

/// An urban village (城中村).
pub struct UrbanVillage {
    pub directory: Arc<Directory>,
    pub index: usize,
    pub language: Language,
}

impl UrbanVillage {
    fn village(&self) -> &Village {
        &self.directory.villages[self.index]
    }
}

/// An urban village (城中村).
#[Object]
impl UrbanVillage {
    /// The village's id.
    async fn id(&self) -> ID {
        ID(self.village().id.clone())
    }

    /// Name.
    async fn name(&self) -> &str {
        let v = self.village();
        self.language.pick(&v.name_zh, &v.name_en)
    }

    /// City.
    async fn city(&self) -> &str {
        let v = self.village();
        self.language.pick(&v.city_zh, &v.city_en)
    }

    /// District.
    async fn district(&self) -> &str {
        let v = self.village();
        self.language.pick(&v.district_zh, &v.district_en)
    }

    /// Six-digit administrative code of the district.
    async fn adcode(&self) -> &str {
        &self.village().adcode
    }

    /// Approximate number of residents, when known.
    async fn population(&self) -> Option<i32> {
        self.village().population
    }

    /// Centre of the village.
    async fn centroid(&self) -> GeoPoint {
        GeoPoint(self.village().centroid)
    }

    /// Boundary as a GeoJSON Polygon (WGS-84), to draw on a map.
    async fn boundary_geo_json(&self) -> String {
        let ring: Vec<[f64; 2]> = self.village().boundary.exterior().coords().map(|c| [c.x, c.y]).collect();
        serde_json::json!({ "type": "Polygon", "coordinates": [ring] }).to_string()
    }
}

/// A point, readable in any datum.
pub struct GeoPoint(pub LatLon);

/// A point, readable in any datum.
#[Object]
impl GeoPoint {
    /// Latitude in the requested datum (default WGS84).
    async fn lat(&self, #[graphql(desc = "Datum of the result.", default_with = "Datum::Wgs84")] datum: Datum) -> f64 {
        output_point(self.0, datum).lat
    }

    /// Longitude in the requested datum (default WGS84).
    async fn lon(&self, #[graphql(desc = "Datum of the result.", default_with = "Datum::Wgs84")] datum: Datum) -> f64 {
        output_point(self.0, datum).lon
    }
}

/// Opening hours of one day.
#[derive(SimpleObject, Debug, Clone)]
pub struct DayHours {
    /// The date (China Standard Time).
    pub date: Date,
    /// Opening intervals that day; empty when closed.
    pub intervals: Vec<OpeningInterval>,
    /// Closed the whole day.
    pub closed: bool,
    /// Why the day differs from the usual week (a holiday, stock-taking), if it does.
    pub exception_reason: Option<String>,
}

/// An opening interval, local time.
#[derive(SimpleObject, Debug, Clone)]
pub struct OpeningInterval {
    /// Opening time, "HH:MM".
    pub opens: String,
    /// Closing time, "HH:MM" (closed from this minute).
    pub closes: String,
}

fn week_of(hours: &OpeningHours, now: DateTime<Utc>, language: Language) -> Vec<DayHours> {
    hours
        .next_seven_days(now)
        .into_iter()
        .map(|day| DayHours {
            date: day.date.into(),
            intervals: day
                .intervals
                .iter()
                .map(|i| OpeningInterval { opens: format_minute(i.opens), closes: format_minute(i.closes) })
                .collect(),
            closed: day.intervals.is_empty(),
            exception_reason: day.exception.map(|e| language.pick(&e.reason_zh, &e.reason_en).to_owned()),
        })
        .collect()
}

/// Everything a person needs before going to a service.
pub struct Service {
    /// Shared with the detail cache (`crate::directory::detail_cache`).
    pub detail: Arc<ServiceDetail>,
    pub directory: Arc<Directory>,
    pub language: Language,
    pub now: DateTime<Utc>,
}

impl Service {
    fn text(&self, zh: &Option<String>, en: &Option<String>) -> Option<String> {
        self.language.pick_opt(zh.as_deref(), en.as_deref())
    }
}

/// Everything a person needs before going to a service.
#[Object]
impl Service {
    /// The service's id.
    async fn id(&self) -> ID {
        ID(self.detail.service.id.clone())
    }

    /// Name.
    async fn name(&self) -> &str {
        self.language.pick(&self.detail.service.name_zh, &self.detail.service.name_en)
    }

    /// What the service does, in plain words.
    async fn description(&self) -> &str {
        self.language.pick(&self.detail.service.description_zh, &self.detail.service.description_en)
    }

    /// Listing status.
    async fn status(&self) -> ServiceStatus {
        self.detail.service.status.into()
    }

    /// A current notice (e.g. "runs only in July and August").
    async fn alert(&self) -> Option<String> {
        self.text(&self.detail.service.alert_zh, &self.detail.service.alert_en)
    }

    /// Primary category.
    async fn category(&self) -> Option<Category> {
        self.directory.service(&self.detail.service.id).map(|entry| Category {
            directory: self.directory.clone(),
            term: entry.category,
            language: self.language,
        })
    }

    /// All categories, primary first.
    async fn categories(&self) -> Vec<Category> {
        self.directory
            .service(&self.detail.service.id)
            .map(|entry| {
                entry
                    .categories
                    .iter()
                    .map(|term| Category { directory: self.directory.clone(), term: *term, language: self.language })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The organisation that provides it.
    async fn organization(&self) -> Option<Organization> {
        self.detail.organization.as_ref().map(|o| Organization {
            id: o.id.clone(),
            name: self.language.pick(&o.name_zh, &o.name_en).to_owned(),
            description: self.language.pick(&o.description_zh, &o.description_en).to_owned(),
            website: o.website.clone(),
        })
    }

    /// The programme it belongs to, with its funders and how it is delivered.
    async fn programme(&self) -> Option<Programme> {
        self.detail.program.as_ref().map(|p| Programme {
            name: self.language.pick(&p.name_zh, &p.name_en).to_owned(),
            description: self.language.pick_opt(p.description_zh.as_deref(), p.description_en.as_deref()),
            funders: self.language.pick(&p.funders_zh, &p.funders_en).to_owned(),
            delivery_mode: p.delivery_mode.into(),
            since_year: p.since_year,
        })
    }

    /// Every place where it is delivered, with address, coordinates and hours.
    async fn locations(&self) -> Vec<ServiceAtLocation<'_>> {
        self.detail.locations.iter().map(|detail| ServiceAtLocation { detail, service: self }).collect()
    }

    /// Areas served, for services without a place of their own (hotlines, outreach).
    async fn service_areas(&self) -> Vec<ServiceArea> {
        self.detail
            .areas
            .iter()
            .map(|a| ServiceArea {
                name: self.language.pick(&a.name_zh, &a.name_en).to_owned(),
                geo_json: a.extent.clone(),
            })
            .collect()
    }

    /// Open right now at any of its places (or, without places, by its own hours).
    async fn open_now(&self) -> bool {
        self.detail.is_open_at(self.now)
    }

    /// Hours for today and the next six days; for services with places, see each location's
    /// hours, which may differ.
    async fn hours_next_7_days(&self) -> Vec<DayHours> {
        week_of(&self.detail.hours, self.now, self.language)
    }

    /// Phone numbers.
    async fn phones(&self) -> Vec<Phone> {
        self.detail.phones.iter().map(|p| Phone::from_row(p, self.language)).collect()
    }

    /// Languages spoken (BCP-47 codes).
    async fn languages(&self) -> &[String] {
        &self.detail.languages
    }

    /// What it costs.
    async fn costs(&self) -> Vec<CostOption> {
        self.detail
            .costs
            .iter()
            .map(|c| CostOption {
                option: self.language.pick(&c.option_zh, &c.option_en).to_owned(),
                amount_yuan: c.amount_fen as f64 / 100.0,
                currency: c.currency.clone(),
            })
            .collect()
    }

    /// Free of charge (every cost option is zero).
    async fn is_free(&self) -> bool {
        self.detail.is_free()
    }

    /// Fees in words.
    async fn fees_description(&self) -> Option<String> {
        self.text(&self.detail.service.fees_description_zh, &self.detail.service.fees_description_en)
    }

    /// Who can use it.
    async fn eligibility(&self) -> Eligibility {
        let requirements: Vec<EligibilityRequirement> = self
            .detail
            .requirements
            .iter()
            .map(|r| {
                let (zh, en) = describe_requirement(r);
                EligibilityRequirement {
                    kind: r.kind.into(),
                    months: r.months,
                    min_age: r.min_age,
                    max_age: r.max_age,
                    plain_words: self.language.pick(&zh, &en).to_owned(),
                }
            })
            .collect();
        Eligibility {
            description: self
                .text(&self.detail.service.eligibility_description_zh, &self.detail.service.eligibility_description_en),
            local_hukou_required: self.detail.requires_local_hukou(),
            requirements,
        }
    }

    /// Documents to bring.
    async fn required_documents(&self) -> Vec<String> {
        self.detail.documents.iter().map(|d| self.language.pick(&d.document_zh, &d.document_en).to_owned()).collect()
    }

    /// How to apply.
    async fn application_process(&self) -> Option<String> {
        self.text(&self.detail.service.application_process_zh, &self.detail.service.application_process_en)
    }

    /// When the listing was last checked as correct.
    async fn last_verified_on(&self) -> Option<Date> {
        self.detail.service.assured_date.map(Date)
    }

    /// Whether new people are taken.
    async fn capacity(&self) -> Option<Capacity> {
        self.detail.capacity.as_ref().map(|c| Capacity {
            status: c.status.into(),
            as_of: c.as_of.into(),
            note: self.language.pick_opt(c.note_zh.as_deref(), c.note_en.as_deref()),
        })
    }

    /// Who last verified the listing: for staff who keep this service (FORBIDDEN for the public;
    /// null for staff of other areas or organisations).
    #[graphql(guard = "StaffGuard")]
    async fn verified_by(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<Option<String>> {
        let state = state(ctx)?;
        let reader = StaffReader::of(&state.db, crate::auth::caller(ctx), state.clock.now()).await?;
        Ok(crate::stewardship::reads::verifier(&state.db, &reader, &self.detail.service).await?)
    }

    /// The listing's change history, newest first (staff who steward this service only:
    /// FORBIDDEN for the public, NOT_FOUND for staff of other areas or organisations).
    #[graphql(guard = "StaffGuard", complexity = "20 + first.unwrap_or(20).clamp(1, 50) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &async_graphql::Context<'_>,
        #[graphql(desc = "Page size, 0 to 50 (default 20).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the previous page's end.")] after: Option<String>,
    ) -> async_graphql::Result<ChangeRecordConnection> {
        let state = state(ctx)?;
        let reader = StaffReader::of(&state.db, crate::auth::caller(ctx), state.clock.now()).await?;
        let request = PageRequest::new(List::ListingHistory, first, after.as_deref())?;
        let page = crate::stewardship::reads::history_page(&state.db, &reader.scope, &self.detail.service.id, &request)
            .await?;
        let page_info = PageInfo::from(&page);
        Ok(ChangeRecordConnection { nodes: page.items.into_iter().map(ChangeRecord::from).collect(), page_info })
    }

    /// Kinds of support it gives.
    async fn support_functions(&self) -> Vec<SupportFunction> {
        self.detail.supports.iter().filter_map(|s| s.support_function).map(Into::into).collect()
    }

    /// Levels at which it intervenes.
    async fn intervention_levels(&self) -> Vec<InterventionLevel> {
        self.detail.supports.iter().filter_map(|s| s.intervention_level).map(Into::into).collect()
    }
}

/// A place where a service is delivered, with its hours there.
pub struct ServiceAtLocation<'a> {
    detail: &'a LocationDetail,
    service: &'a Service,
}

/// A place where a service is delivered, with its hours there.
#[Object]
impl ServiceAtLocation<'_> {
    /// The service-at-location id.
    async fn id(&self) -> ID {
        ID(self.detail.service_at_location_id.clone())
    }

    /// The place.
    async fn location(&self) -> Location {
        Location::from_rows(&self.detail.location, self.detail.address.as_ref(), self.service.language)
    }

    /// Open right now here.
    async fn open_now(&self) -> bool {
        self.service.detail.is_open_at_location(self.detail, self.service.now)
    }

    /// Hours here for today and the next six days (China Standard Time), holidays included.
    async fn hours_next_7_days(&self) -> Vec<DayHours> {
        week_of(&self.detail.hours, self.service.now, self.service.language)
    }

    /// Accessibility of the place (steps, lifts, toilets).
    async fn accessibility(&self) -> Vec<String> {
        let language = self.service.language;
        self.detail
            .accessibility
            .iter()
            .map(|a| language.pick(&a.description_zh, &a.description_en).to_owned())
            .collect()
    }

    /// Phone numbers of this place.
    async fn phones(&self) -> Vec<Phone> {
        self.detail.phones.iter().map(|p| Phone::from_row(p, self.service.language)).collect()
    }
}

/// The organisation behind a service.
#[derive(SimpleObject, Debug, Clone)]
pub struct Organization {
    /// The organisation's id.
    pub id: String,
    /// Name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Website, when it has one.
    pub website: Option<String>,
}

/// A programme: funders and delivery of a group of services.
#[derive(SimpleObject, Debug, Clone)]
pub struct Programme {
    /// Name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// Funders and providers, in words.
    pub funders: String,
    /// How it is funded and delivered.
    pub delivery_mode: DeliveryMode,
    /// Running since this year.
    pub since_year: Option<i32>,
}

/// A phone number.
#[derive(SimpleObject, Debug, Clone)]
pub struct Phone {
    /// The number, as dialled in China.
    pub number: String,
    /// voice, hotline, fax or text.
    pub kind: String,
    /// What the number is for.
    pub description: Option<String>,
}

impl Phone {
    fn from_row(row: &qiao_schema::entity::phone::Model, language: Language) -> Self {
        Self {
            number: row.number.clone(),
            kind: row.phone_type.clone(),
            description: language.pick_opt(row.description_zh.as_deref(), row.description_en.as_deref()),
        }
    }
}

/// A cost option.
#[derive(SimpleObject, Debug, Clone)]
pub struct CostOption {
    /// What the amount is for.
    pub option: String,
    /// Amount in yuan; 0 means free.
    pub amount_yuan: f64,
    /// Currency code (CNY).
    pub currency: String,
}

/// Who can use a service.
#[derive(SimpleObject, Debug, Clone)]
pub struct Eligibility {
    /// The provider's own words, when given.
    pub description: Option<String>,
    /// Structured requirements, each with plain words.
    pub requirements: Vec<EligibilityRequirement>,
    /// Whether a hukou of this city is required (most migrants do not have one).
    pub local_hukou_required: bool,
}

/// One eligibility requirement.
#[derive(SimpleObject, Debug, Clone)]
pub struct EligibilityRequirement {
    /// Kind of requirement.
    pub kind: EligibilityKind,
    /// Months of social insurance, for SOCIAL_INSURANCE_MONTHS.
    pub months: Option<i32>,
    /// Youngest age, for AGE_RANGE.
    pub min_age: Option<i32>,
    /// Oldest age, for AGE_RANGE.
    pub max_age: Option<i32>,
    /// The requirement in plain words.
    pub plain_words: String,
}

/// Whether a service takes new people.
#[derive(SimpleObject, Debug, Clone)]
pub struct Capacity {
    /// Accepting, waitlist or full.
    pub status: CapacityStatus,
    /// Date of this information.
    pub as_of: Date,
    /// More detail.
    pub note: Option<String>,
}

/// An area a service covers.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(complex)]
pub struct ServiceArea {
    /// Name of the area.
    pub name: String,
    /// The area as a GeoJSON Polygon (WGS-84).
    pub geo_json: String,
}

#[ComplexObject]
impl ServiceArea {}

/// A page of urban villages.
#[derive(SimpleObject)]
pub struct UrbanVillageConnection {
    /// The villages of this page.
    pub edges: Vec<UrbanVillageEdge>,
    /// Pagination.
    pub page_info: PageInfo,
}

/// An urban village in a list.
#[derive(SimpleObject)]
pub struct UrbanVillageEdge {
    /// Opaque position, for `after`.
    pub cursor: String,
    /// The village.
    pub node: UrbanVillage,
}
