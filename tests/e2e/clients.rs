//! Clients, household links and consents (issue 8 items 1 and 2): what a social worker records,
//! who can see it, and how consent drives what a provider may see.

use qiao_tests::{TestApp, error_code, on_every_database};
use serde_json::{Value, json};

const CREATE: &str = "mutation($name: String!, $phone: String, $language: String, $notes: String,
    $kinds: [SensitiveKind!], $messages: Boolean, $key: String) {
  createClient(displayName: $name, phone: $phone, preferredLanguage: $language, notes: $notes,
    sensitiveKinds: $kinds, acceptsMessages: $messages, idempotencyKey: $key) {
    id displayName phone phoneMasked preferredLanguage notes sensitiveKinds acceptsMessages erasedAt
  }
}";

const CLIENT: &str = "query($id: ID!) { client(id: $id) { id displayName phone phoneMasked preferredLanguage notes
  sensitiveKinds erasedAt household { clientId relatedClientId relation } } }";

const CLIENTS: &str =
    "query($phone: String, $first: Int, $after: String) { clients(phone: $phone, first: $first, after: $after) {
  edges { cursor node { id displayNameMasked phoneMasked sensitive } } pageInfo { hasNextPage endCursor } } }";

const RECORD_CONSENT: &str = "mutation($client: ID!, $org: ID!, $purpose: String!, $scope: [ClientField!], $method: ConsentMethod) {
  recordConsent(clientId: $client, recipientOrganizationId: $org, purpose: $purpose, dataScope: $scope, method: $method) {
    id dataScope purpose method withdrawnAt } }";

const WITHDRAW: &str = "mutation($id: ID!) { withdrawConsent(consentId: $id) { id withdrawnAt } }";

pub fn id(kind: &str, key: &str) -> String {
    qiao_seed::rows::derived_id(kind, key)
}

pub fn legal_aid_org() -> String {
    id("organization", "sh-minhang-legal-aid-centre")
}

/// Records a client as `token` and returns the `createClient` object.
pub async fn create_client(app: &TestApp, token: &str, variables: Value) -> Value {
    app.data_as(token, CREATE, variables).await["createClient"].clone()
}

/// A social worker of another organisation (T village's neighbourhood committee's), signed in.
pub async fn other_org_worker(app: &TestApp) -> String {
    let admin = app.token_of("admin").await;
    app.data_as(
        &admin,
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }",
        json!({ "input": { "username": "worker.other", "displayName": "别的社工 / Other worker",
            "password": "another-long-password", "role": "SOCIAL_WORKER",
            "organizationId": id("organization", "sh-tvillage-committee") } }),
    )
    .await;
    app.login("worker.other", "another-long-password").await.0
}

#[tokio::test]
async fn a_social_worker_records_a_client_reads_it_whole_and_lists_show_it_masked() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let created = create_client(
            &app,
            &worker,
            json!({ "name": "王小明", "phone": "+86 139-0000-1234", "language": "wuu",
                    "notes": "孩子需要入学 / school place", "kinds": ["CHILD_UNDER_14"], "messages": true }),
        )
        .await;
        assert_eq!(created["displayName"], "王小明");
        assert_eq!(created["phone"], "13900001234");
        assert_eq!(created["phoneMasked"], "139****1234");
        assert_eq!(created["preferredLanguage"], "wuu");
        assert_eq!(created["sensitiveKinds"], json!(["CHILD_UNDER_14"]));
        let client_id = created["id"].as_str().expect("an id").to_owned();

        let read = app.data_as(&worker, CLIENT, json!({ "id": client_id })).await["client"].clone();
        assert_eq!(read["displayName"], "王小明");
        assert_eq!(read["notes"], "孩子需要入学 / school place");
        assert!(read["erasedAt"].is_null());

        // Lists are masked; the phone filter finds by digest, however the number is written.
        let listed = app.data_as(&worker, CLIENTS, json!({ "phone": "139 0000 1234" })).await["clients"].clone();
        assert_eq!(
            listed["edges"][0]["node"],
            json!({ "id": client_id, "displayNameMasked": "王**", "phoneMasked": "139****1234", "sensitive": true })
        );
        assert_eq!(listed["edges"].as_array().map(Vec::len), Some(1));
        let text = listed.to_string();
        assert!(!text.contains("王小明") && !text.contains("13900001234"), "{text}");
        let by_phone =
            app.data_as(&worker, "query { clientByPhone(phone: \"13900001234\") { id phoneMasked } }", json!({})).await;
        assert_eq!(by_phone["clientByPhone"]["id"], client_id.as_str());
        let nobody = app.data_as(&worker, "query { clientByPhone(phone: \"13700000000\") { id } }", json!({})).await;
        assert!(nobody["clientByPhone"].is_null());

        // The whole list pages (the demo client is there too).
        let first = app.data_as(&worker, CLIENTS, json!({ "first": 1 })).await["clients"].clone();
        assert_eq!(first["pageInfo"]["hasNextPage"], true);
        let rest = app.data_as(&worker, CLIENTS, json!({ "first": 5, "after": first["pageInfo"]["endCursor"] })).await
            ["clients"]
            .clone();
        assert!(rest["edges"].as_array().is_some_and(|edges| !edges.is_empty()));
        assert_ne!(rest["edges"][0]["node"]["id"], first["edges"][0]["node"]["id"]);

        // One person, one record: the same phone again is a conflict.
        let again = app.graphql_as(&worker, CREATE, json!({ "name": "另一个人", "phone": "13900001234" })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn a_retried_create_client_with_the_same_key_creates_one_client_and_another_payload_conflicts() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let variables = json!({ "name": "重试客户", "phone": "13600002222", "key": "retry-key-1" });
        let first = create_client(&app, &worker, variables.clone()).await;
        let second = create_client(&app, &worker, variables).await;
        assert_eq!(first["id"], second["id"]);
        assert_eq!(second["displayName"], "重试客户");
        let listed = app.data_as(&worker, CLIENTS, json!({ "phone": "13600002222" })).await;
        assert_eq!(listed["clients"]["edges"].as_array().map(Vec::len), Some(1));
        let other = app.graphql_as(&worker, CREATE, json!({ "name": "别人", "key": "retry-key-1" })).await;
        assert_eq!(error_code(&other), Some("CONFLICT"), "{other}");
    })
    .await;
}

#[tokio::test]
async fn bad_client_values_are_refused_naming_the_argument() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        for (variables, field) in [
            (json!({ "name": "  " }), "displayName"),
            (json!({ "name": "甲", "phone": "12345" }), "phone"),
            (json!({ "name": "甲", "language": "not a language!" }), "preferredLanguage"),
            (json!({ "name": "甲", "messages": true }), "acceptsMessages"),
            (json!({ "name": "甲", "phone": "021-54861801", "messages": true }), "acceptsMessages"),
            (json!({ "name": "甲", "key": "" }), "idempotencyKey"),
        ] {
            let response = app.graphql_as(&worker, CREATE, variables.clone()).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{variables}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], field, "{variables}: {response}");
        }
        // Dialects are language codes too.
        for dialect in ["yue", "wuu", "hak", "nan", "hsn"] {
            let created =
                create_client(&app, &worker, json!({ "name": format!("方言{dialect}"), "language": dialect })).await;
            assert_eq!(created["preferredLanguage"], dialect);
        }
    })
    .await;
}

#[tokio::test]
async fn nobody_but_the_clients_own_organisation_sees_a_client_and_denied_reads_are_audited() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(&app, &worker, json!({ "name": "保密客户", "phone": "13500003333" })).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let other = other_org_worker(&app).await;
        let mut outsiders = vec![("another organisation's social worker", Some(other.clone()))];
        for account in ["committee.tvillage", "provider.legalaid", "migrant.demo", "admin"] {
            outsiders.push((account, Some(app.token_of(account).await)));
        }
        outsiders.push(("the public", None));
        let missing = "00000000-0000-7000-8000-000000000000";
        for (who, token) in &outsiders {
            for id in [client_id.as_str(), missing] {
                let response = match token {
                    Some(token) => app.graphql_as(token, CLIENT, json!({ "id": id })).await,
                    None => app.graphql(CLIENT, json!({ "id": id })).await,
                };
                assert!(response.get("errors").is_none(), "{who}: {response}");
                assert!(response["data"]["client"].is_null(), "{who} read a client: {response}");
            }
        }
        // Lists and by-phone look-ups: another organisation's worker finds nothing; other roles
        // may not list clients at all.
        let listed = app.data_as(&other, CLIENTS, json!({ "phone": "13500003333" })).await;
        assert_eq!(listed["clients"]["edges"], json!([]));
        let by_phone = app.data_as(&other, "query { clientByPhone(phone: \"13500003333\") { id } }", json!({})).await;
        assert!(by_phone["clientByPhone"].is_null());
        let committee = app.token_of("committee.tvillage").await;
        assert_eq!(error_code(&app.graphql_as(&committee, CLIENTS, json!({})).await), Some("FORBIDDEN"));
        assert_eq!(error_code(&app.graphql(CLIENTS, json!({})).await), Some("UNAUTHENTICATED"));
        // Nested and by-id writes read like missing too.
        let consents = app
            .graphql_as(&other, "query($id: ID!) { clientConsents(clientId: $id) { id } }", json!({ "id": client_id }))
            .await;
        assert_eq!(error_code(&consents), Some("NOT_FOUND"), "{consents}");
        let consent = app
            .graphql_as(&other, RECORD_CONSENT, json!({ "client": client_id, "org": legal_aid_org(), "purpose": "x" }))
            .await;
        assert_eq!(error_code(&consent), Some("NOT_FOUND"), "{consent}");

        // Every refused read is in the audit trail, and the chain holds.
        let db = app.database().await;
        use qiao_schema::entity::audit_log;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let rows = audit_log::Entity::find()
            .filter(audit_log::Column::RecordId.eq(client_id.clone()))
            .all(&db)
            .await
            .expect("audit rows");
        let denied = rows.iter().filter(|row| !row.allowed && row.action == "read").count();
        assert_eq!(denied, outsiders.len(), "{rows:#?}");
        assert!(rows.iter().any(|row| row.allowed && row.action == "create"));
        let roles: Vec<&str> = rows.iter().filter(|row| !row.allowed).map(|row| row.role.as_str()).collect();
        for role in ["social_worker", "committee_staff", "provider_staff", "migrant", "admin", "public"] {
            assert!(roles.contains(&role), "no denied read by {role}: {roles:?}");
        }
        let verified = qiao_server::privacy::audit::verify(&db).await.expect("verify runs");
        assert!(verified.is_ok(), "{verified:?}");
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn household_links_join_two_clients_of_one_organisation() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let parent = create_client(&app, &worker, json!({ "name": "家长" })).await["id"].clone();
        let child = create_client(&app, &worker, json!({ "name": "孩子" })).await["id"].clone();
        const LINK: &str = "mutation($c: ID!, $r: ID!, $rel: ClientRelation!) {
            linkClients(clientId: $c, relatedClientId: $r, relation: $rel) { id clientId relatedClientId relation } }";
        let link =
            app.data_as(&worker, LINK, json!({ "c": child, "r": parent, "rel": "CHILD_OF" })).await["linkClients"]
                .clone();
        let again =
            app.data_as(&worker, LINK, json!({ "c": child, "r": parent, "rel": "CHILD_OF" })).await["linkClients"]
                .clone();
        assert_eq!(link["id"], again["id"], "linking again returns the link");
        for id in [&parent, &child] {
            let read = app.data_as(&worker, CLIENT, json!({ "id": id })).await;
            assert_eq!(
                read["client"]["household"],
                json!([{ "clientId": child, "relatedClientId": parent, "relation": "CHILD_OF" }])
            );
        }
        let own = app.graphql_as(&worker, LINK, json!({ "c": child, "r": child, "rel": "CHILD_OF" })).await;
        assert_eq!(error_code(&own), Some("BAD_USER_INPUT"));
        let other = other_org_worker(&app).await;
        let stranger = create_client(&app, &other, json!({ "name": "别家" })).await["id"].clone();
        let across = app.graphql_as(&worker, LINK, json!({ "c": child, "r": stranger, "rel": "RELATIVE_OF" })).await;
        assert_eq!(error_code(&across), Some("NOT_FOUND"), "{across}");
    })
    .await;
}

#[tokio::test]
async fn consent_is_recorded_withdrawn_and_decides_what_a_provider_may_see() {
    on_every_database(|app| async move {
        use qiao_server::clients::ClientField;
        use qiao_server::clients::consent::{self, shared_fields};
        use qiao_server::clock::Clock;
        use qiao_server::privacy::crypto::{DataCipher, parse_data_keys};

        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(
            &app,
            &worker,
            json!({ "name": "同意客户", "phone": "13400004444", "language": "yue", "notes": "私密备注" }),
        )
        .await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        let recorded = app
            .data_as(
                &worker,
                RECORD_CONSENT,
                json!({ "client": client_id, "org": legal_aid_org(), "purpose": "法律援助：欠薪",
                        "scope": ["DISPLAY_NAME", "PREFERRED_LANGUAGE"], "method": "SIGNED" }),
            )
            .await["recordConsent"]
            .clone();
        assert_eq!(recorded["dataScope"], json!(["DISPLAY_NAME", "PREFERRED_LANGUAGE"]));
        assert_eq!(recorded["method"], "SIGNED");
        assert_eq!(recorded["purpose"], "法律援助：欠薪");
        let consent_id = recorded["id"].as_str().expect("an id").to_owned();
        let listed = app
            .data_as(
                &worker,
                "query($id: ID!) { clientConsents(clientId: $id) { id purpose withdrawnAt } }",
                json!({ "id": client_id }),
            )
            .await;
        assert_eq!(
            listed["clientConsents"],
            json!([{ "id": consent_id, "purpose": "法律援助：欠薪", "withdrawnAt": null }])
        );

        // What the referral views build on: the current consent and exactly its fields.
        let db = app.database().await;
        let cipher = DataCipher::new(parse_data_keys(&qiao_tests::test_data_keys()).expect("keys"), vec![]);
        let now = app.clock.now();
        let current = consent::current(&db, &client_id, &legal_aid_org(), now).await.expect("current");
        assert_eq!(current.map(|c| c.id), Some(consent_id.clone()));
        let shared =
            shared_fields(&db, &cipher, &client_id, &legal_aid_org(), now).await.expect("shared").expect("some");
        assert_eq!(shared.fields, vec![ClientField::DisplayName, ClientField::PreferredLanguage]);
        assert_eq!(shared.display_name.as_deref(), Some("同意客户"));
        assert_eq!(shared.preferred_language.as_deref(), Some("yue"));
        assert_eq!((shared.phone, shared.notes), (None, None));
        let station = id("organization", "sh-tvillage-committee");
        assert!(shared_fields(&db, &cipher, &client_id, &station, now).await.expect("shared").is_none());

        let withdrawn = app.data_as(&worker, WITHDRAW, json!({ "id": consent_id })).await["withdrawConsent"].clone();
        assert!(withdrawn["withdrawnAt"].is_string(), "{withdrawn}");
        let again = app.data_as(&worker, WITHDRAW, json!({ "id": consent_id })).await["withdrawConsent"].clone();
        assert_eq!(again, withdrawn, "withdrawing again answers the same");
        assert!(consent::current(&db, &client_id, &legal_aid_org(), now).await.expect("current").is_none());
        assert!(shared_fields(&db, &cipher, &client_id, &legal_aid_org(), now).await.expect("shared").is_none());
        db.close().await.ok();

        let other = other_org_worker(&app).await;
        assert_eq!(error_code(&app.graphql_as(&other, WITHDRAW, json!({ "id": consent_id })).await), Some("NOT_FOUND"));
        let nowhere = app
            .graphql_as(&worker, RECORD_CONSENT, json!({ "client": client_id, "org": "no-such-org", "purpose": "x" }))
            .await;
        assert_eq!(error_code(&nowhere), Some("NOT_FOUND"), "{nowhere}");
        let empty = app
            .graphql_as(
                &worker,
                RECORD_CONSENT,
                json!({ "client": client_id, "org": legal_aid_org(), "purpose": "x", "scope": [] }),
            )
            .await;
        assert_eq!(error_code(&empty), Some("BAD_USER_INPUT"), "{empty}");
        let no_purpose = app
            .graphql_as(&worker, RECORD_CONSENT, json!({ "client": client_id, "org": legal_aid_org(), "purpose": " " }))
            .await;
        assert_eq!(no_purpose["errors"][0]["extensions"]["field"], "purpose", "{no_purpose}");
    })
    .await;
}

#[tokio::test]
async fn the_demo_client_belongs_to_the_t_village_worker_with_a_consent_for_the_legal_aid_centre() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let demo = id("client", "demo-client");
        let read = app.data_as(&worker, CLIENT, json!({ "id": demo })).await["client"].clone();
        assert_eq!(read["displayName"], "演示客户 / Demo Client");
        assert_eq!(read["phone"], "13912345678");
        let consents = app
            .data_as(
                &worker,
                "query($id: ID!) { clientConsents(clientId: $id) { recipientOrganizationId withdrawnAt } }",
                json!({ "id": demo }),
            )
            .await;
        assert_eq!(
            consents["clientConsents"],
            json!([{ "recipientOrganizationId": legal_aid_org(), "withdrawnAt": null }])
        );
    })
    .await;
}

#[tokio::test]
async fn a_social_worker_updates_only_the_fields_given_and_the_audit_row_names_them() {
    on_every_database(|app| async move {
        const UPDATE: &str =
            "mutation($id: ID!, $name: String, $phone: String, $notes: String, $kinds: [SensitiveKind!]) {
          updateClient(id: $id, displayName: $name, phone: $phone, notes: $notes, sensitiveKinds: $kinds) {
            displayName phone notes sensitiveKinds } }";
        let worker = app.token_of("worker.tvillage").await;
        let client_id =
            create_client(&app, &worker, json!({ "name": "改名前", "phone": "13100009999", "notes": "旧备注" })).await
                ["id"]
                .as_str()
                .expect("an id")
                .to_owned();
        let updated = app.data_as(&worker, UPDATE, json!({ "id": client_id, "phone": "", "kinds": ["HEALTH"] })).await
            ["updateClient"]
            .clone();
        assert_eq!(
            updated,
            json!({ "displayName": "改名前", "phone": null, "notes": "旧备注", "sensitiveKinds": ["HEALTH"] })
        );
        let found = app.data_as(&worker, CLIENTS, json!({ "phone": "13100009999" })).await;
        assert_eq!(found["clients"]["edges"], json!([]), "the old phone no longer finds the client");
        create_client(&app, &worker, json!({ "name": "别人", "phone": "13100001111" })).await;
        let taken = app.graphql_as(&worker, UPDATE, json!({ "id": client_id, "phone": "13100001111" })).await;
        assert_eq!(error_code(&taken), Some("CONFLICT"), "{taken}");
        let bad = app.graphql_as(&worker, UPDATE, json!({ "id": client_id, "name": "" })).await;
        assert_eq!(bad["errors"][0]["extensions"]["field"], "displayName", "{bad}");
        let other = other_org_worker(&app).await;
        let outside = app.graphql_as(&other, UPDATE, json!({ "id": client_id, "notes": "x" })).await;
        assert_eq!(error_code(&outside), Some("NOT_FOUND"), "{outside}");

        let db = app.database().await;
        use qiao_schema::entity::audit_log;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let updates: Vec<String> = audit_log::Entity::find()
            .filter(audit_log::Column::RecordId.eq(client_id.clone()))
            .filter(audit_log::Column::Action.eq("update"))
            .order_by_asc(audit_log::Column::Id)
            .all(&db)
            .await
            .expect("audit rows")
            .into_iter()
            .map(|row| row.fields)
            .collect();
        assert_eq!(updates, vec!["phone,sensitive_kinds".to_owned()]);
        db.close().await.ok();
    })
    .await;
}

const CLIENT_REFERRALS: &str = "query($clientId: ID!, $first: Int, $after: String) {
  client(id: $clientId) { id referrals(first: $first, after: $after) {
    edges { cursor node { id code status live service { name } } } pageInfo { hasNextPage endCursor } } } }";

const CREATE_REFERRAL: &str = "mutation($client: ID!, $service: ID!, $live: Boolean!, $key: String!) {
  createReferral(clientId: $client, serviceId: $service, live: $live, idempotencyKey: $key) { id code status } }";

#[tokio::test]
async fn a_clients_page_lists_its_referrals_newest_first_in_pages_for_its_own_organisation_only() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(&app, &worker, json!({ "name": "转介客户", "phone": "13600004444" })).await["id"]
            .as_str()
            .expect("an id")
            .to_owned();
        app.data_as(&worker, RECORD_CONSENT, json!({ "client": client_id, "org": legal_aid_org(), "purpose": "法律咨询" }))
            .await;
        let service = id("service", "sh-minhang-legal-aid");
        let mut made = Vec::new();
        for (index, live) in [true, false, true].into_iter().enumerate() {
            let referral = app
                .data_as(
                    &worker,
                    CREATE_REFERRAL,
                    json!({ "client": client_id, "service": service, "live": live, "key": format!("client-page-{index}") }),
                )
                .await["createReferral"]
                .clone();
            made.push(referral["id"].as_str().expect("a referral id").to_owned());
        }
        // Another client's referral (the demo client's) is not on this client's page.
        let first = app.data_as(&worker, CLIENT_REFERRALS, json!({ "clientId": client_id, "first": 2 })).await;
        let page = &first["client"]["referrals"];
        let ids: Vec<&str> = page["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["id"].as_str()).collect();
        assert_eq!(ids, vec![made[2].as_str(), made[1].as_str()], "newest first: {first}");
        assert_eq!(page["pageInfo"]["hasNextPage"], true);
        assert_eq!(page["edges"][0]["node"]["status"], "REQUESTED");
        assert!(page["edges"][0]["node"]["service"]["name"].as_str().is_some_and(|name| name.starts_with("免费法律援助")));
        let after = page["pageInfo"]["endCursor"].clone();
        let second =
            app.data_as(&worker, CLIENT_REFERRALS, json!({ "clientId": client_id, "first": 2, "after": after })).await;
        let page = &second["client"]["referrals"];
        let ids: Vec<&str> = page["edges"].as_array().expect("edges").iter().filter_map(|e| e["node"]["id"].as_str()).collect();
        assert_eq!(ids, vec![made[0].as_str()]);
        assert_eq!(page["pageInfo"]["hasNextPage"], false);

        // A cursor of another list, or a page too large, is the caller's mistake.
        let caseload = app.data_as(&worker, "{ myCaseload(first: 1) { pageInfo { endCursor } } }", json!({})).await;
        let foreign = caseload["myCaseload"]["pageInfo"]["endCursor"].clone();
        for variables in [
            json!({ "clientId": client_id, "after": foreign }),
            json!({ "clientId": client_id, "first": 51 }),
            json!({ "clientId": client_id, "after": "not-a-cursor" }),
        ] {
            let refused = app.graphql_as(&worker, CLIENT_REFERRALS, variables.clone()).await;
            assert_eq!(error_code(&refused), Some("BAD_USER_INPUT"), "{variables}: {refused}");
        }

        // Everyone else reads the client (and so its referrals) exactly like a missing one.
        let mut outsiders = vec![("another organisation's social worker", Some(other_org_worker(&app).await))];
        for account in ["provider.legalaid", "committee.tvillage", "migrant.demo", "admin"] {
            outsiders.push((account, Some(app.token_of(account).await)));
        }
        outsiders.push(("the public", None));
        for (who, token) in &outsiders {
            let variables = json!({ "clientId": client_id });
            let response = match token {
                Some(token) => app.graphql_as(token, CLIENT_REFERRALS, variables).await,
                None => app.graphql(CLIENT_REFERRALS, variables).await,
            };
            assert!(response.get("errors").is_none(), "{who}: {response}");
            assert!(response["data"]["client"].is_null(), "{who} read the client's referrals: {response}");
        }

        // Listing is audited like the caseload: each live referral listed, as a read of its status.
        let db = app.database().await;
        use qiao_schema::entity::audit_log;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let listed = audit_log::Entity::find()
            .filter(audit_log::Column::Purpose.eq("client referrals"))
            .all(&db)
            .await
            .expect("audit rows");
        let mut audited: Vec<&str> = listed.iter().map(|row| row.record_id.as_str()).collect();
        audited.sort_unstable();
        let mut live = vec![made[0].as_str(), made[2].as_str()];
        live.sort_unstable();
        assert_eq!(audited, live, "{listed:#?}");
        assert!(listed.iter().all(|row| row.allowed && row.action == "read"));
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn a_consent_names_its_recipient_organisation_in_the_chosen_language() {
    on_every_database(|app| async move {
        let worker = app.token_of("worker.tvillage").await;
        let client_id = create_client(&app, &worker, json!({ "name": "同意客户" })).await["id"].clone();
        app.data_as(
            &worker,
            RECORD_CONSENT,
            json!({ "client": client_id, "org": legal_aid_org(), "purpose": "法律咨询" }),
        )
        .await;
        const CONSENTS: &str = "query($id: ID!) { clientConsents(clientId: $id) {
            recipientOrganizationId recipientOrganization { id name } } }";
        let chinese = app.data_as(&worker, CONSENTS, json!({ "id": client_id })).await;
        let consent = &chinese["clientConsents"][0];
        assert_eq!(consent["recipientOrganization"]["id"], consent["recipientOrganizationId"]);
        assert_eq!(consent["recipientOrganization"]["name"], "闵行区法律援助中心");
        let bearer = format!("Bearer {worker}");
        let english = app
            .graphql_with(
                CONSENTS,
                json!({ "id": client_id }),
                &[("authorization", bearer.as_str()), ("accept-language", "en-GB,en;q=0.9")],
            )
            .await;
        let name = english["data"]["clientConsents"][0]["recipientOrganization"]["name"].as_str().unwrap_or_default();
        assert!(name.contains("Legal Aid"), "{english}");
    })
    .await;
}
