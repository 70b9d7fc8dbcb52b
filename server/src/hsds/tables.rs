//! The tables of a Qiao HSDS package: their names, file names and columns.
//!
//! HSDS tables keep the official names (`service`, `schedule`, …) and, in the CSV form, the file
//! names HSDS 3.0's own schemas give (`services.csv`, …). Qiao's extension tables, which HSDS has
//! no place for, travel as extra resources named `x-qiao-<table>`; HSDS tools ignore them.

/// Type of a column, as a Frictionless Table Schema names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Integer,
    Boolean,
    Date,
    DateTime,
    /// A JSON object (in CSV, its JSON text): the `x-qiao` extension.
    Object,
}

impl Kind {
    pub fn table_schema_type(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Number => "number",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::DateTime => "datetime",
            Self::Object => "object",
        }
    }
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

/// One table of the package.
#[derive(Debug)]
pub struct TableSpec {
    /// Resource name: the HSDS table, or `x-qiao-<table>` for a Qiao extension table.
    pub name: &'static str,
    /// File name in the CSV form.
    pub csv_file: &'static str,
    /// Columns in the order they are written.
    pub columns: &'static [Column],
}

impl TableSpec {
    /// Whether the official HSDS 3.0 schema defines this table.
    pub fn is_hsds(&self) -> bool {
        !self.name.starts_with(EXTENSION_PREFIX)
    }

    /// File name in the JSON form.
    pub fn json_file(&self) -> String {
        format!("{}.json", self.name)
    }
}

/// Resource-name prefix of Qiao's extension tables.
pub const EXTENSION_PREFIX: &str = "x-qiao-";
/// Field of a record holding Qiao's extension of it (English text, Qiao-only facts).
pub const X_QIAO: &str = "x-qiao";

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

use Kind::{Boolean as B, Date as D, DateTime as T, Integer as I, Number as N, Object as O, String as S};

pub const TAXONOMY: TableSpec = TableSpec {
    name: "taxonomy",
    csv_file: "taxonomies.csv",
    columns: &[col("id", S), col("name", S), col("description", S), col("uri", S), col("version", S), col(X_QIAO, O)],
};

pub const TAXONOMY_TERM: TableSpec = TableSpec {
    name: "taxonomy_term",
    csv_file: "taxonomy_terms.csv",
    columns: &[
        col("id", S),
        col("code", S),
        col("name", S),
        col("description", S),
        col("parent_id", S),
        col("taxonomy", S),
        col("language", S),
        col("taxonomy_id", S),
        col(X_QIAO, O),
    ],
};

pub const URBAN_VILLAGE: TableSpec = TableSpec {
    name: "x-qiao-urban_village",
    csv_file: "x-qiao-urban_village.csv",
    columns: &[
        col("id", S),
        col("name_zh", S),
        col("name_en", S),
        col("city_zh", S),
        col("city_en", S),
        col("district_zh", S),
        col("district_en", S),
        col("adcode", S),
        col("boundary", S),
        col("centroid_lat", N),
        col("centroid_lon", N),
        col("population", I),
        col("description_zh", S),
        col("description_en", S),
    ],
};

pub const ORGANIZATION: TableSpec = TableSpec {
    name: "organization",
    csv_file: "organizations.csv",
    columns: &[
        col("id", S),
        col("name", S),
        col("alternate_name", S),
        col("description", S),
        col("email", S),
        col("website", S),
        col("legal_status", S),
        col("parent_organization_id", S),
        col(X_QIAO, O),
    ],
};

pub const ORGANIZATION_IDENTIFIER: TableSpec = TableSpec {
    name: "organization_identifier",
    csv_file: "organization_identifiers.csv",
    columns: &[
        col("id", S),
        col("organization_id", S),
        col("identifier_scheme", S),
        col("identifier_type", S),
        col("identifier", S),
    ],
};

pub const PROGRAM: TableSpec = TableSpec {
    name: "program",
    csv_file: "programs.csv",
    columns: &[
        col("id", S),
        col("organization_id", S),
        col("name", S),
        col("alternate_name", S),
        col("description", S),
        col(X_QIAO, O),
    ],
};

pub const LOCATION: TableSpec = TableSpec {
    name: "location",
    csv_file: "locations.csv",
    columns: &[
        col("id", S),
        col("location_type", S),
        col("organization_id", S),
        col("name", S),
        col("alternate_name", S),
        col("description", S),
        col("transportation", S),
        col("latitude", N),
        col("longitude", N),
        col(X_QIAO, O),
    ],
};

pub const ADDRESS: TableSpec = TableSpec {
    name: "address",
    csv_file: "addresses.csv",
    columns: &[
        col("id", S),
        col("location_id", S),
        col("address_1", S),
        col("city", S),
        col("region", S),
        col("state_province", S),
        col("postal_code", S),
        col("country", S),
        col("address_type", S),
        col(X_QIAO, O),
    ],
};

pub const ACCESSIBILITY: TableSpec = TableSpec {
    name: "accessibility",
    csv_file: "accessibility.csv",
    columns: &[col("id", S), col("location_id", S), col("description", S), col(X_QIAO, O)],
};

pub const SERVICE: TableSpec = TableSpec {
    name: "service",
    csv_file: "services.csv",
    columns: &[
        col("id", S),
        col("organization_id", S),
        col("program_id", S),
        col("name", S),
        col("alternate_name", S),
        col("description", S),
        col("url", S),
        col("email", S),
        col("status", S),
        col("application_process", S),
        col("fees_description", S),
        col("eligibility_description", S),
        col("minimum_age", N),
        col("maximum_age", N),
        col("assured_date", D),
        col("alert", S),
        col("last_modified", T),
        col(X_QIAO, O),
    ],
};

pub const SERVICE_AT_LOCATION: TableSpec = TableSpec {
    name: "service_at_location",
    csv_file: "service_at_location.csv",
    columns: &[col("id", S), col("service_id", S), col("location_id", S)],
};

pub const SCHEDULE: TableSpec = TableSpec {
    name: "schedule",
    csv_file: "schedules.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("service_at_location_id", S),
        col("valid_from", D),
        col("valid_to", D),
        col("timezone", N),
        col("freq", S),
        col("byday", S),
        col("opens_at", S),
        col("closes_at", S),
    ],
};

pub const SCHEDULE_EXCEPTION: TableSpec = TableSpec {
    name: "x-qiao-schedule_exception",
    csv_file: "x-qiao-schedule_exception.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("service_at_location_id", S),
        col("date", D),
        col("closed", B),
        col("opens_at", S),
        col("closes_at", S),
        col("reason_zh", S),
        col("reason_en", S),
    ],
};

pub const CONTACT: TableSpec = TableSpec {
    name: "contact",
    csv_file: "contacts.csv",
    columns: &[
        col("id", S),
        col("organization_id", S),
        col("service_id", S),
        col("name", S),
        col("title", S),
        col("email", S),
        col(X_QIAO, O),
    ],
};

pub const PHONE: TableSpec = TableSpec {
    name: "phone",
    csv_file: "phones.csv",
    columns: &[
        col("id", S),
        col("location_id", S),
        col("service_id", S),
        col("organization_id", S),
        col("contact_id", S),
        col("number", S),
        col("extension", N),
        col("type", S),
        col("description", S),
        col(X_QIAO, O),
    ],
};

pub const LANGUAGE: TableSpec = TableSpec {
    name: "language",
    csv_file: "languages.csv",
    columns: &[col("id", S), col("service_id", S), col("code", S)],
};

pub const COST_OPTION: TableSpec = TableSpec {
    name: "cost_option",
    csv_file: "cost_options.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("option", S),
        col("currency", S),
        col("amount", N),
        col(X_QIAO, O),
    ],
};

pub const REQUIRED_DOCUMENT: TableSpec = TableSpec {
    name: "required_document",
    csv_file: "required_documents.csv",
    columns: &[col("id", S), col("service_id", S), col("document", S), col(X_QIAO, O)],
};

pub const ELIGIBILITY_REQUIREMENT: TableSpec = TableSpec {
    name: "x-qiao-eligibility_requirement",
    csv_file: "x-qiao-eligibility_requirement.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("kind", S),
        col("months", I),
        col("min_age", I),
        col("max_age", I),
    ],
};

pub const SERVICE_CAPACITY: TableSpec = TableSpec {
    name: "x-qiao-service_capacity",
    csv_file: "x-qiao-service_capacity.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("status", S),
        col("as_of", D),
        col("note_zh", S),
        col("note_en", S),
    ],
};

pub const SERVICE_AREA: TableSpec = TableSpec {
    name: "service_area",
    csv_file: "service_areas.csv",
    columns: &[
        col("id", S),
        col("service_id", S),
        col("name", S),
        col("extent", S),
        col("extent_type", S),
        col(X_QIAO, O),
    ],
};

pub const SERVICE_SUPPORT: TableSpec = TableSpec {
    name: "x-qiao-service_support",
    csv_file: "x-qiao-service_support.csv",
    columns: &[col("id", S), col("service_id", S), col("support_function", S), col("intervention_level", S)],
};

pub const ATTRIBUTE: TableSpec = TableSpec {
    name: "attribute",
    csv_file: "attributes.csv",
    columns: &[
        col("id", S),
        col("link_id", S),
        col("taxonomy_term_id", S),
        col("link_type", S),
        col("link_entity", S),
        col("value", S),
        col(X_QIAO, O),
    ],
};

pub const METADATA: TableSpec = TableSpec {
    name: "metadata",
    csv_file: "metadata.csv",
    columns: &[
        col("id", S),
        col("resource_id", S),
        col("resource_type", S),
        col("last_action_date", D),
        col("last_action_type", S),
        col("field_name", S),
        col("previous_value", S),
        col("replacement_value", S),
        col("updated_by", S),
        col(X_QIAO, O),
    ],
};

/// Every table, parents before children (the order files are listed and rows are written in).
pub const TABLES: [&TableSpec; 24] = [
    &TAXONOMY,
    &TAXONOMY_TERM,
    &URBAN_VILLAGE,
    &ORGANIZATION,
    &ORGANIZATION_IDENTIFIER,
    &PROGRAM,
    &LOCATION,
    &ADDRESS,
    &ACCESSIBILITY,
    &SERVICE,
    &SERVICE_AT_LOCATION,
    &SCHEDULE,
    &SCHEDULE_EXCEPTION,
    &CONTACT,
    &PHONE,
    &LANGUAGE,
    &COST_OPTION,
    &REQUIRED_DOCUMENT,
    &ELIGIBILITY_REQUIREMENT,
    &SERVICE_CAPACITY,
    &SERVICE_AREA,
    &SERVICE_SUPPORT,
    &ATTRIBUTE,
    &METADATA,
];

/// HSDS 3.0 tables Qiao has no place for: a package carrying records of them is refused rather
/// than silently losing them.
pub const UNSUPPORTED_HSDS_TABLES: [&str; 2] = ["funding", "meta_table_description"];

/// The table a file or resource name stands for: `service`, `service.json`, `services.csv`, …
pub fn table_named(name: &str) -> Option<&'static TableSpec> {
    let stem = name.strip_suffix(".json").or_else(|| name.strip_suffix(".csv")).unwrap_or(name);
    TABLES.iter().copied().find(|spec| spec.name == stem || spec.csv_file.strip_suffix(".csv") == Some(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_its_id_and_has_distinct_names() {
        let mut names = std::collections::HashSet::new();
        for spec in TABLES {
            assert_eq!(spec.columns.first().map(|c| c.name), Some("id"), "{}", spec.name);
            assert!(names.insert(spec.name) && names.insert(spec.csv_file), "{}", spec.name);
            let mut columns = std::collections::HashSet::new();
            assert!(spec.columns.iter().all(|c| columns.insert(c.name)), "{} repeats a column", spec.name);
        }
    }

    #[test]
    fn tables_are_found_by_resource_json_or_csv_name() {
        assert_eq!(table_named("service").map(|s| s.name), Some("service"));
        assert_eq!(table_named("service.json").map(|s| s.name), Some("service"));
        assert_eq!(table_named("services.csv").map(|s| s.name), Some("service"));
        assert_eq!(table_named("service_at_location.csv").map(|s| s.name), Some("service_at_location"));
        assert_eq!(table_named("x-qiao-urban_village.json").map(|s| s.name), Some("x-qiao-urban_village"));
        assert!(table_named("funding.json").is_none());
    }
}
