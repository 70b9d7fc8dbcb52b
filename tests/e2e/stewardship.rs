//! Listing stewardship: who may change what, and the history of every change.
//!
//! The matrix runs every role × every mutation × {own area or organisation, another one, an id
//! that does not exist}. Allowed calls succeed; refused ones answer UNAUTHENTICATED (anonymous),
//! FORBIDDEN (a role that may not do it) or NOT_FOUND (out of scope reads like missing), and
//! leave the database exactly as it was.

use qiao_seed::rows::derived_id;
use qiao_tests::{TestApp, error_code, on_every_database};
use sea_orm::{Database, EntityTrait};
use serde_json::{Value, json};

const MISSING: &str = "00000000-0000-7000-8000-000000000000";

/// Ids of one side of the matrix.
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) service: String,
    /// A service that is temporarily closed, for `reopenService`.
    pub(crate) closed_service: String,
    pub(crate) organization: String,
    pub(crate) location: String,
    /// A point (WGS-84) for new places.
    pub(crate) point: (f64, f64),
}

/// Inside T village: the committee's area; the social work station's listings.
pub(crate) fn t_village() -> Target {
    Target {
        service: derived_id("service", "sh-tvillage-community-library"),
        closed_service: derived_id("service", "sh-tvillage-summer-camp"),
        organization: derived_id("organization", "sh-tvillage-social-work-station"),
        location: derived_id("location", "sh-loc-tvillage-library-room"),
        point: (31.1052, 121.3548),
    }
}

/// The legal aid centre: provider.legalaid's organisation, outside T village.
pub(crate) fn legal_aid() -> Target {
    Target {
        service: derived_id("service", "sh-minhang-legal-aid"),
        closed_service: derived_id("service", "sh-minhang-legal-aid"),
        organization: derived_id("organization", "sh-minhang-legal-aid-centre"),
        location: derived_id("location", "sh-loc-minhang-legal-aid-centre"),
        point: (31.1180, 121.3660),
    }
}

fn missing() -> Target {
    Target {
        service: MISSING.into(),
        closed_service: MISSING.into(),
        organization: MISSING.into(),
        location: MISSING.into(),
        point: (31.1052, 121.3548),
    }
}

/// Who may call a mutation.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Allowed {
    /// Committee staff (in their area) and admins.
    Stewards,
    /// Also provider staff (for their own organisation).
    Keepers,
}

pub(crate) const TEXT: &str = r#"{ zh: "测试", en: "Test" }"#;

/// A mutation's name, who may call it, and its document for a target.
pub(crate) type Mutation = (&'static str, Allowed, fn(&Target) -> String);

/// Every stewardship mutation.
pub(crate) fn mutations() -> Vec<Mutation> {
    vec![
        ("createOrganization", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ createOrganization(input: {{ name: {TEXT}, description: {TEXT} }},
                   location: {{ name: {TEXT}, point: {{ lat: {}, lon: {} }}, street: {TEXT}, district: {TEXT}, city: {TEXT}, adcode: "310112" }})
                   {{ id changes {{ field }} }} }}"#,
                t.point.0, t.point.1
            )
        }),
        ("updateOrganization", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ updateOrganization(id: "{}", input: {{ website: "https://example.org" }}) {{ id changes {{ field }} }} }}"#,
                t.organization
            )
        }),
        ("createLocation", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ createLocation(organizationId: "{}", input: {{ name: {TEXT}, point: {{ lat: {}, lon: {} }}, street: {TEXT}, district: {TEXT}, city: {TEXT}, adcode: "310112" }}) {{ id }} }}"#,
                t.organization, t.point.0, t.point.1
            )
        }),
        ("updateLocation", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ updateLocation(id: "{}", input: {{ transportation: {TEXT} }}) {{ id changes {{ field }} }} }}"#,
                t.location
            )
        }),
        ("createService", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ createService(organizationId: "{}", input: {{ name: {TEXT}, description: {TEXT}, category: LIBRARY,
                   locationIds: ["{}"], languages: ["zh"], costs: [{{ option: {TEXT}, amountYuan: 0 }}] }}) {{ id }} }}"#,
                t.organization, t.location
            )
        }),
        ("updateService", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ updateService(id: "{}", input: {{ description: {TEXT} }}) {{ id changes {{ field }} }} }}"#,
                t.service
            )
        }),
        ("verifyService", Allowed::Stewards, |t| {
            format!(r#"mutation {{ verifyService(id: "{}") {{ id }} }}"#, t.service)
        }),
        ("setServiceEligibility", Allowed::Stewards, |t| {
            format!(
                r#"mutation {{ setServiceEligibility(id: "{}", requirements: [{{ kind: RESIDENCE_PERMIT }}, {{ kind: AGE_RANGE, minAge: 6, maxAge: 12 }}]) {{ id }} }}"#,
                t.service
            )
        }),
        ("setServiceHours", Allowed::Keepers, |t| {
            format!(
                r#"mutation {{ setServiceHours(id: "{}", hours: [{{ days: [MO, TU], opens: "08:00", closes: "12:00" }}],
                   exceptions: [{{ date: "2026-12-24", reason: {TEXT} }}]) {{ id changes {{ field }} }} }}"#,
                t.service
            )
        }),
        ("setServiceCapacity", Allowed::Keepers, |t| {
            format!(
                r#"mutation {{ setServiceCapacity(id: "{}", status: WAITLIST, note: {TEXT}) {{ id }} }}"#,
                t.service
            )
        }),
        ("setServiceAlert", Allowed::Keepers, |t| {
            format!(r#"mutation {{ setServiceAlert(id: "{}", alert: {TEXT}) {{ id }} }}"#, t.service)
        }),
        ("reopenService", Allowed::Stewards, |t| {
            format!(r#"mutation {{ reopenService(id: "{}") {{ id }} }}"#, t.closed_service)
        }),
        ("closeServiceTemporarily", Allowed::Stewards, |t| {
            format!(r#"mutation {{ closeServiceTemporarily(id: "{}", reason: {TEXT}) {{ id }} }}"#, t.service)
        }),
        ("archiveService", Allowed::Stewards, |t| {
            format!(r#"mutation {{ archiveService(id: "{}") {{ id }} }}"#, t.service)
        }),
        ("archiveLocation", Allowed::Stewards, |t| {
            format!(r#"mutation {{ archiveLocation(id: "{}") {{ id }} }}"#, t.location)
        }),
        ("archiveOrganization", Allowed::Stewards, |t| {
            format!(r#"mutation {{ archiveOrganization(id: "{}") {{ id }} }}"#, t.organization)
        }),
    ]
}

/// Every row of a table as sorted JSON lines.
async fn dump<E>(db: &sea_orm::DatabaseConnection, entity: E) -> String
where
    E: EntityTrait,
    E::Model: serde::Serialize,
{
    let mut rows: Vec<String> = entity
        .find_all(db)
        .await
        .expect("read a table")
        .iter()
        .map(|row| serde_json::to_string(row).expect("rows serialise"))
        .collect();
    rows.sort();
    rows.join("\n")
}

trait FindAll: EntityTrait {
    async fn find_all(self, db: &sea_orm::DatabaseConnection) -> Result<Vec<Self::Model>, sea_orm::DbErr> {
        Self::find().all(db).await
    }
}

impl<E: EntityTrait> FindAll for E {}

/// Everything stewardship can change, as one string: equal before and after means nothing changed.
pub(crate) async fn fingerprint(app: &TestApp) -> String {
    use qiao_schema::entity::*;
    let db = Database::connect(&app.database_url).await.expect("connect to the test database");
    let parts = [
        dump(&db, organization::Entity).await,
        dump(&db, location::Entity).await,
        dump(&db, address::Entity).await,
        dump(&db, service::Entity).await,
        dump(&db, service_at_location::Entity).await,
        dump(&db, schedule::Entity).await,
        dump(&db, schedule_exception::Entity).await,
        dump(&db, eligibility_requirement::Entity).await,
        dump(&db, service_capacity::Entity).await,
        dump(&db, language::Entity).await,
        dump(&db, cost_option::Entity).await,
        dump(&db, required_document::Entity).await,
        dump(&db, metadata::Entity).await,
    ];
    db.close().await.ok();
    parts.join("\n--\n")
}

async fn run(app: &TestApp, token: Option<&str>, document: &str) -> Value {
    match token {
        Some(token) => app.graphql_as(token, document, json!({})).await,
        None => app.graphql(document, json!({})).await,
    }
}

/// Refused calls, checked as a batch: every successful write appends history rows, so if the
/// database is unchanged after the batch, no call in it wrote anything.
pub(crate) async fn expect_all_refused(app: &TestApp, calls: Vec<(Option<String>, String, String, &'static str)>) {
    let before = fingerprint(app).await;
    for (token, name, document, code) in &calls {
        let response = run(app, token.as_deref(), document).await;
        assert_eq!(error_code(&response), Some(*code), "{name}: {response}");
    }
    assert_eq!(fingerprint(app).await, before, "a refused call changed the database");
}

async fn expect_refused(app: &TestApp, token: Option<&str>, name: &str, document: &str, code: &'static str) {
    expect_all_refused(app, vec![(token.map(str::to_owned), name.to_owned(), document.to_owned(), code)]).await;
}

pub(crate) async fn expect_allowed(app: &TestApp, token: &str, name: &str, document: &str) {
    let response = run(app, Some(token), document).await;
    assert!(response.get("errors").is_none(), "{name} should succeed: {response}");
}

#[tokio::test]
async fn anonymous_callers_and_roles_without_stewardship_change_nothing() {
    on_every_database(|app| async move {
        let migrant = app.token_of("migrant.demo").await;
        let worker = app.token_of("worker.tvillage").await;
        let mut calls = Vec::new();
        for target in [t_village(), legal_aid(), missing()] {
            for (name, _, document) in mutations() {
                let document = document(&target);
                calls.push((None, name.to_owned(), document.clone(), "UNAUTHENTICATED"));
                calls.push((Some(migrant.clone()), name.to_owned(), document.clone(), "FORBIDDEN"));
                calls.push((Some(worker.clone()), name.to_owned(), document, "FORBIDDEN"));
            }
        }
        expect_all_refused(&app, calls).await;
    })
    .await;
}

#[tokio::test]
async fn committee_staff_steward_their_area_and_nothing_else() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let mut calls = Vec::new();
        for (name, _, document) in mutations() {
            // Another area: objects read as missing; a new place there is forbidden. For a new
            // place the point decides (an organisation may have places in many areas).
            let (outside, code) = match name {
                "createOrganization" => (legal_aid(), "FORBIDDEN"),
                "createLocation" => (Target { point: legal_aid().point, ..t_village() }, "FORBIDDEN"),
                _ => (legal_aid(), "NOT_FOUND"),
            };
            calls.push((Some(committee.clone()), name.to_owned(), document(&outside), code));
            if !matches!(name, "createOrganization" | "createLocation") {
                calls.push((Some(committee.clone()), name.to_owned(), document(&missing()), "NOT_FOUND"));
            }
        }
        expect_all_refused(&app, calls).await;
        for (name, _, document) in mutations() {
            expect_allowed(&app, &committee, name, &document(&t_village())).await;
        }
    })
    .await;
}

#[tokio::test]
async fn provider_staff_keep_their_own_hours_capacity_and_alerts_only() {
    on_every_database(|app| async move {
        let provider = app.token_of("provider.legalaid").await;
        let mut calls = Vec::new();
        for (name, allowed, document) in mutations() {
            if allowed == Allowed::Keepers {
                calls.push((Some(provider.clone()), name.to_owned(), document(&t_village()), "NOT_FOUND"));
                calls.push((Some(provider.clone()), name.to_owned(), document(&missing()), "NOT_FOUND"));
            } else {
                for target in [legal_aid(), t_village(), missing()] {
                    calls.push((Some(provider.clone()), name.to_owned(), document(&target), "FORBIDDEN"));
                }
            }
        }
        expect_all_refused(&app, calls).await;
        for (name, allowed, document) in mutations() {
            if allowed == Allowed::Keepers {
                expect_allowed(&app, &provider, name, &document(&legal_aid())).await;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn admins_steward_everywhere_but_missing_ids_are_not_found() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let calls = mutations()
            .into_iter()
            .filter(|(name, _, _)| !matches!(*name, "createOrganization" | "createLocation"))
            .map(|(name, _, document)| (Some(admin.clone()), name.to_owned(), document(&missing()), "NOT_FOUND"))
            .collect();
        expect_all_refused(&app, calls).await;
        let mut closed = legal_aid();
        closed.closed_service = derived_id("service", "sh-tvillage-summer-camp");
        for (name, _, document) in mutations() {
            expect_allowed(&app, &admin, name, &document(&closed)).await;
        }
    })
    .await;
}

const DETAIL: &str = "query($id: ID!) { service(id: $id) { status alert capacity { status } hoursNext7Days { date intervals { opens closes } } } }";

#[tokio::test]
async fn every_change_is_recorded_field_by_field_with_who_and_when() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let library = t_village().service;
        let update = format!(r#"mutation {{ updateService(id: "{library}", input: {{ name: {{ zh: "T村图书室", en: "T village reading room" }} }}) {{ changes {{ field previousValue newValue }} }} }}"#);
        let changed = app.graphql_as(&committee, &update, json!({})).await;
        let changes = changed["data"]["updateService"]["changes"].as_array().cloned().unwrap_or_default();
        let name_en = changes.iter().find(|c| c["field"] == "name_en").cloned().unwrap_or_default();
        assert_eq!(name_en["previousValue"], "T village community library");
        assert_eq!(name_en["newValue"], "T village reading room");

        let history = "query($id: ID!) { listingHistory(id: $id) { nodes { field previousValue newValue action changedBy changedAt } } }";
        let recorded = app.graphql_as(&committee, history, json!({ "id": library })).await;
        let nodes = recorded["data"]["listingHistory"]["nodes"].as_array().cloned().unwrap_or_default();
        let entry = nodes.iter().find(|n| n["field"] == "name_en").cloned().unwrap_or_default();
        assert_eq!(entry["newValue"], "T village reading room");
        assert_eq!(entry["action"], "update");
        assert!(entry["changedBy"].as_str().is_some_and(|who| who.contains("T village committee")));
        assert!(entry["changedAt"].is_string());

        // History is staff-only: the public sees FORBIDDEN; staff of another organisation NOT_FOUND.
        let public = app.graphql(history, json!({ "id": library })).await;
        assert_eq!(error_code(&public), Some("UNAUTHENTICATED"));
        let other = app.graphql_as(&provider, history, json!({ "id": library })).await;
        assert_eq!(error_code(&other), Some("NOT_FOUND"));
        let guarded = app.graphql("query($id: ID!) { service(id: $id) { verifiedBy } }", json!({ "id": library })).await;
        assert_eq!(error_code(&guarded), Some("FORBIDDEN"));
        let staff_view = app.graphql_as(&committee, "query($id: ID!) { service(id: $id) { verifiedBy history(first: 1) { nodes { field } pageInfo { hasNextPage } } } }", json!({ "id": library })).await;
        assert!(staff_view.get("errors").is_none(), "{staff_view}");
        let history = &staff_view["data"]["service"]["history"];
        assert_eq!(history["nodes"].as_array().map(Vec::len), Some(1), "{history}");
        assert_eq!(history["pageInfo"]["hasNextPage"], true, "one page of one change, more to come: {history}");
    })
    .await;
}

#[tokio::test]
async fn provider_changes_show_at_once_in_search_and_detail() {
    on_every_database(|app| async move {
        let provider = app.token_of("provider.legalaid").await;
        let legal = legal_aid().service;
        let hours = format!(
            r#"mutation {{ setServiceHours(id: "{legal}", hours: [{{ days: [MO, TU, WE, TH, FR], opens: "08:30", closes: "12:00" }}]) {{ id }}
               setServiceCapacity(id: "{legal}", status: FULL) {{ id }}
               setServiceAlert(id: "{legal}", alert: {{ zh: "本周搬迁", en: "Moving this week" }}) {{ id }} }}"#
        );
        let response = app.graphql_as(&provider, &hours, json!({})).await;
        assert!(response.get("errors").is_none(), "{response}");
        let detail = app.data(DETAIL, json!({ "id": legal })).await;
        assert_eq!(detail["service"]["capacity"]["status"], "FULL");
        assert_eq!(detail["service"]["alert"], "本周搬迁");
        // Wednesday 2026-11-25 is the first of the seven days.
        assert_eq!(detail["service"]["hoursNext7Days"][0]["intervals"], json!([{ "opens": "08:30", "closes": "12:00" }]));
        // 10:00 on that Wednesday: still open; a search with openNow sees it.
        let search = "{ nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000, categories: [LEGAL_AID], openNow: true) { edges { node { id } } } }";
        assert_eq!(app.data(search, json!({})).await["nearbyServices"]["edges"].as_array().map(Vec::len), Some(1));
        app.clock.set(qiao_tests::china_time(2026, 11, 25, 12, 30));
        assert_eq!(app.data(search, json!({})).await["nearbyServices"]["edges"].as_array().map(Vec::len), Some(0));
    })
    .await;
}

#[tokio::test]
async fn closing_archiving_and_reopening_show_in_search() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let library = t_village().service;
        let search = "{ nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 2000, categories: [LIBRARY]) { edges { node { id status } } } }";
        let status_of = |data: Value| {
            data["nearbyServices"]["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["node"]["id"] == json!(library))
                .map(|e| e["node"]["status"].clone())
        };
        assert_eq!(status_of(app.data(search, json!({})).await), Some(json!("ACTIVE")));
        let close = format!(r#"mutation {{ closeServiceTemporarily(id: "{library}", reason: {{ zh: "装修", en: "Renovation" }}) {{ id }} }}"#);
        assert!(app.graphql_as(&committee, &close, json!({})).await.get("errors").is_none());
        assert_eq!(status_of(app.data(search, json!({})).await), Some(json!("TEMPORARILY_CLOSED")));
        let detail = app.data(DETAIL, json!({ "id": library })).await;
        assert_eq!(detail["service"]["alert"], "装修");
        // Closing twice is a conflict, not a silent success.
        assert_eq!(error_code(&app.graphql_as(&committee, &close, json!({})).await), Some("CONFLICT"));
        let reopen = format!(r#"mutation {{ reopenService(id: "{library}") {{ id }} }}"#);
        assert!(app.graphql_as(&committee, &reopen, json!({})).await.get("errors").is_none());
        assert_eq!(status_of(app.data(search, json!({})).await), Some(json!("ACTIVE")));
        let archive = format!(r#"mutation {{ archiveService(id: "{library}") {{ id }} }}"#);
        assert!(app.graphql_as(&committee, &archive, json!({})).await.get("errors").is_none());
        assert_eq!(status_of(app.data(search, json!({})).await), None);
        assert_eq!(error_code(&app.graphql(DETAIL, json!({ "id": library })).await), Some("NOT_FOUND"));
    })
    .await;
}

#[tokio::test]
async fn stale_listings_are_those_of_my_area_not_verified_recently() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let stale =
            "query($days: Int!) { staleListings(olderThanDays: $days, first: 50) { nodes { id lastVerifiedOn } } }";
        let list = app.graphql_as(&committee, stale, json!({ "days": 20 })).await;
        let ids: Vec<Value> = list["data"]["staleListings"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|n| n["id"].clone())
            .collect();
        assert!(ids.contains(&json!(t_village().service)), "{list}");
        assert!(!ids.contains(&json!(legal_aid().service)), "the legal aid centre is outside T village");
        let dates: Vec<String> = list["data"]["staleListings"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["lastVerifiedOn"].as_str().map(str::to_owned))
            .collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "least recently verified first");
        let verify = format!(r#"mutation {{ verifyService(id: "{}") {{ id }} }}"#, t_village().service);
        assert!(app.graphql_as(&committee, &verify, json!({})).await.get("errors").is_none());
        let after = app.graphql_as(&committee, stale, json!({ "days": 20 })).await;
        assert!(!after.to_string().contains(&t_village().service));
        let detail = app
            .data("query($id: ID!) { service(id: $id) { lastVerifiedOn } }", json!({ "id": t_village().service }))
            .await;
        assert_eq!(detail["service"]["lastVerifiedOn"], "2026-11-25");
        let provider = app.token_of("provider.legalaid").await;
        assert_eq!(error_code(&app.graphql_as(&provider, stale, json!({ "days": 30 })).await), Some("FORBIDDEN"));
        assert_eq!(error_code(&app.graphql_as(&committee, stale, json!({ "days": 0 })).await), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn bad_stewardship_input_is_refused_with_its_field() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let library = t_village().service;
        let cases = [
            format!(r#"mutation {{ setServiceHours(id: "{library}", hours: [{{ days: [MO], opens: "17:00", closes: "09:00" }}]) {{ id }} }}"#),
            format!(r#"mutation {{ setServiceHours(id: "{library}", hours: [{{ days: [MO], opens: "9am", closes: "17:00" }}]) {{ id }} }}"#),
            format!(r#"mutation {{ setServiceEligibility(id: "{library}", requirements: [{{ kind: AGE_RANGE, minAge: 12, maxAge: 6 }}]) {{ id }} }}"#),
            format!(r#"mutation {{ setServiceEligibility(id: "{library}", requirements: [{{ kind: SOCIAL_INSURANCE_MONTHS }}]) {{ id }} }}"#),
            format!(r#"mutation {{ updateService(id: "{library}", input: {{ name: {{ zh: "", en: "x" }} }}) {{ id }} }}"#),
            format!(r#"mutation {{ updateService(id: "{library}", input: {{ costs: [{{ option: {TEXT}, amountYuan: -1 }}] }}) {{ id }} }}"#),
            format!(r#"mutation {{ updateService(id: "{library}", input: {{ languages: ["not a code!"] }}) {{ id }} }}"#),
        ];
        for document in cases {
            expect_refused(&app, Some(&committee), "bad input", &document, "BAD_USER_INPUT").await;
        }
    })
    .await;
}

#[tokio::test]
async fn renaming_an_area_keeps_its_committee_staff_in_charge() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let committee = app.token_of("committee.tvillage").await;
        let rename = "mutation($id: ID!, $village: ID!) { updateArea(id: $id, input: { nameZh: \"T村新片区\", nameEn: \"T village new area\", villageIds: [$village] }) { id } }";
        let variables = json!({
            "id": derived_id("stewardship_area", "sh-t-village-area"),
            "village": derived_id("urban_village", "sh-t-village"),
        });
        let renamed = app.graphql_as(&admin, rename, variables).await;
        assert!(renamed.get("errors").is_none(), "{renamed}");
        let verify = format!(r#"mutation {{ verifyService(id: "{}") {{ id }} }}"#, t_village().service);
        let response = app.graphql_as(&committee, &verify, json!({})).await;
        assert!(response.get("errors").is_none(), "the committee lost its area: {response}");
    })
    .await;
}
