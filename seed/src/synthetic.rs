//! A deterministic synthetic directory for tests and benchmarks: `count` services spread around
//! real district centroids (from `data/cn-admin-centroids-gcj02.csv`, converted GCJ-02 → WGS-84).
//!
//! The same `(count, seed)` always gives the same directory: a hand-rolled SplitMix64 keeps the
//! sequence independent of any crate's version.

use chrono::NaiveDate;
use qiao_schema::datum::{LatLon, gcj02_to_wgs84};
use qiao_schema::domain::Weekday::{self, Fr, Mo, Sa, Su, Th, Tu, We};

use crate::SeedError;
use crate::model::*;

/// Services per synthetic organisation.
const SERVICES_PER_ORGANIZATION: usize = 10;
/// Synthetic points fall within this many degrees (about 4 km) of their district's centroid.
const SPREAD_DEGREES: f64 = 0.04;

/// A real district: name and WGS-84 centroid.
#[derive(Debug, Clone)]
pub struct District {
    pub adcode: String,
    pub name: String,
    pub centroid: LatLon,
}

/// The county-level districts of the centroid file (provinces and prefecture cities left out).
pub fn districts() -> Result<Vec<District>, SeedError> {
    let mut districts = Vec::new();
    for (line_number, line) in crate::files::DISTRICT_CENTROIDS_GCJ02.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let [adcode, name, lon, lat] = fields[..] else {
            return Err(SeedError::invalid("cn-admin-centroids", format!("line {} malformed", line_number + 1)));
        };
        let adcode6 = adcode.get(..6).unwrap_or(adcode);
        if adcode6.ends_with("00") || lon.is_empty() || lat.is_empty() {
            continue; // a province, a prefecture city, or a "市辖区" placeholder without a centre
        }
        let (Ok(lon), Ok(lat)) = (lon.parse::<f64>(), lat.parse::<f64>()) else {
            return Err(SeedError::invalid(
                "cn-admin-centroids",
                format!("line {} has bad coordinates", line_number + 1),
            ));
        };
        districts.push(District {
            adcode: adcode6.to_owned(),
            name: name.to_owned(),
            centroid: gcj02_to_wgs84(LatLon::new(lat, lon)),
        });
    }
    Ok(districts)
}

/// SplitMix64: tiny, fast, and stable forever.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }
}

/// (code, zh, en) of the leaf categories synthetic services use.
const CATEGORIES: [(&str, &str, &str); 12] = [
    ("LEGAL_AID", "法律援助站", "Legal aid point"),
    ("LABOUR_DISPUTE", "劳动争议调解室", "Labour mediation room"),
    ("SCHOOL", "小学", "Primary school"),
    ("MIGRANT_CHILDREN_SCHOOL", "随迁子女学校", "Migrant children's school"),
    ("TUTORING", "课业辅导班", "Homework club"),
    ("LIBRARY", "社区图书室", "Community library"),
    ("HEALTH", "社区卫生服务站", "Community health station"),
    ("MATERNAL_HEALTH", "妇幼保健站", "Maternal and child health station"),
    ("EMPLOYMENT", "就业服务站", "Employment service point"),
    ("JOB_TRAINING", "技能培训点", "Skills training point"),
    ("VOLUNTEER_GROUP", "志愿者服务队", "Volunteer team"),
    ("SUPPORT_GROUP", "互助小组", "Support group"),
];

/// Weekly hour patterns: (days, opens, closes).
const HOURS: [(&[Weekday], &str, &str); 4] = [
    (&[Mo, Tu, We, Th, Fr], "09:00", "17:00"),
    (&[Mo, Tu, We, Th, Fr, Sa], "08:30", "20:00"),
    (&[Tu, We, Th, Fr, Sa, Su], "10:00", "21:00"),
    (&[Sa, Su], "14:00", "18:00"),
];

fn text(zh: impl Into<String>, en: impl Into<String>) -> Text {
    Text { zh: zh.into(), en: en.into() }
}

/// Generates a directory of `count` services. Keys are `syn-{seed}-…`, so synthetic data never
/// collides with the demo data and two seeds can coexist.
pub fn synthetic_directory(count: usize, seed: u64) -> Result<DirectoryFile, SeedError> {
    let mut generator = Synthetic::new(count, seed)?;
    Ok(generator.next_chunk(count).unwrap_or_else(|| generator.file(Vec::new())))
}

/// The synthetic directory of `count` services produced a chunk at a time, so that loading a
/// million services never holds them all in memory. The chunks together are exactly
/// [`synthetic_directory`]`(count, seed)`.
pub struct Synthetic {
    districts: Vec<District>,
    rng: SplitMix64,
    seed: u64,
    count: usize,
    next: usize,
    assured_date: NaiveDate,
}

impl Synthetic {
    pub fn new(count: usize, seed: u64) -> Result<Self, SeedError> {
        Ok(Self {
            districts: districts()?,
            rng: SplitMix64(seed),
            seed,
            count,
            next: 0,
            assured_date: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default(),
        })
    }

    fn file(&self, organizations: Vec<Organization>) -> DirectoryFile {
        let (count, seed) = (self.count, self.seed);
        DirectoryFile {
            about: format!("Synthetic directory: {count} services, seed {seed}. Not real places."),
            urban_villages: Vec::new(),
            organizations,
        }
    }

    /// The next services, about `at_most` of them (whole organisations: rounded up to
    /// [`SERVICES_PER_ORGANIZATION`]); `None` when all `count` have been produced.
    pub fn next_chunk(&mut self, at_most: usize) -> Option<DirectoryFile> {
        if self.next >= self.count {
            return None;
        }
        let per_org = SERVICES_PER_ORGANIZATION;
        let end = (self.next + at_most.max(1)).div_ceil(per_org).saturating_mul(per_org).min(self.count);
        let (districts, rng, seed, assured_date) = (&self.districts, &mut self.rng, self.seed, self.assured_date);
        let mut organizations: Vec<Organization> = Vec::new();
        for index in self.next..end {
            if index % SERVICES_PER_ORGANIZATION == 0 {
                let org_number = index / SERVICES_PER_ORGANIZATION;
                organizations.push(Organization {
                    key: format!("syn-{seed}-org-{org_number}"),
                    name: text(format!("合成机构{org_number}号"), format!("Synthetic organisation {org_number}")),
                    description: text("用于测试和性能基准的合成数据。", "Synthetic data for tests and benchmarks."),
                    website: None,
                    email: None,
                    legal_status: None,
                    uscc: None,
                    programs: Vec::new(),
                    locations: Vec::new(),
                    services: Vec::new(),
                });
            }
            let Some(org) = organizations.last_mut() else { continue };
            let district = &districts[rng.below(districts.len())];
            let lat = district.centroid.lat + (rng.unit() * 2.0 - 1.0) * SPREAD_DEGREES;
            let lon = district.centroid.lon + (rng.unit() * 2.0 - 1.0) * SPREAD_DEGREES;
            let (code, kind_zh, kind_en) = CATEGORIES[rng.below(CATEGORIES.len())];
            let (days, opens, closes) = HOURS[rng.below(HOURS.len())];
            let location_key = format!("syn-{seed}-loc-{index}");
            org.locations.push(Location {
                key: location_key.clone(),
                name: text(
                    format!("{}{kind_zh}{index}号", district.name),
                    format!("{kind_en} {index}, {}", district.adcode),
                ),
                lat,
                lon,
                address: Address {
                    street: text(format!("合成路{index}号"), format!("{index} Synthetic Road")),
                    district: text(district.name.clone(), district.adcode.clone()),
                    city: text("", ""),
                    adcode: district.adcode.clone(),
                    postal_code: None,
                },
                transportation: None,
                accessibility: None,
            });
            let mut languages = vec!["zh".to_owned()];
            if rng.chance(0.1) {
                languages.push("en".to_owned());
            }
            let amount_yuan = if rng.chance(0.8) { 0.0 } else { (1 + rng.below(50)) as f64 * 10.0 };
            let mut eligibility = vec![Requirement::HukouAnywhere];
            if rng.chance(0.1) {
                eligibility = vec![Requirement::LocalHukou];
            } else if rng.chance(0.2) {
                eligibility.push(Requirement::ResidencePermit);
            }
            let status = if rng.chance(0.03) { ServiceStatus::TemporarilyClosed } else { ServiceStatus::Active };
            org.services.push(Service {
                key: format!("syn-{seed}-svc-{index}"),
                name: text(format!("{}{kind_zh}{index}号", district.name), format!("{kind_en} {index}")),
                description: text(format!("合成{kind_zh}。"), format!("A synthetic {}.", kind_en.to_lowercase())),
                category: code.to_owned(),
                extra_categories: Vec::new(),
                program: None,
                status,
                application_process: None,
                fees_description: None,
                eligibility_description: None,
                alert: None,
                assured_date,
                assured_by: None,
                support_functions: vec![SupportFunction::Informational],
                intervention_levels: vec![InterventionLevel::DirectSupport],
                locations: vec![location_key],
                hours: vec![Hours {
                    days: days.iter().map(|d| d.code().to_owned()).collect(),
                    opens: opens.into(),
                    closes: closes.into(),
                }],
                closed_on_public_holidays: false,
                exceptions: Vec::new(),
                phones: vec![Phone {
                    number: format!("400-{:07}", index % 10_000_000),
                    kind: "voice".into(),
                    description: None,
                }],
                contacts: Vec::new(),
                languages,
                costs: vec![Cost { option: text("每次", "Per visit"), amount_yuan }],
                eligibility,
                documents: vec![text("身份证", "Resident ID card")],
                capacity: None,
                service_area: None,
            });
        }
        self.next = end;
        Some(self.file(organizations))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_directory() {
        let a = synthetic_directory(25, 7).map(|d| format!("{:?}", d.organizations)).ok();
        let b = synthetic_directory(25, 7).map(|d| format!("{:?}", d.organizations)).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn chunks_together_are_the_whole_directory() {
        let whole = synthetic_directory(45, 3).map(|d| format!("{:?}", d.organizations)).ok();
        let mut generator = Synthetic::new(45, 3).ok();
        let mut organizations = Vec::new();
        while let Some(chunk) = generator.as_mut().and_then(|g| g.next_chunk(7)) {
            organizations.extend(chunk.organizations);
        }
        assert_eq!(organizations.iter().map(|o| o.services.len()).sum::<usize>(), 45);
        assert_eq!(whole, Some(format!("{organizations:?}")));
    }

    #[test]
    fn districts_are_converted_to_wgs84() {
        let districts = districts().unwrap_or_default();
        let minhang = districts.iter().find(|d| d.adcode == "310112");
        let minhang = minhang.map(|d| d.centroid);
        // 闵行区 is at GCJ-02 about (31.1128, 121.3816); WGS-84 lies a few hundred metres away.
        assert!(minhang.is_some_and(|c| (c.lat - 31.11).abs() < 0.02 && (c.lon - 121.38).abs() < 0.02));
        assert!(districts.len() > 2500);
    }
}
