//! The local host: every CSQ function in one process with embedded adapters
//! (SQLite database, SQLite queue, `.eml` outbox). `main.rs` is its command line.

pub mod backup;
pub mod case_rules_file;
pub mod config;
pub mod demo;
pub mod health;
pub mod host;
pub mod limits;
pub mod metrics;
pub mod oidc;
pub mod org_import;
pub mod outbox_page;

pub use config::HostConfig;
pub use host::LocalHost;
