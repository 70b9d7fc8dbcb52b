//! Configuration: one typed struct read from environment variables, with defaults that work out
//! of the box. Every variable is documented here and in `.env.example`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::rate_limit::Cidr;

/// A secret value: its `Debug` output is redacted, so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Development tolerates missing secrets (it generates them); production refuses to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `QIAO_ENV`: `development` (default) or `production`. Production refuses to start without
    /// `QIAO_JWT_KEYS`, `QIAO_PHONE_PEPPER` and `QIAO_DATA_KEYS`, and never seeds demo data or demo accounts.
    pub environment: Environment,
    /// `QIAO_DATA_DIR`: where development secrets are kept. Default: the working directory.
    pub data_dir: PathBuf,
    /// `QIAO_JWT_KEYS`: access-token signing keys, `kid:base64secret[,kid:base64secret…]`. The
    /// first signs; the others only verify (the previous key during a rotation). Secrets must be
    /// at least 32 bytes. Unset in development: a key is generated into `QIAO_DATA_DIR`.
    pub jwt_keys: Option<Secret>,
    /// `QIAO_PHONE_PEPPER`: base64 key of the HMAC that turns sign-in phone numbers into lookup
    /// digests (the numbers are never stored). Unset in development: generated like the JWT key.
    pub phone_pepper: Option<Secret>,
    /// `QIAO_DATA_KEYS`: keys that seal personal data at rest (clients, consents, referral
    /// notes), `kid:base64key[,kid:base64key…]` of 32 bytes each; the first seals, all open (keep
    /// the old key listed after a rotation). Unset in development: generated like the JWT key.
    pub data_keys: Option<Secret>,
    /// `QIAO_DATABASE_URL`: `sqlite://path?mode=rwc` or `postgres://…`.
    /// Default: `sqlite://qiao.db?mode=rwc` (a file in the working directory, created if missing).
    pub database_url: String,
    /// `QIAO_LISTEN`: address to listen on. Default `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// `QIAO_SEED_DEMO`: load the demo directory into an empty database (`true`/`false`).
    /// Default `true`.
    pub seed_demo: bool,
    /// `QIAO_LOG_FORMAT`: `text` (default) or `json`. The level comes from `RUST_LOG`
    /// (default `info`).
    pub log_json: bool,
    /// `QIAO_MAX_AUTHENTICATED_BODY_BYTES`: largest `POST /graphql` body accepted from a
    /// signed-in caller (an admin's HSDS import carries the whole directory). Default 8 MiB
    /// (8388608); at least 64 KiB, at most 1 GiB. Anonymous requests always get 64 KiB.
    pub max_authenticated_body_bytes: usize,
    /// `QIAO_TRUSTED_DOCUMENTS`: only the published operations are executed (see
    /// `trusted_documents`). Default: off.
    pub trusted_documents_only: bool,
    /// What one GraphQL operation may ask for (`QIAO_MAX_QUERY_*`, `QIAO_MAX_RESPONSE_BYTES`).
    pub query_limits: QueryLimits,
    /// Rate limits and the proxies whose `X-Forwarded-For` is believed: see [`RateLimits`].
    pub rate_limits: RateLimits,
    /// `QIAO_REFERRAL_RETENTION_DAYS`: how long the personal data of an ended referral is kept
    /// (its `retain_until` is `ended_at` plus this), and how long a client with no referral left
    /// and no activity is kept before `qiao purge-expired` (and the daily sweep) erases it.
    /// Default 180; 1 to 3650.
    pub referral_retention_days: u32,
    /// Referral news: notifications and subscriptions (`QIAO_NOTIFICATION_*`,
    /// `QIAO_SUBSCRIPTION_POLL_MS`): see [`NewsConfig`].
    pub news: NewsConfig,
    /// How the search index follows the database (`QIAO_FEED_POLL_MS`,
    /// `QIAO_INDEX_REBUILD_MINUTES`).
    pub index: crate::directory::handle::FollowSettings,
    /// `QIAO_DETAIL_CACHE_ENTRIES`: how many services' public detail to keep in memory for the
    /// detail screen (`crate::directory::detail_cache`). Default 5000; 0 to 1000000 (0: off).
    pub detail_cache_entries: usize,
    /// `QIAO_INDEX_SNAPSHOT`: where each full build of the search index is saved, so the next
    /// start reads it and the feed since instead of the whole database
    /// (`crate::directory::snapshot`); `off`: never saved. Default: `index-build.qiao` in
    /// `QIAO_DATA_DIR`. A local cache: each server keeps its own.
    pub index_snapshot: Option<PathBuf>,
}

/// Where content-free referral notifications go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationSender {
    /// The development sender: one line per message appended to this file (recipients masked).
    File(PathBuf),
    /// Messages are queued in the outbox and wait for a real sender (none is built yet).
    None,
}

/// Referral news: the notification worker and the subscription's polling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewsConfig {
    /// `QIAO_NOTIFICATION_SENDER`: `file` or `none`. Default `file` in development and `none` in
    /// production, which refuses `file` (it is a development stand-in for SMS, not a channel).
    /// With `none` the worker still queues messages in `notification_outbox`.
    /// `QIAO_NOTIFICATION_FILE`: the file sender's file. Default `qiao-notifications.log` in
    /// `QIAO_DATA_DIR`.
    pub sender: NotificationSender,
    /// `QIAO_NOTIFICATION_POLL_MS`: how often the worker looks for new referral events and due
    /// messages. Default 2000 (10 to 600000).
    pub notification_poll: std::time::Duration,
    /// `QIAO_SUBSCRIPTION_POLL_MS`: how often a `referralStatusChanged` subscription looks for
    /// new events. Default 500 (10 to 60000).
    pub subscription_poll: std::time::Duration,
    /// `QIAO_MAX_SUBSCRIPTIONS`: live subscriptions one server holds at once (each polls the
    /// database); beyond it, and beyond 10 per account, a new one is `RATE_LIMITED`. Default 1000
    /// (1 to 1000000).
    pub max_subscriptions: usize,
}

impl Default for NewsConfig {
    fn default() -> Self {
        Self {
            sender: NotificationSender::File(PathBuf::from(".").join(DEFAULT_NOTIFICATION_FILE)),
            notification_poll: std::time::Duration::from_millis(2000),
            subscription_poll: std::time::Duration::from_millis(500),
            max_subscriptions: 1000,
        }
    }
}

/// The file sender's file name in `QIAO_DATA_DIR` when `QIAO_NOTIFICATION_FILE` is not set.
pub const DEFAULT_NOTIFICATION_FILE: &str = "qiao-notifications.log";

impl NewsConfig {
    fn from_lookup(
        lookup: &impl Fn(&str) -> Option<String>,
        environment: Environment,
        data_dir: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let default = Self::default();
        let millis = |variable: &'static str, default: std::time::Duration, range: std::ops::RangeInclusive<u64>| {
            let Some(text) = lookup(variable) else { return Ok(default) };
            match text.trim().parse::<u64>() {
                Ok(ms) if range.contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
                _ => Err(ConfigError {
                    variable,
                    reason: format!("{text:?} is not milliseconds from {} to {}", range.start(), range.end()),
                }),
            }
        };
        let file = || {
            lookup("QIAO_NOTIFICATION_FILE")
                .filter(|path| !path.is_empty())
                .map_or_else(|| data_dir.join(DEFAULT_NOTIFICATION_FILE), PathBuf::from)
        };
        let sender = match (lookup("QIAO_NOTIFICATION_SENDER").as_deref(), environment) {
            (Some("none"), _) | (None, Environment::Production) => NotificationSender::None,
            (Some("file"), Environment::Production) => {
                return Err(ConfigError {
                    variable: "QIAO_NOTIFICATION_SENDER",
                    reason: "the file sender is for development; production has none yet (use none)".to_owned(),
                });
            }
            (Some("file") | None, Environment::Development) => NotificationSender::File(file()),
            (Some(other), _) => {
                return Err(ConfigError {
                    variable: "QIAO_NOTIFICATION_SENDER",
                    reason: format!("{other:?} is not file or none"),
                });
            }
        };
        Ok(Self {
            sender,
            notification_poll: millis("QIAO_NOTIFICATION_POLL_MS", default.notification_poll, 10..=600_000)?,
            subscription_poll: millis("QIAO_SUBSCRIPTION_POLL_MS", default.subscription_poll, 10..=60_000)?,
            max_subscriptions: match lookup("QIAO_MAX_SUBSCRIPTIONS") {
                None => default.max_subscriptions,
                Some(text) => match text.trim().parse::<usize>() {
                    Ok(n) if (1..=1_000_000).contains(&n) => n,
                    _ => {
                        return Err(ConfigError {
                            variable: "QIAO_MAX_SUBSCRIPTIONS",
                            reason: format!("{text:?} is not a count from 1 to 1000000"),
                        });
                    }
                },
            },
        })
    }
}

/// Default of `QIAO_REFERRAL_RETENTION_DAYS`.
pub const DEFAULT_REFERRAL_RETENTION_DAYS: u32 = 180;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://qiao.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default of `QIAO_MAX_AUTHENTICATED_BODY_BYTES`.
pub const DEFAULT_MAX_AUTHENTICATED_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest request body accepted from an anonymous caller; a GraphQL query from the app is a few
/// KiB. Also the least `QIAO_MAX_AUTHENTICATED_BODY_BYTES` may be.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest request bodies accepted, by caller, and what one operation may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Anonymous callers and the roles that never import.
    pub anonymous: usize,
    /// Admins and committee staff, who import (`QIAO_MAX_AUTHENTICATED_BODY_BYTES`).
    pub authenticated: usize,
    /// The query cost limits, carried here so that every request path sees the same numbers.
    pub query: QueryLimits,
    /// `QIAO_TRUSTED_DOCUMENTS`: accept only the operations published in
    /// `mobile-client-spec/operations/` (by text or by hash). Default: off.
    pub trusted_documents_only: bool,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            anonymous: MAX_BODY_BYTES,
            authenticated: DEFAULT_MAX_AUTHENTICATED_BODY_BYTES,
            query: QueryLimits::default(),
            trusted_documents_only: false,
        }
    }
}

/// What one GraphQL operation may ask for. The numbers follow Apollo Router's and GitHub's
/// (GitHub: 500,000 nodes, 100 per page; Apollo: depth, aliases and root fields in the tens): the
/// largest operation of the app costs well under a tenth of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// `QIAO_MAX_QUERY_COMPLEXITY`: a list costs its page size (`first`, default 20) times what
    /// each item asks for; a database-backed field such as `service(id)` costs 20. Default 20,000.
    pub complexity: usize,
    /// `QIAO_MAX_QUERY_DEPTH`: deepest selection of data (introspection may go deeper, to
    /// [`INTROSPECTION_DEPTH`]). Default 12.
    pub depth: usize,
    /// `QIAO_MAX_QUERY_ALIASES`: aliased fields in one operation, fragments expanded. Default 30.
    pub aliases: usize,
    /// `QIAO_MAX_QUERY_ROOT_FIELDS`: fields at the top of one operation. Default 20.
    pub root_fields: usize,
    /// `QIAO_MAX_QUERY_FIELDS`: fields selected in one operation, fragments expanded and
    /// `__typename` included. Default 1,000.
    pub fields: usize,
    /// `QIAO_MAX_RESPONSE_BYTES`: largest answer; a larger one is replaced by a `BAD_USER_INPUT`
    /// error. Default 16 MiB (an admin's export of a large directory).
    pub response_bytes: usize,
    /// Whether the schema may be introspected and GraphiQL is served: development only.
    pub introspection: bool,
}

/// How deep the standard introspection query (graphql-js `getIntrospectionQuery()`) goes, with room.
pub const INTROSPECTION_DEPTH: usize = 16;

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            complexity: 20_000,
            depth: 12,
            aliases: 30,
            root_fields: 20,
            fields: 1_000,
            response_bytes: 16 * 1024 * 1024,
            introspection: true,
        }
    }
}

impl Config {
    /// The request limits this configuration sets.
    pub fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            anonymous: MAX_BODY_BYTES,
            authenticated: self.max_authenticated_body_bytes,
            query: self.query_limits,
            trusted_documents_only: self.trusted_documents_only,
        }
    }
}

/// Requests each client may make a minute (a signed-in caller counted by account, an anonymous one
/// by address, IPv6 by /64), and whom to believe about client addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// `QIAO_TRUSTED_PROXIES`: comma-separated CIDRs (`10.0.0.0/8,fd00::/8`) of the reverse
    /// proxies in front of the server. Only a TCP peer in one of them is believed about the client
    /// address (`X-Forwarded-For`, rightmost hop not itself a trusted proxy). Default: none.
    pub trusted_proxies: Vec<Cidr>,
    /// `QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE`: any GraphQL request. Default 600, far above what the
    /// app sends.
    pub requests_per_minute: u32,
    /// `QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE`: sign-in and registration attempts. Default 20.
    pub sign_ins_per_minute: u32,
    /// `QIAO_RATE_LIMIT_SUGGESTIONS_PER_MINUTE`: edit suggestions. Default 10.
    pub suggestions_per_minute: u32,
    /// `QIAO_RATE_LIMIT_REFERRAL_LOOKUPS_PER_MINUTE`: look-ups of a referral by its code. Default 20.
    pub referral_lookups_per_minute: u32,
    /// `QIAO_RATE_LIMIT_MAX_KEYS`: most clients each limiter remembers (the oldest is forgotten
    /// first). Default 100000.
    pub max_keys: usize,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            requests_per_minute: 600,
            sign_ins_per_minute: 20,
            suggestions_per_minute: 10,
            referral_lookups_per_minute: 20,
            max_keys: crate::rate_limit::DEFAULT_MAX_KEYS,
        }
    }
}

impl RateLimits {
    fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let default = Self::default();
        let trusted_proxies = match lookup("QIAO_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .filter(|part| !part.trim().is_empty())
                .map(|part| part.parse::<Cidr>())
                .collect::<Result<_, _>>()
                .map_err(|reason| ConfigError { variable: "QIAO_TRUSTED_PROXIES", reason })?,
        };
        // Up to a billion a minute: a load test from one address passes a million in seconds.
        let count = |variable: &'static str, default: u32| -> Result<u32, ConfigError> {
            let Some(text) = lookup(variable) else { return Ok(default) };
            match text.trim().parse::<u32>() {
                Ok(n) if (1..=1_000_000_000).contains(&n) => Ok(n),
                _ => Err(ConfigError { variable, reason: format!("{text:?} is not a count from 1 to 1000000000") }),
            }
        };
        Ok(Self {
            trusted_proxies,
            requests_per_minute: count("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", default.requests_per_minute)?,
            sign_ins_per_minute: count("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", default.sign_ins_per_minute)?,
            suggestions_per_minute: count("QIAO_RATE_LIMIT_SUGGESTIONS_PER_MINUTE", default.suggestions_per_minute)?,
            referral_lookups_per_minute: count(
                "QIAO_RATE_LIMIT_REFERRAL_LOOKUPS_PER_MINUTE",
                default.referral_lookups_per_minute,
            )?,
            max_keys: match lookup("QIAO_RATE_LIMIT_MAX_KEYS") {
                None => default.max_keys,
                Some(text) => match text.trim().parse::<usize>() {
                    Ok(n) if (100..=10_000_000).contains(&n) => n,
                    _ => {
                        return Err(ConfigError {
                            variable: "QIAO_RATE_LIMIT_MAX_KEYS",
                            reason: format!("{text:?} is not a count from 100 to 10000000"),
                        });
                    }
                },
            },
        })
    }
}

/// `QIAO_FEED_POLL_MS`: how often the index looks at the change feed without a wake-up (on
/// SQLite the only way; on PostgreSQL a notification wakes it at once). Default 1000, 50 to
/// 60000. `QIAO_INDEX_REBUILD_MINUTES`: how often the whole index is rebuilt anyway, as a safety
/// net; 0 never. Default 360.
fn parse_index_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<crate::directory::handle::FollowSettings, ConfigError> {
    let number = |variable: &'static str, default: u64, range: std::ops::RangeInclusive<u64>| match lookup(variable) {
        None => Ok(default),
        Some(text) => match text.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError {
                variable,
                reason: format!("{text:?} is not a number from {} to {}", range.start(), range.end()),
            }),
        },
    };
    let poll = number("QIAO_FEED_POLL_MS", 1_000, 50..=60_000)?;
    let rebuild = number("QIAO_INDEX_REBUILD_MINUTES", 360, 0..=525_600)?;
    Ok(crate::directory::handle::FollowSettings {
        poll: std::time::Duration::from_millis(poll),
        rebuild_every: (rebuild > 0).then(|| std::time::Duration::from_secs(rebuild * 60)),
    })
}

#[derive(Debug, thiserror::Error)]
#[error("configuration variable {variable} is invalid: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let listen_text = lookup("QIAO_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen = listen_text.parse().map_err(|_| ConfigError {
            variable: "QIAO_LISTEN",
            reason: format!("{listen_text:?} is not an address like 127.0.0.1:8080"),
        })?;
        let environment = match lookup("QIAO_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(ConfigError {
                    variable: "QIAO_ENV",
                    reason: format!("{other:?} is not development or production"),
                });
            }
        };
        let jwt_keys = lookup("QIAO_JWT_KEYS").filter(|v| !v.is_empty()).map(Secret);
        let phone_pepper = lookup("QIAO_PHONE_PEPPER").filter(|v| !v.is_empty()).map(Secret);
        let data_keys = lookup("QIAO_DATA_KEYS").filter(|v| !v.is_empty()).map(Secret);
        if environment == Environment::Production {
            if jwt_keys.is_none() {
                return Err(ConfigError {
                    variable: "QIAO_JWT_KEYS",
                    reason: "production needs signing keys".to_owned(),
                });
            }
            if phone_pepper.is_none() {
                return Err(ConfigError {
                    variable: "QIAO_PHONE_PEPPER",
                    reason: "production needs a pepper".to_owned(),
                });
            }
            if data_keys.is_none() {
                return Err(ConfigError {
                    variable: "QIAO_DATA_KEYS",
                    reason: "production needs keys to seal personal data".to_owned(),
                });
            }
            if lookup("QIAO_SEED_DEMO").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes")) {
                return Err(ConfigError {
                    variable: "QIAO_SEED_DEMO",
                    reason: "demo data and demo accounts are refused in production".to_owned(),
                });
            }
        }
        let data_dir = lookup("QIAO_DATA_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
        Ok(Self {
            environment,
            news: NewsConfig::from_lookup(&lookup, environment, &data_dir)?,
            index_snapshot: parse_index_snapshot(&lookup, &data_dir)?,
            data_dir,
            jwt_keys,
            phone_pepper,
            data_keys,
            database_url: lookup("QIAO_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            listen,
            seed_demo: parse_bool(&lookup, "QIAO_SEED_DEMO", environment == Environment::Development)?,
            log_json: match lookup("QIAO_LOG_FORMAT").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(ConfigError {
                        variable: "QIAO_LOG_FORMAT",
                        reason: format!("{other:?} is not text or json"),
                    });
                }
            },
            max_authenticated_body_bytes: parse_body_limit(&lookup)?,
            trusted_documents_only: parse_bool(&lookup, "QIAO_TRUSTED_DOCUMENTS", false)?,
            query_limits: parse_query_limits(&lookup, environment)?,
            rate_limits: RateLimits::from_lookup(&lookup)?,
            referral_retention_days: parse_retention_days(&lookup)?,
            index: parse_index_settings(&lookup)?,
            detail_cache_entries: parse_detail_cache_entries(&lookup)?,
        })
    }
}

/// The saved index build's file name in the data directory.
pub const DEFAULT_INDEX_SNAPSHOT: &str = "index-build.qiao";

fn parse_index_snapshot(
    lookup: &impl Fn(&str) -> Option<String>,
    data_dir: &std::path::Path,
) -> Result<Option<PathBuf>, ConfigError> {
    const VARIABLE: &str = "QIAO_INDEX_SNAPSHOT";
    match lookup(VARIABLE) {
        None => Ok(Some(data_dir.join(DEFAULT_INDEX_SNAPSHOT))),
        Some(text) if text.trim() == "off" => Ok(None),
        Some(text) if text.trim().is_empty() => {
            Err(ConfigError { variable: VARIABLE, reason: "give a file path, or off".to_owned() })
        }
        Some(text) => Ok(Some(PathBuf::from(text.trim()))),
    }
}

fn parse_detail_cache_entries(lookup: &impl Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    const VARIABLE: &str = "QIAO_DETAIL_CACHE_ENTRIES";
    let Some(text) = lookup(VARIABLE) else { return Ok(crate::directory::detail_cache::DEFAULT_ENTRIES) };
    match text.trim().parse::<usize>() {
        Ok(entries) if entries <= 1_000_000 => Ok(entries),
        _ => Err(ConfigError { variable: VARIABLE, reason: format!("{text:?} is not a number from 0 to 1000000") }),
    }
}

fn parse_retention_days(lookup: &impl Fn(&str) -> Option<String>) -> Result<u32, ConfigError> {
    const VARIABLE: &str = "QIAO_REFERRAL_RETENTION_DAYS";
    let Some(text) = lookup(VARIABLE) else { return Ok(DEFAULT_REFERRAL_RETENTION_DAYS) };
    match text.trim().parse::<u32>() {
        Ok(days) if (1..=3650).contains(&days) => Ok(days),
        _ => {
            Err(ConfigError { variable: VARIABLE, reason: format!("{text:?} is not a number of days from 1 to 3650") })
        }
    }
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(variable).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes") => Ok(true),
        Some("0" | "false" | "no") => Ok(false),
        Some(other) => Err(ConfigError { variable, reason: format!("{other:?} is not true or false") }),
    }
}

fn parse_body_limit(lookup: &impl Fn(&str) -> Option<String>) -> Result<usize, ConfigError> {
    const VARIABLE: &str = "QIAO_MAX_AUTHENTICATED_BODY_BYTES";
    let Some(text) = lookup(VARIABLE) else { return Ok(DEFAULT_MAX_AUTHENTICATED_BODY_BYTES) };
    let range = MAX_BODY_BYTES..=1024 * 1024 * 1024;
    match text.trim().parse::<usize>() {
        Ok(bytes) if range.contains(&bytes) => Ok(bytes),
        _ => Err(ConfigError {
            variable: VARIABLE,
            reason: format!("{text:?} is not a byte count from {} to {}", range.start(), range.end()),
        }),
    }
}

fn parse_query_limits(
    lookup: &impl Fn(&str) -> Option<String>,
    environment: Environment,
) -> Result<QueryLimits, ConfigError> {
    let count = |variable: &'static str, default: usize, range: std::ops::RangeInclusive<usize>| {
        let Some(text) = lookup(variable) else { return Ok(default) };
        match text.trim().parse::<usize>() {
            Ok(value) if range.contains(&value) => Ok(value),
            _ => Err(ConfigError {
                variable,
                reason: format!("{text:?} is not a number from {} to {}", range.start(), range.end()),
            }),
        }
    };
    let defaults = QueryLimits::default();
    Ok(QueryLimits {
        complexity: count("QIAO_MAX_QUERY_COMPLEXITY", defaults.complexity, 100..=10_000_000)?,
        depth: count("QIAO_MAX_QUERY_DEPTH", defaults.depth, 4..=INTROSPECTION_DEPTH)?,
        aliases: count("QIAO_MAX_QUERY_ALIASES", defaults.aliases, 0..=10_000)?,
        root_fields: count("QIAO_MAX_QUERY_ROOT_FIELDS", defaults.root_fields, 1..=10_000)?,
        fields: count("QIAO_MAX_QUERY_FIELDS", defaults.fields, 300..=1_000_000)?,
        response_bytes: count("QIAO_MAX_RESPONSE_BYTES", defaults.response_bytes, 64 * 1024..=1024 * 1024 * 1024)?,
        introspection: environment == Environment::Development,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_environment() {
        let config = Config::from_lookup(|_| None).ok();
        assert_eq!(config.as_ref().map(|c| c.listen.to_string()), Some(DEFAULT_LISTEN.to_owned()));
        assert_eq!(config.map(|c| c.database_url), Some(DEFAULT_DATABASE_URL.to_owned()));
    }

    #[test]
    fn production_refuses_to_start_without_keys_or_with_demo_data() {
        let production = |extra: Vec<(&'static str, &'static str)>| {
            Config::from_lookup(move |name| match name {
                "QIAO_ENV" => Some("production".to_owned()),
                _ => extra.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()),
            })
        };
        assert_eq!(production(vec![]).err().map(|e| e.variable), Some("QIAO_JWT_KEYS"));
        let keys = vec![("QIAO_JWT_KEYS", "k1:c2VjcmV0"), ("QIAO_PHONE_PEPPER", "cGVwcGVy")];
        assert_eq!(production(keys.clone()).err().map(|e| e.variable), Some("QIAO_DATA_KEYS"));
        let keys = [keys, vec![("QIAO_DATA_KEYS", "d1:c2VjcmV0")]].concat();
        assert!(production(keys.clone()).is_ok_and(|c| !c.seed_demo));
        let with_demo = [keys, vec![("QIAO_SEED_DEMO", "true")]].concat();
        assert_eq!(production(with_demo).err().map(|e| e.variable), Some("QIAO_SEED_DEMO"));
    }

    #[test]
    fn the_saved_index_build_lives_in_the_data_directory_unless_moved_or_turned_off() {
        let with = |pairs: Vec<(&'static str, &'static str)>| {
            Config::from_lookup(move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned()))
        };
        let default = with(vec![("QIAO_DATA_DIR", "/var/lib/qiao")]).map(|c| c.index_snapshot).ok();
        assert_eq!(default, Some(Some(PathBuf::from("/var/lib/qiao").join(DEFAULT_INDEX_SNAPSHOT))));
        assert_eq!(with(vec![("QIAO_INDEX_SNAPSHOT", "off")]).map(|c| c.index_snapshot).ok(), Some(None));
        let moved = with(vec![("QIAO_INDEX_SNAPSHOT", "/fast/index.qiao")]).map(|c| c.index_snapshot).ok();
        assert_eq!(moved, Some(Some(PathBuf::from("/fast/index.qiao"))));
        let empty = with(vec![("QIAO_INDEX_SNAPSHOT", "  ")]).err().map(|e| e.variable);
        assert_eq!(empty, Some("QIAO_INDEX_SNAPSHOT"));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let config = Config::from_lookup(|name| (name == "QIAO_JWT_KEYS").then(|| "k1:dG9wLXNlY3JldA".to_owned()));
        let text = format!("{config:?}");
        assert!(!text.contains("dG9wLXNlY3JldA") && text.contains("redacted"));
    }

    #[test]
    fn the_authenticated_body_limit_defaults_to_8_mib_and_refuses_nonsense() {
        let with = |value: &'static str| {
            Config::from_lookup(move |name| (name == "QIAO_MAX_AUTHENTICATED_BODY_BYTES").then(|| value.to_owned()))
        };
        let default = Config::from_lookup(|_| None).map(|c| c.max_authenticated_body_bytes).ok();
        assert_eq!(default, Some(8 * 1024 * 1024));
        assert_eq!(with("1048576").map(|c| c.max_authenticated_body_bytes).ok(), Some(1024 * 1024));
        for bad in ["1000", "lots", "-1"] {
            assert_eq!(with(bad).err().map(|e| e.variable), Some("QIAO_MAX_AUTHENTICATED_BODY_BYTES"), "{bad}");
        }
    }

    #[test]
    fn rate_limits_have_defaults_and_refuse_nonsense_by_name() {
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |n| (n == name).then(|| value.to_owned())).map(|c| c.rate_limits)
        };
        assert_eq!(Config::from_lookup(|_| None).map(|c| c.rate_limits).ok(), Some(RateLimits::default()));
        let proxies = with("QIAO_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8").map(|l| l.trusted_proxies.len());
        assert_eq!(proxies.ok(), Some(2));
        assert_eq!(with("QIAO_TRUSTED_PROXIES", "10.0.0.0/40").err().map(|e| e.variable), Some("QIAO_TRUSTED_PROXIES"));
        let requests = with("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "1200").map(|l| l.requests_per_minute);
        assert_eq!(requests.ok(), Some(1200));
        let load_test = with("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "1000000000").map(|l| l.requests_per_minute);
        assert_eq!(load_test.ok(), Some(1_000_000_000));
        for (name, bad) in [
            ("QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE", "0"),
            ("QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE", "1000000001"),
            ("QIAO_RATE_LIMIT_MAX_KEYS", "many"),
        ] {
            assert_eq!(with(name, bad).err().map(|e| e.variable), Some(name));
        }
    }

    #[test]
    fn the_file_sender_is_for_development_only() {
        let with = |pairs: Vec<(&'static str, &'static str)>| {
            Config::from_lookup(move |name| {
                let keys = [
                    ("QIAO_JWT_KEYS", "k1:c2VjcmV0"),
                    ("QIAO_PHONE_PEPPER", "cGVwcGVy"),
                    ("QIAO_DATA_KEYS", "d1:c2VjcmV0"),
                ];
                pairs.iter().chain(keys.iter()).find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
            })
        };
        let news = |pairs| with(pairs).map(|c| c.news);
        let development = news(vec![("QIAO_DATA_DIR", "/var/qiao")]).ok().map(|n| n.sender);
        assert_eq!(development, Some(NotificationSender::File(PathBuf::from("/var/qiao/qiao-notifications.log"))));
        let chosen = news(vec![("QIAO_NOTIFICATION_FILE", "/tmp/n.log")]).ok().map(|n| n.sender);
        assert_eq!(chosen, Some(NotificationSender::File(PathBuf::from("/tmp/n.log"))));
        let production = news(vec![("QIAO_ENV", "production")]).ok().map(|n| n.sender);
        assert_eq!(production, Some(NotificationSender::None));
        let refused = with(vec![("QIAO_ENV", "production"), ("QIAO_NOTIFICATION_SENDER", "file")]);
        assert_eq!(refused.err().map(|e| e.variable), Some("QIAO_NOTIFICATION_SENDER"));
        let polls = news(vec![("QIAO_SUBSCRIPTION_POLL_MS", "100")]).ok().map(|n| n.subscription_poll.as_millis());
        assert_eq!(polls, Some(100));
        let most = news(vec![("QIAO_MAX_SUBSCRIPTIONS", "20")]).ok().map(|n| n.max_subscriptions);
        assert_eq!(most, Some(20));
        for (name, bad) in
            [("QIAO_NOTIFICATION_POLL_MS", "0"), ("QIAO_SUBSCRIPTION_POLL_MS", "soon"), ("QIAO_MAX_SUBSCRIPTIONS", "0")]
        {
            assert_eq!(with(vec![(name, bad)]).err().map(|e| e.variable), Some(name));
        }
    }

    #[test]
    fn a_bad_listen_address_is_refused_by_name() {
        let error = Config::from_lookup(|name| (name == "QIAO_LISTEN").then(|| "nowhere".to_owned())).err();
        assert_eq!(error.map(|e| e.variable), Some("QIAO_LISTEN"));
    }

    #[test]
    fn query_limits_have_documented_defaults_and_refuse_nonsense() {
        let limits = Config::from_lookup(|_| None).map(|c| c.query_limits).ok();
        assert_eq!(limits, Some(QueryLimits::default()));
        assert_eq!(limits.map(|l| (l.complexity, l.depth, l.aliases, l.root_fields)), Some((20_000, 12, 30, 20)));
        assert_eq!(limits.map(|l| l.introspection), Some(true));
        let with = |name: &'static str, value: &'static str| {
            Config::from_lookup(move |variable| (variable == name).then(|| value.to_owned()))
        };
        assert_eq!(with("QIAO_MAX_QUERY_ALIASES", "5").map(|c| c.query_limits.aliases).ok(), Some(5));
        for (name, bad) in [
            ("QIAO_MAX_QUERY_COMPLEXITY", "0"),
            ("QIAO_MAX_QUERY_DEPTH", "40"),
            ("QIAO_MAX_QUERY_FIELDS", "many"),
            ("QIAO_MAX_RESPONSE_BYTES", "-1"),
        ] {
            assert_eq!(with(name, bad).err().map(|e| e.variable), Some(name), "{name}={bad}");
        }
    }
}
