//! Writers that change no listing (accounts, suggestions) wait their turn: many at once all
//! succeed, on SQLite as on PostgreSQL, instead of some failing with "database is locked".

use qiao_schema::domain::SuggestionStatus;
use qiao_schema::entity::{account, edit_suggestion};
use qiao_seed::rows::derived_id;
use qiao_tests::{TestApp, error_code, on_every_database};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const CREATE_ACCOUNT: &str = "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id username } }";
const SET_DISABLED: &str = "mutation($id: ID!) { setAccountDisabled(id: $id, disabled: true) { id disabled } }";
const SUGGEST: &str = "mutation($service: ID!, $comment: String) {
  suggestEdit(serviceId: $service, kind: OTHER, comment: $comment) { id status } }";

/// Accounts created at once.
const ACCOUNTS: usize = 12;
/// Suggestions sent at once: the suggestion limiter allows 10 a minute per address, and every
/// request of a test comes from the same one.
const SUGGESTIONS: usize = 10;

#[tokio::test]
async fn many_account_creations_and_suggestions_at_once_all_succeed() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let library = derived_id("service", "sh-tvillage-community-library");
        let mut calls = Vec::new();
        for n in 0..ACCOUNTS.max(SUGGESTIONS) {
            if n < ACCOUNTS {
                let input = json!({ "username": format!("burst.{n}"), "displayName": format!("Burst {n}"),
                                    "password": "burst-password", "role": "MIGRANT" });
                calls.push((Some(admin.clone()), CREATE_ACCOUNT, json!({ "input": input })));
            }
            if n < SUGGESTIONS {
                calls.push((None, SUGGEST, json!({ "service": library, "comment": format!("Burst {n}") })));
            }
        }
        let mut created = Vec::new();
        for (call, response) in all_at_once(&app, calls).await.iter().enumerate() {
            assert_eq!(error_code(response), None, "call {call}: {response}");
            assert!(response.get("errors").is_none(), "call {call}: {response}");
            if let Some(id) = response["data"]["createAccount"]["id"].as_str() {
                created.push(id.to_owned());
            }
        }
        assert_eq!(created.len(), ACCOUNTS);

        // Writes that read before they write, in the same transaction, at once too.
        let calls = created.iter().map(|id| (Some(admin.clone()), SET_DISABLED, json!({ "id": id }))).collect();
        for (call, response) in all_at_once(&app, calls).await.iter().enumerate() {
            assert_eq!(error_code(response), None, "disable {call}: {response}");
            assert_eq!(response["data"]["setAccountDisabled"]["disabled"], true, "disable {call}: {response}");
        }

        let db = app.database().await;
        let accounts = account::Entity::find()
            .filter(account::Column::Username.starts_with("burst."))
            .count(&db)
            .await
            .expect("count the new accounts");
        assert_eq!(accounts, ACCOUNTS as u64);
        let disabled = account::Entity::find()
            .filter(account::Column::Username.starts_with("burst."))
            .filter(account::Column::Disabled.eq(true))
            .count(&db)
            .await
            .expect("count the disabled accounts");
        assert_eq!(disabled, ACCOUNTS as u64);
        let suggestions = edit_suggestion::Entity::find()
            .filter(edit_suggestion::Column::ServiceId.eq(library.as_str()))
            .filter(edit_suggestion::Column::Status.eq(SuggestionStatus::Pending))
            .filter(edit_suggestion::Column::Comment.starts_with("Burst "))
            .count(&db)
            .await
            .expect("count the new suggestions");
        assert_eq!(suggestions, SUGGESTIONS as u64);
        db.close().await.ok();
    })
    .await;
}

/// Sends every call at the same time (as its token, or anonymously) and waits for every answer,
/// in the order of the calls.
async fn all_at_once(app: &TestApp, calls: Vec<(Option<String>, &'static str, Value)>) -> Vec<Value> {
    let mut tasks = Vec::new();
    for (token, document, variables) in calls {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            match token {
                Some(token) => app.graphql_as(&token, document, variables).await,
                None => app.graphql(document, variables).await,
            }
        }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap_or_else(|e| json!({ "errors": [{ "message": e.to_string() }] })));
    }
    responses
}
