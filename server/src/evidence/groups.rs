//! Referral outcomes per organisation and per service category, month by month, and who may read
//! them. Every figure comes from [`outcomes::figures`] (so through `kanon`), one protected table
//! per month: a month's figures are the same whichever query or month series shows them, so two
//! answers never differ by a few referrals.
//!
//! Access is a condition on the `referral` rows, added to the query itself ([`OutcomeReader`]):
//! - admins: every referral;
//! - committee staff: referrals to places inside their areas (the rule of the village report: a
//!   referral belongs to the place it was sent to);
//! - provider staff and social workers: their own organisation's referrals, those sent to it and
//!   those it sent;
//! - anyone else: FORBIDDEN (signed out: UNAUTHENTICATED), as for the other evidence queries.
//!
//! An organisation or village outside the reader's view reads as missing (NOT_FOUND).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use qiao_schema::domain::Role;
use qiao_schema::entity::{location, organization, program, referral, service};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::outcomes::{self, OutcomeFigures, month_bounds};
use crate::auth::Caller;
use crate::auth::policy::{AreaScope, CaseWorker, Scope, StaffReader};
use crate::directory::Directory;
use crate::directory::index::TermIdx;
use crate::directory::rules::listed_location_condition;
use crate::error::{ApiError, ApiResult};
use crate::values::ReportMonth;

/// The longest month series one request may ask for (a year).
pub const MAX_MONTHS: u32 = 12;

/// Whose referrals a caller may count.
#[derive(Debug, Clone)]
pub enum OutcomeReader {
    /// An admin: every referral.
    Everything,
    /// Committee staff: referrals to places inside these areas.
    Areas(AreaScope),
    /// Provider staff or a social worker: referrals sent to or by this organisation.
    Organization(String),
}

impl OutcomeReader {
    /// The caller's reading rights: a social worker reads for its organisation; staff by their
    /// scope; anyone else is refused.
    pub async fn of(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> ApiResult<Self> {
        if caller.account().is_some_and(|account| account.role == Role::SocialWorker) {
            let worker = CaseWorker::of(db, caller, now).await?;
            return Ok(Self::Organization(worker.organization_id().to_owned()));
        }
        let reader = StaffReader::of(db, caller, now).await?;
        match &reader.scope {
            Scope::Everything => Ok(Self::Everything),
            Scope::Areas(areas) => Ok(Self::Areas(areas.clone())),
            Scope::Organization(organization) => Ok(Self::Organization(organization.clone())),
            Scope::Nothing => Err(ApiError::Forbidden),
        }
    }

    /// The referrals this reader may count, as a condition on `referral`.
    fn referrals(&self, directory: &Directory) -> Condition {
        match self {
            Self::Everything => Condition::all(),
            Self::Areas(areas) => {
                let places = location_ids(directory, |point| areas.covers(point));
                Condition::all().add(referral::Column::LocationId.is_in(places))
            }
            Self::Organization(organization) => Condition::any()
                .add(referral::Column::TargetOrganizationId.eq(organization.clone()))
                .add(referral::Column::ReferringOrganizationId.eq(organization.clone())),
        }
    }

    /// Whether the reader may see an organisation's outcomes: admins any; committee staff one
    /// with a current place inside their areas; organisation staff their own.
    async fn sees_organization(&self, db: &impl ConnectionTrait, organization_id: &str) -> ApiResult<bool> {
        Ok(match self {
            Self::Everything => true,
            Self::Organization(own) => own == organization_id,
            Self::Areas(areas) => {
                let points: Vec<(Option<f64>, Option<f64>)> = location::Entity::find()
                    .filter(location::Column::OrganizationId.eq(organization_id))
                    .filter(listed_location_condition())
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|place| (place.latitude, place.longitude))
                    .collect();
                points.into_iter().any(|(lat, lon)| {
                    lat.zip(lon).is_some_and(|(lat, lon)| areas.covers(qiao_schema::datum::LatLon::new(lat, lon)))
                })
            }
        })
    }
}

/// The ids of the directory's places whose point passes `test`, sorted, without repeats.
fn location_ids(directory: &Directory, test: impl Fn(qiao_schema::datum::LatLon) -> bool) -> Vec<String> {
    let mut places: Vec<String> = directory
        .places
        .iter()
        .filter(|place| place.live && test(place.point))
        .map(|place| place.location_id.to_string())
        .collect();
    places.sort_unstable();
    places.dedup();
    places
}

/// The months a series covers, oldest first, ending with `last`; `count` must be 1 to
/// [`MAX_MONTHS`] (BAD_USER_INPUT `months` otherwise).
pub fn month_series(last: ReportMonth, count: Option<i32>) -> ApiResult<Vec<ReportMonth>> {
    let count = match count {
        None => 1,
        Some(n) if (1..=MAX_MONTHS as i32).contains(&n) => n as u32,
        Some(n) => {
            return Err(ApiError::bad_input(
                "months",
                format!("months must be 1 to {MAX_MONTHS}, got {n} (月数应为 1 至 {MAX_MONTHS})"),
            ));
        }
    };
    let mut months = vec![last];
    while months.len() < count as usize {
        let earliest = months[months.len() - 1];
        months.push(ReportMonth::last_before(earliest.first_day()));
    }
    months.reverse();
    Ok(months)
}

/// The referrals `condition` selects created in the months of `series`, as one query, then the
/// figures of each month.
async fn figures_by_month(
    db: &impl ConnectionTrait,
    condition: Condition,
    series: &[ReportMonth],
) -> ApiResult<Vec<(ReportMonth, OutcomeFigures)>> {
    let (Some(first), Some(last)) = (series.first(), series.last()) else { return Ok(Vec::new()) };
    let (from, _) = month_bounds(*first);
    let (_, to) = month_bounds(*last);
    let rows = referral::Entity::find()
        .filter(condition)
        .filter(referral::Column::CreatedAt.gte(from))
        .filter(referral::Column::CreatedAt.lt(to))
        .all(db)
        .await?;
    Ok(series
        .iter()
        .map(|month| {
            let (from, to) = month_bounds(*month);
            let of_month: Vec<referral::Model> =
                rows.iter().filter(|r| r.created_at >= from && r.created_at < to).cloned().collect();
            (*month, outcomes::figures(&of_month))
        })
        .collect())
}

/// One month of an organisation's referrals, both ways.
#[derive(Debug, Clone)]
pub struct OrganizationMonth {
    pub month: ReportMonth,
    /// Referrals sent to the organisation's services.
    pub received: OutcomeFigures,
    /// Referrals its social workers sent.
    pub sent: OutcomeFigures,
}

/// An organisation's outcomes with its programmes' facts beside them.
#[derive(Debug, Clone)]
pub struct OrganizationEvidence {
    pub organization: organization::Model,
    pub programs: Vec<program::Model>,
    pub months: Vec<OrganizationMonth>,
}

/// An organisation's outcomes for the months of `series`, as `reader` may see them (committee
/// staff count only the referrals to places inside their areas); NOT_FOUND when the
/// organisation does not exist or is outside the reader's view.
pub async fn organization_evidence(
    db: &impl ConnectionTrait,
    reader: &OutcomeReader,
    directory: &Directory,
    organization_id: &str,
    series: &[ReportMonth],
) -> ApiResult<OrganizationEvidence> {
    let not_found = || ApiError::not_found("organization");
    if organization_id.len() > 64 || !reader.sees_organization(db, organization_id).await? {
        return Err(not_found());
    }
    let organization =
        organization::Entity::find_by_id(organization_id.to_owned()).one(db).await?.ok_or_else(not_found)?;
    let programs = program::Entity::find()
        .filter(program::Column::OrganizationId.eq(organization_id))
        .order_by_asc(program::Column::NameZh)
        .order_by_asc(program::Column::Id)
        .all(db)
        .await?;
    let within = reader.referrals(directory);
    let received = Condition::all().add(within.clone()).add(referral::Column::TargetOrganizationId.eq(organization_id));
    let sent = Condition::all().add(within).add(referral::Column::ReferringOrganizationId.eq(organization_id));
    let received = figures_by_month(db, received, series).await?;
    let sent = figures_by_month(db, sent, series).await?;
    let months = received
        .into_iter()
        .zip(sent)
        .map(|((month, received), (_, sent))| OrganizationMonth { month, received, sent })
        .collect();
    Ok(OrganizationEvidence { organization, programs, months })
}

/// A category's outcomes, optionally within one village.
#[derive(Debug, Clone)]
pub struct CategoryEvidence {
    pub directory: Arc<Directory>,
    pub category: TermIdx,
    /// Index into `directory.villages`, when narrowed to one village.
    pub village: Option<usize>,
    pub months: Vec<(ReportMonth, OutcomeFigures)>,
}

/// The outcomes of referrals to services whose primary category is `category_code` or one of
/// its sub-categories, for the months of `series`, as `reader` may see them; with `village_id`,
/// only referrals to places inside that village (NOT_FOUND when it does not exist, or, for
/// committee staff, lies outside their areas, as for the village report).
pub async fn category_evidence(
    db: &impl ConnectionTrait,
    reader: &OutcomeReader,
    directory: Arc<Directory>,
    category_code: &str,
    village_id: Option<&str>,
    series: &[ReportMonth],
) -> ApiResult<CategoryEvidence> {
    let category = directory.taxonomy.by_code(category_code).ok_or_else(|| ApiError::not_found("category"))?;
    let terms: Vec<String> = directory
        .taxonomy
        .with_descendants(category)
        .into_iter()
        .map(|term| directory.taxonomy.terms[term].id.clone())
        .collect();
    let services = Query::select()
        .column(service::Column::Id)
        .from(service::Entity)
        .and_where(service::Column::CategoryTermId.is_in(terms))
        .to_owned();
    let mut condition =
        Condition::all().add(reader.referrals(&directory)).add(referral::Column::ServiceId.in_subquery(services));
    let village = match village_id {
        None => None,
        Some(id) => {
            let village = directory
                .villages
                .iter()
                .position(|village| village.id == id)
                // Committee staff: a village whose centre lies in their areas, as for its report.
                .filter(|village| match reader {
                    OutcomeReader::Areas(areas) => areas.covers(directory.villages[*village].centroid),
                    OutcomeReader::Everything | OutcomeReader::Organization(_) => true,
                })
                .ok_or_else(|| ApiError::not_found("urban village"))?;
            let boundary = &directory.villages[village].boundary;
            let places = location_ids(&directory, |point| crate::directory::geometry::covers(boundary, point));
            condition = condition.add(referral::Column::LocationId.is_in(places));
            Some(village)
        }
    };
    let months = figures_by_month(db, condition, series).await?;
    Ok(CategoryEvidence { directory, category, village, months })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_series_ends_with_the_month_asked_for_and_crosses_the_year() {
        let last = ReportMonth::parse("2026-02", chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap_or_default())
            .unwrap_or_else(|_| {
                ReportMonth::last_before(chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default())
            });
        let series: Vec<String> =
            month_series(last, Some(4)).unwrap_or_default().into_iter().map(|m| m.to_string()).collect();
        assert_eq!(series, ["2025-11", "2025-12", "2026-01", "2026-02"]);
        assert_eq!(month_series(last, None).map(|s| s.len()).ok(), Some(1));
        for bad in [0, -1, 13] {
            assert!(matches!(month_series(last, Some(bad)), Err(ApiError::BadInput { .. })), "{bad}");
        }
        assert_eq!(month_series(last, Some(12)).map(|s| s.len()).ok(), Some(12));
    }
}
