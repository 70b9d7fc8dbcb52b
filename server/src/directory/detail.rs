//! Everything a person needs before going to a service, read from the database.

use chrono::{DateTime, Utc};
use qiao_schema::domain::EligibilityKind;
use qiao_schema::entity::*;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use super::hours::OpeningHours;
use super::rules;

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

impl ServiceDetail {
    /// Whether it is open at `at` at any of its places, or by its own hours without places
    /// ([`rules::is_service_open_at`], as search's `openNow` decides).
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        rules::is_service_open_at(self.service.status, &self.hours, self.locations.iter().map(|l| &l.hours), at)
    }

    /// Whether it is open at `at` at one of its places ([`rules::is_open_at`]).
    pub fn is_open_at_location(&self, location: &LocationDetail, at: DateTime<Utc>) -> bool {
        rules::is_open_at(self.service.status, &location.hours, at)
    }

    /// [`rules::is_free`], as search's `freeOnly` decides.
    pub fn is_free(&self) -> bool {
        rules::is_free(self.costs.iter().map(|c| c.amount_fen))
    }

    /// [`rules::requires_local_hukou`], as search's `eligibleWithoutLocalHukou` decides.
    pub fn requires_local_hukou(&self) -> bool {
        rules::requires_local_hukou(self.requirements.iter().map(|r| r.kind))
    }
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

/// A service the public directory lists, with its organisation ([`rules::is_service_listed`]);
/// `None` when it does not exist or is not listed (inactive, defunct, archived with its
/// organisation).
pub async fn find_listed_service(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<(service::Model, organization::Model)>, DbErr> {
    let Some(service) = service::Entity::find_by_id(id.to_owned()).one(db).await? else {
        return Ok(None);
    };
    if !service.status.is_listed() {
        return Ok(None); // spares reading the organisation
    }
    let organization = organization::Entity::find_by_id(service.organization_id.clone()).one(db).await?;
    Ok(match organization {
        Some(organization) if rules::is_service_listed(service.status, Some(&organization)) => {
            Some((service, organization))
        }
        _ => None,
    })
}

/// Loads a listed service; `None` when it does not exist or is not listed (archived, inactive).
/// Archived locations are left out, as search leaves them out.
pub async fn load_service_detail(db: &DatabaseConnection, id: &str) -> Result<Option<ServiceDetail>, DbErr> {
    let Some((service, organization)) = find_listed_service(db, id).await? else {
        return Ok(None);
    };
    let organization = Some(organization);
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
    let location_rows: Vec<location::Model> = location::Entity::find()
        .filter(location::Column::Id.is_in(location_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .filter(rules::is_location_listed)
        .collect();
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
        let hours = rules::own_place_hours(&schedules, &exceptions, &link.id)
            .unwrap_or_else(|| rules::service_hours(&schedules, &exceptions));
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
        hours: rules::service_hours(&schedules, &exceptions),
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
