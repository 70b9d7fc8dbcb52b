//! Sign-in: access-token verification, login, refresh-token rotation, registration, rate
//! limiting, and the production configuration's refusals.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey};
use qiao_schema::entity::account;
use qiao_server::clock::Clock;
use qiao_server::config::{Config, Environment};
use qiao_tests::{DEMO_PASSWORD, TEST_KEY_ID, TEST_KEY_SECRET, TestApp, error_code, on_every_database};
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// A public field: anyone may read it, so a refusal can only come from the token.
const PUBLIC: &str = "{ categories { code } }";
const ME: &str = "{ me { id username displayName role organizationId } }";
const LOGIN: &str = "mutation($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      accessToken accessTokenExpiresAt refreshToken account { id username role } } }";
const REFRESH: &str =
    "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken account { id } } }";
const LOGOUT: &str = "mutation($token: String!) { logout(refreshToken: $token) }";
const REGISTER: &str = "mutation($login: String!, $password: String!, $displayName: String) {
    registerMigrant(login: $login, password: $password, displayName: $displayName) {
      accessToken refreshToken account { id username displayName role organizationId } } }";
const SET_DISABLED: &str =
    "mutation($id: ID!, $disabled: Boolean!) { setAccountDisabled(id: $id, disabled: $disabled) { id disabled } }";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT with exactly this header and these claims, HMAC-SHA-256-signed with `secret` whatever
/// the header's `alg` says (so a header can lie about its algorithm).
fn hs256_token(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let message = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(secret), Algorithm::HS256)
        .expect("HMAC signing");
    format!("{message}.{signature}")
}

/// The header test servers' tokens carry.
fn good_header() -> Value {
    json!({ "alg": "HS256", "typ": "JWT", "kid": TEST_KEY_ID })
}

/// Claims of a valid access token for `sub`, as of the server's clock.
fn good_claims(app: &TestApp, sub: &str) -> Value {
    let now = app.clock.now().timestamp();
    json!({ "iss": "qiao", "aud": "qiao-app", "sub": sub, "iat": now, "nbf": now, "exp": now + 600, "typ": "access" })
}

/// `claims` with `changes` merged in (a null value removes the claim).
fn with(claims: &Value, changes: Value) -> Value {
    let mut claims = claims.clone();
    if let (Some(target), Some(changes)) = (claims.as_object_mut(), changes.as_object()) {
        for (name, value) in changes {
            if value.is_null() {
                target.remove(name);
            } else {
                target.insert(name.clone(), value.clone());
            }
        }
    }
    claims
}

/// The claims of a token (no verification: only to edit them).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url payload")).expect("JSON claims")
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.data_as(token, ME, json!({})).await["me"].clone()
}

/// Posts a public query with this `Authorization` header and checks that it is refused the way
/// a bad token must be: HTTP 401, UNAUTHENTICATED, no data.
async fn assert_refused(app: &TestApp, what: &str, authorization: &str) {
    let (status, response) = app.graphql_status(PUBLIC, json!({}), &[("authorization", authorization)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {response}");
    assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{what}: {response}");
    assert!(response["data"].is_null(), "{what}: {response}");
}

async fn assert_refused_token(app: &TestApp, what: &str, token: &str) {
    assert_refused(app, what, &format!("Bearer {token}")).await;
}

async fn login_response(app: &TestApp, username: &str, password: &str) -> Value {
    app.graphql(LOGIN, json!({ "username": username, "password": password })).await
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.graphql(REFRESH, json!({ "token": token })).await
}

/// Refreshes, which must succeed, and returns the new (access, refresh) tokens.
async fn refreshed(app: &TestApp, token: &str) -> (String, String) {
    let response = refresh(app, token).await;
    let tokens = &response["data"]["refreshToken"];
    let access = tokens["accessToken"].as_str().unwrap_or_else(|| panic!("refresh failed: {response}"));
    (access.to_owned(), tokens["refreshToken"].as_str().unwrap_or_default().to_owned())
}

fn assert_unauthenticated(what: &str, response: &Value) {
    assert_eq!(error_code(response), Some("UNAUTHENTICATED"), "{what}: {response}");
    assert!(response["data"].is_null(), "{what}: {response}");
}

#[tokio::test]
async fn a_token_signed_with_the_servers_key_and_every_claim_is_accepted() {
    on_every_database(|app| async move {
        let admin = me(&app, &app.token_of("admin").await).await;
        let admin_id = admin["id"].as_str().expect("admin id").to_owned();

        // Made by us, not by the server: the vectors below fail for what they change, not for
        // how they were made.
        let forged = hs256_token(&good_header(), &good_claims(&app, &admin_id), &TEST_KEY_SECRET);
        let (status, response) =
            app.graphql_status(ME, json!({}), &[("authorization", &format!("Bearer {forged}"))]).await;
        assert_eq!(status, StatusCode::OK, "{response}");
        assert_eq!(response["data"]["me"]["id"], json!(admin_id));
        assert_eq!(response["data"]["me"]["username"], "admin");
        assert_eq!(response["data"]["me"]["role"], "ADMIN");
        let public = app.data_as(&forged, PUBLIC, json!({})).await;
        assert!(public["categories"].as_array().is_some_and(|c| !c.is_empty()));

        // Within the 30 s leeway for clock skew between replicas, either side.
        let now = app.clock.now().timestamp();
        let skewed = [
            with(&good_claims(&app, &admin_id), json!({ "exp": now - 20 })),
            with(&good_claims(&app, &admin_id), json!({ "nbf": now + 20, "iat": now + 20 })),
        ];
        for claims in skewed {
            let token = hs256_token(&good_header(), &claims, &TEST_KEY_SECRET);
            assert_eq!(me(&app, &token).await["username"], "admin", "{claims}");
        }
    })
    .await;
}

#[tokio::test]
async fn every_forged_malformed_or_stale_token_is_refused_with_401_even_on_a_public_field() {
    on_every_database(|app| async move {
        let (migrant_access, migrant_refresh) = app.login("migrant.demo", DEMO_PASSWORD).await;
        let migrant_id = me(&app, &migrant_access).await["id"].as_str().expect("migrant id").to_owned();
        let admin_id = me(&app, &app.token_of("admin").await).await["id"].as_str().expect("admin id").to_owned();
        let now = app.clock.now().timestamp();
        let claims = good_claims(&app, &migrant_id);
        let sign = |header: &Value, claims: &Value| hs256_token(header, claims, &TEST_KEY_SECRET);
        let header_with = |changes: Value| with(&good_header(), changes);

        let parts: Vec<&str> = migrant_access.split('.').collect();
        let [real_header, _, real_signature] = parts[..] else { panic!("a JWT has three parts: {migrant_access}") };
        let unsigned_header = json!({ "alg": "none", "typ": "JWT", "kid": TEST_KEY_ID });
        let hs512 = jsonwebtoken::encode(
            &{
                let mut header = jsonwebtoken::Header::new(Algorithm::HS512);
                header.kid = Some(TEST_KEY_ID.to_owned());
                header
            },
            &claims,
            &EncodingKey::from_secret(&TEST_KEY_SECRET),
        )
        .expect("HS512 signing");
        let padded = sign(&good_header(), &with(&claims, json!({ "padding": "x".repeat(8 * 1024) })));
        assert!(padded.len() > 8 * 1024);

        let vectors: Vec<(&str, String)> = vec![
            ("alg none, unsigned", format!("{}.{}.", b64(unsigned_header.to_string()), b64(claims.to_string()))),
            ("alg none with a signature", sign(&unsigned_header, &claims)),
            ("the server's own token with its signature stripped", format!("{real_header}.{}.", parts[1])),
            (
                "signed with another key under the same kid",
                hs256_token(&good_header(), &claims, b"another-secret-also-32-bytes-long"),
            ),
            (
                "the server's token with sub swapped to the admin",
                format!(
                    "{real_header}.{}.{real_signature}",
                    b64(with(&claims_of(&migrant_access), json!({ "sub": admin_id })).to_string())
                ),
            ),
            (
                "the server's token with a role claim added",
                format!(
                    "{real_header}.{}.{real_signature}",
                    b64(with(&claims_of(&migrant_access), json!({ "role": "ADMIN" })).to_string())
                ),
            ),
            (
                "expired",
                sign(&good_header(), &with(&claims, json!({ "iat": now - 1200, "nbf": now - 1200, "exp": now - 600 }))),
            ),
            ("expired by 31 s, just past the leeway", sign(&good_header(), &with(&claims, json!({ "exp": now - 31 })))),
            (
                "not yet valid",
                sign(&good_header(), &with(&claims, json!({ "iat": now + 600, "nbf": now + 600, "exp": now + 1200 }))),
            ),
            ("without exp", sign(&good_header(), &with(&claims, json!({ "exp": null })))),
            ("without nbf", sign(&good_header(), &with(&claims, json!({ "nbf": null })))),
            ("without aud", sign(&good_header(), &with(&claims, json!({ "aud": null })))),
            ("without iss", sign(&good_header(), &with(&claims, json!({ "iss": null })))),
            ("without sub", sign(&good_header(), &with(&claims, json!({ "sub": null })))),
            ("with an empty sub", sign(&good_header(), &with(&claims, json!({ "sub": "" })))),
            ("another audience", sign(&good_header(), &with(&claims, json!({ "aud": "someone-else" })))),
            ("another issuer", sign(&good_header(), &with(&claims, json!({ "iss": "evil" })))),
            ("another token type", sign(&good_header(), &with(&claims, json!({ "typ": "refresh" })))),
            ("without a token type", sign(&good_header(), &with(&claims, json!({ "typ": null })))),
            ("an unknown kid", sign(&header_with(json!({ "kid": "test-key-2" })), &claims)),
            ("no kid", sign(&header_with(json!({ "kid": null })), &claims)),
            ("alg HS512, validly signed with the same secret", hs512),
            ("alg RS256 over an HMAC signature", sign(&header_with(json!({ "alg": "RS256" })), &claims)),
            ("alg ES256", sign(&header_with(json!({ "alg": "ES256" })), &claims)),
            ("a refresh token as an access token", migrant_refresh.clone()),
            ("an 8 KiB token signed with the right key", padded),
            (
                "a token of an account that does not exist",
                sign(&good_header(), &with(&claims, json!({ "sub": uuid::Uuid::now_v7().to_string() }))),
            ),
            ("garbage", "abc".to_owned()),
            ("two dots", "..".to_owned()),
            ("nothing after Bearer", String::new()),
        ];
        for (what, token) in &vectors {
            assert_refused_token(&app, what, token).await;
        }

        // The same good token under another scheme, and other schemes.
        assert_refused(&app, "Basic credentials", &format!("Basic {}", b64("admin:qiao-demo-pass"))).await;
        assert_refused(&app, "a valid token under the Token scheme", &format!("Token {migrant_access}")).await;
        assert_refused(&app, "a bare token without a scheme", &migrant_access).await;

        // The refusals are about the tokens: the real one still works.
        assert_eq!(me(&app, &migrant_access).await["username"], "migrant.demo");
    })
    .await;
}

#[tokio::test]
async fn a_disabled_accounts_tokens_are_refused_and_it_cannot_sign_in() {
    on_every_database(|app| async move {
        let admin = app.token_of("admin").await;
        let (access, refresh_token) = app.login("migrant.demo", DEMO_PASSWORD).await;
        let id = me(&app, &access).await["id"].clone();

        let disabled = app.data_as(&admin, SET_DISABLED, json!({ "id": id, "disabled": true })).await;
        assert_eq!(disabled["setAccountDisabled"]["disabled"], json!(true));

        assert_refused_token(&app, "the access token of a disabled account", &access).await;
        assert_unauthenticated("the refresh token of a disabled account", &refresh(&app, &refresh_token).await);
        let wrong_password = login_response(&app, "migrant.demo", "not-the-password").await;
        let disabled_login = login_response(&app, "migrant.demo", DEMO_PASSWORD).await;
        assert_unauthenticated("signing in to a disabled account", &disabled_login);
        // Indistinguishable from a wrong password.
        assert_eq!(disabled_login["errors"][0]["message"], wrong_password["errors"][0]["message"]);

        app.data_as(&admin, SET_DISABLED, json!({ "id": id, "disabled": false })).await;
        let again = login_response(&app, "migrant.demo", DEMO_PASSWORD).await;
        assert_eq!(again["data"]["login"]["account"]["username"], "migrant.demo", "{again}");
    })
    .await;
}

#[tokio::test]
async fn every_demo_account_signs_in_and_me_shows_its_role() {
    on_every_database(|app| async move {
        let anonymous = app.data(ME, json!({})).await;
        assert!(anonymous["me"].is_null());
        for (username, role, has_organization) in [
            ("admin", "ADMIN", false),
            ("worker.tvillage", "SOCIAL_WORKER", true),
            ("committee.tvillage", "COMMITTEE_STAFF", false),
            ("provider.legalaid", "PROVIDER_STAFF", true),
            ("migrant.demo", "MIGRANT", false),
        ] {
            let response = login_response(&app, username, DEMO_PASSWORD).await;
            let payload = &response["data"]["login"];
            assert_eq!(payload["account"]["role"], role, "{response}");
            let expires = payload["accessTokenExpiresAt"].as_str().unwrap_or_default();
            let expires = chrono::DateTime::parse_from_rfc3339(expires).expect("an RFC 3339 expiry");
            assert_eq!(expires, app.clock.now() + Duration::minutes(10), "{username}");
            assert!(payload["refreshToken"].as_str().is_some_and(|t| t.starts_with("qrt_")));

            let access = payload["accessToken"].as_str().expect("access token");
            let me = me(&app, access).await;
            assert_eq!(me["username"], username);
            assert_eq!(me["role"], role);
            assert_eq!(me["id"], payload["account"]["id"]);
            assert_eq!(me["organizationId"].is_string(), has_organization, "{me}");
        }
        // Login names are case-insensitive.
        let upper = login_response(&app, "Worker.TVillage", DEMO_PASSWORD).await;
        assert_eq!(upper["data"]["login"]["account"]["username"], "worker.tvillage", "{upper}");
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_error() {
    on_every_database(|app| async move {
        let wrong_password = login_response(&app, "admin", "qiao-demo-pass-wrong").await;
        let unknown_user = login_response(&app, "nobody.here", DEMO_PASSWORD).await;
        let unknown_phone = login_response(&app, "13700000000", DEMO_PASSWORD).await;
        let empty_password = login_response(&app, "admin", "").await;
        for (what, response) in [
            ("wrong password", &wrong_password),
            ("unknown user", &unknown_user),
            ("unknown phone", &unknown_phone),
            ("empty password", &empty_password),
        ] {
            assert_unauthenticated(what, response);
            assert_eq!(response["errors"][0]["message"], wrong_password["errors"][0]["message"], "{what}");
            assert_eq!(response["errors"][0]["extensions"], wrong_password["errors"][0]["extensions"], "{what}");
        }
    })
    .await;
}

#[tokio::test]
async fn an_access_token_lasts_ten_minutes_on_the_servers_clock() {
    on_every_database(|app| async move {
        let signed_in_at = app.clock.now();
        let (access, refresh_token) = app.login("worker.tvillage", DEMO_PASSWORD).await;

        app.clock.set(signed_in_at + Duration::minutes(9));
        assert_eq!(me(&app, &access).await["username"], "worker.tvillage");

        app.clock.set(signed_in_at + Duration::minutes(11));
        assert_refused_token(&app, "an access token 11 minutes old", &access).await;

        // The refresh token outlives it and brings a fresh access token.
        let (fresh, _) = refreshed(&app, &refresh_token).await;
        assert_eq!(me(&app, &fresh).await["username"], "worker.tvillage");
    })
    .await;
}

#[tokio::test]
async fn a_refresh_gives_new_tokens_and_spends_the_old_refresh_token() {
    on_every_database(|app| async move {
        let (access, first) = app.login("provider.legalaid", DEMO_PASSWORD).await;
        app.clock.set(app.clock.now() + Duration::minutes(1));
        let response = refresh(&app, &first).await;
        let payload = &response["data"]["refreshToken"];
        let (new_access, second) =
            (payload["accessToken"].as_str().unwrap_or_default(), payload["refreshToken"].as_str().unwrap_or_default());
        assert!(!new_access.is_empty() && new_access != access, "{response}");
        assert!(second.starts_with("qrt_") && second != first, "{response}");
        assert_eq!(payload["account"]["id"], me(&app, &access).await["id"]);
        assert_eq!(me(&app, new_access).await["username"], "provider.legalaid");

        assert_unauthenticated("a spent refresh token", &refresh(&app, &first).await);
        for garbage in ["", "qrt_", "qrt_not-a-token", "abc"] {
            assert_unauthenticated(garbage, &refresh(&app, garbage).await);
        }
    })
    .await;
}

#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_its_whole_family() {
    on_every_database(|app| async move {
        let (_, first) = app.login("migrant.demo", DEMO_PASSWORD).await;
        let (_, second) = refreshed(&app, &first).await;
        let (_, third) = refreshed(&app, &second).await;

        // `first` was stolen and is replayed: the whole chain must stop, newest included.
        assert_unauthenticated("replaying a spent refresh token", &refresh(&app, &first).await);
        assert_unauthenticated("the newest token of a revoked family", &refresh(&app, &third).await);
        assert_unauthenticated("a middle token of a revoked family", &refresh(&app, &second).await);
    })
    .await;
}

#[tokio::test]
async fn racing_refreshes_of_one_token_let_one_through_and_count_the_rest_as_reuse() {
    on_every_database(|app| async move {
        let (_, token) = app.login("migrant.demo", DEMO_PASSWORD).await;
        let racers: Vec<_> = (0..4)
            .map(|_| {
                let (app, token) = (app.clone(), token.clone());
                tokio::spawn(async move { refresh(&app, &token).await })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            let response = racer.await.expect("a racer finishes");
            match error_code(&response) {
                None => winners
                    .push(response["data"]["refreshToken"]["refreshToken"].as_str().unwrap_or_default().to_owned()),
                Some("UNAUTHENTICATED") => {}
                Some(other) => panic!("a racing refresh answered {other}: {response}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one racer spends the token");
        // The losers replayed a spent token, which revoked the family, the winner's token too.
        assert_unauthenticated("the winner's token after the race", &refresh(&app, &winners[0]).await);
    })
    .await;
}

#[tokio::test]
async fn revoking_one_family_leaves_the_accounts_other_sign_ins_working() {
    on_every_database(|app| async move {
        let (_, phone) = app.login("worker.tvillage", DEMO_PASSWORD).await;
        let (_, laptop) = app.login("worker.tvillage", DEMO_PASSWORD).await;
        let (_, tablet) = app.login("worker.tvillage", DEMO_PASSWORD).await;

        let (_, phone_next) = refreshed(&app, &phone).await;
        assert_unauthenticated("replay on the phone", &refresh(&app, &phone).await);
        assert_unauthenticated("the phone's newest token", &refresh(&app, &phone_next).await);

        assert_eq!(app.data(LOGOUT, json!({ "token": tablet })).await["logout"], json!(true));
        assert_unauthenticated("the tablet after logout", &refresh(&app, &tablet).await);

        let (access, _) = refreshed(&app, &laptop).await;
        assert_eq!(me(&app, &access).await["username"], "worker.tvillage");
    })
    .await;
}

#[tokio::test]
async fn logout_revokes_the_refresh_token_and_its_family() {
    on_every_database(|app| async move {
        let (_, first) = app.login("committee.tvillage", DEMO_PASSWORD).await;
        let (_, second) = refreshed(&app, &first).await;
        let (_, third) = refreshed(&app, &second).await;

        // Signing out with an older token of the family signs out the newest too.
        assert_eq!(app.data(LOGOUT, json!({ "token": second })).await["logout"], json!(true));
        assert_unauthenticated("the newest token after logout", &refresh(&app, &third).await);

        // Signing out twice, or with a token the server never issued, is harmless.
        assert_eq!(app.data(LOGOUT, json!({ "token": third })).await["logout"], json!(true));
        assert_eq!(app.data(LOGOUT, json!({ "token": "qrt_never-issued" })).await["logout"], json!(true));
    })
    .await;
}

#[tokio::test]
async fn a_refresh_token_expires_after_thirty_days() {
    on_every_database(|app| async move {
        let signed_in_at = app.clock.now();
        let (_, kept) = app.login("migrant.demo", DEMO_PASSWORD).await;
        let (_, forgotten) = app.login("migrant.demo", DEMO_PASSWORD).await;

        app.clock.set(signed_in_at + Duration::days(29));
        let (access, _) = refreshed(&app, &kept).await;
        assert_eq!(me(&app, &access).await["username"], "migrant.demo");

        app.clock.set(signed_in_at + Duration::days(30) + Duration::minutes(1));
        assert_unauthenticated("a refresh token 30 days old", &refresh(&app, &forgotten).await);
    })
    .await;
}

#[tokio::test]
async fn a_migrant_registers_with_a_username_and_signs_in_with_it() {
    on_every_database(|app| async move {
        let response = app
            .graphql(REGISTER, json!({ "login": "Xiao.Li", "password": "long-enough-pw", "displayName": "小李" }))
            .await;
        let payload = &response["data"]["registerMigrant"];
        assert_eq!(payload["account"]["username"], "xiao.li", "{response}");
        assert_eq!(payload["account"]["role"], "MIGRANT");
        assert_eq!(payload["account"]["displayName"], "小李");
        assert!(payload["account"]["organizationId"].is_null());
        let access = payload["accessToken"].as_str().expect("registering signs in");
        assert_eq!(me(&app, access).await["username"], "xiao.li");
        let (_, refresh_token) = refreshed(&app, payload["refreshToken"].as_str().unwrap_or_default()).await;
        assert!(refresh_token.starts_with("qrt_"));

        let (access, _) = app.login("xiao.li", "long-enough-pw").await;
        assert_eq!(me(&app, &access).await["role"], "MIGRANT");

        // A signed-in caller does not register again.
        let again =
            app.graphql_as(&access, REGISTER, json!({ "login": "xiao.li.2", "password": "long-enough-pw" })).await;
        assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    })
    .await;
}

#[tokio::test]
async fn a_migrant_registers_with_a_phone_number_that_is_stored_only_as_a_keyed_hash() {
    on_every_database(|app| async move {
        const DIGITS: &str = "13712340987";
        let response = app.graphql(REGISTER, json!({ "login": "137 1234 0987", "password": "phone-user-pw" })).await;
        let account = &response["data"]["registerMigrant"]["account"];
        assert!(account["username"].is_null(), "{response}");
        assert_eq!(account["role"], "MIGRANT");
        assert!(!account["displayName"].as_str().unwrap_or(DIGITS).contains(DIGITS));

        for form in [DIGITS, "+86 137-1234-0987", "+8613712340987", "86 137 1234 0987"] {
            let signed_in = login_response(&app, form, "phone-user-pw").await;
            assert_eq!(signed_in["data"]["login"]["account"]["id"], account["id"], "{form}: {signed_in}");
        }
        let response =
            app.graphql(REGISTER, json!({ "login": "+86 138 0013 8000", "password": "phone-user-pw" })).await;
        assert!(response["data"]["registerMigrant"]["accessToken"].is_string(), "{response}");
        let (access, _) = app.login("13800138000", "phone-user-pw").await;
        assert_eq!(me(&app, &access).await["id"], response["data"]["registerMigrant"]["account"]["id"]);

        // No column of any account row holds the number, in any form.
        let db = app.database().await;
        let rows = account::Entity::find().into_json().all(&db).await.expect("read accounts");
        let id = account["id"].as_str().unwrap_or_default();
        let row = rows.iter().find(|row| row["id"] == id).expect("the new account is stored");
        assert!(row["phone_digest"].as_str().is_some_and(|digest| digest.len() == 64), "{row}");
        for row in &rows {
            let text = row.to_string();
            for digits in [DIGITS, "13800138000", "1234 0987", "1234-0987", "12340987"] {
                assert!(!text.contains(digits), "an account row holds {digits}: {text}");
            }
        }
        db.close().await.ok();

        // Nor does the SQLite file, anywhere (its write-ahead log included).
        if let Some(path) = app.database_url.strip_prefix("sqlite://").and_then(|rest| rest.split('?').next()) {
            for suffix in ["", "-wal"] {
                let bytes = std::fs::read(format!("{path}{suffix}")).unwrap_or_default();
                assert!(
                    !bytes.windows(DIGITS.len()).any(|window| window == DIGITS.as_bytes()),
                    "{path}{suffix} holds the phone number"
                );
            }
        }
    })
    .await;
}

#[tokio::test]
async fn registering_a_taken_username_or_phone_number_is_a_conflict() {
    on_every_database(|app| async move {
        let first = app.graphql(REGISTER, json!({ "login": "zhang.wei", "password": "first-password" })).await;
        assert!(first["data"]["registerMigrant"]["accessToken"].is_string(), "{first}");
        let phone = app.graphql(REGISTER, json!({ "login": "13912349876", "password": "first-password" })).await;
        assert!(phone["data"]["registerMigrant"]["accessToken"].is_string(), "{phone}");

        for login in ["zhang.wei", "Zhang.Wei", "admin", "13912349876", "+86 139 1234 9876"] {
            let response = app.graphql(REGISTER, json!({ "login": login, "password": "second-password" })).await;
            assert_eq!(error_code(&response), Some("CONFLICT"), "{login}: {response}");
            assert!(response["data"].is_null(), "{login}");
        }
        // The first registrations keep their passwords.
        app.login("zhang.wei", "first-password").await;
        app.login("13912349876", "first-password").await;
    })
    .await;
}

#[tokio::test]
async fn a_short_password_or_a_bad_username_is_refused_with_its_field() {
    on_every_database(|app| async move {
        let db = app.database().await;
        let before = account::Entity::find().all(&db).await.expect("accounts").len();
        let too_long = "x".repeat(129);
        for (login, password, field) in [
            ("short.pw", "1234567", "password"),
            ("13712345555", "", "password"),
            ("short.pw", too_long.as_str(), "password"),
            ("ab", "long-enough-pw", "username"),
            ("has space", "long-enough-pw", "username"),
            ("who@example.com", "long-enough-pw", "username"),
        ] {
            let response = app.graphql(REGISTER, json!({ "login": login, "password": password })).await;
            assert_eq!(error_code(&response), Some("BAD_USER_INPUT"), "{login}: {response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], field, "{login}: {response}");
        }
        let after = account::Entity::find().all(&db).await.expect("accounts").len();
        assert_eq!(before, after, "a refused registration stored an account");
        db.close().await.ok();
    })
    .await;
}

#[tokio::test]
async fn repeated_sign_in_attempts_from_one_client_are_rate_limited() {
    on_every_database(|app| async move {
        // 20 attempts a minute per client address; stop well past it whatever happens.
        let mut refused_at = None;
        for attempt in 1..=30 {
            let response = login_response(&app, "admin", &format!("guess-{attempt}")).await;
            match error_code(&response) {
                Some("UNAUTHENTICATED") => {}
                Some("RATE_LIMITED") => {
                    refused_at = Some(attempt);
                    break;
                }
                other => panic!("attempt {attempt}: unexpected {other:?}: {response}"),
            }
        }
        assert_eq!(refused_at, Some(21), "the 21st attempt within a minute is refused");

        // Once limited, the right password and registration wait too.
        let right = login_response(&app, "admin", DEMO_PASSWORD).await;
        assert_eq!(error_code(&right), Some("RATE_LIMITED"), "{right}");
        assert!(right["data"].is_null());
        let register = app.graphql(REGISTER, json!({ "login": "late.comer", "password": "long-enough-pw" })).await;
        assert_eq!(error_code(&register), Some("RATE_LIMITED"), "{register}");
    })
    .await;
}

fn production(variables: &[(&str, &str)]) -> Result<Config, qiao_server::config::ConfigError> {
    Config::from_lookup(|name| match name {
        "QIAO_ENV" => Some("production".to_owned()),
        _ => variables.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()),
    })
}

#[test]
fn production_refuses_to_start_without_secrets_or_with_demo_data() {
    let key = format!("k1:{}", base64::engine::general_purpose::STANDARD.encode([9u8; 32]));
    let pepper = base64::engine::general_purpose::STANDARD.encode([3u8; 16]);
    let data_keys = format!("d1:{}", base64::engine::general_purpose::STANDARD.encode([5u8; 32]));
    let keys = [
        ("QIAO_JWT_KEYS", key.as_str()),
        ("QIAO_PHONE_PEPPER", pepper.as_str()),
        ("QIAO_DATA_KEYS", data_keys.as_str()),
    ];

    assert_eq!(production(&[]).err().map(|e| e.variable), Some("QIAO_JWT_KEYS"));
    assert_eq!(production(&keys[..1]).err().map(|e| e.variable), Some("QIAO_PHONE_PEPPER"));
    assert_eq!(production(&keys[..2]).err().map(|e| e.variable), Some("QIAO_DATA_KEYS"));
    assert_eq!(production(&keys[1..]).err().map(|e| e.variable), Some("QIAO_JWT_KEYS"));
    assert_eq!(production(&[("QIAO_JWT_KEYS", ""), keys[1]]).err().map(|e| e.variable), Some("QIAO_JWT_KEYS"));
    for demo in ["true", "1", "yes"] {
        let error = production(&[keys[0], keys[1], keys[2], ("QIAO_SEED_DEMO", demo)]).err();
        assert_eq!(error.map(|e| e.variable), Some("QIAO_SEED_DEMO"), "QIAO_SEED_DEMO={demo}");
    }

    let config = production(&keys).expect("production with its secrets starts");
    assert_eq!(config.environment, Environment::Production);
    assert!(!config.seed_demo, "production seeds no demo data by default");
    assert!(qiao_server::auth::keys::Secrets::from_config(&config).is_ok());

    // Even a configuration built by hand cannot run production on generated secrets.
    let without_keys = Config { jwt_keys: None, ..config.clone() };
    assert!(qiao_server::auth::keys::Secrets::from_config(&without_keys).is_err());
    let without_pepper = Config { phone_pepper: None, ..config };
    assert!(qiao_server::auth::keys::Secrets::from_config(&without_pepper).is_err());
}
