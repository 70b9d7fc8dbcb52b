//! Secrets: access-token signing keys, the phone-number pepper and the keys that seal personal data.
//!
//! Configured through `QIAO_JWT_KEYS`, `QIAO_PHONE_PEPPER` and `QIAO_DATA_KEYS`. In development, when unset, they
//! are generated once and kept in `QIAO_DATA_DIR/qiao-dev-secrets.json` (readable by the owner
//! only), with a warning; production refuses to start without them (see `config.rs`).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Environment};
use crate::privacy::crypto::{DataKey, KEY_BYTES, parse_data_keys};

/// Shortest accepted HMAC secret: HS256 wants at least its output size.
pub const MIN_SECRET_BYTES: usize = 32;
const DEV_SECRETS_FILE: &str = "qiao-dev-secrets.json";

/// One signing key.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

/// The key that signs new tokens and the keys that still verify older ones.
#[derive(Clone)]
pub struct Secrets {
    pub signing: SigningKey,
    /// Verify-only keys (the previous key during a rotation).
    pub verifying: Vec<SigningKey>,
    pub phone_pepper: Vec<u8>,
    /// Seal personal data at rest; the first seals new values.
    pub data_keys: Vec<DataKey>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("QIAO_JWT_KEYS: {0}")]
    JwtKeys(String),
    #[error("QIAO_PHONE_PEPPER: {0}")]
    Pepper(String),
    #[error("QIAO_DATA_KEYS: {0}")]
    DataKeys(String),
    #[error("development secrets file {path}: {reason}")]
    DevFile { path: String, reason: String },
}

#[derive(Serialize, Deserialize)]
struct DevSecrets {
    jwt_kid: String,
    jwt_secret: String,
    phone_pepper: String,
    /// Added after the first secrets files were written: generated into an older file on start.
    #[serde(default)]
    data_key: Option<String>,
}

impl Secrets {
    pub fn from_config(config: &Config) -> Result<Self, SecretsError> {
        let dev = if config.jwt_keys.is_none() || config.phone_pepper.is_none() || config.data_keys.is_none() {
            if config.environment == Environment::Production {
                return Err(SecretsError::JwtKeys("production needs configured secrets".to_owned()));
            }
            Some(load_or_create_dev_secrets(&config.data_dir)?)
        } else {
            None
        };
        let (signing, verifying) = match (&config.jwt_keys, &dev) {
            (Some(keys), _) => parse_keys(&keys.0)?,
            (None, Some(dev)) => (
                SigningKey {
                    kid: dev.jwt_kid.clone(),
                    secret: decode(&dev.jwt_secret).map_err(SecretsError::JwtKeys)?,
                },
                Vec::new(),
            ),
            (None, None) => return Err(SecretsError::JwtKeys("not configured".to_owned())),
        };
        let phone_pepper = match (&config.phone_pepper, &dev) {
            (Some(pepper), _) => decode(&pepper.0).map_err(SecretsError::Pepper)?,
            (None, Some(dev)) => decode(&dev.phone_pepper).map_err(SecretsError::Pepper)?,
            (None, None) => return Err(SecretsError::Pepper("not configured".to_owned())),
        };
        if phone_pepper.len() < 16 {
            return Err(SecretsError::Pepper("must be at least 16 bytes".to_owned()));
        }
        let data_keys = match (&config.data_keys, dev.as_ref().and_then(|dev| dev.data_key.as_ref())) {
            (Some(keys), _) => parse_data_keys(&keys.0).map_err(SecretsError::DataKeys)?,
            (None, Some(dev_key)) => parse_data_keys(&format!("dev:{dev_key}")).map_err(SecretsError::DataKeys)?,
            (None, None) => return Err(SecretsError::DataKeys("not configured".to_owned())),
        };
        Ok(Self { signing, verifying, phone_pepper, data_keys })
    }

    /// The key with this `kid`, signing or verify-only.
    pub fn key(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.signing).chain(&self.verifying).find(|key| key.kid == kid)
    }
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim()))
        .map_err(|_| "not base64".to_owned())
}

/// Parses `kid:base64secret[,kid:base64secret…]`.
fn parse_keys(text: &str) -> Result<(SigningKey, Vec<SigningKey>), SecretsError> {
    let mut keys = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (kid, secret) =
            entry.split_once(':').ok_or_else(|| SecretsError::JwtKeys("expected kid:base64secret".to_owned()))?;
        let secret = decode(secret).map_err(SecretsError::JwtKeys)?;
        if kid.is_empty() || secret.len() < MIN_SECRET_BYTES {
            return Err(SecretsError::JwtKeys(format!(
                "key {kid:?} needs a kid and at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        keys.push(SigningKey { kid: kid.to_owned(), secret });
    }
    let mut keys = keys.into_iter();
    let signing = keys.next().ok_or_else(|| SecretsError::JwtKeys("no key given".to_owned()))?;
    Ok((signing, keys.collect()))
}

fn random_base64(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| e.to_string())?;
    Ok(STANDARD.encode(buffer))
}

fn load_or_create_dev_secrets(data_dir: &Path) -> Result<DevSecrets, SecretsError> {
    let path = data_dir.join(DEV_SECRETS_FILE);
    let error = |reason: String| SecretsError::DevFile { path: path.display().to_string(), reason };
    if let Ok(text) = std::fs::read_to_string(&path) {
        let mut secrets: DevSecrets = serde_json::from_str(&text).map_err(|e| error(e.to_string()))?;
        if secrets.data_key.is_none() {
            // A file from before personal data was sealed: add a data key, keep the rest.
            tracing::warn!(path = %path.display(), "generated a development data key into the secrets file");
            secrets.data_key = Some(random_base64(KEY_BYTES).map_err(error)?);
            let text = serde_json::to_string_pretty(&secrets).map_err(|e| error(e.to_string()))?;
            let fresh = path.with_extension("json.new");
            let _ = std::fs::remove_file(&fresh);
            write_private(&fresh, &text).map_err(|e| error(e.to_string()))?;
            std::fs::rename(&fresh, &path).map_err(|e| error(e.to_string()))?;
        }
        return Ok(secrets);
    }
    tracing::warn!(
        path = %path.display(),
        "no QIAO_JWT_KEYS / QIAO_PHONE_PEPPER / QIAO_DATA_KEYS configured: generated development secrets; never use them in production"
    );
    let secrets = DevSecrets {
        jwt_kid: format!("dev-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")),
        jwt_secret: random_base64(32).map_err(error)?,
        phone_pepper: random_base64(32).map_err(error)?,
        data_key: Some(random_base64(KEY_BYTES).map_err(error)?),
    };
    std::fs::create_dir_all(data_dir).map_err(|e| error(e.to_string()))?;
    let text = serde_json::to_string_pretty(&secrets).map_err(|e| error(e.to_string()))?;
    write_private(&path, &text).map_err(|e| error(e.to_string()))?;
    Ok(secrets)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_with_the_first_signing_and_short_secrets_refused() {
        let long = STANDARD.encode([7u8; 32]);
        let parsed = parse_keys(&format!("new:{long},old:{long}")).ok();
        assert_eq!(parsed.as_ref().map(|(s, v)| (s.kid.as_str(), v.len())), Some(("new", 1)));
        assert!(parse_keys(&format!("k:{}", STANDARD.encode([1u8; 8]))).is_err());
        assert!(parse_keys("no-colon").is_err());
    }
}
