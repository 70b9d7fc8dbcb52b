//! Configuration: one typed struct read from environment variables, with defaults that work out
//! of the box. Every variable is documented here and in `.env.example`.

use std::net::SocketAddr;

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
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
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://qiao.db?mode=rwc";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

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
        Ok(Self {
            database_url: lookup("QIAO_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()),
            listen,
            seed_demo: parse_bool(&lookup, "QIAO_SEED_DEMO", true)?,
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
        })
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
    fn a_bad_listen_address_is_refused_by_name() {
        let error = Config::from_lookup(|name| (name == "QIAO_LISTEN").then(|| "nowhere".to_owned())).err();
        assert_eq!(error.map(|e| e.variable), Some("QIAO_LISTEN"));
    }
}
