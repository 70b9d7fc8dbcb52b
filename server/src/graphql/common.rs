//! Types shared across the API: the `Date` and `DateTime` scalars, page information, points
//! and datums, the caller's language, recorded changes, and the domain enums as GraphQL sees
//! them. Every resolver module may import this one; it imports none of them.

use async_graphql::{Enum, InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject, Value};
use chrono::{NaiveDate, Utc};
use qiao_schema::datum::{self, LatLon};

use crate::error::{ApiError, ApiResult};
pub use crate::language::{Language, RequestLanguage};
use crate::pagination::Page;
use crate::stewardship::reads::HistoryEntry;

/// A calendar date without a time zone, as an ISO 8601 string `YYYY-MM-DD` (e.g. `2026-11-30`).
/// Dates of opening hours and verification are dates in China Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, as an ISO 8601 string `YYYY-MM-DD` (e.g. `2026-11-30`).
/// Dates of opening hours and verification are dates in China Standard Time.
#[Scalar(name = "Date", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Self).map_err(|_| {
                InputValueError::custom("a Date is written YYYY-MM-DD, e.g. 2026-11-30 (日期格式为 YYYY-MM-DD)")
            }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Self(date)
    }
}

/// An instant, as an RFC 3339 string with its offset (e.g. `2026-11-30T09:30:00+00:00`).
/// The server writes UTC; it reads any offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, as an RFC 3339 string with its offset (e.g. `2026-11-30T09:30:00+00:00`).
/// The server writes UTC; it reads any offset.
#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => {
                chrono::DateTime::parse_from_rfc3339(text).map(|at| Self(at.with_timezone(&Utc))).map_err(|_| {
                    InputValueError::custom("a DateTime is RFC 3339, e.g. 2026-11-30T09:30:00Z (时间格式为 RFC 3339)")
                })
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339())
    }
}

impl From<chrono::DateTime<Utc>> for DateTime {
    fn from(at: chrono::DateTime<Utc>) -> Self {
        Self(at)
    }
}

/// Relay page information.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// Whether another page follows; pass `endCursor` as `after` to get it.
    pub has_next_page: bool,
    /// Cursor of the last edge of this page.
    pub end_cursor: Option<String>,
}

impl<T> From<&Page<T>> for PageInfo {
    fn from(page: &Page<T>) -> Self {
        Self { has_next_page: page.has_next_page, end_cursor: page.end_cursor() }
    }
}

/// A recorded change (HSDS metadata).
#[derive(SimpleObject, Clone)]
pub struct ChangeRecord {
    /// The field.
    pub field: String,
    /// Value before.
    pub previous_value: Option<String>,
    /// Value after.
    pub new_value: Option<String>,
    /// create, update, verify or archive.
    pub action: String,
    /// When.
    pub changed_at: DateTime,
    /// Who (display name; the account id when the account is gone).
    pub changed_by: String,
}

/// A page of change records.
#[derive(SimpleObject)]
pub struct ChangeRecordConnection {
    /// Changes of this page, newest first.
    pub nodes: Vec<ChangeRecord>,
    /// Pagination.
    pub page_info: PageInfo,
}

impl From<HistoryEntry> for ChangeRecord {
    fn from(entry: HistoryEntry) -> Self {
        Self {
            field: entry.field,
            previous_value: entry.previous_value,
            new_value: entry.new_value,
            action: entry.action,
            changed_at: entry.changed_at.into(),
            changed_by: entry.changed_by,
        }
    }
}
use crate::values::{CoordinateError, Coordinates};

/// Geodetic datum of a point. Phones give WGS-84 from GPS; Amap, Tencent maps and WeChat's map
/// component give GCJ-02; Baidu gives BD-09.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::datum::Datum")]
pub enum Datum {
    /// WGS-84 (GPS). What Qiao stores.
    #[default]
    #[graphql(name = "WGS84")]
    Wgs84,
    /// GCJ-02, the datum of Chinese map services (Amap, Tencent, WeChat maps).
    #[graphql(name = "GCJ02")]
    Gcj02,
    /// BD-09, Baidu Maps' datum.
    #[graphql(name = "BD09")]
    Bd09,
}

/// A point as the phone reports it.
#[derive(InputObject, Clone, Debug)]
pub struct GeoPointInput {
    /// Latitude in degrees, -90 to 90.
    pub lat: f64,
    /// Longitude in degrees, -180 to 180.
    pub lon: f64,
    /// Datum of `lat`/`lon`. Defaults to WGS84.
    #[graphql(default_with = "Some(Datum::Wgs84)")]
    pub datum: Option<Datum>,
}

impl GeoPointInput {
    /// The point in WGS-84, after checking its range. `field` names the argument in errors.
    pub fn to_wgs84(&self, field: &'static str) -> ApiResult<LatLon> {
        // The range is checked as sent, before the datum shift, so the message quotes the input.
        let point = Coordinates::new(self.lat, self.lon).map_err(|error| {
            let part = match error {
                CoordinateError::Latitude(_) => "lat",
                CoordinateError::Longitude(_) => "lon",
            };
            ApiError::bad_input(format!("{field}.{part}"), error.message(field))
        })?;
        let datum = self.datum.unwrap_or_default();
        Ok(datum::to_wgs84(point.lat_lon(), datum.into()))
    }
}

/// Converts a stored WGS-84 point for output.
pub fn output_point(point: LatLon, datum: Datum) -> LatLon {
    datum::from_wgs84(point, datum.into())
}

/// The language for a field: its `language` argument, else the request's.
pub fn language_of(ctx: &async_graphql::Context<'_>, argument: Option<Language>) -> Language {
    argument.unwrap_or_else(|| ctx.data_opt::<RequestLanguage>().map(|l| l.0).unwrap_or_default())
}

/// Status of a listing.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::ServiceStatus")]
pub enum ServiceStatus {
    /// Open for business.
    Active,
    /// Not currently offered (hidden from search).
    Inactive,
    /// Archived: no longer exists (hidden from search).
    Defunct,
    /// Temporarily closed: still listed, so people learn it is closed rather than find nothing.
    TemporarilyClosed,
}

/// Whether a service takes new people.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::CapacityStatus")]
pub enum CapacityStatus {
    /// Taking new people.
    Accepting,
    /// New people go on a waiting list.
    Waitlist,
    /// Not taking new people now.
    Full,
}

/// Social-support function of a service.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::SupportFunction")]
pub enum SupportFunction {
    /// Information and advice.
    Informational,
    /// Practical help: money, goods, services.
    Instrumental,
    /// Care, trust and empathy.
    Emotional,
    /// Company and belonging.
    Companionship,
}

/// Level at which a service intervenes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::InterventionLevel")]
pub enum InterventionLevel {
    /// Help given directly to a person or family.
    DirectSupport,
    /// People helping each other (mutual aid).
    SupportExchange,
    /// Building ties between people.
    SocialNetwork,
    /// Strengthening the community to act for itself.
    CommunityEmpowerment,
}

/// How a programme is funded and delivered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::DeliveryMode")]
pub enum DeliveryMode {
    /// Funded per project, renewed every one or two years.
    ProjectBased,
    /// A standing, regular service.
    RegularService,
    /// Held once or a few times a year.
    AnnualActivity,
    /// Run by a volunteer team.
    VolunteerTeam,
}

/// Kind of an eligibility requirement.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "qiao_schema::domain::EligibilityKind")]
pub enum EligibilityKind {
    /// Any hukou, local or not.
    HukouAnywhere,
    /// A hukou of this city.
    LocalHukou,
    /// This city's residence permit (居住证).
    ResidencePermit,
    /// Months of social insurance paid in this city (see `months`).
    SocialInsuranceMonths,
    /// A labour contract.
    LabourContract,
    /// A registered rental contract.
    RegisteredLease,
    /// An age range (see `minAge`, `maxAge`).
    AgeRange,
}
