//! Domain enums stored as text columns. Each is also the serde form used by the seed files, so a
//! value has one spelling from data file to database.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// HSDS service status. `Inactive` and `Defunct` (archived) services vanish from search;
/// a `TemporarilyClosed` one stays findable and says so.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum ServiceStatus {
    #[default]
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "inactive")]
    Inactive,
    #[sea_orm(string_value = "defunct")]
    Defunct,
    #[sea_orm(string_value = "temporarily closed")]
    TemporarilyClosed,
}

impl ServiceStatus {
    /// Whether a listing with this status is shown to the public at all.
    pub fn is_listed(self) -> bool {
        matches!(self, Self::Active | Self::TemporarilyClosed)
    }
}

/// HSDS location type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum LocationType {
    #[sea_orm(string_value = "physical")]
    Physical,
    #[sea_orm(string_value = "postal")]
    Postal,
    #[sea_orm(string_value = "virtual")]
    Virtual,
}

/// How a programme is funded and delivered (most social-work programmes are bought by
/// government per project and renewed every one or two years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryMode {
    #[sea_orm(string_value = "project_based")]
    ProjectBased,
    #[sea_orm(string_value = "regular_service")]
    RegularService,
    #[sea_orm(string_value = "annual_activity")]
    AnnualActivity,
    #[sea_orm(string_value = "volunteer_team")]
    VolunteerTeam,
}

/// Whether a service is taking new people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum CapacityStatus {
    #[sea_orm(string_value = "accepting")]
    Accepting,
    #[sea_orm(string_value = "waitlist")]
    Waitlist,
    #[sea_orm(string_value = "full")]
    Full,
}

/// Social-support function of a service (informational, instrumental, emotional, companionship).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum SupportFunction {
    #[sea_orm(string_value = "informational")]
    Informational,
    #[sea_orm(string_value = "instrumental")]
    Instrumental,
    #[sea_orm(string_value = "emotional")]
    Emotional,
    #[sea_orm(string_value = "companionship")]
    Companionship,
}

/// Level at which a service intervenes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum InterventionLevel {
    #[sea_orm(string_value = "direct_support")]
    DirectSupport,
    #[sea_orm(string_value = "support_exchange")]
    SupportExchange,
    #[sea_orm(string_value = "social_network")]
    SocialNetwork,
    #[sea_orm(string_value = "community_empowerment")]
    CommunityEmpowerment,
}

/// Kind of a structured eligibility requirement. Parameters (months, ages) live in their own
/// columns of `eligibility_requirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum EligibilityKind {
    /// Any hukou, local or not.
    #[sea_orm(string_value = "hukou_anywhere")]
    HukouAnywhere,
    /// A hukou of the service's own city.
    #[sea_orm(string_value = "local_hukou")]
    LocalHukou,
    #[sea_orm(string_value = "residence_permit")]
    ResidencePermit,
    #[sea_orm(string_value = "social_insurance_months")]
    SocialInsuranceMonths,
    #[sea_orm(string_value = "labour_contract")]
    LabourContract,
    #[sea_orm(string_value = "registered_lease")]
    RegisteredLease,
    #[sea_orm(string_value = "age_range")]
    AgeRange,
}

/// Which taxonomy an attribute's term belongs to; also the taxonomy's id.
pub mod taxonomy_ids {
    /// Service categories (a tree; `ServiceCategory` in the API).
    pub const SERVICE_CATEGORY: &str = "qiao-service-category";
}

/// An account's role. Authorisation reads it from the database on every request, never from a
/// token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[sea_orm(string_value = "migrant")]
    Migrant,
    #[sea_orm(string_value = "social_worker")]
    SocialWorker,
    #[sea_orm(string_value = "committee_staff")]
    CommitteeStaff,
    #[sea_orm(string_value = "provider_staff")]
    ProviderStaff,
    #[sea_orm(string_value = "admin")]
    Admin,
}

/// What a public edit suggestion says is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    /// The service has closed; accepting marks it temporarily closed.
    #[sea_orm(string_value = "closed")]
    Closed,
    /// It moved; the proposed value is the new street address.
    #[sea_orm(string_value = "moved")]
    Moved,
    /// The phone number is wrong; the proposed value is the right one.
    #[sea_orm(string_value = "wrong_phone")]
    WrongPhone,
    /// Anything else; accepting records it for a manual edit.
    #[sea_orm(string_value = "other")]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum SuggestionStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "rejected")]
    Rejected,
}

/// A day of the week by its iCal code (`MO` … `SU`), the spelling HSDS `byday`, the seed files,
/// the CSV import and the stored schedules all use (and its serde form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Weekday {
    Mo,
    Tu,
    We,
    Th,
    Fr,
    Sa,
    Su,
}

impl Weekday {
    /// Monday to Sunday, in week order.
    pub const ALL: [Self; 7] = [Self::Mo, Self::Tu, Self::We, Self::Th, Self::Fr, Self::Sa, Self::Su];

    /// The iCal code, e.g. `MO`.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Mo => "MO",
            Self::Tu => "TU",
            Self::We => "WE",
            Self::Th => "TH",
            Self::Fr => "FR",
            Self::Sa => "SA",
            Self::Su => "SU",
        }
    }

    /// The day of an iCal code. Exact (`MO`): stored and exchanged data is upper case.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|day| day.code() == code)
    }

    /// The day of a code as people type it (`mo`, ` Mo `), for hand-written input.
    pub fn from_code_loose(code: &str) -> Option<Self> {
        Self::from_code(&code.trim().to_ascii_uppercase())
    }

    /// 0 for Monday … 6 for Sunday, as chrono's `num_days_from_monday`.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The day after (Sunday is followed by Monday).
    pub const fn next(self) -> Self {
        Self::ALL[(self as usize + 1) % 7]
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        Self::ALL[day.num_days_from_monday() as usize]
    }
}

impl std::fmt::Display for Weekday {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Weekday;

    #[test]
    fn weekday_codes_read_back_as_the_same_day() {
        for day in Weekday::ALL {
            assert_eq!(Weekday::from_code(day.code()), Some(day));
        }
        assert_eq!(Weekday::from_code_loose(" fr "), Some(Weekday::Fr));
        assert_eq!(Weekday::from(chrono::Weekday::Sun), Weekday::Su);
        assert_eq!(Weekday::Su.next(), Weekday::Mo);
    }

    #[test]
    fn anything_but_an_ical_weekday_code_is_refused() {
        for code in ["", "mo", "MON", "Monday", "XX", "M"] {
            assert_eq!(Weekday::from_code(code), None, "{code}");
        }
    }
}

/// A referral's status (after the HL7 Gravity SDOH referral Task). The machine that moves between
/// them lives in the server's `referrals` module; this is only the stored spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum ReferralStatus {
    #[sea_orm(string_value = "draft")]
    Draft,
    #[sea_orm(string_value = "requested")]
    Requested,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "rejected")]
    Rejected,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "on_hold")]
    OnHold,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "cancelled")]
    Cancelled,
    #[sea_orm(string_value = "entered_in_error")]
    EnteredInError,
}

impl ReferralStatus {
    /// Completed, failed, rejected, cancelled and entered-in-error end a referral.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Rejected | Self::Cancelled | Self::EnteredInError)
    }
}

/// How fast a referral needs an answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    #[sea_orm(string_value = "routine")]
    Routine,
    #[sea_orm(string_value = "soon")]
    Soon,
    #[sea_orm(string_value = "urgent")]
    Urgent,
}

/// How a consent was captured (PIPL asks for separate, informed consent; we record how).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    /// Said aloud to the social worker, who records it.
    #[sea_orm(string_value = "spoken")]
    Spoken,
    /// Signed on paper; the paper stays with the organisation.
    #[sea_orm(string_value = "signed")]
    Signed,
    /// Given by the person in the app.
    #[sea_orm(string_value = "in_app")]
    InApp,
}

/// Who is notified of a referral's news.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "snake_case")]
pub enum NotificationRecipient {
    /// The referring social worker (by account).
    #[sea_orm(string_value = "social_worker")]
    SocialWorker,
    /// The client, by the phone on their record, when they consented to messages.
    #[sea_orm(string_value = "client")]
    Client,
}
