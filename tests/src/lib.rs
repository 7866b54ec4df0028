//! Helpers live in the e2e test binary; this crate only exists to host it.
