//! The mobile contract: the committed SDL and operation files match the code and run.

use std::path::{Path, PathBuf};

use qiao_tests::{T_VILLAGE, TestApp, on_every_database};
use serde_json::{Value, json};

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec")
}

#[test]
fn the_committed_sdl_matches_the_code() {
    let committed = std::fs::read_to_string(spec_dir().join("schema.graphql")).expect("schema.graphql is committed");
    let generated = qiao_server::graphql::sdl();
    assert!(
        committed == generated,
        "mobile-client-spec/schema.graphql is stale: run `cargo run -p qiao-server -- print-schema > mobile-client-spec/schema.graphql`"
    );
}

#[test]
fn the_service_category_enum_has_exactly_the_taxonomy_codes() {
    let taxonomy = qiao_seed::files::taxonomy().expect("taxonomy.json parses");
    let mut from_data: Vec<&str> = taxonomy.categories.iter().map(|c| c.code.as_str()).collect();
    let mut from_code: Vec<&str> =
        qiao_server::graphql::category::ServiceCategory::ALL.iter().map(|c| c.code()).collect();
    from_data.sort_unstable();
    from_code.sort_unstable();
    assert_eq!(from_data, from_code);
}

/// Variables for each committed operation, against the demo data.
async fn variables_for(app: &TestApp, operation: &str) -> Value {
    let near = json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 });
    match operation {
        "NearbyServices" => json!({ "near": near, "radiusMeters": 3000, "categories": ["LEGAL_AID"], "first": 5 }),
        "ServiceDetail" => {
            let data = app
                .data(
                    "query { nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000, categories: [LEGAL_AID]) { edges { node { id } } } }",
                    json!({}),
                )
                .await;
            json!({ "id": data["nearbyServices"]["edges"][0]["node"]["id"] })
        }
        "UrbanVillageAt" => json!({ "point": near }),
        "UrbanVillages" => json!({ "city": "上海", "first": 10 }),
        "Categories" => json!({}),
        "ExportDirectory" => json!({ "format": "JSON_DATAPACKAGE" }),
        "ImportDirectory" => {
            // The demo directory's own export: importing it again changes nothing.
            let admin = app.token_of("admin").await;
            let response = app
                .graphql_as(
                    &admin,
                    "query { exportDirectory(format: JSON_DATAPACKAGE) { files { name content } } }",
                    json!({}),
                )
                .await;
            json!({ "files": response["data"]["exportDirectory"]["files"] })
        }
        other => panic!("no variables known for operation {other}: add them to contract.rs"),
    }
}

/// The demo account an operation needs to sign in as, if it needs a role.
fn account_for(operation: &str) -> Option<&'static str> {
    match operation {
        "ExportDirectory" | "ImportDirectory" => Some("admin"),
        _ => None,
    }
}

#[tokio::test]
async fn every_operation_file_runs_against_the_demo_data() {
    on_every_database(|app| async move {
        let mut files: Vec<PathBuf> = std::fs::read_dir(spec_dir().join("operations"))
            .expect("operations directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "the fixed operations are committed");
        for file in files {
            let operation = file.file_stem().and_then(|s| s.to_str()).expect("file name").to_owned();
            let document = std::fs::read_to_string(&file).expect("operation file");
            assert!(
                document.contains(&format!("query {operation}")) || document.contains(&format!("mutation {operation}")),
                "{} must hold one operation named after the file",
                file.display()
            );
            let variables = variables_for(&app, &operation).await;
            let response = match account_for(&operation) {
                Some(username) => app.graphql_as(&app.token_of(username).await, &document, variables).await,
                None => app.graphql(&document, variables).await,
            };
            assert!(response.get("errors").is_none(), "{operation}: unexpected errors: {response:#}");
            let data = &response["data"];
            let root = data.as_object().and_then(|o| o.values().next()).expect("one root field");
            assert!(!root.is_null(), "{operation} returned null on the demo data");
            if let Some(imported) = root.get("imported") {
                assert_eq!(imported, true, "{operation} refused the demo data: {root:#}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_type_field_and_argument_of_the_schema_is_documented() {
    on_every_database(|app| async move {
        let data = app
            .data(
                "{ __schema { types { name kind description fields { name description args { name description } } \
                   inputFields { name description } enumValues { name description } } } }",
                json!({}),
            )
            .await;
        let mut undocumented = Vec::new();
        let documented = |value: &Value| value.as_str().is_some_and(|d| !d.trim().is_empty());
        for ty in data["__schema"]["types"].as_array().expect("types") {
            let name = ty["name"].as_str().unwrap_or_default();
            if name.starts_with("__") || ty["kind"] == "SCALAR" {
                continue;
            }
            if !documented(&ty["description"]) {
                undocumented.push(name.to_owned());
            }
            for field in
                ty["fields"].as_array().into_iter().flatten().chain(ty["inputFields"].as_array().into_iter().flatten())
            {
                if !documented(&field["description"]) {
                    undocumented.push(format!("{name}.{}", field["name"]));
                }
                for argument in field["args"].as_array().into_iter().flatten() {
                    if !documented(&argument["description"]) {
                        undocumented.push(format!("{name}.{}({})", field["name"], argument["name"]));
                    }
                }
            }
            for value in ty["enumValues"].as_array().into_iter().flatten() {
                if !documented(&value["description"]) {
                    undocumented.push(format!("{name}.{}", value["name"]));
                }
            }
        }
        assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
    })
    .await;
}
