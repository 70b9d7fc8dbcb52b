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

use chrono::{DateTime, Utc};
use qiao_schema::domain::taxonomy_ids;
use qiao_schema::entity::*;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IdenStatic, IntoActiveModel, Iterable,
    PrimaryKeyToColumn, QueryFilter, QuerySelect,
};
use serde_json::Value;

use super::export::taxonomy_hsds_id;
use super::record::{Origin, Reader, RecordError};
use super::tables;
use super::{HsdsPackage, PackageTable};
mod readers;

use self::readers::*;

use crate::auth::policy::Admin;
use crate::error::ApiResult;
use crate::kernel::history::{Action, created, diff, record};
use crate::kernel::{Db, Txn};

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

/// Tables an attribute may tag (`link_entity`).
const TAGGABLE: [&str; 5] = ["service", "organization", "program", "location", "service_at_location"];

/// Imports `package` into the directory, as `admin`. `now` stands in for a service's
/// `last_modified` when the package has none.
pub async fn import(db: &impl Db, admin: &Admin, package: &HsdsPackage, now: DateTime<Utc>) -> ApiResult<ImportReport> {
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
    let counts = incoming.write(&txn, &existing, admin).await?;
    // One change record for the whole import: the index catches up once, after the commit.
    txn.publish("directory", "hsds-import", "import", admin.now).await?;
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

    async fn write(self, db: &Txn, existing: &Existing, admin: &Admin) -> ApiResult<Vec<TableCount>> {
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
        // The listings whose history the directory keeps (organisations, places, services): what
        // the import changes in them is recorded field by field, as the importing admin, like any
        // steward's change; re-importing the same records records nothing.
        macro_rules! save_with_history {
            ($spec:expr, $table:ident, $list:expr) => {{
                let rows: Vec<$table::Model> = $list.iter().map(|row| row.model.clone()).collect();
                let before = current_rows!($table, &rows);
                save!($spec, $table, $list);
                for row in &rows {
                    let (action, changes) = match before.get(&row.id) {
                        Some(old) => (Action::Update, diff(old, row)?),
                        None => (Action::Create, created(row)?),
                    };
                    record(db, stringify!($table), &row.id, action, &changes, &admin.account.id, admin.now).await?;
                }
            }};
        }
        /// The rows with these rows' ids as the database holds them now, by id.
        macro_rules! current_rows {
            ($table:ident, $rows:expr) => {{
                let mut found: HashMap<String, $table::Model> = HashMap::new();
                let ids: Vec<String> = $rows.iter().map(|m| m.id.clone()).collect();
                for chunk in ids.chunks(500) {
                    for model in $table::Entity::find().filter($table::Column::Id.is_in(chunk.to_vec())).all(db).await?
                    {
                        found.insert(model.id.clone(), model);
                    }
                }
                found
            }};
        }
        save!(tables::TAXONOMY, taxonomy, self.taxonomies);
        save!(tables::TAXONOMY_TERM, taxonomy_term, self.terms);
        save!(tables::URBAN_VILLAGE, urban_village, self.villages);
        save_with_history!(tables::ORGANIZATION, organization, self.organizations);
        save!(tables::ORGANIZATION_IDENTIFIER, organization_identifier, self.identifiers);
        save!(tables::PROGRAM, program, self.programs);
        save_with_history!(tables::LOCATION, location, self.locations);
        save!(tables::ADDRESS, address, self.addresses);
        save!(tables::ACCESSIBILITY, accessibility, self.accessibility);
        save_with_history!(tables::SERVICE, service, self.services);
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
