//! The integration contract's body (`POST /v1/forms`): any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = csq_core::domain::declaration::FormRequest::parse(&body);
    }
});
