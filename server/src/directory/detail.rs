//! Everything a person needs before going to a service, read from the database.

use qiao_schema::domain::EligibilityKind;
use qiao_schema::entity::*;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::hours::OpeningHours;

#[derive(Debug)]
pub struct ServiceDetail {
    pub service: service::Model,
    pub organization: Option<organization::Model>,
    pub program: Option<program::Model>,
    pub locations: Vec<LocationDetail>,
    /// The service's own hours (places without their own use these).
    pub hours: OpeningHours,
    pub phones: Vec<phone::Model>,
    pub contacts: Vec<contact::Model>,
    pub languages: Vec<String>,
    pub costs: Vec<cost_option::Model>,
    pub documents: Vec<required_document::Model>,
    pub requirements: Vec<eligibility_requirement::Model>,
    pub capacity: Option<service_capacity::Model>,
    pub areas: Vec<service_area::Model>,
    pub supports: Vec<service_support::Model>,
}

#[derive(Debug)]
pub struct LocationDetail {
    pub service_at_location_id: String,
    pub location: location::Model,
    pub address: Option<address::Model>,
    pub accessibility: Vec<accessibility::Model>,
    pub hours: OpeningHours,
    pub phones: Vec<phone::Model>,
}

/// Loads a listed service; `None` when it does not exist or is not listed (archived, inactive).
pub async fn load_service_detail(db: &DatabaseConnection, id: &str) -> Result<Option<ServiceDetail>, DbErr> {
    let Some(service) = service::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    if !service.status.is_listed() {
        return Ok(None);
    }
    let organization = organization::Entity::find_by_id(service.organization_id.clone()).one(db).await?;
    if organization.as_ref().is_some_and(|o| o.archived_at.is_some()) {
        return Ok(None); // archived with its organisation
    }
    let program = match &service.program_id {
        Some(program_id) => program::Entity::find_by_id(program_id.clone()).one(db).await?,
        None => None,
    };
    let schedules = schedule::Entity::find().filter(schedule::Column::ServiceId.eq(id)).all(db).await?;
    let exceptions =
        schedule_exception::Entity::find().filter(schedule_exception::Column::ServiceId.eq(id)).all(db).await?;
    let phones =
        phone::Entity::find().filter(phone::Column::ServiceId.eq(id)).order_by_asc(phone::Column::Id).all(db).await?;

    let links = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(id))
        .order_by_asc(service_at_location::Column::Id)
        .all(db)
        .await?;
    let location_ids: Vec<String> = links.iter().map(|l| l.location_id.clone()).collect();
    let location_rows =
        location::Entity::find().filter(location::Column::Id.is_in(location_ids.clone())).all(db).await?;
    let addresses =
        address::Entity::find().filter(address::Column::LocationId.is_in(location_ids.clone())).all(db).await?;
    let accessibility_rows = accessibility::Entity::find()
        .filter(accessibility::Column::LocationId.is_in(location_ids.clone()))
        .all(db)
        .await?;
    let location_phones = phone::Entity::find().filter(phone::Column::LocationId.is_in(location_ids)).all(db).await?;
    let mut locations = Vec::with_capacity(links.len());
    for link in links {
        let Some(location) = location_rows.iter().find(|l| l.id == link.location_id).cloned() else { continue };
        let own_schedules: Vec<_> =
            schedules.iter().filter(|s| s.service_at_location_id.as_deref() == Some(&link.id)).collect();
        let hours = if own_schedules.is_empty() {
            service_hours(&schedules, &exceptions)
        } else {
            OpeningHours::from_rows(
                own_schedules,
                exceptions.iter().filter(|e| e.service_at_location_id.as_deref() == Some(&link.id)),
            )
        };
        locations.push(LocationDetail {
            service_at_location_id: link.id,
            address: addresses.iter().find(|a| a.location_id == location.id).cloned(),
            accessibility: accessibility_rows.iter().filter(|a| a.location_id == location.id).cloned().collect(),
            phones: location_phones
                .iter()
                .filter(|p| p.location_id.as_deref() == Some(&location.id))
                .cloned()
                .collect(),
            location,
            hours,
        });
    }

    Ok(Some(ServiceDetail {
        hours: service_hours(&schedules, &exceptions),
        organization,
        program,
        locations,
        phones,
        contacts: contact::Entity::find()
            .filter(contact::Column::ServiceId.eq(id))
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await?,
        languages: language::Entity::find()
            .filter(language::Column::ServiceId.eq(id))
            .order_by_asc(language::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|l| l.code)
            .collect(),
        costs: cost_option::Entity::find()
            .filter(cost_option::Column::ServiceId.eq(id))
            .order_by_asc(cost_option::Column::Id)
            .all(db)
            .await?,
        documents: required_document::Entity::find()
            .filter(required_document::Column::ServiceId.eq(id))
            .order_by_asc(required_document::Column::Id)
            .all(db)
            .await?,
        requirements: eligibility_requirement::Entity::find()
            .filter(eligibility_requirement::Column::ServiceId.eq(id))
            .order_by_asc(eligibility_requirement::Column::Id)
            .all(db)
            .await?,
        capacity: service_capacity::Entity::find().filter(service_capacity::Column::ServiceId.eq(id)).one(db).await?,
        areas: service_area::Entity::find().filter(service_area::Column::ServiceId.eq(id)).all(db).await?,
        supports: service_support::Entity::find().filter(service_support::Column::ServiceId.eq(id)).all(db).await?,
        service,
    }))
}

fn service_hours(schedules: &[schedule::Model], exceptions: &[schedule_exception::Model]) -> OpeningHours {
    OpeningHours::from_rows(
        schedules.iter().filter(|s| s.service_at_location_id.is_none()),
        exceptions.iter().filter(|e| e.service_at_location_id.is_none()),
    )
}

/// A requirement in plain words, (Chinese, English).
pub fn describe_requirement(requirement: &eligibility_requirement::Model) -> (String, String) {
    match requirement.kind {
        EligibilityKind::HukouAnywhere => {
            ("不限户口，外地户口也可以".to_owned(), "Any hukou: you do not need a local one".to_owned())
        }
        EligibilityKind::LocalHukou => ("需要本市户口".to_owned(), "You need a hukou of this city".to_owned()),
        EligibilityKind::ResidencePermit => {
            ("需要本市居住证".to_owned(), "You need this city's residence permit".to_owned())
        }
        EligibilityKind::SocialInsuranceMonths => {
            let months = requirement.months.unwrap_or(0);
            (
                format!("在本市连续缴纳社保满{months}个月"),
                format!("You have paid social insurance in this city for at least {months} months"),
            )
        }
        EligibilityKind::LabourContract => ("需要劳动合同".to_owned(), "You need a labour contract".to_owned()),
        EligibilityKind::RegisteredLease => {
            ("需要登记备案的租房合同".to_owned(), "You need a registered rental contract".to_owned())
        }
        EligibilityKind::AgeRange => match (requirement.min_age, requirement.max_age) {
            (Some(min), Some(max)) => (format!("年龄{min}到{max}岁"), format!("Aged {min} to {max}")),
            (Some(min), None) => (format!("年满{min}岁"), format!("Aged {min} or over")),
            (None, Some(max)) => (format!("{max}岁及以下"), format!("Aged {max} or under")),
            (None, None) => ("不限年龄".to_owned(), "Any age".to_owned()),
        },
    }
}
