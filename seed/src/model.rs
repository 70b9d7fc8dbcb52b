//! The shape of the seed data files in `seed/data/`.
//!
//! Seed files are written by people, so the format favours readability: every entity has a
//! stable human `key` (ids are derived from it, which makes loading idempotent), bilingual text is
//! `{ "zh": "…", "en": "…" }`, and unknown fields are rejected so that a typo fails loudly instead
//! of silently dropping data.

use chrono::NaiveDate;
pub use qiao_schema::domain::{CapacityStatus, DeliveryMode, InterventionLevel, ServiceStatus, SupportFunction};
use serde::Deserialize;

/// Bilingual text: simplified Chinese (zh-CN) and English.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

/// A WGS-84 point.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub lat: f64,
    pub lon: f64,
}

/// `seed/data/taxonomy.json`: the service categories, a tree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyFile {
    pub categories: Vec<Category>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Stable code, e.g. `LEGAL_AID`; the GraphQL `ServiceCategory` enum has the same values.
    pub code: String,
    pub parent: Option<String>,
    pub name: Text,
    /// One plain-language line for readers with little schooling.
    pub description: Text,
    /// Icon name the app maps to a glyph.
    pub icon: String,
}

/// `seed/data/holidays.json`: public holidays on which services marked
/// `closed_on_public_holidays` are closed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HolidayFile {
    pub about: String,
    pub holidays: Vec<Holiday>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: Text,
}

/// One file of directory data (a city or an area), e.g. `seed/data/shanghai.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    /// Where the facts come from and which are illustrative.
    pub about: String,
    #[serde(default)]
    pub urban_villages: Vec<UrbanVillage>,
    pub organizations: Vec<Organization>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UrbanVillage {
    pub key: String,
    pub name: Text,
    pub city: Text,
    pub district: Text,
    /// Six-digit district adcode, e.g. `310112` for 闵行区.
    pub adcode: String,
    pub centroid: Point,
    /// Boundary ring, WGS-84, as `[lon, lat]` pairs (GeoJSON order). Closing the ring is optional.
    pub boundary: Vec<[f64; 2]>,
    pub population: Option<i32>,
    pub description: Option<Text>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    pub key: String,
    pub name: Text,
    pub description: Text,
    pub website: Option<String>,
    pub email: Option<String>,
    /// e.g. "government agency", "social organisation (民办非企业单位)".
    pub legal_status: Option<String>,
    /// Unified social credit code (统一社会信用代码), when public.
    pub uscc: Option<String>,
    #[serde(default)]
    pub programs: Vec<Program>,
    #[serde(default)]
    pub locations: Vec<Location>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub key: String,
    pub name: Text,
    pub description: Option<Text>,
    /// Funders and providers in words, e.g. "上海市民政局 / 社工 / 志愿者".
    pub funders: Text,
    pub delivery_mode: DeliveryMode,
    pub since_year: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub key: String,
    pub name: Text,
    /// WGS-84.
    pub lat: f64,
    pub lon: f64,
    pub address: Address,
    pub transportation: Option<Text>,
    pub accessibility: Option<Text>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub street: Text,
    pub district: Text,
    pub city: Text,
    pub adcode: String,
    pub postal_code: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub key: String,
    pub name: Text,
    pub description: Text,
    /// Primary category code from taxonomy.json.
    pub category: String,
    #[serde(default)]
    pub extra_categories: Vec<String>,
    /// Key of a programme of the same organisation.
    pub program: Option<String>,
    #[serde(default)]
    pub status: ServiceStatus,
    pub application_process: Option<Text>,
    pub fees_description: Option<Text>,
    pub eligibility_description: Option<Text>,
    pub alert: Option<Text>,
    /// Last verified.
    pub assured_date: NaiveDate,
    pub assured_by: Option<String>,
    #[serde(default)]
    pub support_functions: Vec<SupportFunction>,
    #[serde(default)]
    pub intervention_levels: Vec<InterventionLevel>,
    /// Keys of this organisation's locations where the service is delivered. Empty for a service
    /// with no physical place (hotline, online): it then needs a `service_area`.
    #[serde(default)]
    pub locations: Vec<String>,
    /// Weekly opening hours (Asia/Shanghai).
    #[serde(default)]
    pub hours: Vec<Hours>,
    #[serde(default)]
    pub closed_on_public_holidays: bool,
    #[serde(default)]
    pub exceptions: Vec<ScheduleException>,
    #[serde(default)]
    pub phones: Vec<Phone>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// BCP-47 language codes: "zh", "en", "yue" (Cantonese), "wuu" (Shanghainese), …
    pub languages: Vec<String>,
    pub costs: Vec<Cost>,
    #[serde(default)]
    pub eligibility: Vec<Requirement>,
    /// Documents to bring.
    #[serde(default)]
    pub documents: Vec<Text>,
    pub capacity: Option<Capacity>,
    pub service_area: Option<ServiceArea>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// iCal weekday codes: MO TU WE TH FR SA SU.
    pub days: Vec<String>,
    /// "HH:MM", local time.
    pub opens: String,
    pub closes: String,
}

/// A dated exception: closed all day, or open with special hours.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleException {
    pub date: NaiveDate,
    pub closed: bool,
    pub opens: Option<String>,
    pub closes: Option<String>,
    pub reason: Text,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phone {
    pub number: String,
    /// "voice", "hotline", "fax", "text".
    pub kind: String,
    pub description: Option<Text>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub name: Text,
    pub title: Option<Text>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub option: Text,
    /// In yuan; 0 means free.
    pub amount_yuan: f64,
}

/// A structured eligibility requirement.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// Any hukou (household registration), local or not.
    HukouAnywhere,
    /// A hukou of this city.
    LocalHukou,
    ResidencePermit,
    SocialInsuranceMonths {
        months: i32,
    },
    LabourContract,
    RegisteredLease,
    AgeRange {
        min: Option<i32>,
        max: Option<i32>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub status: CapacityStatus,
    pub as_of: NaiveDate,
    pub note: Option<Text>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceArea {
    pub name: Text,
    /// WGS-84 ring as `[lon, lat]` pairs.
    pub polygon: Vec<[f64; 2]>,
}
