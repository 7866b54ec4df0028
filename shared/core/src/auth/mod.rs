//! Secrets in use: signed form links, CSRF tokens on the rating page, staff tokens.

pub mod link;
pub mod scope;
pub mod staff;
pub mod webhook;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

pub(crate) fn hmac_sign(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Constant-time check: `verify_slice` does not stop at the first differing byte.
pub(crate) fn hmac_verify(key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

/// Whether a presented secret (a key, a token) is the expected one, compared
/// by their MACs so the comparison's time says nothing about the secret.
pub fn secrets_match(expected: &str, given: &str) -> bool {
    hmac_sign(b"csq-secret-compare", expected.as_bytes())
        == hmac_sign(b"csq-secret-compare", given.as_bytes())
}

/// A random secret, base64url, for generated keys and CSRF nonces.
pub fn random_secret(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    b64(&buf)
}
