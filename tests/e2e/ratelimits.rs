//! Rate limits: who a client is (account, address, IPv6 /64, trusted proxies) and the retry hint a
//! refusal carries.

use qiao_tests::{DEMO_PASSWORD, TestApp, backends, error_code};
use reqwest::StatusCode;
use serde_json::{Value, json};

const PING: &str = "{ __typename }";

/// A server per database with a small general limit, so a budget runs out in a few requests.
async fn with_limits<F, Fut>(settings: &[(&str, &str)], test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    for backend in backends() {
        let app = TestApp::spawn_configured(backend, true, settings).await;
        test(app.clone()).await;
        app.finish().await;
    }
}

struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

async fn ask(app: &TestApp, query: &str, variables: Value, headers: &[(&str, &str)]) -> Answer {
    let mut request = app.http().post(app.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request reaches the server");
    let status = response.status();
    let retry_after =
        response.headers().get("retry-after").and_then(|value| value.to_str().ok()).and_then(|text| text.parse().ok());
    Answer { status, retry_after, body: response.json().await.expect("a JSON body") }
}

async fn ping_from(app: &TestApp, forwarded_for: &str) -> Answer {
    ask(app, PING, json!({}), &[("x-forwarded-for", forwarded_for)]).await
}

fn assert_limited_with_a_retry_hint(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{}", answer.body);
    assert_eq!(error_code(&answer.body), Some("RATE_LIMITED"), "{}", answer.body);
    let hint = answer.body["errors"][0]["extensions"]["retryAfterSeconds"].as_u64();
    assert!(hint.is_some_and(|s| (1..=60).contains(&s)), "{}", answer.body);
    assert_eq!(answer.retry_after, hint, "Retry-After and retryAfterSeconds agree");
}

#[tokio::test]
async fn two_ipv6_addresses_in_one_64_behind_a_trusted_proxy_share_a_budget() {
    let settings = [("QIAO_TRUSTED_PROXIES", "127.0.0.1/32"), ("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "3")];
    with_limits(&settings, |app| async move {
        // The client invents the left hops; the proxy appends the address it saw.
        for hop in ["2001:db8:1:2::1", "6.6.6.6, 2001:db8:1:2::2", "2001:db8:1:2::1"] {
            let answer = ping_from(&app, hop).await;
            assert_eq!(answer.status, StatusCode::OK, "{hop}: {}", answer.body);
        }
        assert_limited_with_a_retry_hint(&ping_from(&app, "2001:db8:1:2:ffff::9").await);
        // Another /64, and an IPv4 client behind the same proxy, each have their own budget.
        assert_eq!(ping_from(&app, "2001:db8:1:3::1").await.status, StatusCode::OK);
        assert_eq!(ping_from(&app, "203.0.113.5").await.status, StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn an_untrusted_peers_forwarded_for_is_ignored() {
    with_limits(&[("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "3")], |app| async move {
        // No trusted proxies: every request counts against the TCP peer, whatever it claims.
        for hop in ["203.0.113.1", "203.0.113.2", "2001:db8:9::1"] {
            assert_eq!(ping_from(&app, hop).await.status, StatusCode::OK, "{hop}");
        }
        assert_limited_with_a_retry_hint(&ping_from(&app, "198.51.100.77").await);
        assert_limited_with_a_retry_hint(&ask(&app, PING, json!({}), &[]).await);
    })
    .await;
}

#[tokio::test]
async fn a_signed_in_caller_is_counted_by_account_not_by_address() {
    with_limits(&[("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "3")], |app| async move {
        let (token, _) = app.login("admin", DEMO_PASSWORD).await;
        ask(&app, PING, json!({}), &[]).await;
        ask(&app, PING, json!({}), &[]).await;
        assert_limited_with_a_retry_hint(&ask(&app, PING, json!({}), &[]).await);
        let bearer = format!("Bearer {token}");
        let signed_in = ask(&app, PING, json!({}), &[("authorization", &bearer)]).await;
        assert_eq!(signed_in.status, StatusCode::OK, "the account has its own budget: {}", signed_in.body);
    })
    .await;
}

#[tokio::test]
async fn a_refused_sign_in_carries_the_retry_hint() {
    with_limits(&[("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", "1")], |app| async move {
        let login = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }";
        let first = ask(&app, login, json!({ "u": "admin", "p": "wrong-guess" }), &[]).await;
        assert_eq!(error_code(&first.body), Some("UNAUTHENTICATED"), "{}", first.body);
        let second = ask(&app, login, json!({ "u": "admin", "p": DEMO_PASSWORD }), &[]).await;
        assert_limited_with_a_retry_hint(&second);
        assert!(second.body["data"].is_null(), "{}", second.body);
    })
    .await;
}
