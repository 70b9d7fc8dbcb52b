//! Supply per urban village: the listed services by category within a 1 km and a 3 km walk of
//! the village's centre, how many are free, open in the evenings, open on Sundays, open to people
//! without a local hukou; and the gaps a rule set (kept as data, `gap-rules.json`) flags.
//!
//! Walking distance is estimated from the geodesic distance times [`WALKING_FACTOR`] (1.3):
//! streets do not run straight to where one is going. Studies of route directness (the "detour
//! index" or circuity, network distance over straight-line distance) find about 1.2 to 1.4 for
//! walking in cities; an urban village's lanes are dense but cut off by ring roads, rivers and
//! walled compounds, so the middle of that range is used. A 1 km walk (Shanghai's "15-minute
//! community life circle") is thus a place at most 769 m away as the crow flies; 3 km is 2,308 m.
//! The figures rest on listings, not on people, so they need no suppression.

use std::sync::OnceLock;

use qiao_schema::datum::LatLon;
use serde::Deserialize;

use crate::directory::geometry::covers;
use crate::directory::index::{Directory, PlaceIdx, ServiceIdx, TermIdx};
use crate::directory::rules;
use crate::directory::search::NearbyQuery;

/// Walking distance over geodesic distance (module documentation).
pub const WALKING_FACTOR: f64 = 1.3;
/// A 15-minute walk, in metres walked.
pub const NEAR_WALK_M: f64 = 1000.0;
/// The wider circle, in metres walked.
pub const REACH_WALK_M: f64 = 3000.0;
/// The evening starts at 18:00 (minutes after midnight): a place open after it on some weekday is
/// open in the evenings, when people who work long shifts can go.
pub const EVENING_STARTS: u16 = 18 * 60;

/// The estimated walking distance for a geodesic distance.
pub fn walking_m(geodesic_m: f64) -> f64 {
    geodesic_m * WALKING_FACTOR
}

/// What one service offers, as the counts see it.
#[derive(Debug, Clone, Copy, Default)]
struct Offer {
    free: bool,
    open_evenings: bool,
    open_sunday: bool,
    without_local_hukou: bool,
}

/// Counts of services within one walking distance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub services: u32,
    pub free: u32,
    pub open_evenings: u32,
    pub open_sunday: u32,
    pub without_local_hukou: u32,
}

impl Counts {
    fn add(&mut self, offer: Offer) {
        self.services += 1;
        self.free += u32::from(offer.free);
        self.open_evenings += u32::from(offer.open_evenings);
        self.open_sunday += u32::from(offer.open_sunday);
        self.without_local_hukou += u32::from(offer.without_local_hukou);
    }

    fn meeting(&self, requirement: Requirement) -> u32 {
        match requirement {
            Requirement::Listed => self.services,
            Requirement::Free => self.free,
            Requirement::OpenEvenings => self.open_evenings,
            Requirement::OpenSunday => self.open_sunday,
            Requirement::WithoutLocalHukou => self.without_local_hukou,
        }
    }
}

/// One category's supply (a category counts the services of its sub-categories too).
#[derive(Debug, Clone)]
pub struct CategorySupply {
    pub term: TermIdx,
    /// Within a 1 km walk.
    pub near: Counts,
    /// Within a 3 km walk.
    pub reach: Counts,
    /// Services with no place of their own whose service area covers the village's centre (a
    /// hotline): reachable, but not on foot.
    pub serving_area: u32,
}

/// A service near the village, at its nearest place.
#[derive(Debug, Clone)]
pub struct NearbyPlace {
    pub place: PlaceIdx,
    pub walking_m: f64,
}

/// A village's supply.
#[derive(Debug, Clone)]
pub struct VillageSupply {
    /// Every category, in the taxonomy's order (parents before their children).
    pub categories: Vec<CategorySupply>,
    /// Every service within the 3 km walk at its nearest place, nearest first.
    pub places: Vec<NearbyPlace>,
    /// The rules that flag a gap here.
    pub gaps: Vec<&'static GapRule>,
}

/// What a gap rule asks of at least one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Requirement {
    Listed,
    Free,
    OpenEvenings,
    OpenSunday,
    WithoutLocalHukou,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GapText {
    pub zh: String,
    pub en: String,
}

/// One rule of the gap rule set: it flags a gap when no service of `category` (any when `None`)
/// within `within_walk_m` meets `require`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapRule {
    pub code: String,
    pub category: Option<String>,
    pub within_walk_m: f64,
    pub require: Requirement,
    pub text: GapText,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GapRuleFile {
    #[allow(dead_code)] // documentation for whoever edits the file
    about: String,
    rules: Vec<GapRule>,
}

/// The gap rule set shipped in `gap-rules.json`, read once.
pub fn gap_rules() -> &'static [GapRule] {
    static RULES: OnceLock<Vec<GapRule>> = OnceLock::new();
    RULES.get_or_init(|| match parse_gap_rules(include_str!("gap-rules.json")) {
        Ok(rules) => rules,
        Err(error) => {
            // Not reached with the shipped file (a unit test reads it); a broken edit flags nothing.
            tracing::error!(%error, "the gap rules do not parse; no gaps are flagged");
            Vec::new()
        }
    })
}

/// Parses and checks a gap rule set: distances 1 m to 3 km (the farthest the counts look), codes
/// unique.
pub fn parse_gap_rules(text: &str) -> Result<Vec<GapRule>, String> {
    let file: GapRuleFile = serde_json::from_str(text).map_err(|error| error.to_string())?;
    for (index, rule) in file.rules.iter().enumerate() {
        if !(1.0..=REACH_WALK_M).contains(&rule.within_walk_m) {
            return Err(format!("rule {}: within_walk_m must be 1 to {REACH_WALK_M}", rule.code));
        }
        if file.rules[..index].iter().any(|other| other.code == rule.code) {
            return Err(format!("rule {}: code used twice", rule.code));
        }
    }
    Ok(file.rules)
}

/// The supply around a village's centre (`village` indexes `directory.villages`).
pub fn village_supply(directory: &Directory, village: usize, rules: &'static [GapRule]) -> VillageSupply {
    let centre = directory.villages[village].centroid;
    let places = services_within(directory, centre, REACH_WALK_M);
    let terms = directory.taxonomy.terms.len();
    let mut categories: Vec<CategorySupply> = (0..terms)
        .map(|term| CategorySupply { term, near: Counts::default(), reach: Counts::default(), serving_area: 0 })
        .collect();
    // Per rule: how many services within its distance meet it.
    let mut rule_hits = vec![0u32; rules.len()];
    let rule_terms: Vec<Option<Option<TermIdx>>> = rules
        .iter()
        .map(|rule| match &rule.category {
            None => Some(None),
            Some(code) => directory.taxonomy.by_code(code).map(Some),
        })
        .collect();
    for nearby in &places {
        let service = directory.places[nearby.place as usize].service;
        let offer = offer_at(directory, service, nearby.place);
        let under = terms_under(directory, service);
        for term in &under {
            categories[*term].reach.add(offer);
            if nearby.walking_m <= NEAR_WALK_M {
                categories[*term].near.add(offer);
            }
        }
        for (index, rule) in rules.iter().enumerate() {
            let in_category = match rule_terms[index] {
                Some(None) => true,
                Some(Some(term)) => under.contains(&term),
                None => false,
            };
            let mut one = Counts::default();
            one.add(offer);
            if in_category && nearby.walking_m <= rule.within_walk_m && one.meeting(rule.require) > 0 {
                rule_hits[index] += 1;
            }
        }
    }
    for area in &directory.area_services {
        if covers(&area.area, centre) {
            for term in terms_under(directory, area.service) {
                categories[term].serving_area += 1;
            }
        }
    }
    // A rule naming a category the taxonomy does not have flags nothing (it cannot be judged).
    let gaps = rules
        .iter()
        .enumerate()
        .filter(|(index, _)| rule_terms[*index].is_some() && rule_hits[*index] == 0)
        .map(|(_, rule)| rule)
        .collect();
    let categories = categories_in_tree_order(directory).into_iter().map(|term| categories[term].clone()).collect();
    VillageSupply { categories, places, gaps }
}

/// Every listed service with a place within `walk_m` of `centre`, at its nearest place, nearest
/// first: the search's own radius query (one result per service, archived places left out).
fn services_within(directory: &Directory, centre: LatLon, walk_m: f64) -> Vec<NearbyPlace> {
    let result = directory.nearby(&NearbyQuery {
        centre,
        radius_m: walk_m / WALKING_FACTOR,
        categories: None,
        text: None,
        open_now: false,
        languages: Vec::new(),
        free_only: false,
        eligible_without_local_hukou: false,
        situation: None,
        first: directory.places.len().max(1),
        after: None,
        now: chrono::DateTime::UNIX_EPOCH,
    });
    result.hits.iter().map(|hit| NearbyPlace { place: hit.place, walking_m: walking_m(hit.distance_m) }).collect()
}

/// The categories a service counts under: each of its categories and their ancestors.
fn terms_under(directory: &Directory, service: ServiceIdx) -> Vec<TermIdx> {
    let mut terms: Vec<TermIdx> = directory.services[service as usize]
        .categories
        .iter()
        .flat_map(|term| directory.taxonomy.with_ancestors(*term))
        .collect();
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// What a service offers at a place: its usual weekly hours there (a temporarily closed service
/// is open at no hour), its cost and its requirements.
fn offer_at(directory: &Directory, service: ServiceIdx, place: PlaceIdx) -> Offer {
    let entry = &directory.services[service as usize];
    let hours = directory.place_hours(&directory.places[place as usize]);
    let may_open = rules::may_open(entry.status);
    Offer {
        free: entry.is_free,
        open_evenings: may_open
            && (0..7).any(|day| hours.weekly_on(day).iter().any(|interval| interval.closes > EVENING_STARTS)),
        open_sunday: may_open && !hours.weekly_on(6).is_empty(),
        without_local_hukou: !entry.requires_local_hukou,
    }
}

/// The categories in tree order: each top-level category (by display order) followed by its
/// children.
pub fn categories_in_tree_order(directory: &Directory) -> Vec<TermIdx> {
    let taxonomy = &directory.taxonomy;
    let mut out = Vec::with_capacity(taxonomy.terms.len());
    fn visit(taxonomy: &crate::directory::index::Taxonomy, term: TermIdx, out: &mut Vec<TermIdx>) {
        if out.contains(&term) {
            return; // a cycle in hand-edited data
        }
        out.push(term);
        for child in &taxonomy.terms[term].children {
            visit(taxonomy, *child, out);
        }
    }
    for root in taxonomy.roots() {
        visit(taxonomy, root, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_gap_rules_parse_and_name_known_categories() {
        let rules = parse_gap_rules(include_str!("gap-rules.json")).expect("gap-rules.json parses");
        assert!(rules.len() >= 3);
        let taxonomy = qiao_seed::files::taxonomy().expect("taxonomy.json parses");
        for rule in &rules {
            if let Some(code) = &rule.category {
                assert!(taxonomy.categories.iter().any(|c| &c.code == code), "unknown category {code}");
            }
            assert!(!rule.text.zh.is_empty() && !rule.text.en.is_empty());
        }
    }

    #[test]
    fn a_rule_set_with_a_repeated_code_or_a_far_distance_is_refused() {
        let rule = |code: &str, m: f64| {
            format!(
                r#"{{"code":"{code}","category":null,"within_walk_m":{m},"require":"listed","text":{{"zh":"x","en":"x"}}}}"#
            )
        };
        let file = |rules: &[String]| format!(r#"{{"about":"","rules":[{}]}}"#, rules.join(","));
        assert!(parse_gap_rules(&file(&[rule("a", 500.0)])).is_ok());
        assert!(parse_gap_rules(&file(&[rule("a", 500.0), rule("a", 800.0)])).is_err());
        assert!(parse_gap_rules(&file(&[rule("a", 5000.0)])).is_err());
    }

    #[test]
    fn a_15_minute_walk_is_769_metres_as_the_crow_flies() {
        assert_eq!((NEAR_WALK_M / WALKING_FACTOR).round(), 769.0);
        assert_eq!((REACH_WALK_M / WALKING_FACTOR).round(), 2308.0);
    }
}
