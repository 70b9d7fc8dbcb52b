//! What one request may cost: query shape and cost, answer size, media types, body sizes by role,
//! and what production hides (introspection, suggestions, GraphiQL).

use std::time::{Duration, Instant};

use qiao_tests::{TestApp, backends, error_code, on_every_database};
use serde_json::{Value, json};

const INTROSPECTION_QUERY: &str = include_str!("fixtures/introspection-query.graphql");
const NEARBY_SERVICES: &str = include_str!("../../mobile-client-spec/operations/NearbyServices.graphql");

/// Posts `query` anonymously and returns the answer and how long it took.
async fn timed(app: &TestApp, query: &str) -> (Value, Duration) {
    let started = Instant::now();
    let response = app.graphql(query, json!({})).await;
    (response, started.elapsed())
}

#[tokio::test]
async fn aliased_searches_spread_with_thousands_of_typenames_are_refused_quickly() {
    on_every_database(|app| async move {
        let typenames: String = (0..3_000).map(|i| format!("t{i}: __typename ")).collect();
        let searches: String = (0..20)
            .map(|i| {
                format!(
                    "s{i}: nearbyServices(near: {{lat: 31.105, lon: 121.355}}, radiusMeters: 50000, first: 50) \
                     {{ edges {{ node {{ ...Many }} }} }} "
                )
            })
            .collect();
        let query = format!("query {{ {searches} }} fragment Many on Service {{ {typenames} }}");
        let (response, took) = timed(&app, &query).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert!(response["data"].is_null(), "nothing is resolved: {response}");
        assert!(took < Duration::from_secs(1), "refused in {took:?}");
    })
    .await;
}

#[tokio::test]
async fn a_thousand_aliased_service_lookups_are_refused() {
    on_every_database(|app| async move {
        let lookups: String = (0..1_000).map(|i| format!("s{i}: service(id: \"x{i}\") {{ id name }} ")).collect();
        let (response, took) = timed(&app, &format!("{{ {lookups} }}")).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert!(response["data"].is_null(), "{response}");
        assert!(took < Duration::from_secs(1), "refused in {took:?}");
    })
    .await;
}

#[tokio::test]
async fn a_few_aliases_pass_but_a_page_size_times_a_costly_item_counts_against_the_limit() {
    on_every_database(|app| async move {
        let two = "{ a: categories { code } b: categories { code } }";
        let response = app.graphql(two, json!({})).await;
        assert!(response.get("errors").is_none(), "{response}");
        // One full page of the search screen costs about 1,200; twenty of them in one request, 24,000.
        let item = "edges { distanceMeters node { id name category status openNow isFree location { lat lon } } } \
                    pageInfo { hasNextPage endCursor } areaServices { id name category openNow } nearestBeyondRadiusMeters";
        let searches: String = (0..20)
            .map(|i| {
                format!("s{i}: nearbyServices(near: {{lat: 31.105, lon: 121.355}}, radiusMeters: 50000, first: 50) {{ {item} }} ")
            })
            .collect();
        let response = app.graphql(&format!("{{ {searches} }}"), json!({})).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert!(response["errors"][0]["message"].as_str().unwrap_or_default().contains("complex"), "{response}");
    })
    .await;
}

#[tokio::test]
async fn an_ordinary_nearby_search_still_passes() {
    on_every_database(|app| async move {
        let variables = json!({
            "near": { "lat": 31.105, "lon": 121.355 }, "radiusMeters": 3000, "first": 50,
        });
        let response = app.graphql(NEARBY_SERVICES, variables).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        assert!(!response["data"]["nearbyServices"]["edges"].as_array().is_none_or(Vec::is_empty), "{response}");
    })
    .await;
}

#[tokio::test]
async fn the_standard_introspection_query_works_in_development() {
    on_every_database(|app| async move {
        let response = app.graphql(INTROSPECTION_QUERY, json!({})).await;
        assert!(response.get("errors").is_none(), "{response:#}");
        let types = response["data"]["__schema"]["types"].as_array().map_or(0, Vec::len);
        assert!(types > 20, "the schema's types are listed: {types}");
        // Data keeps its depth limit.
        let deep = format!("{{ categories {{ {} code {} }} }}", "children { ".repeat(14), "}".repeat(14));
        assert_eq!(error_code(&app.graphql(&deep, json!({})).await), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn production_hides_the_schema_suggestions_and_graphiql() {
    for backend in backends() {
        let app = TestApp::spawn_production(backend).await;
        let response = app.graphql(INTROSPECTION_QUERY, json!({})).await;
        assert!(response["data"]["__schema"].is_null(), "{response}");
        let typo = app.graphql("{ categorys { code } }", json!({})).await;
        assert!(!typo.to_string().contains("Did you mean"), "no suggestions: {typo}");
        let page = app.http().get(app.url("/graphql")).send().await.expect("GET answers");
        assert_eq!(page.status(), reqwest::StatusCode::NOT_FOUND);
        let search = app.graphql("{ categories { code } }", json!({})).await;
        assert!(search.get("errors").is_none(), "data still works: {search}");
        app.finish().await;
    }
}

#[tokio::test]
async fn only_json_bodies_are_executed_so_a_web_page_cannot_forge_a_request() {
    on_every_database(|app| async move {
        let body = r#"{"query":"{ categories { code } }"}"#;
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut request = app.http().post(app.url("/graphql")).body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.expect("sent");
            assert_eq!(response.status(), reqwest::StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}");
            let answer: Value = response.json().await.unwrap_or_default();
            assert_eq!(error_code(&answer), Some("BAD_USER_INPUT"), "{content_type:?}: {answer}");
        }
        let json = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(json.status(), reqwest::StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn a_client_that_accepts_graphql_response_json_gets_that_media_type() {
    on_every_database(|app| async move {
        let body = json!({ "query": "{ categories { code } }" });
        let send = |accept: &'static str| {
            let app = app.clone();
            let body = body.clone();
            async move {
                let response = app
                    .http()
                    .post(app.url("/graphql"))
                    .header("accept", accept)
                    .json(&body)
                    .send()
                    .await
                    .expect("sent");
                response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
            }
        };
        assert_eq!(
            send("application/graphql-response+json, application/json;q=0.9").await,
            "application/graphql-response+json"
        );
        assert_eq!(send("application/json").await, "application/json");
    })
    .await;
}

#[tokio::test]
async fn mutations_are_never_run_over_get() {
    on_every_database(|app| async move {
        let response = app
            .http()
            .get(app.url("/graphql?query=mutation%20%7B%20logout(refreshToken%3A%20%22x%22)%20%7D"))
            .send()
            .await
            .expect("sent");
        // GET only serves GraphiQL: nothing in the query string is executed.
        assert!(response.text().await.unwrap_or_default().contains("GraphiQL"));
    })
    .await;
}

#[tokio::test]
async fn only_the_roles_that_import_may_send_large_bodies() {
    on_every_database(|app| async move {
        let padding = "x".repeat(100 * 1024);
        let body = json!({ "query": format!("{{ categories {{ code }} }} #{padding}") });
        for (username, allowed) in [("migrant.demo", false), ("admin", true), ("committee.tvillage", true)] {
            let token = app.token_of(username).await;
            let response =
                app.http().post(app.url("/graphql")).bearer_auth(&token).json(&body).send().await.expect("sent");
            let expected = if allowed { reqwest::StatusCode::OK } else { reqwest::StatusCode::PAYLOAD_TOO_LARGE };
            assert_eq!(response.status(), expected, "{username}");
        }
    })
    .await;
}

/// The classic abusive shapes, each refused with `BAD_USER_INPUT` (or HTTP 413/400 before the
/// GraphQL engine) without resolving anything. `scripts/abuse.py` sends the same shapes to a
/// running server and times them; this test keeps them refused in CI.
#[tokio::test]
async fn the_classic_abusive_shapes_are_refused_before_anything_runs() {
    on_every_database(|app| async move {
        let nest = |depth: usize| {
            let open: String = (0..depth).map(|_| "categories { children { ").collect();
            let close: String = (0..depth).map(|_| "} } ").collect();
            format!("{{ {open} code {close}}}")
        };
        let directives: String = (0..2_000).map(|_| "@include(if: true) ").collect();
        let shapes = [
            ("deep nesting", nest(40)),
            ("circular fragments", "query { categories { ...A } } fragment A on Category { children { ...B } } fragment B on Category { children { ...A } }".to_owned()),
            ("directive overload", format!("{{ categories {directives} {{ code }} }}")),
            ("alias x first fan-out", {
                let pages: String = (0..25)
                    .map(|i| format!("p{i}: nearbyServices(near: {{lat: 31.1, lon: 121.3}}, radiusMeters: 50000, first: 50) {{ edges {{ node {{ id name description }} }} }} "))
                    .collect();
                format!("{{ {pages} }}")
            }),
        ];
        for (name, query) in shapes {
            let (response, took) = timed(&app, &query).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{name}: {response}");
            assert!(response["data"].is_null(), "{name}: nothing is resolved: {response}");
            assert!(took < Duration::from_secs(2), "{name}: refused in {took:?}");
        }

        // A huge string argument: bounded by the body limit and by the argument's own limit.
        let huge = "字".repeat(30_000);
        let response = app
            .http()
            .post(app.url("/graphql"))
            .json(&json!({ "query": "query($t: String) { nearbyServices(near: {lat: 31.1, lon: 121.3}, radiusMeters: 1000, text: $t) { edges { node { id } } } }", "variables": { "t": huge } }))
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
        let long = "字".repeat(15_000);
        let search = "query($t: String) { nearbyServices(near: {lat: 31.1, lon: 121.3}, radiusMeters: 1000, text: $t) { edges { node { id } } } }";
        let response = app.graphql(search, json!({ "t": long })).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");

        // A 1 MB body and a batch of 100 never reach the engine.
        let padding = " ".repeat(1024 * 1024);
        let big = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(format!("{{\"query\": \"{{ __typename }}\"{padding}}}"))
            .send()
            .await
            .expect("answers");
        assert_eq!(big.status(), reqwest::StatusCode::PAYLOAD_TOO_LARGE);
        let batch: Vec<Value> = (0..100).map(|_| json!({ "query": "{ __typename }" })).collect();
        let batched = app.http().post(app.url("/graphql")).json(&batch).send().await.expect("answers");
        assert_eq!(batched.status(), reqwest::StatusCode::BAD_REQUEST);
        let body: Value = batched.json().await.unwrap_or_default();
        assert_eq!(error_code(&body), Some("BAD_USER_INPUT"), "{body}");
    })
    .await;
}

#[tokio::test]
async fn a_document_validated_before_is_still_held_to_every_limit_and_type_on_every_sending() {
    on_every_database(|app| async move {
        // Twenty searches of a page size the caller picks: a page of 1 passes and is kept, a page
        // of 50 costs over the complexity limit, on the first sending and every one after.
        let item = "edges { distanceMeters node { id name category status openNow isFree location { lat lon } } } \
                    pageInfo { hasNextPage endCursor } areaServices { id name category openNow } nearestBeyondRadiusMeters";
        let searches: String = (0..20)
            .map(|i| format!("s{i}: nearbyServices(near: $near, radiusMeters: 50000, first: $first) {{ {item} }} "))
            .collect();
        let query = format!("query Pages($near: GeoPointInput!, $first: Int) {{ {searches} }}");
        let page = |first: i64| json!({"near": {"lat": 31.105, "lon": 121.355}, "first": first});
        for _ in 0..2 {
            let small = app.graphql(&query, page(1)).await;
            assert!(small.get("errors").is_none(), "{small}");
        }
        for _ in 0..3 {
            let large = app.graphql(&query, page(50)).await;
            assert_eq!(error_code(&large), Some("BAD_USER_INPUT"), "{large}");
            assert!(large["errors"][0]["message"].as_str().unwrap_or_default().contains("complex"), "{large}");
        }
        // Variables that do not fit are refused as the first time, after the same text passed.
        let wrong = json!({"near": {"lat": "north", "lon": 121.355}, "radiusMeters": 3000});
        let answers = [
            app.graphql(NEARBY_SERVICES, wrong.clone()).await,
            app.graphql(NEARBY_SERVICES, json!({"near": {"lat": 31.105, "lon": 121.355}, "radiusMeters": 3000})).await,
            app.graphql(NEARBY_SERVICES, wrong).await,
        ];
        assert_eq!(error_code(&answers[0]), Some("BAD_USER_INPUT"), "{}", answers[0]);
        assert!(answers[1].get("errors").is_none(), "{}", answers[1]);
        assert_eq!(answers[2], answers[0]);
        let deep = format!("{{ categories {{ {} code {} }} }}", "children { ".repeat(14), "}".repeat(14));
        for _ in 0..3 {
            assert_eq!(error_code(&app.graphql(&deep, json!({})).await), Some("BAD_USER_INPUT"));
        }
    })
    .await;
}
