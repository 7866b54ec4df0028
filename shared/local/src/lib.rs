//! Embedded adapters for the local host: a SQLite database file for every store,
//! a durable SQLite-backed queue with SQS semantics, and an outbox folder of
//! `.eml` files as the mailer, and a webhook outbox for events. They keep the same port contracts as the AWS
//! adapters (checked by the `csq-contract` suites).

mod db;
pub use db::schema_of;
pub mod https;
pub mod outbox;
pub mod queue;
pub mod relay;
pub mod store;
pub mod webhooks;

pub use outbox::OutboxMailer;
pub use queue::SqliteQueue;
pub use relay::{MailRelay, SmtpRelayConfig};
pub use store::SqliteStore;
pub use webhooks::Webhooks;
