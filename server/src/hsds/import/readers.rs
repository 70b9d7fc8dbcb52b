//! One reader per HSDS table: a record's fields into a Qiao row, each field that cannot be read
//! reported on the record. The pipeline that calls them is in the parent module.

use chrono::{DateTime, NaiveTime, Utc};
use qiao_schema::domain::{DeliveryMode, LocationType};
use qiao_schema::entity::*;

use crate::directory::geometry::parse_polygon;
use crate::hsds::record::Reader;
use crate::values::{Adcode, Coordinates, EmailAddress, Field, LanguageTag, Money, PhoneNumber, WebAddress, Weekday};

/// Tables an attribute may tag (`link_entity`).
pub(super) const TAGGABLE: [&str; 5] = ["service", "organization", "program", "location", "service_at_location"];

/// Fields of HSDS records that would link a record somewhere Qiao has no place for; refused
/// rather than dropped.
pub(super) fn refuse_links(r: &mut Reader, table: &str, fields: &[&str]) {
    for field in fields {
        if r.has(field) {
            r.error(field, format!("Qiao cannot link a {table} through {field} (不支持该关联)"));
        }
    }
}

/// The English name: `x-qiao.en.name`, else HSDS's `alternate_name`, else the main name.
pub(super) fn english_name(r: &mut Reader, name_zh: &str) -> String {
    let fallback = r.text("alternate_name").unwrap_or_else(|| name_zh.to_owned());
    r.en_or("name", &fallback)
}

pub(super) fn required_enum<E: sea_orm::ActiveEnum<Value = String>>(r: &mut Reader, path: &str) -> Option<E> {
    if !r.has(path) {
        r.error(path, "is required (必填)");
        return None;
    }
    r.enumerated(path)
}

pub(super) fn check_coordinates(r: &mut Reader, lat_field: &str, lat: f64, lon_field: &str, lon: f64) {
    if Coordinates::latitude(lat).is_err() {
        r.error(lat_field, "must be between -90 and 90 (纬度超出范围)");
    }
    if Coordinates::longitude(lon).is_err() {
        r.error(lon_field, "must be between -180 and 180 (经度超出范围)");
    }
}

/// Optional text that must parse as a value: its canonical form, or the text as given with an
/// error reported (the record is refused either way then).
fn value_text(r: &mut Reader, path: &str, parse: impl Fn(&str) -> Option<String>, refusal: &str) -> Option<String> {
    let text = r.text(path)?;
    match parse(&text) {
        Some(value) => Some(value),
        None => {
            r.error(path, format!("{text:?} {refusal}"));
            Some(text)
        }
    }
}

fn website(r: &mut Reader, path: &str) -> Option<String> {
    let parse = |t: &str| WebAddress::new(t).map(WebAddress::into_string);
    value_text(r, path, parse, "is not an http:// or https:// address (网址须以 http:// 或 https:// 开头)")
}

fn email(r: &mut Reader, path: &str) -> Option<String> {
    let parse = |t: &str| EmailAddress::new(t).map(EmailAddress::into_string);
    value_text(r, path, parse, "is not an email address (邮箱格式不正确)")
}

/// A district code: six digits when given (an empty one is allowed, as the writers leave it).
fn adcode(r: &mut Reader, path: &str) -> String {
    let parse = |t: &str| Adcode::parse(Field::LocationAdcode, t).ok().map(Adcode::into_string);
    value_text(r, path, parse, "is not a six-digit district code, e.g. 310112 (行政区划代码须为六位数字)")
        .unwrap_or_default()
}

fn phone_number(r: &mut Reader) -> String {
    let number = r.required_text("number");
    if number.is_empty() {
        return number;
    }
    match PhoneNumber::new(&number) {
        Some(phone) => phone.into_string(),
        None => {
            r.error(
                "number",
                format!("{number:?} is not a phone number as dialled in China, e.g. 021-54861801 (电话号码格式不正确)"),
            );
            number
        }
    }
}

/// A GeoJSON Polygon (WGS-84), as Qiao's search reads it.
pub(super) fn polygon(r: &mut Reader, field: &str) -> String {
    let text = r.required_text(field);
    if !text.is_empty() && parse_polygon(&text).is_none() {
        r.error(field, "must be a GeoJSON Polygon of [longitude, latitude] points (必须是 GeoJSON 多边形)");
    }
    text
}

pub(super) fn urban_village(r: &mut Reader) -> urban_village::Model {
    let id = r.id();
    let centroid_lat = r.number("centroid_lat");
    let centroid_lon = r.number("centroid_lon");
    if centroid_lat.is_none() || centroid_lon.is_none() {
        r.error("centroid_lat", "centroid_lat and centroid_lon are required (必须有中心点)");
    }
    let (centroid_lat, centroid_lon) = (centroid_lat.unwrap_or_default(), centroid_lon.unwrap_or_default());
    check_coordinates(r, "centroid_lat", centroid_lat, "centroid_lon", centroid_lon);
    urban_village::Model {
        id,
        name_zh: r.required_text("name_zh"),
        name_en: r.text_or_empty("name_en"),
        city_zh: r.required_text("city_zh"),
        city_en: r.text_or_empty("city_en"),
        district_zh: r.text_or_empty("district_zh"),
        district_en: r.text_or_empty("district_en"),
        adcode: adcode(r, "adcode"),
        boundary: polygon(r, "boundary"),
        centroid_lat,
        centroid_lon,
        population: r.small_integer("population", 0, i32::MAX),
        description_zh: r.text("description_zh"),
        description_en: r.text("description_en"),
    }
}

pub(super) fn organization(r: &mut Reader) -> organization::Model {
    let id = r.id();
    let name_zh = r.required_text("name");
    let description_zh = r.text_or_empty("description");
    organization::Model {
        id,
        name_en: english_name(r, &name_zh),
        description_en: r.en_or("description", &description_zh),
        name_zh,
        description_zh,
        website: website(r, "website"),
        email: email(r, "email"),
        legal_status: r.text("legal_status"),
        parent_organization_id: r.reference("parent_organization_id"),
        archived_at: r.datetime("x-qiao.archived_at"),
    }
}

pub(super) fn organization_identifier(r: &mut Reader) -> organization_identifier::Model {
    organization_identifier::Model {
        id: r.id(),
        organization_id: r.required_reference("organization_id"),
        identifier_scheme: r.text_or_empty("identifier_scheme"),
        identifier_type: r.required_text("identifier_type"),
        identifier: r.required_text("identifier"),
    }
}

pub(super) fn program(r: &mut Reader) -> program::Model {
    let id = r.id();
    let name_zh = r.required_text("name");
    let funders_zh = r.text_or_empty("x-qiao.funders");
    program::Model {
        id,
        organization_id: r.required_reference("organization_id"),
        name_en: english_name(r, &name_zh),
        name_zh,
        description_zh: r.text("description"),
        description_en: r.en_opt("description"),
        funders_en: r.en_or("funders", &funders_zh),
        funders_zh,
        // Programmes from elsewhere carry no delivery mode: a regular service is the safe reading.
        delivery_mode: if r.has("x-qiao.delivery_mode") {
            r.enumerated("x-qiao.delivery_mode").unwrap_or(DeliveryMode::RegularService)
        } else {
            DeliveryMode::RegularService
        },
        since_year: r.small_integer("x-qiao.since_year", 1000, 9999),
    }
}

pub(super) fn location(r: &mut Reader) -> location::Model {
    let id = r.id();
    let name_zh = r.required_text("name");
    let latitude = r.number("latitude");
    let longitude = r.number("longitude");
    match (latitude, longitude) {
        (Some(lat), Some(lon)) => check_coordinates(r, "latitude", lat, "longitude", lon),
        (None, None) => {}
        _ => r.error("latitude", "latitude and longitude come together (经纬度必须同时提供)"),
    }
    location::Model {
        id,
        organization_id: r.required_reference("organization_id"),
        location_type: required_enum(r, "location_type").unwrap_or(LocationType::Physical),
        name_en: english_name(r, &name_zh),
        name_zh,
        description_zh: r.text("description"),
        description_en: r.en_opt("description"),
        transportation_zh: r.text("transportation"),
        transportation_en: r.en_opt("transportation"),
        latitude,
        longitude,
        archived_at: r.datetime("x-qiao.archived_at"),
    }
}

pub(super) fn address(r: &mut Reader) -> address::Model {
    let id = r.id();
    let address_1_zh = r.required_text("address_1");
    let city_zh = r.required_text("city");
    let district_zh = r.text_or_empty("region");
    let address_type = r.text("address_type").unwrap_or_else(|| "physical".to_owned());
    if !["physical", "postal", "virtual"].contains(&address_type.as_str()) {
        r.error("address_type", format!("{address_type:?} is not one of physical, postal, virtual (取值无效)"));
    }
    address::Model {
        id,
        location_id: r.required_reference("location_id"),
        address_1_en: r.en_or("address_1", &address_1_zh),
        city_en: r.en_or("city", &city_zh),
        district_en: r.en_or("region", &district_zh),
        address_1_zh,
        city_zh,
        district_zh,
        // HSDS's `state_province` is derived from the administrative code on export.
        adcode: adcode(r, "x-qiao.adcode"),
        postal_code: r.text("postal_code"),
        country: r.text("country").unwrap_or_else(|| "CN".to_owned()),
        address_type,
    }
}

pub(super) fn accessibility(r: &mut Reader) -> accessibility::Model {
    let id = r.id();
    let description_zh = r.required_text("description");
    accessibility::Model {
        id,
        location_id: r.required_reference("location_id"),
        description_en: r.en_or("description", &description_zh),
        description_zh,
    }
}

pub(super) fn service(r: &mut Reader, now: DateTime<Utc>) -> service::Model {
    let id = r.id();
    let name_zh = r.required_text("name");
    let description_zh = r.text_or_empty("description");
    let minimum_age = r.small_integer("minimum_age", 0, 150);
    let maximum_age = r.small_integer("maximum_age", 0, 150);
    if let (Some(min), Some(max)) = (minimum_age, maximum_age)
        && min > max
    {
        r.error("minimum_age", "minimum_age is above maximum_age (最小年龄大于最大年龄)");
    }
    service::Model {
        id,
        organization_id: r.required_reference("organization_id"),
        program_id: r.reference("program_id"),
        // Set from the service's primary-category attribute once every table is read.
        category_term_id: String::new(),
        name_en: english_name(r, &name_zh),
        name_zh,
        description_en: r.en_or("description", &description_zh),
        description_zh,
        url: website(r, "url"),
        email: email(r, "email"),
        status: required_enum(r, "status").unwrap_or_default(),
        application_process_zh: r.text("application_process"),
        application_process_en: r.en_opt("application_process"),
        fees_description_zh: r.text("fees_description"),
        fees_description_en: r.en_opt("fees_description"),
        eligibility_description_zh: r.text("eligibility_description"),
        eligibility_description_en: r.en_opt("eligibility_description"),
        minimum_age,
        maximum_age,
        alert_zh: r.text("alert"),
        alert_en: r.en_opt("alert"),
        assured_date: r.date("assured_date"),
        assurer: r.text("x-qiao.assurer"),
        last_modified: r.datetime("last_modified").unwrap_or(now),
    }
}

pub(super) fn service_at_location(r: &mut Reader) -> service_at_location::Model {
    service_at_location::Model {
        id: r.id(),
        service_id: r.required_reference("service_id"),
        location_id: r.required_reference("location_id"),
    }
}

/// Opening and closing times, the opening first.
pub(super) fn hours(r: &mut Reader, required: bool) -> (Option<String>, Option<String>) {
    for field in ["opens_at", "closes_at"] {
        if required && !r.has(field) {
            r.error(field, "is required (必填)");
        }
    }
    let opens = r.local_time("opens_at");
    let closes = r.local_time("closes_at");
    if let (Some(opens), Some(closes)) = (&opens, &closes)
        && opens >= closes
    {
        r.error("closes_at", format!("closes at {closes}, not after it opens at {opens} (关门时间必须晚于开门时间)"));
    }
    (opens, closes)
}

pub(super) fn schedule(r: &mut Reader) -> schedule::Model {
    let id = r.id();
    let service_id = r.reference("service_id");
    let service_at_location_id = r.reference("service_at_location_id");
    if service_id.is_none() && service_at_location_id.is_none() {
        r.error("service_id", "a schedule must name a service or a service at a location (必须指明服务)");
    }
    refuse_links(r, "schedule", &["location_id"]);
    if let Some(offset) = r.number("timezone")
        && offset != 8.0
    {
        r.error("timezone", "Qiao keeps hours in China Standard Time: the timezone must be 8 (时区必须是 UTC+8)");
    }
    if let Some(freq) = r.text("freq")
        && freq != "WEEKLY"
    {
        r.error("freq", format!("{freq:?}: Qiao keeps weekly opening hours only (仅支持每周营业时间)"));
    }
    if let Some(interval) = r.number("interval")
        && interval != 1.0
    {
        r.error("interval", "Qiao keeps weekly opening hours only: the interval must be 1 (仅支持每周营业时间)");
    }
    for field in ["count", "until", "byweekno", "bymonthday", "byyearday"] {
        if r.has(field) {
            r.error(field, "Qiao keeps weekly opening hours only (仅支持每周营业时间)");
        }
    }
    let byday = r.required_text("byday");
    let days: Option<Vec<Weekday>> = byday.split(',').map(Weekday::from_code_loose).collect();
    if !byday.is_empty() && days.is_none() {
        r.error("byday", format!("{byday:?} is not a list of MO, TU, WE, TH, FR, SA, SU (星期格式错误)"));
    }
    let days: Vec<&str> = days.unwrap_or_default().into_iter().map(Weekday::code).collect();
    let (opens_at, closes_at) = hours(r, true);
    schedule::Model {
        id,
        // A schedule of a service at a location takes that location's service (see `assemble`).
        service_id: service_id.unwrap_or_default(),
        service_at_location_id,
        byday: days.join(","),
        opens_at: opens_at.unwrap_or_default(),
        closes_at: closes_at.unwrap_or_default(),
        valid_from: r.date("valid_from"),
        valid_to: r.date("valid_to"),
    }
}

pub(super) fn schedule_exception(r: &mut Reader) -> schedule_exception::Model {
    let id = r.id();
    let closed = r.boolean("closed").unwrap_or(true);
    if !r.has("closed") {
        r.error("closed", "is required (必填)");
    }
    let (opens_at, closes_at) = hours(r, !closed);
    let date = r.date("date");
    if date.is_none() && !r.has("date") {
        r.error("date", "is required (必填)");
    }
    schedule_exception::Model {
        id,
        service_id: r.required_reference("service_id"),
        service_at_location_id: r.reference("service_at_location_id"),
        date: date.unwrap_or_default(),
        closed,
        opens_at,
        closes_at,
        reason_zh: r.text_or_empty("reason_zh"),
        reason_en: r.text_or_empty("reason_en"),
    }
}

pub(super) fn contact(r: &mut Reader) -> contact::Model {
    let id = r.id();
    refuse_links(r, "contact", &["location_id", "service_at_location_id"]);
    let name_zh = r.required_text("name");
    contact::Model {
        id,
        service_id: r.reference("service_id"),
        organization_id: r.reference("organization_id"),
        name_en: r.en_or("name", &name_zh),
        name_zh,
        title_zh: r.text("title"),
        title_en: r.en_opt("title"),
        // Set from the contact's phone record, if any (see `assemble`).
        phone: None,
        email: email(r, "email"),
    }
}

pub(super) enum PhoneRecord {
    Phone(phone::Model),
    /// A contact's phone number: Qiao keeps it on the contact.
    OfContact {
        contact_id: String,
        number: String,
    },
}

pub(super) fn phone(r: &mut Reader) -> PhoneRecord {
    let id = r.id();
    let number = phone_number(r);
    if let Some(contact_id) = r.reference("contact_id") {
        refuse_links(r, "contact's phone", &["service_id", "organization_id", "location_id", "service_at_location_id"]);
        return PhoneRecord::OfContact { contact_id, number };
    }
    refuse_links(r, "phone", &["service_at_location_id"]);
    let extension = match r.text("x-qiao.extension") {
        Some(text) => Some(text),
        None => r.integer("extension", 0, i64::from(u32::MAX)).map(|n| n.to_string()),
    };
    let phone_type = r.text("x-qiao.type").or_else(|| r.text("type")).unwrap_or_else(|| "voice".to_owned());
    PhoneRecord::Phone(phone::Model {
        id,
        service_id: r.reference("service_id"),
        organization_id: r.reference("organization_id"),
        location_id: r.reference("location_id"),
        number,
        extension,
        phone_type,
        description_zh: r.text("description"),
        description_en: r.en_opt("description"),
    })
}

pub(super) fn language(r: &mut Reader) -> language::Model {
    let id = r.id();
    refuse_links(r, "language", &["location_id", "phone_id"]);
    let mut code = r.required_text("code");
    if !code.is_empty() {
        match LanguageTag::new(&code) {
            Some(tag) => code = tag.into_string(),
            None => r.error("code", format!("{code:?} is not a language code like zh, en or yue (语言代码无效)")),
        }
    }
    language::Model { id, service_id: r.required_reference("service_id"), code }
}

pub(super) fn cost_option(r: &mut Reader) -> cost_option::Model {
    let id = r.id();
    let option_zh = r.text_or_empty("option");
    let currency = r.text("currency").unwrap_or_else(|| "CNY".to_owned());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        r.error("currency", format!("{currency:?} is not a 3-letter currency code such as CNY (币种代码无效)"));
    }
    if !r.has("amount") {
        r.error("amount", "is required (必填)");
    }
    let amount_fen = match r.number("amount") {
        Some(yuan) => match Money::from_yuan(Field::CostAmount, yuan) {
            // HSDS amounts are decimals: one that is not whole fen would be silently rounded.
            Ok(money) if (yuan * 100.0 - money.fen() as f64).abs() <= 1e-6 => money.fen(),
            _ => {
                r.error("amount", "must be 0 to 10,000,000 yuan in whole fen, such as 12.5 (金额无效)");
                0
            }
        },
        None => 0,
    };
    cost_option::Model {
        id,
        service_id: r.required_reference("service_id"),
        option_en: r.en_or("option", &option_zh),
        option_zh,
        amount_fen,
        currency,
    }
}

pub(super) fn required_document(r: &mut Reader) -> required_document::Model {
    let id = r.id();
    let document_zh = r.required_text("document");
    required_document::Model {
        id,
        service_id: r.required_reference("service_id"),
        document_en: r.en_or("document", &document_zh),
        document_zh,
    }
}

pub(super) fn eligibility_requirement(r: &mut Reader) -> eligibility_requirement::Model {
    let id = r.id();
    eligibility_requirement::Model {
        id,
        service_id: r.required_reference("service_id"),
        kind: required_enum(r, "kind").unwrap_or(qiao_schema::domain::EligibilityKind::HukouAnywhere),
        months: r.small_integer("months", 0, 1200),
        min_age: r.small_integer("min_age", 0, 150),
        max_age: r.small_integer("max_age", 0, 150),
    }
}

pub(super) fn service_capacity(r: &mut Reader) -> service_capacity::Model {
    let id = r.id();
    if !r.has("as_of") {
        r.error("as_of", "is required (必填)");
    }
    service_capacity::Model {
        id,
        service_id: r.required_reference("service_id"),
        status: required_enum(r, "status").unwrap_or(qiao_schema::domain::CapacityStatus::Accepting),
        as_of: r.date("as_of").unwrap_or_default(),
        note_zh: r.text("note_zh"),
        note_en: r.text("note_en"),
    }
}

pub(super) fn service_area(r: &mut Reader) -> service_area::Model {
    let id = r.id();
    let name_zh = r.text_or_empty("name");
    let extent_type = r.text("extent_type").unwrap_or_else(|| "geojson".to_owned());
    if extent_type != "geojson" {
        r.error("extent_type", format!("{extent_type:?}: Qiao reads geojson extents only (仅支持 geojson)"));
    }
    service_area::Model {
        id,
        service_id: r.required_reference("service_id"),
        name_en: r.en_or("name", &name_zh),
        name_zh,
        extent: polygon(r, "extent"),
        extent_type,
    }
}

pub(super) fn service_support(r: &mut Reader) -> service_support::Model {
    let id = r.id();
    let support_function = r.enumerated("support_function");
    let intervention_level = r.enumerated("intervention_level");
    if r.has("support_function") == r.has("intervention_level") {
        r.error(
            "support_function",
            "give exactly one of support_function and intervention_level (两者必须且只能填一个)",
        );
    }
    service_support::Model { id, service_id: r.required_reference("service_id"), support_function, intervention_level }
}

pub(super) enum AttributeRecord {
    Attribute(attribute::Model),
    /// A service's primary category: Qiao keeps it in `service.category_term_id`.
    PrimaryCategory {
        service_id: String,
        term_id: String,
    },
}

pub(super) fn attribute(r: &mut Reader) -> AttributeRecord {
    let id = r.id();
    let link_id = r.required_reference("link_id");
    let taxonomy_term_id = r.required_reference("taxonomy_term_id");
    // HSDS 3.0 names the tagged table `link_entity`; Qiao keeps it as `link_type`.
    let entity = r.text("link_entity").or_else(|| r.text("link_type"));
    let entity = match entity {
        Some(entity) if TAGGABLE.contains(&entity.as_str()) => entity,
        Some(entity) => {
            r.error("link_entity", format!("{entity:?} is not one of {} (取值无效)", TAGGABLE.join(", ")));
            entity
        }
        None => {
            r.error("link_entity", "is required (必填)");
            String::new()
        }
    };
    if r.boolean("x-qiao.primary") == Some(true) {
        if entity != "service" {
            r.error("x-qiao.primary", "only a service has a primary category (只有服务有主类别)");
        }
        return AttributeRecord::PrimaryCategory { service_id: link_id, term_id: taxonomy_term_id };
    }
    AttributeRecord::Attribute(attribute::Model {
        id,
        link_id,
        link_type: entity,
        taxonomy_term_id,
        value: r.text("value"),
    })
}

pub(super) fn metadata(r: &mut Reader) -> metadata::Model {
    let id = r.id();
    let last_action_date = match r.datetime("x-qiao.last_action_at") {
        Some(at) => Some(at),
        None => r.date("last_action_date").map(|date| date.and_time(NaiveTime::MIN).and_utc()),
    };
    if last_action_date.is_none() && !r.has("last_action_date") {
        r.error("last_action_date", "is required (必填)");
    }
    metadata::Model {
        id,
        resource_id: r.required_text("resource_id"),
        resource_type: r.required_text("resource_type"),
        last_action_date: last_action_date.unwrap_or_default(),
        last_action_type: r.required_text("last_action_type"),
        field_name: r.required_text("field_name"),
        previous_value: r.text("previous_value"),
        replacement_value: r.text("replacement_value"),
        updated_by: r.required_text("updated_by"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::hsds::RecordError;

    const ID: &str = "0190c1a2-0000-7000-8000-000000000001";

    fn read<T>(record: Value, read: impl FnOnce(&mut Reader) -> T) -> (T, Vec<RecordError>) {
        let fields = record.as_object().cloned().unwrap_or_default();
        let mut errors = Vec::new();
        let value = read(&mut Reader::new("organization.json", 0, &fields, &mut errors));
        (value, errors)
    }

    fn fields_at_fault(errors: &[RecordError]) -> Vec<&str> {
        errors.iter().filter_map(|e| e.field.as_deref()).collect()
    }

    #[test]
    fn a_website_or_email_that_is_not_an_address_is_refused() {
        let record = json!({ "id": ID, "name": "机构", "website": "javascript:alert(1)", "email": "nobody" });
        let (_, errors) = read(record, organization);
        assert_eq!(fields_at_fault(&errors), ["website", "email"]);
        let record = json!({ "id": ID, "name": "机构", "website": "https://example.org", "email": "a@example.org" });
        let (row, errors) = read(record, organization);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(row.website.as_deref(), Some("https://example.org"));
    }

    #[test]
    fn phone_numbers_are_kept_in_their_one_canonical_form() {
        let record = json!({ "id": ID, "service_id": ID, "number": "+86 21 5486 1801" });
        let (row, errors) = read(record, phone);
        assert!(errors.is_empty(), "{errors:?}");
        assert!(matches!(row, PhoneRecord::Phone(p) if p.number == "021-54861801"));
        let (_, errors) = read(json!({ "id": ID, "service_id": ID, "number": "call us" }), phone);
        assert_eq!(fields_at_fault(&errors), ["number"]);
    }

    #[test]
    fn weekdays_languages_and_amounts_are_read_by_the_domain_rules() {
        let record =
            json!({ "id": ID, "service_id": ID, "byday": "mo, Tu", "opens_at": "09:00", "closes_at": "17:00" });
        let (row, errors) = read(record, schedule);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(row.byday, "MO,TU");
        let (_, errors) = read(
            json!({ "id": ID, "service_id": ID, "byday": "MON", "opens_at": "09:00", "closes_at": "17:00" }),
            schedule,
        );
        assert_eq!(fields_at_fault(&errors), ["byday"]);

        let (row, errors) = read(json!({ "id": ID, "service_id": ID, "code": "YUE" }), language);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(row.code, "yue");
        let (_, errors) = read(json!({ "id": ID, "service_id": ID, "code": "en; drop" }), language);
        assert_eq!(fields_at_fault(&errors), ["code"]);

        let (row, errors) = read(json!({ "id": ID, "service_id": ID, "amount": 12.5 }), cost_option);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(row.amount_fen, 1250);
        for amount in [json!(-1), json!(10_000_000.01), json!(0.125)] {
            let (_, errors) = read(json!({ "id": ID, "service_id": ID, "amount": amount }), cost_option);
            assert_eq!(fields_at_fault(&errors), ["amount"], "{amount}");
        }
    }
}
