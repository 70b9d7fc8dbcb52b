//! The facts of a service that change often: opening hours and exceptions, eligibility,
//! capacity, alert and phone number. Provider staff keep the hours, capacity and alert of their
//! own services; the rest is for stewards.

use chrono::NaiveDate;
use qiao_schema::domain::{CapacityStatus, EligibilityKind};
use qiao_schema::entity::*;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use super::{Db, Keeper, Outcome, Steward, Text, check_optional_text, check_text, save, save_service};
use crate::auth::policy::service_in_scope;
use crate::directory::hours::parse_minute;
use crate::error::ApiResult;
use crate::kernel::history::{Action, created, list_change, record};
use crate::values::{Field, PhoneNumber, TextLimit, ValueError, Weekday};

/// Weekly opening hours on some days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HoursSpec {
    /// Stored as iCal codes (`MO,TU`), in the order given.
    pub days: Vec<Weekday>,
    pub opens: String,
    pub closes: String,
}

/// A dated exception: closed, or open with special hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionSpec {
    pub date: NaiveDate,
    pub opens: Option<String>,
    pub closes: Option<String>,
    pub reason: Text,
}

fn check_interval(field: Field, opens: &str, closes: &str) -> ApiResult<()> {
    match (parse_minute(opens), parse_minute(closes)) {
        (Some(o), Some(c)) if o < c => Ok(()),
        _ => Err(ValueError::new(
            field,
            format!("{opens}-{closes} is not an HH:MM interval that closes after it opens (时间段格式错误)"),
        )
        .into()),
    }
}

/// The service-wide weekly hours and dated exceptions of a service in the keeper's scope (out of
/// scope reads as NOT_FOUND), as `set_service_hours` takes them: so a form can start from them.
pub async fn service_hours(
    db: &impl sea_orm::ConnectionTrait,
    actor: &Keeper,
    id: &str,
) -> ApiResult<(Vec<HoursSpec>, Vec<ExceptionSpec>)> {
    service_in_scope(db, &actor.scope, id).await?;
    current_hours(db, id).await
}

/// The service-wide (not per-place) hours and exceptions as stored, exceptions by date.
async fn current_hours(
    db: &impl sea_orm::ConnectionTrait,
    id: &str,
) -> ApiResult<(Vec<HoursSpec>, Vec<ExceptionSpec>)> {
    let schedules = schedule::Entity::find()
        .filter(schedule::Column::ServiceId.eq(id))
        .filter(schedule::Column::ServiceAtLocationId.is_null())
        .order_by_asc(schedule::Column::Id)
        .all(db)
        .await?;
    let exceptions = schedule_exception::Entity::find()
        .filter(schedule_exception::Column::ServiceId.eq(id))
        .filter(schedule_exception::Column::ServiceAtLocationId.is_null())
        .order_by_asc(schedule_exception::Column::Date)
        .all(db)
        .await?;
    let hours = schedules
        .iter()
        .map(|s| HoursSpec {
            days: s.byday.split(',').filter_map(|code| Weekday::from_code(code.trim())).collect(),
            opens: s.opens_at.clone(),
            closes: s.closes_at.clone(),
        })
        .collect();
    let exceptions = exceptions
        .iter()
        .map(|e| ExceptionSpec {
            date: e.date,
            opens: e.opens_at.clone().filter(|_| !e.closed),
            closes: e.closes_at.clone().filter(|_| !e.closed),
            reason: Text { zh: e.reason_zh.clone(), en: e.reason_en.clone() },
        })
        .collect();
    Ok((hours, exceptions))
}

/// Replaces a service's weekly hours and dated exceptions.
pub async fn set_service_hours(
    db: &impl Db,
    actor: &Keeper,
    id: &str,
    hours: Vec<HoursSpec>,
    exceptions: Vec<ExceptionSpec>,
) -> ApiResult<Outcome> {
    if hours.len() > 50 || exceptions.len() > 400 {
        return Err(ValueError::new(Field::Hours, "too many hours or exceptions (时间条目过多)").into());
    }
    for spec in &hours {
        if spec.days.is_empty() {
            return Err(ValueError::new(Field::HoursDays, "days must be weekdays MO to SU (星期格式错误)").into());
        }
        check_interval(Field::HoursInterval, &spec.opens, &spec.closes)?;
    }
    for exception in &exceptions {
        check_text(Field::ExceptionReason, &exception.reason, TextLimit::Name)?;
        match (&exception.opens, &exception.closes) {
            (None, None) => {}
            (Some(opens), Some(closes)) => check_interval(Field::ExceptionInterval, opens, closes)?,
            _ => {
                return Err(ValueError::new(
                    Field::ExceptionInterval,
                    "give both opens and closes, or neither for closed all day (请同时填写开门和关门时间)",
                )
                .into());
            }
        }
    }
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let (old_hours, old_exception_specs) = current_hours(&txn, id).await?;
    let mut changes = Vec::new();
    if let Some(change) = list_change("hours", &old_hours, &hours)? {
        schedule::Entity::delete_many()
            .filter(schedule::Column::ServiceId.eq(id))
            .filter(schedule::Column::ServiceAtLocationId.is_null())
            .exec(&txn)
            .await?;
        for spec in &hours {
            schedule::Entity::insert(schedule::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(id.to_owned()),
                service_at_location_id: Set(None),
                byday: Set(spec.days.iter().map(|d| d.code()).collect::<Vec<_>>().join(",")),
                opens_at: Set(spec.opens.clone()),
                closes_at: Set(spec.closes.clone()),
                valid_from: Set(None),
                valid_to: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        changes.push(change);
    }
    let mut sorted_exceptions = exceptions;
    sorted_exceptions.sort_by_key(|e| e.date);
    sorted_exceptions.dedup_by_key(|e| e.date);
    if let Some(change) = list_change("exceptions", &old_exception_specs, &sorted_exceptions)? {
        schedule_exception::Entity::delete_many()
            .filter(schedule_exception::Column::ServiceId.eq(id))
            .filter(schedule_exception::Column::ServiceAtLocationId.is_null())
            .exec(&txn)
            .await?;
        for exception in &sorted_exceptions {
            schedule_exception::Entity::insert(schedule_exception::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(id.to_owned()),
                service_at_location_id: Set(None),
                date: Set(exception.date),
                closed: Set(exception.opens.is_none()),
                opens_at: Set(exception.opens.clone()),
                closes_at: Set(exception.closes.clone()),
                reason_zh: Set(exception.reason.zh.trim().to_owned()),
                reason_en: Set(exception.reason.en.trim().to_owned()),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        changes.push(change);
    }
    let outcome = save_service(&txn, actor, Action::Update, &before, before.clone(), changes).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// A structured eligibility requirement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequirementSpec {
    pub kind: EligibilityKind,
    pub months: Option<i32>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
}

/// Replaces a service's eligibility requirements and description.
pub async fn set_service_eligibility(
    db: &impl Db,
    actor: &Steward,
    id: &str,
    requirements: Vec<RequirementSpec>,
    description: Option<Text>,
) -> ApiResult<Outcome> {
    if requirements.len() > 20 {
        return Err(ValueError::new(Field::ServiceRequirements, "at most 20 requirements (条件过多)").into());
    }
    for requirement in &requirements {
        let months_ok = match requirement.kind {
            EligibilityKind::SocialInsuranceMonths => requirement.months.is_some_and(|m| (1..=600).contains(&m)),
            _ => requirement.months.is_none(),
        };
        let ages_ok = match requirement.kind {
            EligibilityKind::AgeRange => {
                let (min, max) = (requirement.min_age, requirement.max_age);
                (min.is_some() || max.is_some())
                    && min.is_none_or(|a| (0..=150).contains(&a))
                    && max.is_none_or(|a| (0..=150).contains(&a))
                    && min.zip(max).is_none_or(|(a, b)| a <= b)
            }
            _ => requirement.min_age.is_none() && requirement.max_age.is_none(),
        };
        if !months_ok || !ages_ok {
            return Err(ValueError::new(
                Field::ServiceRequirements,
                "months go with SOCIAL_INSURANCE_MONTHS (1-600), ages with AGE_RANGE (0-150, min ≤ max) (条件参数不匹配)",
            )
            .into());
        }
    }
    let (description_zh, description_en) =
        check_optional_text(Field::ServiceEligibilityDescription, description.as_ref())?;
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let current: Vec<RequirementSpec> = eligibility_requirement::Entity::find()
        .filter(eligibility_requirement::Column::ServiceId.eq(id))
        .order_by_asc(eligibility_requirement::Column::Id)
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| RequirementSpec { kind: r.kind, months: r.months, min_age: r.min_age, max_age: r.max_age })
        .collect();
    let mut extra = Vec::new();
    if let Some(change) = list_change("eligibility_requirements", &current, &requirements)? {
        eligibility_requirement::Entity::delete_many()
            .filter(eligibility_requirement::Column::ServiceId.eq(id))
            .exec(&txn)
            .await?;
        for (index, requirement) in requirements.iter().enumerate() {
            eligibility_requirement::Entity::insert(eligibility_requirement::ActiveModel {
                id: Set(format!("{id}-req-{index:02}")),
                service_id: Set(id.to_owned()),
                kind: Set(requirement.kind),
                months: Set(requirement.months),
                min_age: Set(requirement.min_age),
                max_age: Set(requirement.max_age),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        extra.push(change);
    }
    let age = requirements.iter().find(|r| r.kind == EligibilityKind::AgeRange);
    let after = service::Model {
        eligibility_description_zh: description_zh,
        eligibility_description_en: description_en,
        minimum_age: age.and_then(|r| r.min_age),
        maximum_age: age.and_then(|r| r.max_age),
        ..before.clone()
    };
    let outcome = save_service(&txn, actor, Action::Update, &before, after, extra).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Sets whether a service is taking people.
pub async fn set_service_capacity(
    db: &impl Db,
    actor: &Keeper,
    id: &str,
    status: CapacityStatus,
    note: Option<Text>,
    today: NaiveDate,
) -> ApiResult<Outcome> {
    let (note_zh, note_en) = check_optional_text(Field::ServiceCapacityNote, note.as_ref())?;
    let txn = db.begin().await?;
    let service = service_in_scope(&txn, &actor.scope, id).await?;
    let existing =
        service_capacity::Entity::find().filter(service_capacity::Column::ServiceId.eq(id)).one(&txn).await?;
    let outcome = match existing {
        Some(before) => {
            let after = service_capacity::Model { status, as_of: today, note_zh, note_en, ..before.clone() };
            save(&txn, actor, "service_capacity", Action::Update, &before, after).await?
        }
        None => {
            let row = service_capacity::Model {
                id: uuid::Uuid::now_v7().to_string(),
                service_id: service.id.clone(),
                status,
                as_of: today,
                note_zh,
                note_en,
            };
            service_capacity::Entity::insert(service_capacity::ActiveModel::from(row.clone()))
                .exec_without_returning(&txn)
                .await?;
            let changes = created(&row)?;
            record(&txn, "service_capacity", &row.id, Action::Create, &changes, &actor.account.id, actor.now).await?;
            Outcome { id: row.id, resource_type: "service_capacity", changes }
        }
    };
    // The capacity is part of the service's listing: its history is the service's too.
    record(&txn, "service", &service.id, Action::Update, &outcome.changes, &actor.account.id, actor.now).await?;
    txn.commit().await?;
    Ok(Outcome { id: service.id, resource_type: "service", changes: outcome.changes })
}

/// Sets or clears (with `None`) a service's alert.
pub async fn set_service_alert(db: &impl Db, actor: &Keeper, id: &str, alert: Option<Text>) -> ApiResult<Outcome> {
    let (alert_zh, alert_en) = check_optional_text(Field::ServiceAlert, alert.as_ref())?;
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let after = service::Model { alert_zh, alert_en, ..before.clone() };
    let outcome = save_service(&txn, actor, Action::Update, &before, after, Vec::new()).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Replaces a service's first phone number (adds one when it has none), with history on the
/// service. For a resident's accepted correction, or an imported listing.
pub async fn set_service_phone(db: &impl Db, actor: &Steward, id: &str, number: &str) -> ApiResult<Outcome> {
    let number = PhoneNumber::parse(Field::ServicePhone, number)?.into_string();
    let txn = db.begin().await?;
    let before = service_in_scope(&txn, &actor.scope, id).await?;
    let phones =
        phone::Entity::find().filter(phone::Column::ServiceId.eq(id)).order_by_asc(phone::Column::Id).all(&txn).await?;
    let numbers_before: Vec<String> = phones.iter().map(|p| p.number.clone()).collect();
    let mut numbers_after = numbers_before.clone();
    match phones.first() {
        Some(first) => {
            if let Some(slot) = numbers_after.first_mut() {
                slot.clone_from(&number);
            }
            if first.number != number {
                phone::ActiveModel { id: Set(first.id.clone()), number: Set(number.clone()), ..Default::default() }
                    .update(&txn)
                    .await?;
            }
        }
        None => {
            numbers_after.push(number.clone());
            phone::Entity::insert(phone::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                service_id: Set(Some(id.to_owned())),
                organization_id: Set(None),
                location_id: Set(None),
                number: Set(number.clone()),
                extension: Set(None),
                phone_type: Set("voice".to_owned()),
                description_zh: Set(None),
                description_en: Set(None),
            })
            .exec_without_returning(&txn)
            .await?;
        }
    }
    let extra = list_change("phones", &numbers_before, &numbers_after)?.into_iter().collect();
    let outcome = save_service(&txn, actor, Action::Update, &before, before.clone(), extra).await?;
    txn.commit().await?;
    Ok(outcome)
}
