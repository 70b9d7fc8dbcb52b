//! Values are parsed once, by the domain's value types, whichever way they come in: a value no
//! listing may hold is refused with BAD_USER_INPUT and the argument at fault, and nothing is
//! written.

use qiao_schema::entity::organization;
use qiao_tests::{TestApp, error_code, on_every_database};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const CREATE: &str = r#"mutation($website: String, $email: String) {
  createOrganization(
    input: { name: { zh: "测试机构", en: "Test organisation" }, description: { zh: "测试", en: "Test" },
             website: $website, email: $email },
    location: { name: { zh: "测试点", en: "Test point" }, point: { lat: 31.1052, lon: 121.3548 },
                street: { zh: "文化路1号", en: "1 Culture Road" }, district: { zh: "闵行区", en: "Minhang" },
                city: { zh: "上海市", en: "Shanghai" }, adcode: "310112" }) { id } }"#;

const UPDATE: &str = r#"mutation($id: ID!, $website: String, $email: String) {
  updateOrganization(id: $id, input: { website: $website, email: $email }) { id } }"#;

const SCRIPTS: [&str; 4] = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "example.org",
];

async fn organizations(app: &TestApp) -> Vec<organization::Model> {
    let db = app.database().await;
    let rows = organization::Entity::find().all(&db).await.expect("organisations");
    db.close().await.ok();
    rows
}

fn assert_refused(response: &Value, field: &str, what: &str) {
    assert_eq!(error_code(response), Some("BAD_USER_INPUT"), "{what}: {response}");
    assert_eq!(response["errors"][0]["extensions"]["field"], field, "{what}: {response}");
    assert!(response["data"].is_null(), "{what}: {response}");
}

#[tokio::test]
async fn a_website_that_is_not_http_or_https_is_refused_on_create_and_update() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let before = organizations(&app).await;
        for website in SCRIPTS {
            let response = app.graphql_as(&committee, CREATE, json!({ "website": website })).await;
            assert_refused(&response, "input.website", website);
        }
        assert_eq!(organizations(&app).await, before, "a refused createOrganization wrote something");

        let created = app
            .data_as(
                &committee,
                CREATE,
                json!({ "website": " https://example.org/help ", "email": "help@example.org" }),
            )
            .await;
        let id = created["createOrganization"]["id"].as_str().unwrap_or_default().to_owned();
        let stored = |rows: Vec<organization::Model>| rows.into_iter().find(|o| o.id == id);
        let row = stored(organizations(&app).await).expect("the new organisation");
        assert_eq!(row.website.as_deref(), Some("https://example.org/help"), "kept trimmed");

        for website in SCRIPTS {
            let response = app.graphql_as(&committee, UPDATE, json!({ "id": id, "website": website })).await;
            assert_refused(&response, "input.website", website);
        }
        let after = stored(organizations(&app).await).expect("the organisation");
        assert_eq!(after.website, row.website, "a refused updateOrganization changed the website");

        // An empty string still clears it.
        app.data_as(&committee, UPDATE, json!({ "id": id, "website": "" })).await;
        assert_eq!(stored(organizations(&app).await).and_then(|o| o.website), None);
    })
    .await;
}

#[tokio::test]
async fn an_email_that_is_not_an_address_is_refused() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        for email in ["help", "help@", "javascript:alert(1)@x", "a b@example.org"] {
            let response = app.graphql_as(&committee, CREATE, json!({ "email": email })).await;
            assert_refused(&response, "input.email", email);
        }
    })
    .await;
}
