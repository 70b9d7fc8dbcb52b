//! `servicesInRegion`: a hometown county's services by its adcode, its city's and its province's.

use std::collections::HashSet;

use qiao_tests::{TestApp, error_code, on_every_database};
use serde_json::{Value, json};

const IN_REGION: &str =
    "query($adcode: String!, $categories: [ServiceCategory!], $first: Int, $after: String, $language: Language) {
    servicesInRegion(adcode: $adcode, categories: $categories, first: $first, after: $after, language: $language) {
      edges { cursor node { id name category location { id address { district city } } } }
      pageInfo { hasNextPage endCursor } } }";

/// Zhijin County (织金县), Bijie, Guizhou: the seeded hometown county.
const ZHIJIN: &str = "520524";

/// The seed keys of Zhijin's five services.
const ZHIJIN_SERVICES: [&str; 5] = [
    "gz-zhijin-school-enrolment",
    "gz-zhijin-employment-service",
    "gz-zhijin-social-insurance-transfer",
    "gz-zhijin-legal-aid",
    "gz-zhijin-childrens-home",
];

fn service_id(key: &str) -> String {
    qiao_seed::rows::derived_id("service", key)
}

fn zhijin_ids() -> HashSet<String> {
    ZHIJIN_SERVICES.iter().map(|key| service_id(key)).collect()
}

/// Every service of a region, page by page, as the edges' nodes in order.
async fn all_pages(app: &TestApp, adcode: &str, categories: Option<Value>, first: i32) -> Vec<Value> {
    let mut nodes = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..100 {
        let data = app
            .data(IN_REGION, json!({ "adcode": adcode, "categories": categories, "first": first, "after": after }))
            .await;
        let page = &data["servicesInRegion"];
        let edges = page["edges"].as_array().cloned().unwrap_or_default();
        assert!(edges.len() <= first as usize);
        nodes.extend(edges.into_iter().map(|edge| edge["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return nodes;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        assert!(after.is_some(), "a page with a next page has an end cursor");
    }
    panic!("paging {adcode} did not end");
}

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes.iter().filter_map(|node| node["id"].as_str().map(str::to_owned)).collect()
}

#[tokio::test]
async fn a_hometown_countys_five_services_are_found_by_its_code_its_citys_and_its_provinces() {
    on_every_database(|app| async move {
        let county = all_pages(&app, ZHIJIN, None, 50).await;
        let found: HashSet<String> = ids(&county).into_iter().collect();
        assert!(found.is_superset(&zhijin_ids()), "{county:#?}");
        // Every service with a place here is at a Zhijin address; the others (hotlines) serve
        // the county through their area and have no place.
        for node in &county {
            if zhijin_ids().contains(node["id"].as_str().unwrap_or_default()) {
                assert_eq!(node["location"]["address"]["district"], "织金县", "{node}");
                assert_eq!(node["location"]["address"]["city"], "毕节市", "{node}");
            } else {
                assert!(node["location"].is_null(), "only Zhijin's own places are in Zhijin: {node}");
            }
        }

        // Bijie (520500) and Guizhou (520000) hold the county; Guizhou holds Guiyang's too.
        let city: HashSet<String> = ids(&all_pages(&app, "520500", None, 50).await).into_iter().collect();
        assert!(city.is_superset(&zhijin_ids()));
        let province: HashSet<String> = ids(&all_pages(&app, "520000", None, 50).await).into_iter().collect();
        assert!(province.is_superset(&zhijin_ids()));
        assert!(province.contains(&service_id("gy-yunyan-legal-aid")));
        assert!(!city.contains(&service_id("gy-yunyan-legal-aid")), "Guiyang is not in Bijie");

        // Guiyang (520100) has its own services and none of Zhijin's.
        let guiyang: HashSet<String> = ids(&all_pages(&app, "520100", None, 50).await).into_iter().collect();
        assert!(guiyang.contains(&service_id("gy-yunyan-legal-aid")));
        assert!(guiyang.is_disjoint(&zhijin_ids()));
    })
    .await;
}

#[tokio::test]
async fn another_countys_code_finds_none_of_the_hometown_services() {
    on_every_database(|app| async move {
        for adcode in ["520525", "520102", "310112", "110101"] {
            let found: HashSet<String> = ids(&all_pages(&app, adcode, None, 50).await).into_iter().collect();
            assert!(found.is_disjoint(&zhijin_ids()), "{adcode}: {found:?}");
        }
        // Minhang (闵行区) finds its own services.
        let minhang: HashSet<String> = ids(&all_pages(&app, "310112", None, 50).await).into_iter().collect();
        assert!(minhang.contains(&service_id("sh-minhang-legal-aid")));
    })
    .await;
}

#[tokio::test]
async fn the_category_filter_keeps_a_category_and_its_sub_categories() {
    on_every_database(|app| async move {
        let schools = all_pages(&app, ZHIJIN, Some(json!(["SCHOOL"])), 50).await;
        assert_eq!(ids(&schools), vec![service_id("gz-zhijin-school-enrolment")]);
        assert_eq!(schools[0]["category"], "SCHOOL");
        // EDUCATION takes in SCHOOL and TUTORING, the children's home's second category.
        let education: HashSet<String> =
            ids(&all_pages(&app, ZHIJIN, Some(json!(["EDUCATION"])), 50).await).into_iter().collect();
        let expected: HashSet<String> =
            ["gz-zhijin-school-enrolment", "gz-zhijin-childrens-home"].iter().map(|k| service_id(k)).collect();
        assert_eq!(education, expected);

        // SOCIAL_INSURANCE sits under EMPLOYMENT: asking for EMPLOYMENT finds both offices.
        let work: HashSet<String> =
            ids(&all_pages(&app, ZHIJIN, Some(json!(["EMPLOYMENT"])), 50).await).into_iter().collect();
        let expected: HashSet<String> = ["gz-zhijin-employment-service", "gz-zhijin-social-insurance-transfer"]
            .iter()
            .map(|k| service_id(k))
            .collect();
        assert_eq!(work, expected);
        let insurance = all_pages(&app, ZHIJIN, Some(json!(["SOCIAL_INSURANCE"])), 50).await;
        assert_eq!(ids(&insurance), vec![service_id("gz-zhijin-social-insurance-transfer")]);

        let children = ids(&all_pages(&app, ZHIJIN, Some(json!(["YOUTH", "SCHOOL"])), 50).await);
        assert_eq!(children.len(), 2);
        assert!(children.contains(&service_id("gz-zhijin-childrens-home")));

        let legal: HashSet<String> =
            ids(&all_pages(&app, ZHIJIN, Some(json!(["LEGAL_AID"])), 50).await).into_iter().collect();
        assert!(legal.contains(&service_id("gz-zhijin-legal-aid")));
        assert!(!legal.contains(&service_id("gz-zhijin-childrens-home")));
    })
    .await;
}

#[tokio::test]
async fn pages_of_a_region_follow_each_other_without_repeats_or_gaps() {
    on_every_database(|app| async move {
        // The province holds Guiyang's and Zhijin's services: several pages of 2.
        let whole = ids(&all_pages(&app, "520000", None, 50).await);
        assert!(whole.len() > 5);
        let paged = ids(&all_pages(&app, "520000", None, 2).await);
        assert_eq!(paged, whole, "pages of 2 give the same list as one page");
        let unique: HashSet<&String> = paged.iter().collect();
        assert_eq!(unique.len(), paged.len(), "no service twice");

        // Ordered by category in the tree's order: the legal services come before the schools.
        let county = all_pages(&app, ZHIJIN, None, 50).await;
        let position = |key: &str| ids(&county).iter().position(|id| *id == service_id(key));
        assert!(position("gz-zhijin-legal-aid") < position("gz-zhijin-school-enrolment"));
        assert!(position("gz-zhijin-school-enrolment") < position("gz-zhijin-employment-service"));
        assert!(position("gz-zhijin-employment-service") < position("gz-zhijin-childrens-home"));

        // Another list's cursor is refused.
        let villages = app.data("{ urbanVillages(first: 1) { pageInfo { endCursor } } }", json!({})).await;
        let foreign = villages["urbanVillages"]["pageInfo"]["endCursor"].clone();
        let response = app.graphql(IN_REGION, json!({ "adcode": ZHIJIN, "after": foreign })).await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn a_bad_adcode_is_bad_user_input() {
    on_every_database(|app| async move {
        for adcode in ["", "5205", "5205240", "52052x", "织金县"] {
            let response = app.graphql(IN_REGION, json!({ "adcode": adcode })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{adcode:?}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "adcode");
        }
    })
    .await;
}

#[tokio::test]
async fn an_archived_service_vanishes_from_its_region() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let legal_aid = service_id("gz-zhijin-legal-aid");
        let archive = format!(r#"mutation {{ archiveService(id: "{legal_aid}") {{ id }} }}"#);
        app.data_as(&admin, &archive, json!({})).await;
        for adcode in [ZHIJIN, "520500", "520000"] {
            let found = ids(&all_pages(&app, adcode, None, 50).await);
            assert!(!found.contains(&legal_aid), "{adcode}");
            assert!(found.contains(&service_id("gz-zhijin-school-enrolment")), "{adcode}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_hotline_serves_the_counties_its_area_covers() {
    on_every_database(|app| async move {
        // The 12348 Guizhou hotline has no place; its area covers Zhijin, not Minhang.
        let hotline = service_id("gy-guizhou-12348-hotline");
        let county = all_pages(&app, ZHIJIN, Some(json!(["LEGAL_AID"])), 50).await;
        let node = county.iter().find(|node| node["id"] == json!(hotline)).cloned();
        assert!(node.as_ref().is_some_and(|node| node["location"].is_null()), "{county:#?}");
        let minhang = ids(&all_pages(&app, "310112", None, 50).await);
        assert!(!minhang.contains(&hotline));
    })
    .await;
}

#[tokio::test]
async fn names_come_in_the_language_asked_for() {
    on_every_database(|app| async move {
        let english =
            app.data(IN_REGION, json!({ "adcode": ZHIJIN, "categories": ["SCHOOL"], "language": "EN" })).await;
        let node = &english["servicesInRegion"]["edges"][0]["node"];
        assert_eq!(node["name"], "School places and transfers for returning children (county enrolment office)");
        assert_eq!(node["location"]["address"]["district"], "Zhijin County");
    })
    .await;
}
