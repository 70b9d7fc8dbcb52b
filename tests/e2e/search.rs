//! Nearby search: distances, order, radius, pagination, filters, text and categories.

use qiao_schema::datum::{LatLon, wgs84_to_gcj02};
use qiao_seed::rows::derived_id;
use qiao_tests::{T_VILLAGE, TestApp, china_time, on_every_database, vincenty_m};
use serde_json::{Value, json};

const SEARCH: &str = r#"
query Search($near: GeoPointInput!, $radius: Int!, $categories: [ServiceCategory!], $text: String,
             $openNow: Boolean, $languages: [String!], $freeOnly: Boolean, $noHukou: Boolean,
             $first: Int, $after: String, $language: Language) {
  nearbyServices(near: $near, radiusMeters: $radius, categories: $categories, text: $text, openNow: $openNow,
                 languages: $languages, freeOnly: $freeOnly, eligibleWithoutLocalHukou: $noHukou,
                 first: $first, after: $after, language: $language) {
    edges { cursor distanceMeters node { id name category categories status openNow isFree languages location { lat lon } } }
    pageInfo { hasNextPage endCursor }
    areaServices { id name }
    nearestBeyondRadiusMeters
  }
}"#;

fn t_village() -> Value {
    json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 })
}

async fn search(app: &TestApp, variables: Value) -> Value {
    let mut all = json!({ "near": t_village(), "radius": 5000, "first": 50 });
    if let (Some(target), Some(extra)) = (all.as_object_mut(), variables.as_object()) {
        for (key, value) in extra {
            target.insert(key.clone(), value.clone());
        }
    }
    app.data(SEARCH, all).await["nearbyServices"].clone()
}

fn edges(result: &Value) -> Vec<Value> {
    result["edges"].as_array().cloned().unwrap_or_default()
}

fn ids(result: &Value) -> Vec<String> {
    edges(result).iter().map(|e| e["node"]["id"].as_str().unwrap_or_default().to_owned()).collect()
}

fn service_id(key: &str) -> String {
    derived_id("service", key)
}

const LEGAL_AID_CENTRE: &str = "sh-minhang-legal-aid";

#[tokio::test]
async fn legal_aid_within_3_km_of_t_village_is_the_district_centre_at_its_true_distance() {
    on_every_database(|app| async move {
        let result = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"] })).await;
        let edges = edges(&result);
        assert_eq!(ids(&result), vec![service_id(LEGAL_AID_CENTRE)]);
        let location = &edges[0]["node"]["location"];
        let expected =
            vincenty_m(T_VILLAGE, (location["lat"].as_f64().unwrap_or(0.0), location["lon"].as_f64().unwrap_or(0.0)));
        let reported = edges[0]["distanceMeters"].as_f64().unwrap_or(-1.0);
        assert!((reported - expected).abs() <= 1.0, "reported {reported} m, expected {expected} m");
        assert!(reported < 3000.0);
        // The 12348 hotline has no place: it serves T village's area rather than sitting at a distance.
        assert_eq!(result["areaServices"][0]["id"], json!(service_id("sh-shanghai-12348-hotline")));
    })
    .await;
}

#[tokio::test]
async fn the_same_search_from_the_gcj02_point_gives_the_same_answer() {
    on_every_database(|app| async move {
        let gcj = wgs84_to_gcj02(LatLon::new(T_VILLAGE.0, T_VILLAGE.1));
        let from_wgs = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"] })).await;
        let from_gcj = search(
            &app,
            json!({ "radius": 3000, "categories": ["LEGAL_AID"], "near": { "lat": gcj.lat, "lon": gcj.lon, "datum": "GCJ02" } }),
        )
        .await;
        assert_eq!(ids(&from_wgs), ids(&from_gcj));
        let (a, b) = (&edges(&from_wgs)[0]["distanceMeters"], &edges(&from_gcj)[0]["distanceMeters"]);
        assert!((a.as_i64().unwrap_or(0) - b.as_i64().unwrap_or(99)).abs() <= 1);
        // A BD-09 point of the same place finds the same too.
        let bd = qiao_schema::datum::from_wgs84(LatLon::new(T_VILLAGE.0, T_VILLAGE.1), qiao_schema::datum::Datum::Bd09);
        let from_bd = search(
            &app,
            json!({ "radius": 3000, "categories": ["LEGAL_AID"], "near": { "lat": bd.lat, "lon": bd.lon, "datum": "BD09" } }),
        )
        .await;
        assert_eq!(ids(&from_wgs), ids(&from_bd));
    })
    .await;
}

#[tokio::test]
async fn a_published_gcj02_point_is_taken_as_its_wgs84_point_within_a_metre() {
    on_every_database(|app| async move {
        // Tiananmen: WGS-84 (39.9087, 116.3975) is GCJ-02 (39.910103, 116.403744). Put a listing at
        // the WGS-84 point, then look for it from the GCJ-02 point.
        let admin = app.token_of("admin").await;
        let csv = "name_zh,name_en,category,address_zh,district_zh,city_zh,adcode,lat,lon,datum,cost\n\
                   天安门测试点,Tiananmen test point,LIBRARY,东长安街,东城区,北京市,110101,39.9087,116.3975,WGS84,0\n";
        let imported = app
            .graphql_as(&admin, "mutation($csv: String!) { importListingsCsv(csv: $csv) { imported errors { message } } }", json!({ "csv": csv }))
            .await;
        assert_eq!(imported["data"]["importListingsCsv"]["imported"], json!(1), "{imported}");
        let from_gcj = search(&app, json!({ "near": { "lat": 39.910103, "lon": 116.403744, "datum": "GCJ02" }, "radius": 50 })).await;
        let found = edges(&from_gcj);
        assert_eq!(found.len(), 1, "{from_gcj}");
        assert!(found[0]["distanceMeters"].as_i64().is_some_and(|d| d <= 1), "{from_gcj}");
        // And the listing reads back in GCJ-02 as the published point, within a metre (1e-5 degrees).
        let id = found[0]["node"]["id"].clone();
        let detail = app
            .data("query($id: ID!) { service(id: $id) { locations { location { lat(datum: GCJ02) lon(datum: GCJ02) } } } }", json!({ "id": id }))
            .await;
        let location = &detail["service"]["locations"][0]["location"];
        assert!((location["lat"].as_f64().unwrap_or(0.0) - 39.910103).abs() < 1e-5, "{location}");
        assert!((location["lon"].as_f64().unwrap_or(0.0) - 116.403744).abs() < 1e-5, "{location}");
    })
    .await;
}

#[tokio::test]
async fn nothing_within_200_km_says_nothing_rather_than_scanning_the_country() {
    on_every_database(|app| async move {
        // Beijing has no demo listings; the nearest (Shanghai) is over 1,000 km away.
        let result = search(&app, json!({ "near": { "lat": 39.9087, "lon": 116.3975 }, "radius": 1000 })).await;
        assert!(edges(&result).is_empty());
        assert!(result["nearestBeyondRadiusMeters"].is_null(), "{result}");
    })
    .await;
}

#[tokio::test]
async fn results_are_nearest_first_within_the_radius_with_true_distances() {
    on_every_database(|app| async move {
        let wide = search(&app, json!({ "radius": 5000 })).await;
        let distances: Vec<i64> = edges(&wide).iter().map(|e| e["distanceMeters"].as_i64().unwrap_or(-1)).collect();
        assert!(distances.len() >= 10, "{distances:?}");
        assert!(distances.windows(2).all(|w| w[0] <= w[1]), "not nearest first: {distances:?}");
        assert!(distances.iter().all(|d| (0..=5000).contains(d)));
        for edge in edges(&wide) {
            let location = &edge["node"]["location"];
            let point = (location["lat"].as_f64().unwrap_or(0.0), location["lon"].as_f64().unwrap_or(0.0));
            let reported = edge["distanceMeters"].as_f64().unwrap_or(-1.0);
            assert!((vincenty_m(T_VILLAGE, point) - reported).abs() <= 1.0);
        }
        // Each service once, even one delivered at two places (tutoring).
        let mut unique = ids(&wide);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), distances.len());
        // A smaller radius gives exactly the nearer part of the same list.
        let narrow = search(&app, json!({ "radius": 1500 })).await;
        let expected: Vec<String> = edges(&wide)
            .iter()
            .filter(|e| e["distanceMeters"].as_i64().unwrap_or(i64::MAX) <= 1500)
            .map(|e| e["node"]["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids(&narrow), expected);
        assert!(ids(&narrow).len() < ids(&wide).len());
    })
    .await;
}

#[tokio::test]
async fn pages_join_up_without_duplicates_or_gaps() {
    on_every_database(|app| async move {
        let everything = search(&app, json!({ "radius": 50000 })).await;
        let all_ids = ids(&everything);
        assert!(all_ids.len() > 7);
        assert_eq!(everything["pageInfo"]["hasNextPage"], json!(false));
        let mut paged = Vec::new();
        let mut after = Value::Null;
        for _ in 0..50 {
            let page = search(&app, json!({ "radius": 50000, "first": 3, "after": after })).await;
            paged.extend(ids(&page));
            let first_page = after.is_null();
            assert_eq!(
                page["areaServices"].as_array().is_some_and(Vec::is_empty),
                !first_page,
                "area services come on the first page only"
            );
            if page["pageInfo"]["hasNextPage"] != json!(true) {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(paged, all_ids);
    })
    .await;
}

#[tokio::test]
async fn chinese_text_without_spaces_and_english_words_both_find_the_legal_aid_centre() {
    on_every_database(|app| async move {
        for text in ["法律", "法律援助中心", "闵行区法律援助", "legal aid", "Legal", "LEGAL AID CENTRE"]
        {
            let result = search(&app, json!({ "text": text })).await;
            assert!(ids(&result).contains(&service_id(LEGAL_AID_CENTRE)), "{text} did not find the legal aid centre");
        }
        let result = search(&app, json!({ "text": "图书" })).await;
        assert!(ids(&result).contains(&service_id("sh-tvillage-community-library")));
        assert!(!ids(&result).contains(&service_id(LEGAL_AID_CENTRE)));
        let nothing = search(&app, json!({ "text": "火星探测" })).await;
        assert!(ids(&nothing).is_empty());
        // English names come back when English is asked for.
        let english = search(&app, json!({ "text": "library", "language": "EN" })).await;
        assert!(edges(&english).iter().all(|e| e["node"]["name"].as_str().unwrap_or_default().is_ascii()));
    })
    .await;
}

#[tokio::test]
async fn a_parent_category_finds_services_of_its_children() {
    on_every_database(|app| async move {
        let education = ["EDUCATION", "SCHOOL", "MIGRANT_CHILDREN_SCHOOL", "TUTORING", "LIBRARY"];
        let result = search(&app, json!({ "radius": 10000, "categories": ["EDUCATION"] })).await;
        let found: Vec<String> =
            edges(&result).iter().map(|e| e["node"]["category"].as_str().unwrap_or_default().to_owned()).collect();
        for child in ["SCHOOL", "LIBRARY", "TUTORING", "MIGRANT_CHILDREN_SCHOOL"] {
            assert!(found.iter().any(|c| c == child), "EDUCATION should find {child}: {found:?}");
        }
        for edge in edges(&result) {
            let categories = edge["node"]["categories"].as_array().cloned().unwrap_or_default();
            assert!(categories.iter().any(|c| education.contains(&c.as_str().unwrap_or_default())));
        }
        let schools = search(&app, json!({ "radius": 10000, "categories": ["SCHOOL"] })).await;
        assert!(edges(&schools).iter().any(|e| e["node"]["category"] == "MIGRANT_CHILDREN_SCHOOL"));
        assert!(edges(&schools).iter().all(|e| e["node"]["category"] != "LIBRARY"));
    })
    .await;
}

#[tokio::test]
async fn open_now_turns_off_at_closing_time() {
    on_every_database(|app| async move {
        let legal_aid = service_id(LEGAL_AID_CENTRE);
        let open_legal_aid = |app: TestApp| async move {
            ids(&search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"], "openNow": true })).await)
        };
        // Monday 2026-11-23: open 09:00-17:00.
        app.clock.set(china_time(2026, 11, 23, 16, 59));
        assert_eq!(open_legal_aid(app.clone()).await, vec![legal_aid.clone()]);
        app.clock.set(china_time(2026, 11, 23, 17, 0));
        assert!(open_legal_aid(app.clone()).await.is_empty());
        app.clock.set(china_time(2026, 11, 23, 8, 59));
        assert!(open_legal_aid(app.clone()).await.is_empty());
        // Saturday: closed.
        app.clock.set(china_time(2026, 11, 28, 10, 0));
        assert!(open_legal_aid(app.clone()).await.is_empty());
        // Without the filter it is listed and says it is closed.
        let listed = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"] })).await;
        assert_eq!(edges(&listed)[0]["node"]["openNow"], json!(false));
    })
    .await;
}

#[tokio::test]
async fn a_public_holiday_closes_a_service_that_is_open_on_that_weekday() {
    on_every_database(|app| async move {
        // New Year's Day 2027 is a Friday; the legal aid centre closes on public holidays.
        app.clock.set(china_time(2027, 1, 1, 10, 0));
        let result = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"], "openNow": true })).await;
        assert!(ids(&result).is_empty());
        app.clock.set(china_time(2027, 1, 4, 10, 0)); // the Monday after
        let result = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"], "openNow": true })).await;
        assert_eq!(ids(&result), vec![service_id(LEGAL_AID_CENTRE)]);
    })
    .await;
}

#[tokio::test]
async fn filters_for_price_hukou_and_language_leave_out_what_does_not_fit() {
    on_every_database(|app| async move {
        let everything = ids(&search(&app, json!({ "radius": 10000 })).await);
        let electrician = service_id("sh-mingde-electrician-course");
        let kindergarten = service_id("sh-waihuan-road-kindergarten-hukou-round");
        assert!(everything.contains(&electrician) && everything.contains(&kindergarten));

        let free = search(&app, json!({ "radius": 10000, "freeOnly": true })).await;
        assert!(!ids(&free).contains(&electrician));
        assert!(edges(&free).iter().all(|e| e["node"]["isFree"] == json!(true)));

        let no_hukou = ids(&search(&app, json!({ "radius": 10000, "noHukou": true })).await);
        assert!(!no_hukou.contains(&kindergarten));
        assert!(no_hukou.contains(&electrician));

        let english = search(&app, json!({ "radius": 10000, "languages": ["en"] })).await;
        assert!(ids(&english).contains(&service_id(LEGAL_AID_CENTRE)));
        assert!(
            edges(&english).iter().all(|e| e["node"]["languages"].as_array().is_some_and(|l| l.contains(&json!("en"))))
        );
    })
    .await;
}

#[tokio::test]
async fn a_temporarily_closed_service_stays_listed_and_says_so() {
    on_every_database(|app| async move {
        let result = search(&app, json!({ "radius": 2000, "categories": ["RECREATION"] })).await;
        let camp = edges(&result).into_iter().find(|e| e["node"]["id"] == json!(service_id("sh-tvillage-summer-camp")));
        let camp = camp.expect("the summer camp is listed");
        assert_eq!(camp["node"]["status"], "TEMPORARILY_CLOSED");
        assert_eq!(camp["node"]["openNow"], json!(false));
    })
    .await;
}

#[tokio::test]
async fn the_open_now_filter_leaves_out_a_temporarily_closed_service_whose_hours_say_open() {
    on_every_database(|app| async move {
        // Wednesday 10:00: the summer camp's weekly hours (weekdays 08:30-17:00) say open, but it
        // is temporarily closed, and its own openNow says false.
        app.clock.set(china_time(2026, 11, 25, 10, 0));
        let camp = service_id("sh-tvillage-summer-camp");
        let open = search(&app, json!({ "radius": 2000, "categories": ["RECREATION"], "openNow": true })).await;
        assert!(!ids(&open).contains(&camp), "{open}");
        assert!(edges(&open).iter().all(|e| e["node"]["openNow"] == json!(true)), "{open}");
    })
    .await;
}

#[tokio::test]
async fn an_empty_search_says_how_far_the_nearest_match_is() {
    on_every_database(|app| async move {
        let result = search(&app, json!({ "radius": 100, "categories": ["LEGAL_AID"] })).await;
        assert!(edges(&result).is_empty());
        let beyond = result["nearestBeyondRadiusMeters"].as_i64().unwrap_or(0);
        let full = search(&app, json!({ "radius": 3000, "categories": ["LEGAL_AID"] })).await;
        assert_eq!(beyond, edges(&full)[0]["distanceMeters"].as_i64().unwrap_or(-1));
        // With results there is nothing to say.
        assert!(full["nearestBeyondRadiusMeters"].is_null());
    })
    .await;
}

#[tokio::test]
async fn guiyang_has_its_own_services_and_hotline() {
    on_every_database(|app| async move {
        let near = json!({ "lat": 26.601, "lon": 106.714 });
        let result = search(&app, json!({ "near": near, "radius": 10000, "categories": ["LEGAL_AID"] })).await;
        assert_eq!(ids(&result).first(), Some(&service_id("gy-yunyan-legal-aid")));
        assert!(!ids(&result).contains(&service_id(LEGAL_AID_CENTRE)), "Shanghai is 1,500 km away");
        assert_eq!(result["areaServices"][0]["id"], json!(service_id("gy-guizhou-12348-hotline")));
        let schools = search(&app, json!({ "near": near, "radius": 10000, "categories": ["SCHOOL"] })).await;
        assert!(edges(&schools).len() >= 2);
    })
    .await;
}
