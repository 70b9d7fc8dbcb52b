//! Evidence for committees and funders: per urban village (`villageReport`: supply around the
//! village, the gaps the rule set flags, searches that found nothing useful) and referral
//! outcomes per service, organisation and category, with every figure derived from people
//! protected by `evidence::kanon`. The domain, access included, is `crate::evidence`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::category::ServiceCategory;
use super::common::{Language, ReferralStatus, language_of};
use super::context::state;
use super::objects::{Programme, UrbanVillage};
use crate::auth::caller;
use crate::evidence::kanon::{self, Figure, Hidden};
use crate::evidence::outcomes::OutcomeFigures;
use crate::evidence::supply::{self, Counts};
use crate::evidence::{self, MonthsAsked, VillageEvidence};

#[derive(Default)]
pub struct EvidenceQuery;

#[Object]
impl EvidenceQuery {
    /// One urban village's evidence: the services around it by category (within a 1 km and a
    /// 3 km walk), the gaps the rule set flags, and the searches made there that found nothing
    /// useful in a finished month, by category, with small counts hidden. Staff only: admins see
    /// every village, committee staff the villages of their areas; for anyone else a village reads
    /// as missing (NOT_FOUND). The same report prints at `GET /evidence/villages/{id}/report.html`
    /// and exports at `…/report.csv`.
    async fn village_report(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The urban village's id.")] village_id: ID,
        #[graphql(desc = "The finished calendar month (China Standard Time) whose searches to count, \
                          as YYYY-MM; default the last finished month. A month not yet over is refused.")]
        month: Option<String>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<VillageReport> {
        let state = state(ctx)?;
        let evidence = evidence::village_evidence_for(
            &state.db,
            caller(ctx),
            state.directory.current(),
            &village_id,
            month.as_deref(),
            state.clock.now(),
        )
        .await?;
        Ok(VillageReport { evidence, language: language_of(ctx, language) })
    }

    /// One service's referral outcomes in a finished month, with its programme's facts (funders,
    /// delivery mode, running since) beside them. Staff only: admins any service, provider staff
    /// their own organisation's, committee staff those whose every place lies in their areas; for
    /// anyone else the service reads as missing (NOT_FOUND). Every figure rests on at least 5
    /// referrals or is null.
    async fn service_outcomes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The service's id.")] service_id: ID,
        #[graphql(desc = "The finished calendar month (China Standard Time) as YYYY-MM; default the last \
                          finished month. A month not yet over is refused.")]
        month: Option<String>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<ServiceOutcomes> {
        let state = state(ctx)?;
        let evidence =
            evidence::service_evidence_for(&state.db, caller(ctx), &service_id, month.as_deref(), state.clock.now())
                .await?;
        let language = language_of(ctx, language);
        Ok(ServiceOutcomes {
            service_id: ID(evidence.service.id.clone()),
            name: language.pick(&evidence.service.name_zh, &evidence.service.name_en).to_owned(),
            month: evidence.month.to_string(),
            programme: evidence.program.as_ref().map(|p| programme(p, language)),
            outcomes: (&evidence.outcomes).into(),
        })
    }

    /// An organisation's referral outcomes month by month, both ways: referrals sent to its
    /// services and referrals its social workers sent, with its programmes' facts (funders,
    /// delivery mode, running since) beside them. Admins see any organisation; committee staff
    /// one with a place in their areas, counting only referrals to places in their areas;
    /// provider staff and social workers their own organisation. For anyone else the
    /// organisation reads as missing (NOT_FOUND). Every figure rests on at least 5 referrals or is
    /// null. The same figures export as CSV at `GET /evidence/organizations/{id}/outcomes.csv`.
    async fn organization_outcomes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The organisation's id.")] organization_id: ID,
        #[graphql(desc = "The last finished calendar month (China Standard Time) of the series, as YYYY-MM; \
                          default the last finished month. A month not yet over is refused.")]
        month: Option<String>,
        #[graphql(desc = "How many months, up to and including `month`: 1 (default) to 12.")] months: Option<i32>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<OrganizationOutcomes> {
        let state = state(ctx)?;
        let evidence = evidence::organization_evidence_for(
            &state.db,
            caller(ctx),
            &state.directory.current(),
            &organization_id,
            MonthsAsked { month: month.as_deref(), months },
            state.clock.now(),
        )
        .await?;
        let language = language_of(ctx, language);
        let organization = &evidence.organization;
        Ok(OrganizationOutcomes {
            organization_id: ID(organization.id.clone()),
            name: language.pick(&organization.name_zh, &organization.name_en).to_owned(),
            programmes: evidence.programs.iter().map(|p| programme(p, language)).collect(),
            months: evidence
                .months
                .iter()
                .map(|month| OrganizationMonthOutcomes {
                    month: month.month.to_string(),
                    received: (&month.received).into(),
                    sent: (&month.sent).into(),
                })
                .collect(),
        })
    }

    /// Referral outcomes month by month for services of one category (its sub-categories
    /// included, by each service's primary category), optionally only those sent to places in
    /// one urban village. Counted over the referrals the caller may see: admins all, committee
    /// staff those to places in their areas (a village outside them reads as missing), provider
    /// staff and social workers their own organisation's (sent to it or by it). Anyone else is
    /// refused (FORBIDDEN). Every figure rests on at least 5 referrals or is null.
    async fn category_outcomes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category.")] category: ServiceCategory,
        #[graphql(desc = "Only referrals to places in this urban village.")] village_id: Option<ID>,
        #[graphql(desc = "The last finished calendar month (China Standard Time) of the series, as YYYY-MM; \
                          default the last finished month. A month not yet over is refused.")]
        month: Option<String>,
        #[graphql(desc = "How many months, up to and including `month`: 1 (default) to 12.")] months: Option<i32>,
        #[graphql(desc = "Language of texts (default: Accept-Language, else Chinese).")] language: Option<Language>,
    ) -> async_graphql::Result<CategoryOutcomes> {
        let state = state(ctx)?;
        let evidence = evidence::category_evidence_for(
            &state.db,
            caller(ctx),
            state.directory.current(),
            category.code(),
            village_id.as_ref().map(|id| id.as_str()),
            MonthsAsked { month: month.as_deref(), months },
            state.clock.now(),
        )
        .await?;
        let language = language_of(ctx, language);
        let term = &evidence.directory.taxonomy.terms[evidence.category];
        Ok(CategoryOutcomes {
            category,
            name: language.pick(&term.name_zh, &term.name_en).to_owned(),
            village: evidence.village.map(|index| UrbanVillage {
                directory: evidence.directory.clone(),
                index,
                language,
            }),
            months: evidence
                .months
                .iter()
                .map(|(month, figures)| MonthOutcomes { month: month.to_string(), outcomes: figures.into() })
                .collect(),
        })
    }
}

fn programme(p: &qiao_schema::entity::program::Model, language: Language) -> Programme {
    Programme {
        name: language.pick(&p.name_zh, &p.name_en).to_owned(),
        description: language.pick_opt(p.description_zh.as_deref(), p.description_en.as_deref()),
        funders: language.pick(&p.funders_zh, &p.funders_en).to_owned(),
        delivery_mode: p.delivery_mode.into(),
        since_year: p.since_year,
    }
}

/// An organisation's referral outcomes month by month, beside its programmes' facts.
#[derive(SimpleObject)]
pub struct OrganizationOutcomes {
    /// The organisation's id.
    organization_id: ID,
    /// The organisation's name.
    name: String,
    /// Its programmes: funders, delivery mode, running since.
    programmes: Vec<Programme>,
    /// The months asked for, oldest first.
    months: Vec<OrganizationMonthOutcomes>,
}

/// One month of an organisation's referrals, both ways.
#[derive(SimpleObject)]
pub struct OrganizationMonthOutcomes {
    /// The month counted (YYYY-MM).
    month: String,
    /// Referrals sent to the organisation's services.
    received: ReferralOutcomes,
    /// Referrals the organisation's social workers sent.
    sent: ReferralOutcomes,
}

/// A category's referral outcomes month by month.
#[derive(SimpleObject)]
pub struct CategoryOutcomes {
    /// The category.
    category: ServiceCategory,
    /// The category's name.
    name: String,
    /// The urban village counted, when narrowed to one.
    village: Option<UrbanVillage>,
    /// The months asked for, oldest first.
    months: Vec<MonthOutcomes>,
}

/// How one month's referrals fared.
#[derive(SimpleObject)]
pub struct MonthOutcomes {
    /// The month counted (YYYY-MM).
    month: String,
    /// Its outcomes.
    outcomes: ReferralOutcomes,
}

/// One service's referral outcomes in a month, beside its programme's facts.
#[derive(SimpleObject)]
pub struct ServiceOutcomes {
    /// The service's id.
    service_id: ID,
    /// The service's name.
    name: String,
    /// The month counted (YYYY-MM).
    month: String,
    /// The programme the service belongs to: funders, delivery mode, running since.
    programme: Option<Programme>,
    /// How the month's referrals to the service fared.
    outcomes: ReferralOutcomes,
}

/// An urban village's evidence report.
pub struct VillageReport {
    evidence: VillageEvidence,
    language: Language,
}

/// Counts of listed services within one walking distance.
#[derive(SimpleObject)]
pub struct SupplyCounts {
    /// Listed services.
    services: i32,
    /// Of them, free ones (every stated cost is zero).
    free: i32,
    /// Of them, open after 18:00 on some weekday (their usual weekly hours).
    open_evenings: i32,
    /// Of them, open on Sundays (their usual weekly hours).
    open_sunday: i32,
    /// Of them, those that do not require a local hukou.
    without_local_hukou: i32,
}

impl From<Counts> for SupplyCounts {
    fn from(counts: Counts) -> Self {
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        Self {
            services: int(counts.services),
            free: int(counts.free),
            open_evenings: int(counts.open_evenings),
            open_sunday: int(counts.open_sunday),
            without_local_hukou: int(counts.without_local_hukou),
        }
    }
}

/// One category's supply around a village; a category counts its sub-categories' services too.
#[derive(SimpleObject)]
pub struct CategorySupply {
    /// The category.
    category: ServiceCategory,
    /// Its parent category, for top-level ones null.
    parent: Option<ServiceCategory>,
    /// The category's name.
    name: String,
    /// Listed services with a place within a 1 km walk (a 15-minute walk) of the village's centre.
    #[graphql(name = "within1km")]
    within1km: i32,
    /// Listed services with a place within a 3 km walk.
    #[graphql(name = "within3km")]
    within3km: i32,
    /// Details within a 1 km walk.
    near: SupplyCounts,
    /// Details within a 3 km walk.
    reach: SupplyCounts,
    /// Services without a place of their own whose service area covers the village (a hotline).
    serving_area: i32,
}

/// A gap the rule set flags for a village.
#[derive(SimpleObject)]
pub struct EvidenceGap {
    /// The rule's stable code, e.g. `no_legal_aid_3km`.
    code: String,
    /// What is missing, in plain words.
    text: String,
}

/// Why a figure is not shown.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum HiddenFigure {
    /// It rests on fewer than 5 people or searches ("< 5").
    FewerThanFive,
    /// It is larger, but hidden so that the total minus the shown figures cannot reveal a small one.
    ProtectsAnother,
}

impl From<Hidden> for HiddenFigure {
    fn from(hidden: Hidden) -> Self {
        match hidden {
            Hidden::FewerThanK => Self::FewerThanFive,
            Hidden::ProtectsAnother => Self::ProtectsAnother,
        }
    }
}

/// Searches in the village that found nothing useful in the month, for one category.
#[derive(SimpleObject)]
pub struct UnmetNeed {
    /// The category searched for; null for searches that named no category.
    category: Option<ServiceCategory>,
    /// How many searches; null when hidden (see `hidden`).
    count: Option<i32>,
    /// Why `count` is null, if it is.
    hidden: Option<HiddenFigure>,
    /// The figure as printed: the number, "< 5" or "隐藏 hidden".
    label: String,
}

/// Referrals in one status.
#[derive(SimpleObject)]
pub struct StatusCount {
    /// The status the referrals are in now (never `DRAFT` or `ENTERED_IN_ERROR`: those are not
    /// counted).
    status: ReferralStatus,
    /// How many; null when hidden (see `hidden`).
    count: Option<i32>,
    /// Why `count` is null, if it is.
    hidden: Option<HiddenFigure>,
}

/// A reason code with how many referrals gave it (only reasons resting on 5 or more).
#[derive(SimpleObject)]
pub struct ReasonCount {
    /// The structured reason code.
    reason: String,
    /// How many referrals.
    count: i32,
}

/// How referrals fared in a month; every figure rests on at least 5 referrals or is null.
#[derive(SimpleObject)]
pub struct ReferralOutcomes {
    /// Referrals sent (drafts and those entered in error left out).
    referrals: Option<i32>,
    /// By current status.
    by_status: Vec<StatusCount>,
    /// Accepted over answered (accepted or rejected), 0 to 1.
    acceptance_rate: Option<f64>,
    /// Completed over ended with an outcome (completed or failed), 0 to 1.
    completion_rate: Option<f64>,
    /// Median days from sending to acceptance.
    median_days_to_acceptance: Option<f64>,
    /// Median days from sending to completion or failure.
    median_days_to_outcome: Option<f64>,
    /// The commonest reasons for rejection, most first.
    top_rejection_reasons: Vec<ReasonCount>,
    /// The commonest reasons for failure, most first.
    top_failure_reasons: Vec<ReasonCount>,
    /// People who said they got help.
    feedback_got_help: Option<i32>,
    /// People who said they could not get help.
    feedback_could_not: Option<i32>,
    /// Referrals forwarded from another referral.
    forwarded: Option<i32>,
}

fn int(figure: Figure) -> Option<i32> {
    figure.value().map(|n| i32::try_from(n).unwrap_or(i32::MAX))
}

impl From<&OutcomeFigures> for ReferralOutcomes {
    fn from(figures: &OutcomeFigures) -> Self {
        let reasons = |list: &[(String, u64)]| {
            list.iter()
                .map(|(reason, count)| ReasonCount {
                    reason: reason.clone(),
                    count: i32::try_from(*count).unwrap_or(i32::MAX),
                })
                .collect()
        };
        Self {
            referrals: int(figures.referrals),
            by_status: figures
                .by_status
                .iter()
                .map(|(status, figure)| StatusCount {
                    status: (*status).into(),
                    count: int(*figure),
                    hidden: figure.hidden().map(Into::into),
                })
                .collect(),
            acceptance_rate: figures.acceptance_rate,
            completion_rate: figures.completion_rate,
            median_days_to_acceptance: figures.median_days_to_acceptance,
            median_days_to_outcome: figures.median_days_to_outcome,
            top_rejection_reasons: reasons(&figures.top_rejection_reasons),
            top_failure_reasons: reasons(&figures.top_failure_reasons),
            feedback_got_help: int(figures.got_help),
            feedback_could_not: int(figures.could_not),
            forwarded: int(figures.forwarded),
        }
    }
}

/// An urban village's evidence report: services near it, gaps, unmet needs, referral outcomes.
#[Object]
impl VillageReport {
    /// How the month's referrals to services at places in the village fared (a referral belongs
    /// to the village of the place it was sent to; the client's own village is never stored).
    async fn outcomes(&self) -> ReferralOutcomes {
        (&self.evidence.outcomes).into()
    }

    /// The village.
    async fn village(&self) -> UrbanVillage {
        UrbanVillage {
            directory: self.evidence.directory.clone(),
            index: self.evidence.village,
            language: self.language,
        }
    }

    /// The month whose searches are counted (YYYY-MM).
    async fn month(&self) -> String {
        self.evidence.month.to_string()
    }

    /// Walking distance is estimated as the geodesic distance times this factor (1.3: streets
    /// are not straight; see docs/EVIDENCE.md).
    async fn walking_factor(&self) -> f64 {
        supply::WALKING_FACTOR
    }

    /// The smallest number of people or searches a shown figure rests on (5).
    async fn k(&self) -> i32 {
        kanon::K as i32
    }

    /// Supply by category, every category of the tree (parents before their children).
    async fn supply(&self) -> Vec<CategorySupply> {
        let directory = &self.evidence.directory;
        let int = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        self.evidence
            .supply
            .categories
            .iter()
            .filter_map(|supply| {
                let term = &directory.taxonomy.terms[supply.term];
                Some(CategorySupply {
                    category: ServiceCategory::from_code(&term.code)?,
                    parent: term
                        .parent
                        .and_then(|parent| ServiceCategory::from_code(&directory.taxonomy.terms[parent].code)),
                    name: self.language.pick(&term.name_zh, &term.name_en).to_owned(),
                    within1km: int(supply.near.services),
                    within3km: int(supply.reach.services),
                    near: supply.near.into(),
                    reach: supply.reach.into(),
                    serving_area: int(supply.serving_area),
                })
            })
            .collect()
    }

    /// What is missing, in plain words: one line per gap the rule set flags.
    async fn gaps(&self) -> Vec<String> {
        self.evidence.supply.gaps.iter().map(|gap| self.language.pick(&gap.text.zh, &gap.text.en).to_owned()).collect()
    }

    /// The flagged gaps with their rules' codes.
    async fn gap_rules(&self) -> Vec<EvidenceGap> {
        self.evidence
            .supply
            .gaps
            .iter()
            .map(|gap| EvidenceGap {
                code: gap.code.clone(),
                text: self.language.pick(&gap.text.zh, &gap.text.en).to_owned(),
            })
            .collect()
    }

    /// Searches in the village that found nothing (or nothing open, or nothing without a
    /// local-hukou requirement) in the month, by category searched for; a count resting on fewer
    /// than 5 searches is null, and so is a larger one where the total would reveal a small one.
    async fn unmet_needs(&self) -> Vec<UnmetNeed> {
        let directory = &self.evidence.directory;
        self.evidence
            .unmet
            .cells
            .iter()
            .map(|cell| UnmetNeed {
                category: cell
                    .category
                    .and_then(|term| ServiceCategory::from_code(&directory.taxonomy.terms[term].code)),
                count: cell.figure.value().map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                hidden: cell.figure.hidden().map(Into::into),
                label: cell.figure.label(),
            })
            .collect()
    }

    /// The sum of the unmet-need counts; null when hiding it is what protects a small one.
    async fn unmet_needs_total(&self) -> Option<i32> {
        self.evidence.unmet.total.value().map(|n| i32::try_from(n).unwrap_or(i32::MAX))
    }
}
