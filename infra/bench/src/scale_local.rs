//! The embedded store at an office's volume: working days of declarations issued
//! and rated (back-dated with a manual clock), then the nightly job for the last
//! day, the staff routes and exports over HTTP, and `csq backup`, timed. Run at
//! two table sizes with the same day: what a day costs must not grow with the
//! table.
//!
//! Two ways to make the days. `Generation::Core` issues and rates each form
//! through the use cases, invitation email and all (about 300 forms a second).
//! `Generation::Bulk` writes the same records (the form as the use case makes it,
//! its invitation's outcome under the cap, its stage times, its submission)
//! through the store's own write paths, a day in one transaction, then relays
//! the day's events and complaints and runs every night's job through the core,
//! as the host would: a year of a province in minutes, not hours.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::domain::form::InvitationResult;
use csq_core::domain::submission::parse_submission;
use csq_core::domain::survey::InvitationCap;
use csq_core::domain::times::DeclarationTimes;
use csq_core::ports::{
    Clock, FormStore, InsertFormOutcome, InvitationLedger, MailError, Mailer, ManualClock,
    OutgoingEmail, QueueConsumer, SubmissionWrite, SubmitOutcome, TimesStore,
};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generation {
    /// Each form issued and rated through the use cases.
    Core,
    /// The same records through the store's write paths, a day per transaction.
    Bulk,
}

/// What `generate` wrote.
#[derive(Debug)]
pub struct Generated {
    pub last_day: NaiveDate,
    pub forms: usize,
    pub rated: usize,
    pub cases: usize,
    /// Generation with every night's job but the last day's.
    pub seconds: f64,
    pub peak_rss_mb: f64,
}

/// What `measure` found.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Measured {
    /// The data directory's SQLite files after a checkpoint (database and WAL).
    pub database_bytes: u64,
    pub nightly_seconds: f64,
    /// (route, p50 ms, p99 ms)
    pub routes: Vec<(String, f64, f64)>,
    /// (export, seconds, bytes)
    pub exports: Vec<(String, f64, u64)>,
    /// `csq backup`: seconds and the archive's bytes.
    pub backup: (f64, u64),
    /// The department's figures for the last day (`/v1/stats`, `/v1/report`):
    /// the same whichever way the days were made.
    pub last_day_figures: serde_json::Value,
    /// The process's peak RSS, and what it was after each step (started,
    /// nightly, routes, exports, backup).
    pub peak_rss_mb: f64,
    pub peak_rss_by_step: Vec<(String, f64)>,
}

fn declaration(
    number: &str,
    office: &str,
    at: chrono::DateTime<Utc>,
    n: usize,
    businesses: usize,
) -> serde_json::Value {
    let lane = ["green", "yellow", "red"][n % 3];
    // Registered four hours before the form is issued; the two stages and the
    // release fall between, with durations that vary (some over their limits)
    // and a request for more documents on one declaration in five.
    let registered = at - Duration::hours(4);
    let check_start = registered + Duration::minutes(5);
    let check_end = check_start + Duration::minutes(20 + (n * 7 % 100) as i64);
    let clearance_end = check_end + Duration::minutes(10 + (n * 13 % 60) as i64);
    let released = clearance_end + Duration::minutes(10);
    json!({
        "declaration": {"number": number, "type_code": "A11",
            "registered_at": registered.to_rfc3339(), "customs_office": office, "lane": lane,
            "released_at": released.to_rfc3339()},
        "business": {"tax_code": format!("02{:08}", n % businesses), "name": "Công ty Đo Tải",
            "email": format!("xnk{}@doanhnghiep-bench.example.vn", n % businesses)},
        "handling": [
            {"stage": "document_check", "team": format!("{office}01"), "officer": {"id": format!("HP{}", n % 40), "name": "Nguyễn Văn An"},
             "started_at": check_start.to_rfc3339(), "finished_at": check_end.to_rfc3339(),
             "document_requests": u32::from(n.is_multiple_of(5))},
            {"stage": "clearance", "team": format!("{office}02"), "officer": {"id": format!("HP{}", 40 + n % 40), "name": "Trần Thị Bình"},
             "started_at": check_end.to_rfc3339(), "finished_at": clearance_end.to_rfc3339()}
        ]
    })
}

/// How long after its issue a rated form is submitted.
const RATED_AFTER: Duration = Duration::minutes(20);

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

/// `days` working days (Monday to Friday) of `per_day` declarations ending on the
/// last working day before today, `rated_share` of them rated the same day (one
/// rated form in twenty with a complaint), written into `dir`; every night's job
/// runs after its day but the last day's (`measure` runs and times it).
pub async fn generate(
    dir: &std::path::Path,
    days: usize,
    per_day: usize,
    rated_share: f64,
    generation: Generation,
) -> anyhow::Result<Generated> {
    let working_days = working_days_before(
        Utc::now()
            .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
            .date_naive(),
        days,
    );
    let first = working_days[0];
    let last_day = *working_days.last().expect("at least one day");
    let clock = Arc::new(ManualClock::new(at_vn(first, 8)));
    let config = host_config(dir);
    let cap = InvitationCap::days(config.policy.invitation_cap_days);
    let running = csq_local_host::host::spawn(config, clock.clone() as Arc<dyn Clock>).await?;
    let host = running.host.clone();
    let org = csq_local_host::org_import::check(csq_local_host::demo::demo_org())?;
    host.services
        .directory
        .replace_org(org, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("org: {e:?}"))?;
    let core = host.services_with(clock.clone(), Arc::new(Discard));
    let current = core
        .directory
        .current_org()
        .await
        .map_err(|e| anyhow::anyhow!("org: {e:?}"))?;

    let offices = ["91AA", "91AB", "91AC", "91AE"];
    // 5,000 businesses at Hai Phong's 12,000 declarations a day: most file
    // more than one a week, so the invitation cap decides often.
    let businesses = (per_day * 5 / 12).max(1);
    let start = Instant::now();
    let (mut forms, mut rated, mut cases) = (0, 0, 0);
    let mut day = first;
    loop {
        if let Some(d) = working_days.iter().position(|w| *w == day) {
            let opening = at_vn(day, 8);
            if generation == Generation::Bulk {
                host.store.begin_bulk_load().await?;
            }
            for i in 0..per_day {
                // Spread over an eight-hour working day.
                let at =
                    opening + Duration::milliseconds((i as i64) * 8 * 3_600_000 / per_day as i64);
                clock.set(at);
                let n = d * per_day + i;
                let number = format!("10{n:010}");
                let request = crate::scale::request(&declaration(
                    &number,
                    offices[n % offices.len()],
                    at,
                    n,
                    businesses,
                ))?;
                let rate = (i as f64 + 0.5) / per_day as f64 <= rated_share;
                let fields = crate::answers(n % 20 == 7);
                match generation {
                    Generation::Core => {
                        let issued = core
                            .issuance
                            .issue_form(request)
                            .await
                            .map_err(|e| anyhow::anyhow!("issuing: {e:?}"))?;
                        if rate {
                            clock.set(at + RATED_AFTER);
                            let token = core.rating.rating_token(&issued.form);
                            core.rating
                                .submit_form(&token, &fields, None)
                                .await
                                .map_err(|e| anyhow::anyhow!("submitting: {e:?}"))?;
                        }
                    }
                    Generation::Bulk => {
                        write_bulk(
                            &core,
                            &host.store,
                            request,
                            at,
                            &cap,
                            current.as_ref(),
                            rate.then_some(&fields),
                        )
                        .await?;
                    }
                }
                forms += 1;
                rated += usize::from(rate);
            }
            if generation == Generation::Bulk {
                host.store.commit_bulk_load().await?;
                // What the host's workers do through the day: events to the
                // webhooks, complaints to the queue, the router opening cases.
                loop {
                    let swept = core.housekeeping.sweep().await?;
                    if swept.events_relayed + swept.complaints_relayed == 0 {
                        break;
                    }
                }
            }
            cases += route_queue(&host, &core).await?;
        }
        if day == last_day {
            break;
        }
        // The night after the day, as the host runs it (the last day's is measured).
        clock.set(at_vn(day + Duration::days(1), 1));
        core.housekeeping.run_nightly(day).await?;
        day += Duration::days(1);
    }
    let _ = running.stop.send(true);
    running.stopped.await?;
    Ok(Generated {
        last_day,
        forms,
        rated,
        cases,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The last day's nightly job, the staff routes (`samples` requests each, p50 and
/// p99), the exports of a year and `csq backup`, on the data directory `generate`
/// wrote. `csq-bench` runs it in a process of its own, so its peak memory is the
/// host's at work on that much data, not the generator's.
pub async fn measure(
    dir: &std::path::Path,
    last_day: NaiveDate,
    samples: usize,
) -> anyhow::Result<Measured> {
    let clock = Arc::new(ManualClock::new(at_vn(last_day + Duration::days(1), 1)));
    let running =
        csq_local_host::host::spawn(host_config(dir), clock.clone() as Arc<dyn Clock>).await?;
    let host = running.host.clone();
    let core = host.services_with(clock.clone(), Arc::new(Discard));
    let mut peaks = vec![("started".to_owned(), peak_rss_mb())];
    let started = Instant::now();
    core.housekeeping.run_nightly(last_day).await?;
    let nightly_seconds = started.elapsed().as_secs_f64();
    peaks.push(("nightly".to_owned(), peak_rss_mb()));

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
    // A staff GET whose answer was a success, its body not read yet.
    let send = |path: String| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let res = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await?;
            anyhow::ensure!(res.status().is_success(), "GET {path}: {}", res.status());
            Ok::<_, anyhow::Error>(res)
        }
    };
    let get = |path: String| {
        let sent = send(path);
        async move { Ok::<_, anyhow::Error>(sent.await?.bytes().await?) }
    };
    let month_ago = last_day - Duration::days(29);
    let year_ago = last_day - Duration::days(364);
    let a_case = {
        let body = get("/v1/cases".into()).await?;
        let list: serde_json::Value = serde_json::from_slice(&body)?;
        let id = list["items"][0]["id"].as_str().map(str::to_owned);
        if id.is_none() {
            // stderr: `csq-bench embedded-measure` answers with JSON on stdout.
            eprintln!(
                "  (no case to read: {})",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        id
    };
    let mut paths = vec![
        format!("/v1/forms?from={last_day}&to={last_day}"),
        format!("/v1/ratings?from={last_day}&to={last_day}"),
        format!("/v1/ratings?from={month_ago}&to={last_day}&unit=91AA&level=2"),
        "/v1/cases".into(),
        "/v1/cases?unit=91AA".into(),
        "/v1/cases?overdue=true".into(),
        format!("/v1/stats?unit=91AA&from={month_ago}&to={last_day}"),
        format!("/v1/stats?unit=department&from={month_ago}&to={last_day}&children=true"),
        format!("/v1/report?unit=91AA&period=month&at={last_day}"),
        format!("/v1/report?unit=department&period=year&at={last_day}"),
        format!("/v1/rankings?level=office&period=month&at={last_day}"),
        format!("/v1/rankings?officers_of=91AA&period=month&at={last_day}"),
        "/v1/warnings".into(),
        "/v1/watch".into(),
        format!("/v1/audit?from={last_day}&to={last_day}"),
    ];
    if let Some(id) = a_case {
        paths.push(format!("/v1/cases/{id}"));
    }
    let mut last_day_figures = Vec::new();
    for path in [
        format!("/v1/stats?unit=department&from={last_day}&to={last_day}&children=true"),
        format!("/v1/report?unit=department&period=week&at={last_day}"),
    ] {
        last_day_figures.push(serde_json::from_slice::<serde_json::Value>(
            &get(path).await?,
        )?);
    }
    let last_day_figures = serde_json::Value::Array(last_day_figures);
    let mut routes = Vec::new();
    for path in paths {
        let mut times = Vec::new();
        for _ in 0..samples.max(1) {
            let t = Instant::now();
            get(path.clone()).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        let p99 = times[times.len() * 99 / 100];
        routes.push((path, median(times), p99));
    }
    peaks.push(("routes".to_owned(), peak_rss_mb()));
    let mut exports = Vec::new();
    for path in [
        format!("/v1/ratings.csv?from={year_ago}&to={last_day}"),
        format!("/v1/cases.csv?from={year_ago}&to={last_day}"),
        format!("/v1/stats.csv?unit=department&from={year_ago}&to={last_day}&children=true"),
    ] {
        let t = Instant::now();
        // Counted as it streams: the client holding a year's CSV would count
        // its buffer as the host's memory (one process).
        let mut res = send(path.clone()).await?;
        let mut bytes = 0;
        while let Some(chunk) = res.chunk().await? {
            bytes += chunk.len() as u64;
        }
        exports.push((path, t.elapsed().as_secs_f64(), bytes));
    }
    let _ = running.stop.send(true);
    running.stopped.await?;
    peaks.push(("exports".to_owned(), peak_rss_mb()));
    let database_bytes = checkpointed_size(dir)?;
    let archive = dir.join("bench.csqbackup");
    let t = Instant::now();
    csq_local_host::backup::backup(dir, &archive)?;
    let backup = (
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&archive)?.len(),
    );
    peaks.push(("backup".to_owned(), peak_rss_mb()));
    std::fs::remove_file(&archive)?;
    Ok(Measured {
        database_bytes,
        nightly_seconds,
        routes,
        exports,
        backup,
        last_day_figures,
        peak_rss_mb: peak_rss_mb(),
        peak_rss_by_step: peaks,
    })
}

/// `generate` then `measure` in this process (the test's way; `csq-bench` measures
/// in a process of its own).
pub async fn run(
    days: usize,
    per_day: usize,
    rated_share: f64,
    generation: Generation,
    samples: usize,
) -> anyhow::Result<(Generated, Measured)> {
    let dir = tempfile::tempdir()?;
    let generated = generate(dir.path(), days, per_day, rated_share, generation).await?;
    let measured = measure(dir.path(), generated.last_day, samples).await?;
    Ok((generated, measured))
}

/// The host as the bench runs it: the product's policy as deployed (the tests'
/// configuration turns the invitation cap off), no router polling (the bench
/// routes the queue itself).
fn host_config(dir: &std::path::Path) -> csq_local_host::config::HostConfig {
    let mut config = csq_local_host::config::HostConfig::for_tests(dir);
    config.router_poll_ms = 60_000;
    config.policy = csq_core::app::policy_settings::PolicySettings::default();
    config
}

/// `h` o'clock of `day` in Vietnam.
fn at_vn(day: NaiveDate, h: u32) -> chrono::DateTime<Utc> {
    let vn = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7");
    vn.from_local_datetime(&day.and_hms_opt(h, 0, 0).expect("time"))
        .single()
        .expect("time")
        .with_timezone(&Utc)
}

/// The `count` working days (Monday to Friday) before `today`, oldest first.
fn working_days_before(today: NaiveDate, count: usize) -> Vec<NaiveDate> {
    use chrono::Datelike;
    let mut days: Vec<NaiveDate> = (1..)
        .map(|k| today - Duration::days(k))
        .filter(|d| d.weekday().num_days_from_monday() < 5)
        .take(count.max(1))
        .collect();
    days.reverse();
    days
}

/// One declaration's records as issuing and rating it writes them, through the
/// store's write paths: the form the use case makes, leased and stored; its
/// invitation's outcome under the cap (the email itself is not rendered); its
/// stage times; its submission with ratings, complaint and events.
async fn write_bulk(
    core: &csq_core::app::Services,
    store: &csq_local::SqliteStore,
    request: csq_core::domain::declaration::FormRequest,
    at: chrono::DateTime<Utc>,
    cap: &InvitationCap,
    current: Option<&(u32, csq_core::domain::org::OrgDirectory)>,
    answers: Option<&Vec<(String, String)>>,
) -> anyhow::Result<()> {
    let times = request.times.clone();
    let mut form = core
        .issuance
        .new_form(request, at, current)
        .map_err(|e| anyhow::anyhow!("form: {e:?}"))?;
    form.claim_invitation(at, at + Duration::seconds(60));
    anyhow::ensure!(
        matches!(store.insert_form(&form).await?, InsertFormOutcome::Created),
        "declaration {} issued twice",
        form.declaration.number.as_str()
    );
    let slot = cap.is_off()
        || store
            .take_invitation_slot(form.business.tax_code.as_str(), at, cap)
            .await?;
    let result = if slot {
        InvitationResult::Sent(at)
    } else {
        InvitationResult::Capped
    };
    let _ = form.finish_invitation(&result);
    store.finish_invitation(&form.id, result).await?;
    let mut declaration_times = DeclarationTimes::of(&form, at);
    if declaration_times.merge(&times, at) {
        anyhow::ensure!(
            store.save_times(&declaration_times).await?,
            "times not saved"
        );
    }
    if let Some(fields) = answers {
        let submitted_at = at + RATED_AFTER;
        let submission =
            parse_submission(&form, fields).map_err(|e| anyhow::anyhow!("submission: {e:?}"))?;
        let outcome = store
            .submit(&SubmissionWrite::new(&form, submission, submitted_at))
            .await?;
        anyhow::ensure!(outcome == SubmitOutcome::Stored, "submission: {outcome:?}");
    }
    Ok(())
}

/// Opens the cases of the complaints on the queue, through the core's router
/// (its assignee emails discarded). Returns how many were routed.
async fn route_queue(
    host: &csq_local_host::host::LocalHost,
    core: &csq_core::app::Services,
) -> anyhow::Result<usize> {
    let mut routed = 0;
    loop {
        let messages = host.queue.receive(10).await?;
        if messages.is_empty() {
            return Ok(routed);
        }
        for m in messages {
            core.case_handling
                .route_complaint(&m.body)
                .await
                .map_err(|e| anyhow::anyhow!("routing: {e:?}"))?;
            host.queue.delete(&m.receipt).await?;
            routed += 1;
        }
    }
}

/// The SQLite files of a stopped host's data directory after a checkpoint: what
/// an operator plans the disk for.
fn checkpointed_size(dir: &std::path::Path) -> anyhow::Result<u64> {
    let db = dir.join("csq.sqlite");
    let conn = rusqlite::Connection::open(&db)?;
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
    drop(conn);
    Ok(std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name().to_string_lossy().ends_with(".sqlite")
                || e.file_name().to_string_lossy().ends_with(".sqlite-wal")
        })
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bulk generator writes what the use cases write: two days made each
    /// way give the department the same figures for the last day (ratings,
    /// levels, complaints, invitations, stage times, cohorts).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bulk_days_give_the_figures_the_use_cases_give() {
        let (core, core_measured) = run(2, 120, 0.3, Generation::Core, 1).await.unwrap();
        let (bulk, bulk_measured) = run(2, 120, 0.3, Generation::Bulk, 1).await.unwrap();
        assert_eq!(
            (bulk.forms, bulk.rated, bulk.cases),
            (core.forms, core.rated, core.cases)
        );
        assert!(core.rated > 0 && core.cases > 0);
        let (core, bulk) = (core_measured, bulk_measured);
        let figures = core.last_day_figures.to_string();
        for seen in [
            "\"ratings\":36",
            "\"capped\":",
            "\"stages_timed\":",
            "\"complaints_opened\":2",
        ] {
            assert!(figures.contains(seen), "{seen} in {figures}");
        }
        assert_eq!(bulk.last_day_figures, core.last_day_figures);
    }
}
