//! The BOLA matrix (broken object-level authorisation): every published operation that takes an
//! id (`mobile-client-spec/operations/`, an `ID` variable or an `ID` field of an input variable)
//! is sent as every role against an id of side A, an id of side B and an id that does not exist,
//! and answers as the table below says. A refused write changes nothing; an id out of the
//! caller's scope reads exactly like a missing one. The test fails when an operation file takes
//! an id that the table does not cover, so the next operation cannot be forgotten.
//!
//! Side A is T village in Shanghai, side B is S village in Guiyang: each has a social worker (of
//! the side's social work station), provider staff (of the side's neighbourhood committee, which
//! runs the side's residence permit service), committee staff (of the side's area) and the side's
//! clients, consents, referrals and suggestions. The demo data gives side A; side B and the
//! rest are made through the API.
//!
//! Outcome letters: `A` allowed (an answer with data), `H` hidden (`NOT_FOUND`, or null / an
//! empty list, exactly as for a missing id), `F` `FORBIDDEN`, `U` `UNAUTHENTICATED`.

use std::collections::BTreeSet;
use std::path::Path;

use qiao_schema::entity::{
    account, account_area, address, client, client_link, consent, edit_suggestion, eligibility_requirement,
    idempotency_key, location, metadata, organization, referral, referral_event, schedule, schedule_exception, service,
    service_at_location, service_capacity, stewardship_area, stewardship_area_village,
};
use qiao_tests::{TestApp, backends};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const ROLES: [&str; 9] =
    ["anonymous", "migrant", "worker A", "worker B", "provider A", "provider B", "committee A", "committee B", "admin"];

const PASSWORD: &str = "a long enough password for bola";

fn id(kind: &str, key: &str) -> String {
    qiao_seed::rows::derived_id(kind, key)
}

/// The 16 random hex digits of a new UUIDv7 (for names that must be unique and short).
fn unique() -> String {
    uuid::Uuid::now_v7().simple().to_string()[16..].to_owned()
}

fn text(zh: &str, en: &str) -> Value {
    json!({ "zh": zh, "en": en })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
    Missing,
}

/// What an id names. Kinds that a write uses up (archives, decides, erases, moves) are made
/// afresh for every call that is expected to succeed, so each allowed call starts from the same
/// state; refused calls all go to one record per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    FreshService,
    ClosedService,
    Location,
    FreshLocation,
    Organization,
    FreshOrganization,
    Area,
    Village,
    Client,
    FreshClient,
    Consent,
    Referral,
    Suggestion,
    Account,
}

/// One id-taking argument of one operation.
struct Case {
    /// `Operation.$variable` or `Operation.$variable.field` (an `ID` field of an input).
    key: &'static str,
    /// The kind of the id under test.
    kind: Kind,
    /// Another record the call needs, of side A, made afresh for every call (e.g. the referral a
    /// `ForwardReferral.serviceId` call forwards).
    fixed: Option<Kind>,
    /// The variables, given the world, the side, the id under test and the `fixed` record's id.
    variables: fn(&World, Side, &str, &str) -> Value,
    /// The expected outcome for each of [`ROLES`], on side A's id and on side B's id.
    on_a: &'static str,
    on_b: &'static str,
}

/// The demo and API-made records of both sides, and every role's token (None: anonymous).
struct World {
    app: TestApp,
    tokens: Vec<Option<String>>,
    organization: [String; 2],
    location: [String; 2],
    service: [String; 2],
    area: [String; 2],
    /// An area without committee staff.
    spare_area: String,
    village: [String; 2],
    station: [String; 2],
    client: [String; 2],
    consent: [String; 2],
    referral: [String; 2],
    suggestion: [String; 2],
    account: [String; 2],
    point: [(f64, f64); 2],
}

impl World {
    fn admin(&self) -> &str {
        self.tokens[8].as_deref().expect("admin token")
    }

    fn worker(&self, side: usize) -> &str {
        self.tokens[2 + side].as_deref().expect("worker token")
    }

    async fn call(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        match token {
            Some(token) => self.app.graphql_as(token, query, variables).await,
            None => self.app.graphql(query, variables).await,
        }
    }

    async fn made(&self, token: Option<&str>, query: &str, variables: Value) -> String {
        let response = self.call(token, query, variables).await;
        let data = response["data"].as_object().and_then(|data| data.values().next()).cloned();
        match data.as_ref().and_then(|root| root["id"].as_str()) {
            Some(id) => id.to_owned(),
            None => panic!("making a fixture failed: {response}"),
        }
    }

    async fn new_service(&self, side: usize) -> String {
        let input = json!({
            "name": text("矩阵测试服务", "Matrix test service"), "description": text("测试", "A test"),
            "category": "LEGAL_AID", "locationIds": [self.location[side]], "languages": ["zh-CN"], "costs": [{ "option": text("免费", "Free"), "amountYuan": 0 }],
        });
        self.made(
            Some(self.admin()),
            "mutation($o: ID!, $i: ServiceInput!) { createService(organizationId: $o, input: $i) { id } }",
            json!({ "o": self.organization[side], "i": input }),
        )
        .await
    }

    async fn new_location(&self, side: usize) -> String {
        self.made(
            Some(self.admin()),
            "mutation($o: ID!, $i: LocationInput!) { createLocation(organizationId: $o, input: $i) { id } }",
            json!({ "o": self.organization[side], "i": location_input(self.point[side]) }),
        )
        .await
    }

    async fn new_client(&self, side: usize) -> String {
        self.made(
            Some(self.worker(side)),
            "mutation($n: String!) { createClient(displayName: $n) { id } }",
            json!({ "n": format!("矩阵 {}", uuid::Uuid::now_v7().simple()) }),
        )
        .await
    }

    async fn new_consent(&self, side: usize) -> String {
        self.made(
            Some(self.worker(side)),
            "mutation($c: ID!, $o: ID!) { recordConsent(clientId: $c, recipientOrganizationId: $o, purpose: \"转介 / referral\") { id } }",
            json!({ "c": self.client[side], "o": self.organization[side] }),
        )
        .await
    }

    async fn new_referral(&self, side: usize) -> String {
        self.made(
            Some(self.worker(side)),
            "mutation($c: ID!, $s: ID!, $k: String!) { createReferral(clientId: $c, serviceId: $s, live: false, needs: \"测试 / test\", idempotencyKey: $k) { id } }",
            json!({ "c": self.client[side], "s": self.service[side], "k": uuid::Uuid::now_v7().to_string() }),
        )
        .await
    }

    async fn new_suggestion(&self, side: usize) -> String {
        self.made(
            None,
            "mutation($s: ID!) { suggestEdit(serviceId: $s, kind: OTHER, comment: \"电话打不通 / no answer\") { id } }",
            json!({ "s": self.service[side] }),
        )
        .await
    }

    async fn new_account(&self, side: usize) -> String {
        let input = json!({
            "username": format!("matrix.{}", unique()), "displayName": "矩阵 / Matrix",
            "password": PASSWORD, "role": "SOCIAL_WORKER", "organizationId": self.station[side],
        });
        self.made(
            Some(self.admin()),
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await
    }

    /// An id of `kind` on `side`: a new record, or for the kinds that are not used up, the
    /// side's one.
    async fn fresh(&self, kind: Kind, side: usize) -> String {
        match kind {
            Kind::FreshService => self.new_service(side).await,
            Kind::ClosedService => {
                let id = self.new_service(side).await;
                self.made(
                    Some(self.admin()),
                    "mutation($id: ID!, $r: TextInput!) { closeServiceTemporarily(id: $id, reason: $r) { id } }",
                    json!({ "id": id, "r": text("装修", "Renovation") }),
                )
                .await;
                id
            }
            Kind::FreshLocation => self.new_location(side).await,
            Kind::FreshClient => self.new_client(side).await,
            Kind::Consent => self.new_consent(side).await,
            Kind::Referral => self.new_referral(side).await,
            Kind::Suggestion => self.new_suggestion(side).await,
            Kind::Account => self.new_account(side).await,
            Kind::Service => self.service[side].clone(),
            Kind::Location => self.location[side].clone(),
            Kind::Organization => self.organization[side].clone(),
            Kind::FreshOrganization => {
                let input = json!({ "name": text("矩阵测试机构", "Matrix test organisation"), "description": text("测试", "A test") });
                self.made(
                    Some(self.admin()),
                    "mutation($i: OrganizationInput!, $l: LocationInput!) { createOrganization(input: $i, location: $l) { id } }",
                    json!({ "i": input, "l": location_input(self.point[side]) }),
                )
                .await
            }
            Kind::Area => self.area[side].clone(),
            Kind::Village => self.village[side].clone(),
            Kind::Client => self.client[side].clone(),
        }
    }
}

fn location_input(point: (f64, f64)) -> Value {
    json!({
        "name": text("矩阵测试点", "Matrix test place"), "point": { "lat": point.0, "lon": point.1 },
        "street": text("测试路1号", "1 Test Road"), "district": text("测试区", "Test District"),
        "city": text("测试市", "Test City"), "adcode": "310112",
    })
}

/// Builds the world: side A from the demo data, side B and the extra accounts through the API.
async fn world(app: TestApp) -> World {
    let admin = app.token_of("admin").await;
    let area_b = app
        .data_as(
            &admin,
            "mutation($i: AreaInput!) { createArea(input: $i) { id } }",
            json!({ "i": { "nameZh": "S村片区", "nameEn": "S village area", "villageIds": [id("urban_village", "gy-s-village")] } }),
        )
        .await["createArea"]["id"]
        .as_str()
        .expect("area id")
        .to_owned();
    let spare_area = app
        .data_as(
            &admin,
            "mutation($i: AreaInput!) { createArea(input: $i) { id } }",
            json!({ "i": { "nameZh": "备用片区", "nameEn": "Spare area", "villageIds": [id("urban_village", "sh-x-village")] } }),
        )
        .await["createArea"]["id"]
        .as_str()
        .expect("area id")
        .to_owned();
    let organization = [id("organization", "sh-tvillage-committee"), id("organization", "gy-s-village-committee")];
    let station =
        [id("organization", "sh-tvillage-social-work-station"), id("organization", "gy-s-village-social-work-station")];
    let accounts = [
        ("worker.svillage", json!({ "role": "SOCIAL_WORKER", "organizationId": station[1] })),
        ("provider.tvillage", json!({ "role": "PROVIDER_STAFF", "organizationId": organization[0] })),
        ("provider.svillage", json!({ "role": "PROVIDER_STAFF", "organizationId": organization[1] })),
        ("committee.svillage", json!({ "role": "COMMITTEE_STAFF", "areaIds": [area_b] })),
    ];
    for (username, fields) in &accounts {
        let mut input = json!({ "username": username, "displayName": "矩阵 / Matrix", "password": PASSWORD });
        input.as_object_mut().expect("object").extend(fields.as_object().expect("object").clone());
        app.data_as(
            &admin,
            "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await;
    }
    let own = |name: &'static str| {
        let app = app.clone();
        async move { app.login(name, PASSWORD).await.0 }
    };
    let tokens = vec![
        None,
        Some(app.token_of("migrant.demo").await),
        Some(app.token_of("worker.tvillage").await),
        Some(own("worker.svillage").await),
        Some(own("provider.tvillage").await),
        Some(own("provider.svillage").await),
        Some(app.token_of("committee.tvillage").await),
        Some(own("committee.svillage").await),
        Some(admin),
    ];
    let mut world = World {
        app,
        tokens,
        location: [id("location", "sh-loc-tvillage-committee-office"), id("location", "gy-loc-s-village-committee")],
        service: [
            id("service", "sh-tvillage-residence-permit-help"),
            id("service", "gy-s-village-residence-permit-help"),
        ],
        area: [id("stewardship_area", "sh-t-village-area"), area_b],
        spare_area,
        village: [id("urban_village", "sh-t-village"), id("urban_village", "gy-s-village")],
        organization,
        station,
        point: [(31.1050, 121.3550), (26.601, 106.714)],
        client: Default::default(),
        consent: Default::default(),
        referral: Default::default(),
        suggestion: Default::default(),
        account: Default::default(),
    };
    for side in 0..2 {
        world.client[side] = world.new_client(side).await;
    }
    for side in 0..2 {
        world.consent[side] = world.new_consent(side).await;
        world.referral[side] = world.new_referral(side).await;
        world.suggestion[side] = world.new_suggestion(side).await;
        world.account[side] = world.new_account(side).await;
    }
    world
}

fn side_index(side: Side) -> usize {
    usize::from(side == Side::B)
}

/// The table. Roles in the order of [`ROLES`]: anonymous, migrant, worker A, worker B,
/// provider A, provider B, committee A, committee B, admin.
fn cases() -> Vec<Case> {
    fn only(name: &'static str) -> fn(&World, Side, &str, &str) -> Value {
        match name {
            "id" => |_, _, id, _| json!({ "id": id }),
            "serviceId" => |_, _, id, _| json!({ "serviceId": id }),
            "clientId" => |_, _, id, _| json!({ "clientId": id }),
            _ => unreachable!("{name}"),
        }
    }
    vec![
        // ---- directory reads (public) ----
        Case {
            key: "ServiceDetail.$id",
            kind: Kind::Service,
            fixed: None,
            variables: only("id"),
            on_a: "AAAAAAAAA",
            on_b: "AAAAAAAAA",
        },
        Case {
            key: "ServiceHours.$id",
            kind: Kind::Service,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "CheckEligibility.$serviceId",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "serviceId": id, "situation": { "age": 30 } }),
            on_a: "AAAAAAAAA",
            on_b: "AAAAAAAAA",
        },
        Case {
            key: "ListingHistory.$id",
            kind: Kind::Service,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "ServiceOutcomes.$serviceId",
            kind: Kind::Service,
            fixed: None,
            variables: only("serviceId"),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "VillageReport.$villageId",
            kind: Kind::Village,
            fixed: None,
            variables: |_, _, id, _| json!({ "villageId": id }),
            on_a: "UFFFHHAHA",
            on_b: "UFFFHHHAA",
        },
        // An organisation's outcomes: admins, committee staff where it has a place, its own staff
        // (the social worker of side A works for the station, not for this organisation).
        Case {
            key: "OrganizationOutcomes.$organizationId",
            kind: Kind::Organization,
            fixed: None,
            variables: |_, _, id, _| json!({ "organizationId": id }),
            on_a: "UFHHAHAHA",
            on_b: "UFHHHAHAA",
        },
        // A category's outcomes in a village: committee staff for their own villages; staff of an
        // organisation anywhere, counting only their organisation's referrals.
        Case {
            key: "CategoryOutcomes.$villageId",
            kind: Kind::Village,
            fixed: None,
            variables: |_, _, id, _| json!({ "category": "LEGAL_AID", "villageId": id }),
            on_a: "UFAAAAAHA",
            on_b: "UFAAAAHAA",
        },
        // ---- suggestions ----
        Case {
            key: "SuggestEdit.$serviceId",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "serviceId": id, "kind": "OTHER", "comment": "矩阵 / matrix" }),
            on_a: "AAAAAAAAA",
            on_b: "AAAAAAAAA",
        },
        Case {
            key: "AcceptEditSuggestion.$id",
            kind: Kind::Suggestion,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "RejectEditSuggestion.$id",
            kind: Kind::Suggestion,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "reason": "不属实 / not so" }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        // ---- stewardship writes ----
        Case {
            key: "UpdateService.$id",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "input": { "feesDescription": text("免费", "Free") } }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "VerifyService.$id",
            kind: Kind::Service,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "SetServiceAlert.$id",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "alert": text("今天提前关门", "Closing early today") }),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "SetServiceCapacity.$id",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "status": "WAITLIST" }),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "SetServiceEligibility.$id",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "requirements": [{ "kind": "HUKOU_ANYWHERE" }] }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "SetServiceHours.$id",
            kind: Kind::Service,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "hours": [{ "days": ["MO", "TU"], "opens": "09:00", "closes": "17:00" }], "exceptions": [] }),
            on_a: "UFFFAHAHA",
            on_b: "UFFFHAHAA",
        },
        Case {
            key: "CloseServiceTemporarily.$id",
            kind: Kind::FreshService,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "reason": text("装修", "Renovation") }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "ReopenService.$id",
            kind: Kind::ClosedService,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "ArchiveService.$id",
            kind: Kind::FreshService,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "UpdateLocation.$id",
            kind: Kind::Location,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "input": { "transportation": text("地铁5号线", "Metro line 5") } }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "ArchiveLocation.$id",
            kind: Kind::FreshLocation,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "UpdateOrganization.$id",
            kind: Kind::Organization,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "input": { "legalStatus": "community self-governance organisation" } }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "CreateLocation.$organizationId",
            kind: Kind::Organization,
            fixed: None,
            variables: |world, side, id, _| {
                let point = world.point[side_index(side)];
                json!({ "organizationId": id, "input": location_input(point) })
            },
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        Case {
            key: "CreateService.$organizationId",
            kind: Kind::Organization,
            fixed: None,
            variables: |world, side, id, _| json!({ "organizationId": id, "input": service_input(&world.location[side_index(side)]) }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
        // The organisation is side A's; the place varies.
        Case {
            key: "CreateService.$input.locationIds",
            kind: Kind::Location,
            fixed: None,
            variables: |world, _, id, _| json!({ "organizationId": world.organization[0], "input": service_input(id) }),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHHH",
        },
        // ---- clients and consents ----
        Case {
            key: "Client.$id",
            kind: Kind::Client,
            fixed: None,
            variables: only("id"),
            on_a: "HHAHHHHHH",
            on_b: "HHHAHHHHH",
        },
        Case {
            key: "ClientConsents.$clientId",
            kind: Kind::Client,
            fixed: None,
            variables: only("clientId"),
            on_a: "UFAHFFFFF",
            on_b: "UFHAFFFFF",
        },
        Case {
            key: "ClientReferrals.$clientId",
            kind: Kind::Client,
            fixed: None,
            variables: only("clientId"),
            on_a: "HHAHHHHHH",
            on_b: "HHHAHHHHH",
        },
        Case {
            key: "UpdateClient.$id",
            kind: Kind::Client,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "notes": "矩阵 / matrix" }),
            on_a: "UFAHFFFFF",
            on_b: "UFHAFFFFF",
        },
        Case {
            key: "LinkClients.$clientId",
            kind: Kind::FreshClient,
            fixed: Some(Kind::FreshClient),
            variables: |_, _, id, fixed| json!({ "clientId": id, "relatedClientId": fixed, "relation": "CHILD_OF" }),
            on_a: "UFAHFFFFF",
            on_b: "UFHHFFFFF",
        },
        Case {
            key: "LinkClients.$relatedClientId",
            kind: Kind::FreshClient,
            fixed: Some(Kind::FreshClient),
            variables: |_, _, id, fixed| json!({ "clientId": fixed, "relatedClientId": id, "relation": "CHILD_OF" }),
            on_a: "UFAHFFFFF",
            on_b: "UFHHFFFFF",
        },
        Case {
            key: "RecordConsent.$clientId",
            kind: Kind::Client,
            fixed: None,
            variables: |world, _, id, _| json!({ "clientId": id, "recipientOrganizationId": world.organization[0], "purpose": "转介 / referral" }),
            on_a: "UFAHFFFFF",
            on_b: "UFHAFFFFF",
        },
        // Side A's client, to either side's organisation.
        Case {
            key: "RecordConsent.$recipientOrganizationId",
            kind: Kind::Organization,
            fixed: None,
            variables: |world, _, id, _| json!({ "clientId": world.client[0], "recipientOrganizationId": id, "purpose": "转介 / referral" }),
            on_a: "UFAHFFFFF",
            on_b: "UFAHFFFFF",
        },
        Case {
            key: "WithdrawConsent.$consentId",
            kind: Kind::Consent,
            fixed: None,
            variables: |_, _, id, _| json!({ "consentId": id }),
            on_a: "UFAHFFFFF",
            on_b: "UFHAFFFFF",
        },
        Case {
            key: "EraseClient.$clientId",
            kind: Kind::FreshClient,
            fixed: None,
            variables: only("clientId"),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        // ---- referrals ----
        Case {
            key: "CreateReferral.$clientId",
            kind: Kind::Client,
            fixed: None,
            variables: |world, _, id, _| json!({ "clientId": id, "serviceId": world.service[0], "live": false, "idempotencyKey": uuid::Uuid::now_v7().to_string() }),
            on_a: "UFAHFFFFF",
            on_b: "UFHAFFFFF",
        },
        // Side A's client, to either side's service.
        Case {
            key: "CreateReferral.$serviceId",
            kind: Kind::Service,
            fixed: None,
            variables: |world, _, id, _| json!({ "clientId": world.client[0], "serviceId": id, "live": false, "idempotencyKey": uuid::Uuid::now_v7().to_string() }),
            on_a: "UFAHFFFFF",
            on_b: "UFAHFFFFF",
        },
        Case {
            key: "Referral.$id",
            kind: Kind::Referral,
            fixed: None,
            variables: only("id"),
            on_a: "HHAHAHHHH",
            on_b: "HHHAHAHHH",
        },
        Case {
            key: "AddReferralNote.$id",
            kind: Kind::Referral,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "note": "矩阵 / matrix" }),
            on_a: "UFAHAHFFF",
            on_b: "UFHAHAFFF",
        },
        Case {
            key: "TransitionReferral.$id",
            kind: Kind::Referral,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "to": "CANCELLED", "reason": "矩阵 / matrix" }),
            on_a: "UFAHAHFFF",
            on_b: "UFHAHAFFF",
        },
        Case {
            key: "ForwardReferral.$id",
            kind: Kind::Referral,
            fixed: None,
            variables: |world, side, id, _| json!({ "id": id, "serviceId": world.service[1 - side_index(side)] }),
            on_a: "UFFFAHFFF",
            on_b: "UFFFHAFFF",
        },
        // A new referral of side A forwarded to another service of either side.
        Case {
            key: "ForwardReferral.$serviceId",
            kind: Kind::FreshService,
            fixed: Some(Kind::Referral),
            variables: |_, _, id, fixed| json!({ "id": fixed, "serviceId": id }),
            on_a: "UFFFAHFFF",
            on_b: "UFFFAHFFF",
        },
        // ---- administration ----
        Case {
            key: "UpdateArea.$id",
            kind: Kind::Area,
            fixed: None,
            variables: |world, side, id, _| json!({ "id": id, "input": { "nameZh": "片区", "nameEn": "Area", "villageIds": [world.village[side_index(side)]] } }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            // An area of nobody's, so that an allowed call changes no side's scope.
            key: "UpdateArea.$input.villageIds",
            kind: Kind::Village,
            fixed: None,
            variables: |world, _, id, _| json!({ "id": world.spare_area, "input": { "nameZh": "备用片区", "nameEn": "Spare area", "villageIds": [id] } }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "CreateArea.$input.villageIds",
            kind: Kind::Village,
            fixed: None,
            variables: |_, _, id, _| json!({ "input": { "nameZh": format!("新片区{}", uuid::Uuid::now_v7().simple()), "nameEn": "New area", "villageIds": [id] } }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "CreateAccount.$input.organizationId",
            kind: Kind::Organization,
            fixed: None,
            variables: |_, _, id, _| {
                json!({ "input": { "username": format!("new.{}", unique()), "displayName": "新 / New",
                    "password": PASSWORD, "role": "PROVIDER_STAFF", "organizationId": id } })
            },
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "CreateAccount.$input.areaIds",
            kind: Kind::Area,
            fixed: None,
            variables: |_, _, id, _| {
                json!({ "input": { "username": format!("new.{}", unique()), "displayName": "新 / New",
                    "password": PASSWORD, "role": "COMMITTEE_STAFF", "areaIds": [id] } })
            },
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "ChangeAccountRole.$id",
            kind: Kind::Account,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "role": "MIGRANT", "areaIds": [] }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "ChangeAccountRole.$organizationId",
            kind: Kind::Organization,
            fixed: Some(Kind::Account),
            variables: |_, _, id, fixed| json!({ "id": fixed, "role": "PROVIDER_STAFF", "organizationId": id, "areaIds": [] }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "ChangeAccountRole.$areaIds",
            kind: Kind::Area,
            fixed: Some(Kind::Account),
            variables: |_, _, id, fixed| json!({ "id": fixed, "role": "COMMITTEE_STAFF", "areaIds": [id] }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "ResetPassword.$id",
            kind: Kind::Account,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "newPassword": "another long enough password" }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "SetAccountDisabled.$id",
            kind: Kind::Account,
            fixed: None,
            variables: |_, _, id, _| json!({ "id": id, "disabled": true }),
            on_a: "UFFFFFFFA",
            on_b: "UFFFFFFFA",
        },
        Case {
            key: "ArchiveOrganization.$id",
            kind: Kind::FreshOrganization,
            fixed: None,
            variables: only("id"),
            on_a: "UFFFFFAHA",
            on_b: "UFFFFFHAA",
        },
    ]
}

fn service_input(location_id: &str) -> Value {
    json!({
        "name": text("矩阵新服务", "Matrix new service"), "description": text("测试", "A test"),
        "category": "LEGAL_AID", "locationIds": [location_id], "languages": ["zh-CN"], "costs": [{ "option": text("免费", "Free"), "amountYuan": 0 }],
    })
}

/// The operation text of `mobile-client-spec/operations/<name>.graphql`.
fn operation(name: &str) -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/operations").join(format!("{name}.graphql"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The text without `#` comments.
fn without_comments(text: &str) -> String {
    text.lines().map(|line| line.split_once('#').map_or(line, |(code, _)| code)).collect::<Vec<_>>().join("\n")
}

/// The variable definitions of an operation: (name, named type without `[`, `]`, `!`).
fn variables_of(document: &str) -> Vec<(String, String)> {
    let text = without_comments(document);
    let Some(open) = text.find('(') else { return Vec::new() };
    let brace = text.find('{').unwrap_or(text.len());
    if open > brace {
        return Vec::new();
    }
    let close = text[open..].find(')').map_or(text.len(), |i| open + i);
    text[open + 1..close]
        .split('$')
        .skip(1)
        .filter_map(|definition| {
            let (name, rest) = definition.split_once(':')?;
            let type_name: String = rest
                .split('=')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some((name.trim().to_owned(), type_name))
        })
        .collect()
}

/// The `ID` fields of every input type of the published schema, by type name.
fn id_fields_of_input_types() -> std::collections::BTreeMap<String, Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/schema.graphql");
    let schema = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut inputs = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    let mut in_description = false;
    for line in schema.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            // A one-line description opens and closes on the same line.
            if !(trimmed.len() > 3 && trimmed.ends_with("\"\"\"")) {
                in_description = !in_description;
            }
            continue;
        }
        if in_description {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("input ") {
            current = Some(rest.split_whitespace().next().unwrap_or_default().to_owned());
            inputs.entry(current.clone().unwrap_or_default()).or_insert_with(Vec::new);
        } else if trimmed.starts_with('}') {
            current = None;
        } else if let Some(input) = &current
            && let Some((field, field_type)) = trimmed.split_once(':')
        {
            let named: String = field_type
                .split('=')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if named == "ID" {
                inputs.get_mut(input).expect("the input is known").push(field.trim().to_owned());
            }
        }
    }
    inputs
}

/// Every id-taking argument of the published operations, as [`Case::key`]s.
fn id_taking_arguments() -> BTreeSet<String> {
    let inputs = id_fields_of_input_types();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/operations");
    let mut keys = BTreeSet::new();
    for entry in std::fs::read_dir(&folder).expect("the operations folder") {
        let file_name = entry.expect("an entry").file_name().to_string_lossy().into_owned();
        let Some(name) = file_name.strip_suffix(".graphql") else { continue };
        for (variable, type_name) in variables_of(&operation(name)) {
            if type_name == "ID" {
                keys.insert(format!("{name}.${variable}"));
            }
            for field in inputs.get(&type_name).into_iter().flatten() {
                keys.insert(format!("{name}.${variable}.{field}"));
            }
        }
    }
    keys
}

#[test]
fn every_id_taking_argument_of_every_published_operation_is_in_the_matrix() {
    let required = id_taking_arguments();
    assert!(required.len() >= 40, "the operation files were not read: {required:?}");
    let covered: BTreeSet<String> = cases().iter().map(|case| case.key.to_owned()).collect();
    let forgotten: Vec<_> = required.difference(&covered).collect();
    assert!(
        forgotten.is_empty(),
        "id-taking arguments missing from the BOLA matrix (tests/e2e/bola.rs): {forgotten:?}"
    );
    let stale: Vec<_> = covered.difference(&required).collect();
    assert!(stale.is_empty(), "the BOLA matrix names arguments no operation takes: {stale:?}");
    for case in cases() {
        assert_eq!((case.on_a.len(), case.on_b.len()), (ROLES.len(), ROLES.len()), "{}", case.key);
    }
}

/// The outcome letter of a response (see the module's documentation), or `?code` for another
/// error.
fn outcome(response: &Value) -> String {
    if let Some(code) = response["errors"][0]["extensions"]["code"].as_str() {
        return match code {
            "UNAUTHENTICATED" => "U".to_owned(),
            "FORBIDDEN" => "F".to_owned(),
            "NOT_FOUND" => "H".to_owned(),
            other => format!("?{other}"),
        };
    }
    if response.get("errors").is_some() {
        return format!("?{}", response["errors"][0]["message"]);
    }
    let root = response["data"].as_object().and_then(|data| data.values().next()).cloned().unwrap_or(Value::Null);
    match root {
        Value::Null => "H".to_owned(),
        Value::Array(items) if items.is_empty() => "H".to_owned(),
        _ => "A".to_owned(),
    }
}

/// Everything a refused write could have changed (the audit log is left out: a refused read of
/// personal data is recorded there on purpose).
async fn fingerprint(db: &DatabaseConnection) -> Value {
    macro_rules! rows {
        ($($entity:ident),*) => {
            json!({ $(stringify!($entity): $entity::Entity::find().into_json().all(db).await.expect(stringify!($entity)),)* })
        };
    }
    let mut all = rows!(
        organization,
        service,
        location,
        address,
        service_at_location,
        schedule,
        schedule_exception,
        eligibility_requirement,
        service_capacity,
        account,
        account_area,
        stewardship_area,
        stewardship_area_village,
        edit_suggestion,
        client,
        client_link,
        consent,
        referral,
        idempotency_key
    );
    for rows in all.as_object_mut().expect("object").values_mut() {
        if let Value::Array(rows) = rows {
            rows.sort_by_key(|row| row["id"].to_string());
        }
    }
    all["referral_events"] = json!(referral_event::Entity::find().count(db).await.expect("events"));
    all["metadata"] = json!(metadata::Entity::find().count(db).await.expect("metadata"));
    all
}

/// `response` with the ids in `ids` replaced, to compare an out-of-scope answer with a missing one.
fn masked(response: &Value, ids: &[&str]) -> String {
    let mut text = response.to_string();
    for id in ids.iter().filter(|id| !id.is_empty()) {
        text = text.replace(id, "<id>");
    }
    text
}

#[tokio::test]
async fn every_role_gets_the_expected_answer_for_own_other_and_missing_ids_of_every_operation() {
    for backend in backends() {
        let app = TestApp::spawn_configured(
            backend,
            true,
            &[
                ("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "1000000"),
                ("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", "1000"),
                ("QIAO_RATE_LIMIT_SUGGESTIONS_PER_MINUTE", "100000"),
            ],
        )
        .await;
        let world = world(app.clone()).await;
        let db = app.database().await;
        let mut failures = Vec::new();
        let mut table = Vec::new();
        for case in cases() {
            let (name, _) = case.key.split_once('.').expect("Operation.$variable");
            let document = operation(name);
            let expected = |side: Side, role: usize| -> char {
                let row = if side == Side::A { case.on_a } else { case.on_b };
                row.chars().nth(role).unwrap_or('?')
            };
            // Every call prepared before the fingerprint: (role, side, id, fixed id).
            let shared = [world.fresh(case.kind, 0).await, world.fresh(case.kind, 1).await];
            let missing = uuid::Uuid::now_v7().to_string();
            let mut refused = Vec::new();
            let mut allowed = Vec::new();
            for role in 0..ROLES.len() {
                for side in [Side::A, Side::B, Side::Missing] {
                    let fixed = match case.fixed {
                        Some(kind) => world.fresh(kind, 0).await,
                        None => String::new(),
                    };
                    let will_succeed = side != Side::Missing && expected(side, role) == 'A';
                    let target = match side {
                        Side::Missing => missing.clone(),
                        _ if will_succeed => world.fresh(case.kind, side_index(side)).await,
                        _ => shared[side_index(side)].clone(),
                    };
                    let call = (role, side, target, fixed);
                    if will_succeed { allowed.push(call) } else { refused.push(call) }
                }
            }
            let before = fingerprint(&db).await;
            let mut row = vec![[String::new(), String::new(), String::new()]; ROLES.len()];
            let mut answers = std::collections::HashMap::new();
            for (phase, calls) in [refused, allowed].iter().enumerate() {
                for (role, side, target, fixed) in calls {
                    let variables = (case.variables)(&world, *side, target, fixed);
                    let response = world.call(world.tokens[*role].as_deref(), &document, variables).await;
                    row[*role][*side as usize] = outcome(&response);
                    answers.insert((*role, *side as usize), masked(&response, &[target, fixed]));
                }
                if phase == 0 && fingerprint(&db).await != before {
                    failures.push(format!("{}: a refused call changed the database", case.key));
                }
            }
            for role in 0..ROLES.len() {
                for side in [Side::A, Side::B] {
                    let got = &row[role][side as usize];
                    let want = expected(side, role);
                    if got.as_str() != want.to_string() {
                        failures
                            .push(format!("{} as {} on {side:?}: expected {want}, got {got}", case.key, ROLES[role]));
                    }
                }
                // A missing id: hidden, or refused as the other side's id is.
                let got = &row[role][Side::Missing as usize];
                let on_b = expected(Side::B, role);
                if got != "H" && !(matches!(on_b, 'F' | 'U') && got.as_str() == on_b.to_string()) {
                    failures.push(format!("{} as {} on a missing id: got {got}", case.key, ROLES[role]));
                }
                // Out of scope reads exactly like missing (unless the role may not see the other
                // record the call names either: then that record is what is missing).
                let refused_on_fixed =
                    case.fixed.is_some() && expected(Side::A, role) == 'H' && expected(Side::B, role) == 'H';
                for side in [Side::A, Side::B] {
                    if !refused_on_fixed
                        && row[role][side as usize] == "H"
                        && answers.get(&(role, side as usize)) != answers.get(&(role, Side::Missing as usize))
                    {
                        failures.push(format!(
                            "{} as {} on {side:?}: hidden, but not as a missing id: {:?} vs {:?}",
                            case.key,
                            ROLES[role],
                            answers.get(&(role, side as usize)),
                            answers.get(&(role, Side::Missing as usize))
                        ));
                    }
                }
            }
            let letters = |side: Side| row.iter().map(|r| r[side as usize].clone()).collect::<Vec<_>>().join("");
            table.push(format!(
                "{:<40} A {:<14} B {:<14} missing {}",
                case.key,
                letters(Side::A),
                letters(Side::B),
                letters(Side::Missing)
            ));
        }
        db.close().await.ok();
        app.finish().await;
        assert!(
            failures.is_empty(),
            "{} failures:\n{}\n\nthe matrix as answered:\n{}",
            failures.len(),
            failures.join("\n"),
            table.join("\n")
        );
    }
}
