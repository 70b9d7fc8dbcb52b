//! Open Referral HSDS 3.0 export and import: round trips into an empty directory in both forms,
//! refusal of bad packages, admins only, and validation against the official schemas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use qiao_server::hsds::{HsdsPackage, PackageFile};
use qiao_tests::{T_VILLAGE, TestApp, error_code, on_every_database};
use serde_json::{Value, json};

const EXPORT: &str = "query($format: HsdsFormat!) { exportDirectory(format: $format) { files { name content } } }";
const IMPORT: &str = "mutation($files: [HsdsFileInput!]!) { importDirectory(files: $files) {
    imported counts { table records created updated } errors { file record field message } } }";
const SEARCH: &str = "query($near: GeoPointInput!, $text: String) {
  nearbyServices(near: $near, radiusMeters: 50000, first: 50, text: $text) {
    edges { distanceMeters node { id name category status openNow isFree location { lat lon } } }
    areaServices { id name category }
    nearestBeyondRadiusMeters } }";
const FORMATS: [&str; 2] = ["JSON_DATAPACKAGE", "CSV"];

async fn export(app: &TestApp, token: &str, format: &str) -> Value {
    let response = app.graphql_as(token, EXPORT, json!({ "format": format })).await;
    assert!(response.get("errors").is_none(), "export failed: {response:#}");
    response["data"]["exportDirectory"]["files"].clone()
}

async fn import(app: &TestApp, token: &str, files: &Value) -> Value {
    let response = app.graphql_as(token, IMPORT, json!({ "files": files })).await;
    assert!(response.get("errors").is_none(), "import failed: {response:#}");
    response["data"]["importDirectory"].clone()
}

fn package_files(files: &Value) -> Vec<PackageFile> {
    files
        .as_array()
        .expect("a list of files")
        .iter()
        .map(|file| PackageFile {
            name: file["name"].as_str().expect("a name").to_owned(),
            content: file["content"].as_str().expect("a content").to_owned(),
        })
        .collect()
}

/// What a package says, whatever the order of its files and records: each table's records as
/// JSON text, and the descriptor.
fn content(files: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let files = package_files(files);
    let package = HsdsPackage::from_files(&files).expect("an export reads back");
    let mut content: BTreeMap<String, BTreeSet<String>> = package
        .tables
        .iter()
        .map(|table| {
            let records = table.records.iter().map(|record| Value::Object(record.clone()).to_string()).collect();
            (table.spec.name.to_owned(), records)
        })
        .collect();
    let descriptor = files.iter().find(|f| f.name == "datapackage.json").expect("datapackage.json");
    let descriptor: Value = serde_json::from_str(&descriptor.content).expect("the descriptor is JSON");
    content.insert("datapackage.json".to_owned(), BTreeSet::from([descriptor.to_string()]));
    content
}

/// The id of an account, read from the test's database.
async fn account_id(app: &TestApp, username: &str) -> String {
    use qiao_schema::entity::account;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let db = app.database().await;
    let row = account::Entity::find().filter(account::Column::Username.eq(username)).one(&db).await;
    db.close().await.ok();
    row.ok().flatten().map(|a| a.id).expect("the account exists")
}

/// An export's content without the history (`metadata`) records made by `account_id`, and those
/// records.
fn without_history_by(
    mut content: BTreeMap<String, BTreeSet<String>>,
    account_id: &str,
) -> (BTreeMap<String, BTreeSet<String>>, Vec<Value>) {
    let mut theirs = Vec::new();
    if let Some(records) = content.get_mut("metadata") {
        records.retain(|text| {
            let record: Value = serde_json::from_str(text).unwrap_or_default();
            let by_them = record["updated_by"] == account_id;
            if by_them {
                theirs.push(record);
            }
            !by_them
        });
        // An export leaves out empty tables, and the descriptor lists only the tables present.
        if records.is_empty() {
            content.remove("metadata");
            if let Some(descriptor) = content.get_mut("datapackage.json") {
                *descriptor = descriptor
                    .iter()
                    .map(|text| {
                        let mut descriptor: Value = serde_json::from_str(text).unwrap_or_default();
                        if let Some(resources) = descriptor["resources"].as_array_mut() {
                            resources.retain(|resource| resource["name"] != "metadata");
                        }
                        descriptor.to_string()
                    })
                    .collect();
            }
        }
    }
    (content, theirs)
}

/// The records of one table of a JSON export.
fn records(files: &Value, name: &str) -> Vec<Value> {
    let file = files.as_array().into_iter().flatten().find(|f| f["name"] == name).expect("the table's file");
    serde_json::from_str(file["content"].as_str().unwrap_or_default()).expect("a JSON array")
}

fn replace_records(files: &mut Value, name: &str, records: &[Value]) {
    for file in files.as_array_mut().into_iter().flatten() {
        if file["name"] == name {
            file["content"] = Value::from(serde_json::to_string(records).expect("serialises"));
        }
    }
}

/// What search and the detail screen show, for points near every urban village and T village.
async fn what_search_shows(app: &TestApp, villages: &[Value]) -> Vec<Value> {
    let mut points = vec![json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 })];
    points.extend(villages.iter().map(|v| json!({ "lat": v["centroid_lat"], "lon": v["centroid_lon"] })));
    let detail = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/operations/ServiceDetail.graphql"),
    )
    .expect("the ServiceDetail operation");
    let mut shown = Vec::new();
    for near in points {
        for text in [Value::Null, Value::from("法律"), Value::from("library")] {
            let found = app.data(SEARCH, json!({ "near": near, "text": text })).await;
            let edges = found["nearbyServices"]["edges"].as_array().cloned().unwrap_or_default();
            for edge in &edges {
                shown.push(app.data(&detail, json!({ "id": edge["node"]["id"] })).await);
            }
            shown.push(found);
        }
    }
    shown
}

#[tokio::test]
async fn an_export_imported_into_an_empty_directory_exports_and_searches_the_same_in_both_forms() {
    on_every_database(|source| async move {
        let admin = source.token_of("admin").await;
        let json_export = export(&source, &admin, "JSON_DATAPACKAGE").await;
        let services = records(&json_export, "service.json");
        assert!(services.len() >= 40, "the demo directory is exported: {} services", services.len());
        let villages = records(&json_export, "x-qiao-urban_village.json");
        let shown_by_source = what_search_shows(&source, &villages).await;

        for format in FORMATS {
            let files = export(&source, &admin, format).await;
            let target = TestApp::spawn_with(source.backend.clone(), false).await;
            let target_admin = target.create_admin("importer").await;
            let empty = target.data(SEARCH, json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } })).await;
            assert_eq!(empty["nearbyServices"]["edges"], json!([]), "the target starts empty");

            let report = import(&target, &target_admin, &files).await;
            assert_eq!(report["imported"], true, "{format}: {report:#}");
            assert_eq!(report["errors"], json!([]));
            let service_count = report["counts"].as_array().into_iter().flatten().find(|c| c["table"] == "service");
            assert_eq!(service_count.map(|c| c["created"].clone()), Some(json!(services.len())), "{report:#}");

            let again = export(&target, &target_admin, format).await;
            // The import recorded, as the importing admin, the creation of each organisation,
            // place and service; apart from that history the target holds what the source held.
            let importer = account_id(&target, "importer").await;
            let (again_content, by_importer) = without_history_by(content(&again), &importer);
            assert!(content(&files) == again_content, "{format}: the target's export differs from the source's");
            let recorded: BTreeSet<String> = by_importer
                .iter()
                .filter(|m| m["resource_type"] == "service" && m["last_action_type"] == "create")
                .filter_map(|m| m["resource_id"].as_str().map(str::to_owned))
                .collect();
            assert_eq!(recorded.len(), services.len(), "{format}: every imported service has its history");
            assert!(
                what_search_shows(&target, &villages).await == shown_by_source,
                "{format}: search on the target differs from the source"
            );

            // The same package again: every row is replaced by itself, none is added.
            let report = import(&target, &target_admin, &files).await;
            assert_eq!(report["imported"], true, "{report:#}");
            for count in report["counts"].as_array().into_iter().flatten() {
                assert_eq!(count["created"], 0, "{format}: a second import created rows: {count}");
            }
            // ...and, nothing having changed, records no history either.
            assert!(content(&again) == content(&export(&target, &target_admin, format).await));
            target.finish().await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_package_with_bad_records_changes_nothing_and_reports_each_one() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let original = export(&app, &admin, "JSON_DATAPACKAGE").await;
        let mut services = records(&original, "service.json");
        let mut attributes = records(&original, "attribute.json");
        let nowhere = "00000000-0000-4000-8000-000000000001";

        let dangling = services[0]["id"].clone();
        services[0]["organization_id"] = json!(nowhere);
        let bad_status = services[1]["id"].clone();
        services[1]["status"] = json!("closed for good");
        // A valid change in the same package must not land either.
        services[2]["name"] = json!("改了名字的服务");
        let primary = attributes
            .iter_mut()
            .find(|a| a["x-qiao"]["primary"] == true && a["link_id"] == services[3]["id"])
            .expect("a primary-category attribute");
        primary["taxonomy_term_id"] = json!(nowhere);
        let unknown_category = primary["id"].clone();
        let repeated = attributes.iter().find(|a| a["x-qiao"].is_null()).cloned().expect("a further category");
        attributes.push(repeated.clone());

        let mut bad = original.clone();
        replace_records(&mut bad, "service.json", &services);
        replace_records(&mut bad, "attribute.json", &attributes);
        let report = import(&app, &admin, &bad).await;
        assert_eq!(report["imported"], false);
        assert_eq!(report["counts"], json!([]));
        let errors = report["errors"].as_array().cloned().unwrap_or_default();
        let reported = |file: &str, record: &Value, field: &str| {
            errors.iter().any(|e| e["file"] == file && e["record"] == *record && e["field"] == field)
        };
        assert!(reported("service.json", &dangling, "organization_id"), "{errors:#?}");
        assert!(reported("service.json", &bad_status, "status"), "{errors:#?}");
        assert!(reported("attribute.json", &unknown_category, "taxonomy_term_id"), "{errors:#?}");
        assert!(reported("attribute.json", &repeated["id"], "id"), "{errors:#?}");
        assert_eq!(errors.len(), 4, "only the bad records are reported: {errors:#?}");
        assert!(errors.iter().all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty())));

        assert!(content(&original) == content(&export(&app, &admin, "JSON_DATAPACKAGE").await), "something changed");
    })
    .await;
}

#[tokio::test]
async fn unreadable_files_are_refused_with_the_file_named() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let files = json!([
            { "name": "service.json", "content": "[{\"id\": " },
            { "name": "funding.json", "content": "[{\"id\": \"f\"}]" },
        ]);
        let report = import(&app, &admin, &files).await;
        assert_eq!(report["imported"], false);
        let named: Vec<&str> =
            report["errors"].as_array().into_iter().flatten().filter_map(|e| e["file"].as_str()).collect();
        assert_eq!(named, ["service.json", "funding.json"], "{report:#}");
    })
    .await;
}

#[tokio::test]
async fn hsds_data_without_qiao_extensions_imports_with_sensible_defaults_and_is_found() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let (org, service, location, place) = (
            "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a41",
            "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a42",
            "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a43",
            "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a44",
        );
        let legal_aid = qiao_seed::rows::category_term_id("LEGAL_AID");
        let table = |name: &str, records: Value| json!({ "name": name, "content": records.to_string() });
        let files = json!([
            table("organization.json", json!([{ "id": org, "name": "社区法律服务站", "description": "" }])),
            table(
                "service.json",
                json!([{ "id": service, "organization_id": org, "name": "周末法律咨询",
                "alternate_name": "Weekend legal advice", "status": "active" }])
            ),
            table(
                "location.json",
                json!([{ "id": location, "organization_id": org, "location_type": "physical",
                "name": "服务站", "latitude": T_VILLAGE.0 + 0.001, "longitude": T_VILLAGE.1 }])
            ),
            table("service_at_location.json", json!([{ "id": place, "service_id": service, "location_id": location }])),
            table(
                "schedule.json",
                json!([{ "id": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a45", "service_at_location_id": place,
                "freq": "WEEKLY", "byday": "SA,SU", "opens_at": "09:00:00", "closes_at": "12:00:00" }])
            ),
            table(
                "attribute.json",
                json!([{ "id": "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a46", "link_id": service,
                "link_type": "service", "link_entity": "service", "taxonomy_term_id": legal_aid }])
            ),
        ]);
        let report = import(&app, &admin, &files).await;
        assert_eq!(report["imported"], true, "{report:#}");

        let found =
            app.data(SEARCH, json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 }, "text": "Weekend" })).await;
        let edges = found["nearbyServices"]["edges"].as_array().cloned().unwrap_or_default();
        let hit = edges.iter().find(|edge| edge["node"]["id"] == service).expect("the imported service is found");
        assert_eq!(hit["node"]["category"], "LEGAL_AID", "{found:#}");
        let english = app
            .graphql_with(
                "query($id: ID!) { service(id: $id) { name locations { hoursNext7Days { closed } } } }",
                json!({ "id": service }),
                &[("accept-language", "en")],
            )
            .await;
        assert_eq!(english["data"]["service"]["name"], "Weekend legal advice", "{english:#}");
        // Hours given for the service at its location, Saturday and Sunday.
        let week = english["data"]["service"]["locations"][0]["hoursNext7Days"].as_array().cloned().unwrap_or_default();
        assert_eq!(week.iter().filter(|day| day["closed"] == false).count(), 2, "{english:#}");
    })
    .await;
}

#[tokio::test]
async fn only_admins_may_export_or_import() {
    on_every_database(|app| async move {
        let files = json!([{ "name": "service.json", "content": "[]" }]);
        let anonymous = [
            app.graphql(EXPORT, json!({ "format": "CSV" })).await,
            app.graphql(IMPORT, json!({ "files": files })).await,
        ];
        for response in anonymous {
            assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{response}");
            assert!(response["data"].is_null(), "{response}");
        }
        for username in ["committee.tvillage", "migrant.demo"] {
            let token = app.token_of(username).await;
            for response in [
                app.graphql_as(&token, EXPORT, json!({ "format": "JSON_DATAPACKAGE" })).await,
                app.graphql_as(&token, IMPORT, json!({ "files": files })).await,
            ] {
                assert_eq!(error_code(&response), Some("FORBIDDEN"), "{username}: {response}");
                assert!(response["data"].is_null(), "{response}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_import_may_be_larger_than_anonymous_requests_but_only_for_a_signed_in_caller() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let files = export(&app, &admin, "JSON_DATAPACKAGE").await;
        let body = json!({ "query": IMPORT, "variables": { "files": files } });
        assert!(body.to_string().len() > qiao_server::http::MAX_BODY_BYTES, "the demo package is over 64 KiB");
        let anonymous = app.http().post(app.url("/graphql")).json(&body).send().await.expect("sent");
        assert_eq!(anonymous.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
        let signed_in = app.graphql_as(&admin, IMPORT, json!({ "files": files })).await;
        assert_eq!(signed_in["data"]["importDirectory"]["imported"], true, "{signed_in:#}");
    })
    .await;
}

/// Whether `python3` with `jsonschema` is here. Without it the validation test is skipped, loudly,
/// except under CI (`CI` set), where it must run.
fn python_with_jsonschema() -> bool {
    let available = Command::new("python3")
        .args(["-c", "import jsonschema, referencing"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !available {
        let under_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty());
        assert!(!under_ci, "CI needs python3 with jsonschema to validate the HSDS export (see .ci/run)");
        eprintln!(
            "\n!!!!!!!! SKIPPED: HSDS schema validation needs python3 with jsonschema \
             (python3 -m pip install jsonschema) !!!!!!!!\n"
        );
    }
    available
}

/// Writes an export's files into a fresh temporary directory.
fn write_export(files: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qiao-hsds-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    for file in package_files(files) {
        std::fs::write(dir.join(&file.name), file.content).expect("write an export file");
    }
    dir
}

/// The variable naming the official HSDS 3.0 schema directory (kept outside the repository).
const SCHEMA_DIR_VARIABLE: &str = "QIAO_HSDS_SCHEMA_DIR";

/// The official schemas: `QIAO_HSDS_SCHEMA_DIR` (which must then exist: `.ci/run` sets it, so a
/// missing schema fails CI), else `../shared/data/hsds-3.0/schema` beside the repository when it
/// is there; `None`, said loudly, in a clone with nothing beside it.
fn hsds_schema_dir() -> Option<PathBuf> {
    if let Some(configured) = std::env::var_os(SCHEMA_DIR_VARIABLE).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(configured);
        assert!(dir.is_dir(), "{SCHEMA_DIR_VARIABLE}={} is not a directory", dir.display());
        return Some(dir);
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/hsds-3.0/schema");
    if beside.is_dir() {
        return Some(beside);
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: the official HSDS 3.0 schemas are not beside the repository; set \
         {SCHEMA_DIR_VARIABLE} to their directory to validate the export !!!!!!!!\n"
    );
    None
}

fn validate(dir: &Path, schemas: &Path) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate-hsds.py");
    Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg("--schemas")
        .arg(schemas)
        .output()
        .expect("run scripts/validate-hsds.py")
}

#[tokio::test]
async fn the_export_validates_against_the_official_hsds_schemas() {
    let Some(schemas) = hsds_schema_dir() else { return };
    if !python_with_jsonschema() {
        return;
    }
    on_every_database(|app| {
        let schemas = schemas.clone();
        async move {
            let admin = app.token_of("admin").await;
            for format in FORMATS {
                let dir = write_export(&export(&app, &admin, format).await);
                let output = validate(&dir, &schemas);
                std::fs::remove_dir_all(&dir).ok();
                assert!(
                    output.status.success(),
                    "{format} export is not valid HSDS 3.0:\n{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                );
            }

            // And the validator does catch a record that breaks the schema.
            let mut files = export(&app, &admin, "JSON_DATAPACKAGE").await;
            let mut services = records(&files, "service.json");
            services[0]["status"] = json!("closed for good");
            replace_records(&mut files, "service.json", &services);
            let dir = write_export(&files);
            let output = validate(&dir, &schemas);
            std::fs::remove_dir_all(&dir).ok();
            let report = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{report}");
            assert!(report.contains("service.json record 1") && report.contains("status"), "{report}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_csv_export_quotes_cells_a_spreadsheet_would_run_and_its_import_restores_them() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let mut files = export(&app, &admin, "JSON_DATAPACKAGE").await;
        let mut services = records(&files, "service.json");
        let formula = "=HYPERLINK(\"http://evil.example/\",\"点此领取补贴\")";
        let dashed = "- 请携带身份证 / bring your ID card";
        services[0]["description"] = Value::from(formula);
        services[1]["description"] = Value::from(dashed);
        let (formula_id, dashed_id) = (services[0]["id"].clone(), services[1]["id"].clone());
        replace_records(&mut files, "service.json", &services);
        let report = import(&app, &admin, &files).await;
        assert_eq!(report["imported"], true, "{report:#}");

        let csv = export(&app, &admin, "CSV").await;
        let service_csv = csv.as_array().into_iter().flatten().find(|f| f["name"] == "services.csv");
        let text = service_csv.and_then(|f| f["content"].as_str()).expect("services.csv").to_owned();
        // Quoted or not, no cell of the file starts with a trigger unguarded.
        assert!(text.contains("'=HYPERLINK") && text.contains("'- 请携带身份证"), "{text}");
        for bare in [",=", ",\"=", "\n=", "\n\"=", ",-", ",\"-"] {
            assert!(!text.contains(bare), "an unguarded cell after {bare:?}");
        }

        // Read back (as the import does), the cells are what was stored.
        let package = HsdsPackage::from_files(&package_files(&csv)).expect("the CSV export reads back");
        let table = package.tables.iter().find(|t| t.spec.name == "service").expect("the service table");
        let description = |id: &Value| {
            table.records.iter().find(|r| r.get("id") == Some(id)).and_then(|r| r.get("description")).cloned()
        };
        assert_eq!(description(&formula_id), Some(Value::from(formula)));
        assert_eq!(description(&dashed_id), Some(Value::from(dashed)));
    })
    .await;
}
