//! Prometheus metrics for `GET /metrics`.
//!
//! Crate: `prometheus-client`, the Prometheus project's own Rust client, rather than `metrics` +
//! `metrics-exporter-prometheus`: it adds three small crates instead of about a dozen, and it keeps
//! a registry per server instead of one process-wide recorder, so servers that share a process
//! (the end-to-end tests) count apart.
//!
//! Privacy: every label comes from a fixed set chosen here, never from the request. The operation
//! label is the name of one of the published operations (`mobile-client-spec/operations/`) or
//! `other`; the outcome label is `ok` or one of the error codes. No addresses, ids, query text or
//! variables ever reach a metric.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::error::ErrorCode;

/// The `Content-Type` of `GET /metrics` (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The operations of `mobile-client-spec/operations/` (a test keeps the two in step). Requests
/// naming anything else are counted as `other`, so no client can grow the label set.
pub const KNOWN_OPERATIONS: &[&str] = &[
    "AcceptEditSuggestion",
    "Accounts",
    "AddReferralNote",
    "ArchiveLocation",
    "ArchiveOrganization",
    "ArchiveService",
    "Areas",
    "Categories",
    "CategoryOutcomes",
    "ChangeAccountRole",
    "CheckEligibility",
    "Client",
    "ClientByPhone",
    "ClientConsents",
    "ClientReferrals",
    "Clients",
    "CloseServiceTemporarily",
    "CreateAccount",
    "CreateArea",
    "CreateClient",
    "CreateLocation",
    "CreateOrganization",
    "CreateReferral",
    "CreateService",
    "DirectoryChanges",
    "DirectorySnapshot",
    "EditSuggestions",
    "EraseClient",
    "ExportDirectory",
    "ForwardReferral",
    "ImportDirectory",
    "ImportListingsCsv",
    "LinkClients",
    "ListingHistory",
    "Login",
    "Logout",
    "Me",
    "MyAreaBoundaries",
    "MyCaseload",
    "MyListings",
    "NearbyServices",
    "OrganizationOutcomes",
    "RecordConsent",
    "Referral",
    "ReferralByCode",
    "ReferralCounts",
    "ReferralFeedback",
    "ReferralInbox",
    "ReferralStatusChanged",
    "ReferralsChangedSince",
    "RefreshToken",
    "RegisterMigrant",
    "RejectEditSuggestion",
    "ReopenService",
    "ResetPassword",
    "ServiceDetail",
    "ServiceHours",
    "ServiceOutcomes",
    "ServicesInRegion",
    "SetAccountDisabled",
    "SetServiceAlert",
    "SetServiceCapacity",
    "SetServiceEligibility",
    "SetServiceHours",
    "StaleListings",
    "SuggestEdit",
    "TransitionReferral",
    "UpdateArea",
    "UpdateClient",
    "UpdateLocation",
    "UpdateOrganization",
    "UpdateService",
    "UrbanVillageAt",
    "UrbanVillages",
    "VerifyService",
    "VillageReport",
    "WithdrawConsent",
];

/// The outcome of requests cut off by the request timeout (they have no error code of their own).
pub const TIMEOUT: &str = "TIMEOUT";

/// The label for requests whose operation is not one of [`KNOWN_OPERATIONS`].
pub const OTHER_OPERATION: &str = "other";

const ALL_CODES: [ErrorCode; 7] = [
    ErrorCode::Unauthenticated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::BadUserInput,
    ErrorCode::Conflict,
    ErrorCode::RateLimited,
    ErrorCode::Internal,
];

/// What the GraphQL handler learnt about a request, left in the response's extensions for the
/// metrics layer. Both fields are from fixed sets (see [`Observed::new`]).
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    pub operation: &'static str,
    pub outcome: &'static str,
    /// Answered by `graphql::published` rather than by the engine.
    pub direct: bool,
}

impl Observed {
    /// `operation` is the client's operation name, kept only if it is a known one; `code` is the
    /// first error's code (None: the request succeeded), kept only if it is one of ours.
    pub fn new(operation: Option<&str>, code: Option<&str>) -> Self {
        let operation = operation
            .and_then(|name| KNOWN_OPERATIONS.iter().find(|known| **known == name))
            .copied()
            .unwrap_or(OTHER_OPERATION);
        Self { operation, outcome: outcome_of(code), direct: false }
    }

    /// The same, answered by `graphql::published`.
    pub fn answered_directly(self) -> Self {
        Self { direct: true, ..self }
    }

    /// The same operation with the outcome of `code` (None: ok).
    pub fn with_code(self, code: Option<&str>) -> Self {
        Self { outcome: outcome_of(code), ..self }
    }
}

fn outcome_of(code: Option<&str>) -> &'static str {
    match code {
        None => "ok",
        Some(TIMEOUT) => TIMEOUT,
        Some(code) => ALL_CODES.iter().map(|known| known.as_str()).find(|known| *known == code).unwrap_or("other"),
    }
}

/// The operation a GraphQL request runs: `operationName` when sent, else the name of the
/// document's first operation (`query Name …`). Only a cheap look at the start of the text: the
/// result is matched against [`KNOWN_OPERATIONS`] anyway.
pub fn operation_name<'a>(operation_name: Option<&'a str>, query: &'a str) -> Option<&'a str> {
    if let Some(name) = operation_name.filter(|name| !name.is_empty()) {
        return Some(name);
    }
    let mut text = query.trim_start();
    while let Some(comment) = text.strip_prefix('#') {
        text = comment.split_once('\n').map_or("", |(_, rest)| rest).trim_start();
    }
    let rest = ["query", "mutation", "subscription"].iter().find_map(|keyword| text.strip_prefix(keyword))?;
    if !rest.starts_with(|c: char| c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

fn latency_histogram() -> Histogram {
    // 5 ms to 15 s (the request timeout).
    Histogram::new([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0])
}

/// The server's metrics. Counters are updated as requests finish; the gauges are sampled when
/// scraped ([`Metrics::render`]).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    rate_limit_refusals: Counter,
    direct_answers: Counter,
    index_services: Gauge,
    index_places: Gauge,
    pool_connections: Gauge,
    pool_idle_connections: Gauge,
    feed_lag_entries: Gauge,
    feed_lag_seconds: Gauge,
    index_from_saved_build: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("qiao");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "graphql_requests",
            "GraphQL requests by operation (a published one or other) and outcome (ok or the error code)",
            requests.clone(),
        );
        let latency = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "graphql_request_duration_seconds",
            "Time from receiving a GraphQL request to its answer, by operation",
            latency.clone(),
        );
        let rate_limit_refusals = Counter::default();
        registry.register("rate_limit_refusals", "Requests refused 429 by a rate limit", rate_limit_refusals.clone());
        let direct_answers = Counter::default();
        registry.register(
            "graphql_direct_answers",
            "GraphQL requests answered without the engine's per-field execution (the published NearbyServices)",
            direct_answers.clone(),
        );
        let index_services = Gauge::default();
        registry.register("index_services", "Services in the directory index", index_services.clone());
        let index_places = Gauge::default();
        registry.register("index_places", "Places in the directory index", index_places.clone());
        let pool_connections = Gauge::default();
        registry.register(
            "database_pool_connections",
            "Open connections in the database pool",
            pool_connections.clone(),
        );
        let pool_idle_connections = Gauge::default();
        registry.register(
            "database_pool_idle_connections",
            "Idle connections in the database pool",
            pool_idle_connections.clone(),
        );
        let feed_lag_entries = Gauge::default();
        registry.register(
            "directory_feed_lag_entries",
            "Change-feed entries the directory index has not applied yet (0 when it has caught up)",
            feed_lag_entries.clone(),
        );
        let feed_lag_seconds = Gauge::default();
        registry.register(
            "directory_feed_lag_seconds",
            "Age of the oldest change-feed entry the directory index has not applied yet (0 when none)",
            feed_lag_seconds.clone(),
        );
        let index_from_saved_build = Gauge::default();
        registry.register(
            "index_from_saved_build",
            "1 when the directory index was built from the saved build (QIAO_INDEX_SNAPSHOT) and the feed since, 0 when from the database",
            index_from_saved_build.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            rate_limit_refusals,
            direct_answers,
            index_services,
            index_places,
            pool_connections,
            pool_idle_connections,
            feed_lag_entries,
            feed_lag_seconds,
            index_from_saved_build,
        }
    }

    /// Counts one finished GraphQL request.
    pub fn record(&self, observed: Observed, elapsed: Duration) {
        let labels = RequestLabels { operation: observed.operation, outcome: observed.outcome };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&OperationLabels { operation: observed.operation }).observe(elapsed.as_secs_f64());
        if observed.outcome == ErrorCode::RateLimited.as_str() {
            self.rate_limit_refusals.inc();
        }
        if observed.direct {
            self.direct_answers.inc();
        }
    }

    /// The exposition text, with the gauges set to the values given now.
    pub fn render(&self, sample: Sample) -> String {
        self.index_services.set(saturating_i64(sample.services));
        self.index_places.set(saturating_i64(sample.places));
        self.index_from_saved_build.set(i64::from(sample.from_saved_build));
        self.pool_connections.set(saturating_i64(sample.pool_connections));
        self.pool_idle_connections.set(saturating_i64(sample.pool_idle_connections));
        if let Some(lag) = sample.feed_lag {
            self.feed_lag_entries.set(saturating_i64(lag.entries));
            self.feed_lag_seconds.set(lag.seconds);
        }
        let mut text = String::new();
        if prometheus_text::encode(&mut text, &self.registry).is_err() {
            // Writing to a String cannot fail; an empty scrape is still better than a panic.
            tracing::error!("encoding the metrics failed");
            text.clear();
        }
        text
    }
}

/// Values read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub services: usize,
    pub places: usize,
    pub pool_connections: usize,
    pub pool_idle_connections: usize,
    /// None: unknown now (the database did not answer); the gauges keep their last value.
    pub feed_lag: Option<FeedLag>,
    /// The index's base was built from the saved build (`directory::snapshot`).
    pub from_saved_build: bool,
}

/// How far the directory index is behind the change feed: the entries after its cursor that a
/// reader may apply (on PostgreSQL, up to the safe horizon: later ones are not due yet), and the
/// age of the oldest of them in whole seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedLag {
    pub entries: usize,
    pub seconds: i64,
}

/// Counts the feed entries after `cursor` (the index's, [`DirectoryHandle::cursor`]) in the feed's
/// order (`directory::feed`: by id on SQLite, by transaction then id on PostgreSQL).
///
/// [`DirectoryHandle::cursor`]: crate::directory::handle::DirectoryHandle::cursor
pub async fn feed_lag(db: &impl ConnectionTrait, cursor: i64, now: DateTime<Utc>) -> Result<FeedLag, DbErr> {
    let backend = db.get_database_backend();
    let row = match backend {
        DbBackend::Postgres => {
            // A cursor whose entry is gone (the feed was pruned) counts from the start.
            db.query_one_raw(Statement::from_sql_and_values(
                backend,
                "WITH after AS (SELECT COALESCE((SELECT txid FROM directory_change WHERE id = $1), -1) AS txid) \
                 SELECT COUNT(*), MIN(changed_at) FROM directory_change, after \
                 WHERE (directory_change.txid, directory_change.id) > (after.txid, $1) \
                   AND directory_change.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
                [Value::from(cursor)],
            ))
            .await?
        }
        _ => {
            db.query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT COUNT(*), (SELECT changed_at FROM directory_change WHERE id > ? ORDER BY id LIMIT 1) \
                 FROM directory_change WHERE id > ?",
                [Value::from(cursor), Value::from(cursor)],
            ))
            .await?
        }
    };
    let Some(row) = row else { return Ok(FeedLag::default()) };
    let entries: i64 = row.try_get_by_index(0)?;
    let oldest: Option<DateTime<Utc>> = row.try_get_by_index(1)?;
    Ok(FeedLag {
        entries: usize::try_from(entries).unwrap_or(0),
        seconds: oldest.map_or(0, |oldest| (now - oldest).num_seconds().max(0)),
    })
}

fn saturating_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_operations_are_the_published_ones() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mobile-client-spec/operations");
        let mut published: Vec<String> = std::fs::read_dir(&folder)
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok())
                    .filter_map(|entry| {
                        entry.file_name().to_str().and_then(|n| n.strip_suffix(".graphql")).map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        published.sort();
        assert!(!published.is_empty(), "no operations found in {}", folder.display());
        assert_eq!(published, KNOWN_OPERATIONS.iter().map(|name| (*name).to_owned()).collect::<Vec<_>>());
    }

    #[test]
    fn unknown_operations_and_codes_count_as_other() {
        let observed = Observed::new(Some("NearbyServices"), None);
        assert_eq!((observed.operation, observed.outcome), ("NearbyServices", "ok"));
        let observed = Observed::new(Some("+8613800138000"), Some("SOMETHING_ELSE"));
        assert_eq!((observed.operation, observed.outcome), ("other", "other"));
        assert_eq!(Observed::new(None, Some("RATE_LIMITED")).outcome, "RATE_LIMITED");
    }

    #[test]
    fn the_operation_name_is_read_from_the_document_when_not_sent() {
        assert_eq!(operation_name(Some("Me"), "query Other { me { id } }"), Some("Me"));
        assert_eq!(operation_name(None, "# where\n  query NearbyServices($near: X) { a }"), Some("NearbyServices"));
        assert_eq!(operation_name(None, "mutation Login{ login }"), Some("Login"));
        assert_eq!(operation_name(None, "{ categories { code } }"), None);
        assert_eq!(operation_name(None, "queryX { a }"), None);
        assert_eq!(operation_name(None, "query { a }"), None);
    }

    #[test]
    fn the_exposition_holds_counts_and_gauges() {
        let metrics = Metrics::new();
        metrics.record(Observed::new(Some("Login"), Some("RATE_LIMITED")), Duration::from_millis(3));
        let text = metrics.render(Sample { services: 12, places: 7, ..Sample::default() });
        assert!(text.contains("qiao_graphql_requests_total{operation=\"Login\",outcome=\"RATE_LIMITED\"} 1"), "{text}");
        assert!(text.contains("qiao_rate_limit_refusals_total 1"), "{text}");
        assert!(text.contains("qiao_index_services 12") && text.contains("qiao_index_places 7"), "{text}");
        assert!(text.contains("qiao_graphql_request_duration_seconds_bucket"), "{text}");
        assert!(text.contains("qiao_directory_feed_lag_entries 0"), "{text}");
        let text = metrics.render(Sample { feed_lag: Some(FeedLag { entries: 3, seconds: 42 }), ..Sample::default() });
        assert!(text.contains("qiao_directory_feed_lag_entries 3"), "{text}");
        assert!(text.contains("qiao_directory_feed_lag_seconds 42"), "{text}");
    }
}
