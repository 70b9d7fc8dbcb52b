//! The rules of the public directory, each written once: which listings the public sees, which
//! hours apply at a place, whether a service is open, free, or needs a local hukou.
//!
//! Search (the in-memory index), the service detail and the GraphQL fields that describe a service
//! all decide through these functions, so a search filter and the field that explains a result
//! cannot disagree. Nothing here does I/O: callers pass the rows or facts they already hold.

use chrono::{DateTime, Utc};
use qiao_schema::domain::{EligibilityKind, ServiceStatus};
use qiao_schema::entity::{location, organization, schedule, schedule_exception};
use sea_orm::Iterable;

use super::hours::OpeningHours;

// ---- Listed: what the public sees at all ----

/// The service statuses the public sees (for database filters). Derived from
/// [`ServiceStatus::is_listed`] so the list and the predicate cannot drift apart: active and
/// temporarily closed services are listed (the latter says so); inactive and defunct ones vanish.
pub fn listed_statuses() -> Vec<ServiceStatus> {
    ServiceStatus::iter().filter(|status| status.is_listed()).collect()
}

/// Whether an organisation's listings are shown: an archived organisation vanishes with its
/// services.
pub fn is_organization_listed(organization: &organization::Model) -> bool {
    organization.archived_at.is_none()
}

/// [`is_organization_listed`] as a database condition on `organization`.
pub fn listed_organization_condition() -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::ColumnTrait;
    organization::Column::ArchivedAt.is_null()
}

/// Whether a location is shown as a place of the services delivered there: an archived one
/// vanishes from search and from every service's detail.
pub fn is_location_listed(location: &location::Model) -> bool {
    location.archived_at.is_none()
}

/// [`is_location_listed`] as a database condition on `location`, for queries that filter places.
pub fn listed_location_condition() -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::ColumnTrait;
    location::Column::ArchivedAt.is_null()
}

/// Whether the public sees a service with `status` whose organisation is `organization` (`None`
/// when the organisation row is missing, which only a hand-edited database can produce; such a
/// service is not shown).
pub fn is_service_listed(status: ServiceStatus, organization: Option<&organization::Model>) -> bool {
    status.is_listed() && organization.is_some_and(is_organization_listed)
}

// ---- Hours: which apply where ----

/// A service's own hours: its weekly schedules and dated exceptions that name no place.
pub fn service_hours<'a>(
    schedules: impl IntoIterator<Item = &'a schedule::Model>,
    exceptions: impl IntoIterator<Item = &'a schedule_exception::Model>,
) -> OpeningHours {
    OpeningHours::from_rows(
        schedules.into_iter().filter(|s| s.service_at_location_id.is_none()),
        exceptions.into_iter().filter(|e| e.service_at_location_id.is_none()),
    )
}

/// The hours of a place (a service at one location) when they differ from the service's: `None`
/// when the place has no weekly schedule of its own, and it keeps the service's hours.
///
/// A place with a weekly schedule of its own replaces the service's hours wholesale, exceptions
/// included: its own dated exceptions apply there and the service's do not, because a
/// service-wide exception (a make-up working day 09:00–17:00, say) was written against the
/// service's week, not the place's. A dated exception of a place without a weekly schedule of its
/// own has no week to modify and is ignored, as HSDS leaves it undefined.
pub fn own_place_hours<'a>(
    schedules: impl IntoIterator<Item = &'a schedule::Model>,
    exceptions: impl IntoIterator<Item = &'a schedule_exception::Model>,
    service_at_location_id: &str,
) -> Option<OpeningHours> {
    let here = Some(service_at_location_id);
    let own: Vec<&schedule::Model> =
        schedules.into_iter().filter(|s| s.service_at_location_id.as_deref() == here).collect();
    (!own.is_empty()).then(|| {
        OpeningHours::from_rows(own, exceptions.into_iter().filter(|e| e.service_at_location_id.as_deref() == here))
    })
}

// ---- Open now ----

/// Whether a service with `status` can be open at all: a temporarily closed service is listed
/// but never open, whatever its hours say.
pub fn may_open(status: ServiceStatus) -> bool {
    status == ServiceStatus::Active
}

/// Whether a service with `status` is open at `at` by `hours` (the hours at one of its places,
/// or its own when it has no place).
pub fn is_open_at(status: ServiceStatus, hours: &OpeningHours, at: DateTime<Utc>) -> bool {
    may_open(status) && hours.is_open_at(at)
}

/// Whether a service is open at `at` anywhere: at any of its listed places (`place_hours`, the
/// hours in force at each), or, when it has none (a hotline), by its own hours.
pub fn is_service_open_at<'a>(
    status: ServiceStatus,
    own_hours: &'a OpeningHours,
    place_hours: impl IntoIterator<Item = &'a OpeningHours>,
    at: DateTime<Utc>,
) -> bool {
    let mut places = place_hours.into_iter().peekable();
    if places.peek().is_none() {
        is_open_at(status, own_hours, at)
    } else {
        places.any(|hours| is_open_at(status, hours, at))
    }
}

// ---- Cost and eligibility ----

/// Whether a service is free: it states at least one cost option and every option is zero. A
/// service that states no cost is not called free (nobody has said so).
pub fn is_free(amounts_fen: impl IntoIterator<Item = i64>) -> bool {
    let mut any = false;
    for amount in amounts_fen {
        if amount != 0 {
            return false;
        }
        any = true;
    }
    any
}

/// Whether a service needs a hukou of this city (which most migrants do not have), from the
/// kinds of its eligibility requirements.
pub fn requires_local_hukou(requirements: impl IntoIterator<Item = EligibilityKind>) -> bool {
    requirements.into_iter().any(|kind| kind == EligibilityKind::LocalHukou)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    use crate::clock::china_time as cst;

    fn schedule(id: &str, place: Option<&str>, days: &str, opens: &str, closes: &str) -> schedule::Model {
        schedule::Model {
            id: id.into(),
            service_id: "svc".into(),
            service_at_location_id: place.map(Into::into),
            byday: days.into(),
            opens_at: opens.into(),
            closes_at: closes.into(),
            valid_from: None,
            valid_to: None,
        }
    }

    fn closed_on(id: &str, place: Option<&str>, date: NaiveDate) -> schedule_exception::Model {
        schedule_exception::Model {
            id: id.into(),
            service_id: "svc".into(),
            service_at_location_id: place.map(Into::into),
            date,
            closed: true,
            opens_at: None,
            closes_at: None,
            reason_zh: "休息".into(),
            reason_en: "Closed".into(),
        }
    }

    #[test]
    fn only_active_and_temporarily_closed_services_are_listed() {
        let mut listed = listed_statuses();
        listed.sort_by_key(|s| format!("{s:?}"));
        assert_eq!(listed, vec![ServiceStatus::Active, ServiceStatus::TemporarilyClosed]);
    }

    #[test]
    fn a_temporarily_closed_service_is_never_open_whatever_its_hours() {
        let rows = [schedule("s", None, "MO,TU,WE,TH,FR,SA,SU", "00:00", "23:59")];
        let hours = service_hours(&rows, []);
        let at = cst(2026, 11, 25, 10, 0);
        assert!(is_open_at(ServiceStatus::Active, &hours, at));
        assert!(!is_open_at(ServiceStatus::TemporarilyClosed, &hours, at));
        assert!(!is_service_open_at(ServiceStatus::TemporarilyClosed, &hours, [&hours], at));
    }

    #[test]
    fn a_place_with_its_own_week_ignores_the_service_week_and_its_exceptions() {
        let monday = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let schedules = [
            schedule("s", None, "MO,TU,WE,TH,FR", "09:00", "17:00"),
            schedule("p", Some("sal-1"), "MO", "18:00", "20:00"),
        ];
        let exceptions = [closed_on("e", None, monday)];
        let service = service_hours(&schedules, &exceptions);
        let place = own_place_hours(&schedules, &exceptions, "sal-1");
        let place = place.as_ref().unwrap_or(&service);
        assert!(!service.is_open_at(cst(2026, 11, 23, 10, 0)), "the service's own exception closes Monday");
        assert!(place.is_open_at(cst(2026, 11, 23, 19, 0)), "the place keeps its own Monday evening");
        assert!(!place.is_open_at(cst(2026, 11, 24, 10, 0)), "the service's Tuesday is not the place's");
        assert!(own_place_hours(&schedules, &exceptions, "sal-2").is_none(), "another place keeps the service's");
    }

    #[test]
    fn a_service_is_open_at_any_place_or_by_its_own_hours_without_places() {
        let own = service_hours(&[schedule("s", None, "MO", "09:00", "17:00")], []);
        let evening = service_hours(&[schedule("p", None, "MO", "18:00", "20:00")], []);
        let at = cst(2026, 11, 23, 19, 0);
        assert!(!is_service_open_at(ServiceStatus::Active, &own, [], at));
        assert!(is_service_open_at(ServiceStatus::Active, &own, [&own, &evening], at));
        assert!(!is_service_open_at(ServiceStatus::Active, &evening, [&own], at), "places decide, not own hours");
    }

    #[test]
    fn free_means_some_cost_is_stated_and_every_one_is_zero() {
        assert!(is_free([0, 0]));
        assert!(!is_free([0, 800]));
        assert!(!is_free([]), "no stated cost is not free");
        assert!(!is_free([-1]), "a negative amount is not zero");
    }

    #[test]
    fn only_a_local_hukou_requirement_needs_a_local_hukou() {
        assert!(requires_local_hukou([EligibilityKind::AgeRange, EligibilityKind::LocalHukou]));
        assert!(!requires_local_hukou([EligibilityKind::HukouAnywhere, EligibilityKind::ResidencePermit]));
    }
}
