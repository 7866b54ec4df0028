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
