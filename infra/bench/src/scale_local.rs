//! The embedded store at an office's volume: working days of declarations issued
//! and rated through the core (back-dated with a manual clock), then the nightly
//! job for the last day and the staff listing and statistics routes over HTTP,
//! timed. Run at two table sizes with the same day: what a day costs must not
//! grow with the table.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::ports::{Clock, MailError, Mailer, ManualClock, OutgoingEmail};
use serde_json::json;

use crate::median;

/// Discards invitations: generating a year writes no million .eml files (the
/// outbox's cost is the issuing rate of `cargo bench -p csq-tests`).
struct Discard;

#[async_trait]
impl Mailer for Discard {
    async fn send(&self, _: &OutgoingEmail) -> Result<String, MailError> {
        Ok("discarded".into())
    }
}

pub struct LocalScale {
    pub days: usize,
    pub forms: usize,
    pub rated: usize,
    pub generate_seconds: f64,
    pub database_bytes: u64,
    pub nightly_seconds: f64,
    /// (route, p50 ms, p99 ms)
    pub routes: Vec<(String, f64, f64)>,
    pub peak_rss_mb: f64,
}

fn declaration(
    number: &str,
    office: &str,
    at: chrono::DateTime<Utc>,
    n: usize,
) -> serde_json::Value {
    let lane = ["green", "yellow", "red"][n % 3];
    json!({
        "declaration": {"number": number, "type_code": "A11",
            "registered_at": at.to_rfc3339(), "customs_office": office, "lane": lane},
        "business": {"tax_code": format!("02{:08}", n % 5000), "name": "Công ty Đo Tải",
            "email": format!("xnk{}@doanhnghiep-bench.example.vn", n % 5000)},
        "handling": [
            {"stage": "document_check", "team": format!("{office}01"), "officer": {"id": format!("HP{}", n % 40), "name": "Nguyễn Văn An"}},
            {"stage": "clearance", "team": format!("{office}02"), "officer": {"id": format!("HP{}", 40 + n % 40), "name": "Trần Thị Bình"}}
        ]
    })
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// `days` working days of `per_day` declarations ending yesterday, `rated_share`
/// of them rated the same day (one rated form in twenty with a complaint).
pub async fn run(days: usize, per_day: usize, rated_share: f64) -> anyhow::Result<LocalScale> {
    let dir = tempfile::tempdir()?;
    let vn = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7");
    let today = Utc::now().with_timezone(&vn).date_naive();
    let first = today - Duration::days(days as i64);
    let clock = Arc::new(ManualClock::new(
        vn.from_local_datetime(&first.and_hms_opt(8, 0, 0).expect("time"))
            .single()
            .expect("time")
            .with_timezone(&Utc),
    ));
    let mut config = csq_local_host::config::HostConfig::for_tests(dir.path());
    config.router_poll_ms = 60_000;
    let running = csq_local_host::host::spawn(config, clock.clone() as Arc<dyn Clock>).await?;
    let host = running.host.clone();
    let org = csq_local_host::org_import::check(csq_local_host::demo::demo_org())?;
    host.services
        .directory
        .replace_org(org, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("org: {e:?}"))?;
    let core = host.services_with(clock.clone(), Arc::new(Discard));

    let offices = ["91AA", "91AB", "91AC", "91AE"];
    let start = Instant::now();
    let (mut forms, mut rated) = (0, 0);
    let mut last_day = first;
    for d in 0..days {
        let day: NaiveDate = first + Duration::days(d as i64);
        last_day = day;
        let opening = vn
            .from_local_datetime(&day.and_hms_opt(8, 0, 0).expect("time"))
            .single()
            .expect("time")
            .with_timezone(&Utc);
        for i in 0..per_day {
            // Spread over an eight-hour working day.
            let at = opening + Duration::milliseconds((i as i64) * 8 * 3_600_000 / per_day as i64);
            clock.set(at);
            let n = d * per_day + i;
            let number = format!("10{n:010}");
            let issued = core
                .issuance
                .issue_form(crate::scale::request(&declaration(
                    &number,
                    offices[n % offices.len()],
                    at,
                    n,
                ))?)
                .await
                .map_err(|e| anyhow::anyhow!("issuing: {e:?}"))?;
            forms += 1;
            if (i as f64 + 0.5) / per_day as f64 > rated_share {
                continue;
            }
            let link = core.rating.rating_link(&issued.form);
            let token = link.rsplit('/').next().unwrap_or_default().to_owned();
            let fields = crate::answers(n % 20 == 7);
            core.rating
                .submit_form(&token, &fields, None)
                .await
                .map_err(|e| anyhow::anyhow!("submitting: {e:?}"))?;
            rated += 1;
        }
    }
    let generate_seconds = start.elapsed().as_secs_f64();

    // The nightly for the last day, run the next night.
    clock.set(
        vn.from_local_datetime(
            &(last_day + Duration::days(1))
                .and_hms_opt(1, 0, 0)
                .expect("time"),
        )
        .single()
        .expect("time")
        .with_timezone(&Utc),
    );
    let start = Instant::now();
    core.housekeeping.run_nightly(last_day).await?;
    let nightly_seconds = start.elapsed().as_secs_f64();

    let database_bytes = std::fs::read_dir(dir.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("csq.sqlite"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();

    let token = host.mint_staff_token(
        &StaffClaims {
            sub: "bench".into(),
            role: StaffRole::Department,
            unit: None,
            officer: None,
        },
        Duration::hours(1),
    );
    let http = reqwest::Client::new();
    let base = format!("http://{}", running.addr);
    let month_ago = last_day - Duration::days(29);
    let mut routes = Vec::new();
    for path in [
        format!("/v1/forms?from={last_day}&to={last_day}"),
        format!("/v1/ratings?from={last_day}&to={last_day}"),
        format!("/v1/stats?unit=91AA&from={month_ago}&to={last_day}"),
        format!("/v1/report?unit=91AA&period=month&at={last_day}"),
    ] {
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let res = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "GET {path}: {}", res.status());
            res.bytes().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let p99 = times[times.len() * 99 / 100];
        routes.push((
            path.split('?').next().unwrap_or_default().to_owned(),
            median(times),
            p99,
        ));
    }
    let _ = running.stop.send(true);
    // `CSQ_BENCH_KEEP=1` keeps the database for a look inside (sqlite3's dbstat).
    if std::env::var_os("CSQ_BENCH_KEEP").is_some() {
        println!("  database kept in {}", dir.keep().display());
    }
    Ok(LocalScale {
        days,
        forms,
        rated,
        generate_seconds,
        database_bytes,
        nightly_seconds,
        routes,
        peak_rss_mb: peak_rss_mb(),
    })
}
