//! Text search by pinyin (full, initials, with tones or spaces) and by the synonym list.

use qiao_seed::rows::derived_id;
use qiao_tests::{T_VILLAGE, TestApp, on_every_database};
use serde_json::{Value, json};

const SEARCH: &str = r#"
query Search($near: GeoPointInput!, $radius: Int!, $text: String, $categories: [ServiceCategory!]) {
  nearbyServices(near: $near, radiusMeters: $radius, text: $text, categories: $categories, first: 50) {
    edges { node { id name categories } }
  }
}"#;

/// The services found from T village within 50 km for `text` (and `categories`), sorted.
async fn found(app: &TestApp, text: Option<&str>, categories: Option<&[&str]>) -> Vec<(String, Vec<String>)> {
    let variables = json!({
        "near": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 }, "radius": 50_000,
        "text": text, "categories": categories,
    });
    let data = app.data(SEARCH, variables).await;
    let mut out: Vec<(String, Vec<String>)> = data["nearbyServices"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|edge| {
            let node = &edge["node"];
            let categories =
                node["categories"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned);
            (node["id"].as_str().unwrap_or_default().to_owned(), categories.collect())
        })
        .collect();
    out.sort();
    out
}

fn ids(found: &[(String, Vec<String>)]) -> Vec<String> {
    found.iter().map(|(id, _)| id.clone()).collect()
}

#[tokio::test]
async fn falvyuanzhu_and_flyz_find_the_legal_aid_centre() {
    on_every_database(|app| async move {
        let legal_aid = derived_id("service", "sh-minhang-legal-aid");
        let by_characters = ids(&found(&app, Some("法律援助中心"), None).await);
        assert!(by_characters.contains(&legal_aid), "{by_characters:?}");
        for query in
            ["falvyuanzhu", "flyz", "falvyuanzhuzhongxin", "fa lv yuan zhu", "fǎlǜ yuánzhù", "fa3lv4yuan2zhu4", "FLYZ"]
        {
            let by_pinyin = ids(&found(&app, Some(query), None).await);
            assert!(by_pinyin.contains(&legal_aid), "{query}: {by_pinyin:?}");
        }
        // Pinyin finds what the characters find, no less.
        let by_pinyin = ids(&found(&app, Some("falvyuanzhuzhongxin"), None).await);
        for id in &by_characters {
            assert!(by_pinyin.contains(id), "falvyuanzhuzhongxin misses {id}");
        }
        // A pinyin that reads no listed name finds nothing.
        assert_eq!(found(&app, Some("zhuyuanfalv"), None).await, vec![]);
    })
    .await;
}

#[tokio::test]
async fn school_words_in_either_language_find_every_school() {
    on_every_database(|app| async move {
        let schools = ids(&found(&app, None, Some(&["SCHOOL"])).await);
        assert!(!schools.is_empty());
        for query in ["上学", "入学", "school"] {
            let by_word = ids(&found(&app, Some(query), None).await);
            for school in &schools {
                assert!(by_word.contains(school), "{query} misses the school {school}: {by_word:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn taoxin_finds_labour_dispute_help() {
    on_every_database(|app| async move {
        let labour = ids(&found(&app, None, Some(&["LABOUR_DISPUTE"])).await);
        assert!(!labour.is_empty());
        for query in ["讨薪", "unpaid wages"] {
            let by_word = ids(&found(&app, Some(query), None).await);
            for service in &labour {
                assert!(by_word.contains(service), "{query} misses {service}: {by_word:?}");
            }
        }
    })
    .await;
}
