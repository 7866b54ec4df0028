//! Per-client request limits for the local host: a token bucket per client
//! address and method class, so one client hammering the rating pages cannot
//! lock every business out (a single shared bucket would).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Requests per second a client may make, and how many it may burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// The sign-in routes' limits per client: twenty codes or tries at once (a
/// few people behind one office's address), then one every six seconds; the
/// console's session reads are cheap.
pub const SIGN_IN: ClientLimits = ClientLimits {
    reads: Rate {
        per_second: 5.0,
        burst: 30.0,
    },
    writes: Rate {
        per_second: 1.0 / 6.0,
        burst: 20.0,
    },
};

/// Reads (GET, HEAD) and writes (everything else) have their own buckets:
/// opening a form is cheap, submitting one writes to disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientLimits {
    pub reads: Rate,
    pub writes: Rate,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Remembered clients at most; past this the longest-idle half is forgotten,
/// so a flood of addresses cannot grow the table without bound.
const MAX_CLIENTS: usize = 10_000;

#[derive(Clone)]
pub struct Limiter {
    limits: ClientLimits,
    buckets: Arc<Mutex<HashMap<(IpAddr, bool), Bucket>>>,
}

impl Limiter {
    pub fn new(limits: ClientLimits) -> Limiter {
        Limiter {
            limits,
            buckets: Arc::default(),
        }
    }

    /// Takes one token for this client; Err with the seconds to wait if none is left.
    fn take(&self, ip: IpAddr, write: bool, now: Instant) -> Result<(), f64> {
        let rate = if write {
            self.limits.writes
        } else {
            self.limits.reads
        };
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(&(ip, write)) {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort();
            let cutoff = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cutoff);
        }
        let b = buckets.entry((ip, write)).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let elapsed = now.duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate.per_second).min(rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - b.tokens) / rate.per_second)
        }
    }
}

/// The middleware: 429 with Retry-After once a client's bucket is empty.
/// Requests without a peer address (in-process tests) are not limited.
pub async fn limit(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    let write = !matches!(*req.method(), Method::GET | Method::HEAD);
    match limiter.take(peer.ip(), write, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                "Quá nhiều yêu cầu, xin thử lại sau giây lát. Too many requests: try again in a moment.",
            )
                .into_response();
            let secs = wait.ceil().max(1.0) as u64;
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_has_its_own_bucket_which_refills() {
        let limiter = Limiter::new(ClientLimits {
            reads: Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            writes: Rate {
                per_second: 1.0,
                burst: 1.0,
            },
        });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.take(a, false, t0).is_ok());
        }
        let wait = limiter.take(a, false, t0).unwrap_err();
        assert!((wait - 0.5).abs() < 1e-9, "{wait}");
        assert!(
            limiter.take(b, false, t0).is_ok(),
            "another client is not affected"
        );
        assert!(
            limiter.take(a, true, t0).is_ok(),
            "writes have their own bucket"
        );
        assert!(limiter.take(a, true, t0).is_err());
        let later = t0 + std::time::Duration::from_millis(600);
        assert!(limiter.take(a, false, later).is_ok(), "refilled");
    }

    #[test]
    fn the_table_of_clients_stays_bounded() {
        let rate = Rate {
            per_second: 1.0,
            burst: 1.0,
        };
        let limiter = Limiter::new(ClientLimits {
            reads: rate,
            writes: rate,
        });
        let t0 = Instant::now();
        for i in 0..(MAX_CLIENTS as u32 + 500) {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(i));
            let _ = limiter.take(ip, false, t0 + std::time::Duration::from_micros(i as u64));
        }
        assert!(limiter.buckets.lock().unwrap().len() <= MAX_CLIENTS);
    }
}
