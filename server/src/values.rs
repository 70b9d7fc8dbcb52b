//! Validated domain values: parse, don't validate. Each rule about what a value may be (a
//! coordinate's range, a language code's form, a phone number as dialled in China, a website's
//! scheme, how long a text of some purpose may be) is written here once, as a type that can only
//! be built by parsing. GraphQL inputs, stewardship, the CSV import and the HSDS import all parse
//! through these types, so no layer keeps a copy of a rule.
//!
//! A value that fails names the *domain* field it was meant for ([`Field`], e.g. `cost.amount`)
//! and says what is wrong in English and Chinese ([`ValueError`]). Each way in maps a domain field
//! to its own names: the GraphQL layer to argument paths, the CSV import to column names.
//!
//! This module knows no layer above it: no GraphQL, no database, no request.

use std::fmt;

use qiao_schema::datum::{LatLon, is_valid_latitude, is_valid_longitude};
pub use qiao_schema::domain::Weekday;

/// A field of the domain a value belongs to, independent of how any input spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    OrganizationName,
    OrganizationDescription,
    OrganizationWebsite,
    OrganizationEmail,
    LocationName,
    LocationPoint,
    LocationStreet,
    LocationDistrict,
    LocationCity,
    LocationAdcode,
    LocationTransportation,
    ServiceName,
    ServiceDescription,
    ServiceCategory,
    ServiceLocations,
    ServiceLanguages,
    ServiceCosts,
    CostOption,
    CostAmount,
    ServiceDocuments,
    ServiceFeesDescription,
    ServiceApplicationProcess,
    ServiceEligibilityDescription,
    ServiceRequirements,
    ServiceCapacityNote,
    ServiceAlert,
    ServiceStatusReason,
    ServicePhone,
    /// The weekly hours as a whole (how many).
    Hours,
    HoursDays,
    HoursInterval,
    ExceptionInterval,
    ExceptionReason,
    SearchText,
    SearchLanguages,
    /// What a suggestion proposes (a street address, a phone number).
    SuggestionProposedValue,
    SuggestionComment,
    /// Why a steward rejected a suggestion.
    SuggestionDecisionReason,
    /// A situation's months with this city's residence permit (eligibility checks).
    SituationResidencePermitMonths,
    /// A situation's months of social insurance paid.
    SituationSocialInsuranceMonths,
    /// A situation's age of the person.
    SituationAge,
    /// A situation's age of the person's child.
    SituationChildAge,
    /// A referral's needs in the social worker's words.
    ReferralNeeds,
    /// Why a referral was rejected, cancelled, held or failed, in words.
    ReferralReason,
    /// A note added to a referral.
    ReferralNote,
    /// The provider's outcome of a referral, in words.
    ReferralOutcome,
    /// A client's display name or alias.
    ClientDisplayName,
    /// A client's phone number.
    ClientPhone,
    /// A client's preferred language or dialect.
    ClientPreferredLanguage,
    /// A social worker's notes on a client.
    ClientNotes,
    /// What a consent allows the data to be used for.
    ConsentPurpose,
    /// The calendar month an evidence report covers (`YYYY-MM`).
    ReportMonth,
}

impl Field {
    /// The field's domain name, e.g. `cost.amount`: stable, for logs and tests.
    pub const fn name(self) -> &'static str {
        match self {
            Self::OrganizationName => "organization.name",
            Self::OrganizationDescription => "organization.description",
            Self::OrganizationWebsite => "organization.website",
            Self::OrganizationEmail => "organization.email",
            Self::LocationName => "location.name",
            Self::LocationPoint => "location.point",
            Self::LocationStreet => "location.street",
            Self::LocationDistrict => "location.district",
            Self::LocationCity => "location.city",
            Self::LocationAdcode => "location.adcode",
            Self::LocationTransportation => "location.transportation",
            Self::ServiceName => "service.name",
            Self::ServiceDescription => "service.description",
            Self::ServiceCategory => "service.category",
            Self::ServiceLocations => "service.locations",
            Self::ServiceLanguages => "service.languages",
            Self::ServiceCosts => "service.costs",
            Self::CostOption => "cost.option",
            Self::CostAmount => "cost.amount",
            Self::ServiceDocuments => "service.documents",
            Self::ServiceFeesDescription => "service.fees_description",
            Self::ServiceApplicationProcess => "service.application_process",
            Self::ServiceEligibilityDescription => "service.eligibility_description",
            Self::ServiceRequirements => "service.requirements",
            Self::ServiceCapacityNote => "service.capacity_note",
            Self::ServiceAlert => "service.alert",
            Self::ServiceStatusReason => "service.status_reason",
            Self::ServicePhone => "service.phone",
            Self::Hours => "hours",
            Self::HoursDays => "hours.days",
            Self::HoursInterval => "hours.interval",
            Self::ExceptionInterval => "exception.interval",
            Self::ExceptionReason => "exception.reason",
            Self::SearchText => "search.text",
            Self::SearchLanguages => "search.languages",
            Self::SuggestionProposedValue => "suggestion.proposed_value",
            Self::SuggestionComment => "suggestion.comment",
            Self::SuggestionDecisionReason => "suggestion.decision_reason",
            Self::SituationResidencePermitMonths => "situation.residence_permit_months",
            Self::SituationSocialInsuranceMonths => "situation.social_insurance_months",
            Self::SituationAge => "situation.age",
            Self::SituationChildAge => "situation.child_age",
            Self::ReferralNeeds => "referral.needs",
            Self::ReferralReason => "referral.reason",
            Self::ReferralNote => "referral.note",
            Self::ReferralOutcome => "referral.outcome",
            Self::ClientDisplayName => "client.display_name",
            Self::ClientPhone => "client.phone",
            Self::ClientPreferredLanguage => "client.preferred_language",
            Self::ClientNotes => "client.notes",
            Self::ConsentPurpose => "consent.purpose",
            Self::ReportMonth => "report.month",
        }
    }

    /// How a message calls the field, in plain words.
    const fn label(self) -> &'static str {
        match self {
            Self::OrganizationName | Self::LocationName | Self::ServiceName => "name",
            Self::OrganizationDescription | Self::ServiceDescription => "description",
            Self::OrganizationWebsite => "website",
            Self::OrganizationEmail => "email",
            Self::LocationPoint => "point",
            Self::LocationStreet => "street",
            Self::LocationDistrict => "district",
            Self::LocationCity => "city",
            Self::LocationAdcode => "adcode",
            Self::LocationTransportation => "transportation",
            Self::ServiceCategory => "category",
            Self::ServiceLocations => "locations",
            Self::ServiceLanguages | Self::SearchLanguages => "languages",
            Self::ServiceCosts => "costs",
            Self::CostOption => "cost option",
            Self::CostAmount => "amount",
            Self::ServiceDocuments => "documents",
            Self::ServiceFeesDescription => "fees description",
            Self::ServiceApplicationProcess => "application process",
            Self::ServiceEligibilityDescription => "eligibility description",
            Self::ServiceRequirements => "requirements",
            Self::ServiceCapacityNote => "note",
            Self::ServiceAlert => "alert",
            Self::ServiceStatusReason => "reason",
            Self::ServicePhone => "phone",
            Self::Hours => "hours",
            Self::HoursDays => "days",
            Self::HoursInterval => "hours",
            Self::ExceptionInterval => "exception hours",
            Self::ExceptionReason => "exception reason",
            Self::SearchText => "text",
            Self::SuggestionProposedValue => "proposed value",
            Self::SuggestionComment => "comment",
            Self::SuggestionDecisionReason => "reason",
            Self::SituationResidencePermitMonths => "residence permit months",
            Self::SituationSocialInsuranceMonths => "social insurance months",
            Self::SituationAge => "age",
            Self::SituationChildAge => "child's age",
            Self::ReferralNeeds => "needs",
            Self::ReferralReason => "reason",
            Self::ReferralNote => "note",
            Self::ReferralOutcome => "outcome",
            Self::ClientDisplayName => "display name",
            Self::ClientPhone => "phone",
            Self::ClientPreferredLanguage => "preferred language",
            Self::ClientNotes => "notes",
            Self::ConsentPurpose => "purpose",
            Self::ReportMonth => "month",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value that is not valid for its field, with a message in English and Chinese.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueError {
    pub field: Field,
    pub message: String,
}

impl Field {
    /// Whether the field is one of a place's (location's).
    pub fn is_location(self) -> bool {
        matches!(
            self,
            Self::LocationName
                | Self::LocationPoint
                | Self::LocationStreet
                | Self::LocationDistrict
                | Self::LocationCity
                | Self::LocationAdcode
                | Self::LocationTransportation
        )
    }
}

impl ValueError {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

pub type ValueResult<T> = Result<T, ValueError>;

// ---------------------------------------------------------------------------------------------
// Texts

/// How long a text may be, by what it is for, in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextLimit {
    /// Names, streets, districts, cities, documents, cost options, exception reasons, and what
    /// a suggestion proposes (a street address or a phone number).
    Name,
    /// Descriptions, directions, alerts, notes and other free text.
    LongText,
    /// What a resident types into search.
    SearchText,
    /// A resident's comment on a suggestion: room to explain, far less than a description.
    SuggestionComment,
    /// A steward's reason for rejecting a suggestion.
    DecisionReason,
    /// A client's idempotency key (a UUID is 36).
    IdempotencyKey,
    /// What a consent is for: a sentence or two.
    ConsentPurpose,
}

impl TextLimit {
    pub const fn chars(self) -> usize {
        match self {
            Self::Name => 200,
            Self::LongText => 4000,
            Self::SearchText => 100,
            Self::SuggestionComment => 1000,
            Self::DecisionReason => 500,
            Self::IdempotencyKey => 64,
            Self::ConsentPurpose => 500,
        }
    }
}

/// A trimmed, non-empty text within its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedText(String);

impl BoundedText {
    /// The trimmed text; `None` when it is empty or longer than `limit`.
    fn new(text: &str, limit: TextLimit) -> Option<Self> {
        let text = text.trim();
        (!text.is_empty() && text.chars().count() <= limit.chars()).then(|| Self(text.to_owned()))
    }

    /// A text in one language.
    pub fn parse(field: Field, text: &str, limit: TextLimit) -> ValueResult<Self> {
        let max = limit.chars();
        Self::new(text, limit).ok_or_else(|| {
            let label = field.label();
            ValueError::new(field, format!("{label} needs 1 to {max} characters ({label} 须有 1 到 {max} 个字符)"))
        })
    }

    /// Optional text (search text, a suggestion's comment): blank reads as absent.
    pub fn parse_optional(field: Field, text: Option<&str>, limit: TextLimit) -> ValueResult<Option<Self>> {
        match text.map(str::trim).filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => {
                let max = limit.chars();
                let label = field.label();
                Self::new(text, limit).map(Some).ok_or_else(|| {
                    ValueError::new(
                        field,
                        format!("{label} must be at most {max} characters ({label} 最多 {max} 个字符)"),
                    )
                })
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A text in Chinese and English, both trimmed, non-empty and within their limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilingualText {
    pub zh: BoundedText,
    pub en: BoundedText,
}

impl BilingualText {
    pub fn parse(field: Field, zh: &str, en: &str, limit: TextLimit) -> ValueResult<Self> {
        match (BoundedText::new(zh, limit), BoundedText::new(en, limit)) {
            (Some(zh), Some(en)) => Ok(Self { zh, en }),
            _ => {
                let (label, max) = (field.label(), limit.chars());
                Err(ValueError::new(
                    field,
                    format!(
                        "{label} needs Chinese and English text of 1 to {max} characters ({label} 须有 1 到 {max} 个字符的中英文)"
                    ),
                ))
            }
        }
    }

    /// The two texts, Chinese first, for a `_zh` / `_en` column pair.
    pub fn into_pair(self) -> (String, String) {
        (self.zh.0, self.en.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Places

/// A WGS-84 point whose latitude is within ±90° and longitude within ±180°.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates(LatLon);

/// Which half of a point is out of range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CoordinateError {
    Latitude(f64),
    Longitude(f64),
}

impl CoordinateError {
    /// The message, naming the point as the input called it (e.g. `near`).
    pub fn message(self, name: &str) -> String {
        match self {
            Self::Latitude(lat) => {
                format!("{name}.lat must be between -90 and 90, got {lat} (纬度必须在 -90 到 90 之间)")
            }
            Self::Longitude(lon) => {
                format!("{name}.lon must be between -180 and 180, got {lon} (经度必须在 -180 到 180 之间)")
            }
        }
    }

    /// The error as a domain field's.
    pub fn in_field(self, field: Field) -> ValueError {
        ValueError::new(field, self.message(field.label()))
    }
}

impl Coordinates {
    /// Checks the ranges; NaN and infinities are out of every range.
    pub fn new(lat: f64, lon: f64) -> Result<Self, CoordinateError> {
        Ok(Self(LatLon::new(Self::latitude(lat)?, Self::longitude(lon)?)))
    }

    /// A latitude alone, -90 to 90 (for inputs that report each half of a point).
    pub fn latitude(lat: f64) -> Result<f64, CoordinateError> {
        if is_valid_latitude(lat) { Ok(lat) } else { Err(CoordinateError::Latitude(lat)) }
    }

    /// A longitude alone, -180 to 180.
    pub fn longitude(lon: f64) -> Result<f64, CoordinateError> {
        if is_valid_longitude(lon) { Ok(lon) } else { Err(CoordinateError::Longitude(lon)) }
    }

    /// A point for a domain field.
    pub fn parse(field: Field, point: LatLon) -> ValueResult<Self> {
        Self::new(point.lat, point.lon).map_err(|e| e.in_field(field))
    }

    pub fn lat_lon(self) -> LatLon {
        self.0
    }
}

/// A six-digit administrative division code (行政区划代码), e.g. 310112.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adcode(String);

impl Adcode {
    pub fn parse(field: Field, text: &str) -> ValueResult<Self> {
        let text = text.trim();
        if text.len() == 6 && text.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValueError::new(
                field,
                "adcode must be the six-digit district code, e.g. 310112 (行政区划代码须为六位数字)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as a number (`520524`): six digits always fit, and codes compare as numbers.
    pub fn number(&self) -> u32 {
        self.0.parse().unwrap_or_default()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Languages

/// A language code such as `zh`, `en`, `yue` or `zh-Hant`, stored lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

/// Most languages one service or one search names.
pub const MAX_LANGUAGES: usize = 10;

impl LanguageTag {
    /// The lower-cased code; `None` unless it is 1 to 16 letters, digits and hyphens.
    pub fn new(text: &str) -> Option<Self> {
        let code = text.trim().to_ascii_lowercase();
        let plausible =
            !code.is_empty() && code.len() <= 16 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        plausible.then_some(Self(code))
    }

    pub fn parse(field: Field, text: &str) -> ValueResult<Self> {
        Self::new(text).ok_or_else(|| {
            let label = field.label();
            ValueError::new(
                field,
                format!("{label}: {text:?} is not a language code like zh, en or yue (语言代码无效)"),
            )
        })
    }

    /// A list of at most [`MAX_LANGUAGES`] codes without repeats, in the order given; `at_least_one`
    /// for a service (which speaks something), not for a search filter.
    pub fn parse_list(field: Field, list: &[String], at_least_one: bool) -> ValueResult<Vec<Self>> {
        if list.len() > MAX_LANGUAGES || (at_least_one && list.is_empty()) {
            let least = usize::from(at_least_one);
            return Err(ValueError::new(
                field,
                format!(
                    "languages must be {least} to {MAX_LANGUAGES} codes like zh, en or yue \
                     (请填写 {least} 到 {MAX_LANGUAGES} 个语言代码)"
                ),
            ));
        }
        let mut out: Vec<Self> = Vec::new();
        for text in list {
            let tag = Self::parse(field, text)?;
            if !out.contains(&tag) {
                out.push(tag);
            }
        }
        Ok(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Money

/// An amount of renminbi in fen, from 0 to [`Money::MAX_YUAN`] yuan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money {
    fen: i64,
}

impl Money {
    /// The most a cost option may be, in yuan: above is a typing error.
    pub const MAX_YUAN: i64 = 10_000_000;
    const MAX_FEN: i64 = Self::MAX_YUAN * 100;

    fn out_of_range(field: Field) -> ValueError {
        let label = field.label();
        ValueError::new(field, format!("{label} must be between 0 and 10,000,000 yuan (金额超出范围)"))
    }

    /// A yuan amount as typed (`12.5`), rounded to the fen.
    pub fn from_yuan(field: Field, yuan: f64) -> ValueResult<Self> {
        if !yuan.is_finite() || !(0.0..=Self::MAX_YUAN as f64).contains(&yuan) {
            return Err(Self::out_of_range(field));
        }
        // In range, so the rounded product fits an i64 exactly.
        Ok(Self { fen: (yuan * 100.0).round() as i64 })
    }

    /// An amount already in fen (stored, or from a domain caller).
    pub fn from_fen(field: Field, fen: i64) -> ValueResult<Self> {
        if (0..=Self::MAX_FEN).contains(&fen) { Ok(Self { fen }) } else { Err(Self::out_of_range(field)) }
    }

    pub const fn fen(self) -> i64 {
        self.fen
    }

    pub const fn is_free(self) -> bool {
        self.fen == 0
    }
}

// ---------------------------------------------------------------------------------------------
// Phone numbers

/// A phone number as dialled in China, in one canonical form: mobile numbers as 11 digits
/// (`13912345678`), landlines as area code and number (`021-54861801`), and the public service
/// numbers (`12348`, `110`, `95588`, `4008208820`) as digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The canonical form; `None` when `text` is not a plausible number. Accepted: mobile numbers
    /// (`139 1234 5678`, `+86 139-1234-5678` → `13912345678`), landlines with their area code
    /// (`(021) 5486 1801` → `021-54861801`, `0851-86801234`), the public service numbers
    /// (`12348`, `110`), five-digit `95…` numbers and `400`/`800` numbers.
    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 30 {
            return None;
        }
        if !text.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '+')) {
            return None;
        }
        let international = text.starts_with('+');
        let mut digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if international {
            digits = digits.strip_prefix("86")?.to_owned();
        } else if digits.len() == 13 && digits.starts_with("861") {
            digits = digits[2..].to_owned();
        }
        if is_mobile(&digits) {
            return Some(Self(digits));
        }
        // A landline keeps its trunk 0: "+86 21 5486 1801" is dialled 021-54861801 at home.
        if international && !digits.starts_with('0') {
            digits.insert(0, '0');
        }
        if digits.starts_with('0') {
            // Beijing (010) and the 02x cities have two-digit area codes; the rest have three.
            let area_len = if digits.starts_with("01") || digits.starts_with("02") { 3 } else { 4 };
            let local_len = digits.len().checked_sub(area_len)?;
            let (area, local) = digits.split_at(area_len);
            let plausible = (7..=8).contains(&local_len) && !local.starts_with('0') && !local.starts_with('1');
            return plausible.then(|| Self(format!("{area}-{local}")));
        }
        if international {
            return None;
        }
        let service_number = (matches!(digits.len(), 3 | 5) && digits.starts_with('1'))
            || (digits.len() == 5 && digits.starts_with("95"))
            || (digits.len() == 10 && (digits.starts_with("400") || digits.starts_with("800")));
        service_number.then_some(Self(digits))
    }

    /// A listing's phone number.
    pub fn parse(field: Field, text: &str) -> ValueResult<Self> {
        Self::new(text).ok_or_else(|| {
            ValueError::new(
                field,
                "give a phone number as dialled in China, e.g. 021-54861801 or 13912345678 (电话号码格式不正确)",
            )
        })
    }

    /// A mainland mobile number, the only kind an account signs in with; `None` for anything
    /// else, landlines included.
    pub fn mobile(text: &str) -> Option<Self> {
        Self::new(text).filter(Self::is_mobile)
    }

    pub fn is_mobile(&self) -> bool {
        is_mobile(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

fn is_mobile(digits: &str) -> bool {
    digits.len() == 11 && digits.starts_with('1') && matches!(digits.as_bytes()[1], b'3'..=b'9')
}

// ---------------------------------------------------------------------------------------------
// Web and email addresses

/// An `http` or `https` address with a host, at most [`WebAddress::MAX_CHARS`] characters.
/// Anything a browser would run instead of open (`javascript:`, `data:`) is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAddress(String);

impl WebAddress {
    pub const MAX_CHARS: usize = 2000;

    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_CHARS || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (scheme, rest) = text.split_once("://")?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return None;
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        let host =
            host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(h, _)| h);
        let plausible_host =
            !host.is_empty() && host.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        plausible_host.then(|| Self(text.to_owned()))
    }

    pub fn parse(field: Field, text: &str) -> ValueResult<Self> {
        Self::new(text).ok_or_else(|| {
            let label = field.label();
            ValueError::new(
                field,
                format!(
                    "{label} must be an http:// or https:// address of at most {} characters (网址须以 http:// 或 https:// 开头)",
                    Self::MAX_CHARS
                ),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An email address: one `@` between a local part and a domain with a dot, no spaces, at most
/// 254 characters (the SMTP limit). Whether it receives mail is not checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_CHARS: usize = 254;

    pub fn new(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.chars().count() > Self::MAX_CHARS || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (local, domain) = text.split_once('@')?;
        let plausible = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        plausible.then(|| Self(text.to_owned()))
    }

    pub fn parse(field: Field, text: &str) -> ValueResult<Self> {
        Self::new(text).ok_or_else(|| {
            let label = field.label();
            ValueError::new(field, format!("{label} must be an email address like name@example.org (邮箱格式不正确)"))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

// ---------------------------------------------------------------------------------------------
// Weekdays

/// A list of weekday codes (`MO` … `SU`), at least one.
pub fn parse_weekdays(field: Field, codes: &[String]) -> ValueResult<Vec<Weekday>> {
    let days: Option<Vec<Weekday>> = codes.iter().map(|code| Weekday::from_code(code)).collect();
    match days {
        Some(days) if !days.is_empty() => Ok(days),
        _ => Err(ValueError::new(field, "days must be weekdays MO to SU (星期格式错误)")),
    }
}

// ---------------------------------------------------------------------------------------------
// Months and ages (a person's situation)

/// A number of whole months, 0 to [`Months::MAX`] (a working life; more is a typing error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Months(u32);

impl Months {
    pub const MAX: i32 = 1200;

    pub fn parse(field: Field, months: i32) -> ValueResult<Self> {
        match u32::try_from(months) {
            Ok(months) if months <= Self::MAX as u32 => Ok(Self(months)),
            _ => Err(ValueError::new(
                field,
                format!(
                    "{} must be between 0 and {}, got {months} (月数必须在0到{}之间)",
                    field.label(),
                    Self::MAX,
                    Self::MAX
                ),
            )),
        }
    }

    pub fn parse_optional(field: Field, months: Option<i32>) -> ValueResult<Option<Self>> {
        months.map(|months| Self::parse(field, months)).transpose()
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

/// An age in whole years, 0 to [`Age::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Age(u32);

impl Age {
    pub const MAX: i32 = 150;

    pub fn parse(field: Field, years: i32) -> ValueResult<Self> {
        match u32::try_from(years) {
            Ok(years) if years <= Self::MAX as u32 => Ok(Self(years)),
            _ => Err(ValueError::new(
                field,
                format!(
                    "{} must be between 0 and {}, got {years} (年龄必须在0到{}岁之间)",
                    field.label(),
                    Self::MAX,
                    Self::MAX
                ),
            )),
        }
    }

    pub fn parse_optional(field: Field, years: Option<i32>) -> ValueResult<Option<Self>> {
        years.map(|years| Self::parse(field, years)).transpose()
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

/// A referral's public code: 10 characters of Crockford's base32 (`0-9A-Z` without `I L O U`),
/// 50 random bits. Enough that guessing is hopeless: with a million live referrals, one guess
/// hits with probability 10^6 / 2^50 ≈ 9·10^-10, and at the look-up limit (20 a minute per
/// client, `QIAO_RATE_LIMIT_REFERRAL_LOOKUPS_PER_MINUTE`) a client trying day and night for a
/// year makes about 10^7 guesses: under 1% chance of ever hitting one, which then shows only a
/// service's name and a status, nothing about the person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferralCode(String);

impl ReferralCode {
    /// Crockford's alphabet: no I, L, O or U, so a code read aloud or copied by hand survives.
    const ALPHABET: &'static [u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    pub const LENGTH: usize = 10;

    /// A fresh random code.
    pub fn generate() -> Result<Self, String> {
        let mut random = [0u8; Self::LENGTH];
        getrandom::fill(&mut random).map_err(|e| format!("randomness: {e}"))?;
        // Each byte's low 5 bits pick a letter: uniform, since 256 is a multiple of 32.
        Ok(Self(random.iter().map(|byte| char::from(Self::ALPHABET[usize::from(byte & 31)])).collect()))
    }

    /// A code as a person types it: case, spaces and hyphens do not matter, and the letters
    /// Crockford's base32 reads as digits (`O` as 0, `I` and `L` as 1) are read so. `None` for
    /// anything that cannot be a code.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() > 64 {
            return None;
        }
        let mut code = String::with_capacity(Self::LENGTH);
        for c in text.chars().filter(|c| !matches!(c, ' ' | '-')) {
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c => c,
            };
            if !c.is_ascii() || !Self::ALPHABET.contains(&(c as u8)) {
                return None;
            }
            code.push(c);
        }
        (code.len() == Self::LENGTH).then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A finished calendar month in China Standard Time, which evidence reports cover: `YYYY-MM`.
/// Only a month that is over may be asked for, so two reports never differ by a few days' events
/// (which could reveal a handful of searches; see `evidence::kanon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ReportMonth {
    year: i32,
    month: u32,
}

impl ReportMonth {
    /// The last finished month before `today`.
    pub fn last_before(today: chrono::NaiveDate) -> Self {
        use chrono::Datelike;
        let (year, month) = if today.month() == 1 { (today.year() - 1, 12) } else { (today.year(), today.month() - 1) };
        Self { year, month }
    }

    /// Parses `YYYY-MM`; refuses a month that is not over on `today`.
    pub fn parse(text: &str, today: chrono::NaiveDate) -> Result<Self, ValueError> {
        let invalid = || {
            ValueError::new(
                Field::ReportMonth,
                format!("month must read YYYY-MM, e.g. 2026-10, got {text:?} (月份格式应为 YYYY-MM)"),
            )
        };
        let (year, month) = text.trim().split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(invalid());
        }
        let year: i32 = year.parse().map_err(|_| invalid())?;
        let month: u32 = month.parse().map_err(|_| invalid())?;
        if !(1..=12).contains(&month) || year < 2000 {
            return Err(invalid());
        }
        let asked = Self { year, month };
        if asked > Self::last_before(today) {
            return Err(ValueError::new(
                Field::ReportMonth,
                format!("{text} is not over yet; reports cover finished months only (只能查看已结束的月份)"),
            ));
        }
        Ok(asked)
    }

    /// The first day of the month.
    pub fn first_day(self) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// The first day of the next month.
    pub fn end(self) -> chrono::NaiveDate {
        let (year, month) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
        chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
    }
}

impl fmt::Display for ReportMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referral_codes_are_ten_crockford_letters_and_read_forgivingly() {
        let code = ReferralCode::generate().expect("a code");
        assert_eq!(code.as_str().len(), ReferralCode::LENGTH);
        assert_eq!(ReferralCode::parse(code.as_str()), Some(code.clone()));
        assert_ne!(ReferralCode::generate().ok(), Some(code));
        assert_eq!(ReferralCode::parse("qx7k-2m9p-ab").map(ReferralCode::into_string), Some("QX7K2M9PAB".into()));
        assert_eq!(ReferralCode::parse("OIL0000000").map(ReferralCode::into_string), Some("0110000000".into()));
        for bad in ["", "QX7K2M9PA", "QX7K2M9PABC", "QX7K2M9PAU", "演示客户演示客户演示客", "QX7K2M9PA!"] {
            assert_eq!(ReferralCode::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn texts_are_trimmed_and_kept_within_the_limit_of_their_purpose() {
        let name = BoundedText::parse(Field::ServiceName, "  图书角 ", TextLimit::Name).ok();
        assert_eq!(name.as_ref().map(BoundedText::as_str), Some("图书角"));
        assert!(BoundedText::parse(Field::ServiceName, &"字".repeat(200), TextLimit::Name).is_ok());
        assert!(BoundedText::parse(Field::ServiceName, &"字".repeat(201), TextLimit::Name).is_err());
        assert!(BoundedText::parse(Field::ServiceDescription, &"字".repeat(4000), TextLimit::LongText).is_ok());
        assert!(BoundedText::parse(Field::ServiceDescription, &"字".repeat(4001), TextLimit::LongText).is_err());
        assert!(BoundedText::parse(Field::ServiceName, "   ", TextLimit::Name).is_err());
        assert_eq!(BoundedText::parse_optional(Field::SearchText, Some("  "), TextLimit::SearchText), Ok(None));
        assert!(
            BoundedText::parse_optional(Field::SearchText, Some(&"字".repeat(101)), TextLimit::SearchText).is_err()
        );
    }

    #[test]
    fn suggestion_texts_keep_their_limits() {
        let comment = |n| {
            BoundedText::parse_optional(Field::SuggestionComment, Some(&"字".repeat(n)), TextLimit::SuggestionComment)
        };
        assert!(comment(1000).is_ok());
        let error = comment(1001).err();
        assert_eq!(error.as_ref().map(|e| e.field), Some(Field::SuggestionComment));
        assert!(error.is_some_and(|e| e.message.contains("1000")));
        let reason = |text: &str| BoundedText::parse(Field::SuggestionDecisionReason, text, TextLimit::DecisionReason);
        assert!(reason(&"x".repeat(500)).is_ok());
        assert!(reason(&"x".repeat(501)).is_err());
        assert!(reason("  ").is_err());
        assert_eq!(TextLimit::IdempotencyKey.chars(), 64);
    }

    #[test]
    fn bilingual_text_needs_both_languages() {
        let text = BilingualText::parse(Field::LocationName, " 图书角 ", " Reading corner ", TextLimit::Name);
        assert_eq!(text.map(BilingualText::into_pair).ok(), Some(("图书角".into(), "Reading corner".into())));
        let error = BilingualText::parse(Field::ServiceName, "", "x", TextLimit::Name).err();
        assert_eq!(error.as_ref().map(|e| e.field), Some(Field::ServiceName));
        assert!(error.is_some_and(|e| e.message.contains("name") && e.message.contains("中英文")));
    }

    #[test]
    fn coordinates_stay_within_latitude_and_longitude_ranges() {
        assert!(Coordinates::new(90.0, 180.0).is_ok());
        assert!(Coordinates::new(-90.0, -180.0).is_ok());
        assert_eq!(Coordinates::new(90.5, 0.0), Err(CoordinateError::Latitude(90.5)));
        assert_eq!(Coordinates::new(0.0, 180.01), Err(CoordinateError::Longitude(180.01)));
        assert!(Coordinates::new(f64::NAN, 0.0).is_err());
        assert!(Coordinates::new(0.0, f64::INFINITY).is_err());
        let error = Coordinates::parse(Field::LocationPoint, LatLon::new(-91.0, 0.0)).err();
        assert_eq!(error.map(|e| e.field), Some(Field::LocationPoint));
    }

    #[test]
    fn adcodes_are_six_digits() {
        assert_eq!(Adcode::parse(Field::LocationAdcode, "310112").map(Adcode::into_string), Ok("310112".into()));
        for text in ["", "3101", "3101120", "31011a", "３１０１１２"] {
            assert!(Adcode::parse(Field::LocationAdcode, text).is_err(), "{text}");
        }
    }

    #[test]
    fn language_tags_are_short_codes_kept_lower_case_without_repeats() {
        assert_eq!(LanguageTag::new(" zh-Hant ").map(LanguageTag::into_string).as_deref(), Some("zh-hant"));
        for text in ["", "not a code!", "en; drop table", "x".repeat(17).as_str(), "中文"] {
            assert_eq!(LanguageTag::new(text), None, "{text}");
        }
        let list = |codes: &[&str], least| {
            let codes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
            LanguageTag::parse_list(Field::ServiceLanguages, &codes, least)
                .map(|tags| tags.into_iter().map(LanguageTag::into_string).collect::<Vec<_>>())
        };
        assert_eq!(list(&["zh", "EN", "zh"], true), Ok(vec!["zh".into(), "en".into()]));
        assert!(list(&[], true).is_err());
        assert_eq!(list(&[], false), Ok(Vec::new()));
        assert!(list(&["zh"; 11], false).is_err());
    }

    #[test]
    fn money_is_zero_to_ten_million_yuan_in_fen() {
        assert_eq!(Money::from_yuan(Field::CostAmount, 12.5).map(Money::fen), Ok(1250));
        assert_eq!(Money::from_yuan(Field::CostAmount, 0.0).map(Money::is_free), Ok(true));
        assert_eq!(Money::from_yuan(Field::CostAmount, 10_000_000.0).map(Money::fen), Ok(1_000_000_000));
        for yuan in [-0.01, 10_000_000.01, f64::NAN, f64::INFINITY] {
            assert!(Money::from_yuan(Field::CostAmount, yuan).is_err(), "{yuan}");
        }
        assert!(Money::from_fen(Field::CostAmount, 1_000_000_000).is_ok());
        assert!(Money::from_fen(Field::CostAmount, 1_000_000_001).is_err());
        assert!(Money::from_fen(Field::CostAmount, -1).is_err());
    }

    #[test]
    fn plausible_chinese_phone_numbers_are_accepted_in_one_form() {
        for (written, canonical) in [
            ("139 1234 5678", "13912345678"),
            ("+86 139-1234-5678", "13912345678"),
            ("8613912345678", "13912345678"),
            ("021-54861801", "021-54861801"),
            ("(021) 5486 1801", "021-54861801"),
            ("+86 21 5486 1801", "021-54861801"),
            ("0851-86801234", "0851-86801234"),
            ("010 6512 3456", "010-65123456"),
            ("12348", "12348"),
            ("110", "110"),
            ("95588", "95588"),
            ("400-820-8820", "4008208820"),
        ] {
            assert_eq!(
                PhoneNumber::new(written).map(PhoneNumber::into_string).as_deref(),
                Some(canonical),
                "{written}"
            );
        }
    }

    #[test]
    fn implausible_phone_numbers_are_refused() {
        for written in
            ["", "abc", "1234", "1391234567", "139123456789", "021-1234", "021-012345678", "+1 415 555 0100", "５５５"]
        {
            assert_eq!(PhoneNumber::new(written), None, "{written}");
        }
    }

    #[test]
    fn only_mobile_numbers_sign_in() {
        assert_eq!(
            PhoneNumber::mobile("+86 139 1234 9876").map(PhoneNumber::into_string).as_deref(),
            Some("13912349876")
        );
        for written in ["021-54861801", "12348", "4008208820", "worker.tvillage", "12012345678"] {
            assert_eq!(PhoneNumber::mobile(written), None, "{written}");
        }
    }

    #[test]
    fn websites_are_http_or_https_addresses_only() {
        for text in
            ["https://example.org", "http://example.org/path?q=1#x", "HTTPS://例子.中国", "http://127.0.0.1:8080/"]
        {
            assert!(WebAddress::new(text).is_some(), "{text}");
        }
        for text in [
            "javascript:alert(1)",
            "JavaScript://example.org/%0aalert(1)",
            "data:text/html,hi",
            "ftp://example.org",
            "example.org",
            "https://",
            "https://exa mple.org",
            "https://<script>",
        ] {
            assert!(WebAddress::new(text).is_none(), "{text}");
        }
        assert!(WebAddress::new(&format!("https://example.org/{}", "a".repeat(2000))).is_none());
        let error = WebAddress::parse(Field::OrganizationWebsite, "javascript:alert(1)").err();
        assert!(error.is_some_and(|e| e.field == Field::OrganizationWebsite && e.message.contains("网址")));
    }

    #[test]
    fn email_addresses_have_a_local_part_and_a_domain() {
        assert!(EmailAddress::new(" help@example.org ").is_some_and(|e| e.as_str() == "help@example.org"));
        for text in ["", "help", "help@", "@example.org", "help@example", "a@b@example.org", "he lp@example.org"] {
            assert!(EmailAddress::new(text).is_none(), "{text}");
        }
    }

    #[test]
    fn weekday_lists_are_codes_mo_to_su() {
        let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse_weekdays(Field::HoursDays, &codes(&["MO", "SU"])), Ok(vec![Weekday::Mo, Weekday::Su]));
        assert!(parse_weekdays(Field::HoursDays, &codes(&[])).is_err());
        assert!(parse_weekdays(Field::HoursDays, &codes(&["MO", "XX"])).is_err());
    }

    #[test]
    fn months_and_ages_are_whole_numbers_within_a_lifetime() {
        assert_eq!(Months::parse(Field::SituationSocialInsuranceMonths, 0).map(Months::get), Ok(0));
        assert_eq!(Months::parse(Field::SituationSocialInsuranceMonths, 1200).map(Months::get), Ok(1200));
        let negative = Months::parse(Field::SituationSocialInsuranceMonths, -1).err();
        assert!(
            negative.is_some_and(|e| e.field == Field::SituationSocialInsuranceMonths && e.message.contains("月数"))
        );
        assert!(Months::parse(Field::SituationResidencePermitMonths, 1201).is_err());
        assert_eq!(Age::parse(Field::SituationAge, 150).map(Age::get), Ok(150));
        assert!(Age::parse(Field::SituationAge, 151).is_err_and(|e| e.message.contains("年龄")));
        assert!(Age::parse(Field::SituationChildAge, -3).is_err());
        assert_eq!(Age::parse_optional(Field::SituationChildAge, None), Ok(None));
    }
}
