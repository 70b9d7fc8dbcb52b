//! The mobile contract: the committed SDL and operation files match the code and run.

use std::path::{Path, PathBuf};

use qiao_tests::{DEMO_PASSWORD, T_VILLAGE, TestApp, on_every_database};
use serde_json::{Value, json};

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec")
}

#[test]
fn the_committed_sdl_matches_the_code() {
    let committed = std::fs::read_to_string(spec_dir().join("schema.graphql")).expect("schema.graphql is committed");
    let generated = qiao_server::graphql::sdl();
    assert!(
        committed == generated,
        "mobile-client-spec/schema.graphql is stale: run `cargo run -p qiao-server -- print-schema > mobile-client-spec/schema.graphql`"
    );
}

#[test]
fn the_service_category_enum_has_exactly_the_taxonomy_codes() {
    let taxonomy = qiao_seed::files::taxonomy().expect("taxonomy.json parses");
    let mut from_data: Vec<&str> = taxonomy.categories.iter().map(|c| c.code.as_str()).collect();
    let mut from_code: Vec<&str> =
        qiao_server::graphql::category::ServiceCategory::ALL.iter().map(|c| c.code()).collect();
    from_data.sort_unstable();
    from_code.sort_unstable();
    assert_eq!(from_data, from_code);
}

fn id(kind: &str, key: &str) -> String {
    qiao_seed::rows::derived_id(kind, key)
}

/// Bilingual test text.
fn text() -> Value {
    json!({ "zh": "测试", "en": "Test" })
}

/// A new place inside T village, as the LocationInput of the stewardship operations.
fn location_input() -> Value {
    json!({
        "name": text(), "point": { "lat": 31.1052, "lon": 121.3548 }, "street": text(),
        "district": { "zh": "闵行区", "en": "Minhang District" }, "city": { "zh": "上海市", "en": "Shanghai" },
        "adcode": "310112"
    })
}

/// A new pending suggestion about T village's library, for the operations that decide one.
async fn pending_suggestion(app: &TestApp) -> Value {
    let library = id("service", "sh-tvillage-community-library");
    let data = app
        .data(
            "mutation($id: ID!) { suggestEdit(serviceId: $id, kind: OTHER, comment: \"开放时间变了\") { id } }",
            json!({ "id": library }),
        )
        .await;
    data["suggestEdit"]["id"].clone()
}

/// A new client of T village's social-work station, for the operations that need one of their own.
async fn new_client(app: &TestApp, name: &str) -> Value {
    let worker = app.token_of("worker.tvillage").await;
    let data = app
        .data_as(&worker, "mutation($n: String!) { createClient(displayName: $n) { id } }", json!({ "n": name }))
        .await;
    data["createClient"]["id"].clone()
}

/// For each committed operation: the demo account to run it as (None: anonymous) and its
/// variables. Operations that close or archive get targets of their own, so the order in which
/// the files run does not matter.
async fn plan_for(app: &TestApp, operation: &str, referrals: &ReferralFixture) -> (Option<&'static str>, Value) {
    let near = json!({ "lat": T_VILLAGE.0, "lon": T_VILLAGE.1 });
    let library = id("service", "sh-tvillage-community-library");
    let station = id("organization", "sh-tvillage-social-work-station");
    let committee_account = id("account", "committee.tvillage");
    let t_area = id("stewardship_area", "sh-t-village-area");
    let t_village = id("urban_village", "sh-t-village");
    let demo_client = id("client", "demo-client");
    let legal_aid_org = id("organization", "sh-minhang-legal-aid-centre");
    match operation {
        "NearbyServices" => {
            (None, json!({ "near": near, "radiusMeters": 3000, "categories": ["LEGAL_AID"], "first": 5 }))
        }
        "ServiceDetail" => {
            let data = app
                .data(
                    "query { nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000, categories: [LEGAL_AID]) { edges { node { id } } } }",
                    json!({}),
                )
                .await;
            (None, json!({ "id": data["nearbyServices"]["edges"][0]["node"]["id"] }))
        }
        "DirectorySnapshot" => (None, json!({ "near": near, "radiusMeters": 3000 })),
        "DirectoryChanges" => {
            let data = app
                .data(
                    "query($near: GeoPointInput!) { directorySnapshot(near: $near, radiusMeters: 3000) { cursor } }",
                    json!({ "near": near }),
                )
                .await;
            (None, json!({ "since": data["directorySnapshot"]["cursor"], "near": near, "radiusMeters": 3000 }))
        }
        "CheckEligibility" => (
            None,
            json!({ "serviceId": id("service", "sh-waihuan-road-primary-enrolment"),
                    "situation": { "residencePermitMonths": 12, "socialInsuranceMonths": 3, "childAge": 7 } }),
        ),
        "UrbanVillageAt" => (None, json!({ "point": near })),
        "UrbanVillages" => (None, json!({ "city": "上海", "first": 10 })),
        "ServicesInRegion" => (None, json!({ "adcode": "520524", "categories": ["SCHOOL", "EMPLOYMENT"], "first": 5 })),
        "Categories" => (None, json!({})),
        "ListingHistory" => (Some("committee.tvillage"), json!({ "id": library })),
        "StaleListings" => (Some("committee.tvillage"), json!({ "olderThanDays": 20 })),
        "MyListings" => (Some("committee.tvillage"), json!({ "first": 5, "datum": "GCJ02" })),
        "MyAreaBoundaries" => (Some("committee.tvillage"), json!({ "datum": "WGS84" })),
        "ServiceHours" => (Some("provider.legalaid"), json!({ "id": id("service", "sh-minhang-legal-aid") })),
        "CreateOrganization" => (
            Some("committee.tvillage"),
            json!({ "input": { "name": text(), "description": text() }, "location": location_input() }),
        ),
        "UpdateOrganization" => {
            (Some("committee.tvillage"), json!({ "id": station, "input": { "website": "https://example.org" } }))
        }
        "ArchiveOrganization" => {
            (Some("committee.tvillage"), json!({ "id": id("organization", "sh-tvillage-committee") }))
        }
        "CreateLocation" => {
            (Some("committee.tvillage"), json!({ "organizationId": station, "input": location_input() }))
        }
        "UpdateLocation" => (
            Some("committee.tvillage"),
            json!({ "id": id("location", "sh-loc-tvillage-library-room"), "input": { "transportation": text() } }),
        ),
        "ArchiveLocation" => {
            (Some("committee.tvillage"), json!({ "id": id("location", "sh-loc-tvillage-women-room") }))
        }
        "CreateService" => (
            Some("committee.tvillage"),
            json!({ "organizationId": station, "input": {
                "name": text(), "description": text(), "category": "LIBRARY",
                "locationIds": [id("location", "sh-loc-tvillage-library-room")], "languages": ["zh"],
                "costs": [{ "option": text(), "amountYuan": 0 }] } }),
        ),
        "UpdateService" => (Some("committee.tvillage"), json!({ "id": library, "input": { "description": text() } })),
        "VerifyService" => (Some("committee.tvillage"), json!({ "id": library })),
        "VillageReport" => (Some("committee.tvillage"), json!({ "villageId": t_village })),
        "ServiceOutcomes" => (Some("committee.tvillage"), json!({ "serviceId": library })),
        "OrganizationOutcomes" => (Some("worker.tvillage"), json!({ "organizationId": station, "months": 3 })),
        "CategoryOutcomes" => (Some("committee.tvillage"), json!({ "category": "LIBRARY", "villageId": t_village })),
        "CloseServiceTemporarily" => {
            (Some("committee.tvillage"), json!({ "id": id("service", "sh-tvillage-tai-chi"), "reason": text() }))
        }
        "ReopenService" => (Some("committee.tvillage"), json!({ "id": id("service", "sh-tvillage-summer-camp") })),
        "ArchiveService" => (Some("committee.tvillage"), json!({ "id": id("service", "sh-tvillage-outdoor-films") })),
        "SetServiceHours" => (
            Some("provider.legalaid"),
            json!({ "id": id("service", "sh-minhang-legal-aid"),
                    "hours": [{ "days": ["MO", "TU", "WE", "TH", "FR"], "opens": "09:00", "closes": "17:00" }],
                    "exceptions": [{ "date": "2027-01-01", "reason": text() }] }),
        ),
        "SetServiceEligibility" => (
            Some("committee.tvillage"),
            json!({ "id": library, "requirements": [{ "kind": "HUKOU_ANYWHERE" }], "description": text() }),
        ),
        "SetServiceCapacity" => {
            (Some("provider.legalaid"), json!({ "id": id("service", "sh-minhang-legal-aid"), "status": "WAITLIST" }))
        }
        "SetServiceAlert" => {
            (Some("provider.legalaid"), json!({ "id": id("service", "sh-minhang-legal-aid"), "alert": text() }))
        }
        "Accounts" => (Some("admin"), json!({ "first": 10 })),
        "Areas" => (Some("admin"), json!({})),
        "CreateAccount" => (
            Some("admin"),
            json!({ "input": { "username": "new.worker", "displayName": "新社工 / New worker", "password": "a-long-password",
                                "role": "SOCIAL_WORKER", "organizationId": station } }),
        ),
        // On the migrant account, whose operations (Login, Me, RefreshToken) sort before these:
        // the social worker's operations (WithdrawConsent, …) run after them.
        "SetAccountDisabled" => (Some("admin"), json!({ "id": id("account", "migrant.demo"), "disabled": true })),
        "ResetPassword" => {
            (Some("admin"), json!({ "id": id("account", "migrant.demo"), "newPassword": "another-long-password" }))
        }
        "ChangeAccountRole" => {
            (Some("admin"), json!({ "id": committee_account, "role": "COMMITTEE_STAFF", "areaIds": [t_area] }))
        }
        "CreateArea" => (
            Some("admin"),
            json!({ "input": { "nameZh": "X村片区", "nameEn": "X village area", "villageIds": [id("urban_village", "sh-x-village")] } }),
        ),
        "UpdateArea" => (
            Some("admin"),
            json!({ "id": t_area, "input": { "nameZh": "T村片区", "nameEn": "T village area", "villageIds": [t_village] } }),
        ),
        "SuggestEdit" => (
            None,
            json!({ "serviceId": library, "kind": "WRONG_PHONE", "proposedValue": "021-54861802",
                    "idempotencyKey": "contract-suggest-edit" }),
        ),
        "EditSuggestions" => (Some("committee.tvillage"), json!({ "first": 10 })),
        "AcceptEditSuggestion" => (Some("committee.tvillage"), json!({ "id": pending_suggestion(app).await })),
        "RejectEditSuggestion" => {
            (Some("committee.tvillage"), json!({ "id": pending_suggestion(app).await, "reason": "已核实，信息无误" }))
        }
        "ImportListingsCsv" => (
            Some("committee.tvillage"),
            json!({ "csv": "name_zh,name_en,category,address_zh,district_zh,city_zh,adcode,lat,lon,hours,cost\n\
                            T村儿童绘本角,T village picture-book corner,LIBRARY,T村活动室二楼,闵行区,上海市,310112,\
                            31.1052,121.3546,SA-SU 09:00-11:00,0\n" }),
        ),
        "ReferralsChangedSince" => (Some("provider.legalaid"), json!({ "first": 10 })),
        // From the very start of the log, so the demo referral's news (if any) is replayed.
        "ReferralStatusChanged" => {
            use base64::Engine;
            let start = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("e1:0");
            (Some("provider.legalaid"), json!({ "since": start }))
        }
        "Me" => (Some("migrant.demo"), json!({})),
        "Login" => (None, json!({ "username": "migrant.demo", "password": DEMO_PASSWORD })),
        // Each needs a refresh token of its own: a spent one would be refused.
        "RefreshToken" | "Logout" => {
            (None, json!({ "refreshToken": app.login("migrant.demo", DEMO_PASSWORD).await.1 }))
        }
        "RegisterMigrant" => {
            (None, json!({ "login": "contract.migrant", "password": "contract-password", "displayName": "合同测试" }))
        }
        "ExportDirectory" => (Some("admin"), json!({ "format": "JSON_DATAPACKAGE" })),
        "ImportDirectory" => {
            // The directory's own export: importing it again changes nothing.
            let admin = app.token_of("admin").await;
            let response = app
                .graphql_as(
                    &admin,
                    "query { exportDirectory(format: JSON_DATAPACKAGE) { files { name content } } }",
                    json!({}),
                )
                .await;
            (Some("admin"), json!({ "files": response["data"]["exportDirectory"]["files"] }))
        }
        "CreateReferral" => (
            Some("worker.tvillage"),
            json!({ "clientId": referrals.client_id, "serviceId": crate::referrals::legal_aid_service(), "live": true,
                    "needs": "拖欠工资 / unpaid wages", "idempotencyKey": "contract-create" }),
        ),
        "TransitionReferral" => (Some("provider.legalaid"), json!({ "id": referrals.live["id"], "to": "ACCEPTED" })),
        "Referral" => (Some("provider.legalaid"), json!({ "id": referrals.live["id"] })),
        "ReferralByCode" => (None, json!({ "code": referrals.live["code"] })),
        "ReferralFeedback" => {
            (None, json!({ "code": referrals.live["code"], "gotHelp": true, "idempotencyKey": "fb" }))
        }
        "AddReferralNote" => {
            (Some("provider.legalaid"), json!({ "id": referrals.live["id"], "note": "已联系 / contacted" }))
        }
        "MyCaseload" => (Some("worker.tvillage"), json!({ "first": 10 })),
        "ReferralInbox" | "ReferralCounts" => (Some("provider.legalaid"), json!({ "first": 10 })),
        "ForwardReferral" => (
            Some("provider.legalaid"),
            json!({ "id": referrals.to_forward["id"], "serviceId": id("service", "gz-zhijin-legal-aid"),
                    "reason": "户籍在织金 / hukou in Zhijin" }),
        ),
        "CreateClient" => (
            Some("worker.tvillage"),
            json!({ "displayName": "合同测试客户", "phone": "13800001111", "preferredLanguage": "yue" }),
        ),
        "Client" => (Some("worker.tvillage"), json!({ "id": demo_client })),
        "Clients" => (Some("worker.tvillage"), json!({ "first": 10 })),
        "ClientByPhone" => (Some("worker.tvillage"), json!({ "phone": "139 1234 5678" })),
        "ClientConsents" => (Some("worker.tvillage"), json!({ "clientId": demo_client })),
        "ClientReferrals" => (Some("worker.tvillage"), json!({ "clientId": demo_client, "first": 10 })),
        "LinkClients" => {
            let child = new_client(app, "合同测试孩子").await;
            (
                Some("worker.tvillage"),
                json!({ "clientId": child, "relatedClientId": demo_client, "relation": "CHILD_OF" }),
            )
        }
        "RecordConsent" => (
            Some("worker.tvillage"),
            json!({ "clientId": demo_client, "recipientOrganizationId": legal_aid_org, "purpose": "法律援助转介" }),
        ),
        "WithdrawConsent" => {
            let worker = app.token_of("worker.tvillage").await;
            let data = app
                .data_as(
                    &worker,
                    "mutation($c: ID!, $o: ID!) { recordConsent(clientId: $c, recipientOrganizationId: $o, purpose: \"撤回测试\") { id } }",
                    json!({ "c": demo_client, "o": legal_aid_org }),
                )
                .await;
            (Some("worker.tvillage"), json!({ "consentId": data["recordConsent"]["id"] }))
        }
        "UpdateClient" => (
            Some("worker.tvillage"),
            json!({ "id": new_client(app, "合同测试修改").await, "phone": "13800002222", "sensitiveKinds": ["HEALTH"] }),
        ),
        "EraseClient" => (Some("admin"), json!({ "clientId": new_client(app, "合同测试删除").await })),
        other => panic!("no plan for operation {other}: add it to plan_for in contract.rs"),
    }
}

/// Referrals for the referral operations: a client with consent for the legal aid centre, a live
/// referral to it and another to forward. (Until the clients API and the demo client are merged
/// here, the client is written straight to the database.)
struct ReferralFixture {
    client_id: String,
    live: Value,
    to_forward: Value,
}

impl ReferralFixture {
    async fn make(app: &TestApp, worker: &str) -> Self {
        use crate::referrals::{insert_client, insert_consent, legal_aid_centre, legal_aid_service, station};
        let client_id = insert_client(app, &station(), "合同测试 / Contract test", Some("13900009999")).await;
        insert_consent(app, &client_id, &legal_aid_centre(), "display_name,phone").await;
        let create = "mutation($c: ID!, $s: ID!, $k: String!) { createReferral(clientId: $c, serviceId: $s, live: true, \
                      idempotencyKey: $k) { id code } }";
        let mut made = Vec::new();
        for key in ["fixture-1", "fixture-2"] {
            let data = app.data_as(worker, create, json!({ "c": client_id, "s": legal_aid_service(), "k": key })).await;
            made.push(data["createReferral"].clone());
        }
        Self { client_id, to_forward: made.pop().unwrap_or_default(), live: made.pop().unwrap_or_default() }
    }
}

/// Whether `document` declares a query, mutation or subscription called exactly `name`.
fn declares_operation(document: &str, name: &str) -> bool {
    ["query", "mutation", "subscription"].iter().any(|keyword| declares_operation_kind(document, keyword, name))
}

fn declares_operation_kind(document: &str, keyword: &str, name: &str) -> bool {
    let declaration = format!("{keyword} {name}");
    document
        .match_indices(&declaration)
        .any(|(at, _)| !document[at + declaration.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
}

/// Runs a subscription file over `GET /graphql/ws`: the server must accept it and, for whatever
/// it delivers within a second, answer without errors.
async fn run_subscription(app: &TestApp, token: Option<&str>, operation: &str, document: &str, variables: Value) {
    let token = token.unwrap_or_else(|| panic!("{operation}: subscriptions need an account in plan_for"));
    let mut subscription = app.subscribe(token, document, variables).await;
    match subscription.next_event(std::time::Duration::from_secs(1)).await {
        // Running, and nothing to tell yet.
        None => {}
        Some(qiao_tests::SocketEvent::Next(payload)) => {
            assert!(payload.get("errors").is_none(), "{operation} failed: {payload}");
            let root = payload["data"].as_object().and_then(|o| o.values().next()).expect("one root field");
            assert!(!root.is_null(), "{operation} delivered null");
        }
        Some(other) => panic!("{operation} was refused: {other:?}"),
    }
    subscription.close().await;
}

#[test]
fn an_operation_is_recognised_by_its_query_or_mutation_name() {
    assert!(declares_operation("query Me {\n  me { id }\n}", "Me"));
    assert!(declares_operation("mutation Login($username: String!) { login }", "Login"));
    assert!(!declares_operation("query MeAndMore { me { id } }", "Me"));
    assert!(declares_operation("subscription Me { me }", "Me"));
    assert!(!declares_operation("subscription MeToo { me }", "Me"));
    assert!(!declares_operation("{ me { id } }", "Me"));
}

#[tokio::test]
async fn every_operation_file_runs_against_the_demo_data() {
    on_every_database(|app| async move {
        let mut files: Vec<PathBuf> = std::fs::read_dir(spec_dir().join("operations"))
            .expect("operations directory")
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "graphql"))
            .collect();
        files.sort();
        assert!(files.len() >= 3, "the fixed operations are committed");
        // Sign everyone in first: some operations change accounts.
        let mut tokens = std::collections::HashMap::new();
        for account in ["committee.tvillage", "provider.legalaid", "admin", "migrant.demo", "worker.tvillage"] {
            tokens.insert(account, app.token_of(account).await);
        }
        let referrals = ReferralFixture::make(&app, &tokens["worker.tvillage"]).await;
        for file in files {
            let operation = file.file_stem().and_then(|s| s.to_str()).expect("file name").to_owned();
            let document = std::fs::read_to_string(&file).expect("operation file");
            assert!(
                declares_operation(&document, &operation),
                "{} must hold one operation named after the file",
                file.display()
            );
            let (account, variables) = plan_for(&app, &operation, &referrals).await;
            if declares_operation_kind(&document, "subscription", &operation) {
                run_subscription(&app, account.map(|a| tokens[a].as_str()), &operation, &document, variables).await;
                continue;
            }
            let response = match account {
                Some(account) => app.graphql_as(&tokens[account], &document, variables).await,
                None => app.graphql(&document, variables).await,
            };
            assert!(response.get("errors").is_none(), "{operation} failed: {response}");
            let root = response["data"].as_object().and_then(|o| o.values().next()).expect("one root field");
            assert!(!root.is_null(), "{operation} returned null on the demo data");
        }
    })
    .await;
}

#[tokio::test]
async fn every_type_field_and_argument_of_the_schema_is_documented() {
    on_every_database(|app| async move {
        let data = app
            .data(
                "{ __schema { types { name kind description fields { name description args { name description } } \
                   inputFields { name description } enumValues { name description } } } }",
                json!({}),
            )
            .await;
        let mut undocumented = Vec::new();
        let documented = |value: &Value| value.as_str().is_some_and(|d| !d.trim().is_empty());
        for ty in data["__schema"]["types"].as_array().expect("types") {
            let name = ty["name"].as_str().unwrap_or_default();
            if name.starts_with("__") || ty["kind"] == "SCALAR" {
                continue;
            }
            if !documented(&ty["description"]) {
                undocumented.push(name.to_owned());
            }
            for field in
                ty["fields"].as_array().into_iter().flatten().chain(ty["inputFields"].as_array().into_iter().flatten())
            {
                if !documented(&field["description"]) {
                    undocumented.push(format!("{name}.{}", field["name"]));
                }
                for argument in field["args"].as_array().into_iter().flatten() {
                    if !documented(&argument["description"]) {
                        undocumented.push(format!("{name}.{}({})", field["name"], argument["name"]));
                    }
                }
            }
            for value in ty["enumValues"].as_array().into_iter().flatten() {
                if !documented(&value["description"]) {
                    undocumented.push(format!("{name}.{}", value["name"]));
                }
            }
        }
        assert!(undocumented.is_empty(), "undocumented: {undocumented:?}");
    })
    .await;
}
