//! Concurrent writes to one record, per kind of record: nothing acknowledged is lost, and a
//! decision taken twice at once is taken once (the other is a CONFLICT), on SQLite and PostgreSQL.
//! (Services: `core.rs`; many writers at once: `writers.rs`.)

use qiao_tests::{TestApp, error_code, on_every_database};
use serde_json::{Value, json};

use crate::stewardship::t_village;

/// Sends every `(document, variables)` at once as `token`; the answers in order.
async fn at_once(app: &TestApp, token: &str, calls: Vec<(String, Value)>) -> Vec<Value> {
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(document, variables)| {
            let (app, token) = (app.clone(), token.to_owned());
            tokio::spawn(async move { app.graphql_as(&token, &document, variables).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap_or_else(|e| json!({ "errors": [{ "message": e.to_string() }] })));
    }
    answers
}

fn assert_no_errors(answers: &[Value], context: &str) {
    for answer in answers {
        assert!(answer.get("errors").is_none(), "{context}: {answer}");
    }
}

#[tokio::test]
async fn concurrent_edits_of_one_organisation_and_one_place_keep_every_change() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let target = t_village();
        for round in 0..8 {
            let organization = "mutation($id: ID!, $input: OrganizationPatchInput!) { updateOrganization(id: $id, input: $input) { id } }";
            let location = "mutation($id: ID!, $input: LocationPatchInput!) { updateLocation(id: $id, input: $input) { id } }";
            let calls = vec![
                (organization.to_owned(), json!({ "id": target.organization, "input": { "name": { "zh": format!("机构{round}"), "en": format!("Org {round}") } } })),
                (organization.to_owned(), json!({ "id": target.organization, "input": { "website": format!("https://example.org/{round}") } })),
                (location.to_owned(), json!({ "id": target.location, "input": { "name": { "zh": format!("地点{round}"), "en": format!("Place {round}") } } })),
                (location.to_owned(), json!({ "id": target.location, "input": { "transportation": { "zh": format!("路线{round}"), "en": format!("Route {round}") } } })),
            ];
            assert_no_errors(&at_once(&app, &admin, calls).await, &format!("round {round}"));
            let read = app
                .data_as(
                    &admin,
                    "query($id: ID!) { service(id: $id) { organization { name website } locations { location { id name transportation } } } }",
                    json!({ "id": target.service }),
                )
                .await;
            let organization = &read["service"]["organization"];
            assert_eq!(organization["name"], format!("机构{round}"), "round {round}: {read}");
            assert_eq!(organization["website"], format!("https://example.org/{round}"), "round {round}: {read}");
            let place = read["service"]["locations"]
                .as_array()
                .and_then(|places| places.iter().find(|p| p["location"]["id"] == target.location.as_str()).cloned())
                .unwrap_or_default();
            assert_eq!(place["location"]["name"], format!("地点{round}"), "round {round}: {read}");
            assert_eq!(place["location"]["transportation"], format!("路线{round}"), "round {round}: {read}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_suggestion_accepted_and_rejected_at_once_is_decided_once() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let target = t_village();
        for round in 0..5 {
            let suggested = app
                .graphql(
                    "mutation($s: ID!, $c: String) { suggestEdit(serviceId: $s, kind: OTHER, comment: $c) { id } }",
                    json!({ "s": target.service, "c": format!("round {round}") }),
                )
                .await;
            let id = suggested["data"]["suggestEdit"]["id"].as_str().expect("a suggestion").to_owned();
            let calls = vec![
                ("mutation($id: ID!) { acceptEditSuggestion(id: $id) { id status } }".to_owned(), json!({ "id": id })),
                (
                    "mutation($id: ID!) { rejectEditSuggestion(id: $id, reason: \"duplicate 重复\") { id status } }"
                        .to_owned(),
                    json!({ "id": id }),
                ),
            ];
            let answers = at_once(&app, &committee, calls).await;
            let decided: Vec<&Value> = answers.iter().filter(|a| a.get("errors").is_none()).collect();
            assert_eq!(decided.len(), 1, "round {round}: exactly one decision: {answers:?}");
            let loser = answers.iter().find(|a| a.get("errors").is_some()).expect("one refused");
            assert_eq!(error_code(loser), Some("CONFLICT"), "round {round}: {loser}");
            let status = decided[0]["data"].as_object().and_then(|d| d.values().next()).map(|s| s["status"].clone());
            let queue = app
                .data_as(
                    &committee,
                    "{ accepted: editSuggestions(status: ACCEPTED, first: 50) { nodes { id status } }
                       rejected: editSuggestions(status: REJECTED, first: 50) { nodes { id status } } }",
                    json!({}),
                )
                .await;
            let stored: Vec<Value> = ["accepted", "rejected"]
                .iter()
                .flat_map(|list| queue[*list]["nodes"].as_array().cloned().unwrap_or_default())
                .filter(|node| node["id"] == id.as_str())
                .map(|node| node["status"].clone())
                .collect();
            let stored = match stored.as_slice() {
                [one] => Some(one.clone()),
                _ => None,
            };
            assert_eq!(stored, status, "round {round}: the stored decision is the acknowledged one");
        }
    })
    .await;
}

#[tokio::test]
async fn an_account_changed_and_disabled_at_once_keeps_both_changes() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        for round in 0..5 {
            let created = app
                .data_as(
                    &admin,
                    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }",
                    json!({ "input": { "username": format!("concurrent.{round}"), "password": "a long enough password 1", "displayName": "并发 / Concurrent", "role": "MIGRANT" } }),
                )
                .await;
            let id = created["createAccount"]["id"].as_str().expect("an account").to_owned();
            let calls = vec![
                ("mutation($id: ID!, $org: ID) { changeAccountRole(id: $id, role: SOCIAL_WORKER, organizationId: $org) { id role } }".to_owned(), json!({ "id": id, "org": t_village().organization })),
                ("mutation($id: ID!) { setAccountDisabled(id: $id, disabled: true) { id disabled } }".to_owned(), json!({ "id": id })),
            ];
            let answers = at_once(&app, &admin, calls).await;
            assert_no_errors(&answers, &format!("round {round}"));
            let accounts = app.data_as(&admin, "{ accounts(first: 50) { nodes { id role disabled } } }", json!({})).await;
            let account = accounts["accounts"]["nodes"]
                .as_array()
                .and_then(|nodes| nodes.iter().find(|n| n["id"] == id.as_str()).cloned())
                .unwrap_or_default();
            assert_eq!(account["role"], "SOCIAL_WORKER", "round {round}: {account}");
            assert_eq!(account["disabled"], true, "round {round}: {account}");
        }
    })
    .await;
}
