//! Referral outcomes by month: how many referrals, by status, acceptance and completion rates,
//! median days to acceptance and to an outcome, top reasons for rejection and failure, the
//! people's own feedback, forwarded referrals. Every figure rests on people and goes through
//! [`kanon`](super::kanon).
//!
//! A referral belongs to the month it was created in (China Standard Time) and to the urban
//! village of the **service's location** it was sent to: the client's own village is never
//! stored (privacy), and the referring social worker's organisation may work across villages.
//! A referral without a location (a hotline) belongs to no village. Drafts (never sent) and
//! referrals entered in error are left out.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use qiao_schema::domain::ReferralStatus;
use qiao_schema::entity::referral;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::kanon::{self, Figure, K, protect};
use crate::clock::CHINA_STANDARD_TIME;
use crate::values::ReportMonth;

/// The statuses a sent referral can be in, in the order reports list them.
pub const STATUSES: [ReferralStatus; 8] = [
    ReferralStatus::Requested,
    ReferralStatus::Accepted,
    ReferralStatus::InProgress,
    ReferralStatus::OnHold,
    ReferralStatus::Completed,
    ReferralStatus::Failed,
    ReferralStatus::Rejected,
    ReferralStatus::Cancelled,
];

/// How many top reasons a report lists.
const TOP_REASONS: usize = 3;

/// The outcome figures of a set of referrals, protected.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeFigures {
    /// Referrals sent (the total of `by_status`).
    pub referrals: Figure,
    /// By current status, in [`STATUSES`] order.
    pub by_status: Vec<(ReferralStatus, Figure)>,
    /// Accepted (ever) over answered (accepted or rejected); `None` when either side rests on
    /// fewer than k referrals.
    pub acceptance_rate: Option<f64>,
    /// Completed over ended with an outcome (completed or failed); `None` likewise.
    pub completion_rate: Option<f64>,
    /// Median days from sending to acceptance, over at least k accepted referrals.
    pub median_days_to_acceptance: Option<f64>,
    /// Median days from sending to completion or failure, over at least k such referrals.
    pub median_days_to_outcome: Option<f64>,
    /// The commonest reason codes of rejected referrals that may be shown, most first.
    pub top_rejection_reasons: Vec<(String, u64)>,
    /// The same for failed referrals.
    pub top_failure_reasons: Vec<(String, u64)>,
    /// The people's own feedback: got help, could not (and their total).
    pub got_help: Figure,
    pub could_not: Figure,
    /// Referrals forwarded from another referral.
    pub forwarded: Figure,
}

/// The figures of `referrals` (already limited to one group and month).
pub fn figures(referrals: &[referral::Model]) -> OutcomeFigures {
    let sent: Vec<&referral::Model> = referrals
        .iter()
        .filter(|r| !matches!(r.status, ReferralStatus::Draft | ReferralStatus::EnteredInError))
        .collect();
    let count = |test: &dyn Fn(&referral::Model) -> bool| sent.iter().filter(|r| test(r)).count() as u64;

    let status_counts: Vec<u64> = STATUSES.iter().map(|status| count(&|r| r.status == *status)).collect();
    let by_status = protect(&status_counts);

    let accepted = count(&|r| r.accepted_at.is_some());
    let rejected = count(&|r| r.status == ReferralStatus::Rejected);
    let completed = count(&|r| r.status == ReferralStatus::Completed);
    let failed = count(&|r| r.status == ReferralStatus::Failed);

    let days = |from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>| {
        from.zip(to).map(|(from, to)| (to - from).num_seconds() as f64 / 86_400.0)
    };
    let to_acceptance: Vec<f64> = sent.iter().filter_map(|r| days(r.sent_at, r.accepted_at)).collect();
    let to_outcome: Vec<f64> = sent
        .iter()
        .filter(|r| matches!(r.status, ReferralStatus::Completed | ReferralStatus::Failed))
        .filter_map(|r| days(r.sent_at, r.ended_at))
        .collect();

    let feedback = protect(&[
        count(&|r| r.feedback.as_deref() == Some("got_help")),
        count(&|r| r.feedback.as_deref() == Some("could_not")),
    ]);

    OutcomeFigures {
        referrals: by_status.total,
        by_status: STATUSES.iter().copied().zip(by_status.cells).collect(),
        acceptance_rate: kanon::rate(accepted, accepted + rejected),
        completion_rate: kanon::rate(completed, completed + failed),
        median_days_to_acceptance: median(to_acceptance),
        median_days_to_outcome: median(to_outcome),
        top_rejection_reasons: top_reasons(&sent, ReferralStatus::Rejected),
        top_failure_reasons: top_reasons(&sent, ReferralStatus::Failed),
        got_help: feedback.cells[0],
        could_not: feedback.cells[1],
        forwarded: kanon::single(count(&|r| r.forwarded_from_id.is_some())),
    }
}

/// The median of at least [`K`] values (a median of fewer would describe a handful of people).
fn median(mut values: Vec<f64>) -> Option<f64> {
    if (values.len() as u64) < K {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] })
}

/// The reason codes of referrals in `status`, as one protected table (its total is the status's
/// count, which is published), the shown ones most first.
fn top_reasons(sent: &[&referral::Model], status: ReferralStatus) -> Vec<(String, u64)> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for referral in sent.iter().filter(|r| r.status == status) {
        *counts.entry(referral.reason_code.as_deref().unwrap_or("unspecified")).or_insert(0) += 1;
    }
    let mut codes: Vec<&str> = counts.keys().copied().collect();
    codes.sort_unstable();
    let protected = protect(&codes.iter().map(|code| counts[code]).collect::<Vec<_>>());
    let mut shown: Vec<(String, u64)> = codes
        .iter()
        .zip(protected.cells)
        .filter_map(|(code, figure)| figure.value().filter(|n| *n > 0).map(|n| ((*code).to_owned(), n)))
        .collect();
    shown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    shown.truncate(TOP_REASONS);
    shown
}

/// The instants a month starts and ends at, in China Standard Time.
pub fn month_bounds(month: ReportMonth) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |date: chrono::NaiveDate| {
        CHINA_STANDARD_TIME
            .from_local_datetime(&date.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (at(month.first_day()), at(month.end()))
}

/// The referrals created in `month` that `condition` selects (a group, already within the
/// reader's scope).
pub async fn referrals_of_month(
    db: &impl ConnectionTrait,
    condition: sea_orm::Condition,
    month: ReportMonth,
) -> Result<Vec<referral::Model>, DbErr> {
    let (from, to) = month_bounds(month);
    referral::Entity::find()
        .filter(condition)
        .filter(referral::Column::CreatedAt.gte(from))
        .filter(referral::Column::CreatedAt.lt(to))
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use qiao_schema::domain::Urgency;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 10, day, hour, 0, 0).single().unwrap_or_default()
    }

    /// A referral sent on 1 October at 08:00 UTC with this status, answered `accept_days` later.
    fn referral(n: usize, status: ReferralStatus, accept_days: Option<i64>, end_days: Option<i64>) -> referral::Model {
        let sent = at(1, 8);
        referral::Model {
            id: format!("r{n}"),
            code: format!("C{n}"),
            client_id: "c".into(),
            service_id: "s".into(),
            location_id: Some("l".into()),
            referring_account_id: "w".into(),
            referring_organization_id: "o".into(),
            target_organization_id: "t".into(),
            live: false,
            status,
            need_categories: String::new(),
            needs_sealed: None,
            urgency: Urgency::Routine,
            follow_up_on: None,
            reason_code: match status {
                ReferralStatus::Rejected => Some(if n.is_multiple_of(2) { "full" } else { "not_eligible" }.into()),
                ReferralStatus::Failed => Some("no_show".into()),
                _ => None,
            },
            outcome_sealed: None,
            feedback: None,
            feedback_reason_code: None,
            feedback_at: None,
            forwarded_from_id: None,
            created_at: sent,
            updated_at: sent,
            sent_at: Some(sent),
            accepted_at: accept_days.map(|d| sent + Duration::days(d)),
            ended_at: end_days.map(|d| sent + Duration::days(d)),
            retain_until: None,
            purged_at: None,
        }
    }

    /// 12 completed (accepted after 1..=12 days, ended 10 days after sending), 5 failed (accepted
    /// after 2 days, ended after 20), 4 rejected, 3 still requested, 1 draft, 1 entered in error.
    fn fixture() -> Vec<referral::Model> {
        let mut all = Vec::new();
        for n in 0..12 {
            all.push(referral(n, ReferralStatus::Completed, Some(n as i64 + 1), Some(10)));
        }
        for n in 12..17 {
            all.push(referral(n, ReferralStatus::Failed, Some(2), Some(20)));
        }
        for n in 17..21 {
            all.push(referral(n, ReferralStatus::Rejected, None, Some(1)));
        }
        for n in 21..24 {
            all.push(referral(n, ReferralStatus::Requested, None, None));
        }
        all.push(referral(24, ReferralStatus::Draft, None, None));
        all.push(referral(25, ReferralStatus::EnteredInError, None, None));
        for (n, referral) in all.iter_mut().enumerate().take(6) {
            referral.feedback = Some("got_help".into());
            if n == 0 {
                referral.forwarded_from_id = Some("r99".into());
            }
        }
        all[12].feedback = Some("could_not".into());
        all
    }

    #[test]
    fn outcome_figures_equal_the_hand_computed_ones() {
        let figures = figures(&fixture());
        // 24 sent (the draft and the error left out); by status 3 requested, 12 completed,
        // 5 failed, 4 rejected: the 4 and the 3 are hidden, and together (7) cannot be split.
        assert_eq!(figures.referrals, Figure::Shown(24));
        let status = |s: ReferralStatus| figures.by_status.iter().find(|(t, _)| *t == s).map(|(_, f)| *f);
        assert_eq!(status(ReferralStatus::Completed), Some(Figure::Shown(12)));
        assert_eq!(status(ReferralStatus::Rejected), Some(Figure::Hidden(kanon::Hidden::FewerThanK)));
        assert_eq!(status(ReferralStatus::Requested), Some(Figure::Hidden(kanon::Hidden::FewerThanK)));
        assert_eq!(status(ReferralStatus::Failed), Some(Figure::Hidden(kanon::Hidden::ProtectsAnother)));
        // Acceptance: 17 accepted of 21 answered, but the 4 rejected are too few to show a rate.
        assert_eq!(figures.acceptance_rate, None);
        // Completion: 12 of 17 ended with an outcome; 5 failed is enough on both sides.
        assert_eq!(figures.completion_rate, Some(12.0 / 17.0));
        // Days to acceptance: 1..=12 and five 2s: sorted, the 9th of 17 is 4.
        assert_eq!(figures.median_days_to_acceptance, Some(4.0));
        // Days to outcome: twelve 10s and five 20s: the median is 10.
        assert_eq!(figures.median_days_to_outcome, Some(10.0));
        // Reasons: rejections 2 "full" and 2 "not_eligible" are hidden; failures 5 "no_show".
        assert_eq!(figures.top_rejection_reasons, vec![]);
        assert_eq!(figures.top_failure_reasons, vec![("no_show".to_owned(), 5)]);
        // Feedback: 6 got help, 1 could not: the 1 is hidden; hiding the 6 too would not be enough
        // (6 + 1 = 7 could only split as 6 and 1), so no feedback total is published at all.
        assert_eq!(figures.got_help, Figure::Shown(6));
        assert_eq!(figures.could_not, Figure::Hidden(kanon::Hidden::FewerThanK));
        assert_eq!(figures.forwarded, Figure::Hidden(kanon::Hidden::FewerThanK));
    }

    #[test]
    fn a_month_runs_from_midnight_china_time() {
        let month = ReportMonth::last_before(chrono::NaiveDate::from_ymd_opt(2026, 11, 5).unwrap_or_default());
        let (from, to) = month_bounds(month);
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 9, 30, 16, 0, 0).single().unwrap_or_default());
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).single().unwrap_or_default());
    }
}
