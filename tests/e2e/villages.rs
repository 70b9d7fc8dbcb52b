//! Urban villages: point-in-polygon and listing by city.

use qiao_schema::datum::{LatLon, wgs84_to_gcj02};
use qiao_tests::{T_VILLAGE, on_every_database};
use serde_json::{Value, json};

const AT: &str =
    "query($point: GeoPointInput!) { urbanVillageAt(point: $point) { id name city district boundaryGeoJson } }";

#[tokio::test]
async fn a_point_inside_on_the_edge_or_outside_a_village() {
    on_every_database(|app| async move {
        let inside = app.data(AT, json!({ "point": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } })).await;
        let village = &inside["urbanVillageAt"];
        assert_eq!(village["name"], "T村");
        assert_eq!(village["city"], "上海市");
        assert_eq!(village["district"], "闵行区");

        // A vertex of the boundary lies on the edge, and the edge belongs to the village.
        let boundary: Value =
            serde_json::from_str(village["boundaryGeoJson"].as_str().unwrap_or("{}")).unwrap_or_default();
        let vertex = &boundary["coordinates"][0][0];
        let (lon, lat) = (vertex[0].as_f64().unwrap_or(0.0), vertex[1].as_f64().unwrap_or(0.0));
        let on_edge = app.data(AT, json!({ "point": { "lat": lat, "lon": lon } })).await;
        assert_eq!(on_edge["urbanVillageAt"]["id"], village["id"]);

        // 200 m west of that vertex is outside (the boundary is convex around the centre).
        let outside = app.data(AT, json!({ "point": { "lat": lat, "lon": lon - 0.002 } })).await;
        assert!(outside["urbanVillageAt"].is_null());
        let far = app.data(AT, json!({ "point": { "lat": 39.9, "lon": 116.4 } })).await;
        assert!(far["urbanVillageAt"].is_null());

        // The same place as a GCJ-02 point.
        let gcj = wgs84_to_gcj02(LatLon::new(T_VILLAGE.0, T_VILLAGE.1));
        let from_gcj = app.data(AT, json!({ "point": { "lat": gcj.lat, "lon": gcj.lon, "datum": "GCJ02" } })).await;
        assert_eq!(from_gcj["urbanVillageAt"]["id"], village["id"]);
    })
    .await;
}

#[tokio::test]
async fn villages_are_listed_by_city_page_by_page() {
    on_every_database(|app| async move {
        let list = "query($city: String, $first: Int, $after: String, $language: Language) {
            urbanVillages(city: $city, first: $first, after: $after, language: $language) {
              edges { cursor node { id name city centroid { lat lon } } } pageInfo { hasNextPage endCursor } } }";
        let shanghai = app.data(list, json!({ "city": "上海" })).await;
        assert_eq!(shanghai["urbanVillages"]["edges"].as_array().map(Vec::len), Some(2));
        let guiyang = app.data(list, json!({ "city": "guiyang", "language": "EN" })).await;
        let edges = guiyang["urbanVillages"]["edges"].as_array().cloned().unwrap_or_default();
        assert!(edges.len() >= 2);
        assert!(edges.iter().all(|e| e["node"]["city"] == "Guiyang"));

        let first = app.data(list, json!({ "first": 1 })).await;
        assert_eq!(first["urbanVillages"]["pageInfo"]["hasNextPage"], json!(true));
        let second =
            app.data(list, json!({ "first": 1, "after": first["urbanVillages"]["pageInfo"]["endCursor"] })).await;
        assert_ne!(first["urbanVillages"]["edges"][0]["node"]["id"], second["urbanVillages"]["edges"][0]["node"]["id"]);
        let all = app.data(list, json!({ "first": 50 })).await;
        assert_eq!(all["urbanVillages"]["edges"].as_array().map(Vec::len), Some(4));
    })
    .await;
}

#[tokio::test]
async fn the_category_tree_has_labels_icons_and_children_in_both_languages() {
    on_every_database(|app| async move {
        let query = "query($language: Language) { categories(language: $language) { code name description icon children { code name } } }";
        let chinese = app.data(query, json!({})).await;
        let english = app.data(query, json!({ "language": "EN" })).await;
        let roots = chinese["categories"].as_array().cloned().unwrap_or_default();
        let education = roots.iter().find(|c| c["code"] == "EDUCATION").cloned().unwrap_or_default();
        assert_eq!(education["name"], "教育");
        assert!(education["icon"].is_string() && education["description"].is_string());
        let children: Vec<&str> = education["children"].as_array().into_iter().flatten().filter_map(|c| c["code"].as_str()).collect();
        assert!(children.contains(&"SCHOOL") && children.contains(&"LIBRARY"));
        let english_legal = english["categories"].as_array().into_iter().flatten().find(|c| c["code"] == "LEGAL_AID").cloned();
        assert_eq!(english_legal.map(|c| c["name"].clone()), Some(json!("Legal aid")));
    })
    .await;
}
