//! Faults: the database going away under a running server (PostgreSQL behind a TCP proxy the test
//! can cut), graceful draining on shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use qiao_server::clock::ManualClock;
use qiao_server::config::Config;
use qiao_tests::{Backend, backends, china_time, error_code, test_data_keys};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to PostgreSQL that can be cut (every open connection dropped, new ones refused)
/// and restored, as a crashed or restarted database server looks to its clients.
struct CuttableProxy {
    port: u16,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttableProxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let (up, watch_up) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { continue };
                if !*watch_up.borrow() {
                    drop(client); // the database is "down": refuse
                    continue;
                }
                let upstream = upstream.clone();
                let mut cut = watch_up.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { port, up, task }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn host_and_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    if authority.contains(':') { authority.to_owned() } else { format!("{authority}:5432") }
}

const LOGIN: &str = "mutation Login($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken } }";

async fn post(client: &reqwest::Client, address: &str, query: &str, variables: Value) -> (StatusCode, Value) {
    let response = client
        .post(format!("http://{address}/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// PostgreSQL stopped under a running server: requests fail fast (≤ 5 s) with a masked INTERNAL,
/// readiness goes false, and once the database is back the server recovers by itself (≤ 30 s)
/// without a restart.
#[tokio::test]
async fn a_postgresql_outage_fails_fast_and_the_server_recovers_by_itself() {
    for backend in backends() {
        let Backend::Postgres(server_url) = backend else { continue };
        let run = std::env::var("QIAO_TEST_RUN").ok().filter(|r| r.chars().all(|c| c.is_ascii_alphanumeric()));
        let name = format!("qiao_test_{}_{}", run.unwrap_or_default(), uuid::Uuid::now_v7().simple());
        let admin = Database::connect(&server_url).await.expect("connect to PostgreSQL");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create a database");
        let proxy = CuttableProxy::start(host_and_port(&server_url)).await;
        let user =
            server_url.split_once("://").and_then(|(_, rest)| rest.split_once('@')).map_or("postgres", |(u, _)| u);
        let url = format!("postgres://{user}@127.0.0.1:{}/{name}", proxy.port);
        let config = Config::from_lookup(|variable| match variable {
            "QIAO_DATABASE_URL" => Some(url.clone()),
            "QIAO_LISTEN" => Some("127.0.0.1:0".to_owned()),
            "QIAO_SEED_DEMO" => Some("false".to_owned()),
            "QIAO_JWT_KEYS" => Some("k1:cWlhby1mYXVsdC10ZXN0LXNpZ25pbmcta2V5LTMyYnl0ZXM=".to_owned()),
            "QIAO_PHONE_PEPPER" => Some("cWlhby1mYXVsdC10ZXN0LXBlcHBlcg==".to_owned()),
            "QIAO_DATA_KEYS" => Some(test_data_keys()),
            _ => None,
        })
        .expect("test configuration");
        let clock = Arc::new(ManualClock::new(china_time(2026, 11, 25, 10, 0)));
        let state = qiao_server::prepare(&config, clock).await.expect("server prepares");
        let listener = qiao_server::bind(config.listen).await.expect("bind port 0");
        let address = listener.local_addr().expect("bound address").to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(qiao_server::serve(listener, state, async {
            stopped.await.ok();
        }));
        let client = reqwest::Client::new();
        let ready = || async { client.get(format!("http://{address}/readyz")).send().await.map(|r| r.status()).ok() };
        let wrong_login = json!({ "username": "nobody", "password": "not the password" });

        let (_, before) = post(&client, &address, LOGIN, wrong_login.clone()).await;
        assert_ne!(error_code(&before), Some("INTERNAL"), "{before}");
        assert_eq!(ready().await, Some(StatusCode::OK));

        proxy.cut();
        let started = Instant::now();
        let (status, during) = post(&client, &address, LOGIN, wrong_login.clone()).await;
        let took = started.elapsed();
        assert!(!status.is_server_error(), "{status}");
        assert_eq!(error_code(&during), Some("INTERNAL"), "{during}");
        assert!(took <= Duration::from_secs(5), "a request during the outage took {took:?}");
        let text = during.to_string().to_lowercase();
        assert!(!text.contains("connect") && !text.contains("postgres") && !text.contains("pool"), "{text}");
        assert_eq!(ready().await, Some(StatusCode::SERVICE_UNAVAILABLE));

        proxy.restore();
        let restored = Instant::now();
        let mut recovered = false;
        while restored.elapsed() < Duration::from_secs(30) {
            if ready().await == Some(StatusCode::OK) {
                let (_, after) = post(&client, &address, LOGIN, wrong_login.clone()).await;
                if error_code(&after) != Some("INTERNAL") {
                    recovered = true;
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        assert!(recovered, "the server did not recover within 30 s of the database returning");

        stop.send(()).ok();
        server.await.ok();
        drop(proxy);
        admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
    }
}

/// Shutting down (SIGTERM in `main` resolves the same future) lets an in-flight request finish
/// before the server stops; a request after that finds no server.
#[tokio::test]
async fn shutdown_drains_in_flight_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(backend) = backends().into_iter().next() else { return };
    let app = qiao_tests::TestApp::spawn_with(backend, false).await;
    let address = app.url("").trim_start_matches("http://").trim_end_matches('/').to_owned();
    // A request in flight: its headers and half its body sent when the shutdown begins.
    let body = json!({ "query": "{ __typename }" }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let head = format!(
        "POST /graphql HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("send the headers");
    stream.write_all(first.as_bytes()).await.expect("send half the body");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = {
        let app = app.clone();
        tokio::spawn(async move { app.finish().await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!stopping.is_finished(), "the server stopped with a request in flight");
    stream.write_all(rest.as_bytes()).await.expect("send the rest of the body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read the answer");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"__typename\":\"Query\""), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), stopping).await.expect("the server stops").ok();
    assert!(TcpStream::connect(&address).await.is_err(), "the server still listens after shutdown");
}
