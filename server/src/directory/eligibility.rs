//! Eligibility against a situation: given a service's structured requirements and what a person
//! says about themselves, which requirements are met, which are not, and which cannot be told yet,
//! in plain words in Chinese and English.
//!
//! One rule, used by `checkEligibility` and by search's `situation` filter alike, so the list and
//! the answer for one service cannot disagree. It stores nothing and does no I/O: the search index
//! precomputes each service's [`ServiceEligibility`] and this module only reads it.
//!
//! Every fact of a [`Situation`] is optional: a fact not told makes the requirements that need it
//! *unknown*, never unmet, so a search filtered by a partial situation keeps the services that
//! might still fit ("maybe") and drops only those the situation rules out.

use qiao_schema::domain::EligibilityKind;
use qiao_schema::entity::eligibility_requirement;

use crate::values::{Age, Months};

/// Category codes whose services are for children: their age range applies to the child (see
/// [`Subject`]). A service in a sub-category of one of these is for children too.
pub const CHILDREN_CATEGORY_CODES: &[&str] = &["SCHOOL", "TUTORING", "YOUTH"];

/// Below this age a person is a minor: a range that ends below it is a children's range, and a
/// minor asking about a children's service may be asking for themselves.
const ADULT_AGE: u32 = 18;

/// What a person says about themselves; `None` is "not told".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Situation {
    /// Whether the person holds a hukou of the service's city.
    pub local_hukou: Option<bool>,
    /// Months the person has held this city's residence permit (居住证); 0 is "I have none".
    pub residence_permit_months: Option<Months>,
    /// Months of social insurance paid in this city.
    pub social_insurance_months: Option<Months>,
    /// Whether the person has a labour contract.
    pub labour_contract: Option<bool>,
    /// Whether the person has a registered (备案) rental contract.
    pub registered_lease: Option<bool>,
    /// The person's age in years.
    pub age: Option<Age>,
    /// The age of the child the person is asking for.
    pub child_age: Option<Age>,
}

/// One structured requirement, compact enough to keep for every service in the search index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Requirement {
    pub kind: EligibilityKind,
    /// Months needed (social insurance; a residence permit held this long when set).
    pub months: Option<u32>,
    pub min_age: Option<u32>,
    pub max_age: Option<u32>,
}

impl Requirement {
    /// From its stored row. A negative number, which only a hand-edited database can hold, is
    /// read as not set.
    pub fn from_row(row: &eligibility_requirement::Model) -> Self {
        let number = |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok());
        Self { kind: row.kind, months: number(row.months), min_age: number(row.min_age), max_age: number(row.max_age) }
    }

    /// A range that ends before adulthood is for children, whatever the service's category.
    fn is_childrens_range(&self) -> bool {
        self.kind == EligibilityKind::AgeRange && self.max_age.is_some_and(|max| max < ADULT_AGE)
    }
}

/// A service's requirements as search keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ServiceEligibility {
    pub requirements: Box<[Requirement]>,
    /// Whether the service's category (or a parent of it) is one of [`CHILDREN_CATEGORY_CODES`].
    pub for_children: bool,
}

/// Whether a requirement is met by a situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Met,
    NotMet,
    /// The situation does not tell.
    Unknown,
}

/// The answer for a service as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every requirement is met (or there is none).
    Eligible,
    /// At least one requirement is not met.
    NotEligible,
    /// None is unmet, but at least one cannot be told from the situation.
    Maybe,
}

/// Whose age an AGE_RANGE is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    Person,
    Child,
}

/// One requirement checked, with its explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequirementCheck {
    pub requirement: Requirement,
    pub outcome: Outcome,
    pub explanation_zh: String,
    pub explanation_en: String,
}

/// A service's requirements checked against a situation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityCheck {
    pub verdict: Verdict,
    pub checks: Vec<RequirementCheck>,
    pub summary_zh: String,
    pub summary_en: String,
}

/// Whose age decides an AGE_RANGE, and that age (`None`: not told).
///
/// A children's service (its category is a school, tutoring or youth one, or its range ends
/// below 18) is judged by the **child's** age; when no child's age is given, by the person's own
/// age only if the person is a minor (a young person asking for themselves), otherwise it is
/// unknown: an adult's age says nothing about whether their child fits. Every other service is
/// judged by the **person's** age; a child's age says nothing about it.
fn age_for(service: &ServiceEligibility, requirement: &Requirement, situation: &Situation) -> (Subject, Option<u32>) {
    let age = situation.age.map(Age::get);
    if service.for_children || requirement.is_childrens_range() {
        match situation.child_age.map(Age::get) {
            Some(child) => (Subject::Child, Some(child)),
            None => match age {
                Some(own) if own < ADULT_AGE => (Subject::Person, Some(own)),
                _ => (Subject::Child, None),
            },
        }
    } else {
        (Subject::Person, age)
    }
}

fn yes_no(fact: Option<bool>) -> Outcome {
    match fact {
        Some(true) => Outcome::Met,
        Some(false) => Outcome::NotMet,
        None => Outcome::Unknown,
    }
}

fn at_least(have: Option<u32>, need: u32) -> Outcome {
    match have {
        Some(have) if have >= need => Outcome::Met,
        Some(_) => Outcome::NotMet,
        None => Outcome::Unknown,
    }
}

/// Whether one requirement is met (no words: what search's filter needs).
pub fn assess(service: &ServiceEligibility, requirement: &Requirement, situation: &Situation) -> Outcome {
    match requirement.kind {
        EligibilityKind::HukouAnywhere => Outcome::Met,
        EligibilityKind::LocalHukou => yes_no(situation.local_hukou),
        // Held for a month at least counts as holding one; a set number of months asks for more.
        EligibilityKind::ResidencePermit => {
            at_least(situation.residence_permit_months.map(Months::get), requirement.months.unwrap_or(1).max(1))
        }
        EligibilityKind::SocialInsuranceMonths => {
            at_least(situation.social_insurance_months.map(Months::get), requirement.months.unwrap_or(0))
        }
        EligibilityKind::LabourContract => yes_no(situation.labour_contract),
        EligibilityKind::RegisteredLease => yes_no(situation.registered_lease),
        EligibilityKind::AgeRange => match age_for(service, requirement, situation).1 {
            Some(age) => {
                let fits = requirement.min_age.is_none_or(|min| age >= min)
                    && requirement.max_age.is_none_or(|max| age <= max);
                if fits { Outcome::Met } else { Outcome::NotMet }
            }
            None if requirement.min_age.is_none() && requirement.max_age.is_none() => Outcome::Met,
            None => Outcome::Unknown,
        },
    }
}

/// The overall answer from the outcomes of every requirement.
pub fn verdict_of(outcomes: impl IntoIterator<Item = Outcome>) -> Verdict {
    let mut verdict = Verdict::Eligible;
    for outcome in outcomes {
        match outcome {
            Outcome::NotMet => return Verdict::NotEligible,
            Outcome::Unknown => verdict = Verdict::Maybe,
            Outcome::Met => {}
        }
    }
    verdict
}

/// Whether the situation rules the service out: some requirement is definitely not met. A
/// "maybe" is not ruled out. Search's filter; allocates nothing.
pub fn rules_out(service: &ServiceEligibility, situation: &Situation) -> bool {
    service.requirements.iter().any(|requirement| assess(service, requirement, situation) == Outcome::NotMet)
}

/// Every requirement of a service checked against a situation, with plain words in both
/// languages, and the overall verdict.
pub fn check(service: &ServiceEligibility, situation: &Situation) -> EligibilityCheck {
    let checks: Vec<RequirementCheck> = service
        .requirements
        .iter()
        .map(|requirement| {
            let outcome = assess(service, requirement, situation);
            let (explanation_zh, explanation_en) = explain(service, requirement, situation, outcome);
            RequirementCheck { requirement: *requirement, outcome, explanation_zh, explanation_en }
        })
        .collect();
    let verdict = verdict_of(checks.iter().map(|c| c.outcome));
    let (summary_zh, summary_en) = summary(verdict, checks.is_empty());
    EligibilityCheck { verdict, checks, summary_zh, summary_en }
}

fn summary(verdict: Verdict, no_requirements: bool) -> (String, String) {
    let (zh, en) = match verdict {
        Verdict::Eligible if no_requirements => (
            "这项服务没有登记具体条件；请看服务方自己的说明。",
            "This service records no specific requirements; read the provider's own description.",
        ),
        Verdict::Eligible => {
            ("您符合这项服务登记的所有条件。", "You meet every requirement recorded for this service.")
        }
        Verdict::NotEligible => (
            "您不符合这项服务的部分条件，请看下面缺少什么。",
            "You do not meet some requirements of this service: see below what is missing.",
        ),
        Verdict::Maybe => (
            "您可能符合条件：请补充下面标明的信息以便确认。",
            "You may be eligible: tell us what is marked below to be sure.",
        ),
    };
    (zh.to_owned(), en.to_owned())
}

/// The plain words for one checked requirement: what it needs, then what the situation says.
fn explain(
    service: &ServiceEligibility,
    requirement: &Requirement,
    situation: &Situation,
    outcome: Outcome,
) -> (String, String) {
    use Outcome::*;
    let pair = |zh: &str, en: &str| (zh.to_owned(), en.to_owned());
    match requirement.kind {
        EligibilityKind::HukouAnywhere => {
            pair("不限户口，外地户口也可以", "any hukou is accepted: you do not need a local one")
        }
        EligibilityKind::LocalHukou => match outcome {
            Met => pair("需要本市户口；您有本市户口", "needs a hukou of this city; you have one"),
            NotMet => pair("需要本市户口；您没有本市户口", "needs a hukou of this city; you do not have one"),
            Unknown => pair(
                "需要本市户口；请告诉我们您是否有本市户口",
                "needs a hukou of this city; tell us whether you have one",
            ),
        },
        EligibilityKind::ResidencePermit => {
            let (need_zh, need_en) = match requirement.months.filter(|m| *m > 1) {
                Some(months) => (
                    format!("需要持有本市居住证满{months}个月"),
                    format!("needs this city's residence permit held for {months} months"),
                ),
                None => ("需要本市居住证".to_owned(), "needs this city's residence permit".to_owned()),
            };
            match situation.residence_permit_months.map(Months::get) {
                None => (
                    format!("{need_zh}；请告诉我们您持有居住证几个月了"),
                    format!("{need_en}; tell us how many months you have held one"),
                ),
                Some(0) => (format!("{need_zh}；您还没有居住证"), format!("{need_en}; you do not have one")),
                Some(have) => (
                    format!("{need_zh}；您已持有{have}个月"),
                    format!("{need_en}; you have held one for {have} {}", months_word(have)),
                ),
            }
        }
        EligibilityKind::SocialInsuranceMonths => {
            let need = requirement.months.unwrap_or(0);
            let need_zh = format!("需要缴纳社保满{need}个月");
            let need_en = format!("needs {need} {} of social insurance", months_word(need));
            match situation.social_insurance_months.map(Months::get) {
                None => (
                    format!("{need_zh}；请告诉我们您已缴纳几个月"),
                    format!("{need_en}; tell us how many months you have paid"),
                ),
                Some(have) => (format!("{need_zh}；您已缴纳{have}个月"), format!("{need_en}; you have {have}")),
            }
        }
        EligibilityKind::LabourContract => match outcome {
            Met => pair("需要劳动合同；您有劳动合同", "needs a labour contract; you have one"),
            NotMet => pair("需要劳动合同；您没有劳动合同", "needs a labour contract; you do not have one"),
            Unknown => pair(
                "需要劳动合同；请告诉我们您是否有劳动合同",
                "needs a labour contract; tell us whether you have one",
            ),
        },
        EligibilityKind::RegisteredLease => match outcome {
            Met => pair("需要登记备案的租房合同；您有", "needs a registered rental contract; you have one"),
            NotMet => pair("需要登记备案的租房合同；您没有", "needs a registered rental contract; you do not have one"),
            Unknown => pair(
                "需要登记备案的租房合同；请告诉我们您是否有",
                "needs a registered rental contract; tell us whether you have one",
            ),
        },
        EligibilityKind::AgeRange => explain_age(service, requirement, situation),
    }
}

fn months_word(n: u32) -> &'static str {
    if n == 1 { "month" } else { "months" }
}

fn explain_age(service: &ServiceEligibility, requirement: &Requirement, situation: &Situation) -> (String, String) {
    let (subject, age) = age_for(service, requirement, situation);
    let (range_zh, range_en) = match (requirement.min_age, requirement.max_age) {
        (Some(min), Some(max)) => (format!("年龄在{min}到{max}岁之间"), format!("aged {min} to {max}")),
        (Some(min), None) => (format!("年满{min}岁"), format!("aged {min} or over")),
        (None, Some(max)) => (format!("年龄在{max}岁及以下"), format!("aged {max} or under")),
        (None, None) => return ("不限年龄".to_owned(), "any age".to_owned()),
    };
    match (subject, age) {
        (Subject::Child, Some(age)) => (
            format!("需要孩子{range_zh}；孩子{age}岁"),
            format!("needs the child to be {range_en}; the child is {age}"),
        ),
        (Subject::Child, None) => (
            format!("需要孩子{range_zh}；请告诉我们孩子的年龄"),
            format!("needs the child to be {range_en}; tell us the child's age"),
        ),
        (Subject::Person, Some(age)) => {
            (format!("需要{range_zh}；您{age}岁"), format!("needs you to be {range_en}; you are {age}"))
        }
        (Subject::Person, None) => {
            (format!("需要{range_zh}；请告诉我们您的年龄"), format!("needs you to be {range_en}; tell us your age"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Field;

    fn months(n: i32) -> Option<Months> {
        Months::parse(Field::SituationSocialInsuranceMonths, n).ok()
    }

    fn age(n: i32) -> Option<Age> {
        Age::parse(Field::SituationAge, n).ok()
    }

    fn requirement(kind: EligibilityKind) -> Requirement {
        Requirement { kind, months: None, min_age: None, max_age: None }
    }

    fn ages(min: Option<u32>, max: Option<u32>) -> Requirement {
        Requirement { min_age: min, max_age: max, ..requirement(EligibilityKind::AgeRange) }
    }

    fn service(requirements: &[Requirement], for_children: bool) -> ServiceEligibility {
        ServiceEligibility { requirements: requirements.into(), for_children }
    }

    /// The one check of a one-requirement service.
    fn only(requirement: Requirement, for_children: bool, situation: Situation) -> RequirementCheck {
        let mut checks = check(&service(&[requirement], for_children), &situation).checks;
        assert_eq!(checks.len(), 1);
        checks.remove(0)
    }

    #[test]
    fn any_hukou_is_met_whatever_the_situation_says() {
        let check = only(requirement(EligibilityKind::HukouAnywhere), false, Situation::default());
        assert_eq!(check.outcome, Outcome::Met);
        assert!(check.explanation_zh.contains("不限户口") && check.explanation_en.contains("any hukou"));
        let local = Situation { local_hukou: Some(false), ..Default::default() };
        assert_eq!(only(requirement(EligibilityKind::HukouAnywhere), false, local).outcome, Outcome::Met);
    }

    #[test]
    fn a_local_hukou_is_met_by_one_unmet_without_and_unknown_untold() {
        let kind = requirement(EligibilityKind::LocalHukou);
        let yes = only(kind, false, Situation { local_hukou: Some(true), ..Default::default() });
        let no = only(kind, false, Situation { local_hukou: Some(false), ..Default::default() });
        let untold = only(kind, false, Situation::default());
        assert_eq!((yes.outcome, no.outcome, untold.outcome), (Outcome::Met, Outcome::NotMet, Outcome::Unknown));
        assert_eq!(no.explanation_zh, "需要本市户口；您没有本市户口");
        assert_eq!(no.explanation_en, "needs a hukou of this city; you do not have one");
        assert!(untold.explanation_en.contains("tell us"));
    }

    #[test]
    fn a_residence_permit_is_met_by_any_months_held_and_unmet_by_none() {
        let kind = requirement(EligibilityKind::ResidencePermit);
        let held = only(kind, false, Situation { residence_permit_months: months(3), ..Default::default() });
        let none = only(kind, false, Situation { residence_permit_months: months(0), ..Default::default() });
        let untold = only(kind, false, Situation::default());
        assert_eq!((held.outcome, none.outcome, untold.outcome), (Outcome::Met, Outcome::NotMet, Outcome::Unknown));
        assert_eq!(held.explanation_zh, "需要本市居住证；您已持有3个月");
        assert_eq!(none.explanation_en, "needs this city's residence permit; you do not have one");
        let twelve = Requirement { months: Some(12), ..kind };
        let short = only(twelve, false, Situation { residence_permit_months: months(3), ..Default::default() });
        assert_eq!(short.outcome, Outcome::NotMet, "a permit held for fewer months than asked");
        assert!(short.explanation_zh.contains("满12个月"));
    }

    #[test]
    fn social_insurance_months_are_counted_against_the_months_needed() {
        let six = Requirement { months: Some(6), ..requirement(EligibilityKind::SocialInsuranceMonths) };
        let three = only(six, false, Situation { social_insurance_months: months(3), ..Default::default() });
        assert_eq!(three.outcome, Outcome::NotMet);
        assert_eq!(three.explanation_zh, "需要缴纳社保满6个月；您已缴纳3个月");
        assert_eq!(three.explanation_en, "needs 6 months of social insurance; you have 3");
        let enough = only(six, false, Situation { social_insurance_months: months(6), ..Default::default() });
        assert_eq!(enough.outcome, Outcome::Met);
        let untold = only(six, false, Situation::default());
        assert_eq!(untold.outcome, Outcome::Unknown);
        assert!(untold.explanation_zh.contains("请告诉我们"));
    }

    #[test]
    fn a_labour_contract_and_a_registered_lease_are_yes_no_or_untold() {
        for kind in [EligibilityKind::LabourContract, EligibilityKind::RegisteredLease] {
            let told = |fact: Option<bool>| {
                let situation = match kind {
                    EligibilityKind::LabourContract => Situation { labour_contract: fact, ..Default::default() },
                    _ => Situation { registered_lease: fact, ..Default::default() },
                };
                only(requirement(kind), false, situation)
            };
            assert_eq!(told(Some(true)).outcome, Outcome::Met);
            let no = told(Some(false));
            assert_eq!(no.outcome, Outcome::NotMet);
            assert!(no.explanation_zh.contains("您没有") && no.explanation_en.contains("you do not have one"));
            assert_eq!(told(None).outcome, Outcome::Unknown);
        }
        let lease = only(requirement(EligibilityKind::RegisteredLease), false, Situation::default());
        assert_eq!(lease.explanation_zh, "需要登记备案的租房合同；请告诉我们您是否有");
    }

    #[test]
    fn an_adult_service_judges_the_persons_age() {
        let working_age = ages(Some(16), Some(60));
        let adult = only(working_age, false, Situation { age: age(35), child_age: age(8), ..Default::default() });
        assert_eq!(adult.outcome, Outcome::Met, "the child's age says nothing about a job service");
        assert_eq!(adult.explanation_en, "needs you to be aged 16 to 60; you are 35");
        let older = only(working_age, false, Situation { age: age(61), ..Default::default() });
        assert_eq!(older.outcome, Outcome::NotMet);
        assert_eq!(older.explanation_zh, "需要年龄在16到60岁之间；您61岁");
        let only_child = only(working_age, false, Situation { child_age: age(8), ..Default::default() });
        assert_eq!(only_child.outcome, Outcome::Unknown);
        let open_ended = only(ages(Some(50), None), false, Situation { age: age(49), ..Default::default() });
        assert_eq!(open_ended.outcome, Outcome::NotMet);
        assert!(open_ended.explanation_zh.contains("年满50岁"));
    }

    #[test]
    fn a_childrens_service_judges_the_childs_age() {
        let school = ages(Some(6), Some(12));
        let fits = only(school, true, Situation { age: age(35), child_age: age(8), ..Default::default() });
        assert_eq!(fits.outcome, Outcome::Met);
        assert_eq!(fits.explanation_zh, "需要孩子年龄在6到12岁之间；孩子8岁");
        let too_young = only(school, true, Situation { child_age: age(4), ..Default::default() });
        assert_eq!(too_young.outcome, Outcome::NotMet);
        assert_eq!(too_young.explanation_en, "needs the child to be aged 6 to 12; the child is 4");
        let parent_only = only(school, true, Situation { age: age(35), ..Default::default() });
        assert_eq!(parent_only.outcome, Outcome::Unknown, "an adult's own age does not rule a school out");
        assert!(parent_only.explanation_en.contains("tell us the child's age"));
        let teenager = only(school, true, Situation { age: age(11), ..Default::default() });
        assert_eq!(teenager.outcome, Outcome::Met, "a minor may ask for themselves");
        let camp = only(school, false, Situation { age: age(35), child_age: age(9), ..Default::default() });
        assert_eq!(camp.outcome, Outcome::Met, "a range that ends below 18 is a children's range in any category");
    }

    #[test]
    fn the_verdict_is_no_when_anything_is_unmet_and_maybe_when_anything_is_untold() {
        let school = service(
            &[
                requirement(EligibilityKind::ResidencePermit),
                Requirement { months: Some(6), ..requirement(EligibilityKind::SocialInsuranceMonths) },
                ages(Some(6), Some(12)),
            ],
            true,
        );
        let all = Situation {
            residence_permit_months: months(24),
            social_insurance_months: months(8),
            child_age: age(7),
            ..Default::default()
        };
        assert_eq!(check(&school, &all).verdict, Verdict::Eligible);
        let partial = Situation { child_age: age(7), ..Default::default() };
        assert_eq!(check(&school, &partial).verdict, Verdict::Maybe);
        assert!(!rules_out(&school, &partial), "a maybe is not ruled out");
        let short = Situation { social_insurance_months: months(3), ..partial };
        let checked = check(&school, &short);
        assert_eq!(checked.verdict, Verdict::NotEligible);
        assert!(checked.summary_en.contains("missing") && checked.summary_zh.contains("缺少"));
        assert!(rules_out(&school, &short));
        assert_eq!(check(&service(&[], false), &Situation::default()).verdict, Verdict::Eligible);
    }
}
