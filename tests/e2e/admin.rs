//! The admin API: only admins may use it, a refused call changes nothing, and what admins do to
//! accounts and areas takes effect at once.

use qiao_schema::domain::Role;
use qiao_schema::entity::{account, account_area, refresh_token, stewardship_area, stewardship_area_village};
use qiao_tests::{DEMO_PASSWORD, T_VILLAGE, TestApp, error_code, on_every_database};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

const ME: &str = "{ me { id username role organizationId } }";
const ACCOUNTS: &str = "query($role: Role) {
    accounts(role: $role, first: 50) { nodes { id username role organizationId areaIds disabled } } }";
const AREAS: &str = "{ areas { id nameZh nameEn villageIds } }";
const CREATE_ACCOUNT: &str = "mutation($input: CreateAccountInput!) {
    createAccount(input: $input) { id username role organizationId areaIds disabled } }";
const SET_DISABLED: &str =
    "mutation($id: ID!, $disabled: Boolean!) { setAccountDisabled(id: $id, disabled: $disabled) { id disabled } }";
const RESET_PASSWORD: &str =
    "mutation($id: ID!, $password: String!) { resetPassword(id: $id, newPassword: $password) { id } }";
const CHANGE_ROLE: &str = "mutation($id: ID!, $role: Role!, $organizationId: ID, $areaIds: [ID!] = []) {
    changeAccountRole(id: $id, role: $role, organizationId: $organizationId, areaIds: $areaIds) {
      id role organizationId areaIds } }";
const CREATE_AREA: &str = "mutation($input: AreaInput!) { createArea(input: $input) { id nameZh nameEn villageIds } }";
const UPDATE_AREA: &str =
    "mutation($id: ID!, $input: AreaInput!) { updateArea(id: $id, input: $input) { id nameZh nameEn villageIds } }";
const REFRESH: &str = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken } }";

/// Everything the admin API can change, read straight from the database.
async fn snapshot(db: &DatabaseConnection) -> Value {
    json!({
        "account": account::Entity::find().order_by_asc(account::Column::Id).into_json().all(db).await.expect("accounts"),
        "account_area": account_area::Entity::find()
            .order_by_asc(account_area::Column::Id).into_json().all(db).await.expect("account areas"),
        "stewardship_area": stewardship_area::Entity::find()
            .order_by_asc(stewardship_area::Column::Id).into_json().all(db).await.expect("areas"),
        "stewardship_area_village": stewardship_area_village::Entity::find()
            .order_by_asc(stewardship_area_village::Column::Id).into_json().all(db).await.expect("area villages"),
        "refresh_token": refresh_token::Entity::find()
            .order_by_asc(refresh_token::Column::Id).into_json().all(db).await.expect("refresh tokens"),
    })
}

async fn account_row(db: &DatabaseConnection, id: &str) -> account::Model {
    account::Entity::find_by_id(id.to_owned()).one(db).await.expect("read an account").expect("the account exists")
}

async fn area_ids_of(db: &DatabaseConnection, account_id: &str) -> Vec<String> {
    account_area::Entity::find()
        .filter(account_area::Column::AccountId.eq(account_id))
        .all(db)
        .await
        .expect("account areas")
        .into_iter()
        .map(|row| row.area_id)
        .collect()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected a string, got {value}")).to_owned()
}

/// Ids the admin calls need, from the demo data.
struct Fixture {
    admin: String,
    admin_id: String,
    /// T village's urban village.
    village: String,
    /// The stewardship area committee.tvillage looks after.
    area: String,
    /// The T village social-work station (worker.tvillage's organisation).
    organization: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let admin = app.token_of("admin").await;
    let admin_id = text(&app.data_as(&admin, ME, json!({})).await["me"]["id"]);
    let point = json!({ "point": { "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 } });
    let village = text(
        &app.data("query($point: GeoPointInput!) { urbanVillageAt(point: $point) { id } }", point).await["urbanVillageAt"]
            ["id"],
    );
    let committee = app.data_as(&admin, ACCOUNTS, json!({ "role": "COMMITTEE_STAFF" })).await["accounts"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["username"] == "committee.tvillage").cloned())
        .expect("committee.tvillage is listed");
    let area = text(&committee["areaIds"][0]);
    let worker = app.token_of("worker.tvillage").await;
    let organization = text(&app.data_as(&worker, ME, json!({})).await["me"]["organizationId"]);
    Fixture { admin, admin_id, village, area, organization }
}

/// One admin query or mutation with its variables.
struct Call {
    name: &'static str,
    query: &'static str,
    variables: Value,
}

fn every_admin_call(target: &str, fixture: &Fixture) -> Vec<Call> {
    vec![
        Call { name: "accounts", query: ACCOUNTS, variables: json!({}) },
        Call { name: "areas", query: AREAS, variables: json!({}) },
        Call {
            name: "createAccount",
            query: CREATE_ACCOUNT,
            variables: json!({ "input": {
                "username": "matrix.new", "displayName": "New", "password": "matrix-password", "role": "MIGRANT" } }),
        },
        Call { name: "setAccountDisabled", query: SET_DISABLED, variables: json!({ "id": target, "disabled": true }) },
        Call {
            name: "resetPassword",
            query: RESET_PASSWORD,
            variables: json!({ "id": target, "password": "replaced-password" }),
        },
        Call {
            name: "changeAccountRole",
            query: CHANGE_ROLE,
            variables: json!({ "id": target, "role": "SOCIAL_WORKER", "organizationId": fixture.organization }),
        },
        Call {
            name: "createArea",
            query: CREATE_AREA,
            variables: json!({ "input": { "nameZh": "新片区", "nameEn": "New area", "villageIds": [fixture.village] } }),
        },
        Call {
            name: "updateArea",
            query: UPDATE_AREA,
            variables: json!({ "id": fixture.area, "input": {
                "nameZh": "T村片区（新）", "nameEn": "T village area (renamed)", "villageIds": [fixture.village] } }),
        },
    ]
}

#[tokio::test]
async fn only_admins_may_use_the_admin_api_and_a_refused_call_changes_nothing() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let created = app
            .data_as(
                &fixture.admin,
                CREATE_ACCOUNT,
                json!({ "input": { "username": "matrix.target", "displayName": "Target", "password": "target-password", "role": "MIGRANT" } }),
            )
            .await;
        let target = text(&created["createAccount"]["id"]);
        let calls = every_admin_call(&target, &fixture);

        let mut callers = vec![("anonymous", None)];
        for username in ["migrant.demo", "worker.tvillage", "committee.tvillage", "provider.legalaid"] {
            callers.push((username, Some(app.token_of(username).await)));
        }
        let db = app.database().await;
        let before = snapshot(&db).await;
        for (who, token) in &callers {
            let expected = if token.is_some() { "FORBIDDEN" } else { "UNAUTHENTICATED" };
            for call in &calls {
                let response = match token {
                    Some(token) => app.graphql_as(token, call.query, call.variables.clone()).await,
                    None => app.graphql(call.query, call.variables.clone()).await,
                };
                assert_eq!(error_code(&response), Some(expected), "{who} {}: {response}", call.name);
                assert!(response["data"].is_null(), "{who} {}: {response}", call.name);
                assert!(snapshot(&db).await == before, "{who} {}: a refused call changed the database", call.name);
            }
        }

        // The admin may do each.
        for call in &calls {
            let response = app.graphql_as(&fixture.admin, call.query, call.variables.clone()).await;
            assert!(response.get("errors").is_none(), "admin {}: {response}", call.name);
        }
        let target_row = account_row(&db, &target).await;
        assert!(target_row.disabled);
        assert_eq!(target_row.role, Role::SocialWorker);
        assert_eq!(target_row.organization_id.as_deref(), Some(fixture.organization.as_str()));
        let before_accounts = before["account"].as_array().map(Vec::len).unwrap_or_default();
        let accounts = account::Entity::find().all(&db).await.expect("accounts");
        assert_eq!(accounts.len(), before_accounts + 1);
        assert!(accounts.iter().any(|row| row.username.as_deref() == Some("matrix.new") && row.role == Role::Migrant));
        let old_hash = before["account"]
            .as_array()
            .and_then(|rows| rows.iter().find(|row| row["id"] == json!(target)))
            .map(|row| row["password_hash"].clone());
        assert_ne!(old_hash, Some(json!(target_row.password_hash)), "resetPassword replaced the hash");
        let areas = stewardship_area::Entity::find().all(&db).await.expect("areas");
        assert_eq!(areas.len(), before["stewardship_area"].as_array().map(Vec::len).unwrap_or_default() + 1);
        assert!(areas.iter().any(|area| area.id == fixture.area && area.name_en == "T village area (renamed)"));
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn an_admin_call_on_an_id_that_does_not_exist_is_not_found() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let db = app.database().await;
        let before = snapshot(&db).await;
        let missing = "00000000-0000-0000-0000-000000000000";
        let area = json!({ "nameZh": "片区", "nameEn": "Area", "villageIds": [fixture.village] });
        let account = |role: &str, extra: Value| {
            let mut input =
                json!({ "username": "new.staff", "displayName": "New", "password": "staff-password", "role": role });
            if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
                input.extend(extra.clone());
            }
            json!({ "input": input })
        };
        for (what, query, variables) in [
            ("setAccountDisabled", SET_DISABLED, json!({ "id": missing, "disabled": true })),
            ("resetPassword", RESET_PASSWORD, json!({ "id": missing, "password": "replaced-password" })),
            ("changeAccountRole", CHANGE_ROLE, json!({ "id": missing, "role": "MIGRANT" })),
            ("updateArea", UPDATE_AREA, json!({ "id": missing, "input": area })),
            (
                "createArea with a missing village",
                CREATE_AREA,
                json!({ "input": { "nameZh": "片区", "nameEn": "Area", "villageIds": [missing] } }),
            ),
            (
                "createAccount in a missing organisation",
                CREATE_ACCOUNT,
                account("SOCIAL_WORKER", json!({ "organizationId": missing })),
            ),
            (
                "createAccount with a missing area",
                CREATE_ACCOUNT,
                account("COMMITTEE_STAFF", json!({ "areaIds": [missing] })),
            ),
        ] {
            let response = app.graphql_as(&fixture.admin, query, variables).await;
            assert_eq!(error_code(&response), Some("NOT_FOUND"), "{what}: {response}");
            assert!(response["data"].is_null(), "{what}");
        }
        assert!(snapshot(&db).await == before, "a NOT_FOUND call changed the database");
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn create_account_checks_that_organisation_and_areas_fit_the_role() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let db = app.database().await;
        let before = snapshot(&db).await;
        let input = |role: &str, extra: Value| {
            let mut input = json!({ "username": "new.staff", "displayName": "New staff", "password": "staff-password", "role": role });
            if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
                input.extend(extra.clone());
            }
            json!({ "input": input })
        };
        for (what, variables, code, field) in [
            ("committee staff without areas", input("COMMITTEE_STAFF", json!({})), "BAD_USER_INPUT", Some("areaIds")),
            ("provider staff without organisation", input("PROVIDER_STAFF", json!({})), "BAD_USER_INPUT", Some("organizationId")),
            ("social worker without organisation", input("SOCIAL_WORKER", json!({})), "BAD_USER_INPUT", Some("organizationId")),
            (
                "a migrant with an organisation",
                input("MIGRANT", json!({ "organizationId": fixture.organization })),
                "BAD_USER_INPUT",
                Some("organizationId"),
            ),
            ("a migrant with areas", input("MIGRANT", json!({ "areaIds": [fixture.area] })), "BAD_USER_INPUT", Some("areaIds")),
            (
                "an admin with an organisation",
                input("ADMIN", json!({ "organizationId": fixture.organization })),
                "BAD_USER_INPUT",
                Some("organizationId"),
            ),
            ("a short password", input("MIGRANT", json!({ "password": "short" })), "BAD_USER_INPUT", Some("password")),
            ("a phone number as username", input("MIGRANT", json!({ "username": "13912345678" })), "BAD_USER_INPUT", Some("username")),
            ("an empty display name", input("MIGRANT", json!({ "displayName": "  " })), "BAD_USER_INPUT", Some("displayName")),
            ("neither username nor phone", input("MIGRANT", json!({ "username": null })), "BAD_USER_INPUT", Some("username")),
            ("a taken username", input("MIGRANT", json!({ "username": "worker.tvillage" })), "CONFLICT", None),
            ("a taken username in capitals", input("MIGRANT", json!({ "username": "Worker.TVillage" })), "CONFLICT", None),
        ] {
            let response = app.graphql_as(&fixture.admin, CREATE_ACCOUNT, variables).await;
            assert_eq!(error_code(&response), Some(code), "{what}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"].as_str(), field, "{what}: {response}");
        }
        assert!(snapshot(&db).await == before, "a refused createAccount changed the database");

        // Fitting fields are accepted, and the new account signs in.
        let committee =
            app.data_as(&fixture.admin, CREATE_ACCOUNT, input("COMMITTEE_STAFF", json!({ "areaIds": [fixture.area] }))).await;
        assert_eq!(committee["createAccount"]["role"], "COMMITTEE_STAFF");
        assert_eq!(committee["createAccount"]["areaIds"], json!([fixture.area]));
        assert!(committee["createAccount"]["organizationId"].is_null());
        let provider = app
            .data_as(
                &fixture.admin,
                CREATE_ACCOUNT,
                input("PROVIDER_STAFF", json!({ "username": "new.provider", "organizationId": fixture.organization })),
            )
            .await;
        assert_eq!(provider["createAccount"]["organizationId"], json!(fixture.organization));
        let (access, _) = app.login("new.staff", "staff-password").await;
        assert_eq!(app.data_as(&access, ME, json!({})).await["me"]["role"], "COMMITTEE_STAFF");
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn reset_password_signs_the_account_out_and_replaces_its_password() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let (access, refresh_token) = app.login("provider.legalaid", DEMO_PASSWORD).await;
        let id = text(&app.data_as(&access, ME, json!({})).await["me"]["id"]);

        app.data_as(&fixture.admin, RESET_PASSWORD, json!({ "id": id, "password": "a-brand-new-password" })).await;

        let refreshed = app.graphql(REFRESH, json!({ "token": refresh_token })).await;
        assert_eq!(error_code(&refreshed), Some("UNAUTHENTICATED"), "{refreshed}");
        let old = app
            .graphql(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }",
                json!({ "u": "provider.legalaid", "p": DEMO_PASSWORD }),
            )
            .await;
        assert_eq!(error_code(&old), Some("UNAUTHENTICATED"), "{old}");
        let (access, _) = app.login("provider.legalaid", "a-brand-new-password").await;
        assert_eq!(app.data_as(&access, ME, json!({})).await["me"]["username"], "provider.legalaid");

        let short = app.graphql_as(&fixture.admin, RESET_PASSWORD, json!({ "id": id, "password": "short" })).await;
        assert_eq!(error_code(&short), Some("BAD_USER_INPUT"), "{short}");
        assert_eq!(short["errors"][0]["extensions"]["field"], "password");
    })
    .await;
}

#[tokio::test]
async fn a_role_change_takes_effect_on_the_next_request_with_the_same_token() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let worker = app.token_of("worker.tvillage").await;
        let id = text(&app.data_as(&worker, ME, json!({})).await["me"]["id"]);
        let forbidden = app.graphql_as(&worker, ACCOUNTS, json!({})).await;
        assert_eq!(error_code(&forbidden), Some("FORBIDDEN"), "{forbidden}");

        app.data_as(&fixture.admin, CHANGE_ROLE, json!({ "id": id, "role": "ADMIN" })).await;
        // The same access token: its claims never said "social worker"; the database does.
        let me = app.data_as(&worker, ME, json!({})).await;
        assert_eq!(me["me"]["role"], "ADMIN");
        assert!(me["me"]["organizationId"].is_null());
        let listed = app.data_as(&worker, ACCOUNTS, json!({})).await;
        assert!(listed["accounts"]["nodes"].as_array().is_some_and(|nodes| nodes.len() >= 5));

        app.data_as(&fixture.admin, CHANGE_ROLE, json!({ "id": id, "role": "MIGRANT" })).await;
        assert_eq!(app.data_as(&worker, ME, json!({})).await["me"]["role"], "MIGRANT");
        let forbidden = app.graphql_as(&worker, AREAS, json!({})).await;
        assert_eq!(error_code(&forbidden), Some("FORBIDDEN"), "{forbidden}");

        // A role whose organisation or areas do not fit is refused, and changes nothing.
        let refused = app.graphql_as(&fixture.admin, CHANGE_ROLE, json!({ "id": id, "role": "COMMITTEE_STAFF" })).await;
        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{refused}");
        assert_eq!(app.data_as(&worker, ME, json!({})).await["me"]["role"], "MIGRANT");

        let committee = app
            .data_as(
                &fixture.admin,
                CHANGE_ROLE,
                json!({ "id": id, "role": "COMMITTEE_STAFF", "areaIds": [fixture.area] }),
            )
            .await;
        assert_eq!(committee["changeAccountRole"]["areaIds"], json!([fixture.area]));
        assert_eq!(app.data_as(&worker, ME, json!({})).await["me"]["role"], "COMMITTEE_STAFF");
    })
    .await;
}

#[tokio::test]
async fn an_admin_cannot_disable_or_demote_themself() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let db = app.database().await;
        let before = snapshot(&db).await;

        let disable =
            app.graphql_as(&fixture.admin, SET_DISABLED, json!({ "id": fixture.admin_id, "disabled": true })).await;
        assert_eq!(error_code(&disable), Some("CONFLICT"), "{disable}");
        let demote =
            app.graphql_as(&fixture.admin, CHANGE_ROLE, json!({ "id": fixture.admin_id, "role": "MIGRANT" })).await;
        assert_eq!(error_code(&demote), Some("CONFLICT"), "{demote}");

        assert!(snapshot(&db).await == before, "a refused self-change changed the database");
        assert_eq!(app.data_as(&fixture.admin, ME, json!({})).await["me"]["role"], "ADMIN");
        assert!(!account_row(&db, &fixture.admin_id).await.disabled);
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn updating_an_area_keeps_the_committee_staff_who_look_after_it() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let db = app.database().await;
        let committee_id = text(&app.data_as(&app.token_of("committee.tvillage").await, ME, json!({})).await["me"]["id"]);
        assert_eq!(area_ids_of(&db, &committee_id).await, vec![fixture.area.clone()]);

        let updated = app
            .data_as(
                &fixture.admin,
                UPDATE_AREA,
                json!({ "id": fixture.area, "input": {
                    "nameZh": "T村片区（扩大）", "nameEn": "T village area (extended)", "villageIds": [fixture.village],
                    "boundaryGeoJson": "{\"type\":\"Polygon\",\"coordinates\":[[[121.35,31.10],[121.36,31.10],[121.36,31.11],[121.35,31.11],[121.35,31.10]]]}" } }),
            )
            .await;
        assert_eq!(updated["updateArea"]["nameEn"], "T village area (extended)");
        assert_eq!(updated["updateArea"]["villageIds"], json!([fixture.village]));

        // The area's staff are still assigned to it.
        assert_eq!(area_ids_of(&db, &committee_id).await, vec![fixture.area.clone()]);
        let listed = app.data_as(&fixture.admin, ACCOUNTS, json!({ "role": "COMMITTEE_STAFF" })).await;
        let committee = listed["accounts"]["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["id"] == json!(committee_id)).cloned())
            .expect("committee.tvillage is listed");
        assert_eq!(committee["areaIds"], json!([fixture.area]));
        let areas = app.data_as(&fixture.admin, AREAS, json!({})).await;
        let area = areas["areas"]
            .as_array()
            .and_then(|areas| areas.iter().find(|a| a["id"] == json!(fixture.area)).cloned())
            .expect("the area is listed");
        assert_eq!(area["nameZh"], "T村片区（扩大）");
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn an_id_named_twice_in_a_list_argument_counts_once() {
    on_every_database(|app| async move {
        let fixture = fixture(&app).await;
        let db = app.database().await;
        let twice = json!([fixture.area, fixture.area]);

        let created = app
            .graphql_as(
                &fixture.admin,
                CREATE_ACCOUNT,
                json!({ "input": { "username": "twice.committee", "displayName": "Twice", "password": "twice-password",
                                   "role": "COMMITTEE_STAFF", "areaIds": twice } }),
            )
            .await;
        assert!(created.get("errors").is_none(), "{created}");
        assert_eq!(created["data"]["createAccount"]["areaIds"], json!([fixture.area]), "{created}");
        let id = text(&created["data"]["createAccount"]["id"]);
        assert_eq!(area_ids_of(&db, &id).await, vec![fixture.area.clone()]);

        let changed = app
            .graphql_as(&fixture.admin, CHANGE_ROLE, json!({ "id": id, "role": "COMMITTEE_STAFF", "areaIds": twice }))
            .await;
        assert!(changed.get("errors").is_none(), "{changed}");
        assert_eq!(changed["data"]["changeAccountRole"]["areaIds"], json!([fixture.area]), "{changed}");
        assert_eq!(area_ids_of(&db, &id).await, vec![fixture.area.clone()]);

        let villages = json!([fixture.village, fixture.village]);
        let area = app
            .graphql_as(
                &fixture.admin,
                CREATE_AREA,
                json!({ "input": { "nameZh": "重复片区", "nameEn": "Twice area", "villageIds": villages } }),
            )
            .await;
        assert!(area.get("errors").is_none(), "{area}");
        assert_eq!(area["data"]["createArea"]["villageIds"], json!([fixture.village]), "{area}");
        let updated = app
            .graphql_as(
                &fixture.admin,
                UPDATE_AREA,
                json!({ "id": fixture.area, "input": { "nameZh": "T村片区", "nameEn": "T village area", "villageIds": villages } }),
            )
            .await;
        assert!(updated.get("errors").is_none(), "{updated}");
        assert_eq!(updated["data"]["updateArea"]["villageIds"], json!([fixture.village]), "{updated}");
        db.close().await.ok();
    })
    .await;
}
