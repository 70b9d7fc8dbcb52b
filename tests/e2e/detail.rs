//! A service's detail: everything needed before going.

use qiao_seed::rows::derived_id;
use qiao_tests::{T_VILLAGE, TestApp, china_time, error_code, on_every_database};
use serde_json::json;

const DETAIL: &str = r#"
query Detail($id: ID!, $language: Language) {
  service(id: $id, language: $language) {
    id name description status
    category { code name }
    organization { name }
    programme { funders deliveryMode sinceYear }
    locations {
      openNow
      location { name lat lon gcjLat: lat(datum: GCJ02) address { street district city adcode } }
      hoursNext7Days { date closed exceptionReason intervals { opens closes } }
    }
    openNow
    phones { number kind }
    languages
    costs { option amountYuan currency }
    isFree
    eligibility { localHukouRequired requirements { kind months minAge maxAge plainWords } }
    requiredDocuments
    lastVerifiedOn
    capacity { status asOf }
    supportFunctions
    interventionLevels
  }
}"#;

#[tokio::test]
async fn the_legal_aid_centre_detail_has_everything_needed_before_going() {
    on_every_database(|app| async move {
        // Monday 2026-09-28 10:00: National Day (Thursday 2026-10-01) falls in the coming week.
        app.clock.set(china_time(2026, 9, 28, 10, 0));
        let id = derived_id("service", "sh-minhang-legal-aid");
        let service = app.data(DETAIL, json!({ "id": id })).await["service"].clone();
        assert_eq!(service["id"], json!(id));
        assert_eq!(service["category"]["code"], "LEGAL_AID");
        assert!(service["organization"]["name"].as_str().is_some_and(|n| n.contains("法律援助中心")));
        assert_eq!(service["openNow"], json!(true));
        let location = &service["locations"][0];
        assert!(location["location"]["lat"].as_f64().is_some_and(|lat| (lat - 31.118).abs() < 0.01));
        assert!(location["location"]["gcjLat"].as_f64() != location["location"]["lat"].as_f64());
        assert!(location["location"]["address"]["district"].as_str().is_some_and(|d| d.contains("闵行")));
        let week = location["hoursNext7Days"].as_array().cloned().unwrap_or_default();
        assert_eq!(week.len(), 7);
        assert_eq!(week[0]["date"], "2026-09-28");
        assert_eq!(week[0]["intervals"], json!([{ "opens": "09:00", "closes": "17:00" }]));
        let national_day = &week[3];
        assert_eq!(national_day["date"], "2026-10-01");
        assert_eq!(national_day["closed"], json!(true));
        assert!(national_day["exceptionReason"].as_str().is_some_and(|r| r.contains("国庆")));
        assert!(!service["phones"].as_array().is_some_and(Vec::is_empty));
        assert!(service["languages"].as_array().is_some_and(|l| l.contains(&json!("zh"))));
        assert_eq!(service["isFree"], json!(true));
        assert_eq!(service["eligibility"]["localHukouRequired"], json!(false));
        assert!(service["eligibility"]["requirements"][0]["plainWords"].as_str().is_some_and(|w| !w.is_empty()));
        assert!(!service["requiredDocuments"].as_array().is_some_and(Vec::is_empty));
        assert!(service["lastVerifiedOn"].as_str().is_some_and(|d| d.starts_with("2026-")));
        assert!(service["capacity"]["status"].is_string());
        assert!(!service["supportFunctions"].as_array().is_some_and(Vec::is_empty));
    })
    .await;
}

#[tokio::test]
async fn the_detail_speaks_the_language_asked_for() {
    on_every_database(|app| async move {
        let id = derived_id("service", "sh-waihuan-road-primary-enrolment");
        let chinese = app.data(DETAIL, json!({ "id": id })).await;
        let english = app.data(DETAIL, json!({ "id": id, "language": "EN" })).await;
        let by_header = app.graphql_with(DETAIL, json!({ "id": id }), &[("accept-language", "en-GB,en;q=0.9")]).await;
        let name = |v: &serde_json::Value| v["service"]["name"].as_str().unwrap_or_default().to_owned();
        assert!(!name(&chinese).is_ascii());
        assert!(name(&english).is_ascii());
        assert_eq!(name(&by_header["data"]), name(&english));
        // Structured eligibility in plain words: residence permit, social insurance, age.
        let requirements = english["service"]["eligibility"]["requirements"].as_array().cloned().unwrap_or_default();
        let kinds: Vec<&str> = requirements.iter().filter_map(|r| r["kind"].as_str()).collect();
        assert!(kinds.contains(&"RESIDENCE_PERMIT") && kinds.contains(&"SOCIAL_INSURANCE_MONTHS"), "{kinds:?}");
        let insurance =
            requirements.iter().find(|r| r["kind"] == "SOCIAL_INSURANCE_MONTHS").cloned().unwrap_or_default();
        assert!(insurance["plainWords"].as_str().is_some_and(|w| w.contains(&insurance["months"].to_string())));
    })
    .await;
}

#[tokio::test]
async fn a_local_hukou_service_says_so_and_the_hotline_serves_an_area() {
    on_every_database(|app| async move {
        let kindergarten = app.data(DETAIL, json!({ "id": derived_id("service", "sh-waihuan-road-kindergarten-hukou-round") })).await;
        assert_eq!(kindergarten["service"]["eligibility"]["localHukouRequired"], json!(true));
        assert_eq!(kindergarten["service"]["isFree"], json!(false));
        let hotline = app
            .data(
                "query($id: ID!) { service(id: $id) { locations { id } serviceAreas { name } phones { number kind } openNow } }",
                json!({ "id": derived_id("service", "sh-shanghai-12348-hotline") }),
            )
            .await;
        assert_eq!(hotline["service"]["locations"], json!([]));
        assert!(!hotline["service"]["serviceAreas"].as_array().is_some_and(Vec::is_empty));
        assert_eq!(hotline["service"]["openNow"], json!(true)); // Wednesday 10:00
    })
    .await;
}

#[tokio::test]
async fn an_unknown_service_is_not_found() {
    on_every_database(|app| async move {
        for id in ["00000000-0000-0000-0000-000000000000", "not-an-id", &"x".repeat(500)] {
            let response = app.graphql(DETAIL, json!({ "id": id })).await;
            assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response}");
            assert!(response["data"]["service"].is_null());
        }
    })
    .await;
}

#[tokio::test]
async fn an_archived_location_leaves_the_detail_as_it_leaves_search() {
    on_every_database(|app| async move {
        // The tutoring is given at the library room and at the social work station.
        let tutoring = derived_id("service", "sh-tvillage-tutoring");
        let library_room = derived_id("location", "sh-loc-tvillage-library-room");
        let station = derived_id("location", "sh-loc-tvillage-sws-office");
        let detail_places = |app: TestApp, id: String| async move {
            let detail = app
                .data("query($id: ID!) { service(id: $id) { locations { location { id } } } }", json!({ "id": id }))
                .await;
            let locations = detail["service"]["locations"].as_array().cloned().unwrap_or_default();
            let mut ids: Vec<String> =
                locations.iter().filter_map(|l| l["location"]["id"].as_str().map(str::to_owned)).collect();
            ids.sort();
            ids
        };
        // Every place where search finds any service near T village.
        let searched_places = |app: TestApp| async move {
            let result = app
                .data(
                    "query($near: GeoPointInput!) { nearbyServices(near: $near, radiusMeters: 3000, first: 50) { \
                       edges { node { location { id } } } } }",
                    json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } }),
                )
                .await;
            let edges = result["nearbyServices"]["edges"].as_array().cloned().unwrap_or_default();
            edges.iter().filter_map(|e| e["node"]["location"]["id"].as_str().map(str::to_owned)).collect::<Vec<_>>()
        };
        let mut both = vec![library_room.clone(), station.clone()];
        both.sort();
        assert_eq!(detail_places(app.clone(), tutoring.clone()).await, both);
        assert!(searched_places(app.clone()).await.contains(&library_room));

        let committee = app.token_of("committee.tvillage").await;
        app.data_as(
            &committee,
            "mutation($id: ID!) { archiveLocation(id: $id) { id } }",
            json!({ "id": library_room }),
        )
        .await;

        assert!(!searched_places(app.clone()).await.contains(&library_room), "search drops the archived place");
        assert_eq!(detail_places(app.clone(), tutoring.clone()).await, vec![station], "and so does the detail");
    })
    .await;
}
