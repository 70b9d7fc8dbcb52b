//! The HTTP surface: health, GraphiQL, compression.

use qiao_tests::on_every_database;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_ok_once_serving() {
    on_every_database(|app| async move {
        let response = app.http().get(app.url("/healthz")).send().await.expect("healthz answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(body["status"], "ok");
    })
    .await;
}

#[tokio::test]
async fn graphiql_is_served_on_get() {
    on_every_database(|app| async move {
        let response = app.http().get(app.url("/graphql")).send().await.expect("GraphiQL answers");
        assert_eq!(response.status(), reqwest::StatusCode::OK);
        assert!(response.text().await.unwrap_or_default().contains("GraphiQL"));
    })
    .await;
}

#[tokio::test]
async fn responses_are_gzipped_for_clients_that_accept_it() {
    on_every_database(|app| async move {
        let body =
            json!({ "query": "{ categories { code name description icon children { code name description icon } } }" });
        let plain = app.http().post(app.url("/graphql")).json(&body).send().await.expect("plain request");
        let plain_length = plain.bytes().await.map(|b| b.len()).unwrap_or(0);
        let gzipped = app
            .http()
            .post(app.url("/graphql"))
            .header("accept-encoding", "gzip")
            .json(&body)
            .send()
            .await
            .expect("gzip request");
        assert_eq!(gzipped.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
        let gzipped_length = gzipped.bytes().await.map(|b| b.len()).unwrap_or(usize::MAX);
        assert!(gzipped_length * 2 < plain_length, "gzip {gzipped_length} bytes vs plain {plain_length}");
    })
    .await;
}

/// The published operations' SHA-256, as the app computes it from the same files.
fn published(name: &str) -> (String, String) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/operations").join(name);
    let text = std::fs::read_to_string(path).expect("a published operation");
    let hash = qiao_server::trusted_documents::sha256_hex(&text);
    (text, hash)
}

async fn post(app: &qiao_tests::TestApp, body: serde_json::Value) -> serde_json::Value {
    let response = app.http().post(app.url("/graphql")).json(&body).send().await.expect("the server answers");
    assert!(!response.status().is_server_error());
    response.json().await.expect("JSON")
}

/// A phone may send a published operation's hash instead of its text (persisted queries).
#[tokio::test]
async fn a_published_operation_is_answered_by_its_hash() {
    on_every_database(|app| async move {
        let (_, hash) = published("Categories.graphql");
        let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let answer = post(&app, json!({ "extensions": persisted })).await;
        assert!(answer["data"]["categories"].as_array().is_some_and(|c| !c.is_empty()), "{answer}");

        let unknown = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
        let answer = post(&app, json!({ "extensions": unknown })).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{answer}");
        assert_eq!(answer["errors"][0]["extensions"]["reason"], "PERSISTED_QUERY_NOT_FOUND", "{answer}");

        let mismatched = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        let answer = post(&app, json!({ "query": "{ __typename }", "extensions": mismatched })).await;
        assert_eq!(answer["errors"][0]["extensions"]["reason"], "PERSISTED_QUERY_HASH_MISMATCH", "{answer}");
    })
    .await;
}

/// With trusted documents on, only the published operations run (by text or hash); any other
/// document, introspection included, is refused before it is parsed.
#[tokio::test]
async fn trusted_documents_only_runs_the_published_operations() {
    for backend in qiao_tests::backends() {
        let app = qiao_tests::TestApp::spawn_configured(backend, true, &[("QIAO_TRUSTED_DOCUMENTS", "true")]).await;
        let (text, hash) = published("Categories.graphql");
        let by_text = post(&app, json!({ "query": text })).await;
        assert!(by_text["data"]["categories"].is_array(), "{by_text}");
        let by_hash =
            post(&app, json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } })).await;
        assert_eq!(by_hash["data"], by_text["data"]);
        for document in
            ["{ __typename }", "{ __schema { types { name } } }", "query Categories { categories { code } }"]
        {
            let refused = post(&app, json!({ "query": document })).await;
            assert_eq!(refused["errors"][0]["extensions"]["reason"], "UNTRUSTED_DOCUMENT", "{document}: {refused}");
            assert!(refused["data"].is_null());
        }
        app.finish().await;
    }
}
