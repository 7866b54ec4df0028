//! End-to-end tests that act as CSQ's users against the local host: the
//! declaration system issuing forms, businesses rating them from their email,
//! and staff handling cases and reading statistics.

mod helpers;

mod case_handling;
mod channels;
mod complaints;
mod defects;
mod integration_api;
mod kiosk;
mod leadership;
mod mail_relay;
mod nightly;
mod operations;
mod org_tree;
mod privacy;
mod rating_loop;
mod rating_page;
mod service_times;
mod sign_in;
mod staff_api;
mod survey;
mod visibility;
mod watch;
mod webhooks;
