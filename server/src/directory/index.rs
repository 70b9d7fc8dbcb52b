//! The in-memory read model of the public directory: what search needs, built from the database
//! at start. Geography is an R-tree of service places; text is a [`TextIndex`]; filters read
//! precomputed per-service facts (free? needs a local hukou? languages, categories).

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Polygon};
use qiao_schema::datum::LatLon;
use qiao_schema::domain::{CapacityStatus, ServiceStatus, taxonomy_ids};
use qiao_schema::entity::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::eligibility::{CHILDREN_CATEGORY_CODES, Requirement, ServiceEligibility};
use super::geometry::{covers, parse_polygon, unit_vector};
use super::hours::OpeningHours;
use super::rules;
use super::text::TextIndex;

/// Index of a service in [`Directory::services`].
pub type ServiceIdx = u32;
/// Index of a place in [`Directory::places`].
pub type PlaceIdx = u32;
/// Index of a term in [`Taxonomy::terms`].
pub type TermIdx = usize;

#[derive(Debug, Clone)]
pub struct Term {
    pub id: String,
    pub code: String,
    pub parent: Option<TermIdx>,
    pub children: Vec<TermIdx>,
    pub name_zh: String,
    pub name_en: String,
    pub description_zh: String,
    pub description_en: String,
    pub icon: Option<String>,
}

/// The service-category tree.
#[derive(Debug, Default)]
pub struct Taxonomy {
    pub terms: Vec<Term>,
    by_id: HashMap<String, TermIdx>,
    by_code: HashMap<String, TermIdx>,
}

impl Taxonomy {
    fn build(mut rows: Vec<taxonomy_term::Model>) -> Self {
        rows.sort_by_key(|row| row.ordinal);
        let by_id: HashMap<String, TermIdx> = rows.iter().enumerate().map(|(i, row)| (row.id.clone(), i)).collect();
        let mut terms: Vec<Term> = rows
            .iter()
            .map(|row| Term {
                id: row.id.clone(),
                code: row.code.clone(),
                parent: row.parent_id.as_ref().and_then(|id| by_id.get(id).copied()),
                children: Vec::new(),
                name_zh: row.name_zh.clone(),
                name_en: row.name_en.clone(),
                description_zh: row.description_zh.clone(),
                description_en: row.description_en.clone(),
                icon: row.icon.clone(),
            })
            .collect();
        for index in 0..terms.len() {
            if let Some(parent) = terms[index].parent {
                terms[parent].children.push(index);
            }
        }
        let by_code = terms.iter().enumerate().map(|(i, term)| (term.code.clone(), i)).collect();
        Self { terms, by_id, by_code }
    }

    pub fn by_code(&self, code: &str) -> Option<TermIdx> {
        self.by_code.get(code).copied()
    }

    pub fn roots(&self) -> impl Iterator<Item = TermIdx> + '_ {
        (0..self.terms.len()).filter(|i| self.terms[*i].parent.is_none())
    }

    /// The term and everything below it.
    pub fn with_descendants(&self, term: TermIdx) -> Vec<TermIdx> {
        let mut out = vec![term];
        let mut next = 0;
        while next < out.len() {
            out.extend(self.terms[out[next]].children.iter().copied());
            next += 1;
        }
        out
    }

    /// The term and its ancestors, nearest first.
    pub fn with_ancestors(&self, term: TermIdx) -> Vec<TermIdx> {
        let mut out = vec![term];
        while let Some(parent) = out.last().and_then(|t| self.terms[*t].parent) {
            if out.contains(&parent) {
                break; // a cycle in hand-edited data; stop rather than loop
            }
            out.push(parent);
        }
        out
    }
}

/// What search knows of a listed service.
#[derive(Debug)]
pub struct ServiceEntry {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub organization_name_zh: String,
    pub organization_name_en: String,
    pub status: ServiceStatus,
    /// Primary category.
    pub category: TermIdx,
    /// All categories, primary first.
    pub categories: Vec<TermIdx>,
    pub languages: Vec<String>,
    /// [`rules::is_free`].
    pub is_free: bool,
    /// [`rules::requires_local_hukou`].
    pub requires_local_hukou: bool,
    /// Its structured requirements, for `checkEligibility` and search's situation filter.
    pub eligibility: ServiceEligibility,
    pub capacity: Option<CapacityStatus>,
    /// The service's own hours, used by places without hours of their own.
    pub hours: OpeningHours,
    pub places: Vec<PlaceIdx>,
}

/// A service at a physical location.
#[derive(Debug)]
pub struct Place {
    /// The `service_at_location` id.
    pub id: String,
    pub service: ServiceIdx,
    pub location_id: String,
    pub point: LatLon,
    pub name_zh: String,
    pub name_en: String,
    pub street_zh: String,
    pub street_en: String,
    pub district_zh: String,
    pub district_en: String,
    pub city_zh: String,
    pub city_en: String,
    /// The address's district adcode (`servicesInRegion`); `None` without a six-digit one.
    pub adcode: Option<DistrictCode>,
    /// Hours of this place when they differ from the service's.
    pub own_hours: Option<OpeningHours>,
}

#[derive(Debug)]
pub struct Village {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub city_zh: String,
    pub city_en: String,
    pub district_zh: String,
    pub district_en: String,
    pub adcode: String,
    pub centroid: LatLon,
    pub population: Option<i32>,
    pub boundary: Polygon<f64>,
}

/// A service with no physical place that serves an area (a hotline, a mobile clinic's route).
#[derive(Debug)]
pub struct AreaService {
    pub service: ServiceIdx,
    pub area: Polygon<f64>,
    /// County-level districts whose centre the area covers, sorted (`servicesInRegion`).
    pub districts: Vec<DistrictCode>,
}

// Where places and area services lie, for `servicesInRegion` (`super::region`).

/// A district adcode as a number (`520524`); every adcode has six digits, so they compare as
/// numbers and take four bytes per place instead of a string.
pub type DistrictCode = u32;

/// The numeric form of an adcode text (the rule is `values::Adcode`'s); `None` for anything else
/// (hand-imported data).
pub fn district_code(adcode: &str) -> Option<DistrictCode> {
    crate::values::Adcode::parse(crate::values::Field::LocationAdcode, adcode).ok().map(|code| code.number())
}

/// The county-level districts whose centre `area` covers (sorted), from the district centroids
/// shipped with the seed data.
pub(super) fn districts_covered_by(area: &Polygon<f64>) -> Vec<DistrictCode> {
    let Some(bounds) = area.bounding_rect() else { return Vec::new() };
    let (min, max) = (bounds.min(), bounds.max());
    let mut codes: Vec<DistrictCode> = district_centres()
        .iter()
        .filter(|(_, centre)| {
            (min.x..=max.x).contains(&centre.lon) && (min.y..=max.y).contains(&centre.lat) && covers(area, *centre)
        })
        .map(|(code, _)| *code)
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// Every county-level district's WGS-84 centre, read once: the index is rebuilt after every
/// write, and the file does not change while the server runs.
fn district_centres() -> &'static [(DistrictCode, qiao_schema::datum::LatLon)] {
    static CENTRES: OnceLock<Vec<(DistrictCode, qiao_schema::datum::LatLon)>> = OnceLock::new();
    CENTRES.get_or_init(|| match qiao_seed::synthetic::districts() {
        Ok(districts) => districts
            .into_iter()
            .filter_map(|district| district_code(&district.adcode).map(|code| (code, district.centroid)))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "district centres unreadable; area services belong to no region");
            Vec::new()
        }
    })
}

type PlacePoint = GeomWithData<[f64; 3], PlaceIdx>;

/// The public directory's read model.
#[derive(Debug, Default)]
pub struct Directory {
    pub taxonomy: Taxonomy,
    pub services: Vec<ServiceEntry>,
    service_by_id: HashMap<String, ServiceIdx>,
    pub places: Vec<Place>,
    pub(super) rtree: RTree<PlacePoint>,
    pub area_services: Vec<AreaService>,
    pub villages: Vec<Village>,
    pub(super) text: TextIndex,
}

impl Directory {
    pub fn service(&self, id: &str) -> Option<&ServiceEntry> {
        self.service_by_id.get(id).map(|idx| &self.services[*idx as usize])
    }

    /// The hours that apply at a place.
    pub fn place_hours<'a>(&'a self, place: &'a Place) -> &'a OpeningHours {
        place.own_hours.as_ref().unwrap_or(&self.services[place.service as usize].hours)
    }

    /// Whether the service at `place` is open there at `at` ([`rules::is_open_at`]).
    pub fn is_open_at_place(&self, place: PlaceIdx, at: DateTime<Utc>) -> bool {
        let place = &self.places[place as usize];
        rules::is_open_at(self.services[place.service as usize].status, self.place_hours(place), at)
    }

    /// Whether a service is open at `at` at any of its places, or by its own hours when it has
    /// none ([`rules::is_service_open_at`]).
    pub fn is_service_open_at(&self, service: ServiceIdx, at: DateTime<Utc>) -> bool {
        let entry = &self.services[service as usize];
        let places = entry.places.iter().map(|place| self.place_hours(&self.places[*place as usize]));
        rules::is_service_open_at(entry.status, &entry.hours, places, at)
    }

    /// The urban village at `point` (its edge counts as inside); the smallest one when
    /// boundaries overlap.
    pub fn village_at(&self, point: LatLon) -> Option<&Village> {
        self.villages.iter().filter(|village| covers(&village.boundary, point)).min_by(|a, b| {
            use geo::Area;
            a.boundary.unsigned_area().total_cmp(&b.boundary.unsigned_area())
        })
    }

    /// Loads the read model from the database.
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let taxonomy = Taxonomy::build(
            taxonomy_term::Entity::find()
                .filter(taxonomy_term::Column::TaxonomyId.eq(taxonomy_ids::SERVICE_CATEGORY))
                .all(db)
                .await?,
        );
        let services = service::Entity::find()
            .filter(service::Column::Status.is_in(rules::listed_statuses()))
            .order_by_asc(service::Column::Id)
            .all(db)
            .await?;
        let organizations: HashMap<String, organization::Model> =
            organization::Entity::find().all(db).await?.into_iter().map(|o| (o.id.clone(), o)).collect();
        // A service is left out before it gets an index, so that every per-service table below
        // (keyed by that index) stays aligned with `directory.services`.
        let services: Vec<service::Model> = services
            .into_iter()
            .filter(|s| rules::is_service_listed(s.status, organizations.get(&s.organization_id)))
            .filter(|s| {
                let known = taxonomy.by_id.contains_key(&s.category_term_id);
                if !known {
                    tracing::warn!(service = %s.id, "service has an unknown category; left out of search");
                }
                known
            })
            .collect();

        let mut directory = Directory { taxonomy, ..Default::default() };
        for (index, row) in services.iter().enumerate() {
            directory.service_by_id.insert(row.id.clone(), index as ServiceIdx);
        }
        let idx_of = |service_id: &str| directory.service_by_id.get(service_id).copied();

        // Per-service facts, gathered table by table.
        let mut extra_categories: HashMap<ServiceIdx, Vec<TermIdx>> = HashMap::new();
        for attribute in attribute::Entity::find().filter(attribute::Column::LinkType.eq("service")).all(db).await? {
            if let (Some(service), Some(term)) =
                (idx_of(&attribute.link_id), directory.taxonomy.by_id.get(&attribute.taxonomy_term_id))
            {
                extra_categories.entry(service).or_default().push(*term);
            }
        }
        let mut languages: HashMap<ServiceIdx, Vec<String>> = HashMap::new();
        for row in language::Entity::find().order_by_asc(language::Column::Id).all(db).await? {
            if let Some(service) = idx_of(&row.service_id) {
                languages.entry(service).or_default().push(row.code);
            }
        }
        let mut costs: HashMap<ServiceIdx, Vec<i64>> = HashMap::new();
        for row in cost_option::Entity::find().all(db).await? {
            if let Some(service) = idx_of(&row.service_id) {
                costs.entry(service).or_default().push(row.amount_fen);
            }
        }
        // In id order, so a service's requirements read in the order its detail page lists them.
        let mut requirements: HashMap<ServiceIdx, Vec<Requirement>> = HashMap::new();
        for row in
            eligibility_requirement::Entity::find().order_by_asc(eligibility_requirement::Column::Id).all(db).await?
        {
            if let Some(service) = idx_of(&row.service_id) {
                requirements.entry(service).or_default().push(Requirement::from_row(&row));
            }
        }
        let children_terms: Vec<TermIdx> =
            CHILDREN_CATEGORY_CODES.iter().filter_map(|code| directory.taxonomy.by_code(code)).collect();
        let mut capacity: HashMap<ServiceIdx, CapacityStatus> = HashMap::new();
        for row in service_capacity::Entity::find().all(db).await? {
            if let Some(service) = idx_of(&row.service_id) {
                capacity.insert(service, row.status);
            }
        }
        let schedules = schedule::Entity::find().all(db).await?;
        let exceptions = schedule_exception::Entity::find().all(db).await?;
        let mut schedules_by_service: HashMap<&str, Vec<&schedule::Model>> = HashMap::new();
        for row in &schedules {
            schedules_by_service.entry(row.service_id.as_str()).or_default().push(row);
        }
        let mut exceptions_by_service: HashMap<&str, Vec<&schedule_exception::Model>> = HashMap::new();
        for row in &exceptions {
            exceptions_by_service.entry(row.service_id.as_str()).or_default().push(row);
        }

        for (index, row) in services.iter().enumerate() {
            let index = index as ServiceIdx;
            let organization = organizations.get(&row.organization_id);
            let Some(category) = directory.taxonomy.by_id.get(&row.category_term_id).copied() else {
                continue; // not reached: filtered out above
            };
            let mut categories = vec![category];
            for term in extra_categories.remove(&index).unwrap_or_default() {
                if !categories.contains(&term) {
                    categories.push(term);
                }
            }
            let for_children = categories
                .iter()
                .any(|term| directory.taxonomy.with_ancestors(*term).iter().any(|t| children_terms.contains(t)));
            let requirements = requirements.remove(&index).unwrap_or_default();
            let service_schedules = schedules_by_service.get(row.id.as_str()).map(Vec::as_slice).unwrap_or_default();
            let service_exceptions = exceptions_by_service.get(row.id.as_str()).map(Vec::as_slice).unwrap_or_default();
            directory.services.push(ServiceEntry {
                id: row.id.clone(),
                name_zh: row.name_zh.clone(),
                name_en: row.name_en.clone(),
                organization_name_zh: organization.map(|o| o.name_zh.clone()).unwrap_or_default(),
                organization_name_en: organization.map(|o| o.name_en.clone()).unwrap_or_default(),
                status: row.status,
                category,
                categories,
                languages: languages.remove(&index).unwrap_or_default(),
                is_free: rules::is_free(costs.remove(&index).unwrap_or_default()),
                requires_local_hukou: rules::requires_local_hukou(requirements.iter().map(|r| r.kind)),
                eligibility: ServiceEligibility { requirements: requirements.into(), for_children },
                capacity: capacity.get(&index).copied(),
                hours: rules::service_hours(service_schedules.iter().copied(), service_exceptions.iter().copied()),
                places: Vec::new(),
            });
        }

        // Places: services at physical locations with coordinates.
        let locations: HashMap<String, location::Model> = location::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .filter(rules::is_location_listed)
            .map(|l| (l.id.clone(), l))
            .collect();
        let addresses: HashMap<String, address::Model> =
            address::Entity::find().all(db).await?.into_iter().map(|a| (a.location_id.clone(), a)).collect();
        for row in service_at_location::Entity::find().order_by_asc(service_at_location::Column::Id).all(db).await? {
            let Some(service) = directory.service_by_id.get(&row.service_id).copied() else { continue };
            let Some(location) = locations.get(&row.location_id) else { continue };
            let (Some(lat), Some(lon)) = (location.latitude, location.longitude) else { continue };
            let address = addresses.get(&location.id);
            let own_hours = rules::own_place_hours(
                schedules_by_service.get(row.service_id.as_str()).into_iter().flatten().copied(),
                exceptions_by_service.get(row.service_id.as_str()).into_iter().flatten().copied(),
                &row.id,
            );
            let place = directory.places.len() as PlaceIdx;
            directory.services[service as usize].places.push(place);
            directory.places.push(Place {
                id: row.id.clone(),
                service,
                location_id: location.id.clone(),
                point: LatLon::new(lat, lon),
                name_zh: location.name_zh.clone(),
                name_en: location.name_en.clone(),
                street_zh: address.map(|a| a.address_1_zh.clone()).unwrap_or_default(),
                street_en: address.map(|a| a.address_1_en.clone()).unwrap_or_default(),
                district_zh: address.map(|a| a.district_zh.clone()).unwrap_or_default(),
                district_en: address.map(|a| a.district_en.clone()).unwrap_or_default(),
                city_zh: address.map(|a| a.city_zh.clone()).unwrap_or_default(),
                city_en: address.map(|a| a.city_en.clone()).unwrap_or_default(),
                adcode: address.and_then(|a| district_code(&a.adcode)),
                own_hours,
            });
        }
        directory.rtree = RTree::bulk_load(
            directory
                .places
                .iter()
                .enumerate()
                .map(|(index, place)| GeomWithData::new(unit_vector(place.point), index as PlaceIdx))
                .collect(),
        );

        // Services without a place of their own are found through their service area.
        for row in service_area::Entity::find().all(db).await? {
            let Some(service) = directory.service_by_id.get(&row.service_id).copied() else { continue };
            if !directory.services[service as usize].places.is_empty() {
                continue;
            }
            match parse_polygon(&row.extent) {
                Some(area) => {
                    let districts = districts_covered_by(&area);
                    directory.area_services.push(AreaService { service, area, districts });
                }
                None => tracing::warn!(service_area = %row.id, "unreadable service area polygon"),
            }
        }

        for row in urban_village::Entity::find().order_by_asc(urban_village::Column::Id).all(db).await? {
            let Some(boundary) = parse_polygon(&row.boundary) else {
                tracing::warn!(village = %row.id, "unreadable urban village boundary");
                continue;
            };
            directory.villages.push(Village {
                id: row.id,
                name_zh: row.name_zh,
                name_en: row.name_en,
                city_zh: row.city_zh,
                city_en: row.city_en,
                district_zh: row.district_zh,
                district_en: row.district_en,
                adcode: row.adcode,
                centroid: LatLon::new(row.centroid_lat, row.centroid_lon),
                population: row.population,
                boundary,
            });
        }

        let documents: Vec<String> = directory.services.iter().map(|s| directory.searchable_text(s)).collect();
        directory.text = TextIndex::build(&documents);
        Ok(directory)
    }

    /// Everything a text query can match for a service: names, organisation, categories (with
    /// their parents, so "教育" finds a school), in both languages.
    fn searchable_text(&self, service: &ServiceEntry) -> String {
        let mut text = format!(
            "{} {} {} {}",
            service.name_zh, service.name_en, service.organization_name_zh, service.organization_name_en
        );
        for category in &service.categories {
            for term in self.taxonomy.with_ancestors(*category) {
                let term = &self.taxonomy.terms[term];
                text.push_str(&format!(" {} {}", term.name_zh, term.name_en));
            }
        }
        text
    }
}
