//! Readiness (`GET /readyz`) and Prometheus metrics (`GET /metrics`).

use std::sync::Arc;

use qiao_server::clock::ManualClock;
use qiao_server::config::Config;
use qiao_tests::{Backend, TestApp, backends, china_time, on_every_database};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

const PHONE: &str = "13912345678";
const SEARCH_TEXT: &str = "Zhangjiang night-shelter lookup";

const REGISTER: &str = "mutation RegisterMigrant($login: String!, $password: String!) {
  registerMigrant(login: $login, password: $password) { account { id } }
}";

const NEARBY: &str = "query NearbyServices($near: GeoPointInput!, $radiusMeters: Int!, $text: String) {
  nearbyServices(near: $near, radiusMeters: $radiusMeters, text: $text) { edges { node { id } } }
}";

async fn get(app: &TestApp, path: &str) -> (StatusCode, String, String) {
    let response = app.http().get(app.url(path)).send().await.expect("the server answers");
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.text().await.unwrap_or_default())
}

/// The value of the one sample line starting with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn readyz_answers_ok_when_the_database_answers_and_the_index_is_loaded() {
    on_every_database(|app| async move {
        let (status, _, body) = get(&app, "/readyz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, "ok");
    })
    .await;
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone() {
    for backend in backends() {
        match backend {
            // A closed pool: the server's own connection refuses every query from now on.
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("qiao_test_ready_{}.db", uuid::Uuid::now_v7().simple()));
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let config = Config::from_lookup(|variable| match variable {
                    "QIAO_DATABASE_URL" => Some(url.clone()),
                    "QIAO_LISTEN" => Some("127.0.0.1:0".to_owned()),
                    "QIAO_SEED_DEMO" => Some("false".to_owned()),
                    _ => None,
                })
                .expect("test configuration");
                let clock = Arc::new(ManualClock::new(china_time(2026, 11, 25, 10, 0)));
                let state = qiao_server::prepare(&config, clock).await.expect("server prepares");
                state.db.close_by_ref().await.expect("close the pool");
                let listener = qiao_server::bind(config.listen).await.expect("bind port 0");
                let address = listener.local_addr().expect("bound address");
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let server = tokio::spawn(qiao_server::serve(listener, state, async {
                    stopped.await.ok();
                }));
                let response = reqwest::get(format!("http://{address}/readyz")).await.expect("the server answers");
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                stop.send(()).ok();
                server.await.ok();
                for suffix in ["", "-wal", "-shm"] {
                    std::fs::remove_file(format!("{}{suffix}", path.display())).ok();
                }
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(body, "database unavailable");
            }
            // The test database dropped under the running server (its connections are ended).
            Backend::Postgres(ref server_url) => {
                let app = TestApp::spawn_with(backend.clone(), false).await;
                let (status, _, _) = get(&app, "/readyz").await;
                assert_eq!(status, StatusCode::OK);
                let name = app.database_url.rsplit('/').next().and_then(|tail| tail.split('?').next()).unwrap_or("");
                assert!(name.starts_with("qiao_test_"), "unexpected test database {name:?}");
                let admin = Database::connect(server_url).await.expect("connect to the PostgreSQL server");
                admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.expect("drop");
                admin.close().await.ok();
                let (status, _, body) = get(&app, "/readyz").await;
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(body, "database unavailable");
                app.finish().await;
            }
        }
    }
}

#[tokio::test]
async fn metrics_count_requests_by_known_operation_and_outcome_without_personal_data() {
    for backend in backends() {
        // One sign-in a minute, so the second registration is refused by a rate limit.
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", "1")]).await;
        let registered = app.graphql(REGISTER, json!({ "login": PHONE, "password": "a long enough password 1" })).await;
        let account_id = registered["data"]["registerMigrant"]["account"]["id"].as_str().unwrap_or_default().to_owned();
        assert!(!account_id.is_empty(), "{registered}");
        let again =
            app.graphql(REGISTER, json!({ "login": "13912345679", "password": "a long enough password 2" })).await;
        assert_eq!(qiao_tests::error_code(&again), Some("RATE_LIMITED"), "{again}");
        let near = json!({ "near": { "lat": 31.105, "lon": 121.355 }, "radiusMeters": 3000, "text": SEARCH_TEXT });
        let found = app.graphql(NEARBY, near.clone()).await;
        assert!(found["errors"].is_null(), "{found}");
        // An operation name the server does not publish is counted as `other`, not by its name.
        let body = json!({ "query": NEARBY, "variables": near, "operationName": format!("Search{PHONE}") });
        app.http().post(app.url("/graphql")).json(&body).send().await.expect("the server answers");

        let (status, content_type, text) = get(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let requests = |operation: &str, outcome: &str| {
            sample(&text, &format!("qiao_graphql_requests_total{{operation=\"{operation}\",outcome=\"{outcome}\"}}"))
        };
        assert_eq!(requests("RegisterMigrant", "ok"), Some(1.0), "{text}");
        assert_eq!(requests("RegisterMigrant", "RATE_LIMITED"), Some(1.0), "{text}");
        assert_eq!(requests("NearbyServices", "ok"), Some(1.0), "{text}");
        assert_eq!(sample(&text, "qiao_rate_limit_refusals_total"), Some(1.0), "{text}");
        assert!(text.contains("qiao_graphql_request_duration_seconds_bucket{"), "{text}");
        assert!(sample(&text, "qiao_index_services").is_some_and(|n| n > 0.0), "{text}");
        assert!(sample(&text, "qiao_index_places").is_some_and(|n| n > 0.0), "{text}");
        assert!(sample(&text, "qiao_database_pool_connections").is_some_and(|n| n >= 1.0), "{text}");
        assert!(text.contains("operation=\"other\""), "{text}");

        for secret in [PHONE, SEARCH_TEXT, "Zhangjiang", &account_id, "127.0.0.1"] {
            assert!(!text.contains(secret), "/metrics holds {secret:?}:\n{text}");
        }
        app.finish().await;
    }
}

#[tokio::test]
async fn metrics_scrapes_and_probes_are_not_counted_as_graphql_requests() {
    on_every_database(|app| async move {
        get(&app, "/healthz").await;
        get(&app, "/readyz").await;
        get(&app, "/metrics").await;
        let (_, _, text) = get(&app, "/metrics").await;
        assert!(!text.contains("qiao_graphql_requests_total{"), "{text}");
    })
    .await;
}

/// An internal fault is answered `INTERNAL` with the request's id and nothing about the cause;
/// the same id comes back as `x-request-id`, so a report from the field finds its log line.
#[tokio::test]
async fn an_internal_error_is_answered_with_the_request_id_only() {
    on_every_database(|app| async move {
        let token = app.create_admin("fault.admin").await;
        // A fault the server cannot foresee: a table gone from under it.
        let db = app.database().await;
        db.execute_unprepared("DROP TABLE edit_suggestion").await.expect("drop a table");
        let response = app
            .http()
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": "{ editSuggestions { nodes { id } } }" }))
            .send()
            .await
            .expect("the server answers");
        assert!(!response.status().is_server_error());
        let header = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body: serde_json::Value = response.json().await.expect("JSON");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INTERNAL", "{body}");
        let id = error["extensions"]["requestId"].as_str().expect("a request id");
        assert_eq!(Some(id.to_owned()), header);
        assert!(uuid::Uuid::parse_str(id).is_ok());
        let text = body.to_string();
        assert!(!text.contains("edit_suggestion") && !text.to_lowercase().contains("no such table"), "{text}");
    })
    .await;
}

const SET_CAPACITY: &str = "mutation($id: ID!) { setServiceCapacity(id: $id, status: WAITLIST) { id } }";

/// The lag gauges of one scrape: (entries, seconds).
async fn feed_lag(app: &TestApp) -> (f64, f64) {
    let (_, _, text) = get(app, "/metrics").await;
    let entries = sample(&text, "qiao_directory_feed_lag_entries").unwrap_or_else(|| panic!("no lag entries:\n{text}"));
    let seconds = sample(&text, "qiao_directory_feed_lag_seconds").unwrap_or_else(|| panic!("no lag seconds:\n{text}"));
    (entries, seconds)
}

/// After a write, the index follows the feed and the lag goes back to 0 (within the feed poll,
/// 1 s by default, or at once on PostgreSQL's notification).
#[tokio::test]
async fn the_feed_lag_is_zero_when_the_index_has_caught_up_and_returns_to_zero_after_a_write() {
    on_every_database(|app| async move {
        assert_eq!(feed_lag(&app).await, (0.0, 0.0));
        let admin = app.token_of("admin").await;
        let service = qiao_seed::rows::derived_id("service", "sh-minhang-legal-aid");
        app.data_as(&admin, SET_CAPACITY, json!({ "id": service })).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let lag = feed_lag(&app).await;
            if lag == (0.0, 0.0) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the lag stayed at {lag:?} for 10 s after a write");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
}

/// A change another server wrote (a feed entry without a wake-up) that this server's index has
/// not applied yet counts in the lag, with the age of the oldest such entry; the poll applies it.
#[tokio::test]
async fn an_unapplied_feed_entry_counts_in_the_lag_with_its_age() {
    use qiao_schema::entity::directory_change;
    use qiao_server::clock::Clock;
    use sea_orm::{ActiveValue::Set, EntityTrait};
    for backend in backends() {
        // The index looks at the feed only once a minute, so the entry stays unapplied meanwhile.
        let app = TestApp::spawn_configured(backend, true, &[("QIAO_FEED_POLL_MS", "60000")]).await;
        assert_eq!(feed_lag(&app).await, (0.0, 0.0));
        let service = qiao_seed::rows::derived_id("service", "sh-minhang-legal-aid");
        let written_at = app.clock.now();
        let db = app.database().await;
        directory_change::Entity::insert(directory_change::ActiveModel {
            resource_type: Set("service".to_owned()),
            resource_id: Set(service.clone()),
            action: Set("update".to_owned()),
            changed_at: Set(written_at),
            service_id: Set(Some(service.clone())),
            ..Default::default()
        })
        .exec_without_returning(&db)
        .await
        .expect("write a feed entry");
        db.close().await.ok();
        // On PostgreSQL the lag counts entries below the safe horizon, which another test's open
        // transaction on the shared server may hold back for a moment: wait for the entry to count.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let lag = feed_lag(&app).await;
            if lag == (1.0, 0.0) {
                break;
            }
            assert!(
                lag == (0.0, 0.0) && std::time::Instant::now() < deadline,
                "the unapplied entry must count in the lag ({:?}): {lag:?}",
                app.backend
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        app.clock.set(written_at + chrono::Duration::seconds(90));
        assert_eq!(feed_lag(&app).await, (1.0, 90.0));
        app.finish().await;
    }
}
