//! Link tokens, staff tokens and listing cursors: any string is refused or read,
//! and no forgery is ever accepted.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let keys = csq_core::auth::link::LinkKeys::parse("k1:0123456789abcdefghijklmnopqrstuvwxyzABCD")
        .unwrap();
    assert!(keys.verify(&s).is_err());
    let jwt = csq_core::auth::staff::Hs256::new(b"0123456789abcdefghijklmnopqrstuvwxyzABCD");
    assert!(jwt.verify(&s, chrono::Utc::now()).is_err());
    let _ = csq_core::app::staff::decode_cursor(&s);
});
