//! The department's webhooks on one machine: receivers of CSQ's events, and
//! the deliveries that did not reach them. (On AWS, subscribers use rules on
//! the stack's event bus instead.)

use chrono::{DateTime, Utc};

/// How many receivers a department may register: a handful in practice, and
/// every listing of them stays one bounded read.
pub const MAX_WEBHOOKS: usize = 100;

/// A registered receiver. The secret signs its deliveries; it is shown once,
/// when the receiver is added, and never read back out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("{0:?} is not an http or https URL with a host")]
    NotHttp(String),
    #[error("a webhook URL has at most 2,000 characters")]
    TooLong,
}

impl Webhook {
    /// A new receiver at `url` (http or https, with a host), with a fresh
    /// secret. The URL is kept as parsed, so two spellings of it compare equal.
    pub fn new(url: &str, now: DateTime<Utc>) -> Result<Webhook, WebhookUrlError> {
        let url = url.trim();
        if url.len() > 2000 {
            return Err(WebhookUrlError::TooLong);
        }
        let parsed: axum::http::Uri = url
            .parse()
            .map_err(|_| WebhookUrlError::NotHttp(url.to_owned()))?;
        if !matches!(parsed.scheme_str(), Some("http" | "https"))
            || parsed.host().is_none_or(str::is_empty)
        {
            return Err(WebhookUrlError::NotHttp(url.to_owned()));
        }
        Ok(Webhook {
            id: format!("wh_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            url: parsed.to_string(),
            secret: crate::auth::random_secret(32),
            created_at: now,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Every attempt failed: kept for the department to send again.
    Dead,
}

impl DeliveryState {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Dead,
        ]
        .into_iter()
        .find(|d| d.code() == s)
    }
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub event_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_needs_an_http_url_with_a_host() {
        let now = Utc::now();
        let hook = Webhook::new(" https://erp.example.vn/csq ", now).unwrap();
        assert_eq!(hook.url, "https://erp.example.vn/csq");
        assert!(hook.id.starts_with("wh_") && hook.secret.len() >= 32);
        for bad in [
            "ftp://x.vn/",
            "erp.example.vn/csq",
            "https://",
            "not a url",
            "",
        ] {
            assert!(Webhook::new(bad, now).is_err(), "{bad:?}");
        }
        let long = format!("https://x.vn/{}", "a".repeat(2000));
        assert_eq!(Webhook::new(&long, now), Err(WebhookUrlError::TooLong));
    }
}
