//! Bad input gets a clear error with a stable code: never a 5xx, a panic, or partial data.

use qiao_tests::{error_code, on_every_database};
use serde_json::{Value, json};

const SEARCH: &str =
    "query($near: GeoPointInput!, $radius: Int!, $first: Int, $after: String, $text: String, $languages: [String!]) {
  nearbyServices(near: $near, radiusMeters: $radius, first: $first, after: $after, text: $text, languages: $languages) {
    edges { distanceMeters } } }";

fn with(overrides: Value) -> Value {
    let mut variables = json!({ "near": { "lat": 31.105, "lon": 121.355 }, "radius": 3000 });
    if let (Some(target), Some(extra)) = (variables.as_object_mut(), overrides.as_object()) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
    variables
}

#[tokio::test]
async fn every_bad_search_argument_is_refused_with_bad_user_input_and_its_field() {
    on_every_database(|app| async move {
        let cases = [
            (json!({ "near": { "lat": 90.5, "lon": 121.0 } }), "near.lat"),
            (json!({ "near": { "lat": -91, "lon": 121.0 } }), "near.lat"),
            (json!({ "near": { "lat": 31.0, "lon": 180.01 } }), "near.lon"),
            (json!({ "radius": 0 }), "radiusMeters"),
            (json!({ "radius": -5 }), "radiusMeters"),
            (json!({ "radius": 50_001 }), "radiusMeters"),
            (json!({ "first": 51 }), "first"),
            (json!({ "first": -1 }), "first"),
            (json!({ "after": "bm90IGEgY3Vyc29y" }), "after"),
            (json!({ "after": "%%%" }), "after"),
            (json!({ "text": "字".repeat(101) }), "text"),
            (json!({ "languages": ["en; drop table"] }), "languages"),
        ];
        for (overrides, field) in cases {
            let response = app.graphql(SEARCH, with(overrides.clone())).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{overrides}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], json!(field), "{overrides}");
            assert!(response["data"].is_null(), "{overrides}");
            let message = response["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(message.contains(field.split('.').next_back().unwrap_or(field)), "{message}");
        }
        // The edges of the ranges are accepted.
        for overrides in [
            json!({ "near": { "lat": 90, "lon": 180 } }),
            json!({ "radius": 50_000, "first": 50 }),
            json!({ "first": 0 }),
        ] {
            let response = app.graphql(SEARCH, with(overrides.clone())).await;
            assert!(response.get("errors").is_none(), "{overrides}: {response}");
        }
    })
    .await;
}

#[tokio::test]
async fn malformed_requests_get_coded_errors_not_server_errors() {
    on_every_database(|app| async move {
        let post = |body: &'static str| {
            let app = app.clone();
            async move {
                let response = app
                    .http()
                    .post(app.url("/graphql"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("request reaches the server");
                let status = response.status();
                let body: Value = response.json().await.unwrap_or_default();
                (status, body)
            }
        };
        for body in [
            "not json",
            "",
            r#"{"query": 5}"#,
            r#"[{"query":"{ categories { code } }"},{"query":"{ categories { code } }"}]"#,
            r#"{"query":"{ nearbyServices(near: {lat: \"north\", lon: 1}, radiusMeters: 5) { edges { cursor } } }"}"#,
            r#"{"query":"{ noSuchField }"}"#,
            r#"{"query":"{ categories { code "}"#,
            r#"{"query":"query($p: GeoPointInput!) { urbanVillageAt(point: $p) { id } }","variables":{"p":{"lat":1}}}"#,
            r#"{"query":"{ nearbyServices(near: {lat: 1, lon: 1, datum: MARS}, radiusMeters: 5) { edges { cursor } } }"}"#,
        ] {
            let (status, response) = post(body).await;
            assert!(!status.is_server_error(), "{body}: {status}");
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{body}: {response}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_over_deep_or_oversized_request_is_refused() {
    on_every_database(|app| async move {
        let deep = format!("{{ categories {{ {} code {} }} }}", "children { ".repeat(20), "}".repeat(20));
        let response = app.graphql(&deep, json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
        let huge = format!("{{ categories {{ code }} }} #{}", "x".repeat(100 * 1024));
        let response = app.http().post(app.url("/graphql")).json(&json!({ "query": huge })).send().await.expect("sent");
        assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
    })
    .await;
}
