//! Webhook signatures: `CSQ-Signature: t={unix seconds},v1={hex HMAC-SHA256}`
//! of `"{t}.{body}"` under the subscription's secret. The timestamp in the
//! signed text lets a receiver refuse an old delivery replayed by someone
//! who captured it; the event id lets it drop a redelivery it already has.

use super::{hmac_sign, hmac_verify};

pub const SIGNATURE_HEADER: &str = "CSQ-Signature";
pub const EVENT_ID_HEADER: &str = "CSQ-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "CSQ-Event-Type";

fn signed_text(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut text = format!("{timestamp}.").into_bytes();
    text.extend_from_slice(body);
    text
}

/// The header value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mac = hmac_sign(secret.as_bytes(), &signed_text(timestamp, body));
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp},v1={hex}")
}

/// What a receiver checks: the signature over this body, made at most
/// `tolerance_secs` from `now`.
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = Some(x),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    if (now - t).abs() > tolerance_secs || v1.len() != 64 {
        return false;
    }
    let Some(sig) = (0..32)
        .map(|i| u8::from_str_radix(v1.get(2 * i..2 * i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    hmac_verify(secret.as_bytes(), &signed_text(t, body), &sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_body_secret_and_time() {
        let body = br#"{"id":"form.issued:abc"}"#;
        let h = sign("s3cret", 1_800_000_000, body);
        assert!(h.starts_with("t=1800000000,v1="));
        assert!(verify("s3cret", &h, body, 1_800_000_100, 300));
        assert!(!verify("other", &h, body, 1_800_000_100, 300), "secret");
        assert!(!verify("s3cret", &h, b"{}", 1_800_000_100, 300), "body");
        assert!(!verify("s3cret", &h, body, 1_800_001_000, 300), "too old");
        let forged = h.replace("t=1800000000", "t=1800000900");
        assert!(
            !verify("s3cret", &forged, body, 1_800_000_900, 300),
            "time is signed"
        );
        assert!(!verify("s3cret", "garbage", body, 1_800_000_000, 300));
    }
}
