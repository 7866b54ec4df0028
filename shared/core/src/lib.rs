//! CSQ core: the customs service-quality domain, its use cases, the ports they
//! need, and the HTTP routers both hosts serve. No AWS SDK and no SQL here: the
//! adapters live beside this crate (`shared/local`, `shared/aws`).

pub mod app;
pub mod auth;
pub mod domain;
pub mod http;
pub mod policy;
pub mod ports;
