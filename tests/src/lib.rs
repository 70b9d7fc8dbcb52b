//! Test harness: starts the real server on `127.0.0.1:0` with a fresh database and talks
//! GraphQL over HTTP to it, as the app does.
//!
//! Every test runs on a fresh SQLite file, and also on a fresh PostgreSQL database when
//! `QIAO_TEST_POSTGRES_URL` names a server (e.g. `postgres://postgres@127.0.0.1:5432/postgres`);
//! each such database is called `qiao_test_<uuid>` and dropped when the test ends.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use qiao_server::clock::{CHINA_STANDARD_TIME, ManualClock};
use qiao_server::config::Config;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const POSTGRES_URL_VARIABLE: &str = "QIAO_TEST_POSTGRES_URL";

/// The signing key test servers use (`kid` and 32-byte secret), so tests can forge tokens.
pub const TEST_KEY_ID: &str = "test-key-1";
pub const TEST_KEY_SECRET: [u8; 32] = *b"qiao-test-signing-secret-32bytes";

/// The key that seals personal data in tests (`QIAO_DATA_KEYS`): fixed, so a test can open what
/// the server sealed.
pub const TEST_DATA_KEY: [u8; 32] = *b"qiao-test-data-key-32-bytes-long";

/// `QIAO_DATA_KEYS` as the tests configure it.
pub fn test_data_keys() -> String {
    format!("test:{}", base64_encode(&TEST_DATA_KEY))
}
/// The demo accounts' password.
pub const DEMO_PASSWORD: &str = "qiao-demo-pass";

/// T village's centre (WGS-84), pinned by the design so data and tests agree.
pub const T_VILLAGE: (f64, f64) = (31.1050, 121.3550);

/// A database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// Server URL of a PostgreSQL whose `postgres` database we may create databases from.
    Postgres(String),
}

/// SQLite always; PostgreSQL too when its URL is given.
pub fn backends() -> Vec<Backend> {
    let mut backends = vec![Backend::Sqlite];
    if let Ok(url) = std::env::var(POSTGRES_URL_VARIABLE)
        && !url.is_empty()
    {
        backends.push(Backend::Postgres(url));
    }
    backends
}

/// An instant given in China Standard Time.
pub fn china_time(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    CHINA_STANDARD_TIME
        .with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .expect("a valid China Standard Time instant")
}

/// A running server with its own fresh database.
#[derive(Clone)]
pub struct TestApp {
    pub address: SocketAddr,
    pub backend: Backend,
    pub database_url: String,
    pub clock: Arc<ManualClock>,
    http: reqwest::Client,
    cleanup: Arc<tokio::sync::Mutex<Option<Cleanup>>>,
}

struct Cleanup {
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    drop_database: Option<(String, String)>,
    sqlite_file: Option<PathBuf>,
    /// The server's `QIAO_DATA_DIR` (development secrets, files it writes).
    data_dir: PathBuf,
}

impl TestApp {
    /// Starts a server on a fresh, migrated, demo-seeded database. The clock starts at
    /// Wednesday 2026-11-25 10:00 China Standard Time.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, true).await
    }

    /// Like [`spawn`](Self::spawn); with `seed_demo: false` the directory starts empty (reference
    /// data only) and there are no accounts: see [`create_admin`](Self::create_admin).
    pub async fn spawn_with(backend: Backend, seed_demo: bool) -> Self {
        Self::spawn_configured(backend, seed_demo, &[]).await
    }

    /// A server in production mode (`QIAO_ENV=production`: no introspection, no GraphiQL), on a
    /// database with reference data only and no accounts.
    pub async fn spawn_production(backend: Backend) -> Self {
        Self::spawn_configured(backend, false, &[("QIAO_ENV", "production")]).await
    }

    /// Like [`spawn_with`](Self::spawn_with), with extra configuration variables (e.g.
    /// `("QIAO_TRUSTED_PROXIES", "127.0.0.1")`).
    pub async fn spawn_configured(backend: Backend, seed_demo: bool, settings: &[(&str, &str)]) -> Self {
        // `QIAO_TEST_RUN` groups one run's databases, so CI can drop a killed run's leftovers without
        // touching another run's.
        let run = std::env::var("QIAO_TEST_RUN")
            .ok()
            .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric()));
        let name = match run {
            Some(run) => format!("qiao_test_{run}_{}", uuid::Uuid::now_v7().simple()),
            None => format!("qiao_test_{}", uuid::Uuid::now_v7().simple()),
        };
        let (database_url, drop_database, sqlite_file) = match &backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                (format!("sqlite://{}?mode=rwc", path.display()), None, Some(path))
            }
            Backend::Postgres(server_url) => {
                let admin = Database::connect(server_url).await.expect("connect to the PostgreSQL server");
                admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create a test database");
                admin.close().await.ok();
                (with_database(server_url, &name), Some((server_url.clone(), name.clone())), None)
            }
        };
        // Demo accounts are only ever created next to a generated development signing key, so a
        // development server gets the test key from a development secrets file (the server's own
        // format) in a directory of its own; production is given the key as configuration.
        let data_dir = std::env::temp_dir().join(format!("{name}-data"));
        write_dev_secrets(&data_dir);
        let production = settings.iter().any(|(name, value)| *name == "QIAO_ENV" && *value == "production");
        let jwt_keys = format!("{TEST_KEY_ID}:{}", base64_encode(&TEST_KEY_SECRET));
        let config = Config::from_lookup(|variable| match variable {
            "QIAO_DATABASE_URL" => Some(database_url.clone()),
            "QIAO_LISTEN" => Some("127.0.0.1:0".to_owned()),
            "QIAO_DATA_DIR" => Some(data_dir.display().to_string()),
            "QIAO_JWT_KEYS" if production => Some(jwt_keys.clone()),
            "QIAO_PHONE_PEPPER" => Some(base64_encode(b"qiao-test-phone-pepper")),
            "QIAO_DATA_KEYS" => Some(test_data_keys()),
            "QIAO_SEED_DEMO" => Some(seed_demo.to_string()),
            _ => settings.iter().find(|(name, _)| *name == variable).map(|(_, value)| (*value).to_owned()),
        })
        .expect("test configuration");
        let clock = Arc::new(ManualClock::new(china_time(2026, 11, 25, 10, 0)));
        let state = qiao_server::prepare(&config, clock.clone()).await.expect("server prepares");
        let listener = qiao_server::bind(config.listen).await.expect("bind port 0");
        let address = listener.local_addr().expect("bound address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            qiao_server::serve(listener, state, async {
                stop.await.ok();
            })
            .await
            .expect("server runs");
        });
        Self {
            address,
            backend,
            database_url,
            clock,
            http: reqwest::Client::builder().no_gzip().build().expect("HTTP client"),
            cleanup: Arc::new(tokio::sync::Mutex::new(Some(Cleanup {
                shutdown,
                server,
                drop_database,
                sqlite_file,
                data_dir,
            }))),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Posts a GraphQL request and returns the whole JSON response (`data` and `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_with(query, variables, &[]).await
    }

    /// Like [`graphql`](Self::graphql) with extra request headers.
    pub async fn graphql_with(&self, query: &str, variables: Value, headers: &[(&str, &str)]) -> Value {
        self.graphql_status(query, variables, headers).await.1
    }

    /// Like [`graphql_with`](Self::graphql_with), also returning the HTTP status (never a 5xx).
    pub async fn graphql_status(
        &self,
        query: &str,
        variables: Value,
        headers: &[(&str, &str)],
    ) -> (reqwest::StatusCode, Value) {
        let mut request = self.http.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        assert!(!status.is_server_error(), "the server answered {status}");
        (status, response.json().await.expect("a JSON body"))
    }

    /// Posts a GraphQL request with `Authorization: Bearer <token>`.
    pub async fn graphql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let bearer = format!("Bearer {token}");
        self.graphql_with(query, variables, &[("authorization", &bearer)]).await
    }

    /// Signs in and returns `(access token, refresh token)`.
    pub async fn login(&self, username: &str, password: &str) -> (String, String) {
        let response = self
            .graphql(
                "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken refreshToken } }",
                json!({ "u": username, "p": password }),
            )
            .await;
        let tokens = &response["data"]["login"];
        let access = tokens["accessToken"].as_str().unwrap_or_else(|| panic!("login as {username} failed: {response}"));
        (access.to_owned(), tokens["refreshToken"].as_str().unwrap_or_default().to_owned())
    }

    /// The access token of a demo account.
    pub async fn token_of(&self, username: &str) -> String {
        self.login(username, DEMO_PASSWORD).await.0
    }

    /// Adds an admin account `username` (password [`DEMO_PASSWORD`]) straight to the database, for
    /// servers spawned without demo data, and returns its access token.
    pub async fn create_admin(&self, username: &str) -> String {
        use qiao_schema::domain::Role;
        use qiao_schema::entity::account;
        use qiao_server::clock::Clock;
        use sea_orm::{ActiveValue::Set, EntityTrait};

        let db = Database::connect(&self.database_url).await.expect("connect to the test database");
        let password_hash =
            qiao_server::auth::password::hash_password(DEMO_PASSWORD.to_owned()).await.expect("hash the password");
        let now = self.clock.now();
        account::Entity::insert(account::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            username: Set(Some(username.to_owned())),
            phone_digest: Set(None),
            display_name: Set(format!("{username} (test admin)")),
            password_hash: Set(password_hash),
            role: Set(Role::Admin),
            organization_id: Set(None),
            disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&db)
        .await
        .expect("insert the admin account");
        db.close().await.ok();
        self.login(username, DEMO_PASSWORD).await.0
    }

    /// Posts a GraphQL request that must succeed, and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// Like [`data`](Self::data), signed in with `token`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql_as(token, query, variables).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// A connection of its own to the test's database, to check what the API wrote.
    pub async fn database(&self) -> DatabaseConnection {
        Database::connect(&self.database_url).await.expect("connect to the test database")
    }

    /// Stops the server and removes its database.
    pub async fn finish(&self) {
        let Some(cleanup) = self.cleanup.lock().await.take() else { return };
        cleanup.shutdown.send(()).ok();
        cleanup.server.await.ok();
        if let Some((server_url, name)) = cleanup.drop_database
            && let Ok(admin) = Database::connect(&server_url).await
        {
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
            admin.close().await.ok();
        }
        std::fs::remove_dir_all(&cleanup.data_dir).ok();
        if let Some(path) = cleanup.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
            }
        }
    }
}

/// A development secrets file holding the test keys, as the server writes one when it generates
/// them (`auth::keys`).
fn write_dev_secrets(data_dir: &std::path::Path) {
    std::fs::create_dir_all(data_dir).expect("create the server's data directory");
    let secrets = json!({
        "jwt_kid": TEST_KEY_ID,
        "jwt_secret": base64_encode(&TEST_KEY_SECRET),
        "phone_pepper": base64_encode(b"qiao-test-phone-pepper"),
        "data_key": base64_encode(&TEST_DATA_KEY),
    });
    std::fs::write(data_dir.join("qiao-dev-secrets.json"), secrets.to_string()).expect("write the secrets file");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `server_url` with its database name replaced by `database`.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// Runs `test` against a fresh server on every backend, one after another.
pub async fn on_every_database<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        test(app.clone()).await;
        app.finish().await;
    }
}

/// The `extensions.code` of the first error of a response.
pub fn error_code(response: &Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Geodesic distance check independent of the server: Vincenty's inverse formula on WGS-84.
pub fn vincenty_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (f, semi_major) = (1.0 / 298.257_223_563, 6_378_137.0);
    let semi_minor = semi_major * (1.0 - f);
    let l = (b.1 - a.1).to_radians();
    let u1 = ((1.0 - f) * a.0.to_radians().tan()).atan();
    let u2 = ((1.0 - f) * b.0.to_radians().tan()).atan();
    let (sin_u1, cos_u1, sin_u2, cos_u2) = (u1.sin(), u1.cos(), u2.sin(), u2.cos());
    let mut lambda = l;
    let (mut sin_sigma, mut cos_sigma, mut sigma, mut cos_sq_alpha, mut cos2_sigma_m) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for _ in 0..200 {
        let (sin_lambda, cos_lambda) = (lambda.sin(), lambda.cos());
        sin_sigma = ((cos_u2 * sin_lambda).powi(2) + (cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lambda).powi(2)).sqrt();
        if sin_sigma == 0.0 {
            return 0.0;
        }
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lambda;
        sigma = sin_sigma.atan2(cos_sigma);
        let sin_alpha = cos_u1 * cos_u2 * sin_lambda / sin_sigma;
        cos_sq_alpha = 1.0 - sin_alpha * sin_alpha;
        cos2_sigma_m = if cos_sq_alpha == 0.0 { 0.0 } else { cos_sigma - 2.0 * sin_u1 * sin_u2 / cos_sq_alpha };
        let c = f / 16.0 * cos_sq_alpha * (4.0 + f * (4.0 - 3.0 * cos_sq_alpha));
        let previous = lambda;
        lambda = l
            + (1.0 - c)
                * f
                * sin_alpha
                * (sigma + c * sin_sigma * (cos2_sigma_m + c * cos_sigma * (-1.0 + 2.0 * cos2_sigma_m * cos2_sigma_m)));
        if (lambda - previous).abs() < 1e-12 {
            break;
        }
    }
    let u_sq = cos_sq_alpha * (semi_major * semi_major - semi_minor * semi_minor) / (semi_minor * semi_minor);
    let big_a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)));
    let big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)));
    let delta_sigma = big_b
        * sin_sigma
        * (cos2_sigma_m
            + big_b / 4.0
                * (cos_sigma * (-1.0 + 2.0 * cos2_sigma_m * cos2_sigma_m)
                    - big_b / 6.0
                        * cos2_sigma_m
                        * (-3.0 + 4.0 * sin_sigma * sin_sigma)
                        * (-3.0 + 4.0 * cos2_sigma_m * cos2_sigma_m)));
    semi_minor * big_a * (sigma - delta_sigma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_a_server_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h/db?sslmode=disable", "x"), "postgres://u@h/x?sslmode=disable");
    }
}
