//! The rating form's post: any fields and values, against a real form.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // `key=value` pairs, one per line, as a form decoder would hand them over.
    let fields: Vec<(String, String)> = text
        .lines()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l.to_owned(), String::new()),
        })
        .collect();
    let request = serde_json::json!({
        "declaration": {"number": "105234567890", "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00", "customs_office": "03CC", "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "ABC", "email": "xnk@abc.com.vn"},
        "handling": [{"stage": "clearance", "team": "03CC01", "officer": {"id": "HP1", "name": "An"}}]
    });
    let now = chrono::Utc::now();
    let form = csq_core::domain::form::Form::new(
        "f".into(),
        csq_core::domain::declaration::FormRequest::parse(&request).unwrap(),
        now,
        now + chrono::Duration::days(7),
        now + chrono::Duration::days(365),
        vec![],
    );
    let _ = csq_core::domain::submission::parse_submission(&form, &fields);
});
