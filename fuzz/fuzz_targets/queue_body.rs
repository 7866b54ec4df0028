//! A complaint queue message body (SQS or the local queue): any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<csq_core::domain::complaint::Complaint>(data);
});
