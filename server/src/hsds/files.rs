//! A package as files and back: a Frictionless Data Package descriptor (`datapackage.json`) and
//! one file per table, JSON arrays of records or CSV.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value, json};

use super::record::RecordError;
use super::tables::{self, TableSpec, UNSUPPORTED_HSDS_TABLES};
use super::{Format, HsdsPackage, PackageFile, PackageTable};

/// The descriptor's file name.
pub const DESCRIPTOR: &str = "datapackage.json";

/// Why writing files failed (neither can happen with in-memory buffers, but neither panics).
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("CSV is not UTF-8: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

impl HsdsPackage {
    /// The package as files: `datapackage.json` first, then one file per non-empty table.
    pub fn to_files(&self, format: Format) -> Result<Vec<PackageFile>, WriteError> {
        let tables: Vec<&PackageTable> = self.tables.iter().filter(|t| !t.records.is_empty()).collect();
        let mut files = vec![PackageFile { name: DESCRIPTOR.to_owned(), content: descriptor(&tables, format)? }];
        for table in tables {
            files.push(match format {
                Format::JsonDatapackage => PackageFile {
                    name: table.spec.json_file(),
                    content: serde_json::to_string_pretty(
                        &table.records.iter().map(|record| Ordered(table.spec, record)).collect::<Vec<_>>(),
                    )?,
                },
                Format::Csv => PackageFile { name: table.spec.csv_file.to_owned(), content: csv_text(table)? },
            });
        }
        Ok(files)
    }

    /// Reads files of either form (or both mixed). `datapackage.json` is optional; when given,
    /// its resources name the files' tables and every file it lists must be there.
    pub fn from_files(files: &[PackageFile]) -> Result<Self, Vec<RecordError>> {
        let mut errors = Vec::new();
        let file_error =
            |file: &str, message: String| RecordError { file: file.to_owned(), record: None, field: None, message };
        let names: HashSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        if names.len() != files.len() {
            errors.push(file_error("", "a file name is given twice (文件名重复)".to_owned()));
        }
        let mut resource_of_path: HashMap<String, String> = HashMap::new();
        if let Some(descriptor) = files.iter().find(|f| base_name(&f.name) == DESCRIPTOR) {
            match read_descriptor(&descriptor.content) {
                Ok(resources) => {
                    for (name, path) in resources {
                        if !files.iter().any(|f| f.name == path || base_name(&f.name) == path) {
                            errors.push(file_error(
                                DESCRIPTOR,
                                format!("resource {name} lists {path}, which is not among the files (缺少文件)"),
                            ));
                        }
                        resource_of_path.insert(path, name);
                    }
                }
                Err(message) => errors.push(file_error(&descriptor.name, message)),
            }
        }

        let mut tables: Vec<PackageTable> = Vec::new();
        for file in files.iter().filter(|f| base_name(&f.name) != DESCRIPTOR) {
            let resource = resource_of_path
                .get(&file.name)
                .or_else(|| resource_of_path.get(base_name(&file.name)))
                .cloned()
                .unwrap_or_else(|| base_name(&file.name).to_owned());
            let records = if file.name.ends_with(".json") {
                read_json(&file.content)
            } else if file.name.ends_with(".csv") {
                read_csv(&file.content)
            } else {
                Err("only .json and .csv files can be imported (只能导入 .json 或 .csv 文件)".to_owned())
            };
            let records = match records {
                Ok(records) => records,
                Err(message) => {
                    errors.push(file_error(&file.name, message));
                    continue;
                }
            };
            let Some(spec) = tables::table_named(&resource) else {
                let stem = resource.split('.').next().unwrap_or_default();
                if UNSUPPORTED_HSDS_TABLES.contains(&stem) && records.is_empty() {
                    continue; // nothing would be lost
                }
                let message = if UNSUPPORTED_HSDS_TABLES.contains(&stem) {
                    format!("Qiao does not keep the HSDS table {stem}; remove its records (不支持该表)")
                } else {
                    format!("{resource} is not a table Qiao imports (无法识别的表)")
                };
                errors.push(file_error(&file.name, message));
                continue;
            };
            if let Some(earlier) = tables.iter().find(|t| std::ptr::eq(t.spec, spec)) {
                errors.push(file_error(
                    &file.name,
                    format!("table {} is already given by {} (同一张表给了两次)", spec.name, earlier.file),
                ));
                continue;
            }
            tables.push(PackageTable { spec, file: file.name.clone(), records });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Parents first, whatever order the files came in.
        tables.sort_by_key(|t| tables::TABLES.iter().position(|spec| std::ptr::eq(*spec, t.spec)));
        Ok(Self { tables })
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// A record serialised with its table's columns first, in order (serde_json's map sorts keys).
struct Ordered<'a>(&'static TableSpec, &'a Map<String, Value>);

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Ordered(spec, record) = self;
        let mut map = serializer.serialize_map(Some(record.len()))?;
        for column in spec.columns {
            if let Some(value) = record.get(column.name) {
                map.serialize_entry(column.name, value)?;
            }
        }
        for (key, value) in record.iter().filter(|(key, _)| !spec.columns.iter().any(|c| c.name == *key)) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn descriptor(tables: &[&PackageTable], format: Format) -> Result<String, serde_json::Error> {
    let resources: Vec<Value> = tables
        .iter()
        .map(|table| {
            let spec = table.spec;
            let fields: Vec<Value> =
                spec.columns.iter().map(|c| json!({ "name": c.name, "type": c.kind.table_schema_type() })).collect();
            let schema = json!({ "fields": fields, "primaryKey": "id" });
            let mut resource = match format {
                Format::JsonDatapackage => json!({
                    "name": spec.name,
                    "path": spec.json_file(),
                    "profile": "data-resource",
                    "format": "json",
                    "mediatype": "application/json",
                    "encoding": "utf-8",
                    "schema": schema,
                }),
                Format::Csv => json!({
                    "name": spec.name,
                    "path": spec.csv_file,
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "schema": schema,
                }),
            };
            if !spec.is_hsds()
                && let Some(object) = resource.as_object_mut()
            {
                object.insert(
                    "description".to_owned(),
                    Value::from("Qiao extension table (not part of HSDS): HSDS tools may ignore it."),
                );
            }
            resource
        })
        .collect();
    let profile = match format {
        Format::JsonDatapackage => "data-package",
        Format::Csv => "tabular-data-package",
    };
    serde_json::to_string_pretty(&json!({
        "profile": profile,
        "name": "qiao-directory",
        "title": "Qiao 桥 community-services directory",
        "description": "Open Referral HSDS 3.0 tables. Text fields are Chinese (zh); each record's `x-qiao` \
                        object carries the English text (`x-qiao.en`) and Qiao-only facts, and `x-qiao-*` \
                        resources are Qiao's extension tables.",
        "x-qiao": { "hsds_version": "3.0", "text_language": "zh", "translation_language": "en" },
        "resources": resources,
    }))
}

fn csv_text(table: &PackageTable) -> Result<String, WriteError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(table.spec.columns.iter().map(|c| c.name))?;
    for record in &table.records {
        writer.write_record(table.spec.columns.iter().map(|c| cell(record.get(c.name))))?;
    }
    let bytes = writer.into_inner().map_err(|error| WriteError::Csv(error.into_error().into()))?;
    Ok(String::from_utf8(bytes)?)
}

/// A value as CSV text: objects (the `x-qiao` extension) as their JSON text, text a spreadsheet
/// would run as a formula neutralised (see [`neutralise_formula`]).
fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => neutralise_formula(text),
        // Numbers, booleans and JSON text cannot form a formula: a bare `-5` is just a number.
        Some(other) => other.to_string(),
    }
}

/// What makes a spreadsheet treat a cell as a formula (OWASP, "CSV Injection").
const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `text` needs (or, read back, carries) the guard quote: it starts with a formula
/// trigger once any leading quotes are set aside. Counting text that already starts with quotes
/// before a trigger keeps the round trip exact: `'=x` is written `''=x` and read back as `'=x`.
fn formula_like(text: &str) -> bool {
    text.trim_start_matches('\'').starts_with(FORMULA_TRIGGERS)
}

/// A directory is edited by many people and its export opened in spreadsheets by others: a
/// description such as `=HYPERLINK(...)` must show as text there, never run. A leading `'` makes
/// every common spreadsheet take the cell as text; [`restore_formula`] takes it off on import.
pub fn neutralise_formula(text: &str) -> String {
    if formula_like(text) { format!("'{text}") } else { text.to_owned() }
}

/// The cell as it was before [`neutralise_formula`].
fn restore_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(cell) => rest,
        _ => cell,
    }
}

/// The descriptor's resources as (name, path).
fn read_descriptor(content: &str) -> Result<Vec<(String, String)>, String> {
    let invalid = || "datapackage.json is not a data package descriptor with resources (数据包描述文件无效)".to_owned();
    let value: Value = serde_json::from_str(content).map_err(|_| invalid())?;
    let resources = value.get("resources").and_then(Value::as_array).ok_or_else(invalid)?;
    resources
        .iter()
        .map(|resource| {
            let name = resource.get("name").and_then(Value::as_str);
            let path = resource.get("path").and_then(Value::as_str);
            match (name, path) {
                (Some(name), Some(path)) => Ok((name.to_owned(), path.to_owned())),
                _ => {
                    Err("every resource of datapackage.json needs a name and a path (资源缺少 name 或 path)".to_owned())
                }
            }
        })
        .collect()
}

fn read_json(content: &str) -> Result<Vec<Map<String, Value>>, String> {
    let value: Value = serde_json::from_str(content.trim_start_matches('\u{feff}'))
        .map_err(|error| format!("not valid JSON: {error} (JSON 格式错误)"))?;
    let Value::Array(items) = value else {
        return Err("must be a JSON array of records (必须是记录数组)".to_owned());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(record) => Ok(record),
            _ => Err(format!("row {} is not a JSON object (第 {} 条记录不是对象)", index + 1, index + 1)),
        })
        .collect()
}

fn read_csv(content: &str) -> Result<Vec<Map<String, Value>>, String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(content.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| format!("the header row is not valid CSV: {error} (CSV 表头错误)"))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if !headers.iter().any(|h| h == "id") {
        return Err("the header row has no id column (缺少 id 列)".to_owned());
    }
    let mut records = Vec::new();
    for (index, row) in reader.records().enumerate() {
        let row = row.map_err(|error| format!("row {} is not valid CSV: {error} (CSV 格式错误)", index + 1))?;
        // An empty cell is no value, as in HSDS's CSV form.
        let record: Map<String, Value> = headers
            .iter()
            .zip(row.iter())
            .filter(|(_, cell)| !cell.is_empty())
            .map(|(header, cell)| (header.clone(), Value::from(restore_formula(cell))))
            .collect();
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::super::tables::X_QIAO;
    use super::*;

    fn package() -> HsdsPackage {
        let record = |id: &str, name: &str| {
            let mut map = Map::new();
            map.insert("id".to_owned(), Value::from(id));
            map.insert("name".to_owned(), Value::from(name));
            map.insert("minimum_age".to_owned(), Value::from(6));
            map.insert(X_QIAO.to_owned(), json!({ "en": { "name": "Tutoring, \"after school\"" } }));
            map
        };
        HsdsPackage {
            tables: vec![PackageTable {
                spec: &tables::SERVICE,
                file: "service.json".to_owned(),
                records: vec![record("b", "课后辅导"), record("a", "法律援助")],
            }],
        }
    }

    #[test]
    fn json_records_list_their_columns_in_table_order() {
        let files = package().to_files(Format::JsonDatapackage).expect("writes");
        let service = files.iter().find(|f| f.name == "service.json").expect("service.json");
        let id_at = service.content.find("\"id\"").unwrap_or(usize::MAX);
        let name_at = service.content.find("\"name\"").unwrap_or(0);
        assert!(id_at < name_at, "{}", service.content);
    }

    #[test]
    fn both_forms_read_back_to_the_same_records() {
        for format in [Format::JsonDatapackage, Format::Csv] {
            let files = package().to_files(format).expect("writes");
            assert_eq!(files[0].name, DESCRIPTOR);
            let read = HsdsPackage::from_files(&files).expect("reads");
            assert_eq!(read.tables.len(), 1);
            let records = &read.tables[0].records;
            assert_eq!(records[1].get("name"), Some(&Value::from("法律援助")));
            // CSV cells are text; the import's reader parses them by what each field needs.
            let x = records[0].get(X_QIAO).map(|v| match v {
                Value::String(text) => serde_json::from_str::<Value>(text).unwrap_or_default(),
                other => other.clone(),
            });
            assert_eq!(x, Some(json!({ "en": { "name": "Tutoring, \"after school\"" } })));
        }
    }

    #[test]
    fn unknown_duplicate_and_unlisted_files_are_reported_by_name() {
        let files = vec![
            PackageFile {
                name: DESCRIPTOR.to_owned(),
                content: r#"{"resources":[{"name":"service","path":"service.json"}]}"#.to_owned(),
            },
            PackageFile { name: "services.csv".to_owned(), content: "id,name\na,x\n".to_owned() },
            PackageFile { name: "service.csv".to_owned(), content: "id,name\nb,y\n".to_owned() },
            PackageFile { name: "funding.json".to_owned(), content: r#"[{"id":"f"}]"#.to_owned() },
            PackageFile { name: "widgets.json".to_owned(), content: "[]".to_owned() },
            PackageFile { name: "program.json".to_owned(), content: "{".to_owned() },
        ];
        let errors = HsdsPackage::from_files(&files).err().unwrap_or_default();
        let files: Vec<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        assert_eq!(files, [DESCRIPTOR, "service.csv", "funding.json", "widgets.json", "program.json"], "{errors:?}");
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_run_are_quoted_and_read_back_unchanged() {
        let texts = [
            "=HYPERLINK(\"http://example.com\",\"点击\")",
            "+86 21 5486 1801",
            "-5",
            "- bring your ID card",
            "@SUM(A1:A2)",
            "\tpadded",
            "\rcarriage",
            "'=already quoted",
            "''+twice",
        ];
        for text in texts {
            let written = neutralise_formula(text);
            assert!(written.starts_with('\''), "{text:?} is written {written:?}");
            assert_eq!(restore_formula(&written), text);
        }
        // Ordinary text, an apostrophe without a trigger, and a dash inside: left alone.
        for text in ["021-54861801", "法律援助 - 免费", "'quoted'", "a=b", ""] {
            assert_eq!(neutralise_formula(text), text);
            assert_eq!(restore_formula(text), text);
        }
        // A number is a number, not a formula.
        assert_eq!(cell(Some(&json!(-5))), "-5");
        assert_eq!(cell(Some(&json!("=1+1"))), "'=1+1");
    }

    #[test]
    fn a_formula_in_a_record_survives_a_csv_round_trip_as_text() {
        let mut package = package();
        let formula = "=cmd|' /C calc'!A0";
        package.tables[0].records[0].insert("name".to_owned(), Value::from(formula));
        let files = package.to_files(Format::Csv).expect("writes");
        let csv = files.iter().find(|f| f.name == tables::SERVICE.csv_file).expect("the service file");
        assert!(csv.content.contains(&format!("'{formula}")), "{}", csv.content);
        let read = HsdsPackage::from_files(&files).expect("reads");
        assert_eq!(read.tables[0].records[0].get("name"), Some(&Value::from(formula)));
    }
}
