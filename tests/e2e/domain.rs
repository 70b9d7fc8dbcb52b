//! In-process tests of the domain core, on the same fresh databases as the end-to-end tests: the
//! capabilities each role can get, and the scope each capability carries over shared places,
//! services in several areas and organisations reached through a new place.

use std::sync::Arc;

use qiao_schema::datum::LatLon;
use qiao_schema::entity::account;
use qiao_server::DirectoryHandle;
use qiao_server::auth::policy::{
    Admin, Keeper, Scope, Steward, location_in_scope, organization_in_scope, service_in_scope,
};
use qiao_server::auth::{Caller, load_account};
use qiao_server::directory::Directory;
use qiao_server::error::{ApiError, ErrorCode};
use qiao_server::kernel::Store;
use qiao_server::stewardship::{self, LocationFields, Text};
use qiao_tests::{TestApp, on_every_database};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;

use crate::stewardship::{TEXT, legal_aid, t_village};

async fn caller(db: &DatabaseConnection, username: Option<&str>) -> Caller {
    let Some(username) = username else { return Caller::Anonymous };
    let row = account::Entity::find()
        .filter(account::Column::Username.eq(username))
        .one(db)
        .await
        .expect("read accounts")
        .expect("a demo account");
    let account = load_account(db, &row.id).await.expect("load account").expect("an enabled account");
    Caller::Account(Arc::new(account))
}

fn code<T>(result: &Result<T, ApiError>) -> Option<ErrorCode> {
    result.as_ref().err().map(ApiError::code)
}

#[tokio::test]
async fn each_role_gets_exactly_the_capabilities_it_should() {
    on_every_database(|app| async move {
        let db = app.database().await;
        let now = chrono::Utc::now();
        // (admin, steward, keeper) for anonymous and each demo account.
        let expected = [
            (None, [Some(ErrorCode::Unauthenticated); 3]),
            (Some("migrant.demo"), [Some(ErrorCode::Forbidden); 3]),
            (Some("worker.tvillage"), [Some(ErrorCode::Forbidden); 3]),
            (Some("provider.legalaid"), [Some(ErrorCode::Forbidden), Some(ErrorCode::Forbidden), None]),
            (Some("committee.tvillage"), [Some(ErrorCode::Forbidden), None, None]),
            (Some("admin"), [None, None, None]),
        ];
        for (username, [admin, steward, keeper]) in expected {
            let caller = caller(&db, username).await;
            assert_eq!(code(&Admin::of(&db, &caller, now).await), admin, "{username:?} as admin");
            assert_eq!(code(&Steward::of(&db, &caller, now).await), steward, "{username:?} as steward");
            assert_eq!(code(&Keeper::of(&db, &caller, now).await), keeper, "{username:?} as keeper");
        }
        db.close().await.ok();
    })
    .await;
}

/// Whether `scope` may change the service, organisation and place (NOT_FOUND read as "no").
async fn reach(db: &DatabaseConnection, scope: &Scope, service: &str, organization: &str, place: &str) -> [bool; 3] {
    [
        service_in_scope(db, scope, service).await.is_ok(),
        organization_in_scope(db, scope, organization).await.is_ok(),
        location_in_scope(db, scope, place).await.is_ok(),
    ]
}

/// Gives T village's social work station, as an admin, a second place outside the village (near
/// the legal aid centre) and a service delivered at both; returns (service, far place).
pub(crate) async fn share_the_station_with_another_area(app: &TestApp) -> (String, String) {
    let admin = app.token_of("admin").await;
    let station = t_village();
    let (lat, lon) = legal_aid().point;
    let far = app
        .data_as(
            &admin,
            &format!(
                r#"mutation {{ createLocation(organizationId: "{}", input: {{ name: {TEXT}, point: {{ lat: {lat}, lon: {lon} }},
                   street: {TEXT}, district: {TEXT}, city: {TEXT}, adcode: "310112" }}) {{ id }} }}"#,
                station.organization
            ),
            json!({}),
        )
        .await;
    let far_place = far["createLocation"]["id"].as_str().unwrap_or_default().to_owned();
    let created = app
        .data_as(
            &admin,
            &format!(
                r#"mutation {{ createService(organizationId: "{}", input: {{ name: {TEXT}, description: {TEXT},
                   category: LIBRARY, locationIds: ["{}", "{far_place}"], languages: ["zh"],
                   costs: [{{ option: {TEXT}, amountYuan: 0 }}] }}) {{ id }} }}"#,
                station.organization, station.location
            ),
            json!({}),
        )
        .await;
    (created["createService"]["id"].as_str().unwrap_or_default().to_owned(), far_place)
}

#[tokio::test]
async fn capabilities_reach_their_scope_and_no_further_on_shared_and_multi_area_records() {
    on_every_database(|app| async move {
        let now = chrono::Utc::now();
        let (t, legal) = (t_village(), legal_aid());
        // Before sharing: the committee has the whole station, the provider its own centre.
        let db = app.database().await;
        let committee = Steward::of(&db, &caller(&db, Some("committee.tvillage")).await, now).await.expect("steward");
        let provider = Keeper::of(&db, &caller(&db, Some("provider.legalaid")).await, now).await.expect("keeper");
        let admin = Admin::of(&db, &caller(&db, Some("admin")).await, now).await.expect("admin");
        let station = (&t.service, &t.organization, &t.location);
        let centre = (&legal.service, &legal.organization, &legal.location);
        for (scope, on_station, on_centre) in [
            (&committee.scope, [true, true, true], [false, false, false]),
            // Providers keep services (hours, capacity, alerts), not organisations or places.
            (&provider.scope, [false, false, false], [true, false, false]),
            (&admin.scope, [true, true, true], [true, true, true]),
        ] {
            assert_eq!(reach(&db, scope, station.0, station.1, station.2).await, on_station, "{scope:?}");
            assert_eq!(reach(&db, scope, centre.0, centre.1, centre.2).await, on_centre, "{scope:?}");
        }

        // Shared: the station now also has a place outside the village, with a service at both.
        let (shared_service, far_place) = share_the_station_with_another_area(&app).await;
        assert_eq!(
            reach(&db, &committee.scope, &shared_service, &t.organization, &far_place).await,
            [false, false, false],
            "a committee does not reach a service, an organisation or a place outside its area"
        );
        // Its own place in the village it still keeps; a service only there too.
        assert!(location_in_scope(&db, &committee.scope, &t.location).await.is_ok());
        assert!(service_in_scope(&db, &committee.scope, &t.service).await.is_ok());
        assert_eq!(reach(&db, &admin.scope, &shared_service, &t.organization, &far_place).await, [true; 3]);

        // The domain functions themselves refuse, whoever calls them: a new place inside the
        // committee's area does not open another area's organisation to it.
        let directory = Arc::new(DirectoryHandle::new(Directory::load(&db).await.expect("index")));
        let store = Store::new(db.clone(), directory);
        let text = || Text { zh: "测试".into(), en: "Test".into() };
        let fields = LocationFields {
            name: text(),
            point: LatLon::new(t.point.0, t.point.1),
            street: text(),
            district: text(),
            city: text(),
            adcode: "310112".into(),
            postal_code: None,
            transportation: None,
        };
        let result = stewardship::create_location(&store, &committee, &legal.organization, fields).await;
        assert_eq!(code(&result), Some(ErrorCode::NotFound));
        let result = stewardship::archive_organization(&store, &committee, &t.organization).await;
        assert_eq!(code(&result), Some(ErrorCode::NotFound), "the station now spans two areas");
        let result = stewardship::set_service_alert(&store, &committee.keeper(), &shared_service, Some(text())).await;
        assert_eq!(code(&result), Some(ErrorCode::NotFound));
        let result = stewardship::set_service_alert(&store, &provider, &t.service, Some(text())).await;
        assert_eq!(code(&result), Some(ErrorCode::NotFound));
        assert!(stewardship::set_service_alert(&store, &provider, &legal.service, Some(text())).await.is_ok());
        db.close().await.ok();
    })
    .await;
}
