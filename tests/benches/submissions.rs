//! Throughput of the local host, end to end over loopback HTTP: issuing forms
//! (`POST /v1/forms`, with the .eml written) and rating them (GET the page for
//! its CSRF pair, then POST the submission, stored durably in SQLite with
//! `synchronous=FULL`). Prints medians of several rounds; run with
//! `cargo bench -p csq-tests` (set CSQ_BENCH_FORMS, CSQ_BENCH_CONCURRENCY).

use std::sync::Arc;
use std::time::{Duration, Instant};

use csq_core::ports::SystemClock;
use csq_local_host::HostConfig;
use serde_json::json;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn declaration(n: usize, round: usize) -> serde_json::Value {
    json!({
        "declaration": {"number": format!("77{round:02}{n:08}"), "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00", "customs_office": "03CC", "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "Công ty Đo tải", "email": "bench@example.vn"},
        "handling": [
            {"stage": "document_check", "team": "03CC01", "officer": {"id": "HP1234", "name": "Nguyễn Văn An"}},
            {"stage": "clearance", "team": "03CC02", "officer": {"id": "HP5678", "name": "Trần Thị Bình"}}
        ]
    })
}

/// Runs `jobs` with at most `concurrency` in flight; returns (wall time, per-job latencies).
async fn run<F, Fut>(jobs: usize, concurrency: usize, job: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (job, next) = (job.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= jobs {
                    return lat;
                }
                let t = Instant::now();
                job(i).await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (start.elapsed(), all)
}

#[tokio::main]
async fn main() {
    let forms = env_num("CSQ_BENCH_FORMS", 300);
    let concurrency = env_num("CSQ_BENCH_CONCURRENCY", 16);
    let rounds = env_num("CSQ_BENCH_ROUNDS", 3);
    let dir = tempfile::tempdir().unwrap();
    let mut config = HostConfig::for_tests(dir.path());
    config.router_poll_ms = 200;
    let running = csq_local_host::host::spawn(config, Arc::new(SystemClock))
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    let key = running.host.secrets.integration_key.clone();
    let http = reqwest::Client::new();

    let (mut issue_rates, mut submit_rates, mut submit_p50) = (Vec::new(), Vec::new(), Vec::new());
    let mut submit_p99 = Vec::new();
    for round in 0..rounds {
        let (h, b, k) = (http.clone(), base.clone(), key.clone());
        let ids = Arc::new(std::sync::Mutex::new(vec![String::new(); forms]));
        let ids_w = ids.clone();
        let (wall, _) = run(forms, concurrency, move |i| {
            let (h, b, k, ids) = (h.clone(), b.clone(), k.clone(), ids_w.clone());
            async move {
                let res = h
                    .post(format!("{b}/v1/forms"))
                    .bearer_auth(&k)
                    .json(&declaration(i, round))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 201);
                let v: serde_json::Value = res.json().await.unwrap();
                ids.lock().unwrap()[i] = v["form_id"].as_str().unwrap().to_owned();
            }
        })
        .await;
        issue_rates.push(forms as f64 / wall.as_secs_f64());

        let ids: Vec<String> = ids.lock().unwrap().clone();
        let mut links = Vec::with_capacity(ids.len());
        for id in &ids {
            use csq_core::ports::FormStore;
            let form = running.host.store.form(id).await.unwrap().unwrap();
            links.push(running.host.services.rating.rating_link(&form));
        }
        let links = Arc::new(links);
        let h = http.clone();
        let (wall, mut lat) = run(forms, concurrency, move |i| {
            let (h, links) = (h.clone(), links.clone());
            async move {
                let link = &links[i];
                let page = h.get(link).send().await.unwrap();
                let cookie = page.headers()["set-cookie"]
                    .to_str()
                    .unwrap()
                    .split(';')
                    .next()
                    .unwrap()
                    .to_owned();
                let body = page.text().await.unwrap();
                let csrf = csq_tests::hidden_value(&body, "csrf").unwrap();
                let level = if i % 20 == 0 { "2" } else { "5" };
                let form = [
                    ("csrf", csrf.as_str()),
                    ("level.0", level),
                    ("level.5", "4"),
                    ("contact_name", "Đo Tải"),
                    ("contact_phone", "0900000000"),
                ];
                let res = h
                    .post(format!("{link}/submit"))
                    .header("cookie", cookie)
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
        })
        .await;
        submit_rates.push(forms as f64 / wall.as_secs_f64());
        lat.sort();
        submit_p50.push(lat[lat.len() / 2].as_secs_f64() * 1000.0);
        submit_p99.push(lat[lat.len() * 99 / 100].as_secs_f64() * 1000.0);
        println!(
            "round {round}: issued {forms} in {:.2}s, rated {forms} in {:.2}s",
            forms as f64 / issue_rates[round],
            wall.as_secs_f64()
        );
    }
    println!("forms={forms} concurrency={concurrency} rounds={rounds}");
    println!(
        "issue  (POST /v1/forms + .eml): median {:.0} forms/s",
        median(issue_rates)
    );
    println!(
        "rate   (GET page + POST submit): median {:.0} submissions/s, latency p50 {:.1} ms, p99 {:.1} ms (medians of rounds; goal ≥ 3,000/s, p99 ≤ 25 ms)",
        median(submit_rates),
        median(submit_p50),
        median(submit_p99)
    );
    let _ = running.stop.send(true);
}
