//! Turns seed files into database rows (pure, no I/O), validating references on the way.
//!
//! Every id is a UUIDv5 of the entity's kind and key, so loading the same files twice produces
//! the same rows and the loader can simply skip rows that already exist.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use qiao_schema::datum::LatLon;
use qiao_schema::domain::{EligibilityKind, LocationType, Weekday, taxonomy_ids};
use qiao_schema::entity::*;

use crate::SeedError;
use crate::model::{self, DirectoryFile, Holiday, Requirement, TaxonomyFile};

/// Re-exported so seed files and tests keep naming ids the way they always have.
pub use qiao_schema::ids::derived_id;

/// The id of a service-category term.
pub fn category_term_id(code: &str) -> String {
    derived_id("taxonomy_term", &format!("{}/{code}", taxonomy_ids::SERVICE_CATEGORY))
}

/// Rows of the taxonomy tables.
pub struct TaxonomyRows {
    pub taxonomies: Vec<taxonomy::Model>,
    pub terms: Vec<taxonomy_term::Model>,
}

pub fn taxonomy_rows(file: &TaxonomyFile) -> Result<TaxonomyRows, SeedError> {
    let codes: HashSet<&str> = file.categories.iter().map(|c| c.code.as_str()).collect();
    let mut terms = Vec::with_capacity(file.categories.len());
    let mut ordinal_by_parent: HashMap<Option<&str>, i32> = HashMap::new();
    for category in &file.categories {
        if let Some(parent) = &category.parent
            && !codes.contains(parent.as_str())
        {
            return Err(SeedError::invalid(&category.code, format!("unknown parent category {parent}")));
        }
        let ordinal = ordinal_by_parent.entry(category.parent.as_deref()).or_default();
        *ordinal += 1;
        terms.push(taxonomy_term::Model {
            id: category_term_id(&category.code),
            taxonomy_id: taxonomy_ids::SERVICE_CATEGORY.to_owned(),
            code: category.code.clone(),
            parent_id: category.parent.as_deref().map(category_term_id),
            name_zh: category.name.zh.clone(),
            name_en: category.name.en.clone(),
            description_zh: category.description.zh.clone(),
            description_en: category.description.en.clone(),
            icon: Some(category.icon.clone()),
            ordinal: *ordinal,
        });
    }
    // Parents first, so foreign keys hold however the file is ordered.
    terms.sort_by_key(|term| depth(&file.categories, &term.code));
    Ok(TaxonomyRows {
        taxonomies: vec![taxonomy::Model {
            id: taxonomy_ids::SERVICE_CATEGORY.to_owned(),
            name: "Qiao service categories / 桥服务类别".to_owned(),
            description: "Categories of community services for migrants; a tree whose parents find their children."
                .to_owned(),
            uri: None,
            version: Some("1".to_owned()),
        }],
        terms,
    })
}

fn depth(categories: &[model::Category], code: &str) -> usize {
    let parent_of: HashMap<&str, Option<&str>> =
        categories.iter().map(|c| (c.code.as_str(), c.parent.as_deref())).collect();
    let mut depth = 0;
    let mut current = parent_of.get(code).copied().flatten();
    while let Some(parent) = current {
        depth += 1;
        current = parent_of.get(parent).copied().flatten();
        if depth > categories.len() {
            break; // a cycle; taxonomy_rows reports unknown parents, cycles just sort last
        }
    }
    depth
}

/// Rows of the directory tables, in an order that satisfies foreign keys.
#[derive(Default)]
pub struct DirectoryRows {
    pub urban_villages: Vec<urban_village::Model>,
    pub organizations: Vec<organization::Model>,
    pub organization_identifiers: Vec<organization_identifier::Model>,
    pub programs: Vec<program::Model>,
    pub locations: Vec<location::Model>,
    pub addresses: Vec<address::Model>,
    pub accessibility: Vec<accessibility::Model>,
    pub services: Vec<service::Model>,
    pub service_at_locations: Vec<service_at_location::Model>,
    pub schedules: Vec<schedule::Model>,
    pub schedule_exceptions: Vec<schedule_exception::Model>,
    pub phones: Vec<phone::Model>,
    pub contacts: Vec<contact::Model>,
    pub languages: Vec<language::Model>,
    pub cost_options: Vec<cost_option::Model>,
    pub required_documents: Vec<required_document::Model>,
    pub eligibility_requirements: Vec<eligibility_requirement::Model>,
    pub capacities: Vec<service_capacity::Model>,
    pub service_areas: Vec<service_area::Model>,
    pub supports: Vec<service_support::Model>,
    pub attributes: Vec<attribute::Model>,
}

impl DirectoryRows {
    /// Converts directory files to rows. `category_codes` are the known taxonomy codes.
    pub fn build(
        files: &[DirectoryFile],
        holidays: &[Holiday],
        category_codes: &HashSet<String>,
    ) -> Result<Self, SeedError> {
        let mut rows = Self::default();
        let mut seen_keys = HashSet::new();
        let mut check_key = |key: &str| {
            if seen_keys.insert(key.to_owned()) { Ok(()) } else { Err(SeedError::invalid(key, "duplicate key")) }
        };
        for file in files {
            for village in &file.urban_villages {
                check_key(&village.key)?;
                rows.urban_villages.push(urban_village_row(village)?);
            }
            for org in &file.organizations {
                check_key(&org.key)?;
                rows.push_organization(org, holidays, category_codes, &mut check_key)?;
            }
        }
        Ok(rows)
    }

    fn push_organization(
        &mut self,
        org: &model::Organization,
        holidays: &[Holiday],
        category_codes: &HashSet<String>,
        check_key: &mut impl FnMut(&str) -> Result<(), SeedError>,
    ) -> Result<(), SeedError> {
        let org_id = derived_id("organization", &org.key);
        self.organizations.push(organization::Model {
            id: org_id.clone(),
            name_zh: org.name.zh.clone(),
            name_en: org.name.en.clone(),
            description_zh: org.description.zh.clone(),
            description_en: org.description.en.clone(),
            website: org.website.clone(),
            email: org.email.clone(),
            legal_status: org.legal_status.clone(),
            parent_organization_id: None,
            archived_at: None,
        });
        if let Some(uscc) = &org.uscc {
            self.organization_identifiers.push(organization_identifier::Model {
                id: derived_id("organization_identifier", &org.key),
                organization_id: org_id.clone(),
                identifier_scheme: "CN-USCC".to_owned(),
                identifier_type: "统一社会信用代码 / Unified social credit code".to_owned(),
                identifier: uscc.clone(),
            });
        }
        for program in &org.programs {
            check_key(&program.key)?;
            self.programs.push(program::Model {
                id: derived_id("program", &program.key),
                organization_id: org_id.clone(),
                name_zh: program.name.zh.clone(),
                name_en: program.name.en.clone(),
                description_zh: program.description.as_ref().map(|t| t.zh.clone()),
                description_en: program.description.as_ref().map(|t| t.en.clone()),
                funders_zh: program.funders.zh.clone(),
                funders_en: program.funders.en.clone(),
                delivery_mode: program.delivery_mode,
                since_year: program.since_year,
            });
        }
        for location in &org.locations {
            check_key(&location.key)?;
            check_coordinates(&location.key, location.lat, location.lon)?;
            let location_id = derived_id("location", &location.key);
            self.locations.push(location::Model {
                id: location_id.clone(),
                organization_id: org_id.clone(),
                location_type: LocationType::Physical,
                name_zh: location.name.zh.clone(),
                name_en: location.name.en.clone(),
                description_zh: None,
                description_en: None,
                transportation_zh: location.transportation.as_ref().map(|t| t.zh.clone()),
                transportation_en: location.transportation.as_ref().map(|t| t.en.clone()),
                latitude: Some(location.lat),
                longitude: Some(location.lon),
                archived_at: None,
            });
            let address = &location.address;
            self.addresses.push(address::Model {
                id: derived_id("address", &location.key),
                location_id: location_id.clone(),
                address_1_zh: address.street.zh.clone(),
                address_1_en: address.street.en.clone(),
                district_zh: address.district.zh.clone(),
                district_en: address.district.en.clone(),
                city_zh: address.city.zh.clone(),
                city_en: address.city.en.clone(),
                adcode: address.adcode.clone(),
                postal_code: address.postal_code.clone(),
                country: "CN".to_owned(),
                address_type: "physical".to_owned(),
            });
            if let Some(text) = &location.accessibility {
                self.accessibility.push(accessibility::Model {
                    id: derived_id("accessibility", &location.key),
                    location_id,
                    description_zh: text.zh.clone(),
                    description_en: text.en.clone(),
                });
            }
        }
        let location_keys: HashSet<&str> = org.locations.iter().map(|l| l.key.as_str()).collect();
        let program_keys: HashSet<&str> = org.programs.iter().map(|p| p.key.as_str()).collect();
        for service in &org.services {
            check_key(&service.key)?;
            for code in std::iter::once(&service.category).chain(&service.extra_categories) {
                if !category_codes.contains(code) {
                    return Err(SeedError::invalid(&service.key, format!("unknown category {code}")));
                }
            }
            if let Some(program) = &service.program
                && !program_keys.contains(program.as_str())
            {
                return Err(SeedError::invalid(&service.key, format!("unknown programme {program}")));
            }
            for key in &service.locations {
                if !location_keys.contains(key.as_str()) {
                    return Err(SeedError::invalid(&service.key, format!("unknown location {key}")));
                }
            }
            if service.locations.is_empty() && service.service_area.is_none() {
                return Err(SeedError::invalid(&service.key, "needs a location or a service area"));
            }
            self.push_service(&org_id, service, holidays)?;
        }
        Ok(())
    }

    fn push_service(&mut self, org_id: &str, service: &model::Service, holidays: &[Holiday]) -> Result<(), SeedError> {
        let key = service.key.as_str();
        let service_id = derived_id("service", key);
        let child_id = |kind: &str, index: usize| derived_id(kind, &format!("{key}#{index}"));
        let (min_age, max_age) = service
            .eligibility
            .iter()
            .find_map(|r| match r {
                Requirement::AgeRange { min, max } => Some((*min, *max)),
                _ => None,
            })
            .unwrap_or((None, None));
        self.services.push(service::Model {
            id: service_id.clone(),
            organization_id: org_id.to_owned(),
            program_id: service.program.as_deref().map(|p| derived_id("program", p)),
            category_term_id: category_term_id(&service.category),
            name_zh: service.name.zh.clone(),
            name_en: service.name.en.clone(),
            description_zh: service.description.zh.clone(),
            description_en: service.description.en.clone(),
            url: None,
            email: None,
            status: service.status,
            application_process_zh: service.application_process.as_ref().map(|t| t.zh.clone()),
            application_process_en: service.application_process.as_ref().map(|t| t.en.clone()),
            fees_description_zh: service.fees_description.as_ref().map(|t| t.zh.clone()),
            fees_description_en: service.fees_description.as_ref().map(|t| t.en.clone()),
            eligibility_description_zh: service.eligibility_description.as_ref().map(|t| t.zh.clone()),
            eligibility_description_en: service.eligibility_description.as_ref().map(|t| t.en.clone()),
            minimum_age: min_age,
            maximum_age: max_age,
            alert_zh: service.alert.as_ref().map(|t| t.zh.clone()),
            alert_en: service.alert.as_ref().map(|t| t.en.clone()),
            assured_date: Some(service.assured_date),
            assurer: service.assured_by.clone(),
            // Derived from the data, not the clock, so a reload writes identical rows.
            last_modified: Utc.from_utc_datetime(&service.assured_date.and_time(NaiveTime::MIN)),
        });
        for location_key in &service.locations {
            self.service_at_locations.push(service_at_location::Model {
                id: derived_id("service_at_location", &format!("{key}@{location_key}")),
                service_id: service_id.clone(),
                location_id: derived_id("location", location_key),
            });
        }
        for (index, code) in service.extra_categories.iter().enumerate() {
            self.attributes.push(attribute::Model {
                id: child_id("attribute", index),
                link_id: service_id.clone(),
                link_type: "service".to_owned(),
                taxonomy_term_id: category_term_id(code),
                value: None,
            });
        }
        for (index, hours) in service.hours.iter().enumerate() {
            let opens = parse_time(key, &hours.opens)?;
            let closes = parse_time(key, &hours.closes)?;
            if opens >= closes {
                return Err(SeedError::invalid(
                    key,
                    format!("hours {}-{} close before they open", hours.opens, hours.closes),
                ));
            }
            for day in &hours.days {
                if Weekday::from_code(day).is_none() {
                    return Err(SeedError::invalid(key, format!("unknown weekday {day}")));
                }
            }
            self.schedules.push(schedule::Model {
                id: child_id("schedule", index),
                service_id: service_id.clone(),
                service_at_location_id: None,
                byday: hours.days.join(","),
                opens_at: hours.opens.clone(),
                closes_at: hours.closes.clone(),
                valid_from: None,
                valid_to: None,
            });
        }
        let mut exception_dates = HashSet::new();
        for exception in &service.exceptions {
            if !exception.closed {
                let (Some(opens), Some(closes)) = (&exception.opens, &exception.closes) else {
                    return Err(SeedError::invalid(key, "an open exception needs opens and closes"));
                };
                if parse_time(key, opens)? >= parse_time(key, closes)? {
                    return Err(SeedError::invalid(key, "exception hours close before they open"));
                }
            }
            exception_dates.insert(exception.date);
            self.schedule_exceptions.push(exception_row(
                &service_id,
                key,
                exception.date,
                exception.closed,
                exception.opens.clone(),
                exception.closes.clone(),
                &exception.reason,
            ));
        }
        if service.closed_on_public_holidays {
            for holiday in holidays.iter().filter(|h| !exception_dates.contains(&h.date)) {
                self.schedule_exceptions.push(exception_row(
                    &service_id,
                    key,
                    holiday.date,
                    true,
                    None,
                    None,
                    &holiday.name,
                ));
            }
        }
        for (index, phone) in service.phones.iter().enumerate() {
            self.phones.push(phone::Model {
                id: child_id("phone", index),
                service_id: Some(service_id.clone()),
                organization_id: None,
                location_id: None,
                number: phone.number.clone(),
                extension: None,
                phone_type: phone.kind.clone(),
                description_zh: phone.description.as_ref().map(|t| t.zh.clone()),
                description_en: phone.description.as_ref().map(|t| t.en.clone()),
            });
        }
        for (index, contact) in service.contacts.iter().enumerate() {
            self.contacts.push(contact::Model {
                id: child_id("contact", index),
                service_id: Some(service_id.clone()),
                organization_id: None,
                name_zh: contact.name.zh.clone(),
                name_en: contact.name.en.clone(),
                title_zh: contact.title.as_ref().map(|t| t.zh.clone()),
                title_en: contact.title.as_ref().map(|t| t.en.clone()),
                phone: contact.phone.clone(),
                email: contact.email.clone(),
            });
        }
        for (index, code) in service.languages.iter().enumerate() {
            self.languages.push(language::Model {
                id: child_id("language", index),
                service_id: service_id.clone(),
                code: code.clone(),
            });
        }
        for (index, cost) in service.costs.iter().enumerate() {
            if !(cost.amount_yuan.is_finite() && cost.amount_yuan >= 0.0) {
                return Err(SeedError::invalid(key, "a cost must be a non-negative amount"));
            }
            self.cost_options.push(cost_option::Model {
                id: child_id("cost_option", index),
                service_id: service_id.clone(),
                option_zh: cost.option.zh.clone(),
                option_en: cost.option.en.clone(),
                amount_fen: (cost.amount_yuan * 100.0).round() as i64,
                currency: "CNY".to_owned(),
            });
        }
        for (index, document) in service.documents.iter().enumerate() {
            self.required_documents.push(required_document::Model {
                id: child_id("required_document", index),
                service_id: service_id.clone(),
                document_zh: document.zh.clone(),
                document_en: document.en.clone(),
            });
        }
        for (index, requirement) in service.eligibility.iter().enumerate() {
            let (kind, months, min_age, max_age) = match *requirement {
                Requirement::HukouAnywhere => (EligibilityKind::HukouAnywhere, None, None, None),
                Requirement::LocalHukou => (EligibilityKind::LocalHukou, None, None, None),
                Requirement::ResidencePermit => (EligibilityKind::ResidencePermit, None, None, None),
                Requirement::SocialInsuranceMonths { months } => {
                    (EligibilityKind::SocialInsuranceMonths, Some(months), None, None)
                }
                Requirement::LabourContract => (EligibilityKind::LabourContract, None, None, None),
                Requirement::RegisteredLease => (EligibilityKind::RegisteredLease, None, None, None),
                Requirement::AgeRange { min, max } => (EligibilityKind::AgeRange, None, min, max),
            };
            self.eligibility_requirements.push(eligibility_requirement::Model {
                id: child_id("eligibility_requirement", index),
                service_id: service_id.clone(),
                kind,
                months,
                min_age,
                max_age,
            });
        }
        if let Some(capacity) = &service.capacity {
            self.capacities.push(service_capacity::Model {
                id: derived_id("service_capacity", key),
                service_id: service_id.clone(),
                status: capacity.status,
                as_of: capacity.as_of,
                note_zh: capacity.note.as_ref().map(|t| t.zh.clone()),
                note_en: capacity.note.as_ref().map(|t| t.en.clone()),
            });
        }
        if let Some(area) = &service.service_area {
            self.service_areas.push(service_area::Model {
                id: derived_id("service_area", key),
                service_id: service_id.clone(),
                name_zh: area.name.zh.clone(),
                name_en: area.name.en.clone(),
                extent: polygon_geojson(key, &area.polygon)?,
                extent_type: "geojson".to_owned(),
            });
        }
        let supports = service.support_functions.iter().map(|f| (Some(*f), None));
        let levels = service.intervention_levels.iter().map(|l| (None, Some(*l)));
        for (index, (support_function, intervention_level)) in supports.chain(levels).enumerate() {
            self.supports.push(service_support::Model {
                id: child_id("service_support", index),
                service_id: service_id.clone(),
                support_function,
                intervention_level,
            });
        }
        Ok(())
    }
}

fn exception_row(
    service_id: &str,
    service_key: &str,
    date: NaiveDate,
    closed: bool,
    opens_at: Option<String>,
    closes_at: Option<String>,
    reason: &model::Text,
) -> schedule_exception::Model {
    schedule_exception::Model {
        id: derived_id("schedule_exception", &format!("{service_key}@{date}")),
        service_id: service_id.to_owned(),
        service_at_location_id: None,
        date,
        closed,
        opens_at,
        closes_at,
        reason_zh: reason.zh.clone(),
        reason_en: reason.en.clone(),
    }
}

fn parse_time(key: &str, text: &str) -> Result<NaiveTime, SeedError> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| SeedError::invalid(key, format!("time {text:?} is not HH:MM")))
}

/// The server's own range rule ([`LatLon::is_valid`]), so seed data the server would refuse
/// never loads.
fn check_coordinates(key: &str, lat: f64, lon: f64) -> Result<(), SeedError> {
    if LatLon::new(lat, lon).is_valid() {
        Ok(())
    } else {
        Err(SeedError::invalid(key, format!("coordinates {lat},{lon} out of range")))
    }
}

fn urban_village_row(village: &model::UrbanVillage) -> Result<urban_village::Model, SeedError> {
    check_coordinates(&village.key, village.centroid.lat, village.centroid.lon)?;
    Ok(urban_village::Model {
        id: derived_id("urban_village", &village.key),
        name_zh: village.name.zh.clone(),
        name_en: village.name.en.clone(),
        city_zh: village.city.zh.clone(),
        city_en: village.city.en.clone(),
        district_zh: village.district.zh.clone(),
        district_en: village.district.en.clone(),
        adcode: village.adcode.clone(),
        boundary: polygon_geojson(&village.key, &village.boundary)?,
        centroid_lat: village.centroid.lat,
        centroid_lon: village.centroid.lon,
        population: village.population,
        description_zh: village.description.as_ref().map(|t| t.zh.clone()),
        description_en: village.description.as_ref().map(|t| t.en.clone()),
    })
}

/// A GeoJSON Polygon from one ring of `[lon, lat]` pairs, closed if it was not.
pub fn polygon_geojson(key: &str, ring: &[[f64; 2]]) -> Result<String, SeedError> {
    if ring.len() < 3 {
        return Err(SeedError::invalid(key, "a polygon needs at least three points"));
    }
    for [lon, lat] in ring {
        check_coordinates(key, *lat, *lon)?;
    }
    let mut closed = ring.to_vec();
    if closed.first() != closed.last() {
        closed.push(ring[0]);
    }
    Ok(serde_json::json!({ "type": "Polygon", "coordinates": [closed] }).to_string())
}
