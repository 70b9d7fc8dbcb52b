//! The web console over HTTP: its files come from the binary with a strict policy, its session
//! keeps the refresh token in a cookie only its own pages can use, GraphiQL needs no CDN, and the
//! staff queries it draws from (myListings, myAreaBoundaries, serviceHours) keep to scope.
//! The flows in a real browser are in `tests/browser/`.

use qiao_tests::{DEMO_PASSWORD, TestApp, error_code, on_every_database};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, HeaderMap};
use serde_json::{Value, json};

/// A request to the console's session endpoints as the console's own page sends it.
async fn session_post(app: &TestApp, path: &str, body: Value, extra: &[(&str, &str)]) -> reqwest::Response {
    let origin = format!("http://{}", app.address);
    let mut request = app
        .http()
        .post(app.url(path))
        .header("content-type", "application/json")
        .header("origin", origin)
        .header("sec-fetch-site", "same-origin")
        .body(body.to_string());
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("the server answers")
}

fn set_cookie(headers: &HeaderMap) -> String {
    headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// `name=value` of a Set-Cookie header, to send back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

async fn sign_in(app: &TestApp, username: &str) -> (Value, String) {
    let response =
        session_post(app, "/console/session", json!({ "username": username, "password": DEMO_PASSWORD }), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = set_cookie(response.headers());
    (response.json().await.expect("json"), cookie)
}

#[tokio::test]
async fn the_console_is_served_from_the_binary_under_a_strict_policy() {
    let app = TestApp::spawn_with(qiao_tests::Backend::Sqlite, false).await;
    let page = app.http().get(app.url("/console/")).send().await.expect("answers");
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap_or_default().to_owned();
    assert!(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "{policy}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let etag = page.headers()["etag"].to_str().unwrap_or_default().to_owned();
    let html = page.text().await.unwrap_or_default();
    assert!(html.contains("/console/assets/app.js") && !html.contains("http"), "only this server's files: {html}");

    // Unchanged files cost a 304 on a weak link.
    let again = app.http().get(app.url("/console/")).header("if-none-match", &etag).send().await.expect("answers");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let script = app.http().get(app.url("/console/assets/app.js")).send().await.expect("answers");
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/javascript"));
    for missing in ["/console/assets/nope.js", "/console/assets/vendor/graphiql/react.production.min.js"] {
        let response = app.http().get(app.url(missing)).send().await.expect("answers");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    app.finish().await;
}

#[tokio::test]
async fn graphiql_loads_its_scripts_from_this_server_not_a_cdn() {
    let app = TestApp::spawn_with(qiao_tests::Backend::Sqlite, false).await;
    let page = app.http().get(app.url("/graphql")).send().await.expect("answers");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap_or_default().contains("script-src 'self'"));
    let html = page.text().await.unwrap_or_default();
    assert!(!html.contains("unpkg") && !html.contains("https://"), "{html}");
    for script in ["/graphiql/react.production.min.js", "/graphiql/graphiql.min.js", "/graphiql/graphiql.js"] {
        assert!(html.contains(script), "{script} is not on the page");
        let response = app.http().get(app.url(script)).send().await.expect("answers");
        assert_eq!(response.status(), StatusCode::OK, "{script}");
    }
    app.finish().await;

    // Production has no GraphiQL, and none of its files either.
    let production = TestApp::spawn_production(qiao_tests::Backend::Sqlite).await;
    for path in ["/graphql", "/graphiql/graphiql.min.js"] {
        let response = production.http().get(production.url(path)).send().await.expect("answers");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    production.finish().await;
}

#[tokio::test]
async fn signing_in_sets_an_http_only_strict_cookie_for_the_session_endpoints_only() {
    on_every_database(|app| async move {
        let (answer, cookie) = sign_in(&app, "committee.tvillage").await;
        assert_eq!(answer["account"]["role"], "COMMITTEE_STAFF");
        let access = answer["accessToken"].as_str().unwrap_or_default().to_owned();
        assert!(answer.get("refreshToken").is_none(), "the refresh token never reaches the page: {answer}");
        assert!(cookie.starts_with("qiao_console_refresh=qrt_"), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console/session"] {
            assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
        }
        assert!(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure, or the browser drops it");

        // The access token works on the API as a Bearer token.
        let me = app.graphql_as(&access, "{ me { username } }", json!({})).await;
        assert_eq!(me["data"]["me"]["username"], "committee.tvillage");

        // The API ignores the cookie: it is Bearer-only, so a cookie gives a cross-site page nothing.
        let pair = cookie_pair(&cookie);
        let with_cookie_only = app.graphql_with("{ me { username } }", json!({}), &[("cookie", &pair)]).await;
        assert_eq!(with_cookie_only["data"]["me"], Value::Null);

        // Refresh rotates: new access token, new cookie; the old cookie then signs the session out.
        let refreshed = session_post(&app, "/console/session/refresh", json!({}), &[("cookie", &pair)]).await;
        assert_eq!(refreshed.status(), StatusCode::OK);
        let new_cookie = set_cookie(refreshed.headers());
        let refreshed: Value = refreshed.json().await.expect("json");
        assert!(refreshed["accessToken"].as_str().is_some_and(|t| !t.is_empty()));
        assert_ne!(cookie_pair(&new_cookie), pair);
        let replayed = session_post(&app, "/console/session/refresh", json!({}), &[("cookie", &pair)]).await;
        assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
        assert!(set_cookie(replayed.headers()).contains("Max-Age=0"), "a refused cookie is dropped");
        // No cookie at all: not signed in, which a page opened before signing in is.
        let without = session_post(&app, "/console/session/refresh", json!({}), &[]).await;
        assert_eq!(without.status(), StatusCode::OK);
        let without: Value = without.json().await.expect("json");
        assert_eq!(without["accessToken"], Value::Null);
        let after_replay =
            session_post(&app, "/console/session/refresh", json!({}), &[("cookie", &cookie_pair(&new_cookie))]).await;
        assert_eq!(after_replay.status(), StatusCode::UNAUTHORIZED, "replaying a spent token ends the session");
    })
    .await;
}

#[tokio::test]
async fn signing_out_revokes_the_session_and_drops_the_cookie() {
    on_every_database(|app| async move {
        let (_, cookie) = sign_in(&app, "provider.legalaid").await;
        let pair = cookie_pair(&cookie);
        let out = session_post(&app, "/console/session/sign-out", json!({}), &[("cookie", &pair)]).await;
        assert_eq!(out.status(), StatusCode::OK);
        assert!(set_cookie(out.headers()).contains("Max-Age=0"));
        let refresh = session_post(&app, "/console/session/refresh", json!({}), &[("cookie", &pair)]).await;
        assert_eq!(refresh.status(), StatusCode::UNAUTHORIZED);
        let body: Value = refresh.json().await.expect("json");
        assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    })
    .await;
}

#[tokio::test]
async fn the_session_endpoints_refuse_other_sites_and_non_json_requests() {
    let app = TestApp::spawn(qiao_tests::Backend::Sqlite).await;
    let (_, cookie) = sign_in(&app, "committee.tvillage").await;
    let pair = cookie_pair(&cookie);
    let credentials = json!({ "username": "committee.tvillage", "password": DEMO_PASSWORD }).to_string();
    let post = |path: &str| app.http().post(app.url(path));

    // Another site's page: its Origin, or the browser's own cross-site marker.
    for (origin, site) in [("http://evil.example", "cross-site"), ("null", "cross-site")] {
        for path in ["/console/session", "/console/session/refresh", "/console/session/sign-out"] {
            let response = post(path)
                .header("content-type", "application/json")
                .header("origin", origin)
                .header("sec-fetch-site", site)
                .header("cookie", &pair)
                .body(credentials.clone())
                .send()
                .await
                .expect("answers");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} from {origin}");
            assert!(set_cookie(response.headers()).is_empty(), "no cookie for another site");
            let body: Value = response.json().await.expect("json");
            assert_eq!(error_code(&body), Some("FORBIDDEN"));
        }
    }
    // A form post (what a cross-site page can send without asking) is never read.
    let form = post("/console/session")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("origin", format!("http://{}", app.address))
        .body("username=committee.tvillage&password=qiao-demo-pass")
        .send()
        .await
        .expect("answers");
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // No Origin at all (not a browser page's request): refused too.
    let bare = post("/console/session/refresh")
        .header("content-type", "application/json")
        .header("cookie", &pair)
        .body("{}")
        .send()
        .await
        .expect("answers");
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);

    // The session still works from the console itself: nothing above spent it.
    let refreshed = session_post(&app, "/console/session/refresh", json!({}), &[("cookie", &pair)]).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    app.finish().await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_a_cookie_and_sign_ins_are_rate_limited() {
    let app =
        TestApp::spawn_configured(qiao_tests::Backend::Sqlite, true, &[("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", "3")])
            .await;
    let wrong = json!({ "username": "committee.tvillage", "password": "not-the-password" });
    let first = session_post(&app, "/console/session", wrong.clone(), &[]).await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(first.headers()).is_empty());
    let body: Value = first.json().await.expect("json");
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
    let mut last = StatusCode::OK;
    for _ in 0..3 {
        last = session_post(&app, "/console/session", wrong.clone(), &[]).await.status();
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let garbled = session_post(&app, "/console/session", json!({ "user": 1 }), &[]).await;
    assert!(matches!(garbled.status(), StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS));
    app.finish().await;
}

const MY_LISTINGS: &str = "query($datum: Datum!) { myListings(first: 50) { nodes { id nameZh status places { nameZh point { lat(datum: $datum) lon(datum: $datum) } } } pageInfo { hasNextPage } } }";

#[tokio::test]
async fn staff_see_the_listings_they_keep_with_places_in_the_datum_asked_for() {
    on_every_database(|app| async move {
        let committee = app.token_of("committee.tvillage").await;
        let wgs = app.graphql_as(&committee, MY_LISTINGS, json!({ "datum": "WGS84" })).await;
        let gcj = app.graphql_as(&committee, MY_LISTINGS, json!({ "datum": "GCJ02" })).await;
        let nodes = wgs["data"]["myListings"]["nodes"].as_array().cloned().unwrap_or_default();
        assert!(!nodes.is_empty(), "{wgs}");
        // Every place of a committee's listing lies in T village, near its pinned centre.
        for node in &nodes {
            for place in node["places"].as_array().into_iter().flatten() {
                let (lat, lon) =
                    (place["point"]["lat"].as_f64().unwrap_or(0.0), place["point"]["lon"].as_f64().unwrap_or(0.0));
                assert!((lat - 31.105).abs() < 0.02 && (lon - 121.355).abs() < 0.02, "{place}");
            }
        }
        // GCJ-02 is WGS-84 shifted by a few hundred metres in Shanghai: the same places, moved.
        let first_wgs = &nodes[0]["places"][0]["point"];
        let first_gcj = &gcj["data"]["myListings"]["nodes"][0]["places"][0]["point"];
        let shift = (first_gcj["lon"].as_f64().unwrap_or(0.0) - first_wgs["lon"].as_f64().unwrap_or(0.0)).abs();
        assert!(shift > 0.002 && shift < 0.01, "GCJ-02 shift {shift}");

        let boundaries = app.graphql_as(&committee, "{ myAreaBoundaries { ring { lat lon } } }", json!({})).await;
        let rings = boundaries["data"]["myAreaBoundaries"].as_array().cloned().unwrap_or_default();
        assert!(!rings.is_empty() && rings[0]["ring"].as_array().is_some_and(|r| r.len() >= 4), "{boundaries}");

        // A provider keeps only its organisation's services, and has no area.
        let provider = app.token_of("provider.legalaid").await;
        let own = app.graphql_as(&provider, MY_LISTINGS, json!({ "datum": "WGS84" })).await;
        let names: Vec<String> = own["data"]["myListings"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n["nameZh"].as_str().map(str::to_owned))
            .collect();
        assert!(!names.is_empty() && names.iter().all(|n| n.contains("法律")), "{names:?}");
        let none = app.graphql_as(&provider, "{ myAreaBoundaries { ring { lat } } }", json!({})).await;
        assert_eq!(none["data"]["myAreaBoundaries"], json!([]));

        // Not for the public or for social workers.
        let anonymous = app.graphql(MY_LISTINGS, json!({ "datum": "WGS84" })).await;
        assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
        let worker = app.token_of("worker.tvillage").await;
        let refused = app.graphql_as(&worker, MY_LISTINGS, json!({ "datum": "WGS84" })).await;
        assert_eq!(error_code(&refused), Some("FORBIDDEN"));
    })
    .await;
}

#[tokio::test]
async fn service_hours_read_back_what_was_saved_and_only_in_scope() {
    on_every_database(|app| async move {
        let provider = app.token_of("provider.legalaid").await;
        let own = app.graphql_as(&provider, "{ myListings(first: 1) { nodes { id } } }", json!({})).await;
        let id = own["data"]["myListings"]["nodes"][0]["id"].as_str().unwrap_or_default().to_owned();
        let saved = app
            .graphql_as(
                &provider,
                "mutation($id: ID!) { setServiceHours(id: $id,
                    hours: [{days: [MO, TU], opens: \"09:00\", closes: \"12:00\"}, {days: [MO], opens: \"13:30\", closes: \"17:00\"}],
                    exceptions: [{date: \"2027-01-01\", reason: {zh: \"元旦\", en: \"New Year\"}}]) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert!(saved["errors"].is_null(), "{saved}");
        let read = app
            .graphql_as(
                &provider,
                "query($id: ID!) { serviceHours(id: $id) { weekly { days opens closes } exceptions { date opens closes reasonZh reasonEn } } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(
            read["data"]["serviceHours"],
            json!({
                "weekly": [
                    { "days": ["MO", "TU"], "opens": "09:00", "closes": "12:00" },
                    { "days": ["MO"], "opens": "13:30", "closes": "17:00" }
                ],
                "exceptions": [{ "date": "2027-01-01", "opens": null, "closes": null, "reasonZh": "元旦", "reasonEn": "New Year" }]
            })
        );

        // Another organisation's service reads as missing.
        let committee = app.token_of("committee.tvillage").await;
        let theirs = app.graphql_as(&committee, "{ myListings(first: 1) { nodes { id } } }", json!({})).await;
        let other = theirs["data"]["myListings"]["nodes"][0]["id"].as_str().unwrap_or_default().to_owned();
        let refused = app
            .graphql_as(&provider, "query($id: ID!) { serviceHours(id: $id) { weekly { opens } } }", json!({ "id": other }))
            .await;
        assert_eq!(error_code(&refused), Some("NOT_FOUND"));
    })
    .await;
}
