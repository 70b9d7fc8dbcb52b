//! The web console for committee and provider staff (`/console/`) and the developers' GraphiQL
//! page (`GET /graphql`), both served from files embedded in the binary: nothing is fetched from
//! a CDN or a font service at run time, so both work offline and on slow links.
//!
//! The console is a few plain ES modules (no build step) that speak the same `POST /graphql` API
//! as the app, with a Bearer access token kept in memory. Its sign-in is the one place that uses
//! a cookie: the refresh token lives in an HttpOnly, SameSite=Strict cookie scoped to
//! `/console/session` (see [`session`]), so page scripts never see it and `/graphql` never
//! receives it (the API stays Bearer-only, so it has nothing for a cross-site page to ride on).
//!
//! Every console and GraphiQL response carries a strict Content-Security-Policy: scripts only
//! from this server, no inline script, no `eval`, no framing.

mod assets;
mod headers;
mod session;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::AppState;
pub use assets::{Asset, ConsoleAssets};
use headers::security_headers;
pub use headers::{CONSOLE_CSP, GRAPHIQL_CSP};

/// The console's routes, to be merged into the server's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(console_page))
        .route("/console/assets/{*path}", get(console_asset))
        .route("/graphiql/{*path}", get(graphiql_asset))
        .route("/console/session", post(session::sign_in))
        .route("/console/session/refresh", post(session::refresh))
        .route("/console/session/sign-out", post(session::sign_out))
}

async fn console_page(headers: HeaderMap) -> Response {
    serve(ConsoleAssets::get("index.html"), &headers, CONSOLE_CSP)
}

async fn console_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    // Only the console's own files: GraphiQL's bundles are not the console's to load.
    if path.starts_with("vendor/") || path.starts_with("graphiql") {
        return not_found();
    }
    serve(ConsoleAssets::get(&path), &headers, CONSOLE_CSP)
}

/// GraphiQL's files, development only like the page itself.
async fn graphiql_asset(State(state): State<AppState>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if !state.body_limits.query.introspection {
        return not_found();
    }
    let asset = match path.as_str() {
        "graphiql.js" => ConsoleAssets::get("graphiql.js"),
        "graphiql.css" => ConsoleAssets::get("graphiql.css"),
        vendored => ConsoleAssets::get(&format!("vendor/graphiql/{vendored}")),
    };
    serve(asset, &headers, GRAPHIQL_CSP)
}

/// `GET /graphql`: GraphiQL from the embedded files (development only; production publishes the
/// SDL in `mobile-client-spec/` instead of a browsable schema).
pub fn graphiql_page(state: &AppState, headers: &HeaderMap) -> Response {
    if !state.body_limits.query.introspection {
        return not_found();
    }
    serve(ConsoleAssets::get("graphiql.html"), headers, GRAPHIQL_CSP)
}

/// An embedded file with its type, its policy and a validator: the browser revalidates each
/// time (`no-cache`) and gets 304 while the binary is the same, so a new release is picked up
/// at once and an unchanged file costs a few bytes on a weak link.
fn serve(asset: Option<&'static Asset>, request: &HeaderMap, csp: &'static str) -> Response {
    let Some(asset) = asset else { return not_found() };
    let etag = asset.etag();
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut response =
        if fresh { StatusCode::NOT_MODIFIED.into_response() } else { Body::from(asset.bytes).into_response() };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    security_headers(headers, csp);
    response
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found (未找到)").into_response()
}
