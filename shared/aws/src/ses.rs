//! SESv2 mailer: `SendEmail` with HTML and text parts.
//!
//! Throttling (TooManyRequests, LimitExceeded) is retried with jittered
//! exponential backoff; permanent rejections (MessageRejected, SendingPaused, an
//! unverified sender) are not retried and surface as `MailError::Rejected`.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{
    Attachment, AttachmentContentDisposition, Body, Content, Destination, EmailContent, Message,
    MessageHeader,
};
use base64::Engine;
use csq_core::ports::{MailError, Mailer, OutgoingEmail};
use rand::Rng;

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    from: String,
    configuration_set: Option<String>,
    retry: RetryPolicy,
}

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(200),
        }
    }
}

/// What to do about one failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Throttled(String),
    Permanent(String),
    Other(String),
}

pub fn classify(e: &SdkError<SendEmailError>) -> Failure {
    match e {
        SdkError::ServiceError(se) => {
            let code = se.err();
            let text = format!("{code}");
            match code {
                SendEmailError::TooManyRequestsException(_)
                | SendEmailError::LimitExceededException(_) => Failure::Throttled(text),
                SendEmailError::MessageRejected(_)
                | SendEmailError::SendingPausedException(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::AccountSuspendedException(_)
                | SendEmailError::BadRequestException(_)
                | SendEmailError::NotFoundException(_) => Failure::Permanent(text),
                _ => Failure::Other(text),
            }
        }
        other => Failure::Other(other.to_string()),
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or runs out of tries;
/// waits base·2^n with full jitter between throttled tries.
pub async fn with_backoff<F, Fut>(policy: RetryPolicy, mut attempt: F) -> Result<String, MailError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<String, Failure>>,
{
    let mut last = String::new();
    for n in 0..policy.attempts.max(1) {
        match attempt().await {
            Ok(id) => return Ok(id),
            Err(Failure::Permanent(m)) => return Err(MailError::Rejected(m)),
            Err(Failure::Throttled(m)) | Err(Failure::Other(m)) => {
                last = m;
                if n + 1 < policy.attempts {
                    let cap = policy.base.as_millis() as u64 * (1u64 << n.min(10));
                    let wait = rand::rng().random_range(0..=cap);
                    tracing::warn!(attempt = n + 1, wait_ms = wait, error = %last, "SES busy; retrying");
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                }
            }
        }
    }
    Err(MailError::Transient(last))
}

/// `Name <address>` with the name RFC 2047-encoded, so any Vietnamese name is a
/// valid header and no character in it can start a new header.
pub fn mailbox(name: &str, address: &str) -> String {
    let clean: String = name.chars().filter(|c| !c.is_control()).collect();
    if clean.is_empty() {
        return address.to_owned();
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(clean.as_bytes());
    format!("=?UTF-8?B?{encoded}?= <{address}>")
}

impl SesMailer {
    /// `from` is `Name <address>` or a bare address; the address must be a verified identity.
    pub fn new(client: Client, from: &str, configuration_set: Option<String>) -> SesMailer {
        let from = match from.rsplit_once('<') {
            Some((name, addr)) => mailbox(
                name.trim().trim_matches('"'),
                addr.trim_end_matches('>').trim(),
            ),
            None => from.trim().to_owned(),
        };
        SesMailer {
            client,
            from,
            configuration_set,
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> SesMailer {
        self.retry = retry;
        self
    }

    fn content(text: &str) -> Result<Content, MailError> {
        Content::builder()
            .data(text)
            .charset("UTF-8")
            .build()
            .map_err(|e| MailError::Rejected(e.to_string()))
    }
}

/// The SES message of an email: both bodies, the inline images as inline
/// attachments with their content ids, and the one-click opt-out headers.
pub fn ses_message(email: &OutgoingEmail) -> Result<Message, MailError> {
    let mut message = Message::builder()
        .subject(SesMailer::content(&email.subject)?)
        .body(
            Body::builder()
                .text(SesMailer::content(&email.text)?)
                .html(SesMailer::content(&email.html)?)
                .build(),
        );
    if let Some(url) = &email.unsubscribe {
        for (name, value) in csq_core::app::emails::unsubscribe_headers(url)? {
            message = message.headers(
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| MailError::Rejected(e.to_string()))?,
            );
        }
    }
    for img in &email.inline_images {
        message = message.attachments(
            Attachment::builder()
                .raw_content(Blob::new(img.bytes.clone()))
                .content_disposition(AttachmentContentDisposition::Inline)
                .content_id(&img.content_id)
                .content_type(img.content_type)
                .file_name(&img.file_name)
                .build()
                .map_err(|e| MailError::Rejected(e.to_string()))?,
        );
    }
    Ok(message.build())
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<String, MailError> {
        if email
            .to
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
            || email.subject.chars().any(char::is_control)
        {
            return Err(MailError::Rejected("line break in a header".into()));
        }
        let message = ses_message(email)?;
        let to = mailbox(&email.to_name, &email.to);
        with_backoff(self.retry, || {
            let req = self
                .client
                .send_email()
                .from_email_address(&self.from)
                .destination(Destination::builder().to_addresses(&to).build())
                .content(EmailContent::builder().simple(message.clone()).build())
                .set_configuration_set_name(self.configuration_set.clone());
            async move {
                match req.send().await {
                    Ok(out) => Ok(out.message_id.unwrap_or_default()),
                    Err(e) => Err(classify(&e)),
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(1),
        }
    }

    #[tokio::test]
    async fn throttling_is_retried_until_it_passes() {
        let calls = AtomicU32::new(0);
        let id = with_backoff(fast(), || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(Failure::Throttled("TooManyRequests".into()))
                } else {
                    Ok("m-1".to_owned())
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(id, "m-1");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn rejection_is_not_retried() {
        let calls = AtomicU32::new(0);
        let res = with_backoff(fast(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<String, _>(Failure::Permanent("MessageRejected".into())) }
        })
        .await;
        assert!(matches!(res, Err(MailError::Rejected(m)) if m == "MessageRejected"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn endless_throttling_gives_a_transient_error() {
        let calls = AtomicU32::new(0);
        let res = with_backoff(fast(), || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<String, _>(Failure::Throttled("LimitExceeded".into())) }
        })
        .await;
        assert!(matches!(res, Err(MailError::Transient(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn sdk_errors_are_classified() {
        use aws_sdk_sesv2::types::error::{
            LimitExceededException, MessageRejected, TooManyRequestsException,
        };
        let raw = aws_smithy_runtime_api_raw;
        let throttled = SdkError::service_error(
            SendEmailError::TooManyRequestsException(
                TooManyRequestsException::builder()
                    .message("slow down")
                    .build(),
            ),
            raw(),
        );
        assert!(matches!(classify(&throttled), Failure::Throttled(_)));
        let limit = SdkError::service_error(
            SendEmailError::LimitExceededException(LimitExceededException::builder().build()),
            raw(),
        );
        assert!(matches!(classify(&limit), Failure::Throttled(_)));
        let rejected = SdkError::service_error(
            SendEmailError::MessageRejected(MessageRejected::builder().build()),
            raw(),
        );
        assert!(matches!(classify(&rejected), Failure::Permanent(_)));
    }

    fn aws_smithy_runtime_api_raw() -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400u16).expect("valid status"),
            aws_smithy_types::body::SdkBody::empty(),
        )
    }

    #[test]
    fn invitations_carry_the_qr_image_and_the_one_click_headers() {
        let mail = OutgoingEmail {
            to: "a@b.vn".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "<img src=\"cid:qr\">".into(),
            inline_images: vec![csq_core::ports::InlineImage {
                content_id: "qr".into(),
                content_type: "image/png",
                file_name: "qr.png".into(),
                bytes: vec![1, 2, 3],
            }],
            unsubscribe: Some("https://csq.example.vn/u/k1.f.1.sig".into()),
            ..OutgoingEmail::default()
        };
        let m = ses_message(&mail).unwrap();
        let headers: Vec<(&str, &str)> =
            m.headers().iter().map(|h| (h.name(), h.value())).collect();
        assert_eq!(
            headers,
            [
                ("List-Unsubscribe", "<https://csq.example.vn/u/k1.f.1.sig>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
            ]
        );
        let a = &m.attachments()[0];
        assert_eq!(a.content_id(), Some("qr"));
        assert_eq!(
            a.content_disposition(),
            Some(&AttachmentContentDisposition::Inline)
        );
        assert_eq!(a.raw_content().as_ref(), &[1, 2, 3]);
        // A staff email has neither.
        let plain = ses_message(&OutgoingEmail {
            inline_images: vec![],
            unsubscribe: None,
            ..mail
        })
        .unwrap();
        assert!(plain.headers().is_empty() && plain.attachments().is_empty());
    }

    #[test]
    fn mailboxes_are_encoded() {
        let m = mailbox("Công ty\r\nBcc: x@y.z", "a@b.vn");
        assert!(m.ends_with(" <a@b.vn>"));
        assert!(m.starts_with("=?UTF-8?B?"));
        assert!(!m.contains('\n'));
        assert_eq!(mailbox("", "a@b.vn"), "a@b.vn");
    }
}
