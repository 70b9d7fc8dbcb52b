//! Safe defaults: demo accounts never land in a database in real use, and signed access tokens
//! that live too long are refused.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use qiao_schema::entity::account;
use qiao_server::clock::Clock;
use qiao_server::config::Config;
use qiao_tests::{TEST_KEY_ID, TEST_KEY_SECRET, TestApp, backends, error_code, on_every_database};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

const ME: &str = "{ me { id username } }";

/// A JWT with these claims, HMAC-SHA-256-signed with the test servers' key.
fn signed(claims: &Value) -> String {
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": TEST_KEY_ID });
    let message =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &EncodingKey::from_secret(&TEST_KEY_SECRET), Algorithm::HS256)
            .expect("HMAC signing");
    format!("{message}.{signature}")
}

#[tokio::test]
async fn a_restart_with_configured_keys_on_a_database_in_use_creates_no_demo_accounts() {
    for backend in backends() {
        // A database in real use: one real account, no demo data.
        let app = TestApp::spawn_with(backend, false).await;
        app.create_admin("real.admin").await;

        // Started again on it, with configured secrets and demo seeding left on.
        let database_url = app.database_url.clone();
        let jwt_keys = format!("{TEST_KEY_ID}:{}", STANDARD.encode(TEST_KEY_SECRET));
        let config = Config::from_lookup(|variable| match variable {
            "QIAO_DATABASE_URL" => Some(database_url.clone()),
            "QIAO_JWT_KEYS" => Some(jwt_keys.clone()),
            "QIAO_PHONE_PEPPER" => Some(STANDARD.encode(b"qiao-test-phone-pepper")),
            "QIAO_DATA_KEYS" => Some(qiao_tests::test_data_keys()),
            "QIAO_SEED_DEMO" => Some("true".to_owned()),
            _ => None,
        })
        .expect("test configuration");
        let state = qiao_server::prepare(&config, app.clock.clone()).await.expect("server prepares");
        drop(state);

        let db = app.database().await;
        let demo = account::Entity::find().filter(account::Column::Username.eq("admin")).one(&db).await;
        assert!(demo.expect("read the accounts").is_none(), "the demo admin was created in a database in use");
        let accounts = account::Entity::find().all(&db).await.expect("read the accounts");
        let names: Vec<_> = accounts.iter().filter_map(|a| a.username.as_deref()).collect();
        assert_eq!(names, ["real.admin"]);
        db.close().await.ok();
        app.finish().await;
    }
}

#[tokio::test]
async fn a_fresh_start_still_gets_the_demo_accounts() {
    on_every_database(|app| async move {
        let token = app.token_of("admin").await;
        assert_eq!(app.data_as(&token, ME, json!({})).await["me"]["username"], "admin");
        app.token_of("migrant.demo").await;
    })
    .await;
}

#[tokio::test]
async fn a_validly_signed_access_token_living_longer_than_the_maximum_is_unauthenticated() {
    on_every_database(|app| async move {
        let admin = app.data_as(&app.token_of("admin").await, ME, json!({})).await;
        let admin_id = admin["me"]["id"].as_str().expect("admin id").to_owned();
        let now = app.clock.now().timestamp();
        let claims = |iat: i64, exp: i64| {
            json!({ "iss": "qiao", "aud": "qiao-app", "sub": admin_id, "iat": iat, "nbf": iat, "exp": exp, "typ": "access" })
        };
        let ordinary = signed(&claims(now, now + 600));
        assert_eq!(app.data_as(&ordinary, ME, json!({})).await["me"]["username"], "admin");

        let vectors = [
            ("a 30-year exp", claims(now, now + 30 * 365 * 24 * 3600)),
            ("an hour-long token", claims(now, now + 3600)),
            ("a day-long token issued yesterday, ending in a minute", claims(now - 86_400, now + 60)),
        ];
        for (what, claims) in vectors {
            let response = app.graphql_as(&signed(&claims), ME, json!({})).await;
            assert_eq!(error_code(&response), Some("UNAUTHENTICATED"), "{what}: {response}");
            assert!(response["data"].is_null(), "{what}: {response}");
        }
    })
    .await;
}

/// A fresh, empty database on a server with a configured signing key gets the demo directory but
/// never the demo accounts: their public password would open a real deployment.
#[tokio::test]
async fn a_fresh_start_with_a_configured_signing_key_creates_no_demo_accounts() {
    for backend in backends() {
        let key = format!("{TEST_KEY_ID}:{}", STANDARD.encode(TEST_KEY_SECRET));
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_JWT_KEYS", key.as_str())]).await;
        let login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }";
        let refused = app.graphql(login, json!({ "u": "admin", "p": "qiao-demo-pass" })).await;
        assert!(refused["data"].is_null() || refused["data"]["login"].is_null(), "{refused}");
        assert!(error_code(&refused).is_some(), "{refused}");
        let db = app.database().await;
        assert_eq!(account::Entity::find().all(&db).await.expect("read the accounts").len(), 0);
        let search = app
            .data(
                "{ nearbyServices(near: {lat: 31.105, lon: 121.355}, radiusMeters: 3000) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert!(
            search["nearbyServices"]["edges"].as_array().is_some_and(|e| !e.is_empty()),
            "the demo directory is seeded"
        );
        db.close().await.ok();
        app.finish().await;
    }
}
