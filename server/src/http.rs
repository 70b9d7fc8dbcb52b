//! HTTP: `POST /graphql` (GraphQL over JSON), `GET /graphql` (GraphiQL, development only), `GET /healthz`,
//! `GET /readyz` (database answers, index loaded), `GET /metrics` (Prometheus text, see `metrics`)
//! and `GET /graphql/ws` (subscriptions over WebSocket, `graphql-transport-ws`).
//!
//! Privacy: the request log records method, path, status and latency only; never the query
//! string, the body (which holds search points and texts), client addresses or headers.
//!
//! Body limits: 64 KiB for anonymous requests and for the roles that never import (the app's
//! queries are a few KiB); admins and committee staff may send up to
//! `QIAO_MAX_AUTHENTICATED_BODY_BYTES` (default 8 MiB: an HSDS import). The token is verified
//! from the headers before any of the body is read, so only such an account can make the server
//! read more than 64 KiB. Answers are capped too (`QIAO_MAX_RESPONSE_BYTES`).
//!
//! Only `Content-Type: application/json` is executed: the types a web page may make a browser
//! send without asking (`text/plain`, forms, multipart) are refused 415, so no page can forge a
//! mutation from a visitor's browser. `GET` serves GraphiQL (development only), never operations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::ServerError;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::extract::State;
use axum::extract::WebSocketUpgrade;
use axum::http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnEos, DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::{Instrument, Level};

use crate::AppState;
use crate::auth::{self, Caller};
use crate::error::{ApiError, ErrorCode};
use crate::graphql::context::RequestId;
use crate::graphql::published;
use crate::language::{Language, RequestLanguage};
use crate::metrics::{self as request_metrics, Metrics, Observed, Sample};
use crate::rate_limit::{self, RequestClient};
use crate::trusted_documents;
use qiao_schema::domain::Role;

// The limits are configuration (read and range-checked in `config`); HTTP only applies them.
// Re-exported because the limits are part of HTTP's documented behaviour.
pub use crate::config::{BodyLimits, MAX_BODY_BYTES};

/// Longest a request may take before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Smallest answer that is compressed. A smaller one fits in one TCP segment compressed or not,
/// so compressing it saves no round trip and a few hundred bytes at most, while setting up a
/// compressor costs more CPU than the rest of a small answer (a search of a few results, a
/// service's detail; `docs/BENCHMARKS.md`, "Per-request cost").
pub const MIN_COMPRESSED_BYTES: usize = 1024;

pub fn router(state: AppState) -> Router {
    // One registry per router, so each server (and each end-to-end test) counts its own requests.
    let metrics = Arc::new(Metrics::new());
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_page))
        .merge(crate::console::router())
        .route("/evidence/villages/{id}/report.html", get(village_report_html))
        .route("/evidence/villages/{id}/report.csv", get(village_report_csv))
        .route("/evidence/organizations/{id}/outcomes.csv", get(organization_outcomes_csv))
        .with_state(state)
        .layer(Extension(metrics.clone()))
        // Brotli when the client accepts it (smaller offline snapshots; tower-http runs it at
        // quality 4, not the brotli crate's slow 11), else gzip; answers under
        // `MIN_COMPRESSED_BYTES` as they are. `POST /graphql` gzips the app's answers itself.
        .layer(CompressionLayer::new().gzip(true).br(true).compress_when(
            SizeAbove::new(MIN_COMPRESSED_BYTES as u64)
                .and(NotForContentType::GRPC)
                .and(NotForContentType::IMAGES)
                .and(NotForContentType::SSE),
        ))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            internal_error_response()
        }))
        // Outside the timeout and the panic catcher, so their 408 and 500 are counted too.
        .layer(middleware::from_fn_with_state(metrics, observe))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                // Whole microseconds, in every line that logs a latency (a response, a failure, the
                // end of a streamed body): the default, milliseconds with six decimals, reads like a
                // coordinate (31.104711) to anyone (or any test) checking that the log holds no
                // search point, and the decimals tell nothing more.
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros))
                .on_failure(DefaultOnFailure::new().latency_unit(LatencyUnit::Micros))
                .on_eos(DefaultOnEos::new().latency_unit(LatencyUnit::Micros)),
        )
}

/// The client's network address (after trusted proxies, see [`rate_limit`]), for rate limiting
/// only (never logged or stored).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

async fn graphql(State(state): State<AppState>, extensions: Extensions, headers: HeaderMap, body: Body) -> Response {
    if !is_json(&headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json (请求须为 application/json)",
        );
    }
    // Who is asking decides how much body may be read, so authenticate from the headers first.
    let caller = match headers.get(header::AUTHORIZATION) {
        None => Caller::Anonymous,
        Some(value) => match authenticate(&state, value).await {
            Ok(caller) => caller,
            Err(response) => return response,
        },
    };
    // Counted before the body is read, so a refused script costs the server next to nothing.
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let forwarded_for = headers.get_all(FORWARDED_FOR).into_iter().filter_map(|value| value.to_str().ok());
    let address = rate_limit::client_address(peer, forwarded_for, &state.auth.trusted_proxies);
    let client = RequestClient::new(caller.account().map(|account| account.id.as_str()), address);
    if client.check(&state.auth.request_limiter).is_err() {
        return rate_limited_response(client.retry_after_seconds());
    }
    let limit = match caller {
        Caller::Account(ref account) if matches!(account.role, Role::Admin | Role::CommitteeStaff) => {
            state.body_limits.authenticated
        }
        Caller::Anonymous | Caller::Account(_) => state.body_limits.anonymous,
    };
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<u64>().ok());
    if declared_length.is_some_and(|length| length > limit as u64) {
        return body_too_large(limit);
    }
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(error) if is_length_limit(&error) => return body_too_large(limit),
        Err(_) => {
            return error_response(StatusCode::BAD_REQUEST, "the request body could not be read (请求体读取失败)");
        }
    };
    let first_byte = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first_byte == Some(b'[') {
        return error_response(
            StatusCode::BAD_REQUEST,
            "batched requests are not supported; send one operation per request (不支持批量请求)",
        );
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object with a \"query\" string, and optional \"variables\" and \"operationName\" (请求格式错误)",
            );
        }
    };
    // A published operation may come as a hash; with trusted documents on, nothing else runs.
    if let Err(refusal) = trusted_documents::resolve(&mut request, state.body_limits.trusted_documents_only) {
        return refused_document(refusal);
    }
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .map(Language::from_accept_language)
        .unwrap_or_default();
    // The app's search, answered as the engine would answer it, without its per-field work.
    if let Some(answer) = published::answer(&state, &request, language)
        && let Some(bytes) = serialize_capped(&answer, state.body_limits.query.response_bytes)
    {
        let observed = Observed::new(Some(published::OPERATION), None).answered_directly();
        return json_answer(&headers, bytes, observed, &RequestId::generate());
    }
    // A document seen before is not parsed again (every limit is still checked on it).
    if let Some(document) = crate::graphql::documents::cached(&request.query) {
        request.set_parsed_query(document);
    }
    let operation =
        Observed::new(request_metrics::operation_name(request.operation_name.as_deref(), &request.query), None);
    let request_id = RequestId::generate();
    // Every log line written while resolving (an internal error's cause, say) carries the id.
    let span = tracing::info_span!("graphql", request_id = %request_id.0);
    let request_id_value = async_graphql::Value::String(request_id.0.clone());
    let request = request
        .data(RequestLanguage(language))
        .data(caller)
        .data(ClientAddress(address))
        .data(client.clone())
        .data(request_id.clone());
    let mut response = state.schema.execute(request).instrument(span).await;
    // Parse and validation errors come from the GraphQL engine without a code: they are all the
    // caller's to fix. An internal error carries the request id (and nothing else), so a report
    // from the field can be matched to the log line with its cause.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
        if extensions.get("code") == Some(&async_graphql::Value::from(ErrorCode::Internal.as_str())) {
            extensions.set("requestId", request_id_value.clone());
        }
    }
    // A limiter inside a resolver refused: the same 429 and retry hint as the general limit.
    let limited = response
        .errors
        .iter()
        .any(|error| error.extensions.as_ref().and_then(|e| e.get("code")) == Some(&rate_limited_code()));
    if limited {
        let seconds = client.retry_after_seconds();
        for error in &mut response.errors {
            if let Some(extensions) = error.extensions.as_mut()
                && extensions.get("code") == Some(&rate_limited_code())
            {
                extensions.set("retryAfterSeconds", seconds);
            }
        }
        let mut answer = with_retry_after(StatusCode::TOO_MANY_REQUESTS, seconds, axum::Json(response).into_response());
        answer.extensions_mut().insert(operation.with_code(Some(ErrorCode::RateLimited.as_str())));
        return answer;
    }
    let observed = operation.with_code(first_error_code(&response));
    let Some(bytes) = serialize_capped(&response, state.body_limits.query.response_bytes) else {
        let mb = state.body_limits.query.response_bytes / (1024 * 1024);
        let mut answer = error_response(
            StatusCode::OK,
            &format!(
                "the answer would be over {mb} MiB; ask for fewer items or fields (结果超过 {mb} MiB，请减少条目或字段)"
            ),
        );
        answer.extensions_mut().insert(operation.with_code(Some(ErrorCode::BadUserInput.as_str())));
        return answer;
    };
    json_answer(&headers, bytes, observed, &request_id)
}

/// A GraphQL answer's serialised `bytes` as the response: in the media type the client asked
/// for, gzipped here when the client accepts only gzip, named by the request id, and with what
/// the handler learnt for the metrics layer.
fn json_answer(headers: &HeaderMap, bytes: Vec<u8>, observed: Observed, request_id: &RequestId) -> Response {
    let media_type = if accepts_graphql_response(headers) { GRAPHQL_RESPONSE_JSON } else { "application/json" };
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static(media_type))];
    let gzipped =
        (bytes.len() >= MIN_COMPRESSED_BYTES && accepts_only_gzip(headers)).then(|| gzip::compress(&bytes)).flatten();
    let mut answer = match gzipped {
        Some(gzipped) => {
            let mut answer = (content_type, gzipped).into_response();
            let headers = answer.headers_mut();
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            answer
        }
        None => (content_type, bytes).into_response(),
    };
    answer.extensions_mut().insert(observed);
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        answer.headers_mut().insert(REQUEST_ID, value);
    }
    answer
}

/// The response header naming the request (see [`RequestId`]).
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The code of the first error (every error has one by then), None when there is no error.
fn first_error_code(response: &async_graphql::Response) -> Option<&str> {
    let code = response.errors.first()?.extensions.as_ref()?.get("code")?;
    match code {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => Some(""),
    }
}

/// Counts each `POST /graphql` by operation and outcome, and times it. The GraphQL handler
/// leaves what it learnt in the response's extensions; answers given before it knew anything
/// (refused early, timed out, panicked) are counted from their status under `other`.
async fn observe(State(metrics): State<Arc<Metrics>>, request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::POST || request.uri().path() != "/graphql" {
        return next.run(request).await;
    }
    let started = Instant::now();
    let response = next.run(request).await;
    let observed = response.extensions().get::<Observed>().copied().unwrap_or_else(|| {
        let code = match response.status() {
            status if status.is_success() => None,
            StatusCode::TOO_MANY_REQUESTS => Some(ErrorCode::RateLimited.as_str()),
            StatusCode::UNAUTHORIZED => Some(ErrorCode::Unauthenticated.as_str()),
            StatusCode::REQUEST_TIMEOUT => Some(request_metrics::TIMEOUT),
            status if status.is_client_error() => Some(ErrorCode::BadUserInput.as_str()),
            _ => Some(ErrorCode::Internal.as_str()),
        };
        Observed::new(None, code)
    });
    metrics.record(observed, started.elapsed());
    response
}

/// The GraphQL-over-HTTP media type of answers, for clients that ask for it.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Whether the body is declared JSON (`application/json`, parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn accepts_graphql_response(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|value| value.to_str().ok()).any(|text| {
        text.split(',').any(|item| {
            item.split(';').next().is_some_and(|media| media.trim().eq_ignore_ascii_case(GRAPHQL_RESPONSE_JSON))
        })
    })
}

/// Whether the client accepts gzip and nothing else (`Accept-Encoding: gzip`, what the app
/// sends): then the handler compresses the answer itself, with a compressor kept per thread. Any
/// other header is left to the compression layer's negotiation.
fn accepts_only_gzip(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::ACCEPT_ENCODING).iter();
    let only =
        values.next().and_then(|value| value.to_str().ok()).is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    only && values.next().is_none()
}

/// Gzip with a compressor kept per thread: tower-http sets up a new one for every answer (a few
/// hundred KiB allocated and zeroed), which cost more than compressing a search page.
mod gzip {
    use std::cell::RefCell;

    use flate2::{Compress, Compression, Crc, FlushCompress, Status};

    thread_local! {
        static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
    }

    /// `data` as a gzip member (RFC 1952), at the default level (as the compression layer's);
    /// None if the compressor fails (the answer then goes uncompressed).
    pub fn compress(data: &[u8]) -> Option<Vec<u8>> {
        // Magic, deflate, no flags, no time, no extra flags, unknown OS.
        const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        out.extend_from_slice(&HEADER);
        DEFLATE.with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            let deflate = slot.get_or_insert_with(|| Compress::new(Compression::default(), false));
            deflate.reset();
            loop {
                let read = usize::try_from(deflate.total_in()).ok()?;
                match deflate.compress_vec(data.get(read..)?, &mut out, FlushCompress::Finish).ok()? {
                    Status::StreamEnd => return Some(()),
                    Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
                }
            }
        })?;
        let mut crc = Crc::new();
        crc.update(data);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        Some(out)
    }
}

/// Serializes `response`, giving up (None) as soon as it passes `limit` bytes, so an oversized
/// answer never sits whole in memory.
fn serialize_capped(response: &impl serde::Serialize, limit: usize) -> Option<Vec<u8>> {
    struct Capped {
        bytes: Vec<u8>,
        limit: usize,
    }
    impl std::io::Write for Capped {
        #[inline]
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.write_all(data).map(|()| data.len())
        }
        // serde_json writes every token with `write_all`, whose default loops over `write`.
        #[inline]
        fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
            if self.bytes.len() + data.len() > self.limit {
                return Err(std::io::Error::other("response over the limit"));
            }
            self.bytes.extend_from_slice(data);
            Ok(())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = Capped { bytes: Vec::with_capacity(limit.min(4096)), limit };
    serde_json::to_writer(&mut writer, response).ok()?;
    Some(writer.bytes)
}

/// Turns an `Authorization` header into a caller. Anything but a valid, current access token of
/// an enabled account is refused, with no hint of which check failed.
async fn authenticate(state: &AppState, value: &HeaderValue) -> Result<Caller, Response> {
    let refuse = || {
        let mut response = coded_error_response(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated,
            &ApiError::Unauthenticated.message(),
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\""));
        response
    };
    let text = value.to_str().map_err(|_| refuse())?;
    match caller_of_bearer(state, text).await {
        Ok(caller) => Ok(caller),
        Err(ApiError::Unauthenticated) => Err(refuse()),
        Err(_) => Err(internal_error_response()),
    }
}

/// The caller an `Authorization` value (`Bearer <access token>`) stands for: UNAUTHENTICATED
/// unless it is a valid, current access token of an enabled account. Shared by `POST /graphql`
/// and the WebSocket's `connection_init`, so both verify alike.
async fn caller_of_bearer(state: &AppState, text: &str) -> Result<Caller, ApiError> {
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(ApiError::Unauthenticated),
    };
    let account_id = state.auth.tokens.verify(token, state.clock.now()).ok_or(ApiError::Unauthenticated)?;
    match auth::load_account(&state.db, &account_id).await {
        Ok(Some(account)) => Ok(Caller::Account(Arc::new(account))),
        Ok(None) => Err(ApiError::Unauthenticated),
        Err(error) => {
            tracing::error!(error = ?error, "loading the caller's account failed");
            Err(ApiError::internal("loading the caller's account failed"))
        }
    }
}

/// `GET /graphql/ws`: GraphQL subscriptions over WebSocket (protocol `graphql-transport-ws`).
///
/// The token travels in the `connection_init` payload (`{"authorization": "Bearer …"}`), since a
/// browser or mini-program cannot set headers on a WebSocket; it is verified exactly as over
/// HTTP, and a connection without a valid one is closed before any subscription starts. Because
/// nothing rides on cookies, a page on another site cannot open a subscription as a visitor.
async fn graphql_ws(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let forwarded_for = headers.get_all(FORWARDED_FOR).into_iter().filter_map(|value| value.to_str().ok());
    let address = rate_limit::client_address(peer, forwarded_for, &state.auth.trusted_proxies);
    let client = RequestClient::new(None, address);
    if client.check(&state.auth.request_limiter).is_err() {
        return rate_limited_response(client.retry_after_seconds());
    }
    // `graphql-transport-ws` is the one the app speaks; the library also serves the older
    // `graphql-ws` (subscriptions-transport-ws), named back in the handshake either way.
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| {
        let schema = state.schema.clone();
        GraphQLWebSocket::new(socket, schema, protocol)
            .on_connection_init(move |payload| async move {
                let authorization = payload
                    .get("authorization")
                    .or_else(|| payload.get("Authorization"))
                    .and_then(|value| value.as_str())
                    .ok_or_else(|| async_graphql::Error::new(ApiError::Unauthenticated.message()))?;
                let caller = caller_of_bearer(&state, authorization)
                    .await
                    .map_err(|error| async_graphql::Error::new(error.message()))?;
                let mut data = async_graphql::Data::default();
                data.insert(caller);
                data.insert(RequestId::generate());
                data.insert(RequestLanguage(Language::default()));
                Ok(data)
            })
            .serve()
    })
}

const FORWARDED_FOR: &str = "x-forwarded-for";

fn rate_limited_code() -> async_graphql::Value {
    async_graphql::Value::from(ErrorCode::RateLimited.as_str())
}

/// 429 with the retry hint in `Retry-After` and in `extensions.retryAfterSeconds`.
fn rate_limited_response(seconds: u64) -> Response {
    let mut error = ServerError::new(ApiError::RateLimited.message(), None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::RateLimited.as_str());
    extensions.set("retryAfterSeconds", seconds);
    let body = axum::Json(async_graphql::Response::from_errors(vec![error])).into_response();
    with_retry_after(StatusCode::TOO_MANY_REQUESTS, seconds, body)
}

fn with_retry_after(status: StatusCode, seconds: u64, mut response: Response) -> Response {
    *response.status_mut() = status;
    response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

fn body_too_large(limit: usize) -> Response {
    let kib = limit / 1024;
    error_response(StatusCode::PAYLOAD_TOO_LARGE, &format!("the request body is over {kib} KiB (请求体超过 {kib} KiB)"))
}

/// Whether reading a body failed because it was longer than allowed.
fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = current.source();
    }
    false
}

fn error_response(status: StatusCode, message: &str) -> Response {
    coded_error_response(status, ErrorCode::BadUserInput, message)
}

fn coded_error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let mut error = ServerError::new(message, None);
    error.extensions.get_or_insert_with(Default::default).set("code", code.as_str());
    (status, axum::Json(async_graphql::Response::from_errors(vec![error]))).into_response()
}

/// A document refused by [`trusted_documents`]: `BAD_USER_INPUT` with the reason the app acts on.
fn refused_document(refusal: trusted_documents::Refusal) -> Response {
    let mut error = ServerError::new(refusal.message(), None);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    extensions.set("code", ErrorCode::BadUserInput.as_str());
    extensions.set("reason", refusal.reason());
    (StatusCode::OK, axum::Json(async_graphql::Response::from_errors(vec![error]))).into_response()
}

fn internal_error_response() -> Response {
    let mut error = ServerError::new("internal error", None);
    error.extensions.get_or_insert_with(Default::default).set("code", ErrorCode::Internal.as_str());
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(async_graphql::Response::from_errors(vec![error]))).into_response()
}

/// `?month=YYYY-MM` of the village report pages.
#[derive(serde::Deserialize)]
struct ReportParams {
    month: Option<String>,
}

/// A village's evidence for the report pages: the caller from `Authorization: Bearer` (staff
/// only, as for `villageReport`), errors as JSON with their code.
async fn village_evidence(
    state: &AppState,
    headers: &HeaderMap,
    village_id: &str,
    month: Option<&str>,
) -> Result<crate::evidence::VillageEvidence, Response> {
    let caller = match headers.get(header::AUTHORIZATION) {
        None => Caller::Anonymous,
        Some(value) => authenticate(state, value).await?,
    };
    let evidence = crate::evidence::village_evidence_for(
        &state.db,
        &caller,
        state.directory.current(),
        village_id,
        month,
        state.clock.now(),
    )
    .await;
    evidence.map_err(evidence_error_response)
}

/// An evidence page's error as JSON with its code and HTTP status.
fn evidence_error_response(error: crate::error::ApiError) -> Response {
    let status = match error.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        _ => {
            if let ApiError::Internal(cause) = &error {
                tracing::error!(error = %cause, "evidence page failed");
            }
            return internal_error_response();
        }
    };
    coded_error_response(status, error.code(), &error.message())
}

/// A CSV download that is not kept by any cache.
fn csv_response(text: String, file_name: &str) -> Response {
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `GET /evidence/villages/{id}/report.html`: the printable one-page village report.
async fn village_report_html(
    State(state): State<AppState>,
    axum::extract::Path(village_id): axum::extract::Path<String>,
    axum::extract::Query(params): axum::extract::Query<ReportParams>,
    headers: HeaderMap,
) -> Response {
    let evidence = match village_evidence(&state, &headers, &village_id, params.month.as_deref()).await {
        Ok(evidence) => evidence,
        Err(response) => return response,
    };
    let today = crate::evidence::unmet::day_of(state.clock.now());
    let mut response = Html(crate::evidence::report::html(&evidence, today)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::evidence::report::CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `GET /evidence/villages/{id}/report.csv`: the same figures as CSV.
async fn village_report_csv(
    State(state): State<AppState>,
    axum::extract::Path(village_id): axum::extract::Path<String>,
    axum::extract::Query(params): axum::extract::Query<ReportParams>,
    headers: HeaderMap,
) -> Response {
    let evidence = match village_evidence(&state, &headers, &village_id, params.month.as_deref()).await {
        Ok(evidence) => evidence,
        Err(response) => return response,
    };
    match crate::evidence::report::csv(&evidence) {
        Ok(text) => csv_response(text, &format!("village-report-{}.csv", evidence.month)),
        Err(error) => {
            tracing::error!(%error, "writing the village report CSV failed");
            internal_error_response()
        }
    }
}

/// `?month=YYYY-MM&months=N` of the organisation outcomes CSV.
#[derive(serde::Deserialize)]
struct OutcomesParams {
    month: Option<String>,
    months: Option<i32>,
}

/// `GET /evidence/organizations/{id}/outcomes.csv`: an organisation's referral outcomes by month
/// (`organizationOutcomes`, same access), as CSV.
async fn organization_outcomes_csv(
    State(state): State<AppState>,
    axum::extract::Path(organization_id): axum::extract::Path<String>,
    axum::extract::Query(params): axum::extract::Query<OutcomesParams>,
    headers: HeaderMap,
) -> Response {
    let caller = match headers.get(header::AUTHORIZATION) {
        None => Caller::Anonymous,
        Some(value) => match authenticate(&state, value).await {
            Ok(caller) => caller,
            Err(response) => return response,
        },
    };
    let asked = crate::evidence::MonthsAsked { month: params.month.as_deref(), months: params.months };
    let evidence = match crate::evidence::organization_evidence_for(
        &state.db,
        &caller,
        &state.directory.current(),
        &organization_id,
        asked,
        state.clock.now(),
    )
    .await
    {
        Ok(evidence) => evidence,
        Err(error) => return evidence_error_response(error),
    };
    match crate::evidence::report::organization_csv(&evidence) {
        Ok(text) => {
            let last = evidence.months.last().map(|month| month.month.to_string()).unwrap_or_default();
            csv_response(text, &format!("organization-outcomes-{last}.csv"))
        }
        Err(error) => {
            tracing::error!(%error, "writing the organisation outcomes CSV failed");
            internal_error_response()
        }
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Err(error) => {
            tracing::error!(%error, "health check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "database unavailable" })))
                .into_response()
        }
    }
}

/// Longest readiness waits for the database before saying it is not ready.
const READY_DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// 200 `ok` when the server can answer: the database answers a trivial query within
/// [`READY_DATABASE_TIMEOUT`] and the directory index is loaded. Otherwise 503 with a short
/// reason; the detail goes to the log only.
async fn readyz(State(state): State<AppState>) -> Response {
    let not_ready = |reason: &'static str| (StatusCode::SERVICE_UNAVAILABLE, reason).into_response();
    match tokio::time::timeout(READY_DATABASE_TIMEOUT, state.db.execute_unprepared("SELECT 1")).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: the database did not answer");
            return not_ready("database unavailable");
        }
        Err(_) => {
            tracing::warn!("readiness: the database did not answer in time");
            return not_ready("database unavailable");
        }
    }
    // `prepare` builds the index before the state exists and later rebuilds swap a whole new one
    // in, so a state always holds a loaded index: reading it is the whole check.
    let _index = state.directory.current();
    (StatusCode::OK, "ok").into_response()
}

/// Prometheus text exposition (see `metrics` for what is counted and why nothing personal is).
async fn metrics_page(State(state): State<AppState>, Extension(metrics): Extension<Arc<Metrics>>) -> Response {
    let directory = state.directory.current();
    let (pool_connections, pool_idle_connections) = pool_size(&state.db);
    let cursor = state.directory.cursor().await;
    // A database that does not answer leaves the lag gauges at their last value (the outage shows
    // in /readyz and the pool gauges); a made-up 0 would silence a lag alert.
    let feed_lag = match request_metrics::feed_lag(&state.db, cursor, state.clock.now()).await {
        Ok(lag) => Some(lag),
        Err(error) => {
            tracing::warn!(%error, "reading the change feed for the lag metric failed");
            None
        }
    };
    let text = metrics.render(Sample {
        services: directory.service_count(),
        places: directory.place_count(),
        pool_connections,
        pool_idle_connections,
        feed_lag,
        from_saved_build: directory.from_saved_build(),
    });
    ([(header::CONTENT_TYPE, HeaderValue::from_static(request_metrics::CONTENT_TYPE))], text).into_response()
}

/// Open and idle connections of the database pool.
fn pool_size(db: &DatabaseConnection) -> (usize, usize) {
    // The pool getters panic on the wrong backend, so ask for the one the connection says it is.
    match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        _ => (0, 0),
    }
}

/// GraphiQL, from files embedded in the binary (see `console`), development only.
async fn graphiql(State(state): State<AppState>, headers: HeaderMap) -> Response {
    crate::console::graphiql_page(&state, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_over_the_cap_is_dropped_not_kept_whole() {
        let response = async_graphql::Response::new(async_graphql::Value::String("x".repeat(1_000)));
        assert!(serialize_capped(&response, 10_000).is_some_and(|bytes| bytes.len() > 1_000));
        assert!(serialize_capped(&response, 500).is_none());
    }

    #[test]
    fn gzip_answers_read_back_and_the_compressor_is_reused() {
        use std::io::Read;
        for text in ["", "a", &"{\"data\":{\"nearbyServices\":[]}} ".repeat(500), &"图书馆".repeat(40_000)] {
            for _ in 0..2 {
                let gzipped = gzip::compress(text.as_bytes()).expect("compressed");
                let mut back = String::new();
                flate2::read::GzDecoder::new(gzipped.as_slice()).read_to_string(&mut back).expect("valid gzip");
                assert_eq!(back, text);
            }
        }
    }

    #[test]
    fn only_a_plain_gzip_accept_encoding_is_compressed_by_the_handler() {
        let with = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            }
            accepts_only_gzip(&headers)
        };
        assert!(with(&["gzip"]) && with(&[" GZIP "]));
        assert!(!with(&[]) && !with(&["gzip, br"]) && !with(&["br"]) && !with(&["gzip;q=0"]) && !with(&["gzip", "br"]));
    }

    #[test]
    fn only_json_content_types_are_json() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_json(&headers)
        };
        assert!(with("application/json") && with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain") && !with("application/jsonp") && !with("multipart/form-data"));
        assert!(!is_json(&HeaderMap::new()));
    }
}
