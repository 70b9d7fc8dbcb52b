//! The domain core's rules, end to end: scope holds for organisations reached through a new place
//! and for records shared between areas; concurrent edits never undo each other.

use qiao_tests::{error_code, on_every_database};
use serde_json::json;

use crate::domain::share_the_station_with_another_area;
use crate::stewardship::{TEXT, Target, expect_all_refused, expect_allowed, legal_aid, mutations, t_village};

fn create_location(organization: &str, point: (f64, f64)) -> String {
    format!(
        r#"mutation {{ createLocation(organizationId: "{organization}", input: {{ name: {TEXT}, point: {{ lat: {}, lon: {} }},
           street: {TEXT}, district: {TEXT}, city: {TEXT}, adcode: "310112" }}) {{ id }} }}"#,
        point.0, point.1
    )
}

#[tokio::test]
async fn a_committee_cannot_take_over_another_areas_organisation_through_a_new_place_in_its_own_area() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let outsider = legal_aid();
        let mut calls = vec![(
            Some(committee.clone()),
            "createLocation".to_owned(),
            create_location(&outsider.organization, t_village().point),
            "NOT_FOUND",
        )];
        // Nor, therefore, anything that the new place would have put in reach.
        for (name, _, document) in mutations() {
            if name != "createOrganization" {
                calls.push((Some(committee.clone()), name.to_owned(), document(&outsider), "NOT_FOUND"));
            }
        }
        expect_all_refused(&app, calls).await;
    })
    .await;
}

#[tokio::test]
async fn a_service_with_places_in_two_areas_is_changed_by_admins_and_by_neither_committee_alone() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let committee = app.token_of("committee.tvillage").await;
        let station = t_village();
        let (service, far_place) = share_the_station_with_another_area(&app).await;
        let shared = Target {
            service: service.clone(),
            closed_service: service.clone(),
            organization: station.organization.clone(),
            location: far_place,
            point: station.point,
        };
        // Every service-, organisation- and far-place-wide change is out of the committee's reach:
        // it would take the listing out of the other area's search too.
        let mut calls = Vec::new();
        for (name, _, document) in mutations() {
            if name != "createOrganization" {
                calls.push((Some(committee.clone()), name.to_owned(), document(&shared), "NOT_FOUND"));
            }
        }
        expect_all_refused(&app, calls).await;
        // Its own place in the village is still the committee's to keep, and the admin may change the
        // shared service.
        expect_allowed(
            &app,
            &committee,
            "updateLocation",
            &format!(
                r#"mutation {{ updateLocation(id: "{}", input: {{ transportation: {TEXT} }}) {{ id }} }}"#,
                station.location
            ),
        )
        .await;
        expect_allowed(
            &app,
            &admin,
            "archiveService",
            &format!(r#"mutation {{ archiveService(id: "{service}") {{ id }} }}"#),
        )
        .await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_edits_of_one_service_keep_every_change() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let service = t_village().service;
        for round in 0..20 {
            let edits = [
                format!(r#"mutation {{ updateService(id: "{service}", input: {{ name: {{ zh: "名称{round}", en: "Name {round}" }} }}) {{ id }} }}"#),
                format!(r#"mutation {{ updateService(id: "{service}", input: {{ description: {{ zh: "说明{round}", en: "About {round}" }} }}) {{ id }} }}"#),
                format!(r#"mutation {{ setServiceAlert(id: "{service}", alert: {{ zh: "通知{round}", en: "Notice {round}" }}) {{ id }} }}"#),
                format!(r#"mutation {{ setServiceCapacity(id: "{service}", status: {}, note: {TEXT}) {{ id }} }}"#, if round % 2 == 0 { "WAITLIST" } else { "FULL" }),
            ];
            let responses = futures_join_all(&app, &admin, &edits).await;
            for response in &responses {
                assert!(response.get("errors").is_none(), "round {round}: {response}");
            }
            let detail = app
                .data(&format!(r#"{{ service(id: "{service}", language: ZH) {{ name description alert }} }}"#), json!({}))
                .await;
            assert_eq!(detail["service"]["name"], format!("名称{round}"), "round {round}: {detail}");
            assert_eq!(detail["service"]["description"], format!("说明{round}"), "round {round}: {detail}");
            assert_eq!(detail["service"]["alert"], format!("通知{round}"), "round {round}: {detail}");
            // And search, which reads the index, saw the last write before it answered.
            let found = app
                .data(
                    &format!(
                        r#"{{ nearbyServices(near: {{ lat: {}, lon: {} }}, radiusMeters: 2000, text: "名称{round}") {{ edges {{ node {{ id }} }} }} }}"#,
                        t_village().point.0,
                        t_village().point.1
                    ),
                    json!({}),
                )
                .await;
            assert_eq!(found["nearbyServices"]["edges"][0]["node"]["id"], service.as_str(), "round {round}: {found}");
        }
        // Nothing was refused as "database is locked" or lost along the way.
        let any_error = app.graphql_as(&admin, "{ __typename }", json!({})).await;
        assert_eq!(error_code(&any_error), None);
    })
    .await;
}

/// Sends the documents at the same time and waits for every answer.
async fn futures_join_all(app: &qiao_tests::TestApp, token: &str, documents: &[String]) -> Vec<serde_json::Value> {
    let mut tasks = Vec::new();
    for document in documents {
        let (app, token, document) = (app.clone(), token.to_owned(), document.clone());
        tasks.push(tokio::spawn(async move { app.graphql_as(&token, &document, json!({})).await }));
    }
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap_or_else(|e| json!({ "errors": [{ "message": e.to_string() }] })));
    }
    responses
}

#[tokio::test]
async fn who_verified_a_listing_is_shown_only_to_staff_who_keep_it() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let library = t_village().service;
        app.data_as(&committee, &format!(r#"mutation {{ verifyService(id: "{library}") {{ id }} }}"#), json!({})).await;
        let query = format!(r#"{{ service(id: "{library}") {{ name verifiedBy }} }}"#);
        let own = app.data_as(&committee, &query, json!({})).await;
        assert!(own["service"]["verifiedBy"].as_str().is_some_and(|v| !v.is_empty()), "{own}");
        // Provider staff of another organisation see the listing, not who keeps it.
        let other = app.graphql_as(&provider, &query, json!({})).await;
        assert!(other.get("errors").is_none(), "{other}");
        assert!(other["data"]["service"]["verifiedBy"].is_null(), "{other}");
        let public = app.graphql(&query, json!({})).await;
        assert_eq!(error_code(&public), Some("FORBIDDEN"), "{public}");
    })
    .await;
}

#[tokio::test]
async fn a_bad_first_place_of_a_new_organisation_is_reported_in_its_location_argument() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let (lat, lon) = t_village().point;
        let response = app
            .graphql_as(
                &committee,
                &format!(
                    r#"mutation {{ createOrganization(input: {{ name: {TEXT}, description: {TEXT} }},
                       location: {{ name: {TEXT}, point: {{ lat: {lat}, lon: {lon} }}, street: {TEXT}, district: {TEXT},
                       city: {TEXT}, adcode: "31011" }}) {{ id }} }}"#
                ),
                json!({}),
            )
            .await;
        assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "location.adcode", "{response}");
    })
    .await;
}
