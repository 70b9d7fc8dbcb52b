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
