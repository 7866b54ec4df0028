//! Domain types and rules: pure, no I/O.

pub mod audit;
pub mod case;
pub mod complaint;
pub mod declaration;
pub mod event;
pub mod fields;
pub mod form;
pub mod kiosk;
pub mod org;
pub mod privacy;
pub mod rating_scale;
pub mod report;
pub mod sign_in;
pub mod stats;
pub mod submission;
pub mod suppression;
pub mod survey;
pub mod time;
pub mod times;
pub mod versions;
pub mod watch;
pub mod webhook;
