//! Inputs and enums shared across the API: points and datums, the caller's language, and the
//! domain enums as GraphQL sees them.

use async_graphql::{Enum, InputObject};
use qiao_schema::datum::{self, LatLon};

use crate::error::{ApiError, ApiResult};
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

/// Language of text in responses. Pick it per field with a `language` argument on the query,
/// or for the whole request with the `Accept-Language` header; Chinese is the default.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// Simplified Chinese (zh-CN).
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// The text in this language; English falls back to Chinese where a text has no English.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::En if !en.is_empty() => en,
            _ => zh,
        }
    }

    pub fn pick_opt(self, zh: Option<&str>, en: Option<&str>) -> Option<String> {
        match (zh, en) {
            (None, None) => None,
            (zh, en) => Some(self.pick(zh.unwrap_or_default(), en.unwrap_or_default()).to_owned()),
        }
    }

    /// The preferred language of an `Accept-Language` header: the highest-weighted of zh / en.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight =
                pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let language = if tag == "en" || tag.starts_with("en-") {
                Self::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Self::Zh
            } else {
                continue;
            };
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language).unwrap_or_default()
    }
}

/// The request's language, from `Accept-Language`, stored in the request's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLanguage(pub Language);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_weighted_of_chinese_and_english() {
        assert_eq!(Language::from_accept_language("en-US,en;q=0.9"), Language::En);
        assert_eq!(Language::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Language::Zh);
        assert_eq!(Language::from_accept_language("fr, en;q=0.5"), Language::En);
        assert_eq!(Language::from_accept_language("fr"), Language::Zh);
        assert_eq!(Language::from_accept_language(""), Language::Zh);
    }
}
