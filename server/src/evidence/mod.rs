//! Evidence for funders and committees: aggregates only, never a person.
//!
//! - [`supply`]: listed services around each urban village, by category, within a 1 km and a
//!   3 km walk, and the gaps a rule set (data) flags;
//! - [`unmet`]: searches that found nothing useful, counted in memory by (village, category,
//!   reason, day) and written as counts only;
//! - [`groups`]: referral outcomes per organisation and per category, month by month, and who
//!   may read them (a condition on the referrals, in the query);
//! - [`kanon`]: the k-anonymity rule (k = 5, complementary suppression) that every figure
//!   derived from people passes through before it is shown;
//! - [`report`]: the printable one-page village report (HTML with server-drawn SVG) and the CSV
//!   export.
//!
//! Access is scoped like every other staff read: admins see every village, committee staff the
//! villages of their areas; anyone else (provider staff included, whose scope is their own
//! services) finds no village, exactly as if it did not exist. See `docs/EVIDENCE.md`.

pub mod groups;
pub mod kanon;
pub mod outcomes;
pub mod report;
pub mod supply;
pub mod unmet;

use std::collections::HashMap;
use std::sync::Arc;

use qiao_schema::entity::unmet_need_count;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use chrono::{DateTime, Utc};

use crate::auth::Caller;
use crate::auth::policy::{Scope, StaffReader};
use crate::directory::Directory;
use crate::directory::index::TermIdx;
use crate::error::{ApiError, ApiResult};
use crate::values::ReportMonth;
use kanon::{Figure, protect};
use supply::VillageSupply;

/// One cell of the unmet-needs table.
#[derive(Debug, Clone)]
pub struct UnmetCell {
    /// The category searched for; `None` for searches that named none.
    pub category: Option<TermIdx>,
    pub figure: Figure,
}

/// Searches of one village and month that found nothing useful, by the category searched for
/// (all reasons together), protected as one table whose total is published.
#[derive(Debug, Clone)]
pub struct UnmetTable {
    pub cells: Vec<UnmetCell>,
    pub total: Figure,
}

/// Everything a village report shows.
#[derive(Debug, Clone)]
pub struct VillageEvidence {
    pub directory: Arc<Directory>,
    /// Index into `directory.villages`.
    pub village: usize,
    pub month: ReportMonth,
    pub supply: VillageSupply,
    pub unmet: UnmetTable,
    /// Referrals of the month to services at places in the village (`outcomes`).
    pub outcomes: outcomes::OutcomeFigures,
}

/// Whether a staff reader may see a village's evidence: admins everywhere, committee staff when
/// the village's centre lies in their areas (which include their villages' own boundaries).
fn village_in_scope(scope: &Scope, directory: &Directory, village: usize) -> bool {
    match scope {
        Scope::Everything => true,
        Scope::Areas(areas) => areas.covers(directory.villages[village].centroid),
        Scope::Organization(_) | Scope::Nothing => false,
    }
}

/// The villages whose evidence `reader` may see, in the directory's order (by id).
pub fn villages_in_scope(reader: &StaffReader, directory: &Directory) -> Vec<usize> {
    (0..directory.villages.len()).filter(|village| village_in_scope(&reader.scope, directory, *village)).collect()
}

/// A village's evidence as a caller asks for it: checks the caller is staff, reads the month
/// (`YYYY-MM`, a finished one; default the last finished month) and the village in scope. The
/// GraphQL query and the printable report both come through here.
pub async fn village_evidence_for(
    db: &impl ConnectionTrait,
    caller: &Caller,
    directory: Arc<Directory>,
    village_id: &str,
    month: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<VillageEvidence> {
    let reader = StaffReader::of(db, caller, now).await?;
    let month = report_month(month, now)?;
    if village_id.len() > 64 {
        return Err(ApiError::not_found("urban village"));
    }
    village_evidence(db, &reader, directory, village_id, month).await
}

/// One service's referral outcomes for a month, with its programme facts beside them, so a funder
/// sees a programme's referrals next to what it is.
#[derive(Debug, Clone)]
pub struct ServiceEvidence {
    pub service: qiao_schema::entity::service::Model,
    pub program: Option<qiao_schema::entity::program::Model>,
    pub month: ReportMonth,
    pub outcomes: outcomes::OutcomeFigures,
}

/// A service's outcomes as a caller asks for them: staff whose scope may change the service
/// (admins any; provider staff their own organisation's; committee staff those whose every place
/// lies in their areas); NOT_FOUND otherwise, exactly as for a service that does not exist.
pub async fn service_evidence_for(
    db: &impl ConnectionTrait,
    caller: &Caller,
    service_id: &str,
    month: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<ServiceEvidence> {
    use qiao_schema::entity::{program, referral, service};
    let reader = StaffReader::of(db, caller, now).await?;
    let month = report_month(month, now)?;
    if service_id.len() > 64 || !crate::auth::policy::may_change_service(db, &reader.scope, service_id).await? {
        return Err(ApiError::not_found("service"));
    }
    let service = service::Entity::find_by_id(service_id.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("service"))?;
    let program = match &service.program_id {
        Some(id) => program::Entity::find_by_id(id.clone()).one(db).await?,
        None => None,
    };
    let of_service = sea_orm::Condition::all().add(referral::Column::ServiceId.eq(service_id));
    let referrals = outcomes::referrals_of_month(db, of_service, month).await?;
    Ok(ServiceEvidence { service, program, month, outcomes: outcomes::figures(&referrals) })
}

/// The months a caller asks for: the last one (`YYYY-MM`, a finished month; default the last
/// finished month) and how many up to it (default 1, at most 12).
#[derive(Debug, Clone, Copy, Default)]
pub struct MonthsAsked<'a> {
    pub month: Option<&'a str>,
    pub months: Option<i32>,
}

/// An organisation's outcomes as a caller asks for them (`groups::organization_evidence`): the
/// month series ends with `month` (default the last finished month) and runs `months` long
/// (default 1, at most 12).
pub async fn organization_evidence_for(
    db: &impl ConnectionTrait,
    caller: &Caller,
    directory: &Directory,
    organization_id: &str,
    asked: MonthsAsked<'_>,
    now: DateTime<Utc>,
) -> ApiResult<groups::OrganizationEvidence> {
    let reader = groups::OutcomeReader::of(db, caller, now).await?;
    let series = groups::month_series(report_month(asked.month, now)?, asked.months)?;
    groups::organization_evidence(db, &reader, directory, organization_id, &series).await
}

/// A category's outcomes as a caller asks for them (`groups::category_evidence`), months as for
/// [`organization_evidence_for`].
pub async fn category_evidence_for(
    db: &impl ConnectionTrait,
    caller: &Caller,
    directory: Arc<Directory>,
    category_code: &str,
    village_id: Option<&str>,
    asked: MonthsAsked<'_>,
    now: DateTime<Utc>,
) -> ApiResult<groups::CategoryEvidence> {
    let reader = groups::OutcomeReader::of(db, caller, now).await?;
    let series = groups::month_series(report_month(asked.month, now)?, asked.months)?;
    if village_id.is_some_and(|id| id.len() > 64) {
        return Err(ApiError::not_found("urban village"));
    }
    groups::category_evidence(db, &reader, directory, category_code, village_id, &series).await
}

/// The month a caller asked for (a finished one), or the last finished month.
fn report_month(month: Option<&str>, now: DateTime<Utc>) -> ApiResult<ReportMonth> {
    let today = unmet::day_of(now);
    Ok(match month {
        Some(text) => ReportMonth::parse(text, today)?,
        None => ReportMonth::last_before(today),
    })
}

/// A village's evidence for `month`; NOT_FOUND when the village does not exist or is out of the
/// reader's scope (the two read alike).
pub async fn village_evidence(
    db: &impl ConnectionTrait,
    reader: &StaffReader,
    directory: Arc<Directory>,
    village_id: &str,
    month: ReportMonth,
) -> ApiResult<VillageEvidence> {
    let village = directory
        .villages
        .iter()
        .position(|village| village.id == village_id)
        .filter(|village| village_in_scope(&reader.scope, &directory, *village))
        .ok_or_else(|| ApiError::not_found("urban village"))?;
    let supply = supply::village_supply(&directory, village, supply::gap_rules());
    let unmet = unmet_table(db, &directory, village_id, month).await?;
    // A referral belongs to the village of the place it was sent to (`outcomes`).
    let boundary = &directory.villages[village].boundary;
    let mut places: Vec<String> = directory
        .places
        .iter()
        .filter(|place| place.live && crate::directory::geometry::covers(boundary, place.point))
        .map(|place| place.location_id.to_string())
        .collect();
    places.sort_unstable();
    places.dedup();
    let in_village = sea_orm::Condition::all().add(qiao_schema::entity::referral::Column::LocationId.is_in(places));
    let referrals = outcomes::referrals_of_month(db, in_village, month).await?;
    let outcomes = outcomes::figures(&referrals);
    Ok(VillageEvidence { directory, village, month, supply, unmet, outcomes })
}

/// Reads a village's day counts of `month` and sums them by category, in the taxonomy's order
/// (searches without a category last); then protects the table.
async fn unmet_table(
    db: &impl ConnectionTrait,
    directory: &Directory,
    village_id: &str,
    month: ReportMonth,
) -> ApiResult<UnmetTable> {
    let rows = unmet_need_count::Entity::find()
        .filter(unmet_need_count::Column::UrbanVillageId.eq(village_id))
        .filter(unmet_need_count::Column::Day.gte(month.first_day()))
        .filter(unmet_need_count::Column::Day.lt(month.end()))
        .all(db)
        .await?;
    let mut sums: HashMap<Option<TermIdx>, u64> = HashMap::new();
    for row in rows {
        let category = if row.category_code == unmet::ANY_CATEGORY {
            None
        } else {
            match directory.taxonomy.by_code(&row.category_code) {
                Some(term) => Some(term),
                None => continue, // a category since removed from the taxonomy
            }
        };
        *sums.entry(category).or_insert(0) += u64::try_from(row.count).unwrap_or(0);
    }
    let order = supply::categories_in_tree_order(directory);
    let mut keys: Vec<Option<TermIdx>> = sums.keys().copied().collect();
    // Tree order, searches without a category last.
    keys.sort_by_key(|key| {
        key.map_or(usize::MAX, |term| order.iter().position(|t| *t == term).unwrap_or(usize::MAX - 1))
    });
    let counts: Vec<u64> = keys.iter().map(|key| sums[key]).collect();
    let protected = protect(&counts);
    let cells =
        keys.into_iter().zip(protected.cells).map(|(category, figure)| UnmetCell { category, figure }).collect();
    Ok(UnmetTable { cells, total: protected.total })
}
