//! Referrals end to end: the status machine by role (refusals change nothing), who sees what
//! (other organisations, committee, migrants and the anonymous see nothing; the provider sees only
//! consented fields, nothing after withdrawal, nothing of a logged referral), idempotent creation,
//! forwarding, the public view and feedback by code, work lists, and a referral home to Zhijin.
//!
//! Clients and consents are written straight to the database here, sealed with the test data key
//! as the server seals them (until the clients API is merged into this branch).

use chrono::Utc;
use qiao_schema::domain::{ConsentMethod, Role};
use qiao_schema::entity::{account, audit_log, client, consent, idempotency_key, referral, referral_event};
use qiao_server::privacy::crypto::{DataCipher, Slot, parse_data_keys};
use qiao_tests::{DEMO_PASSWORD, TestApp, error_code, on_every_database, test_data_keys};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::{Value, json};

pub(crate) fn id(kind: &str, key: &str) -> String {
    qiao_seed::rows::derived_id(kind, key)
}

/// The T village social work station (worker.tvillage's organisation).
pub(crate) fn station() -> String {
    id("organization", "sh-tvillage-social-work-station")
}

pub(crate) fn legal_aid_centre() -> String {
    id("organization", "sh-minhang-legal-aid-centre")
}

pub(crate) fn legal_aid_service() -> String {
    id("service", "sh-minhang-legal-aid")
}

/// The cipher the test server seals with.
fn cipher() -> DataCipher {
    DataCipher::new(parse_data_keys(&test_data_keys()).expect("test data keys"), b"qiao-test-phone-pepper".to_vec())
}

/// Inserts a client of `organization_id`, sealed as the server seals it; returns its id.
pub(crate) async fn insert_client(app: &TestApp, organization_id: &str, name: &str, phone: Option<&str>) -> String {
    insert_client_with_id(app, uuid::Uuid::now_v7().to_string(), organization_id, name, phone).await
}

async fn insert_client_with_id(
    app: &TestApp,
    client_id: String,
    organization_id: &str,
    name: &str,
    phone: Option<&str>,
) -> String {
    let db = app.database().await;
    let cipher = cipher();
    let slot = |field| Slot { table: "client", id: &client_id, field };
    let now = Utc::now();
    client::Entity::insert(client::ActiveModel {
        id: Set(client_id.clone()),
        organization_id: Set(organization_id.to_owned()),
        created_by: Set(id("account", "worker.tvillage")),
        display_name_sealed: Set(cipher.seal(slot("display_name"), name).expect("seal")),
        phone_sealed: Set(phone.map(|p| cipher.seal(slot("phone"), p).expect("seal"))),
        phone_digest: Set(phone.map(|p| cipher.digest(organization_id, p).expect("digest"))),
        preferred_language_sealed: Set(Some(cipher.seal(slot("preferred_language"), "zh-CN").expect("seal"))),
        notes_sealed: Set(None),
        sensitive_kinds: Set(String::new()),
        accepts_messages: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        erased_at: Set(None),
    })
    .exec_without_returning(&db)
    .await
    .expect("insert a client");
    db.close().await.ok();
    client_id
}

/// Inserts a current consent of `client_id` for `recipient` covering `scope`; returns its id.
pub(crate) async fn insert_consent(app: &TestApp, client_id: &str, recipient: &str, scope: &str) -> String {
    let db = app.database().await;
    let consent_id = uuid::Uuid::now_v7().to_string();
    let purpose = cipher()
        .seal(Slot { table: "consent", id: &consent_id, field: "purpose" }, "法律援助 / legal aid")
        .expect("seal");
    consent::Entity::insert(consent::ActiveModel {
        id: Set(consent_id.clone()),
        client_id: Set(client_id.to_owned()),
        recipient_organization_id: Set(recipient.to_owned()),
        data_scope: Set(scope.to_owned()),
        purpose_sealed: Set(purpose),
        method: Set(ConsentMethod::Spoken),
        captured_by: Set(id("account", "worker.tvillage")),
        captured_at: Set(Utc::now()),
        withdrawn_at: Set(None),
        withdrawn_by: Set(None),
    })
    .exec_without_returning(&db)
    .await
    .expect("insert a consent");
    db.close().await.ok();
    consent_id
}

async fn withdraw_consent(app: &TestApp, consent_id: &str) {
    let db = app.database().await;
    consent::Entity::update_many()
        .col_expr(consent::Column::WithdrawnAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .filter(consent::Column::Id.eq(consent_id))
        .exec(&db)
        .await
        .expect("withdraw");
    db.close().await.ok();
}

/// A social worker of another organisation (Guiyang's S village station); returns its token.
async fn other_org_worker(app: &TestApp) -> String {
    let db = app.database().await;
    let hash = qiao_server::auth::password::hash_password(DEMO_PASSWORD.to_owned()).await.expect("hash");
    let now = Utc::now();
    account::Entity::insert(account::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        username: Set(Some("worker.svillage".to_owned())),
        phone_digest: Set(None),
        display_name: Set("S村社工 / S village social worker".to_owned()),
        password_hash: Set(hash),
        role: Set(Role::SocialWorker),
        organization_id: Set(Some(id("organization", "gy-s-village-social-work-station"))),
        disabled: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&db)
    .await
    .expect("insert the other worker");
    db.close().await.ok();
    app.token_of("worker.svillage").await
}

const CREATE: &str = "mutation($clientId: ID!, $serviceId: ID!, $live: Boolean!, $needs: String, $key: String!, \
    $draft: Boolean, $followUpOn: Date) { createReferral(clientId: $clientId, serviceId: $serviceId, live: $live, \
    needs: $needs, idempotencyKey: $key, draft: $draft, followUpOn: $followUpOn) { id code status live } }";

const MOVE: &str = "mutation($id: ID!, $to: ReferralStatus!, $reason: String) { transitionReferral(id: $id, to: $to, reason: $reason) { id status } }";

const READ: &str = "query($id: ID!) { referral(id: $id) { id code status live needs \
    client { displayName phone phoneMasked } events { status at actorRole reasonCode note } } }";

/// Creates a referral as `token` and returns its `{ id code status live }`.
async fn create(app: &TestApp, token: &str, client_id: &str, service_id: &str, live: bool, draft: bool) -> Value {
    let variables = json!({
        "clientId": client_id, "serviceId": service_id, "live": live, "draft": draft,
        "needs": "拖欠工资 / unpaid wages", "key": uuid::Uuid::now_v7().to_string(),
    });
    app.data_as(token, CREATE, variables).await["createReferral"].clone()
}

async fn move_to(app: &TestApp, token: &str, referral_id: &str, to: &str, reason: Option<&str>) -> Value {
    app.graphql_as(token, MOVE, json!({ "id": referral_id, "to": to, "reason": reason })).await
}

/// Everything a refused request could have changed.
async fn fingerprint(db: &DatabaseConnection) -> String {
    let referrals = referral::Entity::find().order_by_asc(referral::Column::Id).all(db).await.expect("referrals");
    let rows: Vec<String> = referrals
        .iter()
        .map(|r| {
            format!(
                "{}:{:?}:{:?}:{:?}:{:?}:{:?}",
                r.id, r.status, r.reason_code, r.updated_at, r.ended_at, r.outcome_sealed
            )
        })
        .collect();
    let events = referral_event::Entity::find().count(db).await.expect("events");
    let audit = audit_log::Entity::find().count(db).await.expect("audit");
    let keys = idempotency_key::Entity::find().count(db).await.expect("keys");
    format!("{rows:?}|{events}|{audit}|{keys}")
}

/// The path from REQUESTED to each status, with who moves: (status, by provider?, reason).
fn path_to(status: &str) -> Vec<(&'static str, bool)> {
    match status {
        "REQUESTED" | "DRAFT" => vec![],
        "ACCEPTED" => vec![("ACCEPTED", true)],
        "REJECTED" => vec![("REJECTED", true)],
        "CANCELLED" => vec![("CANCELLED", false)],
        "ENTERED_IN_ERROR" => vec![("ENTERED_IN_ERROR", false)],
        "IN_PROGRESS" => vec![("ACCEPTED", true), ("IN_PROGRESS", true)],
        "ON_HOLD" => vec![("ACCEPTED", true), ("ON_HOLD", true)],
        "COMPLETED" => vec![("ACCEPTED", true), ("COMPLETED", true)],
        "FAILED" => vec![("ACCEPTED", true), ("FAILED", true)],
        other => panic!("no path to {other}"),
    }
}

const STATUSES: [&str; 10] = [
    "DRAFT",
    "REQUESTED",
    "ACCEPTED",
    "REJECTED",
    "IN_PROGRESS",
    "ON_HOLD",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "ENTERED_IN_ERROR",
];

/// DESIGN.md's machine: who may move from `from` to `to` ("referrer", "provider", "either").
fn mover(from: &str, to: &str) -> Option<&'static str> {
    if to == "ENTERED_IN_ERROR" {
        return (from != "ENTERED_IN_ERROR").then_some("referrer");
    }
    match (from, to) {
        ("DRAFT", "REQUESTED") => Some("referrer"),
        ("REQUESTED", "ACCEPTED" | "REJECTED") => Some("provider"),
        ("REQUESTED" | "ACCEPTED" | "IN_PROGRESS" | "ON_HOLD", "CANCELLED") => Some("either"),
        ("ACCEPTED", "IN_PROGRESS" | "ON_HOLD" | "COMPLETED" | "FAILED") => Some("provider"),
        ("IN_PROGRESS", "ON_HOLD" | "COMPLETED" | "FAILED") => Some("provider"),
        ("ON_HOLD", "IN_PROGRESS" | "COMPLETED" | "FAILED") => Some("provider"),
        _ => None,
    }
}

fn needs_reason(to: &str) -> bool {
    matches!(to, "REJECTED" | "CANCELLED" | "ON_HOLD" | "FAILED")
}

#[tokio::test]
async fn every_move_of_the_machine_succeeds_for_the_right_side_and_every_other_fails_changing_nothing() {
    // Some 1,500 requests from two accounts: above the default per-account rate limit.
    for backend in qiao_tests::backends() {
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "100000")]).await;
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let client_id = insert_client(&app, &station(), "状态机测试", Some("13800000001")).await;
        let db = app.database().await;
        // A referral in `status`, made through the API.
        let referral_in = |status: &'static str| {
            let (app, worker, provider, client_id) = (app.clone(), worker.clone(), provider.clone(), client_id.clone());
            async move {
                let made = create(&app, &worker, &client_id, &legal_aid_service(), false, status == "DRAFT").await;
                let referral_id = made["id"].as_str().expect("an id").to_owned();
                for (to, by_provider) in path_to(status) {
                    let token = if by_provider { &provider } else { &worker };
                    let reason = needs_reason(to).then_some("测试原因 / test reason");
                    let moved = move_to(&app, token, &referral_id, to, reason).await;
                    assert_eq!(moved["data"]["transitionReferral"]["status"], to, "{moved}");
                }
                referral_id
            }
        };
        let mut legal = 0;
        for from in STATUSES {
            for to in STATUSES {
                for (side, token) in [("referrer", &worker), ("provider", &provider)] {
                    let allowed = mover(from, to).is_some_and(|who| who == "either" || who == side);
                    let referral_id = referral_in(from).await;
                    if allowed && needs_reason(to) {
                        let before = fingerprint(&db).await;
                        let refused = move_to(&app, token, &referral_id, to, None).await;
                        assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{from} -> {to} by {side}: {refused}");
                        assert_eq!(fingerprint(&db).await, before, "{from} -> {to} without a reason changed something");
                    }
                    let events_before = events_of(&db, &referral_id).await;
                    let before = fingerprint(&db).await;
                    let response = move_to(&app, token, &referral_id, to, Some("原因 / reason")).await;
                    if allowed {
                        legal += 1;
                        assert_eq!(response["data"]["transitionReferral"]["status"], to, "{from} -> {to} by {side}");
                        assert_eq!(events_of(&db, &referral_id).await, events_before + 1, "an event per move");
                    } else {
                        let want = match mover(from, to) {
                            // The provider has not been sent a draft: it reads as missing.
                            _ if from == "DRAFT" && side == "provider" => "NOT_FOUND",
                            Some(_) => "FORBIDDEN",
                            None => "CONFLICT",
                        };
                        assert_eq!(error_code(&response), Some(want), "{from} -> {to} by {side}: {response}");
                        assert_eq!(fingerprint(&db).await, before, "{from} -> {to} by {side} changed something");
                    }
                }
            }
        }
        assert_eq!(legal, 30, "17 moves of the table (4 by either side) and 9 into entered-in-error");
        db.close().await.ok();
        app.finish().await;
    }
}

async fn events_of(db: &DatabaseConnection, referral_id: &str) -> u64 {
    referral_event::Entity::find()
        .filter(referral_event::Column::ReferralId.eq(referral_id))
        .count(db)
        .await
        .expect("count events")
}

#[tokio::test]
async fn ending_a_referral_sets_when_it_ended_and_when_its_data_is_purged() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let client_id = insert_client(&app, &station(), "保留期", None).await;
        let made = create(&app, &worker, &client_id, &legal_aid_service(), false, false).await;
        let referral_id = made["id"].as_str().expect("id");
        move_to(&app, &provider, referral_id, "ACCEPTED", None).await;
        let done = app
            .data_as(
                &provider,
                "mutation($id: ID!) { transitionReferral(id: $id, to: COMPLETED, outcome: \"已立案 / case opened\") \
                 { acceptedAt endedAt retainUntil outcome } }",
                json!({ "id": referral_id }),
            )
            .await;
        let done = &done["transitionReferral"];
        assert!(done["acceptedAt"].is_string());
        let ended = chrono::DateTime::parse_from_rfc3339(done["endedAt"].as_str().expect("ended")).expect("a time");
        let until = chrono::DateTime::parse_from_rfc3339(done["retainUntil"].as_str().expect("until")).expect("a time");
        assert_eq!((until - ended).num_days(), 180, "QIAO_REFERRAL_RETENTION_DAYS defaults to 180");
        assert_eq!(done["outcome"], "已立案 / case opened", "the provider reads back its own outcome");
        let seen = app
            .data_as(&worker, "query($id: ID!) { referral(id: $id) { outcome } }", json!({ "id": referral_id }))
            .await;
        assert_eq!(seen["referral"]["outcome"], "已立案 / case opened");
    })
    .await;
}

#[tokio::test]
async fn nobody_but_the_two_organisations_can_read_a_referral_by_id_list_or_code_guess() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = insert_client(&app, &station(), "隐私测试", Some("13900001111")).await;
        insert_consent(&app, &client_id, &legal_aid_centre(), "display_name,phone").await;
        let made = create(&app, &worker, &client_id, &legal_aid_service(), true, false).await;
        let referral_id = made["id"].as_str().expect("id").to_owned();
        let other = other_org_worker(&app).await;
        let committee = app.token_of("committee.tvillage").await;
        let migrant = app.token_of("migrant.demo").await;
        let zhijin = app.token_of("provider.zhijin").await;
        let admin = app.token_of("admin").await;
        let variables = json!({ "id": referral_id });
        let unknown = json!({ "id": uuid::Uuid::now_v7().to_string() });
        for (who, token) in [
            ("other org", &other),
            ("committee", &committee),
            ("migrant", &migrant),
            ("other provider", &zhijin),
            ("admin", &admin),
        ] {
            let response = app.graphql_as(token, READ, variables.clone()).await;
            assert!(response.get("errors").is_none(), "{who}: {response}");
            assert!(response["data"]["referral"].is_null(), "{who} read the referral");
            let missing = app.graphql_as(token, READ, unknown.clone()).await;
            assert_eq!(missing, response, "{who}: out of scope reads exactly like missing");
            let moved = move_to(&app, token, &referral_id, "CANCELLED", Some("x")).await;
            assert!(matches!(error_code(&moved), Some("NOT_FOUND" | "FORBIDDEN")), "{who}: {moved}");
            for list in ["myCaseload", "referralInbox"] {
                let listed =
                    app.graphql_as(token, &format!("{{ {list} {{ edges {{ node {{ id }} }} }} }}"), json!({})).await;
                let ids = listed["data"][list]["edges"].to_string();
                assert!(!ids.contains(&referral_id), "{who} listed it in {list}");
            }
        }
        let anonymous = app.graphql(READ, variables.clone()).await;
        assert!(anonymous["data"]["referral"].is_null(), "{anonymous}");
        assert_eq!(
            error_code(&app.graphql("{ myCaseload { edges { node { id } } } }", json!({})).await),
            Some("UNAUTHENTICATED")
        );
        assert_eq!(
            error_code(&app.graphql_as(&committee, "{ referralInbox { edges { node { id } } } }", json!({})).await),
            Some("FORBIDDEN")
        );
        // The other organisation's worker cannot even refer the client.
        let foreign = app
            .graphql_as(
                &other,
                CREATE,
                json!({ "clientId": client_id, "serviceId": legal_aid_service(), "live": false, "key": "k" }),
            )
            .await;
        assert_eq!(error_code(&foreign), Some("NOT_FOUND"));
        // Guessing codes: a wrong code reads null, and look-ups stop at the limit.
        let guess = app.data("query { referralByCode(code: \"0000000000\") { status } }", json!({})).await;
        assert!(guess["referralByCode"].is_null());
        // Denied reads are in the audit trail, with no personal value.
        let db = app.database().await;
        let denied = audit_log::Entity::find()
            .filter(audit_log::Column::RecordId.eq(referral_id.as_str()))
            .filter(audit_log::Column::Allowed.eq(false))
            .count(&db)
            .await
            .expect("audit");
        assert!(denied >= 6, "each refused read is audited as denied ({denied})");
        let all = audit_log::Entity::find().all(&db).await.expect("audit rows");
        assert!(!format!("{all:?}").contains("13900001111") && !format!("{all:?}").contains("隐私测试"));
        db.close().await.ok();
        // The referring worker and the provider do see it.
        let seen = app.data_as(&worker, READ, variables.clone()).await;
        assert_eq!(seen["referral"]["client"]["displayName"], "隐私测试");
        assert_eq!(seen["referral"]["client"]["phone"], "13900001111");
    })
    .await;
}

#[tokio::test]
async fn the_provider_sees_only_consented_fields_nothing_after_withdrawal_and_nothing_of_a_logged_referral() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let client_id = insert_client(&app, &station(), "同意范围", Some("13900002222")).await;
        // Without consent a live referral is refused, with a clear message; a logged one is fine.
        let refused = app
            .graphql_as(
                &worker,
                CREATE,
                json!({ "clientId": client_id, "serviceId": legal_aid_service(), "live": true, "key": "no-consent" }),
            )
            .await;
        assert_eq!(error_code(&refused), Some("CONFLICT"), "{refused}");
        assert!(refused["errors"][0]["message"].as_str().is_some_and(|m| m.contains("consent") && m.contains("同意")));
        let logged = create(&app, &worker, &client_id, &legal_aid_service(), false, false).await;
        let consent_id = insert_consent(&app, &client_id, &legal_aid_centre(), "display_name").await;
        let live = create(&app, &worker, &client_id, &legal_aid_service(), true, false).await;

        let read = |token: String, referral_id: Value| {
            let app = app.clone();
            async move { app.data_as(&token, READ, json!({ "id": referral_id })).await["referral"].clone() }
        };
        let seen = read(provider.clone(), live["id"].clone()).await;
        assert_eq!(seen["client"]["displayName"], "同意范围");
        assert!(seen["client"]["phone"].is_null(), "the phone is not in the consent's scope");
        assert_eq!(seen["needs"], "拖欠工资 / unpaid wages");

        let logged_view = read(provider.clone(), logged["id"].clone()).await;
        assert_eq!(logged_view["status"], "REQUESTED", "the provider sees the logged referral itself");
        assert!(logged_view["client"].is_null() && logged_view["needs"].is_null(), "nothing personal: {logged_view}");

        withdraw_consent(&app, &consent_id).await;
        let after = read(provider.clone(), live["id"].clone()).await;
        assert_eq!(after["status"], "REQUESTED", "the referral stays");
        assert!(after["client"].is_null() && after["needs"].is_null(), "nothing personal after withdrawal: {after}");
        // The provider's own notes stay readable to it; the referrer's are not.
        let note = app
            .data_as(
                &worker,
                "mutation($id: ID!) { addReferralNote(id: $id, note: \"私人备注 / private\") { id } }",
                json!({ "id": live["id"] }),
            )
            .await;
        assert!(note["addReferralNote"]["id"].is_string());
        let events = read(provider.clone(), live["id"].clone()).await["events"].clone();
        assert!(!events.to_string().contains("私人备注"), "{events}");
        // The referrer still sees everything of its own client.
        let own = read(worker.clone(), live["id"].clone()).await;
        assert_eq!(own["client"]["phone"], "13900002222");
        assert_eq!(own["client"]["phoneMasked"], "139****2222");
        assert!(own["events"].to_string().contains("私人备注"));
    })
    .await;
}

#[tokio::test]
async fn a_retried_create_referral_makes_one_referral_and_another_payload_under_the_key_is_a_conflict() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = insert_client(&app, &station(), "幂等", None).await;
        let variables =
            json!({ "clientId": client_id, "serviceId": legal_aid_service(), "live": false, "needs": "a", "key": "retry-1" });
        let first = app.data_as(&worker, CREATE, variables.clone()).await;
        let again = app.data_as(&worker, CREATE, variables.clone()).await;
        assert_eq!(first, again, "the retry returns the first referral");
        let mut other = variables.clone();
        other["needs"] = json!("b");
        let conflict = app.graphql_as(&worker, CREATE, other).await;
        assert_eq!(error_code(&conflict), Some("CONFLICT"), "{conflict}");
        let db = app.database().await;
        let made = referral::Entity::find().filter(referral::Column::ClientId.eq(client_id.as_str())).count(&db).await;
        assert_eq!(made.expect("count"), 1);
        db.close().await.ok();
        // A transition retried with its key answers the referral instead of a CONFLICT.
        let provider = app.token_of("provider.legalaid").await;
        let accept = "mutation($id: ID!) { transitionReferral(id: $id, to: ACCEPTED, idempotencyKey: \"acc-1\") { status } }";
        let referral_id = json!({ "id": first["createReferral"]["id"] });
        let once = app.data_as(&provider, accept, referral_id.clone()).await;
        let twice = app.data_as(&provider, accept, referral_id.clone()).await;
        assert_eq!(once, twice);
        let db = app.database().await;
        assert_eq!(events_of(&db, first["createReferral"]["id"].as_str().expect("id")).await, 2);
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn a_shanghai_worker_refers_a_returning_family_to_the_zhijin_school_office_which_accepts() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let zhijin = app.token_of("provider.zhijin").await;
        let bureau = id("organization", "gz-zhijin-education-bureau");
        let client_id = insert_client(&app, &station(), "返乡家长", Some("13900003333")).await;
        insert_consent(&app, &client_id, &bureau, "display_name,phone,preferred_language").await;
        let school = id("service", "gz-zhijin-school-enrolment");
        let made = create(&app, &worker, &client_id, &school, true, false).await;
        assert_eq!(made["status"], "REQUESTED");
        let inbox = app
            .data_as(&zhijin, "{ referralInbox { edges { node { id status client { displayName } } } } }", json!({}))
            .await;
        let edges = inbox["referralInbox"]["edges"].as_array().expect("edges").clone();
        assert_eq!(edges.len(), 1, "{inbox}");
        assert_eq!(edges[0]["node"]["id"], made["id"]);
        assert_eq!(edges[0]["node"]["client"]["displayName"], "返乡家长");
        let accept = "mutation($id: ID!) { transitionReferral(id: $id, to: ACCEPTED, note: \"周二上午来办理 / come Tuesday morning\") \
                      { status events { status actorRole note } } }";
        let accepted = app.data_as(&zhijin, accept, json!({ "id": made["id"] })).await;
        let accepted = &accepted["transitionReferral"];
        assert_eq!(accepted["status"], "ACCEPTED", "{accepted}");
        assert_eq!(
            accepted["events"],
            json!([
                { "status": "REQUESTED", "actorRole": "social_worker", "note": null },
                { "status": "ACCEPTED", "actorRole": "provider_staff", "note": null },
                { "status": null, "actorRole": "provider_staff", "note": "周二上午来办理 / come Tuesday morning" },
            ])
        );
        let counts = app.data_as(&worker, "{ referralCounts { status count } }", json!({})).await;
        // This one, and the demo referral still waiting at the legal aid centre.
        assert_eq!(
            counts["referralCounts"],
            json!([{ "status": "ACCEPTED", "count": 1 }, { "status": "REQUESTED", "count": 1 }]),
            "{counts}"
        );
        // The Minhang legal aid centre sees none of it.
        let legal = app.token_of("provider.legalaid").await;
        let other_inbox = app
            .data_as(&legal, "{ referralInbox(status: [REQUESTED, ACCEPTED]) { edges { node { id } } } }", json!({}))
            .await;
        // Only the demo referral, none of this family's.
        let theirs: Vec<Value> = other_inbox["referralInbox"]["edges"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|edge| edge["node"]["id"].clone())
            .collect();
        assert!(!theirs.contains(&made["id"]), "{other_inbox}");
        assert_eq!(theirs.len(), 1, "{other_inbox}");
    })
    .await;
}

#[tokio::test]
async fn a_provider_forwards_a_referral_elsewhere_and_the_new_one_is_live_only_with_consent() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let provider = app.token_of("provider.legalaid").await;
        let client_id = insert_client(&app, &station(), "转介他处", Some("13900004444")).await;
        insert_consent(&app, &client_id, &legal_aid_centre(), "display_name,phone").await;
        let made = create(&app, &worker, &client_id, &legal_aid_service(), true, false).await;
        let forward = "mutation($id: ID!, $serviceId: ID!) { forwardReferral(id: $id, serviceId: $serviceId, reason: \"户籍在织金 / hukou in Zhijin\") \
                       { referral { status reasonCode } forwardedTo { id code status live } } }";
        let zhijin_legal_aid = id("service", "gz-zhijin-legal-aid");
        let forwarded = app.data_as(&provider, forward, json!({ "id": made["id"], "serviceId": zhijin_legal_aid })).await;
        let result = &forwarded["forwardReferral"];
        assert_eq!(result["referral"]["status"], "REJECTED");
        assert_eq!(result["referral"]["reasonCode"], "forwarded");
        assert_eq!(result["forwardedTo"]["status"], "REQUESTED");
        assert_eq!(result["forwardedTo"]["live"], false, "no consent names the Zhijin legal aid centre: logged");
        // The social worker follows both; the new one links back.
        let caseload = app.data_as(&worker, "{ myCaseload { edges { node { id status forwardedFromId } } } }", json!({})).await;
        let listed = caseload["myCaseload"]["edges"].to_string();
        assert!(listed.contains(result["forwardedTo"]["id"].as_str().expect("id")), "{listed}");
        assert!(listed.contains(made["id"].as_str().expect("id")));
        // The forwarding provider cannot read the new one; forwarding twice is a CONFLICT.
        let new_view = app.data_as(&provider, READ, json!({ "id": result["forwardedTo"]["id"] })).await;
        assert!(new_view["referral"].is_null());
        let again = app.graphql_as(&provider, forward, json!({ "id": made["id"], "serviceId": zhijin_legal_aid })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"));
        // The person follows the new code.
        let code = result["forwardedTo"]["code"].as_str().expect("code");
        let public = app.data(&format!("{{ referralByCode(code: \"{code}\") {{ status service {{ name }} }} }}"), json!({})).await;
        assert_eq!(public["referralByCode"]["status"], "REQUESTED");
        assert!(public["referralByCode"]["service"]["name"].as_str().is_some_and(|n| n.contains("县法律援助中心")), "{public}");
    })
    .await;
}

#[tokio::test]
async fn the_person_follows_a_referral_by_code_and_gives_feedback_without_an_account_within_the_limit() {
    for backend in qiao_tests::backends() {
        let app =
            TestApp::spawn_configured(backend, true, &[("QIAO_RATE_LIMIT_REFERRAL_LOOKUPS_PER_MINUTE", "4")]).await;
        let worker = app.token_of("worker.tvillage").await;
        let client_id = insert_client(&app, &station(), "代码查询", Some("13900005555")).await;
        let made = create(&app, &worker, &client_id, &legal_aid_service(), false, false).await;
        let code = made["code"].as_str().expect("code").to_owned();
        assert_eq!(code.len(), 10);
        // Case and hyphens do not matter.
        let typed = format!("{}-{}", code[..5].to_lowercase(), &code[5..]);
        let by_code = "query($code: String!) { referralByCode(code: $code) { status code service { name } } }";
        let public = app.data(by_code, json!({ "code": typed })).await;
        assert_eq!(public["referralByCode"]["status"], "REQUESTED");
        assert_eq!(public["referralByCode"]["code"], code.as_str());
        assert!(!public.to_string().contains("代码查询") && !public.to_string().contains("5555"));
        let feedback = "mutation($code: String!) { referralFeedback(code: $code, gotHelp: false, reasonCode: MISSING_DOCUMENTS, idempotencyKey: \"fb-1\") { feedbackGiven } }";
        let given = app.data(feedback, json!({ "code": code })).await;
        assert_eq!(given["referralFeedback"]["feedbackGiven"], true);
        let seen = app
            .data_as(
                &worker,
                "query($id: ID!) { referral(id: $id) { feedback feedbackReason } }",
                json!({ "id": made["id"] }),
            )
            .await;
        assert_eq!(seen["referral"]["feedback"], "could_not");
        assert_eq!(seen["referral"]["feedbackReason"], "missing_documents");
        // The fourth look-up is the last one this minute.
        let third = app.graphql(by_code, json!({ "code": "0000000000" })).await;
        assert!(third["data"]["referralByCode"].is_null());
        let fourth = app.graphql(by_code, json!({ "code": "0000000001" })).await;
        assert!(fourth.get("errors").is_none());
        let refused = app.graphql(by_code, json!({ "code": code })).await;
        assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
        app.finish().await;
    }
}

#[tokio::test]
async fn the_caseload_puts_overdue_follow_ups_first_and_pages_without_repeats() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = insert_client(&app, &station(), "随访", None).await;
        // The test clock stands at 2026-11-25 in China.
        let mut made = Vec::new();
        for follow_up in [None, Some("2026-12-20"), Some("2026-11-20"), Some("2026-11-24")] {
            let variables = json!({ "clientId": client_id, "serviceId": legal_aid_service(), "live": false,
                                     "key": uuid::Uuid::now_v7().to_string(), "followUpOn": follow_up });
            made.push(app.data_as(&worker, CREATE, variables).await["createReferral"]["id"].clone());
        }
        let page = "query($after: String) { myCaseload(first: 3, after: $after) { edges { node { id followUpOn } } pageInfo { hasNextPage endCursor } } }";
        let first = app.data_as(&worker, page, json!({})).await;
        let second = app.data_as(&worker, page, json!({ "after": first["myCaseload"]["pageInfo"]["endCursor"] })).await;
        assert_eq!(first["myCaseload"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(second["myCaseload"]["pageInfo"]["hasNextPage"], false);
        let ids: Vec<Value> = [&first, &second]
            .iter()
            .flat_map(|p| p["myCaseload"]["edges"].as_array().cloned().unwrap_or_default())
            .map(|edge| edge["node"]["id"].clone())
            .collect();
        assert_eq!(ids.len(), 5, "these four and the demo referral, each once: {ids:?}");
        // The demo referral (follow-up in a week) falls between them; the order of these four:
        let ours: Vec<Value> = ids.into_iter().filter(|id| made.contains(id)).collect();
        assert_eq!(ours, vec![made[2].clone(), made[3].clone(), made[1].clone(), made[0].clone()]);
        let bad = app.graphql_as(&worker, page, json!({ "after": "garbage" })).await;
        assert_eq!(error_code(&bad), Some("BAD_USER_INPUT"));
    })
    .await;
}

#[tokio::test]
async fn the_demo_referral_is_seeded_once_and_live_when_the_demo_client_has_consented() {
    on_every_database(|app| async move {
        // The server seeded the demo client (with its consent) and then the demo referral at start.
        let db = app.database().await;
        let again = qiao_server::referrals::demo::seed(&db, &cipher(), Utc::now()).await.expect("seed again");
        assert!(!again, "seeding is idempotent: the demo referral exists already");
        db.close().await.ok();
        let provider = app.token_of("provider.legalaid").await;
        let inbox = app
            .data_as(
                &provider,
                "{ referralInbox { edges { node { live needs client { displayName phone } } } } }",
                json!({}),
            )
            .await;
        let edges = inbox["referralInbox"]["edges"].as_array().cloned().unwrap_or_default();
        assert_eq!(edges.len(), 1, "{inbox}");
        assert_eq!(edges[0]["node"]["live"], true);
        assert_eq!(edges[0]["node"]["client"]["phone"], "13912345678");
    })
    .await;
}

#[tokio::test]
async fn referral_texts_are_nowhere_in_plain_text_in_the_sqlite_file() {
    let app = TestApp::spawn(qiao_tests::Backend::Sqlite).await;
    let worker = app.token_of("worker.tvillage").await;
    let client_id = insert_client(&app, &station(), "明文检查", None).await;
    let variables = json!({ "clientId": client_id, "serviceId": legal_aid_service(), "live": false,
                            "needs": "canary-needs-text 欠薪金丝雀", "key": "plain" });
    let made = app.data_as(&worker, CREATE, variables).await["createReferral"].clone();
    let note = "mutation($id: ID!) { addReferralNote(id: $id, note: \"plaintext-canary-note\") { id } }";
    app.data_as(&worker, note, json!({ "id": made["id"] })).await;
    let path = app.database_url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        bytes.extend(std::fs::read(format!("{path}{suffix}")).unwrap_or_default());
    }
    assert!(!bytes.is_empty(), "the database file at {path}");
    for secret in ["canary-needs-text", "欠薪金丝雀", "plaintext-canary-note", "明文检查"] {
        let found = bytes.windows(secret.len()).any(|window| window == secret.as_bytes());
        assert!(!found, "{secret:?} is in the database file in plain text");
    }
    app.finish().await;
}
