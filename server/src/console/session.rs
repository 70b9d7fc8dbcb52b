//! The console's sign-in: `login` / refresh / sign-out with the refresh token in a cookie.
//!
//! The app keeps its refresh token itself; a web page cannot keep one safely (any script on the
//! page could read it), so for the console the server keeps it in a cookie that scripts cannot
//! read (`HttpOnly`), that the browser sends only to these three endpoints (`Path`) and never
//! with a request started by another site (`SameSite=Strict`). The access token comes back in
//! the JSON answer and lives in the page's memory only.
//!
//! Cross-site requests are refused three times over, because a cookie is ambient authority:
//! - only `Content-Type: application/json` is read, a type no form can send and no cross-site
//!   `fetch` can send without a CORS preflight, which this server never grants;
//! - the `Origin` header must be this server's own (browsers send it with every POST), and a
//!   `Sec-Fetch-Site` header, when present, must say `same-origin`;
//! - the cookie is `SameSite=Strict`, so another site's request carries no session anyway.
//!
//! Sign-in is counted against the same per-address limiter as the `login` mutation, a refresh
//! against the general per-address request limit.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::headers::{CONSOLE_CSP, security_headers};
use crate::AppState;
use crate::accounts::{self, SignedIn};
use crate::auth::tokens::{REFRESH_TOKEN_DAYS, revoke_refresh_token};
use crate::error::{ApiError, ErrorCode};
use crate::rate_limit::{self, RequestClient};

/// The cookie's name. `__Secure-` would be stronger but needs HTTPS, and the console must work
/// on `http://127.0.0.1` out of the box; the `Secure` attribute is added whenever the request
/// came over HTTPS (see [`is_https`]).
pub const COOKIE: &str = "qiao_console_refresh";
/// Where the browser sends the cookie: these endpoints only, never `/graphql`.
const COOKIE_PATH: &str = "/console/session";

#[derive(Deserialize)]
pub struct SignInBody {
    username: String,
    password: String,
}

/// What the page learns: the access token (kept in memory) and who signed in.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAnswer {
    access_token: String,
    access_token_expires_at: DateTime<Utc>,
    account: SessionAccount,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAccount {
    id: String,
    username: Option<String>,
    display_name: String,
    role: &'static str,
    organization_id: Option<String>,
}

/// `POST /console/session`: signs in with a username and password.
pub async fn sign_in(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refusal) = same_origin_json(&headers, public_host(&state, &extensions, &headers)) {
        return refusal.response();
    }
    let client = client_of(&state, &extensions, &headers);
    if client.check(&state.auth.sign_in_limiter).is_err() {
        return rate_limited(&client);
    }
    // A name and a password: a few hundred bytes. Nothing longer is read.
    let Ok(body) = axum::body::to_bytes(body, MAX_SIGN_IN_BYTES).await else {
        return bad_request("the request body is too long (请求体过长)");
    };
    let Ok(body) = serde_json::from_slice::<SignInBody>(&body) else {
        return bad_request("send {\"username\": \"…\", \"password\": \"…\"} (请填写用户名和密码)");
    };
    match accounts::login(&state.db, &state.auth, &body.username, &body.password, state.clock.now()).await {
        Ok(signed_in) => signed_in_answer(signed_in, &headers),
        Err(error) => failure(status_of(&error), &error),
    }
}

/// `POST /console/session/refresh`: new tokens for the cookie's refresh token (rotated: the old
/// one stops working, and replaying it signs the whole session out). Without a cookie the answer
/// is `{"accessToken": null}`: a page opened before signing in is normal, not an error.
pub async fn refresh(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap) -> Response {
    if let Err(refusal) = same_origin_json(&headers, public_host(&state, &extensions, &headers)) {
        return refusal.response();
    }
    let client = client_of(&state, &extensions, &headers);
    if client.check(&state.auth.request_limiter).is_err() {
        return rate_limited(&client);
    }
    let Some(token) = cookie_value(&headers) else {
        return answer(StatusCode::OK, serde_json::json!({ "accessToken": null }));
    };
    match accounts::refresh(&state.db, &state.auth, &token, state.clock.now()).await {
        Ok(signed_in) => signed_in_answer(signed_in, &headers),
        Err(error) => {
            let mut answer = failure(status_of(&error), &error);
            // A refused token is worthless: drop it so the page shows the sign-in form.
            if matches!(error, ApiError::Unauthenticated) {
                set_cookie(&mut answer, &clear_cookie(&headers));
            }
            answer
        }
    }
}

/// `POST /console/session/sign-out`: revokes the session's refresh tokens and drops the cookie.
pub async fn sign_out(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap) -> Response {
    if let Err(refusal) = same_origin_json(&headers, public_host(&state, &extensions, &headers)) {
        return refusal.response();
    }
    if let Some(token) = cookie_value(&headers)
        && let Err(error) = revoke_refresh_token(&state.db, &token, state.clock.now()).await
    {
        return failure(status_of(&error), &error);
    }
    let mut answer = answer(StatusCode::OK, serde_json::json!({ "signedOut": true }));
    set_cookie(&mut answer, &clear_cookie(&headers));
    answer
}

/// Longest sign-in body read.
const MAX_SIGN_IN_BYTES: usize = 4096;

/// Whom a request counts against: its address (after trusted proxies), as for anonymous GraphQL.
fn client_of(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> RequestClient {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let forwarded_for = headers.get_all("x-forwarded-for").into_iter().filter_map(|value| value.to_str().ok());
    RequestClient::new(None, rate_limit::client_address(peer, forwarded_for, &state.auth.trusted_proxies))
}

fn rate_limited(client: &RequestClient) -> Response {
    let mut answer = failure(StatusCode::TOO_MANY_REQUESTS, &ApiError::RateLimited);
    answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(client.retry_after_seconds()));
    answer
}

/// Why a session request was refused before anything was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Not `application/json`: a form or `text/plain`, which any page can make a browser send.
    NotJson,
    /// Not from this server's own pages.
    OtherSite,
}

impl Refusal {
    fn response(self) -> Response {
        match self {
            Self::NotJson => failure_with(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::BadUserInput,
                "send the request as Content-Type: application/json (请求须为 application/json)",
            ),
            Self::OtherSite => failure_with(
                StatusCode::FORBIDDEN,
                ErrorCode::Forbidden,
                "the console's session can only be used from the console's own pages (只能在本站控制台页面中登录)",
            ),
        }
    }
}

/// The host (and port) the browser addressed: `Host`, or, from a trusted proxy
/// (`QIAO_TRUSTED_PROXIES`), the `X-Forwarded-Host` it set, since proxies often rewrite `Host`.
fn public_host<'a>(state: &AppState, extensions: &Extensions, headers: &'a HeaderMap) -> Option<&'a str> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let from_proxy = peer.is_some_and(|peer| state.auth.trusted_proxies.iter().any(|cidr| cidr.contains(peer)));
    let forwarded = headers
        .get("x-forwarded-host")
        .and_then(|value| value.to_str().ok())
        .and_then(|hosts| hosts.split(',').next())
        .map(str::trim);
    match forwarded {
        Some(host) if from_proxy => Some(host),
        _ => headers.get(header::HOST).and_then(|value| value.to_str().ok()),
    }
}

/// Refuses anything but a same-origin JSON request (see the module comment): `host` is what
/// the browser addressed (see [`public_host`]).
fn same_origin_json(headers: &HeaderMap, host: Option<&str>) -> Result<(), Refusal> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|value| value.to_str().ok());
    let is_json = text(header::CONTENT_TYPE)
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Refusal::NotJson);
    }
    if text(header::HeaderName::from_static("sec-fetch-site")).is_some_and(|site| site != "same-origin") {
        return Err(Refusal::OtherSite);
    }
    let (Some(origin), Some(host)) = (text(header::ORIGIN), host) else {
        return Err(Refusal::OtherSite);
    };
    // Origin is scheme://host[:port]; the Host header is host[:port] as the browser addressed us.
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    if origin_host.is_none_or(|origin_host| !origin_host.eq_ignore_ascii_case(host)) {
        return Err(Refusal::OtherSite);
    }
    Ok(())
}

/// Whether the browser reached us over HTTPS: directly never (this server speaks plain HTTP),
/// so through a proxy that says so. Decides the cookie's `Secure` attribute.
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|origin| origin.starts_with("https://"))
}

fn signed_in_answer(signed_in: SignedIn, request: &HeaderMap) -> Response {
    let cookie = format!(
        "{COOKIE}={}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        signed_in.refresh_token,
        REFRESH_TOKEN_DAYS * 24 * 3600,
        if is_https(request) { "; Secure" } else { "" }
    );
    let account = signed_in.account;
    let body = SessionAnswer {
        access_token: signed_in.access_token,
        access_token_expires_at: signed_in.access_token_expires_at,
        account: SessionAccount {
            id: account.id,
            username: account.username,
            display_name: account.display_name,
            role: role_name(account.role),
            organization_id: account.organization_id,
        },
    };
    let mut answer = answer(StatusCode::OK, body);
    set_cookie(&mut answer, &cookie);
    answer
}

/// The role as the GraphQL `Role` enum spells it, so the page reads one vocabulary.
fn role_name(role: qiao_schema::domain::Role) -> &'static str {
    use qiao_schema::domain::Role;
    match role {
        Role::Admin => "ADMIN",
        Role::CommitteeStaff => "COMMITTEE_STAFF",
        Role::ProviderStaff => "PROVIDER_STAFF",
        Role::SocialWorker => "SOCIAL_WORKER",
        Role::Migrant => "MIGRANT",
    }
}

fn clear_cookie(request: &HeaderMap) -> String {
    format!(
        "{COOKIE}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if is_https(request) { "; Secure" } else { "" }
    )
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

/// The refresh token from the request's cookies, if any.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|text| text.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

fn status_of(error: &ApiError) -> StatusCode {
    match error.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn bad_request(message: &str) -> Response {
    failure_with(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, message)
}

/// An error in the GraphQL error shape, so the page reads every failure the same way.
fn failure(status: StatusCode, error: &ApiError) -> Response {
    if matches!(error.code(), ErrorCode::Internal) {
        tracing::error!(error = ?error, "console session failed");
        return failure_with(status, ErrorCode::Internal, "internal error");
    }
    failure_with(status, error.code(), &error.message())
}

fn failure_with(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    answer(status, serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] }))
}

fn answer(status: StatusCode, body: impl Serialize) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    // Tokens must never sit in a cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    security_headers(headers, CONSOLE_CSP);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_same_origin_json_requests_reach_the_session() {
        let json = ("content-type", "application/json");
        let host = ("host", "127.0.0.1:8080");
        let check = |pairs: &[(&'static str, &'static str)]| {
            let map = headers(pairs);
            let host = map.get("host").and_then(|v| v.to_str().ok()).map(str::to_owned);
            same_origin_json(&map, host.as_deref())
        };
        assert!(check(&[json, host, ("origin", "http://127.0.0.1:8080")]).is_ok());
        assert!(check(&[json, host, ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-origin")]).is_ok());
        let refused = |pairs: &[(&'static str, &'static str)]| check(pairs).is_err();
        assert!(refused(&[json, host]), "no Origin");
        assert!(refused(&[json, host, ("origin", "http://evil.example")]));
        assert!(refused(&[json, host, ("origin", "http://127.0.0.1:8080.evil.example")]));
        assert!(refused(&[json, host, ("origin", "null")]));
        assert!(refused(&[("content-type", "text/plain"), host, ("origin", "http://127.0.0.1:8080")]));
        assert!(refused(&[json, host, ("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "same-site")]));
        assert_eq!(check(&[("content-type", "text/plain"), host]), Err(Refusal::NotJson));
        // Behind a proxy that rewrote Host, the forwarded host it vouches for is compared.
        let map = headers(&[json, ("host", "10.0.0.5:8080"), ("origin", "https://qiao.example.cn")]);
        assert!(same_origin_json(&map, Some("qiao.example.cn")).is_ok());
        assert!(same_origin_json(&map, Some("10.0.0.5:8080")).is_err());
    }

    #[test]
    fn the_cookie_is_secure_when_the_page_came_over_https() {
        assert!(clear_cookie(&headers(&[("origin", "https://qiao.example.cn")])).ends_with("; Secure"));
        assert!(!clear_cookie(&headers(&[("origin", "http://127.0.0.1:8080")])).contains("Secure"));
    }

    #[test]
    fn the_cookie_is_read_among_others() {
        let map = headers(&[("cookie", "a=1; qiao_console_refresh=qrt_abc; b=2")]);
        assert_eq!(cookie_value(&map).as_deref(), Some("qrt_abc"));
        assert_eq!(cookie_value(&headers(&[("cookie", "qiao_console_refresh=")])), None);
        assert_eq!(cookie_value(&HeaderMap::new()), None);
    }
}
