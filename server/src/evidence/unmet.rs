//! Unmet needs, without a trace: searches that found nothing (or nothing open, or nothing without
//! a local-hukou requirement) are counted in memory by (urban village the point falls in,
//! category, reason, day) and written to the database as counts only.
//!
//! What is never kept, in memory or anywhere else: the point (only the village it falls in), the
//! words, any time finer than the day (China Standard Time), anything about the caller or the
//! device. Counts are written once their day is over (the server checks every minute, and on the
//! first search of a new day) and when the server stops, so the database never learns at what
//! hour a search happened either; a crash loses the current day's counts, which is the price of
//! that. Outputs hide small counts (`kanon`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use qiao_schema::entity::unmet_need_count;
use qiao_schema::ids::derived_id;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use crate::clock::CHINA_STANDARD_TIME;
use crate::directory::Directory;
use crate::directory::search::{NearbyQuery, NearbyResult};

/// The category key of searches that named no category.
pub const ANY_CATEGORY: &str = "ANY";

/// Why a search counts as an unmet need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Nothing matched within the radius.
    NothingFound,
    /// Something matched, but nothing was open (or the search asked for open places only and
    /// found none).
    NoneOpen,
    /// Something matched, but everything needs a local hukou (or the search asked for services
    /// without that requirement and found none).
    NoneWithoutLocalHukou,
}

impl Reason {
    pub const ALL: [Reason; 3] = [Self::NothingFound, Self::NoneOpen, Self::NoneWithoutLocalHukou];

    pub fn code(self) -> &'static str {
        match self {
            Self::NothingFound => "nothing_found",
            Self::NoneOpen => "none_open",
            Self::NoneWithoutLocalHukou => "none_without_local_hukou",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }
}

/// One count's key: the day, the village's id, the category code, the reason.
type Bucket = (NaiveDate, String, String, Reason);

/// The counts of the days not yet written. Shared by every request (`AppState::unmet_needs`).
#[derive(Debug, Default)]
pub struct UnmetNeeds {
    counts: Mutex<HashMap<Bucket, u64>>,
}

/// The reasons a finished search counts as an unmet need (none for a later page: a search is
/// counted once, on its first page).
pub fn reasons(directory: &Directory, query: &NearbyQuery, result: &NearbyResult) -> Vec<Reason> {
    if query.after.is_some() {
        return Vec::new();
    }
    if result.hits.is_empty() && result.area_services.is_empty() {
        return vec![if query.open_now {
            Reason::NoneOpen
        } else if query.eligible_without_local_hukou {
            Reason::NoneWithoutLocalHukou
        } else {
            Reason::NothingFound
        }];
    }
    if result.has_next_page {
        return Vec::new(); // more results than one page: something is surely there
    }
    let services = result
        .hits
        .iter()
        .map(|hit| directory.places[hit.place as usize].service)
        .chain(result.area_services.iter().copied());
    let mut reasons = Vec::new();
    let all_closed = result.hits.iter().all(|hit| !directory.is_open_at_place(hit.place, query.now))
        && result.area_services.iter().all(|service| !directory.is_service_open_at(*service, query.now));
    if all_closed {
        reasons.push(Reason::NoneOpen);
    }
    if services.into_iter().all(|service| directory.services[service as usize].requires_local_hukou) {
        reasons.push(Reason::NoneWithoutLocalHukou);
    }
    reasons
}

/// The category codes a search asked for: the smallest terms of its (expanded) category list.
fn asked_categories(directory: &Directory, query: &NearbyQuery) -> Vec<String> {
    match &query.categories {
        None => vec![ANY_CATEGORY.to_owned()],
        Some(terms) => terms
            .iter()
            .filter(|term| directory.taxonomy.terms[**term].parent.is_none_or(|parent| !terms.contains(&parent)))
            .map(|term| directory.taxonomy.terms[*term].code.clone())
            .collect(),
    }
}

/// The day of an instant in China Standard Time.
pub fn day_of(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&CHINA_STANDARD_TIME).date_naive()
}

impl UnmetNeeds {
    /// Counts a finished search if it found nothing useful inside an urban village. Called by the
    /// search resolver; keeps nothing of the search but the bucket it adds one to. On the first
    /// search of a new day, the earlier days' counts are written in the background.
    pub fn record(
        self: &Arc<Self>,
        db: &DatabaseConnection,
        directory: &Directory,
        query: &NearbyQuery,
        result: &NearbyResult,
    ) {
        let reasons = reasons(directory, query, result);
        if reasons.is_empty() {
            return;
        }
        let Some(village) = directory.village_at(query.centre) else { return };
        let day = day_of(query.now);
        let categories = asked_categories(directory, query);
        let new_day = {
            let Ok(mut counts) = self.counts.lock() else { return };
            let new_day = counts.keys().any(|bucket| bucket.0 < day);
            for category in &categories {
                for reason in &reasons {
                    *counts.entry((day, village.id.clone(), category.clone(), *reason)).or_insert(0) += 1;
                }
            }
            new_day
        };
        if new_day {
            let (this, db, now) = (Arc::clone(self), db.clone(), query.now);
            tokio::spawn(async move { this.flush_finished_days(&db, now).await });
        }
    }

    /// Removes and returns the counts of the days `which` selects.
    fn take(&self, which: impl Fn(NaiveDate) -> bool) -> Vec<(Bucket, u64)> {
        let Ok(mut counts) = self.counts.lock() else { return Vec::new() };
        let days: Vec<Bucket> = counts.keys().filter(|bucket| which(bucket.0)).cloned().collect();
        days.into_iter().filter_map(|bucket| counts.remove(&bucket).map(|count| (bucket, count))).collect()
    }

    /// Writes the counts of the days before `now`'s day (the periodic check); on failure they go
    /// back to memory for the next try.
    pub async fn flush_finished_days(&self, db: &DatabaseConnection, now: DateTime<Utc>) {
        let today = day_of(now);
        self.flush(db, |day| day < today).await;
    }

    /// Writes every count, today's too (the server is stopping).
    pub async fn flush_all(&self, db: &DatabaseConnection) {
        self.flush(db, |_| true).await;
    }

    async fn flush(&self, db: &DatabaseConnection, which: impl Fn(NaiveDate) -> bool) {
        let taken = self.take(which);
        if taken.is_empty() {
            return;
        }
        if let Err(error) = write(db, &taken).await {
            tracing::error!(%error, "writing the unmet-need counts failed; keeping them for the next try");
            if let Ok(mut counts) = self.counts.lock() {
                for (bucket, count) in taken {
                    *counts.entry(bucket).or_insert(0) += count;
                }
            }
        }
    }
}

/// Adds the counts to their day's rows, in one transaction (an upsert per bucket, so two servers
/// writing the same day add up instead of overwriting each other).
async fn write(db: &DatabaseConnection, counts: &[(Bucket, u64)]) -> Result<(), sea_orm::DbErr> {
    let txn = crate::kernel::begin_write(db).await?;
    for ((day, village, category, reason), count) in counts {
        let id = derived_id("unmet_need", &format!("{village}:{category}:{}:{day}", reason.code()));
        let row = unmet_need_count::ActiveModel {
            id: Set(id),
            urban_village_id: Set(village.clone()),
            category_code: Set(category.clone()),
            reason: Set(reason.code().to_owned()),
            day: Set(*day),
            count: Set(i64::try_from(*count).unwrap_or(i64::MAX)),
        };
        unmet_need_count::Entity::insert(row)
            .on_conflict(
                OnConflict::column(unmet_need_count::Column::Id)
                    .value(
                        unmet_need_count::Column::Count,
                        Expr::cust("\"unmet_need_count\".\"count\" + excluded.\"count\""),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await
}
