//! Eligibility against a situation: `checkEligibility`, and the `SituationInput` that search's
//! `situation` filter takes too. The rule is `directory::eligibility`; this only maps it.
//! Anonymous, and nothing about the situation is stored.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use super::common::{EligibilityKind, Language, language_of};
use super::context::state;
use crate::directory::eligibility::{self, Outcome, Situation, Verdict};
use crate::error::ApiError;
use crate::values::{Age, Field, Months, ValueResult};

/// What a person says about themselves, for an eligibility check. Every field is optional: a
/// fact left out makes the requirements that need it unknown ("maybe"), never unmet.
#[derive(InputObject, Debug, Clone, Default)]
pub struct SituationInput {
    /// Whether the person holds a hukou (户口) of the service's city.
    pub local_hukou: Option<bool>,
    /// Months the person has held this city's residence permit (居住证), 0 to 1200; 0 means
    /// "I have none", a permit received this month counts as 1.
    pub residence_permit_months: Option<i32>,
    /// Months of social insurance (社保) paid in this city, 0 to 1200.
    pub social_insurance_months: Option<i32>,
    /// Whether the person has a labour contract (劳动合同).
    pub labour_contract: Option<bool>,
    /// Whether the person has a registered (备案) rental contract.
    pub registered_lease: Option<bool>,
    /// The person's age in years, 0 to 150.
    pub age: Option<i32>,
    /// The age in years, 0 to 150, of the child the person asks for. Services for children
    /// (schools, tutoring, youth services, or any whose age range ends below 18) judge their
    /// age range by it; other services by `age`.
    pub child_age: Option<i32>,
}

impl SituationInput {
    /// The situation with its numbers checked (BAD_USER_INPUT naming `situation.<field>`).
    pub fn parse(&self) -> ValueResult<Situation> {
        Ok(Situation {
            local_hukou: self.local_hukou,
            residence_permit_months: Months::parse_optional(
                Field::SituationResidencePermitMonths,
                self.residence_permit_months,
            )?,
            social_insurance_months: Months::parse_optional(
                Field::SituationSocialInsuranceMonths,
                self.social_insurance_months,
            )?,
            labour_contract: self.labour_contract,
            registered_lease: self.registered_lease,
            age: Age::parse_optional(Field::SituationAge, self.age)?,
            child_age: Age::parse_optional(Field::SituationChildAge, self.child_age)?,
        })
    }
}

/// The answer of an eligibility check as a whole.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum EligibilityVerdict {
    /// Every requirement recorded for the service is met (or none is recorded).
    Eligible,
    /// At least one requirement is not met.
    NotEligible,
    /// Nothing is unmet, but at least one requirement needs a fact the situation did not give.
    Maybe,
}

/// Whether one requirement is met.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum RequirementOutcome {
    /// The situation meets it.
    Met,
    /// The situation does not meet it.
    NotMet,
    /// The situation does not say (the explanation names what to tell).
    Unknown,
}

/// One structured requirement checked against the situation.
#[derive(SimpleObject, Debug, Clone)]
pub struct RequirementCheck {
    /// Kind of requirement.
    pub kind: EligibilityKind,
    /// Months needed, for SOCIAL_INSURANCE_MONTHS (and RESIDENCE_PERMIT when set).
    pub months: Option<i32>,
    /// Youngest age, for AGE_RANGE.
    pub min_age: Option<i32>,
    /// Oldest age, for AGE_RANGE.
    pub max_age: Option<i32>,
    /// Met, not met, or unknown.
    pub outcome: RequirementOutcome,
    /// What it needs and what the situation says, in plain words (e.g. "needs 6 months of
    /// social insurance; you have 3").
    pub explanation: String,
}

/// A service's requirements checked against a person's situation.
#[derive(SimpleObject, Debug, Clone)]
pub struct EligibilityCheck {
    /// The service checked.
    pub service_id: ID,
    /// The service's name.
    pub service_name: String,
    /// Eligible, not eligible, or maybe.
    pub verdict: EligibilityVerdict,
    /// The verdict in plain words.
    pub summary: String,
    /// Every structured requirement of the service, checked, in the order the service lists them.
    pub requirements: Vec<RequirementCheck>,
}

#[derive(Default)]
pub struct EligibilityQuery;

#[Object]
impl EligibilityQuery {
    /// Checks a person's situation against a service's structured requirements: which are met,
    /// which are not and what is missing, in plain words. Anonymous; nothing is stored. The
    /// provider's own eligibility description may add conditions this cannot check. Unknown or
    /// unlisted services give a NOT_FOUND error.
    async fn check_eligibility(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service's id.")] service_id: ID,
        #[graphql(desc = "What the person says about themselves; leave out what is not known.")]
        situation: SituationInput,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<EligibilityCheck> {
        let state = state(ctx)?;
        let situation = situation.parse()?;
        let directory = state.directory.current();
        let service = directory.service(&service_id).ok_or_else(|| ApiError::not_found("service"))?;
        let language = language_of(ctx, language);
        let checked = eligibility::check(&service.eligibility, &situation);
        let number = |value: Option<u32>| value.and_then(|v| i32::try_from(v).ok());
        Ok(EligibilityCheck {
            service_id: ID(service.id.to_string()),
            service_name: language.pick(service.name_zh(), service.name_en()).to_owned(),
            verdict: match checked.verdict {
                Verdict::Eligible => EligibilityVerdict::Eligible,
                Verdict::NotEligible => EligibilityVerdict::NotEligible,
                Verdict::Maybe => EligibilityVerdict::Maybe,
            },
            summary: language.pick(&checked.summary_zh, &checked.summary_en).to_owned(),
            requirements: checked
                .checks
                .iter()
                .map(|check| RequirementCheck {
                    kind: check.requirement.kind.into(),
                    months: number(check.requirement.months),
                    min_age: number(check.requirement.min_age),
                    max_age: number(check.requirement.max_age),
                    outcome: match check.outcome {
                        Outcome::Met => RequirementOutcome::Met,
                        Outcome::NotMet => RequirementOutcome::NotMet,
                        Outcome::Unknown => RequirementOutcome::Unknown,
                    },
                    explanation: language.pick(&check.explanation_zh, &check.explanation_en).to_owned(),
                })
                .collect(),
        })
    }
}
