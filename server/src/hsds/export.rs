//! The directory as HSDS 3.0 records: one function per table, database row to record.
//!
//! The mapping, in short (`docs/HSDS.md` has it in full): the HSDS field holds the Chinese
//! text, `x-qiao.en.<field>` the English; Qiao-only columns go in `x-qiao.<column>`; Qiao's
//! extension tables are `x-qiao-<table>` resources with their own column names.

use std::collections::HashMap;
use std::sync::LazyLock;

use qiao_schema::entity::*;
use qiao_schema::ids::derived_id;
use sea_orm::{ActiveEnum, DatabaseConnection, DbErr, EntityTrait};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::record::{RecordBuilder, date_text, datetime_text};
use super::tables::{self, TableSpec};
use super::{HsdsPackage, PackageTable};

/// Qiao keeps opening hours in China Standard Time.
pub const CHINA_UTC_OFFSET_HOURS: i64 = 8;
/// The language of the main HSDS text fields.
pub const MAIN_LANGUAGE: &str = "zh";

/// HSDS ids are UUIDs. Qiao's own taxonomy has a readable id (`qiao-service-category`); it is
/// exported as a UUIDv5 of that id, with the id itself in `x-qiao.id`.
pub fn taxonomy_hsds_id(id: &str) -> String {
    if Uuid::parse_str(id).is_ok() { id.to_owned() } else { derived_id("hsds/taxonomy", id) }
}

/// Id of the attribute that carries a service's primary category (Qiao keeps that category in
/// `service.category_term_id`, HSDS in an attribute).
pub fn primary_category_attribute_id(service_id: &str) -> String {
    derived_id("hsds/primary-category", service_id)
}

/// Id of the phone record that carries a contact's phone number (Qiao keeps it on the contact,
/// HSDS in the phone table with `contact_id`).
pub fn contact_phone_id(contact_id: &str) -> String {
    derived_id("hsds/contact-phone", contact_id)
}

/// HSDS phone types come from RFC 6350; Qiao's `hotline` is a voice line, kept in `x-qiao.type`.
fn hsds_phone_type(qiao: &str) -> &str {
    match qiao {
        "hotline" => "voice",
        other => other,
    }
}

/// Province-level divisions by the first two digits of an administrative code (GB/T 2260), from
/// the district-centroid data the seed crate carries.
static PROVINCES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    qiao_seed::files::DISTRICT_CENTROIDS_GCJ02
        .lines()
        .filter_map(|line| {
            let mut cells = line.split(',');
            let (code, name) = (cells.next()?, cells.next()?);
            (code.len() == 12 && code.ends_with("0000000000")).then(|| (&code[..2], name))
        })
        .collect()
});

/// The province (HSDS `state_province`) of an administrative code, e.g. 310112 → 上海市.
pub fn province_of(adcode: &str) -> Option<&'static str> {
    PROVINCES.get(adcode.get(..2)?).copied()
}

/// Reads the whole directory (every status, archived rows too) as an HSDS package; admins only.
pub async fn export(db: &DatabaseConnection, _admin: &crate::auth::policy::Admin) -> Result<HsdsPackage, DbErr> {
    let taxonomies = rows::<taxonomy::Entity>(db).await?;
    let taxonomy_names: HashMap<&str, &str> = taxonomies.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    let terms = rows::<taxonomy_term::Entity>(db).await?;
    let services = rows::<service::Entity>(db).await?;
    let contacts = rows::<contact::Entity>(db).await?;

    let mut phones: Vec<Map<String, Value>> = rows::<phone::Entity>(db).await?.iter().map(phone).collect();
    phones.extend(contacts.iter().filter_map(contact_phone));
    let mut attributes: Vec<Map<String, Value>> = rows::<attribute::Entity>(db).await?.iter().map(attribute).collect();
    attributes.extend(services.iter().map(primary_category));

    let tables = vec![
        table(&tables::TAXONOMY, taxonomies.iter().map(taxonomy)),
        table(&tables::TAXONOMY_TERM, terms.iter().map(|t| taxonomy_term(t, &taxonomy_names))),
        table(&tables::URBAN_VILLAGE, rows::<urban_village::Entity>(db).await?.iter().map(urban_village)),
        table(&tables::ORGANIZATION, rows::<organization::Entity>(db).await?.iter().map(organization)),
        table(
            &tables::ORGANIZATION_IDENTIFIER,
            rows::<organization_identifier::Entity>(db).await?.iter().map(organization_identifier),
        ),
        table(&tables::PROGRAM, rows::<program::Entity>(db).await?.iter().map(program)),
        table(&tables::LOCATION, rows::<location::Entity>(db).await?.iter().map(location)),
        table(&tables::ADDRESS, rows::<address::Entity>(db).await?.iter().map(address)),
        table(&tables::ACCESSIBILITY, rows::<accessibility::Entity>(db).await?.iter().map(accessibility)),
        table(&tables::SERVICE, services.iter().map(service)),
        table(
            &tables::SERVICE_AT_LOCATION,
            rows::<service_at_location::Entity>(db).await?.iter().map(service_at_location),
        ),
        table(&tables::SCHEDULE, rows::<schedule::Entity>(db).await?.iter().map(schedule)),
        table(
            &tables::SCHEDULE_EXCEPTION,
            rows::<schedule_exception::Entity>(db).await?.iter().map(schedule_exception),
        ),
        table(&tables::CONTACT, contacts.iter().map(contact)),
        table(&tables::PHONE, phones),
        table(&tables::LANGUAGE, rows::<language::Entity>(db).await?.iter().map(language)),
        table(&tables::COST_OPTION, rows::<cost_option::Entity>(db).await?.iter().map(cost_option)),
        table(&tables::REQUIRED_DOCUMENT, rows::<required_document::Entity>(db).await?.iter().map(required_document)),
        table(
            &tables::ELIGIBILITY_REQUIREMENT,
            rows::<eligibility_requirement::Entity>(db).await?.iter().map(eligibility_requirement),
        ),
        table(&tables::SERVICE_CAPACITY, rows::<service_capacity::Entity>(db).await?.iter().map(service_capacity)),
        table(&tables::SERVICE_AREA, rows::<service_area::Entity>(db).await?.iter().map(service_area)),
        table(&tables::SERVICE_SUPPORT, rows::<service_support::Entity>(db).await?.iter().map(service_support)),
        table(&tables::ATTRIBUTE, attributes),
        table(&tables::METADATA, rows::<metadata::Entity>(db).await?.iter().map(metadata)),
    ];
    Ok(HsdsPackage { tables })
}

async fn rows<E: EntityTrait>(db: &DatabaseConnection) -> Result<Vec<E::Model>, DbErr> {
    E::find().all(db).await
}

/// A table's records, ordered by id in Rust (not by the database's collation), so both
/// databases export byte-identical files.
fn table(spec: &'static TableSpec, records: impl IntoIterator<Item = Map<String, Value>>) -> PackageTable {
    let mut records: Vec<Map<String, Value>> = records.into_iter().collect();
    records.sort_by(|a, b| a.get("id").and_then(Value::as_str).cmp(&b.get("id").and_then(Value::as_str)));
    PackageTable { spec, file: spec.json_file(), records }
}

fn taxonomy(row: &taxonomy::Model) -> Map<String, Value> {
    let hsds_id = taxonomy_hsds_id(&row.id);
    let original = (hsds_id != row.id).then(|| row.id.clone());
    RecordBuilder::new(&hsds_id)
        .put("name", row.name.as_str())
        .put("description", row.description.as_str())
        .text("uri", row.uri.as_deref())
        .text("version", row.version.as_deref())
        .x("id", original)
        .build()
}

fn taxonomy_term(row: &taxonomy_term::Model, taxonomy_names: &HashMap<&str, &str>) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("code", row.code.as_str())
        .put("name", row.name_zh.as_str())
        .put("description", row.description_zh.as_str())
        .text("parent_id", row.parent_id.as_deref())
        .text("taxonomy", taxonomy_names.get(row.taxonomy_id.as_str()).copied())
        .put("language", MAIN_LANGUAGE)
        .put("taxonomy_id", taxonomy_hsds_id(&row.taxonomy_id))
        .en("name", &row.name_en)
        .en("description", &row.description_en)
        .x("icon", row.icon.clone())
        .x("ordinal", Some(row.ordinal))
        .build()
}

fn urban_village(row: &urban_village::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("name_zh", row.name_zh.as_str())
        .put("name_en", row.name_en.as_str())
        .put("city_zh", row.city_zh.as_str())
        .put("city_en", row.city_en.as_str())
        .put("district_zh", row.district_zh.as_str())
        .put("district_en", row.district_en.as_str())
        .put("adcode", row.adcode.as_str())
        .put("boundary", row.boundary.as_str())
        .put("centroid_lat", row.centroid_lat)
        .put("centroid_lon", row.centroid_lon)
        .opt("population", row.population)
        .text("description_zh", row.description_zh.as_deref())
        .text("description_en", row.description_en.as_deref())
        .build()
}

fn organization(row: &organization::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("name", row.name_zh.as_str())
        .text("alternate_name", Some(row.name_en.as_str()))
        .put("description", row.description_zh.as_str())
        .text("email", row.email.as_deref())
        .text("website", row.website.as_deref())
        .text("legal_status", row.legal_status.as_deref())
        .text("parent_organization_id", row.parent_organization_id.as_deref())
        .en("name", &row.name_en)
        .en("description", &row.description_en)
        .x("archived_at", row.archived_at.map(datetime_text))
        .build()
}

fn organization_identifier(row: &organization_identifier::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("organization_id", row.organization_id.as_str())
        .text("identifier_scheme", Some(row.identifier_scheme.as_str()))
        .put("identifier_type", row.identifier_type.as_str())
        .put("identifier", row.identifier.as_str())
        .build()
}

fn program(row: &program::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("organization_id", row.organization_id.as_str())
        .put("name", row.name_zh.as_str())
        .text("alternate_name", Some(row.name_en.as_str()))
        // HSDS requires a description; Qiao's is optional.
        .put("description", row.description_zh.clone().unwrap_or_default())
        .en("name", &row.name_en)
        .en_opt("description", row.description_en.as_deref())
        .en("funders", &row.funders_en)
        .x("funders", Some(row.funders_zh.as_str()))
        .x("delivery_mode", Some(row.delivery_mode.to_value()))
        .x("since_year", row.since_year)
        .build()
}

fn location(row: &location::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("location_type", row.location_type.to_value())
        .put("organization_id", row.organization_id.as_str())
        .put("name", row.name_zh.as_str())
        .text("alternate_name", Some(row.name_en.as_str()))
        .text("description", row.description_zh.as_deref())
        .text("transportation", row.transportation_zh.as_deref())
        .opt("latitude", row.latitude)
        .opt("longitude", row.longitude)
        .en("name", &row.name_en)
        .en_opt("description", row.description_en.as_deref())
        .en_opt("transportation", row.transportation_en.as_deref())
        .x("archived_at", row.archived_at.map(datetime_text))
        .build()
}

fn address(row: &address::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("location_id", row.location_id.as_str())
        .put("address_1", row.address_1_zh.as_str())
        .put("city", row.city_zh.as_str())
        .text("region", Some(row.district_zh.as_str()))
        // Required by HSDS; derived from the administrative code, so not read back.
        .put("state_province", province_of(&row.adcode).unwrap_or_default())
        .put("postal_code", row.postal_code.clone().unwrap_or_default())
        .put("country", row.country.as_str())
        .put("address_type", row.address_type.as_str())
        .en("address_1", &row.address_1_en)
        .en("city", &row.city_en)
        .en("region", &row.district_en)
        .x("adcode", Some(row.adcode.as_str()))
        .build()
}

fn accessibility(row: &accessibility::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("location_id", row.location_id.as_str())
        .put("description", row.description_zh.as_str())
        .en("description", &row.description_en)
        .build()
}

fn service(row: &service::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("organization_id", row.organization_id.as_str())
        .text("program_id", row.program_id.as_deref())
        .put("name", row.name_zh.as_str())
        .text("alternate_name", Some(row.name_en.as_str()))
        .put("description", row.description_zh.as_str())
        .text("url", row.url.as_deref())
        .text("email", row.email.as_deref())
        .put("status", row.status.to_value())
        .text("application_process", row.application_process_zh.as_deref())
        .text("fees_description", row.fees_description_zh.as_deref())
        .text("eligibility_description", row.eligibility_description_zh.as_deref())
        .opt("minimum_age", row.minimum_age)
        .opt("maximum_age", row.maximum_age)
        .opt("assured_date", row.assured_date.map(date_text))
        .text("alert", row.alert_zh.as_deref())
        .put("last_modified", datetime_text(row.last_modified))
        .en("name", &row.name_en)
        .en("description", &row.description_en)
        .en_opt("application_process", row.application_process_en.as_deref())
        .en_opt("fees_description", row.fees_description_en.as_deref())
        .en_opt("eligibility_description", row.eligibility_description_en.as_deref())
        .en_opt("alert", row.alert_en.as_deref())
        // Who verified is a name, not the e-mail address HSDS's `assurer_email` wants.
        .x("assurer", row.assurer.clone())
        .build()
}

fn service_at_location(row: &service_at_location::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("location_id", row.location_id.as_str())
        .build()
}

fn schedule(row: &schedule::Model) -> Map<String, Value> {
    // Hours of a service at one location name only that; a service's own hours name the service.
    let service_id = row.service_at_location_id.is_none().then_some(row.service_id.as_str());
    RecordBuilder::new(&row.id)
        .text("service_id", service_id)
        .text("service_at_location_id", row.service_at_location_id.as_deref())
        .opt("valid_from", row.valid_from.map(date_text))
        .opt("valid_to", row.valid_to.map(date_text))
        .put("timezone", CHINA_UTC_OFFSET_HOURS)
        .put("freq", "WEEKLY")
        .put("byday", row.byday.as_str())
        .put("opens_at", format!("{}+08:00", row.opens_at))
        .put("closes_at", format!("{}+08:00", row.closes_at))
        .build()
}

fn schedule_exception(row: &schedule_exception::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .text("service_at_location_id", row.service_at_location_id.as_deref())
        .put("date", date_text(row.date))
        .put("closed", row.closed)
        .text("opens_at", row.opens_at.as_deref())
        .text("closes_at", row.closes_at.as_deref())
        .put("reason_zh", row.reason_zh.as_str())
        .put("reason_en", row.reason_en.as_str())
        .build()
}

fn contact(row: &contact::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .text("organization_id", row.organization_id.as_deref())
        .text("service_id", row.service_id.as_deref())
        .put("name", row.name_zh.as_str())
        .text("title", row.title_zh.as_deref())
        .text("email", row.email.as_deref())
        .en("name", &row.name_en)
        .en_opt("title", row.title_en.as_deref())
        .build()
}

/// A contact's phone number as an HSDS phone record.
fn contact_phone(row: &contact::Model) -> Option<Map<String, Value>> {
    let number = row.phone.as_deref().filter(|n| !n.is_empty())?;
    Some(
        RecordBuilder::new(&contact_phone_id(&row.id))
            .put("contact_id", row.id.as_str())
            .put("number", number)
            .put("type", "voice")
            .build(),
    )
}

fn phone(row: &phone::Model) -> Map<String, Value> {
    let hsds_type = hsds_phone_type(&row.phone_type);
    // HSDS extensions are numbers; one that is not a plain number travels in x-qiao.
    let numeric_extension = row.extension.as_deref().and_then(|e| e.parse::<u64>().ok().filter(|n| n.to_string() == e));
    let other_extension = row.extension.as_deref().filter(|_| numeric_extension.is_none());
    RecordBuilder::new(&row.id)
        .text("location_id", row.location_id.as_deref())
        .text("service_id", row.service_id.as_deref())
        .text("organization_id", row.organization_id.as_deref())
        .put("number", row.number.as_str())
        .opt("extension", numeric_extension)
        .put("type", hsds_type)
        .text("description", row.description_zh.as_deref())
        .en_opt("description", row.description_en.as_deref())
        .x("type", (hsds_type != row.phone_type).then_some(row.phone_type.as_str()))
        .x("extension", other_extension)
        .build()
}

fn language(row: &language::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id).put("service_id", row.service_id.as_str()).put("code", row.code.as_str()).build()
}

fn cost_option(row: &cost_option::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("option", row.option_zh.as_str())
        .put("currency", row.currency.as_str())
        .put("amount", yuan(row.amount_fen))
        .en("option", &row.option_en)
        .build()
}

/// Fen as the yuan amount HSDS wants: a whole number when it is one (`20`, not `20.0`). Fen are
/// exact where yuan are not, so import rounds back to whole fen.
fn yuan(fen: i64) -> Value {
    if fen % 100 == 0 { Value::from(fen / 100) } else { Value::from(fen as f64 / 100.0) }
}

fn required_document(row: &required_document::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("document", row.document_zh.as_str())
        .en("document", &row.document_en)
        .build()
}

fn eligibility_requirement(row: &eligibility_requirement::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("kind", row.kind.to_value())
        .opt("months", row.months)
        .opt("min_age", row.min_age)
        .opt("max_age", row.max_age)
        .build()
}

fn service_capacity(row: &service_capacity::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("status", row.status.to_value())
        .put("as_of", date_text(row.as_of))
        .text("note_zh", row.note_zh.as_deref())
        .text("note_en", row.note_en.as_deref())
        .build()
}

fn service_area(row: &service_area::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .put("name", row.name_zh.as_str())
        .put("extent", row.extent.as_str())
        .put("extent_type", row.extent_type.as_str())
        .en("name", &row.name_en)
        .build()
}

fn service_support(row: &service_support::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("service_id", row.service_id.as_str())
        .opt("support_function", row.support_function.map(|f| f.to_value()))
        .opt("intervention_level", row.intervention_level.map(|l| l.to_value()))
        .build()
}

fn attribute(row: &attribute::Model) -> Map<String, Value> {
    // Qiao's `link_type` names the tagged table, which HSDS 3.0 calls `link_entity`.
    RecordBuilder::new(&row.id)
        .put("link_id", row.link_id.as_str())
        .put("taxonomy_term_id", row.taxonomy_term_id.as_str())
        .put("link_type", row.link_type.as_str())
        .put("link_entity", row.link_type.as_str())
        .text("value", row.value.as_deref())
        .build()
}

/// A service's primary category as an attribute marked `x-qiao.primary`.
fn primary_category(row: &service::Model) -> Map<String, Value> {
    RecordBuilder::new(&primary_category_attribute_id(&row.id))
        .put("link_id", row.id.as_str())
        .put("taxonomy_term_id", row.category_term_id.as_str())
        .put("link_type", "service")
        .put("link_entity", "service")
        .x("primary", Some(true))
        .build()
}

fn metadata(row: &metadata::Model) -> Map<String, Value> {
    RecordBuilder::new(&row.id)
        .put("resource_id", row.resource_id.as_str())
        .put("resource_type", row.resource_type.as_str())
        // HSDS keeps a date; the instant itself travels in x-qiao.
        .put("last_action_date", date_text(row.last_action_date.date_naive()))
        .put("last_action_type", row.last_action_type.as_str())
        .put("field_name", row.field_name.as_str())
        .put("previous_value", row.previous_value.clone().unwrap_or_default())
        .put("replacement_value", row.replacement_value.clone().unwrap_or_default())
        .put("updated_by", row.updated_by.as_str())
        .x("last_action_at", Some(datetime_text(row.last_action_date)))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_yuan_and_whole_yuan_are_whole_numbers() {
        assert_eq!(yuan(2000).to_string(), "20");
        assert_eq!(yuan(15).to_string(), "0.15");
        assert_eq!(yuan(1_234_567).to_string(), "12345.67");
        assert_eq!(yuan(0).to_string(), "0");
    }

    #[test]
    fn provinces_come_from_the_administrative_code() {
        assert_eq!(province_of("310112"), Some("上海市"));
        assert_eq!(province_of("520102"), Some("贵州省"));
        assert_eq!(province_of("99"), None);
        assert_eq!(province_of(""), None);
    }

    #[test]
    fn readable_taxonomy_ids_become_stable_uuids_and_uuids_stay() {
        let exported = taxonomy_hsds_id("qiao-service-category");
        assert!(Uuid::parse_str(&exported).is_ok());
        assert_eq!(exported, taxonomy_hsds_id("qiao-service-category"));
        let uuid = "8f0c3a2e-6c1b-4a43-9d59-0d2a1f6e4b11";
        assert_eq!(taxonomy_hsds_id(uuid), uuid);
    }
}
