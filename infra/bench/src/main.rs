//! `csq-bench artifacts|cold-start|nightly-requests --bin-dir DIR [--endpoint URL]` and
//! `csq-bench embedded-scale --days N --per-day N --rated SHARE`: see `scripts/bench.sh`.

use std::path::PathBuf;

use anyhow::Context;
use csq_bench::{artifacts, cold_start, median, proxy::Proxy, stack::Stack};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().cloned().unwrap_or_default();
    if command == "embedded-scale" {
        // One size per process: the peak memory is the process's.
        let days: usize = arg(&args, "--days").map_or(Ok(22), |v| v.parse())?;
        let per_day: usize = arg(&args, "--per-day").map_or(Ok(12_000), |v| v.parse())?;
        let share: f64 = arg(&args, "--rated").map_or(Ok(0.3), |v| v.parse())?;
        let r = csq_bench::scale_local::run(days, per_day, share).await?;
        println!(
            "  {} working days: {} forms, {} rated; generated in {:.0} s ({:.0} forms/s); database {:.0} MB; nightly for the last day {:.2} s; peak RSS {:.0} MB",
            r.days,
            r.forms,
            r.rated,
            r.generate_seconds,
            r.forms as f64 / r.generate_seconds,
            r.database_bytes as f64 / 1_048_576.0,
            r.nightly_seconds,
            r.peak_rss_mb
        );
        for (route, p50, p99) in &r.routes {
            println!("    GET {route:<14} p50 {p50:6.1} ms  p99 {p99:6.1} ms");
        }
        return Ok(());
    }
    let bin_dir = PathBuf::from(arg(&args, "--bin-dir").context("--bin-dir DIR")?);
    let endpoint = arg(&args, "--endpoint")
        .or_else(|| std::env::var("CSQ_MOTO_ENDPOINT").ok())
        .context("--endpoint URL of the AWS emulator (or CSQ_MOTO_ENDPOINT)")?;
    let runs: usize = arg(&args, "--runs").map_or(Ok(15), |r| r.parse())?;

    if command == "nightly-requests" {
        // DAY:OLD pairs: forms rated on the day, and on the 300 days before.
        let cases = arg(&args, "--cases").unwrap_or_else(|| "1000:0,1000:10000,10000:10000".into());
        println!(
            "  {:>7} {:>9} {:>10} {:>11}  {:>8} {:>9} {:>7}  requests",
            "day", "older", "in window", "table items", "requests", "capacity", "seconds"
        );
        for case in cases.split(',') {
            let (day, old) = case.split_once(':').context("--cases DAY:OLD,...")?;
            let c = csq_bench::scale::nightly_cost(&endpoint, &bin_dir, day.parse()?, old.parse()?)
                .await?;
            let total: u64 = c.requests.values().sum();
            let list: Vec<String> = c
                .requests
                .iter()
                .map(|(op, n)| format!("{}×{n}", op.trim_start_matches("DynamoDB.")))
                .collect();
            println!(
                "  {:>7} {:>9} {:>10} {:>11}  {:>8} {:>9.1} {:>7.1}  {}",
                c.day_ratings,
                c.old_ratings,
                c.window_forms,
                c.table_items,
                total,
                c.capacity,
                c.seconds,
                list.join(" ")
            );
        }
        return Ok(());
    }
    let stack = Stack::create(&endpoint).await?;
    let proxy = Proxy::start(&endpoint).await?;
    println!(
        "== the deployable binaries in {}, through a fake Lambda Runtime API",
        bin_dir.display()
    );
    let mut run = artifacts::Run {
        stack: &stack,
        proxy: &proxy,
        bin_dir: &bin_dir,
        steps: Vec::new(),
        rating_path: None,
    };
    run.all().await?;
    println!("  AWS requests and duration per step (warm function, emulator on loopback):");
    for s in &run.steps {
        let list: Vec<String> = s
            .requests
            .iter()
            .map(|(op, n)| format!("{op}×{n}"))
            .collect();
        println!(
            "    {:<17} {:<56} {:>6.1} ms  {}",
            s.function,
            s.what.chars().take(56).collect::<String>(),
            s.millis,
            list.join(" ")
        );
    }
    // The measured steps, for scripts/cost_model.py.
    if let Some(path) = arg(&args, "--steps-json") {
        let steps: Vec<serde_json::Value> = run
            .steps
            .iter()
            .map(|s| serde_json::json!({"function": s.function, "what": s.what, "millis": s.millis, "requests": s.requests}))
            .collect();
        std::fs::write(&path, serde_json::to_string_pretty(&steps)?)?;
    }
    if command == "artifacts" {
        return Ok(());
    }
    anyhow::ensure!(
        command == "cold-start",
        "unknown command {command:?}: artifacts | cold-start"
    );

    println!();
    println!(
        "== cold start: exec → first poll of the Runtime API (init), median of {runs}, interleaved"
    );
    let results = cold_start::measure(&stack, &proxy, &bin_dir, runs).await?;
    let base = median(results[0].init_ms.clone());
    println!(
        "  {:<20} {:>9} {:>8} {:>11}  AWS requests during init",
        "binary", "median ms", "min ms", "× baseline"
    );
    let mut worst: f64 = 0.0;
    for r in &results {
        let m = median(r.init_ms.clone());
        let min = r.init_ms.iter().copied().fold(f64::INFINITY, f64::min);
        let ratio = m / base;
        if r.name != artifacts::BASELINE {
            worst = worst.max(ratio);
        }
        let list: Vec<String> = r
            .init_requests
            .iter()
            .map(|(op, n)| format!("{op}×{n}"))
            .collect();
        println!(
            "  {:<20} {:>9.1} {:>8.1} {:>10.2}×  {}",
            r.name,
            m,
            min,
            ratio,
            list.join(" ")
        );
    }
    println!("  worst function / baseline: {worst:.2}× (goal ≤ 1.5×)");
    let path = run.rating_path.clone().context("no form was issued")?;
    let first = cold_start::first_page(&stack, &proxy, &bin_dir, &path, runs).await?;
    println!(
        "  cold rating-form, exec → first page served: median {:.1} ms (init {:.1} ms + GET)",
        median(first),
        median(
            results
                .iter()
                .find(|r| r.name == "rating-form")
                .map(|r| r.init_ms.clone())
                .unwrap_or_default()
        )
    );
    Ok(())
}
