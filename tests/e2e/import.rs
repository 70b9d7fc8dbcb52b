//! Bulk CSV import: committee staff add listings in their area from a spreadsheet, all or nothing.

use qiao_schema::datum::{Datum, LatLon, from_wgs84};
use qiao_schema::entity::{organization, service};
use qiao_tests::{T_VILLAGE, TestApp, error_code, on_every_database};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const IMPORT: &str = "mutation($csv: String!) {
  importListingsCsv(csv: $csv) { imported serviceIds errors { row line column message } } }";
const HEADER: &str = "name_zh,name_en,category,address_zh,address_en,district_zh,district_en,city_zh,city_en,adcode,lat,lon,datum,phone,hours,cost,documents";

/// Where the knitting group is, in WGS-84; the file gives it in GCJ-02.
const KNITTING_WGS84: (f64, f64) = (31.1062, 121.3566);

fn good_file() -> String {
    let gcj = from_wgs84(LatLon::new(KNITTING_WGS84.0, KNITTING_WGS84.1), Datum::Gcj02);
    format!(
        "{HEADER}\n\
         T村劳动法咨询角,T village labour law corner,LEGAL_AID,T村文化路1号,1 Wenhua Road,闵行区,Minhang District,上海市,Shanghai,310112,31.1040,121.3540,WGS84,021-54861234,MO-FR 09:00-17:00; SA 09:00-12:00,0,身份证/Resident ID card|劳动合同/Labour contract\n\
         T村编织小组,T village knitting group,VOLUNTEER_GROUP,T村文化路2号,,闵行区,,上海市,,310112,{:.7},{:.7},GCJ02,13912340000,\"SA,SU 14:00-16:00\",免费,\n\
         T村电脑入门课,T village computer basics,JOB_TRAINING,T村文化路3号,3 Wenhua Road,闵行区,Minhang District,上海市,Shanghai,310112,31.1055,121.3552,,,TU 19:00-21:00,20,\n",
        gcj.lat, gcj.lon
    )
}

async fn import_as(app: &TestApp, username: &str, csv: &str) -> Value {
    let token = app.token_of(username).await;
    app.graphql_as(&token, IMPORT, json!({ "csv": csv })).await
}

/// How many services and organisations the database holds.
async fn counts(app: &TestApp) -> (u64, u64) {
    let db = sea_orm::Database::connect(&app.database_url).await.expect("connect to the test database");
    let services = service::Entity::find().count(&db).await.expect("count services");
    let organizations = organization::Entity::find().count(&db).await.expect("count organisations");
    db.close().await.ok();
    (services, organizations)
}

/// The first nearby edge matching `text` around T village.
async fn found_nearby(app: &TestApp, text: &str) -> Value {
    let data = app
        .data(
            "query($near: GeoPointInput!, $text: String) { nearbyServices(near: $near, radiusMeters: 3000, text: $text) {
               edges { node { id name category status location { lat lon } } } } }",
            json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 }, "text": text }),
        )
        .await;
    data["nearbyServices"]["edges"][0]["node"].clone()
}

#[tokio::test]
async fn a_good_file_imports_every_row_and_search_finds_them() {
    on_every_database(|app| async move {
        let before = counts(&app).await;
        let response = import_as(&app, "committee.tvillage", &good_file()).await;
        let report = &response["data"]["importListingsCsv"];
        assert_eq!(report["errors"], json!([]), "{response}");
        assert_eq!(report["imported"], 3);
        let ids: Vec<String> = report["serviceIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), 3);
        assert_eq!(counts(&app).await, (before.0 + 3, before.1 + 3));

        for (text, index, category) in
            [("劳动法咨询", 0, "LEGAL_AID"), ("编织", 1, "VOLUNTEER_GROUP"), ("computer", 2, "JOB_TRAINING")]
        {
            let node = found_nearby(&app, text).await;
            assert_eq!(node["id"], json!(ids[index]), "{text}: {node}");
            assert_eq!(node["category"], category);
            assert_eq!(node["status"], "ACTIVE");
        }
        // The GCJ-02 row was converted: it is stored and returned at its WGS-84 point.
        let knitting = found_nearby(&app, "编织").await;
        let (lat, lon) = (knitting["location"]["lat"].as_f64(), knitting["location"]["lon"].as_f64());
        assert!(lat.is_some_and(|v| (v - KNITTING_WGS84.0).abs() < 1e-6), "{knitting}");
        assert!(lon.is_some_and(|v| (v - KNITTING_WGS84.1).abs() < 1e-6), "{knitting}");

        let detail = app
            .data(
                "query($id: ID!) { service(id: $id, language: EN) { name phones { number } isFree requiredDocuments
                   hoursNext7Days { date intervals { opens closes } }
                   locations { location { address { street district city } } } } }",
                json!({ "id": ids[0] }),
            )
            .await;
        let service = &detail["service"];
        assert_eq!(service["name"], "T village labour law corner");
        assert_eq!(service["phones"][0]["number"], "021-54861234");
        assert_eq!(service["isFree"], true);
        assert_eq!(service["requiredDocuments"], json!(["Resident ID card", "Labour contract"]));
        assert_eq!(service["locations"][0]["location"]["address"]["street"], "1 Wenhua Road");
        // The clock starts on Wednesday 2026-11-25: open 09:00-17:00 that day.
        assert_eq!(service["hoursNext7Days"][0]["intervals"], json!([{ "opens": "09:00", "closes": "17:00" }]));

        let priced = app
            .data("query($id: ID!) { service(id: $id) { isFree costs { amountYuan } } }", json!({ "id": ids[2] }))
            .await;
        assert_eq!(priced["service"]["costs"][0]["amountYuan"], 20.0);

        // Every created record has its history, by the committee.
        let committee = app.token_of("committee.tvillage").await;
        let history = app
            .graphql_as(
                &committee,
                "query($id: ID!) { listingHistory(id: $id, first: 50) { nodes { field action changedBy } } }",
                json!({ "id": ids[0] }),
            )
            .await;
        let nodes = history["data"]["listingHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        for field in ["name_zh", "hours", "phones", "documents"] {
            assert!(nodes.iter().any(|n| n["field"] == field), "no {field} in {history}");
        }
        assert!(nodes.iter().all(|n| n["changedBy"] == "T村居委会 / T village committee"));
    })
    .await;
}

#[tokio::test]
async fn a_file_with_bad_rows_imports_nothing_and_reports_each_bad_row() {
    on_every_database(|app| async move {
        let row = |category: &str, lat: &str, lon: &str, hours: &str, cost: &str| {
            format!(
                "T村测试点,Test point,{category},T村文化路9号,,闵行区,,上海市,,310112,{lat},{lon},,,\"{hours}\",{cost},"
            )
        };
        let csv = [
            HEADER.to_owned(),
            row("LIBRARY", "31.1050", "121.3550", "SA 09:00-12:00", "0"),
            row("SOUP_KITCHEN", "31.1050", "121.3550", "", "0"),
            row("LIBRARY", "95", "121.3550", "", "0"),
            // X village, outside T village's committee's area.
            row("LIBRARY", "31.0960", "121.3820", "", "0"),
            row("LIBRARY", "31.1050", "121.3550", "MO-FR 9-5", "0"),
            row("LIBRARY", "31.1050", "121.3550", "", "abc"),
            "T村测试点,Test point,LIBRARY,only a few fields".to_owned(),
        ]
        .join("\n");
        let before = counts(&app).await;
        let response = import_as(&app, "committee.tvillage", &csv).await;
        let report = &response["data"]["importListingsCsv"];
        assert_eq!(report["imported"], 0, "{response}");
        assert_eq!(report["serviceIds"], json!([]));
        let errors: Vec<(i64, i64, Value)> = report["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["row"].as_i64().unwrap_or(-1), e["line"].as_i64().unwrap_or(-1), e["column"].clone()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (2, 3, json!("category")),
                (3, 4, json!("lat")),
                (4, 5, json!("lat")),
                (5, 6, json!("hours")),
                (6, 7, json!("cost")),
                (7, 8, Value::Null),
            ],
            "{response}"
        );
        for error in report["errors"].as_array().into_iter().flatten() {
            let message = error["message"].as_str().unwrap_or_default();
            assert!(!message.is_ascii() && message.contains('('), "bilingual: {message}");
        }
        assert_eq!(counts(&app).await, before);
        assert!(found_nearby(&app, "测试点").await.is_null());
    })
    .await;
}

#[tokio::test]
async fn a_file_without_a_required_column_imports_nothing() {
    on_every_database(|app| async move {
        let csv = "name_zh,address_zh,district_zh,city_zh,adcode,lat,lon,cost\n\
                   T村测试点,T村文化路9号,闵行区,上海市,310112,31.1050,121.3550,0\n";
        let before = counts(&app).await;
        let response = import_as(&app, "committee.tvillage", csv).await;
        let report = &response["data"]["importListingsCsv"];
        assert_eq!(report["imported"], 0, "{response}");
        assert_eq!(report["errors"][0]["row"], 0);
        assert_eq!(report["errors"][0]["column"], "category");
        assert!(report["errors"][0]["message"].as_str().unwrap_or_default().contains("缺少"), "{response}");
        assert_eq!(counts(&app).await, before);

        for (csv, expected) in [("", "empty"), (HEADER, "no rows"), ("name_zh,colour\n", "unknown column")] {
            let response = import_as(&app, "committee.tvillage", csv).await;
            let message = response["data"]["importListingsCsv"]["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(expected), "{csv:?}: {response}");
        }
    })
    .await;
}

#[tokio::test]
async fn only_committee_staff_and_admins_import_and_admins_anywhere() {
    on_every_database(|app| async move {
        let before = counts(&app).await;
        for username in ["provider.legalaid", "migrant.demo", "worker.tvillage"] {
            let response = import_as(&app, username, &good_file()).await;
            assert_eq!(error_code(&response), Some("FORBIDDEN"), "{username}: {response}");
        }
        let anonymous = app.graphql(IMPORT, json!({ "csv": good_file() })).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{anonymous}");
        assert_eq!(counts(&app).await, before);

        // An admin's area is everywhere, X village included.
        let csv = format!(
            "{HEADER}\nX村图书角,X village book corner,LIBRARY,X村1号,,闵行区,,上海市,,310112,31.0960,121.3820,,,,0,\n"
        );
        let response = import_as(&app, "admin", &csv).await;
        assert_eq!(response["data"]["importListingsCsv"]["imported"], 1, "{response}");
        assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 1));
    })
    .await;
}

/// The ```csv blocks of docs/CSV-IMPORT.md, in order.
fn documented_files() -> Vec<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CSV-IMPORT.md");
    let text = std::fs::read_to_string(path).expect("docs/CSV-IMPORT.md");
    text.split("```csv\n").skip(1).filter_map(|block| block.split("```").next().map(str::to_owned)).collect()
}

#[tokio::test]
async fn the_examples_in_the_documentation_do_what_it_says() {
    on_every_database(|app| async move {
        let files = documented_files();
        assert_eq!(files.len(), 2, "a good and a bad example");
        let response = import_as(&app, "committee.tvillage", &files[0]).await;
        let report = &response["data"]["importListingsCsv"];
        assert_eq!(report["errors"], json!([]), "{response}");
        assert_eq!(report["imported"], 3);

        let response = import_as(&app, "committee.tvillage", &files[1]).await;
        let report = &response["data"]["importListingsCsv"];
        assert_eq!(report["imported"], 0, "{response}");
        let errors: Vec<(Value, Value, Value)> = report["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["row"].clone(), e["line"].clone(), e["column"].clone()))
            .collect();
        assert_eq!(
            errors,
            vec![
                (json!(1), json!(2), json!("category")),
                (json!(2), json!(3), json!("lat")),
                (json!(3), json!(4), json!("hours")),
                (json!(3), json!(4), json!("cost")),
            ],
            "{response}"
        );
    })
    .await;
}
