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
