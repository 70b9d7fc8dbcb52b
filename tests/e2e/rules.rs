//! One definition of each directory rule: for every demo service at many instants, what search
//! filters on (`openNow`, `freeOnly`, `eligibleWithoutLocalHukou`) equals what the service says
//! about itself, both on the search result and in its detail (`service(id:)`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use qiao_schema::entity::service;
use qiao_tests::{T_VILLAGE, TestApp, china_time, on_every_database};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// Search centres from which every demo service of each city lies within the largest radius.
const CENTRES: [(&str, (f64, f64)); 3] = [
    ("T village, Shanghai", T_VILLAGE),
    ("S village, Guiyang", (26.601, 106.714)),
    ("Zhijin county town, Guizhou", (26.667, 105.767)),
];

const SEARCH: &str = r#"
query Search($near: GeoPointInput!, $openNow: Boolean, $freeOnly: Boolean, $noHukou: Boolean, $after: String) {
  nearbyServices(near: $near, radiusMeters: 50000, openNow: $openNow, freeOnly: $freeOnly,
                 eligibleWithoutLocalHukou: $noHukou, first: 50, after: $after) {
    edges { node { id openNow isFree location { id } } }
    pageInfo { hasNextPage endCursor }
    areaServices { id openNow isFree }
  }
}"#;

/// What a service says about itself in its detail.
#[derive(Debug)]
struct Detail {
    open_now: bool,
    is_free: bool,
    local_hukou_required: bool,
    /// Location id → open now there.
    open_at: BTreeMap<String, bool>,
}

/// A search result: the service, the place it was found at (none for an area service), and what
/// the result says.
#[derive(Debug)]
struct Found {
    id: String,
    location: Option<String>,
    open_now: bool,
    is_free: bool,
}

/// Every result of a search, all pages.
async fn search(app: &TestApp, near: (f64, f64), filters: Value) -> Vec<Found> {
    let mut found = Vec::new();
    let mut after = Value::Null;
    loop {
        let mut variables = json!({ "near": { "lat": near.0, "lon": near.1 }, "after": after });
        if let (Some(target), Some(extra)) = (variables.as_object_mut(), filters.as_object()) {
            target.extend(extra.clone());
        }
        let page = app.data(SEARCH, variables).await["nearbyServices"].clone();
        let nodes = page["edges"].as_array().into_iter().flatten().map(|edge| &edge["node"]);
        let areas = page["areaServices"].as_array().into_iter().flatten();
        for node in nodes.chain(areas) {
            found.push(Found {
                id: node["id"].as_str().unwrap_or_default().to_owned(),
                location: node["location"]["id"].as_str().map(str::to_owned),
                open_now: node["openNow"] == json!(true),
                is_free: node["isFree"] == json!(true),
            });
        }
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return found;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

fn ids(found: &[Found]) -> BTreeSet<String> {
    found.iter().map(|f| f.id.clone()).collect()
}

/// The details of `ids`, a few services per request, the requests side by side.
async fn details(app: &TestApp, ids: &BTreeSet<String>) -> BTreeMap<String, Detail> {
    let ids: Vec<&String> = ids.iter().collect();
    let mut requests = tokio::task::JoinSet::new();
    for chunk in ids.chunks(10) {
        let fields: String = chunk
            .iter()
            .enumerate()
            .map(|(n, id)| {
                format!(
                    r#"s{n}: service(id: "{id}") {{ id openNow isFree eligibility {{ localHukouRequired }}
                        locations {{ openNow location {{ id }} }} }} "#
                )
            })
            .collect();
        let app = app.clone();
        requests.spawn(async move { app.data(&format!("query {{ {fields} }}"), json!({})).await });
    }
    let mut details = BTreeMap::new();
    while let Some(data) = requests.join_next().await {
        let data = data.expect("a detail request completes");
        for service in data.as_object().into_iter().flat_map(|o| o.values()) {
            let open_at = service["locations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| (l["location"]["id"].as_str().unwrap_or_default().to_owned(), l["openNow"] == json!(true)))
                .collect();
            details.insert(
                service["id"].as_str().unwrap_or_default().to_owned(),
                Detail {
                    open_now: service["openNow"] == json!(true),
                    is_free: service["isFree"] == json!(true),
                    local_hukou_required: service["eligibility"]["localHukouRequired"] == json!(true),
                    open_at,
                },
            );
        }
    }
    details
}

/// The instants tried, in China Standard Time, with what makes each one interesting.
fn instants() -> Vec<(&'static str, DateTime<Utc>)> {
    vec![
        ("a weekday morning", china_time(2026, 11, 25, 10, 0)),
        ("a weekday lunch break", china_time(2026, 11, 23, 12, 30)),
        ("a minute before five on a weekday", china_time(2026, 11, 23, 16, 59)),
        ("five o'clock on a weekday", china_time(2026, 11, 23, 17, 0)),
        ("a Wednesday evening", china_time(2026, 11, 25, 19, 30)),
        ("a weeknight", china_time(2026, 11, 26, 3, 0)),
        ("the first minute of a day", china_time(2026, 11, 25, 0, 0)),
        ("the last minute of a day", china_time(2026, 11, 25, 23, 59)),
        ("early morning exercise time", china_time(2026, 11, 27, 6, 30)),
        ("a Saturday morning", china_time(2026, 11, 28, 10, 0)),
        ("a Saturday evening", china_time(2026, 11, 28, 19, 30)),
        ("a Sunday morning", china_time(2026, 11, 29, 9, 0)),
        ("National Day, a Thursday", china_time(2026, 10, 1, 10, 0)),
        ("New Year's Day 2027, a Friday", china_time(2027, 1, 1, 10, 0)),
        ("the make-up working Saturday after National Day", china_time(2026, 10, 10, 10, 0)),
        ("a stock-taking day off", china_time(2026, 12, 5, 10, 0)),
    ]
}

#[tokio::test]
async fn search_filters_and_each_service_agree_on_open_free_and_hukou_at_every_instant() {
    on_every_database(|app| async move {
        // Every listed demo service is found from one of the centres.
        let db = app.database().await;
        let listed: BTreeSet<String> = service::Entity::find()
            .all(&db)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.status.is_listed())
            .map(|s| s.id)
            .collect();
        db.close().await.ok();
        let mut everything = BTreeSet::new();
        for (_, near) in CENTRES {
            everything.extend(ids(&search(&app, near, json!({})).await));
        }
        assert!(listed.len() >= 30, "the demo directory has {} listed services", listed.len());
        assert_eq!(everything, listed, "every listed demo service is found");

        for (when, at) in instants() {
            app.clock.set(at);
            let details = details(&app, &everything).await;
            assert_eq!(details.len(), everything.len(), "{when}: every service has a detail");
            for (centre, near) in CENTRES {
                let context = format!("{when}, near {centre}");
                let all = search(&app, near, json!({})).await;
                // Each result says what its detail says, at the place where it was found.
                for found in &all {
                    let detail = &details[&found.id];
                    let open_there = match &found.location {
                        Some(location) => detail.open_at.get(location).copied(),
                        None => Some(detail.open_now),
                    };
                    assert_eq!(Some(found.open_now), open_there, "{context}: openNow of {found:?} vs {detail:?}");
                    assert_eq!(found.is_free, detail.is_free, "{context}: isFree of {found:?} vs {detail:?}");
                }
                let expect = |keep: &dyn Fn(&Detail) -> bool| -> BTreeSet<String> {
                    ids(&all).into_iter().filter(|id| keep(&details[id])).collect()
                };

                // openNow finds exactly the services open somewhere, each at a place open now.
                let open = search(&app, near, json!({ "openNow": true })).await;
                assert_eq!(ids(&open), expect(&|d| d.open_now), "{context}: openNow");
                for found in &open {
                    assert!(found.open_now, "{context}: {found:?} was found open but says it is not");
                }
                // The filters together find exactly the services meeting each.
                let all_filters = json!({ "openNow": true, "freeOnly": true, "noHukou": true });
                assert_eq!(
                    ids(&search(&app, near, all_filters).await),
                    expect(&|d| d.open_now && d.is_free && !d.local_hukou_required),
                    "{context}: openNow, freeOnly and eligibleWithoutLocalHukou"
                );
                if at == instants()[0].1 {
                    // Cost and eligibility do not change with the time: once is enough.
                    let free = search(&app, near, json!({ "freeOnly": true })).await;
                    assert_eq!(ids(&free), expect(&|d| d.is_free), "{context}: freeOnly");
                    let no_hukou = search(&app, near, json!({ "noHukou": true })).await;
                    assert_eq!(ids(&no_hukou), expect(&|d| !d.local_hukou_required), "{context}: no local hukou");
                }
            }
        }
    })
    .await;
}
