//! HSDS 3.0 records into the directory: all or nothing, in one transaction.
//!
//! 1. Read: every record of every table becomes a Qiao row; each field that cannot is reported.
//! 2. Assemble: HSDS records that are part of another Qiao row (a primary-category attribute is
//!    `service.category_term_id`, a contact's phone is `contact.phone`) are folded in.
//! 3. Check, against the package and the database together: duplicate ids, references,
//!    unique pairs, category rules, loops in parent chains.
//! 4. Write, only when nothing was reported: rows are upserted by id, parents first.
//!
//! Upserting by id makes an import repeatable: the same package twice changes nothing the second
//! time. An import adds and replaces, it never deletes.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveTime, Utc};
use qiao_schema::domain::{DeliveryMode, LocationType, taxonomy_ids};
use qiao_schema::entity::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, IdenStatic, IntoActiveModel, Iterable,
    PrimaryKeyToColumn, QuerySelect, TransactionTrait,
};
use serde_json::Value;

use super::export::taxonomy_hsds_id;
use super::record::{Origin, Reader, RecordError};
use super::tables;
use super::{HsdsPackage, PackageTable};
use crate::directory::geometry::parse_polygon;

/// What an import did, or why it did nothing.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// True when the package was written; false when it was refused (then nothing changed).
    pub imported: bool,
    /// Rows written per table, in the package's table order (empty when refused).
    pub counts: Vec<TableCount>,
    /// Every problem found (empty when imported).
    pub errors: Vec<RecordError>,
}

impl ImportReport {
    pub fn refused(errors: Vec<RecordError>) -> Self {
        Self { imported: false, counts: Vec::new(), errors }
    }
}

/// Rows written to one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The package's table (resource) name.
    pub table: &'static str,
    /// Rows whose id was new.
    pub created: u64,
    /// Rows whose id existed and were replaced.
    pub updated: u64,
}

const WEEKDAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// Tables an attribute may tag (`link_entity`).
const TAGGABLE: [&str; 5] = ["service", "organization", "program", "location", "service_at_location"];

/// Imports `package` into the directory. `now` stands in for a service's `last_modified` when the
/// package has none.
pub async fn import(db: &DatabaseConnection, package: &HsdsPackage, now: DateTime<Utc>) -> Result<ImportReport, DbErr> {
    let txn = db.begin().await?;
    let existing = Existing::load(&txn).await?;
    let mut errors = Vec::new();
    let mut incoming = Incoming::new(&existing);
    for table in &package.tables {
        incoming.read_table(table, now, &mut errors);
    }
    incoming.assemble(&existing, &mut errors);
    incoming.check(&existing, &mut errors);
    if !errors.is_empty() {
        txn.rollback().await?;
        return Ok(ImportReport::refused(errors));
    }
    let counts = incoming.write(&txn, &existing).await?;
    txn.commit().await?;
    Ok(ImportReport { imported: true, counts, errors: Vec::new() })
}

/// A row read from the package, with where it came from.
struct Row<M> {
    origin: Origin,
    model: M,
}

/// What the database holds already, as far as checking and counting need.
struct Existing {
    /// Ids of every directory table, by Qiao table name.
    ids: HashMap<&'static str, HashSet<String>>,
    terms: HashMap<String, taxonomy_term::Model>,
    taxonomy_ids: Vec<String>,
    organization_parents: HashMap<String, Option<String>>,
    service_at_locations: HashMap<String, (String, String)>,
    capacities: HashMap<String, String>,
}

async fn ids_of<E: EntityTrait>(db: &impl ConnectionTrait) -> Result<HashSet<String>, DbErr> {
    let mut query = E::find().select_only();
    for key in E::PrimaryKey::iter() {
        query = query.column(key.into_column());
    }
    Ok(query.into_tuple::<String>().all(db).await?.into_iter().collect())
}

impl Existing {
    async fn load(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let mut ids = HashMap::new();
        macro_rules! load_ids {
            ($($table:ident),* $(,)?) => {
                $(ids.insert(stringify!($table), ids_of::<$table::Entity>(db).await?);)*
            };
        }
        load_ids!(
            taxonomy,
            taxonomy_term,
            urban_village,
            organization,
            organization_identifier,
            program,
            location,
            address,
            accessibility,
            service,
            service_at_location,
            schedule,
            schedule_exception,
            contact,
            phone,
            language,
            cost_option,
            required_document,
            eligibility_requirement,
            service_capacity,
            service_area,
            service_support,
            attribute,
            metadata,
        );
        Ok(Self {
            ids,
            terms: taxonomy_term::Entity::find().all(db).await?.into_iter().map(|t| (t.id.clone(), t)).collect(),
            taxonomy_ids: taxonomy::Entity::find().all(db).await?.into_iter().map(|t| t.id).collect(),
            organization_parents: organization::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|o| (o.id, o.parent_organization_id))
                .collect(),
            service_at_locations: service_at_location::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|s| (s.id, (s.service_id, s.location_id)))
                .collect(),
            capacities: service_capacity::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|c| (c.id, c.service_id))
                .collect(),
        })
    }

    fn has(&self, table: &str, id: &str) -> bool {
        self.ids.get(table).is_some_and(|ids| ids.contains(id))
    }
}

/// The package's rows, by Qiao table.
#[derive(Default)]
struct Incoming {
    /// Exported (HSDS) taxonomy id → Qiao taxonomy id.
    taxonomy_ids: HashMap<String, String>,
    taxonomies: Vec<Row<taxonomy::Model>>,
    terms: Vec<Row<taxonomy_term::Model>>,
    villages: Vec<Row<urban_village::Model>>,
    organizations: Vec<Row<organization::Model>>,
    identifiers: Vec<Row<organization_identifier::Model>>,
    programs: Vec<Row<program::Model>>,
    locations: Vec<Row<location::Model>>,
    addresses: Vec<Row<address::Model>>,
    accessibility: Vec<Row<accessibility::Model>>,
    services: Vec<Row<service::Model>>,
    service_at_locations: Vec<Row<service_at_location::Model>>,
    schedules: Vec<Row<schedule::Model>>,
    exceptions: Vec<Row<schedule_exception::Model>>,
    contacts: Vec<Row<contact::Model>>,
    phones: Vec<Row<phone::Model>>,
    languages: Vec<Row<language::Model>>,
    cost_options: Vec<Row<cost_option::Model>>,
    documents: Vec<Row<required_document::Model>>,
    eligibility: Vec<Row<eligibility_requirement::Model>>,
    capacities: Vec<Row<service_capacity::Model>>,
    areas: Vec<Row<service_area::Model>>,
    supports: Vec<Row<service_support::Model>>,
    attributes: Vec<Row<attribute::Model>>,
    metadata: Vec<Row<metadata::Model>>,
    /// Attributes marked `x-qiao.primary`: (service id, term id).
    primary_categories: Vec<Row<(String, String)>>,
    /// Phone records of contacts: (contact id, number).
    contact_phones: Vec<Row<(String, String)>>,
    /// Service id → the attribute record its primary category came from (problems with the
    /// category are reported there).
    category_origins: HashMap<String, Origin>,
}

impl Incoming {
    fn new(existing: &Existing) -> Self {
        let taxonomy_ids = existing.taxonomy_ids.iter().map(|id| (taxonomy_hsds_id(id), id.clone())).collect();
        Self { taxonomy_ids, ..Self::default() }
    }

    fn read_table(&mut self, table: &PackageTable, now: DateTime<Utc>, errors: &mut Vec<RecordError>) {
        let mut seen_ids = HashSet::new();
        for (index, record) in table.records.iter().enumerate() {
            let mut reader = Reader::new(&table.file, index, record, errors);
            let r = &mut reader;
            if let Some(id) = record.get("id").and_then(Value::as_str).filter(|id| !id.is_empty())
                && !seen_ids.insert(id)
            {
                r.error("id", "this id appears twice in the table (id 重复)");
            }
            let origin = r.origin.clone();
            macro_rules! push {
                ($list:ident, $model:expr) => {{
                    let model = $model;
                    self.$list.push(Row { origin, model });
                }};
            }
            match table.spec.name {
                "taxonomy" => push!(taxonomies, self.taxonomy(r)),
                "taxonomy_term" => push!(terms, self.taxonomy_term(r)),
                "x-qiao-urban_village" => push!(villages, urban_village(r)),
                "organization" => push!(organizations, organization(r)),
                "organization_identifier" => push!(identifiers, organization_identifier(r)),
                "program" => push!(programs, program(r)),
                "location" => push!(locations, location(r)),
                "address" => push!(addresses, address(r)),
                "accessibility" => push!(accessibility, accessibility(r)),
                "service" => push!(services, service(r, now)),
                "service_at_location" => push!(service_at_locations, service_at_location(r)),
                "schedule" => push!(schedules, schedule(r)),
                "x-qiao-schedule_exception" => push!(exceptions, schedule_exception(r)),
                "contact" => push!(contacts, contact(r)),
                "phone" => match phone(r) {
                    PhoneRecord::Phone(model) => push!(phones, model),
                    PhoneRecord::OfContact { contact_id, number } => push!(contact_phones, (contact_id, number)),
                },
                "language" => push!(languages, language(r)),
                "cost_option" => push!(cost_options, cost_option(r)),
                "required_document" => push!(documents, required_document(r)),
                "x-qiao-eligibility_requirement" => push!(eligibility, eligibility_requirement(r)),
                "x-qiao-service_capacity" => push!(capacities, service_capacity(r)),
                "service_area" => push!(areas, service_area(r)),
                "x-qiao-service_support" => push!(supports, service_support(r)),
                "attribute" => match attribute(r) {
                    AttributeRecord::Attribute(model) => push!(attributes, model),
                    AttributeRecord::PrimaryCategory { service_id, term_id } => {
                        push!(primary_categories, (service_id, term_id))
                    }
                },
                "metadata" => push!(metadata, metadata(r)),
                other => r.error("id", format!("table {other} cannot be imported (该表不能导入)")),
            }
        }
    }

    fn taxonomy(&mut self, r: &mut Reader) -> taxonomy::Model {
        let hsds_id = r.id();
        let id = r.text("x-qiao.id").unwrap_or_else(|| hsds_id.clone());
        self.taxonomy_ids.insert(hsds_id, id.clone());
        taxonomy::Model {
            id,
            name: r.required_text("name"),
            description: r.text_or_empty("description"),
            uri: r.text("uri"),
            version: r.text("version"),
        }
    }

    fn taxonomy_term(&self, r: &mut Reader) -> taxonomy_term::Model {
        let id = r.id();
        let taxonomy = r.required_reference("taxonomy_id");
        let name_zh = r.required_text("name");
        let description_zh = r.text_or_empty("description");
        taxonomy_term::Model {
            id,
            taxonomy_id: self.taxonomy_ids.get(&taxonomy).cloned().unwrap_or(taxonomy),
            code: r.required_text("code"),
            parent_id: r.reference("parent_id"),
            name_en: r.en_or("name", &name_zh),
            description_en: r.en_or("description", &description_zh),
            name_zh,
            description_zh,
            icon: r.text("x-qiao.icon"),
            ordinal: r.small_integer("x-qiao.ordinal", 0, i32::MAX).unwrap_or_default(),
        }
    }

    /// Folds HSDS records that are part of other Qiao rows into those rows.
    fn assemble(&mut self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let service_index: HashMap<String, usize> =
            self.services.iter().enumerate().map(|(i, row)| (row.model.id.clone(), i)).collect();
        for Row { origin, model: (service_id, term_id) } in std::mem::take(&mut self.primary_categories) {
            match service_index.get(&service_id) {
                None => errors.push(origin.error(
                    Some("link_id"),
                    format!(
                        "a primary category (x-qiao.primary) must come with its service, and service {service_id} \
                         is not in the package (主类别必须与其服务一同导入)"
                    ),
                )),
                Some(&index) if !self.services[index].model.category_term_id.is_empty() => errors.push(origin.error(
                    Some("x-qiao.primary"),
                    format!("service {service_id} already has a primary category (一个服务只能有一个主类别)"),
                )),
                Some(&index) => {
                    self.services[index].model.category_term_id = term_id;
                    self.category_origins.insert(service_id, origin);
                }
            }
        }
        // HSDS data from elsewhere marks no primary category: the first service category wins.
        let fallbacks: HashMap<String, (String, Origin)> = {
            let term_taxonomies = self.term_taxonomies(existing);
            let mut first = HashMap::new();
            for attribute in self.attributes.iter().filter(|a| a.model.link_type == "service") {
                let term = &attribute.model.taxonomy_term_id;
                if term_taxonomies.get(term.as_str()) == Some(&taxonomy_ids::SERVICE_CATEGORY) {
                    first
                        .entry(attribute.model.link_id.clone())
                        .or_insert_with(|| (term.clone(), attribute.origin.clone()));
                }
            }
            first
        };
        for service in self.services.iter_mut().filter(|s| s.model.category_term_id.is_empty()) {
            match fallbacks.get(&service.model.id) {
                Some((term_id, origin)) => {
                    service.model.category_term_id = term_id.clone();
                    self.category_origins.insert(service.model.id.clone(), origin.clone());
                }
                None => errors.push(service.origin.error(
                    Some("category"),
                    "the service has no category: link it to a service-category term with an attribute \
                     (服务缺少类别)",
                )),
            }
        }

        let contact_index: HashMap<String, usize> =
            self.contacts.iter().enumerate().map(|(i, row)| (row.model.id.clone(), i)).collect();
        for Row { origin, model: (contact_id, number) } in std::mem::take(&mut self.contact_phones) {
            match contact_index.get(&contact_id) {
                None => errors.push(origin.error(
                    Some("contact_id"),
                    format!(
                        "a contact's phone must come with its contact, and contact {contact_id} is not in the \
                         package (联系人电话必须与联系人一同导入)"
                    ),
                )),
                Some(&index) if self.contacts[index].model.phone.is_some() => errors.push(origin.error(
                    Some("contact_id"),
                    format!(
                        "contact {contact_id} already has a phone; Qiao keeps one per contact (每个联系人只有一个电话)"
                    ),
                )),
                Some(&index) => self.contacts[index].model.phone = Some(number),
            }
        }

        // Hours given for a service at a location belong to that location's service.
        let sal_services = self.final_service_at_locations(existing);
        for row in self.schedules.iter_mut().filter(|row| row.model.service_id.is_empty()) {
            if let Some(sal) = &row.model.service_at_location_id
                && let Some((service_id, _)) = sal_services.get(sal.as_str())
            {
                row.model.service_id = service_id.clone();
            }
        }
    }

    /// Term id → taxonomy id, for the package's terms and the database's.
    fn term_taxonomies<'a>(&'a self, existing: &'a Existing) -> HashMap<&'a str, &'a str> {
        let mut map: HashMap<&str, &str> =
            existing.terms.values().map(|t| (t.id.as_str(), t.taxonomy_id.as_str())).collect();
        map.extend(self.terms.iter().map(|t| (t.model.id.as_str(), t.model.taxonomy_id.as_str())));
        map
    }

    /// Service-at-location id → (service, location), as they will be after the import.
    fn final_service_at_locations(&self, existing: &Existing) -> HashMap<String, (String, String)> {
        let mut map = existing.service_at_locations.clone();
        for row in &self.service_at_locations {
            map.insert(row.model.id.clone(), (row.model.service_id.clone(), row.model.location_id.clone()));
        }
        map
    }

    fn check(&mut self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let known = self.known_ids(existing);
        let mut refs = References { known: &known, errors: &mut *errors };
        for row in &self.terms {
            refs.check(row, "taxonomy_id", Some(row.model.taxonomy_id.as_str()), "taxonomy");
            refs.check(row, "parent_id", row.model.parent_id.as_deref(), "taxonomy_term");
        }
        for row in &self.organizations {
            refs.check(row, "parent_organization_id", row.model.parent_organization_id.as_deref(), "organization");
        }
        for row in &self.identifiers {
            refs.check(row, "organization_id", Some(row.model.organization_id.as_str()), "organization");
        }
        for row in &self.programs {
            refs.check(row, "organization_id", Some(row.model.organization_id.as_str()), "organization");
        }
        for row in &self.locations {
            refs.check(row, "organization_id", Some(row.model.organization_id.as_str()), "organization");
        }
        for row in &self.addresses {
            refs.check(row, "location_id", Some(row.model.location_id.as_str()), "location");
        }
        for row in &self.accessibility {
            refs.check(row, "location_id", Some(row.model.location_id.as_str()), "location");
        }
        for row in &self.services {
            refs.check(row, "organization_id", Some(row.model.organization_id.as_str()), "organization");
            refs.check(row, "program_id", row.model.program_id.as_deref(), "program");
            let term = Some(row.model.category_term_id.as_str());
            match self.category_origins.get(&row.model.id) {
                Some(origin) => refs.check_at(origin, "taxonomy_term_id", term, "taxonomy_term"),
                None => refs.check(row, "category", term, "taxonomy_term"),
            }
        }
        for row in &self.service_at_locations {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
            refs.check(row, "location_id", Some(row.model.location_id.as_str()), "location");
        }
        for row in &self.schedules {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
            let sal = row.model.service_at_location_id.as_deref();
            refs.check(row, "service_at_location_id", sal, "service_at_location");
        }
        for row in &self.exceptions {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
            let sal = row.model.service_at_location_id.as_deref();
            refs.check(row, "service_at_location_id", sal, "service_at_location");
        }
        for row in &self.contacts {
            refs.check(row, "service_id", row.model.service_id.as_deref(), "service");
            refs.check(row, "organization_id", row.model.organization_id.as_deref(), "organization");
        }
        for row in &self.phones {
            refs.check(row, "service_id", row.model.service_id.as_deref(), "service");
            refs.check(row, "organization_id", row.model.organization_id.as_deref(), "organization");
            refs.check(row, "location_id", row.model.location_id.as_deref(), "location");
        }
        for row in &self.languages {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.cost_options {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.documents {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.eligibility {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.capacities {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.areas {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.supports {
            refs.check(row, "service_id", Some(row.model.service_id.as_str()), "service");
        }
        for row in &self.attributes {
            refs.check(row, "taxonomy_term_id", Some(row.model.taxonomy_term_id.as_str()), "taxonomy_term");
            if TAGGABLE.contains(&row.model.link_type.as_str()) {
                refs.check(row, "link_id", Some(row.model.link_id.as_str()), &row.model.link_type);
            }
        }

        self.check_categories(existing, errors);
        self.check_hours_belong_to_their_service(existing, errors);
        self.check_unique_pairs(existing, errors);
        self.order_parents_first(existing, errors);
    }

    /// Every id of the package together with the database's, by Qiao table.
    fn known_ids(&self, existing: &Existing) -> HashMap<&'static str, HashSet<String>> {
        let mut known = existing.ids.clone();
        macro_rules! ids {
            ($table:literal, $list:ident) => {
                known.entry($table).or_default().extend(self.$list.iter().map(|row| row.model.id.clone()))
            };
        }
        ids!("taxonomy", taxonomies);
        ids!("taxonomy_term", terms);
        ids!("urban_village", villages);
        ids!("organization", organizations);
        ids!("organization_identifier", identifiers);
        ids!("program", programs);
        ids!("location", locations);
        ids!("address", addresses);
        ids!("accessibility", accessibility);
        ids!("service", services);
        ids!("service_at_location", service_at_locations);
        ids!("schedule", schedules);
        ids!("schedule_exception", exceptions);
        ids!("contact", contacts);
        ids!("phone", phones);
        ids!("language", languages);
        ids!("cost_option", cost_options);
        ids!("required_document", documents);
        ids!("eligibility_requirement", eligibility);
        ids!("service_capacity", capacities);
        ids!("service_area", areas);
        ids!("service_support", supports);
        ids!("attribute", attributes);
        ids!("metadata", metadata);
        known
    }

    /// A service's primary category is a service category, and the service-category taxonomy
    /// gains no codes (the API's `ServiceCategory` enum is fixed).
    fn check_categories(&self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let term_taxonomies = self.term_taxonomies(existing);
        for row in &self.services {
            let term = row.model.category_term_id.as_str();
            if let Some(taxonomy) = term_taxonomies.get(term)
                && *taxonomy != taxonomy_ids::SERVICE_CATEGORY
            {
                errors.push(
                    row.origin.error(
                        Some("category"),
                        format!("term {term} is not a service category (主类别必须是服务类别)"),
                    ),
                );
            }
        }
        let codes: HashSet<&str> = existing
            .terms
            .values()
            .filter(|t| t.taxonomy_id == taxonomy_ids::SERVICE_CATEGORY)
            .map(|t| t.code.as_str())
            .collect();
        for row in &self.terms {
            if row.model.taxonomy_id == taxonomy_ids::SERVICE_CATEGORY && !codes.contains(row.model.code.as_str()) {
                errors.push(row.origin.error(
                    Some("code"),
                    format!(
                        "{:?} is not a service category; that taxonomy is fixed by the API (服务类别是固定的)",
                        row.model.code
                    ),
                ));
            }
        }
    }

    /// Hours and exceptions that name both a service and a service at a location name a place
    /// of that same service.
    fn check_hours_belong_to_their_service(&self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let sal_services = self.final_service_at_locations(existing);
        let pairs =
            self.schedules.iter().map(|r| (&r.origin, &r.model.service_id, &r.model.service_at_location_id)).chain(
                self.exceptions.iter().map(|r| (&r.origin, &r.model.service_id, &r.model.service_at_location_id)),
            );
        for (origin, service_id, sal) in pairs {
            if let Some(sal) = sal
                && let Some((owner, _)) = sal_services.get(sal)
                && owner != service_id
            {
                errors.push(origin.error(
                    Some("service_at_location_id"),
                    format!(
                        "service at location {sal} belongs to service {owner}, not {service_id} (地点不属于该服务)"
                    ),
                ));
            }
        }
    }

    /// Pairs the database keeps unique: a service at a location once, a taxonomy code once, one
    /// capacity per service. Checked on the rows as they will be after the import.
    fn check_unique_pairs(&self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let sal_key = |s: &str, l: &str| format!("{s} at {l}");
        check_unique(
            errors,
            "service_id",
            "this service is already linked to this location by service_at_location",
            existing.service_at_locations.iter().map(|(id, (s, l))| (id.clone(), sal_key(s, l))),
            self.service_at_locations
                .iter()
                .map(|r| (&r.origin, r.model.id.clone(), sal_key(&r.model.service_id, &r.model.location_id))),
        );
        check_unique(
            errors,
            "code",
            "this code is already used in its taxonomy by taxonomy_term",
            existing.terms.values().map(|t| (t.id.clone(), format!("{}/{}", t.taxonomy_id, t.code))),
            self.terms
                .iter()
                .map(|r| (&r.origin, r.model.id.clone(), format!("{}/{}", r.model.taxonomy_id, r.model.code))),
        );
        check_unique(
            errors,
            "service_id",
            "this service already has a capacity record",
            existing.capacities.iter().map(|(id, service)| (id.clone(), service.clone())),
            self.capacities.iter().map(|r| (&r.origin, r.model.id.clone(), r.model.service_id.clone())),
        );
    }

    /// Parents are written before their children; a parent chain that loops is refused.
    fn order_parents_first(&mut self, existing: &Existing, errors: &mut Vec<RecordError>) {
        let mut parents: HashMap<String, Option<String>> = existing.organization_parents.clone();
        parents.extend(self.organizations.iter().map(|r| (r.model.id.clone(), r.model.parent_organization_id.clone())));
        self.organizations = parents_first(
            std::mem::take(&mut self.organizations),
            |m| &m.id,
            &parents,
            "parent_organization_id",
            errors,
        );
        let mut parents: HashMap<String, Option<String>> =
            existing.terms.values().map(|t| (t.id.clone(), t.parent_id.clone())).collect();
        parents.extend(self.terms.iter().map(|r| (r.model.id.clone(), r.model.parent_id.clone())));
        self.terms = parents_first(std::mem::take(&mut self.terms), |m| &m.id, &parents, "parent_id", errors);
    }

    async fn write(self, db: &impl ConnectionTrait, existing: &Existing) -> Result<Vec<TableCount>, DbErr> {
        let mut counts = Vec::new();
        macro_rules! save {
            ($spec:expr, $table:ident, $list:expr) => {{
                let rows: Vec<$table::Model> = $list.into_iter().map(|row| row.model).collect();
                let created = rows.iter().filter(|m| !existing.has(stringify!($table), &m.id)).count() as u64;
                let total = rows.len() as u64;
                upsert_all::<$table::ActiveModel>(db, rows).await?;
                if total > 0 {
                    counts.push(TableCount { table: $spec.name, created, updated: total - created });
                }
            }};
        }
        save!(tables::TAXONOMY, taxonomy, self.taxonomies);
        save!(tables::TAXONOMY_TERM, taxonomy_term, self.terms);
        save!(tables::URBAN_VILLAGE, urban_village, self.villages);
        save!(tables::ORGANIZATION, organization, self.organizations);
        save!(tables::ORGANIZATION_IDENTIFIER, organization_identifier, self.identifiers);
        save!(tables::PROGRAM, program, self.programs);
        save!(tables::LOCATION, location, self.locations);
        save!(tables::ADDRESS, address, self.addresses);
        save!(tables::ACCESSIBILITY, accessibility, self.accessibility);
        save!(tables::SERVICE, service, self.services);
        save!(tables::SERVICE_AT_LOCATION, service_at_location, self.service_at_locations);
        save!(tables::SCHEDULE, schedule, self.schedules);
        save!(tables::SCHEDULE_EXCEPTION, schedule_exception, self.exceptions);
        save!(tables::CONTACT, contact, self.contacts);
        save!(tables::PHONE, phone, self.phones);
        save!(tables::LANGUAGE, language, self.languages);
        save!(tables::COST_OPTION, cost_option, self.cost_options);
        save!(tables::REQUIRED_DOCUMENT, required_document, self.documents);
        save!(tables::ELIGIBILITY_REQUIREMENT, eligibility_requirement, self.eligibility);
        save!(tables::SERVICE_CAPACITY, service_capacity, self.capacities);
        save!(tables::SERVICE_AREA, service_area, self.areas);
        save!(tables::SERVICE_SUPPORT, service_support, self.supports);
        save!(tables::ATTRIBUTE, attribute, self.attributes);
        save!(tables::METADATA, metadata, self.metadata);
        Ok(counts)
    }
}

/// Reports references to ids that neither the package nor the database has.
struct References<'a> {
    known: &'a HashMap<&'static str, HashSet<String>>,
    errors: &'a mut Vec<RecordError>,
}

impl References<'_> {
    fn check<M>(&mut self, row: &Row<M>, field: &str, id: Option<&str>, table: &str) {
        self.check_at(&row.origin, field, id, table);
    }

    fn check_at(&mut self, origin: &Origin, field: &str, id: Option<&str>, table: &str) {
        let Some(id) = id.filter(|id| !id.is_empty()) else { return };
        if !self.known.get(table).is_some_and(|ids| ids.contains(id)) {
            self.errors.push(
                origin
                    .error(Some(field), format!("no {table} {id} in the package or the directory (引用的记录不存在)")),
            );
        }
    }
}

/// Reports package rows whose `key` another row (of the package or the database, as it will be
/// after the import) already has.
fn check_unique<'a>(
    errors: &mut Vec<RecordError>,
    field: &str,
    message: &str,
    existing: impl Iterator<Item = (String, String)>,
    incoming: impl Iterator<Item = (&'a Origin, String, String)>,
) {
    let incoming: Vec<_> = incoming.collect();
    let mut final_keys: HashMap<String, String> = existing.collect();
    for (_, id, key) in &incoming {
        final_keys.insert(id.clone(), key.clone());
    }
    let mut ids_by_key: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, key) in &final_keys {
        ids_by_key.entry(key.as_str()).or_default().push(id.as_str());
    }
    for (origin, id, key) in &incoming {
        let Some(others) = ids_by_key.get(key.as_str()) else { continue };
        if let Some(other) = others.iter().filter(|other| **other != id.as_str()).min() {
            errors.push(origin.error(Some(field), format!("{message} {other} (与现有记录冲突)")));
        }
    }
}

/// `rows` reordered so that each comes after its parent (when the parent is in `rows` too);
/// rows on a loop of parents are reported.
fn parents_first<M>(
    rows: Vec<Row<M>>,
    id: impl Fn(&M) -> &String,
    parents: &HashMap<String, Option<String>>,
    field: &str,
    errors: &mut Vec<RecordError>,
) -> Vec<Row<M>> {
    let depth = |start: &str| -> Option<usize> {
        let mut current = start;
        for depth in 0..=parents.len() {
            match parents.get(current).and_then(Option::as_deref) {
                None => return Some(depth),
                Some(parent) if parent == start => return None,
                Some(parent) => current = parent,
            }
        }
        None
    };
    let mut ordered: Vec<(usize, Row<M>)> = Vec::with_capacity(rows.len());
    for row in rows {
        match depth(id(&row.model)) {
            Some(depth) => ordered.push((depth, row)),
            None => {
                errors.push(row.origin.error(Some(field), "the chain of parents loops back here (上级关系成环)"));
                ordered.push((usize::MAX, row));
            }
        }
    }
    ordered.sort_by_key(|(depth, _)| *depth);
    ordered.into_iter().map(|(_, row)| row).collect()
}

/// Inserts rows, replacing those whose id exists, in batches that stay well under SQLite's and
/// PostgreSQL's bind-parameter limits.
async fn upsert_all<A>(db: &impl ConnectionTrait, rows: Vec<<A::Entity as EntityTrait>::Model>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A>,
{
    let keys: Vec<_> = <A::Entity as EntityTrait>::PrimaryKey::iter().map(|key| key.into_column()).collect();
    let key_names: Vec<&str> = keys.iter().map(|key| key.as_str()).collect();
    let updated: Vec<_> =
        <A::Entity as EntityTrait>::Column::iter().filter(|column| !key_names.contains(&column.as_str())).collect();
    let on_conflict = OnConflict::columns(keys).update_columns(updated).to_owned();
    let columns = <A::Entity as EntityTrait>::Column::iter().count().max(1);
    let batch_size = (16_000 / columns).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<_> = rows.by_ref().take(batch_size).collect();
        sea_orm::InsertMany::<A>::many(batch).on_conflict(on_conflict.clone()).exec_without_returning(db).await?;
    }
    Ok(())
}

// ---- One reader per table: a record's fields into a Qiao row. ----

/// Fields of HSDS records that would link a record somewhere Qiao has no place for; refused
/// rather than dropped.
fn refuse_links(r: &mut Reader, table: &str, fields: &[&str]) {
    for field in fields {
        if r.has(field) {
            r.error(field, format!("Qiao cannot link a {table} through {field} (不支持该关联)"));
        }
    }
}

/// The English name: `x-qiao.en.name`, else HSDS's `alternate_name`, else the main name.
fn english_name(r: &mut Reader, name_zh: &str) -> String {
    let fallback = r.text("alternate_name").unwrap_or_else(|| name_zh.to_owned());
    r.en_or("name", &fallback)
}

fn required_enum<E: sea_orm::ActiveEnum<Value = String>>(r: &mut Reader, path: &str) -> Option<E> {
    if !r.has(path) {
        r.error(path, "is required (必填)");
        return None;
    }
    r.enumerated(path)
}

fn check_coordinates(r: &mut Reader, lat_field: &str, lat: f64, lon_field: &str, lon: f64) {
    if !(-90.0..=90.0).contains(&lat) {
        r.error(lat_field, "must be between -90 and 90 (纬度超出范围)");
    }
    if !(-180.0..=180.0).contains(&lon) {
        r.error(lon_field, "must be between -180 and 180 (经度超出范围)");
    }
}

/// A GeoJSON Polygon (WGS-84), as Qiao's search reads it.
fn polygon(r: &mut Reader, field: &str) -> String {
    let text = r.required_text(field);
    if !text.is_empty() && parse_polygon(&text).is_none() {
        r.error(field, "must be a GeoJSON Polygon of [longitude, latitude] points (必须是 GeoJSON 多边形)");
    }
    text
}

fn urban_village(r: &mut Reader) -> urban_village::Model {
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
        adcode: r.text_or_empty("adcode"),
        boundary: polygon(r, "boundary"),
        centroid_lat,
        centroid_lon,
        population: r.small_integer("population", 0, i32::MAX),
        description_zh: r.text("description_zh"),
        description_en: r.text("description_en"),
    }
}

fn organization(r: &mut Reader) -> organization::Model {
    let id = r.id();
    let name_zh = r.required_text("name");
    let description_zh = r.text_or_empty("description");
    organization::Model {
        id,
        name_en: english_name(r, &name_zh),
        description_en: r.en_or("description", &description_zh),
        name_zh,
        description_zh,
        website: r.text("website"),
        email: r.text("email"),
        legal_status: r.text("legal_status"),
        parent_organization_id: r.reference("parent_organization_id"),
        archived_at: r.datetime("x-qiao.archived_at"),
    }
}

fn organization_identifier(r: &mut Reader) -> organization_identifier::Model {
    organization_identifier::Model {
        id: r.id(),
        organization_id: r.required_reference("organization_id"),
        identifier_scheme: r.text_or_empty("identifier_scheme"),
        identifier_type: r.required_text("identifier_type"),
        identifier: r.required_text("identifier"),
    }
}

fn program(r: &mut Reader) -> program::Model {
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

fn location(r: &mut Reader) -> location::Model {
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

fn address(r: &mut Reader) -> address::Model {
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
        adcode: r.text_or_empty("x-qiao.adcode"),
        postal_code: r.text("postal_code"),
        country: r.text("country").unwrap_or_else(|| "CN".to_owned()),
        address_type,
    }
}

fn accessibility(r: &mut Reader) -> accessibility::Model {
    let id = r.id();
    let description_zh = r.required_text("description");
    accessibility::Model {
        id,
        location_id: r.required_reference("location_id"),
        description_en: r.en_or("description", &description_zh),
        description_zh,
    }
}

fn service(r: &mut Reader, now: DateTime<Utc>) -> service::Model {
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
        url: r.text("url"),
        email: r.text("email"),
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

fn service_at_location(r: &mut Reader) -> service_at_location::Model {
    service_at_location::Model {
        id: r.id(),
        service_id: r.required_reference("service_id"),
        location_id: r.required_reference("location_id"),
    }
}

/// Opening and closing times, the opening first.
fn hours(r: &mut Reader, required: bool) -> (Option<String>, Option<String>) {
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

fn schedule(r: &mut Reader) -> schedule::Model {
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
    let days: Vec<String> = byday.split(',').map(|day| day.trim().to_ascii_uppercase()).collect();
    if !byday.is_empty() && days.iter().any(|day| !WEEKDAYS.contains(&day.as_str())) {
        r.error("byday", format!("{byday:?} is not a list of MO, TU, WE, TH, FR, SA, SU (星期格式错误)"));
    }
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

fn schedule_exception(r: &mut Reader) -> schedule_exception::Model {
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

fn contact(r: &mut Reader) -> contact::Model {
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
        email: r.text("email"),
    }
}

enum PhoneRecord {
    Phone(phone::Model),
    /// A contact's phone number: Qiao keeps it on the contact.
    OfContact {
        contact_id: String,
        number: String,
    },
}

fn phone(r: &mut Reader) -> PhoneRecord {
    let id = r.id();
    let number = r.required_text("number");
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

fn language(r: &mut Reader) -> language::Model {
    let id = r.id();
    refuse_links(r, "language", &["location_id", "phone_id"]);
    language::Model { id, service_id: r.required_reference("service_id"), code: r.required_text("code") }
}

fn cost_option(r: &mut Reader) -> cost_option::Model {
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
        Some(yuan) => {
            let fen = (yuan * 100.0).round();
            if !(0.0..=1e12).contains(&yuan) || (yuan * 100.0 - fen).abs() > 1e-6 {
                r.error("amount", "must be a non-negative amount in whole fen, such as 12.5 (金额无效)");
            }
            fen as i64
        }
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

fn required_document(r: &mut Reader) -> required_document::Model {
    let id = r.id();
    let document_zh = r.required_text("document");
    required_document::Model {
        id,
        service_id: r.required_reference("service_id"),
        document_en: r.en_or("document", &document_zh),
        document_zh,
    }
}

fn eligibility_requirement(r: &mut Reader) -> eligibility_requirement::Model {
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

fn service_capacity(r: &mut Reader) -> service_capacity::Model {
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

fn service_area(r: &mut Reader) -> service_area::Model {
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

fn service_support(r: &mut Reader) -> service_support::Model {
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

enum AttributeRecord {
    Attribute(attribute::Model),
    /// A service's primary category: Qiao keeps it in `service.category_term_id`.
    PrimaryCategory {
        service_id: String,
        term_id: String,
    },
}

fn attribute(r: &mut Reader) -> AttributeRecord {
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

fn metadata(r: &mut Reader) -> metadata::Model {
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
