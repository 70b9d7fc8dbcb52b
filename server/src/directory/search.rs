//! Nearby search: services at places within a radius, nearest first, one result per service (at
//! its nearest matching place), paginated by an opaque cursor.
//!
//! Results are ordered by `(distance in millimetres, place id)`; the cursor is the key of the last
//! result, so pages never repeat or skip a result even when distances tie. Candidates come from
//! the R-tree, or, when a text query has already narrowed the services, from those services'
//! places directly.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use qiao_schema::datum::LatLon;

use super::eligibility::{self, Situation};
use super::geometry::{covering_chord_squared, covers, geodesic_distance_m, geodesic_lower_bound_m};
use super::index::{Directory, PlaceIdx, ServiceEntry, ServiceIdx, TermIdx};
use super::record_id::RecordId;
use crate::pagination::{self, List};

/// Largest radius a search may ask for, in metres (documented in the API).
pub const MAX_RADIUS_M: i32 = 50_000;
/// Most area-serving services returned with a search.
pub const MAX_AREA_SERVICES: usize = 20;
/// How far the "nearest match beyond the radius" looks (documented in the API): far enough to
/// offer "widen the search", near enough not to scan the country for a query nothing matches.
pub const NEAREST_MATCH_LIMIT_M: f64 = 200_000.0;
/// A text query whose matches have at most this many places is served by visiting those places;
/// broader ones ("法律" matches every legal service) by the radius query with text as a filter.
/// Each visit costs a geodesic distance (~1 µs) while a radius query touches only the places
/// near the point, so only a rare text wins (measured: docs/BENCHMARKS.md).
const TEXT_FIRST_MAX_PLACES: usize = 256;

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub distance_mm: u64,
    pub place_id: String,
}

impl Cursor {
    /// Opaque, in the cursor format shared by every list (`crate::pagination`).
    pub fn encode(&self) -> String {
        pagination::encode(List::NearbyServices, &format!("{}:{}", self.distance_mm, self.place_id))
    }

    /// `None` for anything that is not a cursor this server wrote for a search.
    pub fn decode(text: &str) -> Option<Self> {
        let payload = pagination::payload(List::NearbyServices, text)?;
        let (distance, place_id) = payload.split_once(':')?;
        if distance.is_empty() || !distance.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let distance_mm = distance.parse().ok()?;
        (!place_id.is_empty()).then(|| Self { distance_mm, place_id: place_id.to_owned() })
    }
}

/// A validated nearby query (the API layer checks ranges before building one).
#[derive(Debug, Clone)]
pub struct NearbyQuery {
    /// WGS-84.
    pub centre: LatLon,
    pub radius_m: f64,
    /// Allowed categories, already expanded to their descendants; `None` allows all.
    pub categories: Option<Vec<TermIdx>>,
    pub text: Option<String>,
    pub open_now: bool,
    /// BCP-47 codes; a service must offer one of them. Empty allows all.
    pub languages: Vec<String>,
    pub free_only: bool,
    pub eligible_without_local_hukou: bool,
    /// Keeps only services this situation does not rule out ([`eligibility::rules_out`]): a
    /// service it cannot decide ("maybe") stays.
    pub situation: Option<Situation>,
    pub first: usize,
    pub after: Option<Cursor>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub place: PlaceIdx,
    pub distance_m: f64,
    pub cursor: Cursor,
}

#[derive(Debug, Default)]
pub struct NearbyResult {
    pub hits: Vec<Hit>,
    pub has_next_page: bool,
    /// Services without a place whose service area covers the centre (first page only).
    pub area_services: Vec<ServiceIdx>,
    /// When the first page is empty: the distance to the nearest match beyond the radius.
    pub nearest_beyond_radius_m: Option<f64>,
}

/// The per-service and per-place tests of a query.
struct Filter<'a> {
    directory: &'a Directory,
    query: &'a NearbyQuery,
    allowed_terms: Option<Vec<bool>>,
    text_matches: Option<Vec<ServiceIdx>>,
}

impl<'a> Filter<'a> {
    fn new(directory: &'a Directory, query: &'a NearbyQuery) -> Self {
        let allowed_terms = query.categories.as_ref().map(|terms| {
            let mut allowed = vec![false; directory.taxonomy.terms.len()];
            for term in terms {
                if let Some(slot) = allowed.get_mut(*term) {
                    *slot = true;
                }
            }
            allowed
        });
        // Set by the search: matched near the point, or across the country beyond the radius.
        Self { directory, query, allowed_terms, text_matches: None }
    }

    fn accepts_service(&self, index: ServiceIdx, service: &ServiceEntry) -> bool {
        let query = self.query;
        if let Some(allowed) = &self.allowed_terms
            && !service.categories.iter().any(|term| allowed[*term])
        {
            return false;
        }
        if let Some(matches) = &self.text_matches
            && matches.binary_search(&index).is_err()
        {
            return false;
        }
        if query.free_only && !service.is_free {
            return false;
        }
        if query.eligible_without_local_hukou && service.requires_local_hukou {
            return false;
        }
        if let Some(situation) = &query.situation
            && eligibility::rules_out(&service.eligibility, situation)
        {
            return false;
        }
        if !query.languages.is_empty() && !service.languages.iter().any(|l| query.languages.contains(l)) {
            return false;
        }
        true
    }

    /// The services a text query matched, when they have few enough places to visit directly.
    fn narrow_text_matches(&self, directory: &Directory) -> Option<&[ServiceIdx]> {
        let services = self.text_matches.as_deref()?;
        let mut places = 0;
        for service in services {
            places += directory.services[*service as usize].places().len();
            if places > TEXT_FIRST_MAX_PLACES {
                return None;
            }
        }
        Some(services)
    }

    fn accepts_place(&self, place: PlaceIdx) -> bool {
        let service = self.directory.places[place as usize].service;
        self.accepts_service(service, &self.directory.services[service as usize])
            && (!self.query.open_now || self.directory.is_open_at_place(place, self.query.now))
    }
}

impl Directory {
    pub fn nearby(&self, query: &NearbyQuery) -> NearbyResult {
        let mut filter = Filter::new(self, query);
        let centre = query.centre;
        let chord2 = covering_chord_squared(query.radius_m);
        if let Some(text) = query.text.as_deref() {
            // The services near the point first, then the text among them: a text that matches
            // tens of thousands of services across the country (法律援助) then costs what the
            // services here cost, not what all its matches do (docs/BENCHMARKS.md).
            let mut near: Vec<ServiceIdx> =
                self.places_within(centre, chord2).map(|place| self.places[place as usize].service).collect();
            near.extend(self.area_services.iter().map(|area| area.service));
            near.sort_unstable();
            near.dedup();
            filter.text_matches = self.text_search_within(text, &near);
        }

        // The nearest matching place of every matching service within the radius, keyed by
        // (distance in mm, place): the place id is compared in place and copied only for the
        // page's results.
        let key = |distance_mm: u64, place: PlaceIdx| (distance_mm, &self.places[place as usize].id);
        let mut best: HashMap<ServiceIdx, (u64, PlaceIdx, f64)> = HashMap::new();
        let mut consider = |place: PlaceIdx| {
            if !filter.accepts_place(place) {
                return;
            }
            let entry = &self.places[place as usize];
            let distance_m = geodesic_distance_m(centre, entry.point);
            if distance_m > query.radius_m {
                return;
            }
            let distance_mm = (distance_m * 1000.0).round() as u64;
            match best.get(&entry.service) {
                Some((mm, existing, _)) if key(*mm, *existing) <= key(distance_mm, place) => {}
                _ => {
                    best.insert(entry.service, (distance_mm, place, distance_m));
                }
            }
        };
        match filter.narrow_text_matches(self) {
            // A text query names few services: visit their places instead of the whole radius.
            Some(services) => {
                for service in services {
                    for place in self.services[*service as usize].places() {
                        consider(place);
                    }
                }
            }
            None => {
                for place in self.places_within(centre, chord2) {
                    consider(place);
                }
            }
        }

        let after_key = query.after.as_ref().map(|after| (after.distance_mm, RecordId::new(&after.place_id)));
        let after = after_key.as_ref().map(|(distance_mm, place_id)| (*distance_mm, place_id));
        let mut found: Vec<(u64, PlaceIdx, f64)> =
            best.into_values().filter(|(mm, place, _)| after.is_none_or(|after| key(*mm, *place) > after)).collect();
        // Only the page and one more are needed in order.
        let wanted = query.first + 1;
        if found.len() > wanted {
            found.select_nth_unstable_by(wanted - 1, |a, b| key(a.0, a.1).cmp(&key(b.0, b.1)));
            found.truncate(wanted);
        }
        found.sort_by(|a, b| key(a.0, a.1).cmp(&key(b.0, b.1)));
        let has_next_page = found.len() > query.first;
        found.truncate(query.first);
        let hits: Vec<Hit> = found
            .into_iter()
            .map(|(distance_mm, place, distance_m)| Hit {
                place,
                distance_m,
                cursor: Cursor { distance_mm, place_id: self.places[place as usize].id.to_string() },
            })
            .collect();

        let first_page = query.after.is_none();
        let area_services = if first_page { self.area_services_at(&filter) } else { Vec::new() };
        let nearest_beyond_radius_m = if first_page && hits.is_empty() {
            // Beyond the radius the text is matched across the country (rare: nothing matched here).
            filter.text_matches = query.text.as_deref().and_then(|text| self.text_search(text));
            self.nearest_match_distance(&filter)
        } else {
            None
        };
        NearbyResult { hits, has_next_page, area_services, nearest_beyond_radius_m }
    }

    fn area_services_at(&self, filter: &Filter<'_>) -> Vec<ServiceIdx> {
        let query = filter.query;
        let mut found: Vec<ServiceIdx> = self
            .area_services
            .iter()
            .filter(|area| {
                let service = &self.services[area.service as usize];
                filter.accepts_service(area.service, service)
                    && (!query.open_now || self.is_service_open_at(area.service, query.now))
                    && covers(&area.area, query.centre)
            })
            .map(|area| area.service)
            .collect();
        // By id, not by slot: a patched index and a rebuilt one give the same list.
        found.sort_unstable_by(|a, b| self.services[*a as usize].id.cmp(&self.services[*b as usize].id));
        found.dedup();
        found.truncate(MAX_AREA_SERVICES);
        found
    }

    /// Distance to the nearest matching place within [`NEAREST_MATCH_LIMIT_M`], walking outwards
    /// from the centre and stopping once nothing unseen can be nearer than the best found.
    fn nearest_match_distance(&self, filter: &Filter<'_>) -> Option<f64> {
        let centre = filter.query.centre;
        let mut best: Option<f64> = None;
        if let Some(services) = filter.narrow_text_matches(self) {
            for service in services {
                for place in self.services[*service as usize].places() {
                    if filter.accepts_place(place) {
                        let d = geodesic_distance_m(centre, self.places[place as usize].point);
                        best = Some(best.map_or(d, |b: f64| b.min(d)));
                    }
                }
            }
            return best.filter(|d| *d <= NEAREST_MATCH_LIMIT_M);
        }
        for (place, chord2) in self.nearest_places(centre) {
            let lower_bound = geodesic_lower_bound_m(chord2);
            if lower_bound > NEAREST_MATCH_LIMIT_M || best.is_some_and(|b| lower_bound > b) {
                break;
            }
            if filter.accepts_place(place) {
                let d = geodesic_distance_m(centre, self.places[place as usize].point);
                best = Some(best.map_or(d, |b: f64| b.min(d)));
            }
        }
        best.filter(|d| *d <= NEAREST_MATCH_LIMIT_M)
    }

    /// Expands category terms to include their descendants.
    pub fn expand_categories(&self, terms: &[TermIdx]) -> Vec<TermIdx> {
        let mut all: Vec<TermIdx> = terms.iter().flat_map(|t| self.taxonomy.with_descendants(*t)).collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor { distance_mm: 1234, place_id: "a:b".into() };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::decode("not a cursor"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("n1:x:y")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("n0:1:y")), None);
    }
}
