//! Sealing personal values at rest: XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`).
//!
//! A sealed value is the text `v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id
//! travels with the value so keys can rotate: new values are sealed with the current key, old ones
//! still open with any configured key. The associated data binds a value to its table, row and
//! field (`client/<id>/phone`), so a value copied into another row or column does not open.
//! The 24-byte random nonce makes nonce reuse negligible without a counter.
//!
//! Keys come from `QIAO_DATA_KEYS` (`kid:base64key[,kid:base64key…]`, 32-byte keys, the first
//! seals); development generates one into the secrets file with a warning; production refuses to
//! start without it (`auth::keys`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ApiError, ApiResult};

const FORMAT: &str = "v1";
const NONCE_BYTES: usize = 24;
pub const KEY_BYTES: usize = 32;

/// One data key.
#[derive(Clone)]
pub struct DataKey {
    pub kid: String,
    pub secret: [u8; KEY_BYTES],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// Where a sealed value lives: its table, row id and field. Bound into the ciphertext.
#[derive(Debug, Clone, Copy)]
pub struct Slot<'a> {
    pub table: &'a str,
    pub id: &'a str,
    pub field: &'a str,
}

impl Slot<'_> {
    fn associated_data(&self) -> String {
        format!("{}/{}/{}", self.table, self.id, self.field)
    }
}

/// Seals and opens personal values, and computes the keyed digests they are found by.
#[derive(Clone)]
pub struct DataCipher {
    /// The first key seals; all of them open.
    keys: Vec<DataKey>,
    /// HMAC key for look-up digests (the phone pepper).
    digest_key: Vec<u8>,
}

impl std::fmt::Debug for DataCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataCipher").field("keys", &self.keys).finish_non_exhaustive()
    }
}

impl DataCipher {
    /// `keys` must not be empty: the first one seals.
    pub fn new(keys: Vec<DataKey>, digest_key: Vec<u8>) -> Self {
        assert!(!keys.is_empty(), "a data cipher needs a key");
        Self { keys, digest_key }
    }

    /// The id of the key new values are sealed with.
    pub fn current_kid(&self) -> &str {
        &self.keys[0].kid
    }

    pub fn seal(&self, slot: Slot<'_>, plaintext: &str) -> ApiResult<String> {
        let key = &self.keys[0];
        let cipher = XChaCha20Poly1305::new_from_slice(&key.secret).map_err(|_| ApiError::internal("data key"))?;
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| ApiError::internal(format!("randomness: {e}")))?;
        let aad = slot.associated_data();
        let sealed = cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .map_err(|_| ApiError::internal("sealing failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}:{}:{}", key.kid, URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn seal_optional(&self, slot: Slot<'_>, plaintext: Option<&str>) -> ApiResult<Option<String>> {
        plaintext.map(|text| self.seal(slot, text)).transpose()
    }

    /// Opens a sealed value. A value that does not open (unknown key, tampered, moved to another
    /// slot) is an internal error: it means the data or the configuration is wrong, never the
    /// caller's input.
    pub fn open(&self, slot: Slot<'_>, sealed: &str) -> ApiResult<String> {
        let broken = |why: &str| {
            ApiError::internal(format!(
                "sealed value in {}/{}/{} does not open: {why}",
                slot.table, slot.id, slot.field
            ))
        };
        let mut parts = sealed.splitn(3, ':');
        let (Some(FORMAT), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(broken("not a v1 sealed value"));
        };
        let key = self.keys.iter().find(|key| key.kid == kid).ok_or_else(|| broken("unknown key id"))?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| broken("not base64"))?;
        if bytes.len() < NONCE_BYTES {
            return Err(broken("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| broken("nonce"))?;
        let cipher = XChaCha20Poly1305::new_from_slice(&key.secret).map_err(|_| broken("data key"))?;
        let aad = slot.associated_data();
        let plain = cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: ciphertext, aad: aad.as_bytes() })
            .map_err(|_| broken("authentication failed"))?;
        String::from_utf8(plain).map_err(|_| broken("not UTF-8"))
    }

    pub fn open_optional(&self, slot: Slot<'_>, sealed: Option<&str>) -> ApiResult<Option<String>> {
        sealed.map(|value| self.open(slot, value)).transpose()
    }

    /// A keyed digest (hex HMAC-SHA-256) of `value` within `context` (e.g. an organisation id),
    /// so equal values can be found without storing or decrypting them, and a digest from one
    /// context says nothing in another.
    pub fn digest(&self, context: &str, value: &str) -> ApiResult<String> {
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(&self.digest_key).map_err(|e| ApiError::internal(e.to_string()))?;
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        Ok(mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect())
    }
}

/// Parses `kid:base64key[,kid:base64key…]` (standard or URL-safe base64 of exactly 32 bytes).
pub fn parse_data_keys(text: &str) -> Result<Vec<DataKey>, String> {
    let mut keys = Vec::new();
    for entry in text.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
        let (kid, secret) = entry.split_once(':').ok_or("expected kid:base64key")?;
        let secret = base64::engine::general_purpose::STANDARD
            .decode(secret.trim())
            .or_else(|_| URL_SAFE_NO_PAD.decode(secret.trim()))
            .map_err(|_| format!("key {kid:?} is not base64"))?;
        let secret: [u8; KEY_BYTES] =
            secret.try_into().map_err(|_| format!("key {kid:?} must be exactly {KEY_BYTES} bytes"))?;
        if kid.is_empty() || kid.contains(':') {
            return Err("a key id must be non-empty and contain no ':'".to_owned());
        }
        if keys.iter().any(|key: &DataKey| key.kid == kid) {
            return Err(format!("key id {kid:?} given twice"));
        }
        keys.push(DataKey { kid: kid.to_owned(), secret });
    }
    if keys.is_empty() {
        return Err("no key given".to_owned());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(kids: &[&str]) -> DataCipher {
        let keys =
            kids.iter().enumerate().map(|(i, kid)| DataKey { kid: (*kid).to_owned(), secret: [i as u8 + 1; 32] });
        DataCipher::new(keys.collect(), vec![7; 32])
    }

    const SLOT: Slot<'static> = Slot { table: "client", id: "c1", field: "phone" };

    #[test]
    fn a_value_round_trips_and_is_not_in_the_sealed_text() {
        let cipher = cipher(&["k1"]);
        let sealed = cipher.seal(SLOT, "13912345678").expect("seal");
        assert!(sealed.starts_with("v1:k1:"));
        assert!(!sealed.contains("13912345678"));
        assert_eq!(cipher.open(SLOT, &sealed).expect("open"), "13912345678");
        assert_ne!(cipher.seal(SLOT, "13912345678").expect("seal"), sealed, "fresh nonce every time");
    }

    #[test]
    fn a_value_moved_to_another_slot_or_tampered_does_not_open() {
        let cipher = cipher(&["k1"]);
        let sealed = cipher.seal(SLOT, "13912345678").expect("seal");
        assert!(cipher.open(Slot { id: "c2", ..SLOT }, &sealed).is_err());
        assert!(cipher.open(Slot { field: "display_name", ..SLOT }, &sealed).is_err());
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 1;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(cipher.open(SLOT, &String::from_utf8(tampered).expect("utf8")).is_err());
    }

    #[test]
    fn old_keys_still_open_after_rotation() {
        let old = cipher(&["k1"]);
        let sealed = old.seal(SLOT, "演示客户").expect("seal");
        // The new key first; the old one (same secret as `old`) still opens.
        let rotated = DataCipher::new(
            vec![DataKey { kid: "k2".into(), secret: [9; 32] }, DataKey { kid: "k1".into(), secret: [1; 32] }],
            vec![7; 32],
        );
        assert_eq!(rotated.current_kid(), "k2");
        assert_eq!(rotated.open(SLOT, &sealed).expect("open"), "演示客户");
        assert!(rotated.seal(SLOT, "x").expect("seal").starts_with("v1:k2:"));
    }

    #[test]
    fn digests_depend_on_context() {
        let cipher = cipher(&["k1"]);
        let a = cipher.digest("org-a", "13912345678").expect("digest");
        assert_eq!(a, cipher.digest("org-a", "13912345678").expect("digest"));
        assert_ne!(a, cipher.digest("org-b", "13912345678").expect("digest"));
        assert!(!a.contains("13912345678"));
    }

    #[test]
    fn key_lists_are_checked() {
        assert!(parse_data_keys("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_ok());
        assert!(parse_data_keys("k1:c2hvcnQ=").is_err());
        assert!(parse_data_keys("").is_err());
        assert!(parse_data_keys("nokey").is_err());
    }
}
