//! Cold starts of the deployable binaries beside the baseline, measured the same
//! way in the same run: exec to the first poll of the Runtime API, with the AWS
//! requests made meanwhile counted at the proxy.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::artifacts::{BASELINE, FUNCTIONS, binary};
use crate::events::HttpRequest;
use crate::proxy::Proxy;
use crate::runtime_api::Function;
use crate::stack::Stack;

pub struct ColdStart {
    pub name: &'static str,
    pub init_ms: Vec<f64>,
    /// AWS requests made during init, per operation (the same in every run).
    pub init_requests: crate::proxy::Counts,
}

/// `runs` cold starts of each binary, interleaved so drift on a shared machine
/// falls on all of them alike.
pub async fn measure(
    stack: &Stack,
    proxy: &Proxy,
    bin_dir: &Path,
    runs: usize,
) -> anyhow::Result<Vec<ColdStart>> {
    let names: Vec<&'static str> = std::iter::once(BASELINE).chain(FUNCTIONS).collect();
    let mut results: BTreeMap<&str, ColdStart> = names
        .iter()
        .map(|&name| {
            (
                name,
                ColdStart {
                    name,
                    init_ms: Vec::new(),
                    init_requests: Default::default(),
                },
            )
        })
        .collect();
    let vars = stack.lambda_vars(&proxy.endpoint);
    for _ in 0..runs {
        for &name in &names {
            let before = proxy.requests();
            let f = Function::spawn(&binary(bin_dir, name), &vars).await?;
            let init = f.init().await?;
            let r = results.get_mut(name).expect("listed");
            r.init_ms.push(init.as_secs_f64() * 1000.0);
            r.init_requests = crate::proxy::since(&before, &proxy.requests());
            f.stop().await;
        }
    }
    Ok(names
        .iter()
        .map(|n| results.remove(n).expect("listed"))
        .collect())
}

/// A cold rating function's first answer: exec, init, then GET of a form page
/// (what the business waits for when it opens the link of a quiet hour).
pub async fn first_page(
    stack: &Stack,
    proxy: &Proxy,
    bin_dir: &Path,
    page_path: &str,
    runs: usize,
) -> anyhow::Result<Vec<f64>> {
    let vars = stack.lambda_vars(&proxy.endpoint);
    let mut out = Vec::new();
    for _ in 0..runs {
        let f = Function::spawn(&binary(bin_dir, "rating-form"), &vars).await?;
        let reply = f
            .runtime
            .invoke(HttpRequest::get(page_path).event())
            .await?;
        let at = Instant::now();
        anyhow::ensure!(
            matches!(&reply, crate::runtime_api::Outcome::Response(v) if v["statusCode"] == 200),
            "the page was not served: {reply:?}"
        );
        out.push((at - f.started).as_secs_f64() * 1000.0);
        f.stop().await;
    }
    Ok(out)
}
