//! Every paged list refuses a cursor it did not write (garbage, a forged or overflowing position,
//! another list's cursor) as BAD_USER_INPUT, never as an internal error, and its own cursors
//! lead to the next page.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use qiao_seed::rows::derived_id;
use qiao_tests::{T_VILLAGE, TestApp, error_code, on_every_database};
use serde_json::{Value, json};

/// Who may read the list.
#[derive(Clone, Copy)]
enum Reader {
    Anyone,
    Admin,
    Committee,
}

/// A paged list: its name, a query taking `$first` and `$after`, the other variables it needs,
/// who may read it, and its cursor prefix (kind and version).
struct PagedList {
    name: &'static str,
    query: &'static str,
    variables: Value,
    reader: Reader,
    prefix: &'static str,
}

fn lists() -> Vec<PagedList> {
    let library = derived_id("service", "sh-tvillage-community-library");
    vec![
        PagedList {
            name: "nearbyServices",
            query: "query($first: Int, $after: String, $near: GeoPointInput!) {
                nearbyServices(near: $near, radiusMeters: 50000, first: $first, after: $after) {
                  pageInfo { hasNextPage endCursor } } }",
            variables: json!({ "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } }),
            reader: Reader::Anyone,
            prefix: "n1",
        },
        PagedList {
            name: "urbanVillages",
            query: "query($first: Int, $after: String) {
                urbanVillages(first: $first, after: $after) { pageInfo { hasNextPage endCursor } } }",
            variables: json!({}),
            reader: Reader::Anyone,
            prefix: "o1",
        },
        PagedList {
            name: "accounts",
            query: "query($first: Int, $after: String) {
                accounts(first: $first, after: $after) { pageInfo { hasNextPage endCursor } } }",
            variables: json!({}),
            reader: Reader::Admin,
            prefix: "a1",
        },
        PagedList {
            name: "editSuggestions",
            query: "query($first: Int, $after: String) {
                editSuggestions(first: $first, after: $after) { pageInfo { hasNextPage endCursor } } }",
            variables: json!({}),
            reader: Reader::Committee,
            prefix: "s1",
        },
        PagedList {
            name: "listingHistory",
            query: "query($first: Int, $after: String, $id: ID!) {
                listingHistory(id: $id, first: $first, after: $after) { pageInfo { hasNextPage endCursor } } }",
            variables: json!({ "id": library }),
            reader: Reader::Committee,
            prefix: "h1",
        },
        PagedList {
            name: "staleListings",
            query: "query($first: Int, $after: String) {
                staleListings(olderThanDays: 1, first: $first, after: $after) { pageInfo { hasNextPage endCursor } } }",
            variables: json!({}),
            reader: Reader::Committee,
            prefix: "r1",
        },
    ]
}

fn forged(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

struct Readers {
    admin: String,
    committee: String,
}

async fn read(app: &TestApp, readers: &Readers, list: &PagedList, first: Option<i32>, after: Option<&str>) -> Value {
    let mut variables = list.variables.clone();
    variables["first"] = json!(first);
    variables["after"] = json!(after);
    match list.reader {
        Reader::Anyone => app.graphql(list.query, variables).await,
        Reader::Admin => app.graphql_as(&readers.admin, list.query, variables).await,
        Reader::Committee => app.graphql_as(&readers.committee, list.query, variables).await,
    }
}

#[tokio::test]
async fn every_list_refuses_forged_overflowing_and_foreign_cursors_as_bad_input() {
    on_every_database(|app| async move {
        let readers =
            Readers { admin: app.token_of("admin").await, committee: app.token_of("committee.tvillage").await };
        let lists = lists();
        // A genuine cursor of one list, to offer to every other list.
        let villages = read(&app, &readers, &lists[1], Some(1), None).await;
        let village_cursor = villages["data"]["urbanVillages"]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        let village_cursor = village_cursor.unwrap_or_else(|| panic!("urbanVillages gave no cursor: {villages}"));

        for list in &lists {
            let mut cursors = vec![
                // The admin `accounts` cursor that used to answer HTTP 500.
                forged("a1:9223372036854775807"),
                forged(&format!("{}:9223372036854775807", list.prefix)),
                forged(&format!("{}:18446744073709551615", list.prefix)),
                forged(&format!("{}:99999999999999999999999999", list.prefix)),
                forged(&format!("{}:-1", list.prefix)),
                forged(&format!("{}:", list.prefix)),
                forged(&format!("{}9:1", &list.prefix[..1])),
                forged("p1:0"),
                "not a cursor".to_owned(),
                "%%%%".to_owned(),
                "A".repeat(5000),
            ];
            if list.name != "urbanVillages" {
                cursors.push(village_cursor.clone());
            }
            for cursor in &cursors {
                let response = read(&app, &readers, list, None, Some(cursor)).await;
                assert_eq!(
                    error_code(&response),
                    Some("BAD_USER_INPUT"),
                    "{} with after={cursor:.60}: {response}",
                    list.name
                );
                let message = response["errors"][0]["message"].as_str().unwrap_or_default();
                assert!(message.contains("after") && message.contains("游标"), "{}: {message}", list.name);
            }
        }
    })
    .await;
}

#[tokio::test]
async fn every_list_checks_first_and_its_own_cursor_leads_to_the_next_page() {
    on_every_database(|app| async move {
        let readers =
            Readers { admin: app.token_of("admin").await, committee: app.token_of("committee.tvillage").await };
        // Give the history and the suggestion queue more than one entry.
        let library = derived_id("service", "sh-tvillage-community-library");
        for alert in ["one", "two"] {
            let set = "mutation($id: ID!, $alert: TextInput) { setServiceAlert(id: $id, alert: $alert) { id } }";
            let alert = json!({ "zh": alert, "en": alert });
            app.data_as(&readers.committee, set, json!({ "id": library, "alert": alert })).await;
        }
        for comment in ["first", "second"] {
            let suggest = "mutation($id: ID!, $comment: String) {
                suggestEdit(serviceId: $id, kind: OTHER, comment: $comment) { id } }";
            app.data(suggest, json!({ "id": library, "comment": comment })).await;
        }

        for list in lists() {
            for first in [-1, 51] {
                let refused = read(&app, &readers, &list, Some(first), None).await;
                assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{} first={first}: {refused}", list.name);
            }
            let page = read(&app, &readers, &list, Some(1), None).await;
            let info = &page["data"][list.name]["pageInfo"];
            assert_eq!(info["hasNextPage"], json!(true), "{} has more than one item: {page}", list.name);
            let cursor = info["endCursor"].as_str().unwrap_or_else(|| panic!("{}: no cursor in {page}", list.name));
            let next = read(&app, &readers, &list, Some(1), Some(cursor)).await;
            assert!(next["errors"].is_null(), "{}: {next}", list.name);
            let next_cursor = next["data"][list.name]["pageInfo"]["endCursor"].as_str();
            assert!(next_cursor.is_some_and(|c| c != cursor), "{}: {next}", list.name);
        }
    })
    .await;
}
