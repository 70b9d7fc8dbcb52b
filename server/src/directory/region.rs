//! Services in an administrative region (a county, a prefecture city or a province, by its
//! six-digit adcode), for families who move back to their hometown and need its school
//! enrolment office, employment service or legal aid without a point to search from.
//!
//! How a service belongs to a region:
//! - a service with places belongs to the district of each place's address adcode;
//! - a service with no place (a hotline) belongs to every county-level district whose centre
//!   its service area covers: that is where it serves people. Its organisation's address would
//!   say only where the office sits (often a provincial capital, or nowhere at all).
//!
//! A region's code says its level: `520524` is one county, `520500` (ending in `00`) the whole
//! prefecture city (every `5205xx`), `520000` (ending in `0000`) the whole province (`52xxxx`).
//! Served from the in-memory index; the order is fixed (category in the tree's order, then name,
//! then id), so the list pages by position.

use super::index::{Directory, DistrictCode, PlaceIdx, ServiceIdx, TermIdx, district_code};
use crate::language::Language;
use crate::values::Adcode;

/// An administrative region: a county-level district, a prefecture city or a province.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// One county-level district (县, 区, 县级市): its adcode.
    District(DistrictCode),
    /// A prefecture city (地级市, 自治州): the first four digits of its adcode.
    City(DistrictCode),
    /// A province or a city at provincial level (Shanghai): the first two digits.
    Province(DistrictCode),
}

impl Region {
    /// The region an adcode names: trailing `0000` a province, trailing `00` a city, else one
    /// district.
    pub fn of(adcode: &Adcode) -> Self {
        // A parsed Adcode is six ASCII digits, so this never falls back.
        let code = district_code(adcode.as_str()).unwrap_or_default();
        if code.is_multiple_of(10_000) {
            Self::Province(code / 10_000)
        } else if code.is_multiple_of(100) {
            Self::City(code / 100)
        } else {
            Self::District(code)
        }
    }

    /// Whether the district `code` lies in this region.
    pub fn contains(self, code: DistrictCode) -> bool {
        match self {
            Self::District(district) => code == district,
            Self::City(prefix) => code / 100 == prefix,
            Self::Province(prefix) => code / 10_000 == prefix,
        }
    }
}

/// A checked `servicesInRegion` query.
#[derive(Debug, Clone)]
pub struct RegionQuery {
    pub region: Region,
    /// Allowed categories, already expanded to their descendants; `None` allows all.
    pub categories: Option<Vec<TermIdx>>,
    /// Names sort in this language.
    pub language: Language,
}

/// A service found in a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionHit {
    pub service: ServiceIdx,
    /// Its first place inside the region; `None` for a service that serves an area.
    pub place: Option<PlaceIdx>,
}

impl Directory {
    /// Every listed service in the region, each once, ordered by category (in the category
    /// tree's order), then name in the query's language, then id.
    pub fn services_in_region(&self, query: &RegionQuery) -> Vec<RegionHit> {
        let allowed = query.categories.as_ref().map(|terms| {
            let mut allowed = vec![false; self.taxonomy.terms.len()];
            for term in terms {
                if let Some(slot) = allowed.get_mut(*term) {
                    *slot = true;
                }
            }
            allowed
        });
        let wanted = |service: ServiceIdx| {
            allowed.as_ref().is_none_or(|allowed| {
                self.services[service as usize].categories.iter().any(|term| allowed.get(*term) == Some(&true))
            })
        };

        let mut hits: Vec<RegionHit> = Vec::new();
        for (index, service) in self.services.iter().enumerate() {
            let index = index as ServiceIdx;
            if !wanted(index) {
                continue;
            }
            let place = service
                .places()
                .find(|place| self.places[*place as usize].adcode.is_some_and(|code| query.region.contains(code)));
            if place.is_some() {
                hits.push(RegionHit { service: index, place });
            }
        }
        for area in self.area_services.iter() {
            if wanted(area.service) && area.districts.iter().any(|code| query.region.contains(*code)) {
                hits.push(RegionHit { service: area.service, place: None });
            }
        }
        // A service with several areas is listed once.
        hits.sort_unstable_by_key(|hit| hit.service);
        hits.dedup_by_key(|hit| hit.service);

        let rank = self.category_ranks();
        hits.sort_by(|a, b| {
            let (a, b) = (&self.services[a.service as usize], &self.services[b.service as usize]);
            rank[a.category]
                .cmp(&rank[b.category])
                .then_with(|| {
                    query.language.pick(a.name_zh(), a.name_en()).cmp(query.language.pick(b.name_zh(), b.name_en()))
                })
                .then_with(|| a.id.cmp(&b.id))
        });
        hits
    }

    /// Each term's position in a depth-first walk of the category tree, so that a sub-category
    /// follows its parent (法律援助, 劳动争议, 教育, 学校, …) as the category screen shows them.
    fn category_ranks(&self) -> Vec<usize> {
        let terms = &self.taxonomy.terms;
        let mut rank = vec![usize::MAX; terms.len()];
        let mut next = 0;
        let mut stack: Vec<TermIdx> = self.taxonomy.roots().collect();
        stack.reverse();
        while let Some(term) = stack.pop() {
            if rank[term] != usize::MAX {
                continue; // a cycle in hand-edited data
            }
            rank[term] = next;
            next += 1;
            stack.extend(terms[term].children.iter().rev().copied());
        }
        rank
    }
}

#[cfg(test)]
mod tests {
    use geo::Polygon;

    use super::*;
    use crate::directory::index::districts_covered_by;
    use crate::values::Field;

    fn region(text: &str) -> Region {
        let adcode = Adcode::parse(Field::LocationAdcode, text).unwrap_or_else(|e| panic!("{e:?}"));
        Region::of(&adcode)
    }

    #[test]
    fn a_code_ending_in_zeros_names_a_city_or_a_province() {
        assert_eq!(region("520524"), Region::District(520_524));
        assert_eq!(region("520500"), Region::City(5205));
        assert_eq!(region("520000"), Region::Province(52));
        assert_eq!(region("310112"), Region::District(310_112));
    }

    #[test]
    fn a_region_contains_exactly_its_own_districts() {
        assert!(region("520524").contains(520_524));
        assert!(!region("520524").contains(520_525));
        assert!(region("520500").contains(520_524));
        assert!(!region("520500").contains(520_102));
        assert!(region("520100").contains(520_102));
        assert!(region("520000").contains(520_524));
        assert!(region("520000").contains(520_102));
        assert!(!region("520000").contains(310_112));
    }

    #[test]
    fn only_six_digit_texts_are_district_codes() {
        assert_eq!(district_code("520524"), Some(520_524));
        for text in ["", "52052", "5205240", "52052a", "+52052", " 52052"] {
            assert_eq!(district_code(text), None, "{text:?}");
        }
    }

    #[test]
    fn an_area_around_a_county_seat_covers_that_county() {
        // A square of about 11 km around Zhijin county's centre (织金县, 520524).
        let ring = vec![(105.72, 26.62), (105.82, 26.62), (105.82, 26.72), (105.72, 26.72), (105.72, 26.62)];
        let area = Polygon::new(geo::LineString::from(ring), Vec::new());
        let covered = districts_covered_by(&area);
        assert!(covered.contains(&520_524), "{covered:?}");
        assert!(!covered.contains(&520_102));
    }
}
