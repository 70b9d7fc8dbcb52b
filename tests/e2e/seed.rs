//! Seed loading and the synthetic generator, through the same database the server uses.

use std::collections::HashMap;

use qiao_schema::datum::LatLon;
use qiao_server::directory::Directory;
use qiao_server::directory::search::NearbyQuery;
use qiao_tests::{china_time, on_every_database, vincenty_m};
use sea_orm::Database;

#[tokio::test]
async fn loading_the_seed_again_changes_nothing() {
    on_every_database(|app| async move {
        let db = Database::connect(&app.database_url).await.expect("connect to the test database");
        let reference = qiao_seed::load_reference_data(&db).await.expect("reference data reloads");
        let demo = qiao_seed::load_demo_directory(&db).await.expect("demo data reloads");
        assert_eq!(reference.inserted_rows, 0);
        assert_eq!(demo.inserted_rows, 0);
        assert!(demo.services >= 40);
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn nearby_search_over_synthetic_data_equals_a_brute_force_scan() {
    on_every_database(|app| async move {
        let db = Database::connect(&app.database_url).await.expect("connect to the test database");
        let synthetic = qiao_seed::synthetic::synthetic_directory(400, 42).expect("generate");
        let report = qiao_seed::load_directory(&db, &[synthetic], &[]).await.expect("load synthetic services");
        assert_eq!(report.services, 400);
        let directory = Directory::load(&db).await.expect("index builds");
        db.close().await.ok();

        let now = china_time(2026, 11, 25, 10, 0);
        // Centres: a few synthetic places themselves, so every search has neighbours.
        for centre in directory.places.iter().step_by(97).map(|p| p.point).take(5) {
            for radius_m in [2_000.0, 30_000.0] {
                let mut expected: HashMap<u32, (u64, String)> = HashMap::new();
                for place in &directory.places {
                    let service = &directory.services[place.service as usize];
                    let distance = vincenty_m((centre.lat, centre.lon), (place.point.lat, place.point.lon));
                    if distance > radius_m || !service.status.is_listed() {
                        continue;
                    }
                    let key = ((distance * 1000.0).round() as u64, place.id.to_string());
                    let best = expected.entry(place.service).or_insert(key.clone());
                    if key < *best {
                        *best = key;
                    }
                }
                let mut expected: Vec<(u64, String)> = expected.into_values().collect();
                expected.sort();
                let found = search_all(&directory, centre, radius_m, now);
                assert_eq!(found.len(), expected.len(), "count within {radius_m} m of {centre:?}");
                for ((found_id, found_mm), (expected_mm, expected_id)) in found.iter().zip(&expected) {
                    assert_eq!(found_id, expected_id);
                    assert!(found_mm.abs_diff(*expected_mm) <= 1, "{found_mm} vs {expected_mm}");
                }
            }
        }
    })
    .await;
}

/// Every page of a search, as (place id, distance in mm).
fn search_all(
    directory: &Directory,
    centre: LatLon,
    radius_m: f64,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let result = directory.nearby(&NearbyQuery {
            centre,
            radius_m,
            categories: None,
            text: None,
            open_now: false,
            languages: Vec::new(),
            free_only: false,
            eligible_without_local_hukou: false,
            situation: None,
            first: 7,
            after: after.clone(),
            now,
        });
        out.extend(result.hits.iter().map(|hit| (hit.cursor.place_id.clone(), hit.cursor.distance_mm)));
        if !result.has_next_page {
            return out;
        }
        after = result.hits.last().map(|hit| hit.cursor.clone());
    }
}
