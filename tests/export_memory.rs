//! A year of ratings (50,000 rows, about 11 MB of CSV) exported through the
//! staff API of a running local host: the rows stream out page by page, so the
//! process's peak heap while exporting stays a small fraction of the file it
//! sends. (A streamed export peaks near 1.4 MB whatever the file's size; an
//! export that held the file would need all of it, four times the bound.)
//! A binary of its own: it counts every allocation of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Duration, Utc};
use csq_core::auth::staff::{StaffClaims, StaffRole};
use csq_core::domain::declaration::FormRequest;
use csq_core::domain::form::{Form, RatingRecord, SubjectRating, Submission};
use csq_core::domain::rating_scale::{Level, Reason};
use csq_core::ports::FormStore;
use csq_core::ports::{ManualClock, SubmissionWrite};
use serde_json::json;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const ROWS: usize = 50_000;

fn request(number: usize) -> FormRequest {
    let handling: Vec<_> = (0..30)
        .map(|i| {
            let stage = ["document_check", "physical_inspection", "clearance"][i % 3];
            json!({"stage": stage,
                   "team": format!("03CC0{}", i % 3 + 1),
                   "officer": {"id": format!("HP{i:04}"), "name": format!("Công chức số {i}")}})
        })
        .collect();
    FormRequest::parse(&json!({
        "declaration": {"number": format!("{number:012}"), "type_code": "A11",
                        "registered_at": "2026-11-27T09:30:00+07:00",
                        "customs_office": "03CC", "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "Công ty TNHH Xuất nhập khẩu Minh Phát",
                     "email": "xnk@minhphat.example.vn"},
        "handling": handling
    }))
    .expect("valid request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_of_ratings_streams_out_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now));
    let mut config = csq_local_host::HostConfig::for_tests(dir.path());
    config.nightly_at = None;
    let running = csq_local_host::host::spawn(config, clock).await.unwrap();
    let store = running.host.store.clone();

    // A year of submitted forms, 37 rated subjects each, spread over 365 days.
    let mut written = 0;
    let mut n = 0;
    while written < ROWS {
        let at = now - Duration::minutes((n as i64 * 97) % (365 * 24 * 60));
        let form = Form::new(
            format!("f{n:08}"),
            request(n),
            at,
            at + Duration::days(30),
            at + Duration::days(365),
            vec![],
        );
        store.insert_form(&form).await.unwrap();
        let submission = Submission {
            ratings: form
                .subjects
                .iter()
                .enumerate()
                .map(|(i, s)| SubjectRating {
                    subject_key: s.key.clone(),
                    level: Level::new((i % 5) as u8 + 1).unwrap(),
                    reasons: if i % 5 >= 2 {
                        vec![Reason::Fast]
                    } else {
                        vec![Reason::Delay]
                    },
                    comment: Some("Cán bộ hướng dẫn nhiệt tình, thủ tục nhanh gọn.".into()),
                })
                .collect(),
            overall_comment: None,
            contact: None,
            suggestion: None,
            channel: None,
        };
        let ratings = RatingRecord::from_submission(&form, &submission, at);
        written += ratings.len();
        store
            .submit(&SubmissionWrite {
                form_id: form.id.clone(),
                submitted_at: at,
                submission,
                ratings,
                complaint: None,
                events: vec![],
            })
            .await
            .unwrap();
        n += 1;
    }

    let token = running.host.mint_staff_token(
        &StaffClaims {
            sub: "export-test".into(),
            role: StaffRole::Department,
            unit: None,
            officer: None,
        },
        chrono::Duration::hours(1),
    );
    let to = csq_core::domain::time::vn_day(now);
    let from = to - Duration::days(365);
    let http = reqwest::Client::new();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut res = http
        .get(format!(
            "http://{}/v1/ratings.csv?from={from}&to={to}",
            running.addr
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (mut bytes, mut lines, mut first) = (0usize, 0usize, None);
    while let Some(chunk) = res.chunk().await.unwrap() {
        if first.is_none() {
            first = Some(chunk[..3].to_vec());
        }
        bytes += chunk.len();
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
    }
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let _ = running.stop.send(true);
    assert_eq!(
        first.as_deref(),
        Some("\u{feff}".as_bytes()),
        "a byte-order mark first"
    );
    assert_eq!(lines - 1, written, "every rating, once");
    println!(
        "exported {written} ratings, {:.1} MB of CSV; peak heap growth {:.1} MB",
        bytes as f64 / 1e6,
        peak as f64 / 1e6
    );
    assert!(bytes > 10_000_000, "a file worth measuring: {bytes}");
    assert!(
        peak < bytes / 4,
        "peak heap growth {peak} B while sending {bytes} B: rows were held, not streamed"
    );
}
