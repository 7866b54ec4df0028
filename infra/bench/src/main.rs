//! `csq-bench artifacts|cold-start|nightly-requests --bin-dir DIR [--endpoint URL]` and
//! `csq-bench embedded-scale --days N --per-day N --rated SHARE [--bulk]`: see `scripts/bench.sh`
//! (it runs `csq-bench embedded-measure --dir DIR --last-day DAY` for its second half).

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
    if command == "embedded-measure" {
        // The measuring half of `embedded-scale`, in a process of its own.
        let dir = PathBuf::from(arg(&args, "--dir").context("--dir DIR")?);
        let last_day = arg(&args, "--last-day")
            .context("--last-day DAY")?
            .parse()?;
        let samples: usize = arg(&args, "--samples").map_or(Ok(50), |v| v.parse())?;
        let m = csq_bench::scale_local::measure(&dir, last_day, samples).await?;
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    if command == "embedded-scale" {
        let days: usize = arg(&args, "--days").map_or(Ok(22), |v| v.parse())?;
        let per_day: usize = arg(&args, "--per-day").map_or(Ok(12_000), |v| v.parse())?;
        let share: f64 = arg(&args, "--rated").map_or(Ok(0.3), |v| v.parse())?;
        let generation = if args.iter().any(|a| a == "--bulk") {
            csq_bench::scale_local::Generation::Bulk
        } else {
            csq_bench::scale_local::Generation::Core
        };
        let dir = tempfile::tempdir()?;
        let g =
            csq_bench::scale_local::generate(dir.path(), days, per_day, share, generation).await?;
        println!(
            "  {days} working days ({generation:?}): {} forms, {} rated, {} cases; generated in {:.0} s ({:.0} forms/s, every night's job included); peak RSS {:.0} MB",
            g.forms,
            g.rated,
            g.cases,
            g.seconds,
            g.forms as f64 / g.seconds,
            g.peak_rss_mb
        );
        // Measured by a fresh process: its peak memory is the host's at work.
        let out = std::process::Command::new(std::env::current_exe()?)
            .arg("embedded-measure")
            .arg("--dir")
            .arg(dir.path())
            .args(["--last-day", &g.last_day.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        anyhow::ensure!(out.status.success(), "embedded-measure failed");
        let m: csq_bench::scale_local::Measured = serde_json::from_slice(&out.stdout)?;
        println!(
            "    database after a checkpoint {:.1} MB ({:.2} KB a form); nightly for the last day {:.2} s; `csq backup` {:.1} s, {:.1} MB; the host's peak RSS {:.0} MB",
            m.database_bytes as f64 / 1_048_576.0,
            m.database_bytes as f64 / 1024.0 / g.forms as f64,
            m.nightly_seconds,
            m.backup.0,
            m.backup.1 as f64 / 1_048_576.0,
            m.peak_rss_mb
        );
        let steps: Vec<String> = m
            .peak_rss_by_step
            .iter()
            .map(|(step, mb)| format!("{step} {mb:.0}"))
            .collect();
        println!(
            "    the host's peak RSS after each step (MB): {}",
            steps.join(", ")
        );
        for (route, p50, p99) in &m.routes {
            println!("    GET {route:<76} p50 {p50:7.1} ms  p99 {p99:7.1} ms");
        }
        for (export, seconds, bytes) in &m.exports {
            println!(
                "    GET {export:<76} {seconds:6.1} s  {:8.1} MB",
                *bytes as f64 / 1_048_576.0
            );
        }
        // `CSQ_BENCH_KEEP=1` keeps the data directory for a look inside (sqlite3's dbstat).
        if std::env::var_os("CSQ_BENCH_KEEP").is_some() {
            println!("  data directory kept in {}", dir.keep().display());
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
