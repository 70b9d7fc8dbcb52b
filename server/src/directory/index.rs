//! The in-memory read model of the public directory: what search needs, built from the database
//! at start. Geography is an R-tree of service places; text is a [`TextIndex`]; filters read
//! precomputed per-service facts (free? needs a local hukou? languages, categories).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Polygon};
use qiao_schema::datum::LatLon;
use qiao_schema::domain::{CapacityStatus, ServiceStatus, taxonomy_ids};
use qiao_schema::entity::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;
use std::sync::Arc;

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::chunked::Chunked;
use super::eligibility::{CHILDREN_CATEGORY_CODES, ServiceEligibility};
use super::geometry::{covers, parse_polygon, unit_vector};
use super::hours::OpeningHours;
use super::record_id::RecordId;
use super::records::{
    self, AddressRow, ChunkReader, LOAD_CHUNK, Orm, PoolReader, ServiceRecord, SqliteFile, chunk_starts,
};
use super::rules;
use super::text::{DocId, TextIndex};

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
#[derive(Debug, Clone, Default)]
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

/// Short texts end to end in one allocation: a service's or a place's several names each cost a
/// pointer, a length and an allocation of their own otherwise (at a million services, more than
/// the texts themselves).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Texts<const N: usize> {
    text: Box<str>,
    /// Where each part ends in `text`.
    ends: [u32; N],
}

impl<const N: usize> Texts<N> {
    pub fn new(parts: [&str; N]) -> Self {
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0; N];
        for (part, end) in parts.iter().zip(ends.iter_mut()) {
            text.push_str(part);
            *end = text.len() as u32;
        }
        Self { text: text.into_boxed_str(), ends }
    }

    /// Part `i` (empty past the last).
    pub fn get(&self, i: usize) -> &str {
        let start = i.checked_sub(1).and_then(|before| self.ends.get(before)).map_or(0, |end| *end as usize);
        let end = self.ends.get(i).map_or(start, |end| *end as usize);
        self.text.get(start..end).unwrap_or_default()
    }
}

impl<const N: usize> Default for Texts<N> {
    fn default() -> Self {
        Self { text: Box::default(), ends: [0; N] }
    }
}

impl<const N: usize> std::fmt::Debug for Texts<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.get(i))).finish()
    }
}

/// What search knows of a listed service.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    pub id: RecordId,
    /// Name in Chinese and English.
    names: Texts<2>,
    /// The organisation's names, shared by its services (interned while loading).
    organization: Arc<Texts<2>>,
    pub status: ServiceStatus,
    /// Primary category.
    pub category: TermIdx,
    /// All categories, primary first (shared: few distinct combinations).
    pub categories: Arc<[TermIdx]>,
    /// Shared: most services speak one of a few combinations (interned while loading).
    pub languages: Arc<[String]>,
    /// [`rules::is_free`].
    pub is_free: bool,
    /// [`rules::requires_local_hukou`].
    pub requires_local_hukou: bool,
    /// Its structured requirements, for `checkEligibility` and search's situation filter
    /// (shared: few distinct ones).
    pub eligibility: Arc<ServiceEligibility>,
    pub capacity: Option<CapacityStatus>,
    /// The service's own hours, used by places without hours of their own (shared: most
    /// services keep one of a few common weeks).
    pub hours: Arc<OpeningHours>,
    /// Its places are the `place_count` slots from `first_place` (a service's places are always
    /// added right after it).
    first_place: PlaceIdx,
    place_count: u32,
    /// False for a slot left by a patch (a tombstone: no places, found by nothing) until the next
    /// full rebuild; a patched service gets a new slot.
    pub live: bool,
}

impl ServiceEntry {
    pub fn name_zh(&self) -> &str {
        self.names.get(0)
    }

    pub fn name_en(&self) -> &str {
        self.names.get(1)
    }

    pub fn organization_name_zh(&self) -> &str {
        self.organization.get(0)
    }

    pub fn organization_name_en(&self) -> &str {
        self.organization.get(1)
    }

    /// Its places' slots.
    pub fn places(&self) -> std::ops::Range<PlaceIdx> {
        self.first_place..self.first_place + self.place_count
    }
}

/// A service at a physical location.
#[derive(Debug, Clone)]
pub struct Place {
    /// The `service_at_location` id.
    pub id: RecordId,
    pub service: ServiceIdx,
    pub location_id: RecordId,
    pub point: LatLon,
    /// The location's name and street, in Chinese and English.
    texts: Texts<4>,
    /// District and city names in Chinese and English: a few thousand distinct ones, shared
    /// (interned while loading).
    area: Arc<Texts<4>>,
    /// The address's district adcode (`servicesInRegion`); `None` without a six-digit one.
    pub adcode: Option<DistrictCode>,
    /// Hours of this place when they differ from the service's.
    pub own_hours: Option<Arc<OpeningHours>>,
    /// False for a slot left by a patch (skipped by search) until the next full rebuild.
    pub live: bool,
}

impl Place {
    pub fn name_zh(&self) -> &str {
        self.texts.get(0)
    }

    pub fn name_en(&self) -> &str {
        self.texts.get(1)
    }

    pub fn street_zh(&self) -> &str {
        self.texts.get(2)
    }

    pub fn street_en(&self) -> &str {
        self.texts.get(3)
    }

    pub fn district_zh(&self) -> &str {
        self.area.get(0)
    }

    pub fn district_en(&self) -> &str {
        self.area.get(1)
    }

    pub fn city_zh(&self) -> &str {
        self.area.get(2)
    }

    pub fn city_en(&self) -> &str {
        self.area.get(3)
    }
}

#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub struct AreaService {
    pub service: ServiceIdx,
    pub area: Polygon<f64>,
    /// County-level districts whose centre the area covers, sorted (`servicesInRegion`).
    pub districts: Vec<DistrictCode>,
}

/// The area services, shared between snapshots (a patch that changes one copies the list of
/// pointers, not the polygons).
#[derive(Debug, Clone, Default)]
pub struct AreaServices(Arc<Vec<Arc<AreaService>>>);

impl AreaServices {
    pub fn iter(&self) -> std::slice::Iter<'_, Arc<AreaService>> {
        self.0.iter()
    }

    fn push(&mut self, area: AreaService) {
        Arc::make_mut(&mut self.0).push(Arc::new(area));
    }

    fn remove_service(&mut self, service: ServiceIdx) {
        if self.0.iter().any(|area| area.service == service) {
            Arc::make_mut(&mut self.0).retain(|area| area.service != service);
        }
    }
}

impl<'a> IntoIterator for &'a AreaServices {
    type Item = &'a Arc<AreaService>;
    type IntoIter = std::slice::Iter<'a, Arc<AreaService>>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
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
///
/// One copy exists however many requests read it: a patch makes a new `Directory` that shares
/// almost everything with the one it came from (see `super::handle`). The *base*, what the last
/// full build loaded, is immutable and shared: the id map, the R-tree and the text index of the
/// first `base_services` services and `base_places` places. A patch never changes a slot in
/// place: it marks the old slots dead (copying the one chunk of [`Chunked`] each lies in) and
/// appends the service's new state at the end, where a small *delta* (id changes, a text index
/// of the appended services, the appended places scanned directly) finds it. Cloning a
/// `Directory` therefore costs the chunk pointers and the delta; the delta is folded into a new
/// base by a full rebuild once it passes [`MAX_DELTA_SERVICES`] (`Directory::wants_rebuild`).
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub taxonomy: Arc<Taxonomy>,
    pub services: Chunked<ServiceEntry>,
    /// The base's services lie in id order, so a binary search finds one; this map does instead
    /// in the one case where they do not (ids a database collation orders otherwise).
    base_ids_unsorted: Option<Arc<HashMap<RecordId, ServiceIdx>>>,
    /// Slots changed since the base: the new slot, or `None` for a service that left.
    changed_ids: HashMap<RecordId, Option<ServiceIdx>>,
    pub places: Chunked<Place>,
    /// Points of the base's places (dead ones are skipped by their `live` flag).
    rtree: Arc<RTree<PlacePoint>>,
    /// Services and places below these slots are the base's.
    base_services: usize,
    base_places: usize,
    pub area_services: AreaServices,
    pub villages: Arc<Vec<Village>>,
    /// Text of the base's services.
    text: Arc<TextIndex>,
    /// Text of the services appended since.
    text_delta: TextIndex,
    /// Terms of the categories for children, with which a service's age rules judge a child.
    children_terms: Arc<Vec<TermIdx>>,
    live_services: usize,
    live_places: usize,
    /// One copy of each distinct week of hours (hundreds of thousands of services share a few).
    hours_pool: Arc<HashSet<Arc<OpeningHours>>>,
    /// The base was built from a saved build rather than the database (`super::snapshot`).
    pub(super) from_saved_build: bool,
}

/// Services appended by patches after which the handle rebuilds the index in the background
/// (which folds them into a new base): a patch copies the delta, so it must stay small.
pub const MAX_DELTA_SERVICES: usize = 2_048;

/// One copy of each repeated text while the index loads (organisation, district and city names,
/// language lists): at a million services they would otherwise take hundreds of megabytes. Only
/// the load uses it; a patch makes its own (equal) copies.
#[derive(Default)]
struct Interner {
    pairs: HashSet<Arc<Texts<2>>>,
    quads: HashSet<Arc<Texts<4>>>,
    languages: HashSet<Arc<[String]>>,
    categories: HashSet<Arc<[TermIdx]>>,
    eligibility: HashSet<Arc<ServiceEligibility>>,
}

/// The shared copy of `value` in `set` (added when new).
fn intern<T: Eq + std::hash::Hash + ?Sized>(set: &mut HashSet<Arc<T>>, value: Arc<T>) -> Arc<T> {
    if let Some(shared) = set.get(&value) {
        return Arc::clone(shared);
    }
    set.insert(Arc::clone(&value));
    value
}

impl Interner {
    fn share<T: Eq + std::hash::Hash + ?Sized>(
        interner: Option<&mut Self>,
        pick: impl FnOnce(&mut Self) -> &mut HashSet<Arc<T>>,
        value: Arc<T>,
    ) -> Arc<T> {
        match interner {
            Some(interner) => intern(pick(interner), value),
            None => value,
        }
    }
}

/// One chunk of a full build's records in id order, with its encoded frame when the build is
/// being saved.
pub type LoadedChunk<Encoded> = Result<(Vec<ServiceRecord>, Option<Encoded>), DbErr>;

/// Where a build from the database also puts what it reads (the saved build,
/// `super::snapshot::SnapshotWriter`): each chunk is encoded by the reader that read it, side by
/// side, and written in chunk order.
pub trait ChunkSink: Send {
    type Encoded: Send + 'static;

    fn encode(records: &[ServiceRecord]) -> Self::Encoded;

    /// Takes chunk after chunk, in order; a failure to write is the sink's own to report (the
    /// build goes on).
    fn write(&mut self, encoded: Self::Encoded, records: usize);
}

/// The sink of a build that keeps nothing.
pub enum NoSink {}

impl ChunkSink for NoSink {
    type Encoded = ();

    fn encode(_: &[ServiceRecord]) {}

    fn write(&mut self, (): (), _: usize) {}
}

/// Chunks read side by side at start-up from an SQLite file (and saved-build chunks decoded):
/// reading costs more than indexing, and one reader left a core idle.
pub(super) const LOAD_READERS: usize = 2;

/// Chunks read side by side at start-up through a connection pool (PostgreSQL). Each reader
/// waits out a round trip per table of every chunk while the database works in processes of its
/// own: with two, a third of both cores sat idle (`perf`); at a million services 2, 4 and 6
/// readers took 29.6, 25.9 and 29.2 s (docs/BENCHMARKS.md). Each holds at most three chunks.
const POOL_LOAD_READERS: usize = 4;

/// One reader of `readers` of a full build: reads chunks `first`, `first + readers`, … of the
/// build in order into `sender`, each encoded for the sink when `encode`; stops after a failure (which it
/// sends on) or when the build stops listening.
async fn read_chunks<S: ChunkSink>(
    reader: &impl ChunkReader,
    organizations: &records::Organizations,
    starts: &[String],
    first: usize,
    readers: usize,
    encode: bool,
    sender: &tokio::sync::mpsc::Sender<LoadedChunk<S::Encoded>>,
) {
    for chunk in (first..starts.len()).step_by(readers) {
        let end = starts.get(chunk + 1).map(String::as_str);
        let read = reader.read_chunk(organizations, &starts[chunk], end).await.map(|records| {
            let encoded = encode.then(|| S::encode(&records));
            (records, encoded)
        });
        let failed = read.is_err();
        if sender.send(read).await.is_err() || failed {
            return;
        }
    }
}

impl Directory {
    pub fn service(&self, id: &str) -> Option<&ServiceEntry> {
        self.slot_of(id).map(|idx| &self.services[idx as usize])
    }

    fn slot_of(&self, id: &str) -> Option<ServiceIdx> {
        self.slot_of_id(&RecordId::new(id))
    }

    fn slot_of_id(&self, id: &RecordId) -> Option<ServiceIdx> {
        if let Some(changed) = self.changed_ids.get(id) {
            return *changed;
        }
        if let Some(ids) = &self.base_ids_unsorted {
            return ids.get(id).copied();
        }
        let slot = crate::directory::text::partition_point(self.base_services, |slot| self.services[slot].id < *id);
        (slot < self.base_services && self.services[slot].id == *id).then_some(slot as ServiceIdx)
    }

    /// Whether enough has been patched in since the last full build that the next build should
    /// come now (it makes patches cheap again).
    pub fn wants_rebuild(&self) -> bool {
        self.services.len() - self.base_services > MAX_DELTA_SERVICES
    }

    /// Live places whose unit vector lies within `chord2` (squared chord) of `centre`'s: the
    /// base's from the R-tree, the patched ones by looking at each.
    pub(super) fn places_within(&self, centre: LatLon, chord2: f64) -> impl Iterator<Item = PlaceIdx> + '_ {
        let target = unit_vector(centre);
        let base = self.rtree.locate_within_distance(target, chord2).map(|point| point.data);
        let delta = self.delta_places_from(target).filter(move |(_, d2)| *d2 <= chord2).map(|(place, _)| place);
        base.chain(delta).filter(|place| self.places[*place as usize].live)
    }

    /// Live places nearest first from `centre`, with their squared chord distances.
    pub(super) fn nearest_places(&self, centre: LatLon) -> impl Iterator<Item = (PlaceIdx, f64)> + '_ {
        let mut delta: Vec<(PlaceIdx, f64)> = self.delta_places_from(unit_vector(centre)).collect();
        delta.sort_by(|a, b| a.1.total_cmp(&b.1));
        let mut delta = delta.into_iter().peekable();
        let mut base = self
            .rtree
            .nearest_neighbor_iter_with_distance_2(&unit_vector(centre))
            .map(|(point, d2)| (point.data, d2))
            .filter(|(place, _)| self.places[*place as usize].live)
            .peekable();
        std::iter::from_fn(move || match (base.peek(), delta.peek()) {
            (Some(b), Some(d)) if d.1 < b.1 => delta.next(),
            (Some(_), _) => base.next(),
            (None, _) => delta.next(),
        })
    }

    /// The live places patched in since the base, with their squared chord distance from `target`.
    fn delta_places_from(&self, target: [f64; 3]) -> impl Iterator<Item = (PlaceIdx, f64)> + '_ {
        (self.base_places..self.places.len()).filter_map(move |index| {
            let place = &self.places[index];
            place.live.then(|| {
                let v = unit_vector(place.point);
                let d2 = (v[0] - target[0]).powi(2) + (v[1] - target[1]).powi(2) + (v[2] - target[2]).powi(2);
                (index as PlaceIdx, d2)
            })
        })
    }

    /// The live services matching a text query, sorted; `None` when the query has no searchable
    /// term ([`TextIndex::search`]).
    pub(super) fn text_search(&self, query: &str) -> Option<Vec<ServiceIdx>> {
        let live = |slot: &ServiceIdx| self.services[*slot as usize].live;
        let mut found: Vec<ServiceIdx> = self.text.search(query)?.into_iter().filter(live).collect();
        // The delta's documents all come after the base's, so the result stays sorted.
        found.extend(self.text_delta.search(query).unwrap_or_default().into_iter().filter(live));
        Some(found)
    }

    /// [`Self::text_search`] among `scope` (sorted services) only: what a nearby search needs,
    /// at a cost that follows the services near the point rather than the text's matches across
    /// the country.
    pub(super) fn text_search_within(&self, query: &str, scope: &[ServiceIdx]) -> Option<Vec<ServiceIdx>> {
        let live = |slot: &ServiceIdx| self.services[*slot as usize].live;
        let split = scope.partition_point(|slot| (*slot as usize) < self.base_services);
        let (base, delta) = scope.split_at(split);
        let mut found: Vec<ServiceIdx> = self.text.search_within(query, base)?.into_iter().filter(live).collect();
        found.extend(self.text_delta.search_within(query, delta).unwrap_or_default().into_iter().filter(live));
        Some(found)
    }

    /// The hours that apply at a place.
    pub fn place_hours<'a>(&'a self, place: &'a Place) -> &'a OpeningHours {
        place.own_hours.as_deref().unwrap_or(&self.services[place.service as usize].hours)
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
        let places = entry.places().map(|place| self.place_hours(&self.places[place as usize]));
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

    /// Loads the read model from the database, streaming the services in chunks of
    /// [`LOAD_CHUNK`] (each chunk's facts are read by service id), so start-up never holds a whole
    /// table in memory.
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        Self::load_in_chunks(db, LOAD_CHUNK).await
    }

    /// [`Self::load`] reading `chunk` services at a time (tests read a small directory in many
    /// chunks).
    pub async fn load_in_chunks(db: &DatabaseConnection, chunk: u64) -> Result<Self, DbErr> {
        Self::load_from_database::<NoSink>(db, chunk, None).await
    }

    /// A build from the database, reading `chunk` services at a time, that also hands each
    /// chunk to `sink`.
    pub(super) async fn load_from_database<S: ChunkSink>(
        db: &DatabaseConnection,
        chunk: u64,
        sink: Option<&mut S>,
    ) -> Result<Self, DbErr> {
        // The build frees about as much as it keeps; give it back rather than hold it idle.
        let memory = crate::memory::build_memory();
        let directory = Self::empty(db).await?;
        // Chunk k is read by reader k mod the readers' count, ahead of indexing, which takes the chunks in
        // order (the base must be in id order); each reader's channel holds at most two chunks,
        // so memory stays bounded. Each reader also encodes its chunks for the sink, so that work
        // is spread over the readers too.
        let starts = Arc::new(chunk_starts(db, chunk.max(1)).await?);
        let encode = sink.is_some();
        // On an SQLite file the readers use their own connections on blocking threads
        // (`records::SqliteFile`: sqlx's per-row hand-off was most of the build); otherwise
        // sea-orm through the pool (`records::PoolReader`). The listed organisations are read
        // first, once, for every chunk.
        let file = records::sqlite_file_of(db);
        let organizations = Arc::new(match file.clone() {
            Some(path) => tokio::task::spawn_blocking(move || {
                let file = SqliteFile::open(&path)?;
                tokio::runtime::Handle::current().block_on(records::read_listed_organizations(&file))
            })
            .await
            .map_err(|e| DbErr::Custom(format!("directory load task failed: {e}")))??,
            None => records::read_listed_organizations(&Orm(db)).await?,
        });
        let mut receivers = Vec::new();
        let mut readers = Vec::new();
        let reader_count = if file.is_some() { LOAD_READERS } else { POOL_LOAD_READERS };
        for reader in 0..reader_count {
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            receivers.push(receiver);
            let starts = Arc::clone(&starts);
            let organizations = Arc::clone(&organizations);
            readers.push(match file.clone() {
                Some(path) => {
                    let build_end = memory.end();
                    tokio::task::spawn_blocking(move || {
                        let read = async {
                            match SqliteFile::open(&path) {
                                Ok(file) => {
                                    read_chunks::<S>(
                                        &file,
                                        &organizations,
                                        &starts,
                                        reader,
                                        reader_count,
                                        encode,
                                        &sender,
                                    )
                                    .await
                                }
                                Err(e) => {
                                    let _ = sender.send(Err(e)).await;
                                }
                            }
                        };
                        tokio::runtime::Handle::current().block_on(read);
                        // The build ends when every reader's channel has closed; then the records
                        // this thread read have all been indexed and freed.
                        drop(sender);
                        build_end.give_back();
                    })
                }
                None => {
                    let pool = PoolReader(db.clone());
                    tokio::spawn(async move {
                        read_chunks::<S>(&pool, &organizations, &starts, reader, reader_count, encode, &sender).await
                    })
                }
            });
        }
        let (directory, _records) = directory.assemble(receivers, sink).await?;
        memory.finish();
        for reader in readers {
            reader.await.map_err(|e| DbErr::Custom(format!("directory load task failed: {e}")))?;
        }
        Ok(directory)
    }

    /// Indexes the chunks of a full build as they come, in order (chunk k from `receivers[k mod
    /// n]`, until one ends), hands each chunk's encoding to `sink`, and makes the result the
    /// base. Returns the directory and how many records it read.
    pub(super) async fn assemble<S: ChunkSink>(
        mut self,
        mut receivers: Vec<tokio::sync::mpsc::Receiver<LoadedChunk<S::Encoded>>>,
        mut sink: Option<&mut S>,
    ) -> Result<(Self, u64), DbErr> {
        let mut interner = Interner::default();
        let mut read: u64 = 0;
        // The text index is built on a thread of its own, a chunk behind: it is half the work of
        // indexing (perf, docs/BENCHMARKS.md), and nothing else needs it until the build is done.
        let (text_sender, text_receiver) = std::sync::mpsc::sync_channel::<Vec<(ServiceIdx, String)>>(2);
        let text_builder = std::thread::Builder::new()
            .name("qiao-index-text".into())
            .spawn(move || {
                let mut text = TextIndex::default();
                for chunk in text_receiver {
                    for (slot, searchable) in chunk {
                        text.insert(slot, &searchable);
                    }
                }
                text.freeze();
                // What it froze from was this thread's own.
                crate::memory::give_back_freed_memory();
                text
            })
            .map_err(|e| DbErr::Custom(format!("cannot start indexing text: {e}")))?;
        let sources = receivers.len();
        for chunk in 0.. {
            let receiver = &mut receivers[chunk % sources];
            let Some(loaded) = receiver.recv().await else { break };
            let (records, encoded) = loaded?;
            if let (Some(sink), Some(encoded)) = (sink.as_deref_mut(), encoded) {
                sink.write(encoded, records.len());
            }
            read += records.len() as u64;
            let mut texts = Vec::with_capacity(records.len());
            for record in records {
                if let Some(slot) = self.put(&record, Some(&mut interner)) {
                    texts.push((slot, self.searchable_text(&self.services[slot as usize])));
                }
            }
            // Blocks (briefly) only when the text thread is two chunks behind.
            text_sender.send(texts).map_err(|_| DbErr::Custom("the text indexing thread stopped".into()))?;
        }
        drop(receivers);
        drop(text_sender);
        let text = text_builder.join().map_err(|_| DbErr::Custom("indexing text failed".into()))?;
        self.text = Arc::new(text);
        self.make_base();
        Ok((self, read))
    }

    /// Makes everything indexed so far the base: the R-tree and the id order (the text is
    /// frozen by its thread).
    fn make_base(&mut self) {
        self.rtree = Arc::new(RTree::bulk_load(
            self.places
                .iter()
                .enumerate()
                .filter(|(_, place)| place.live)
                .map(|(index, place)| GeomWithData::new(unit_vector(place.point), index as PlaceIdx))
                .collect(),
        ));
        self.base_services = self.services.len();
        self.base_places = self.places.len();
        let in_id_order = (1..self.base_services).all(|slot| self.services[slot - 1].id < self.services[slot].id);
        if !in_id_order {
            tracing::warn!("services did not load in id order; looking them up by a map instead");
            let ids = self.services.iter().enumerate().map(|(slot, s)| (s.id.clone(), slot as ServiceIdx));
            self.base_ids_unsorted = Some(Arc::new(ids.collect()));
        }
        self.text_delta = TextIndex::starting_at(self.base_services as DocId);
        // Vectors grown by doubling hold up to twice what they need; at a million services that
        // is hundreds of megabytes.
        self.services.shrink_to_fit();
        self.places.shrink_to_fit();
    }

    /// The taxonomy and the villages, without any service.
    pub(super) async fn empty(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let taxonomy = Taxonomy::build(
            taxonomy_term::Entity::find()
                .filter(taxonomy_term::Column::TaxonomyId.eq(taxonomy_ids::SERVICE_CATEGORY))
                .all(db)
                .await?,
        );
        let children_terms =
            Arc::new(CHILDREN_CATEGORY_CODES.iter().filter_map(|code| taxonomy.by_code(code)).collect());
        let mut villages = Vec::new();
        for row in urban_village::Entity::find().order_by_asc(urban_village::Column::Id).all(db).await? {
            let Some(boundary) = parse_polygon(&row.boundary) else {
                tracing::warn!(village = %row.id, "unreadable urban village boundary");
                continue;
            };
            villages.push(Village {
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
        Ok(Directory {
            taxonomy: Arc::new(taxonomy),
            children_terms,
            villages: Arc::new(villages),
            ..Default::default()
        })
    }

    fn intern_hours(&mut self, hours: OpeningHours) -> Arc<OpeningHours> {
        if let Some(shared) = self.hours_pool.get(&hours) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(hours);
        Arc::make_mut(&mut self.hours_pool).insert(Arc::clone(&shared));
        shared
    }

    /// Whether the base was built from a saved build (`super::snapshot`) rather than the database.
    pub fn from_saved_build(&self) -> bool {
        self.from_saved_build
    }

    /// Listed services in the index.
    pub fn service_count(&self) -> usize {
        self.live_services
    }

    /// Places in the index (of listed services).
    pub fn place_count(&self) -> usize {
        self.live_places
    }

    /// Brings the given services up to date: `records` holds the current state of each listed one
    /// ([`read_service_records`]); every other id in `ids` has left the directory. The cost
    /// depends on these services only (and on the length of the text postings they touch), not on
    /// the size of the directory.
    pub fn patch(&mut self, ids: &[String], records: &[Arc<ServiceRecord>]) {
        for id in ids {
            self.remove(id);
        }
        for record in records {
            self.put(record, None);
        }
    }

    /// Takes a service out of everything search reaches. Its slot stays (a tombstone: dead, no
    /// places, not in the id map or the area list; the base's text and R-tree still hold it and
    /// search skips it) until the next full rebuild.
    fn remove(&mut self, id: &str) {
        let id = RecordId::new(id);
        let Some(slot) = self.slot_of_id(&id) else { return };
        self.changed_ids.insert(id, None);
        let Some(entry) = self.services.get_mut(slot as usize) else { return };
        entry.live = false;
        let places = entry.places();
        entry.place_count = 0;
        self.live_services -= 1;
        for place in places {
            if let Some(entry) = self.places.get_mut(place as usize)
                && entry.live
            {
                entry.live = false;
                self.live_places -= 1;
            }
        }
        self.area_services.remove_service(slot);
        if slot as usize >= self.base_services {
            let text = self.searchable_text(&self.services[slot as usize]);
            self.text_delta.remove(slot, &text);
        }
    }

    /// Adds a service (in its current state) unless it is not to be listed, in a new slot;
    /// while loading (with the load's interner) into the base being built, otherwise into the delta.
    /// Adds a listed service (and its places) in a new slot, and returns the slot; `None` when
    /// the record is not listed. While loading (`interner` given) the caller indexes its text; a
    /// patch's goes into the delta's text index here.
    fn put(&mut self, record: &ServiceRecord, mut interner: Option<&mut Interner>) -> Option<ServiceIdx> {
        let loading = interner.is_some();
        let row = &record.service;
        if !(row.status.is_listed() && record.organization.is_some()) {
            return None;
        }
        let Some(category) = self.taxonomy.by_id.get(&row.category_term_id).copied() else {
            tracing::warn!(service = %row.id, "service has an unknown category; left out of search");
            return None;
        };
        let mut categories = vec![category];
        for term in record.extra_terms.iter().filter_map(|id| self.taxonomy.by_id.get(id)) {
            if !categories.contains(term) {
                categories.push(*term);
            }
        }
        let for_children = categories
            .iter()
            .any(|term| self.taxonomy.with_ancestors(*term).iter().any(|t| self.children_terms.contains(t)));
        let organization = record.organization.as_ref();
        let organization = Texts::new([
            organization.map(|o| o.name_zh.as_str()).unwrap_or_default(),
            organization.map(|o| o.name_en.as_str()).unwrap_or_default(),
        ]);
        let eligibility = ServiceEligibility { requirements: record.requirements.clone().into(), for_children };
        let slot = self.services.len() as ServiceIdx;
        let first_place = self.places.len() as PlaceIdx;
        let entry = ServiceEntry {
            id: RecordId::new(&row.id),
            names: Texts::new([&row.name_zh, &row.name_en]),
            organization: Interner::share(interner.as_deref_mut(), |i| &mut i.pairs, Arc::new(organization)),
            status: row.status,
            category,
            categories: Interner::share(interner.as_deref_mut(), |i| &mut i.categories, Arc::from(categories)),
            languages: Interner::share(
                interner.as_deref_mut(),
                |i| &mut i.languages,
                Arc::from(record.languages.as_slice()),
            ),
            is_free: rules::is_free(record.costs.iter().copied()),
            requires_local_hukou: rules::requires_local_hukou(record.requirements.iter().map(|r| r.kind)),
            eligibility: Interner::share(interner.as_deref_mut(), |i| &mut i.eligibility, Arc::new(eligibility)),
            capacity: record.capacity,
            hours: self.intern_hours(rules::service_hours(record.schedules.iter(), record.exceptions.iter())),
            first_place,
            place_count: 0,
            live: true,
        };
        if !loading {
            self.changed_ids.insert(entry.id.clone(), Some(slot));
        }
        self.services.push(entry);
        self.live_services += 1;

        for (link_id, location, address) in &record.places {
            let (Some(lat), Some(lon)) = (location.latitude, location.longitude) else { continue };
            let address_text = |field: fn(&AddressRow) -> &str| address.as_ref().map(field).unwrap_or_default();
            let area = Texts::new([
                address_text(|a| &a.district_zh),
                address_text(|a| &a.district_en),
                address_text(|a| &a.city_zh),
                address_text(|a| &a.city_en),
            ]);
            let place = Place {
                id: RecordId::new(link_id),
                service: slot,
                location_id: RecordId::new(&location.id),
                point: LatLon::new(lat, lon),
                texts: Texts::new([
                    &location.name_zh,
                    &location.name_en,
                    address_text(|a| &a.address_1_zh),
                    address_text(|a| &a.address_1_en),
                ]),
                area: Interner::share(interner.as_deref_mut(), |i| &mut i.quads, Arc::new(area)),
                adcode: address.as_ref().and_then(|a| district_code(&a.adcode)),
                own_hours: rules::own_place_hours(record.schedules.iter(), record.exceptions.iter(), link_id)
                    .map(|hours| self.intern_hours(hours)),
                live: true,
            };
            self.places.push(place);
            self.live_places += 1;
        }
        let place_count = self.places.len() as u32 - first_place;

        // Services without a place of their own are found through their service area.
        if place_count == 0 {
            for area in &record.areas {
                match parse_polygon(&area.extent) {
                    Some(polygon) => {
                        let districts = districts_covered_by(&polygon);
                        self.area_services.push(AreaService { service: slot, area: polygon, districts });
                    }
                    None => tracing::warn!(service_area = %area.id, "unreadable service area polygon"),
                }
            }
        }
        if let Some(entry) = self.services.get_mut(slot as usize) {
            entry.place_count = place_count;
        }
        if !loading {
            let text = self.searchable_text(&self.services[slot as usize]);
            self.text_delta.insert(slot, &text);
        }
        Some(slot)
    }

    /// Every listed service with everything the index holds of it, one line each, sorted by id:
    /// independent of slot numbers, so a patched index and a rebuilt one describe alike (the
    /// test that feed-applied equals rebuilt compares these).
    pub fn describe(&self) -> Vec<String> {
        let term = |t: TermIdx| self.taxonomy.terms[t].code.as_str();
        let mut lines: Vec<String> = self
            .services
            .iter()
            .enumerate()
            .filter(|(_, s)| s.live)
            .map(|(slot, s)| {
                let slot = &(slot as ServiceIdx);
                let places: Vec<String> = s
                    .places()
                    .map(|p| {
                        let p = &self.places[p as usize];
                        format!(
                            "{}@{}({:.6},{:.6}) {}/{} {}/{} {}/{} {}/{} {:?} {:?} live={}",
                            p.id,
                            p.location_id,
                            p.point.lat,
                            p.point.lon,
                            p.name_zh(),
                            p.name_en(),
                            p.street_zh(),
                            p.street_en(),
                            p.district_zh(),
                            p.district_en(),
                            p.city_zh(),
                            p.city_en(),
                            p.adcode,
                            p.own_hours,
                            p.live
                        )
                    })
                    .collect();
                let areas: Vec<String> = self
                    .area_services
                    .iter()
                    .filter(|a| a.service == *slot)
                    .map(|a| format!("{:?} {:?}", a.area, a.districts))
                    .collect();
                format!(
                    "{} {}/{} {}/{} {:?} {} {:?} {:?} free={} hukou={} {:?} {:?} {:?} places={places:?} areas={areas:?} text={:?}",
                    s.id,
                    s.name_zh(),
                    s.name_en(),
                    s.organization_name_zh(),
                    s.organization_name_en(),
                    s.status,
                    term(s.category),
                    s.categories.iter().map(|t| term(*t)).collect::<Vec<_>>(),
                    s.languages,
                    s.is_free,
                    s.requires_local_hukou,
                    s.eligibility,
                    s.capacity,
                    s.hours,
                    self.searchable_text(s),
                )
            })
            .collect();
        lines.sort();
        lines
    }

    /// Everything a text query can match for a service: names, organisation, categories (with
    /// their parents, so "教育" finds a school), in both languages.
    fn searchable_text(&self, service: &ServiceEntry) -> String {
        let mut text = format!(
            "{} {} {} {}",
            service.name_zh(),
            service.name_en(),
            service.organization_name_zh(),
            service.organization_name_en()
        );
        for category in service.categories.iter() {
            for term in self.taxonomy.with_ancestors(*category) {
                let term = &self.taxonomy.terms[term];
                text.push_str(&format!(" {} {}", term.name_zh, term.name_en));
            }
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_give_back_each_part() {
        let texts = Texts::new(["闵行区图书馆", "", "Minhang Library", "路"]);
        assert_eq!((0..5).map(|i| texts.get(i)).collect::<Vec<_>>(), ["闵行区图书馆", "", "Minhang Library", "路", ""]);
        assert_eq!(Texts::<2>::default().get(1), "");
    }

    #[test]
    fn index_entries_stay_small() {
        // A million services with a place each: every byte here is a megabyte twice over.
        assert!(std::mem::size_of::<ServiceEntry>() <= 128, "{}", std::mem::size_of::<ServiceEntry>());
        assert!(std::mem::size_of::<Place>() <= 128, "{}", std::mem::size_of::<Place>());
    }
}
