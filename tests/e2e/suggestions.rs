//! Public edit suggestions: anyone suggests, the committee of the listing's area decides, and an
//! accepted suggestion changes the listing with history.
//!
//! The suggestion limiter allows 10 suggestions a minute per address, and every test server has
//! its own, so each test below makes at most 10 (except the one about the limit).

use qiao_seed::rows::derived_id;
use qiao_tests::{T_VILLAGE, TestApp, error_code, on_every_database};
use serde_json::{Value, json};

const SUGGEST: &str =
    "mutation($service: ID!, $kind: SuggestionKind!, $value: String, $comment: String, $key: String) {
  suggestEdit(serviceId: $service, kind: $kind, proposedValue: $value, comment: $comment, idempotencyKey: $key) {
    id serviceId serviceName kind proposedValue comment status createdAt decidedAt decisionReason } }";
const QUEUE: &str = "query($status: SuggestionStatus) {
  editSuggestions(status: $status, first: 50) { nodes { id serviceId kind status decisionReason } } }";
const ACCEPT: &str = "mutation($id: ID!) { acceptEditSuggestion(id: $id) { id kind status decidedAt } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { rejectEditSuggestion(id: $id, reason: $reason) { id status decidedAt decisionReason } }";
const HISTORY: &str = "query($id: ID!) {
  listingHistory(id: $id, first: 50) { nodes { field previousValue newValue action changedBy } } }";
const COMMITTEE: &str = "T村居委会 / T village committee";

fn library() -> String {
    derived_id("service", "sh-tvillage-community-library")
}

/// A suggestion's variables: the library, with `overrides`.
fn about_library(overrides: Value) -> Value {
    let mut variables = json!({ "service": library() });
    if let (Some(target), Some(extra)) = (variables.as_object_mut(), overrides.as_object()) {
        target.extend(extra.clone());
    }
    variables
}

/// Suggests anonymously; the new suggestion's id.
async fn suggest(app: &TestApp, variables: Value) -> String {
    let data = app.data(SUGGEST, variables).await;
    assert_eq!(data["suggestEdit"]["status"], "PENDING");
    data["suggestEdit"]["id"].as_str().expect("a suggestion id").to_owned()
}

/// The ids in a queue response.
fn ids(response: &Value) -> Vec<String> {
    let nodes = response["data"]["editSuggestions"]["nodes"].as_array();
    assert!(nodes.is_some(), "no queue in {response}");
    nodes.into_iter().flatten().filter_map(|n| n["id"].as_str().map(str::to_owned)).collect()
}

/// Signs in as a committee member for X village (created through the admin API), which does
/// not cover T village.
async fn x_village_committee(app: &TestApp) -> String {
    let admin = app.token_of("admin").await;
    let area = app
        .graphql_as(
            &admin,
            "mutation($villages: [ID!]!) { createArea(input: { nameZh: \"X村\", nameEn: \"X village\", villageIds: $villages }) { id } }",
            json!({ "villages": [derived_id("urban_village", "sh-x-village")] }),
        )
        .await;
    let area_id = area["data"]["createArea"]["id"].clone();
    assert!(area_id.is_string(), "{area}");
    let account = app
        .graphql_as(
            &admin,
            "mutation($areas: [ID!]!) { createAccount(input: { username: \"committee.xvillage\", displayName: \"X村居委会\",
               password: \"x-village-pass\", role: COMMITTEE_STAFF, areaIds: $areas }) { id } }",
            json!({ "areas": [area_id] }),
        )
        .await;
    assert!(account["data"]["createAccount"]["id"].is_string(), "{account}");
    app.login("committee.xvillage", "x-village-pass").await.0
}

async fn service_status_nearby(app: &TestApp, id: &str) -> Value {
    let data = app
        .data(
            "query($near: GeoPointInput!) { nearbyServices(near: $near, radiusMeters: 3000, first: 50) {
               edges { node { id status } } } }",
            json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } }),
        )
        .await;
    let edges = data["nearbyServices"]["edges"].as_array().cloned().unwrap_or_default();
    edges.into_iter().find(|e| e["node"]["id"] == id).map(|e| e["node"]["status"].clone()).unwrap_or(Value::Null)
}

#[tokio::test]
async fn an_anonymous_suggestion_reaches_the_committee_of_its_area_and_no_other() {
    on_every_database(|app| async move {
        let response = app.graphql(SUGGEST, about_library(json!({ "kind": "OTHER", "comment": "周一也开门了" }))).await;
        let suggestion = &response["data"]["suggestEdit"];
        assert_eq!(suggestion["serviceId"], json!(library()), "{response}");
        assert_eq!(suggestion["serviceName"], "T村社区图书室");
        assert_eq!(suggestion["kind"], "OTHER");
        assert_eq!(suggestion["comment"], "周一也开门了");
        assert!(suggestion["decidedAt"].is_null());
        let id = suggestion["id"].as_str().expect("id").to_owned();

        let committee = app.token_of("committee.tvillage").await;
        assert_eq!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await), vec![id.clone()]);
        let admin = app.token_of("admin").await;
        assert_eq!(ids(&app.graphql_as(&admin, QUEUE, json!({ "status": "PENDING" })).await), vec![id.clone()]);

        // Another committee neither sees nor decides it, and trying changes nothing.
        let other = x_village_committee(&app).await;
        assert!(ids(&app.graphql_as(&other, QUEUE, json!({})).await).is_empty());
        let accepted = app.graphql_as(&other, ACCEPT, json!({ "id": id })).await;
        assert_eq!(error_code(&accepted), Some("NOT_FOUND"), "{accepted}");
        let rejected = app.graphql_as(&other, REJECT, json!({ "id": id, "reason": "不是我们的" })).await;
        assert_eq!(error_code(&rejected), Some("NOT_FOUND"), "{rejected}");
        assert_eq!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await), vec![id.clone()]);

        // Nothing about the person who suggested is stored: no account, no address.
        let db = sea_orm::Database::connect(&app.database_url).await.expect("connect to the test database");
        let rows = <qiao_schema::entity::edit_suggestion::Entity as sea_orm::EntityTrait>::find()
            .all(&db)
            .await
            .expect("suggestions");
        let stored = serde_json::to_string(&rows).expect("rows serialise");
        assert!(!stored.contains("127.0.0.1"), "{stored}");
        assert!(rows.iter().all(|r| r.decided_by.is_none()));
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn accepting_a_closed_suggestion_closes_the_service_temporarily_with_history() {
    on_every_database(|app| async move {
        let id = suggest(&app, about_library(json!({ "kind": "CLOSED", "comment": "图书室在装修，关门一个月" }))).await;
        assert_eq!(service_status_nearby(&app, &library()).await, "ACTIVE");

        let committee = app.token_of("committee.tvillage").await;
        let response = app.graphql_as(&committee, ACCEPT, json!({ "id": id })).await;
        let accepted = &response["data"]["acceptEditSuggestion"];
        assert_eq!(accepted["status"], "ACCEPTED", "{response}");
        assert!(accepted["decidedAt"].is_string());

        assert_eq!(service_status_nearby(&app, &library()).await, "TEMPORARILY_CLOSED");
        let detail =
            app.data("query($id: ID!) { service(id: $id) { status alert } }", json!({ "id": library() })).await;
        assert_eq!(detail["service"]["alert"], "图书室在装修，关门一个月");
        let history = app.graphql_as(&committee, HISTORY, json!({ "id": library() })).await;
        let nodes = history["data"]["listingHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        let status = nodes.iter().find(|n| n["field"] == "status").unwrap_or_else(|| panic!("{history}"));
        assert_eq!(status["previousValue"], "active");
        assert_eq!(status["newValue"], "temporarily_closed");
        assert_eq!(status["changedBy"], COMMITTEE);

        // Decided once: deciding again, either way, is a conflict.
        let again = app.graphql_as(&committee, ACCEPT, json!({ "id": id })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
        let reject = app.graphql_as(&committee, REJECT, json!({ "id": id, "reason": "重复" })).await;
        assert_eq!(error_code(&reject), Some("CONFLICT"), "{reject}");
        assert!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await).is_empty());
        assert_eq!(ids(&app.graphql_as(&committee, QUEUE, json!({ "status": "ACCEPTED" })).await), vec![id]);
    })
    .await;
}

#[tokio::test]
async fn accepting_a_wrong_phone_suggestion_replaces_the_first_number_with_history() {
    on_every_database(|app| async move {
        let id = suggest(&app, about_library(json!({ "kind": "WRONG_PHONE", "value": "(021) 5486 1899" }))).await;
        let committee = app.token_of("committee.tvillage").await;
        let queue = app.graphql_as(&committee, QUEUE, json!({})).await;
        assert_eq!(ids(&queue), vec![id.clone()]);
        let response = app.graphql_as(&committee, ACCEPT, json!({ "id": id })).await;
        assert_eq!(response["data"]["acceptEditSuggestion"]["status"], "ACCEPTED", "{response}");

        let detail =
            app.data("query($id: ID!) { service(id: $id) { phones { number } } }", json!({ "id": library() })).await;
        assert_eq!(detail["service"]["phones"][0]["number"], "021-54861899");
        let history = app.graphql_as(&committee, HISTORY, json!({ "id": library() })).await;
        let nodes = history["data"]["listingHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        let phones = nodes.iter().find(|n| n["field"] == "phones").unwrap_or_else(|| panic!("{history}"));
        assert_eq!(phones["previousValue"], r#"["021-54861801"]"#);
        assert_eq!(phones["newValue"], r#"["021-54861899"]"#);
        assert_eq!(phones["changedBy"], COMMITTEE);
    })
    .await;
}

#[tokio::test]
async fn accepting_a_moved_suggestion_changes_the_street_of_the_first_location() {
    on_every_database(|app| async move {
        let street = "T村文化路8号二楼";
        let id = suggest(&app, about_library(json!({ "kind": "MOVED", "value": street }))).await;
        let admin = app.token_of("admin").await;
        let response = app.graphql_as(&admin, ACCEPT, json!({ "id": id })).await;
        assert_eq!(response["data"]["acceptEditSuggestion"]["status"], "ACCEPTED", "{response}");

        let detail = app
            .data(
                "query($id: ID!) { service(id: $id) { locations { location { id address { street } } } } }",
                json!({ "id": library() }),
            )
            .await;
        let location = &detail["service"]["locations"][0]["location"];
        assert_eq!(location["address"]["street"], street);
        let location_id = location["id"].as_str().expect("location id");
        let history = app.graphql_as(&admin, HISTORY, json!({ "id": location_id })).await;
        let nodes = history["data"]["listingHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        assert!(nodes.iter().any(|n| n["field"] == "address.address_1_zh" && n["newValue"] == street), "{history}");
    })
    .await;
}

#[tokio::test]
async fn rejecting_needs_a_reason_and_leaves_the_listing_as_it_was() {
    on_every_database(|app| async move {
        let id = suggest(&app, about_library(json!({ "kind": "CLOSED" }))).await;
        let committee = app.token_of("committee.tvillage").await;
        for reason in ["", "   ", &"理".repeat(501)] {
            let response = app.graphql_as(&committee, REJECT, json!({ "id": id, "reason": reason })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "reason");
        }
        let missing = app
            .graphql_as(&committee, "mutation($id: ID!) { rejectEditSuggestion(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(error_code(&missing), Some("BAD_USER_INPUT"), "{missing}");

        let response = app.graphql_as(&committee, REJECT, json!({ "id": id, "reason": "昨天去看过，还开着" })).await;
        let rejected = &response["data"]["rejectEditSuggestion"];
        assert_eq!(rejected["status"], "REJECTED", "{response}");
        assert_eq!(rejected["decisionReason"], "昨天去看过，还开着");
        assert!(rejected["decidedAt"].is_string());
        assert_eq!(service_status_nearby(&app, &library()).await, "ACTIVE");
        let queue = app.graphql_as(&committee, QUEUE, json!({ "status": "REJECTED" })).await;
        assert_eq!(queue["data"]["editSuggestions"]["nodes"][0]["decisionReason"], "昨天去看过，还开着");
        let again = app.graphql_as(&committee, ACCEPT, json!({ "id": id })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn only_committee_staff_and_admins_review_suggestions() {
    on_every_database(|app| async move {
        let id = suggest(&app, about_library(json!({ "kind": "CLOSED" }))).await;
        for username in ["provider.legalaid", "migrant.demo", "worker.tvillage"] {
            let token = app.token_of(username).await;
            let queue = app.graphql_as(&token, QUEUE, json!({})).await;
            assert_eq!(error_code(&queue), Some("FORBIDDEN"), "{username}: {queue}");
            let accept = app.graphql_as(&token, ACCEPT, json!({ "id": id })).await;
            assert_eq!(error_code(&accept), Some("FORBIDDEN"), "{username}: {accept}");
            let reject = app.graphql_as(&token, REJECT, json!({ "id": id, "reason": "不对" })).await;
            assert_eq!(error_code(&reject), Some("FORBIDDEN"), "{username}: {reject}");
        }
        assert_eq!(error_code(&app.graphql(QUEUE, json!({})).await), Some("UNAUTHENTICATED"));
        assert_eq!(error_code(&app.graphql(ACCEPT, json!({ "id": id })).await), Some("UNAUTHENTICATED"));
        assert_eq!(service_status_nearby(&app, &library()).await, "ACTIVE");

        // A signed-in resident may suggest too.
        let migrant = app.token_of("migrant.demo").await;
        let response =
            app.graphql_as(&migrant, SUGGEST, about_library(json!({ "kind": "OTHER", "comment": "书很多" }))).await;
        assert_eq!(response["data"]["suggestEdit"]["status"], "PENDING", "{response}");
    })
    .await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_suggestion() {
    on_every_database(|app| async move {
        let key = "6f1c2a3e-0b7d-4c59-9a0e-2f5b8e7d1c44";
        let first = suggest(&app, about_library(json!({ "kind": "CLOSED", "key": key }))).await;
        let retry = suggest(&app, about_library(json!({ "kind": "CLOSED", "key": key }))).await;
        assert_eq!(first, retry);
        let other = suggest(&app, about_library(json!({ "kind": "CLOSED", "key": "another-key" }))).await;
        assert_ne!(first, other);
        let committee = app.token_of("committee.tvillage").await;
        assert_eq!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await), vec![first.clone(), other]);

        // Still the first result after it was decided.
        app.graphql_as(&committee, REJECT, json!({ "id": first, "reason": "已核实" })).await;
        let replay = app.data(SUGGEST, about_library(json!({ "kind": "CLOSED", "key": key }))).await;
        assert_eq!(replay["suggestEdit"]["id"], json!(first));
        assert_eq!(replay["suggestEdit"]["status"], "REJECTED");
    })
    .await;
}

#[tokio::test]
async fn suggestions_from_one_address_are_rate_limited() {
    on_every_database(|app| async move {
        let mut limited_after = None;
        for attempt in 1..=30 {
            let response = app.graphql(SUGGEST, about_library(json!({ "kind": "CLOSED" }))).await;
            match error_code(&response) {
                None => continue,
                Some("RATE_LIMITED") => {
                    limited_after = Some(attempt);
                    break;
                }
                Some(other) => panic!("unexpected {other}: {response}"),
            }
        }
        assert!(limited_after.is_some_and(|n| n > 1), "never limited: {limited_after:?}");
        // The directory itself is not limited.
        assert_eq!(service_status_nearby(&app, &library()).await, "ACTIVE");
    })
    .await;
}

#[tokio::test]
async fn bad_suggestions_are_refused_with_the_field_at_fault() {
    on_every_database(|app| async move {
        let cases = [
            (json!({ "kind": "WRONG_PHONE" }), "proposedValue"),
            (json!({ "kind": "WRONG_PHONE", "value": "call the library" }), "proposedValue"),
            (json!({ "kind": "MOVED", "value": "  " }), "proposedValue"),
            (json!({ "kind": "MOVED", "value": "路".repeat(201) }), "proposedValue"),
            (json!({ "kind": "OTHER" }), "comment"),
            (json!({ "kind": "CLOSED", "comment": "关".repeat(1001) }), "comment"),
            (json!({ "kind": "CLOSED", "key": "k".repeat(65) }), "idempotencyKey"),
        ];
        for (variables, field) in cases {
            let response = app.graphql(SUGGEST, about_library(variables.clone())).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{variables}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], field, "{variables}");
        }
        for service in [derived_id("service", "no-such-service"), "not-an-id".to_owned()] {
            let response = app.graphql(SUGGEST, json!({ "service": service, "kind": "CLOSED" })).await;
            assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response}");
        }
        let committee = app.token_of("committee.tvillage").await;
        assert!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await).is_empty());
        let missing = app.graphql_as(&committee, ACCEPT, json!({ "id": derived_id("suggestion", "none") })).await;
        assert_eq!(error_code(&missing), Some("NOT_FOUND"), "{missing}");
    })
    .await;
}

#[tokio::test]
async fn an_archived_service_takes_no_suggestions() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let archived = app
            .graphql_as(&committee, "mutation($id: ID!) { archiveService(id: $id) { id } }", json!({ "id": library() }))
            .await;
        assert!(archived.get("errors").is_none(), "{archived}");
        let response = app.graphql(SUGGEST, about_library(json!({ "kind": "CLOSED" }))).await;
        assert_eq!(error_code(&response), Some("NOT_FOUND"), "{response}");
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_belongs_to_its_sender_and_never_returns_someone_elses_suggestion() {
    on_every_database(|app| async move {
        let key = "5d0c9b8a-7e6f-4a5b-8c9d-0e1f2a3b4c5d";
        let migrant = app.token_of("migrant.demo").await;
        let worker = app.token_of("worker.tvillage").await;
        let closed = about_library(json!({ "kind": "CLOSED", "comment": "门关了", "key": key }));
        let other = about_library(json!({ "kind": "OTHER", "comment": "开放时间不对", "key": key }));
        let send = |token: Option<&String>, variables: &Value| {
            let (app, token, variables) = (app.clone(), token.cloned(), variables.clone());
            async move {
                match token {
                    Some(token) => app.graphql_as(&token, SUGGEST, variables).await,
                    None => app.graphql(SUGGEST, variables).await,
                }
            }
        };
        let id_of = |response: &Value| {
            response["data"]["suggestEdit"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("no suggestion: {response}"))
                .to_owned()
        };

        // Three senders, one key: three suggestions, even with the very same content.
        let by_migrant = id_of(&send(Some(&migrant), &closed).await);
        let by_anonymous = id_of(&send(None, &closed).await);
        let by_worker = id_of(&send(Some(&worker), &other).await);
        assert_ne!(by_migrant, by_anonymous, "an anonymous sender got a signed-in sender's suggestion");
        assert_ne!(by_worker, by_migrant);
        assert_ne!(by_worker, by_anonymous);

        // Each retry replays its own sender's first suggestion.
        assert_eq!(id_of(&send(Some(&migrant), &closed).await), by_migrant);
        assert_eq!(id_of(&send(None, &closed).await), by_anonymous);

        // The key with another suggestion is a conflict, signed in or not, and makes nothing.
        for token in [Some(&migrant), None] {
            let response = send(token, &other).await;
            assert_eq!(error_code(&response), Some("CONFLICT"), "{response}");
            assert!(response["data"].is_null(), "{response}");
        }
        let committee = app.token_of("committee.tvillage").await;
        assert_eq!(ids(&app.graphql_as(&committee, QUEUE, json!({})).await).len(), 3);
    })
    .await;
}

#[tokio::test]
async fn an_idempotency_key_is_forgotten_after_a_day() {
    use qiao_schema::entity::idempotency_key;
    use qiao_server::clock::Clock;
    use sea_orm::{EntityTrait, PaginatorTrait};

    on_every_database(|app| async move {
        let variables = about_library(json!({ "kind": "CLOSED", "key": "once-a-day" }));
        let first = suggest(&app, variables.clone()).await;
        app.clock.set(app.clock.now() + chrono::Duration::hours(23));
        assert_eq!(suggest(&app, variables.clone()).await, first, "a retry within the day replays");

        app.clock.set(app.clock.now() + chrono::Duration::hours(2));
        let later = suggest(&app, variables).await;
        assert_ne!(later, first, "a day later the key is gone and the suggestion is new");
        let db = app.database().await;
        let keys = idempotency_key::Entity::find().count(&db).await.expect("count the keys");
        assert_eq!(keys, 1, "the dead key was deleted when the new one was stored");
        db.close().await.ok();
    })
    .await;
}
