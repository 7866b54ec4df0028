//! The benchmark and artifact harness behind `scripts/bench.sh`: runs the Lambda
//! binaries SAM deploys through a fake Runtime API against the AWS emulator.

pub mod artifacts;
pub mod cold_start;
pub mod events;
pub mod proxy;
pub mod runtime_api;
pub mod scale;
pub mod scale_local;
pub mod stack;

/// Median of a sample (the upper one of an even count).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What a business posts for a six-subject form: content, or with `low` a level 2
/// on the office and a contact (which makes a complaint).
pub fn answers(low: bool) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = (0..6)
        .map(|i| {
            let level = match (i, low) {
                (0, true) => "2",
                (0, false) => "4",
                _ => "5",
            };
            (format!("level.{i}"), level.to_owned())
        })
        .collect();
    if low {
        fields.push(("contact_name".into(), "Phạm Thị Dung".into()));
        fields.push(("contact_phone".into(), "0900000001".into()));
    }
    fields
}
