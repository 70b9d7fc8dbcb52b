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

/// Whether a detail shows a write.
type Shows = Box<dyn Fn(&serde_json::Value) -> bool>;

/// The detail screen is served from memory (`directory::detail_cache`); every kind of listing
/// write must show in it as soon as the mutation answers, exactly as a fresh read would.
#[tokio::test]
async fn the_detail_shows_every_kind_of_write_as_soon_as_it_answers() {
    on_every_database(|app| async move {
        app.clock.set(china_time(2026, 12, 15, 10, 0));
        let admin = app.token_of("admin").await;
        let id = derived_id("service", "sh-tvillage-tutoring");
        let organization_id = app
            .data("query($id: ID!) { service(id: $id) { organization { id } } }", json!({ "id": id }))
            .await["service"]["organization"]["id"]
            .as_str()
            .expect("an organisation")
            .to_owned();
        let location_id = derived_id("location", "sh-loc-tvillage-sws-office");
        const VIEW: &str = r#"query($id: ID!) { service(id: $id) {
            name status alert lastVerifiedOn capacity { status }
            organization { name }
            locations { location { id name address { street } } }
            hoursNext7Days { date intervals { opens closes } }
            eligibility { requirements { kind } }
        } }"#;
        let view = |app: TestApp, id: String| async move { app.data(VIEW, json!({ "id": id })).await["service"].clone() };
        // Read once so that the detail is held in memory before each write.
        view(app.clone(), id.clone()).await;

        let writes: Vec<(&str, serde_json::Value, Shows)> = vec![
            (
                "mutation($id: ID!) { updateService(id: $id, input: { name: { zh: \"缓存测试辅导\", en: \"Cache probe tutoring\" } }) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["name"] == "缓存测试辅导"),
            ),
            (
                "mutation($id: ID!) { setServiceAlert(id: $id, alert: { zh: \"今日停水\", en: \"No water today\" }) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["alert"] == "今日停水"),
            ),
            (
                "mutation($id: ID!) { setServiceCapacity(id: $id, status: FULL) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["capacity"]["status"] == "FULL"),
            ),
            (
                "mutation($id: ID!) { setServiceHours(id: $id, hours: [{ days: [MO, TU, WE, TH, FR, SA, SU], opens: \"06:15\", closes: \"07:45\" }]) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["hoursNext7Days"][0]["intervals"] == json!([{ "opens": "06:15", "closes": "07:45" }])),
            ),
            (
                "mutation($id: ID!) { setServiceEligibility(id: $id, requirements: [{ kind: RESIDENCE_PERMIT }]) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["eligibility"]["requirements"] == json!([{ "kind": "RESIDENCE_PERMIT" }])),
            ),
            (
                "mutation($id: ID!) { verifyService(id: $id) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["lastVerifiedOn"] == "2026-12-15"),
            ),
            (
                "mutation($id: ID!) { updateOrganization(id: $id, input: { name: { zh: \"缓存测试机构\", en: \"Cache probe org\" } }) { id } }",
                json!({ "id": organization_id }),
                Box::new(|s| s["organization"]["name"] == "缓存测试机构"),
            ),
            (
                "mutation($id: ID!) { updateLocation(id: $id, input: { street: { zh: \"缓存测试路1号\", en: \"1 Cache Probe Rd\" } }) { id } }",
                json!({ "id": location_id }),
                Box::new(move |s| {
                    s["locations"].as_array().is_some_and(|places| {
                        places.iter().any(|p| p["location"]["address"]["street"] == "缓存测试路1号")
                    })
                }),
            ),
            (
                "mutation($id: ID!) { closeServiceTemporarily(id: $id, reason: { zh: \"装修\", en: \"Renovation\" }) { id } }",
                json!({ "id": id }),
                Box::new(|s| s["status"] == "TEMPORARILY_CLOSED"),
            ),
        ];
        for (mutation, variables, shows) in writes {
            let before = view(app.clone(), id.clone()).await;
            assert!(!shows(&before), "{mutation}: already shown before the write: {before:#}");
            app.data_as(&admin, mutation, variables).await;
            let after = view(app.clone(), id.clone()).await;
            assert!(shows(&after), "{mutation}: not shown right after the write ({:?}): {after:#}", app.backend);
        }

        app.data_as(&admin, "mutation($id: ID!) { archiveService(id: $id) { id } }", json!({ "id": id })).await;
        let gone = app.graphql("query($id: ID!) { service(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_code(&gone), Some("NOT_FOUND"), "an archived service leaves the detail at once");
    })
    .await;
}

/// Another server's detail cache forgets what the change feed brings, as its search does.
#[tokio::test]
async fn a_replica_shows_a_detail_change_within_two_seconds() {
    on_every_database(|app| async move {
        let replica = app.spawn_replica(&[]).await;
        let admin = app.token_of("admin").await;
        let id = derived_id("service", "sh-minhang-legal-aid");
        let name = |app: TestApp, id: String| async move {
            app.data("query($id: ID!) { service(id: $id) { name } }", json!({ "id": id })).await["service"]["name"]
                .clone()
        };
        assert_ne!(name(replica.clone(), id.clone()).await, "复制缓存测试", "held in the replica's memory");
        app.data_as(
            &admin,
            "mutation($id: ID!) { updateService(id: $id, input: { name: { zh: \"复制缓存测试\", en: \"Replica cache probe\" } }) { id } }",
            json!({ "id": id }),
        )
        .await;
        let written = tokio::time::Instant::now();
        while name(replica.clone(), id.clone()).await != "复制缓存测试" {
            assert!(written.elapsed() < std::time::Duration::from_secs(2), "the replica's detail follows within 2 s");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        replica.finish().await;
    })
    .await;
}
