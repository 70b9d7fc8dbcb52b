//! Opening hours: weekly intervals plus dated exceptions, in China Standard Time.
//!
//! "Open now" is computed from these at request time and never stored. An interval includes its
//! opening minute and excludes its closing minute: a place that closes at 17:00 is open at 16:59
//! and closed at 17:00. Hours past midnight are not modelled (none of the services need them).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};
use qiao_schema::domain::Weekday;
use qiao_schema::entity::{schedule, schedule_exception};

use crate::clock::CHINA_STANDARD_TIME;

/// Minutes after local midnight.
pub type Minute = u16;

/// An opening interval, `[opens, closes)` in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    pub opens: Minute,
    pub closes: Minute,
}

/// A dated deviation from the weekly hours.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Exception {
    /// Empty when closed all day.
    pub intervals: Vec<Interval>,
    pub reason_zh: String,
    pub reason_en: String,
}

/// The hours of one day, after exceptions.
#[derive(Debug, Clone, PartialEq)]
pub struct DayHours<'a> {
    pub date: NaiveDate,
    pub intervals: &'a [Interval],
    /// The exception that replaced the weekly hours, if any.
    pub exception: Option<&'a Exception>,
}

// `Eq` and `Hash` let the index share one copy of each distinct week (`index::Directory`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OpeningHours {
    /// Index 0 is Monday.
    weekly: [Vec<Interval>; 7],
    exceptions: BTreeMap<NaiveDate, Exception>,
}

impl OpeningHours {
    /// Builds hours from database rows. Rows with unreadable times are skipped (the writers
    /// validate them, so this only guards against hand-edited databases).
    pub fn from_rows<'a>(
        schedules: impl IntoIterator<Item = &'a schedule::Model>,
        exceptions: impl IntoIterator<Item = &'a schedule_exception::Model>,
    ) -> Self {
        let mut hours = Self::default();
        for row in schedules {
            let (Some(opens), Some(closes)) = (parse_minute(&row.opens_at), parse_minute(&row.closes_at)) else {
                tracing::warn!(schedule = %row.id, "skipping a schedule with unreadable times");
                continue;
            };
            for day in row.byday.split(',') {
                if let Some(day) = Weekday::from_code(day.trim()) {
                    hours.weekly[day.index()].push(Interval { opens, closes });
                }
            }
        }
        for day in &mut hours.weekly {
            day.sort_by_key(|interval| interval.opens);
        }
        for row in exceptions {
            let intervals = match (
                row.closed,
                row.opens_at.as_deref().and_then(parse_minute),
                row.closes_at.as_deref().and_then(parse_minute),
            ) {
                (false, Some(opens), Some(closes)) => vec![Interval { opens, closes }],
                _ => Vec::new(),
            };
            hours.exceptions.insert(
                row.date,
                Exception { intervals, reason_zh: row.reason_zh.clone(), reason_en: row.reason_en.clone() },
            );
        }
        hours
    }

    /// The weekly intervals of a weekday (0 is Monday), before dated exceptions: what a place
    /// usually offers (evidence counts places open in the evenings or on Sundays).
    pub fn weekly_on(&self, day: usize) -> &[Interval] {
        self.weekly.get(day).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.weekly.iter().all(Vec::is_empty)
    }

    /// The hours in force on `date`.
    pub fn on(&self, date: NaiveDate) -> DayHours<'_> {
        match self.exceptions.get(&date) {
            Some(exception) => DayHours { date, intervals: &exception.intervals, exception: Some(exception) },
            None => DayHours {
                date,
                intervals: &self.weekly[date.weekday().num_days_from_monday() as usize],
                exception: None,
            },
        }
    }

    /// Whether the place is open at `at`.
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&CHINA_STANDARD_TIME);
        let minute = (local.hour() * 60 + local.minute()) as Minute;
        self.on(local.date_naive())
            .intervals
            .iter()
            .any(|interval| interval.opens <= minute && minute < interval.closes)
    }

    /// The hours of the seven days starting with `from`'s local date.
    pub fn next_seven_days(&self, from: DateTime<Utc>) -> Vec<DayHours<'_>> {
        let today = from.with_timezone(&CHINA_STANDARD_TIME).date_naive();
        today.iter_days().take(7).map(|date| self.on(date)).collect()
    }
}

/// The local (China Standard Time) date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&CHINA_STANDARD_TIME).date_naive()
}

/// "HH:MM" as minutes after midnight.
pub fn parse_minute(text: &str) -> Option<Minute> {
    let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
    Some((time.hour() * 60 + time.minute()) as Minute)
}

/// Minutes after midnight as "HH:MM".
pub fn format_minute(minute: Minute) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn weekday_office() -> OpeningHours {
        let schedule = schedule::Model {
            id: "s".into(),
            service_id: "svc".into(),
            service_at_location_id: None,
            byday: "MO,TU,WE,TH,FR".into(),
            opens_at: "09:00".into(),
            closes_at: "17:00".into(),
            valid_from: None,
            valid_to: None,
        };
        let holiday = schedule_exception::Model {
            id: "e".into(),
            service_id: "svc".into(),
            service_at_location_id: None,
            date: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
            closed: true,
            opens_at: None,
            closes_at: None,
            reason_zh: "国庆节".into(),
            reason_en: "National Day".into(),
        };
        OpeningHours::from_rows([&schedule], [&holiday])
    }

    use crate::clock::china_time as cst;

    #[test]
    fn open_one_minute_before_closing_and_closed_at_closing() {
        let hours = weekday_office();
        // 2026-11-23 is a Monday.
        assert!(hours.is_open_at(cst(2026, 11, 23, 16, 59)));
        assert!(!hours.is_open_at(cst(2026, 11, 23, 17, 0)));
        assert!(hours.is_open_at(cst(2026, 11, 23, 9, 0)));
        assert!(!hours.is_open_at(cst(2026, 11, 23, 8, 59)));
    }

    #[test]
    fn closed_on_a_holiday_exception_and_at_weekends() {
        let hours = weekday_office();
        assert!(!hours.is_open_at(cst(2026, 10, 1, 10, 0))); // a Thursday, National Day
        assert!(!hours.is_open_at(cst(2026, 11, 22, 10, 0))); // a Sunday
    }

    #[test]
    fn the_local_day_starts_at_midnight_china_time_not_utc() {
        let hours = weekday_office();
        // 2026-11-23 01:30 UTC is 09:30 on Monday in Shanghai.
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).single().unwrap_or_default();
        assert!(hours.is_open_at(at));
        let week = hours.next_seven_days(cst(2026, 9, 28, 0, 5));
        assert_eq!(week.len(), 7);
        assert_eq!(week[3].date, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default());
        assert!(week[3].intervals.is_empty() && week[3].exception.is_some());
    }
}
