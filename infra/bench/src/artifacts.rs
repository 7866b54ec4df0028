//! The deployable binaries, run as Lambda runs them, through the whole rating
//! loop: the declaration system issues a form, the business opens and rates it
//! (with a complaint), the router takes the complaint from the real queue message
//! beside a poison record, the schedules run the nightly job and the sweep, and
//! staff read the directory. Each step checks what a caller would see.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::events::{self, HttpAnswer, HttpRequest};
use crate::proxy::Proxy;
use crate::runtime_api::{Function, Outcome};
use crate::stack::Stack;

/// The five functions of template.yaml, by binary name.
pub const FUNCTIONS: [&str; 5] = [
    "issue-form",
    "rating-form",
    "complaint-router",
    "nightly",
    "staff-api",
];
pub const BASELINE: &str = "cold-start-baseline";

pub fn binary(dir: &Path, name: &str) -> PathBuf {
    // `cargo lambda build` puts each function at lambda/{name}/bootstrap, as SAM
    // deploys it; `cargo build` at {name}.
    let packaged = dir.join(name).join("bootstrap");
    if packaged.exists() {
        packaged
    } else {
        dir.join(name)
    }
}

/// What one step showed, for the report.
pub struct Step {
    pub function: &'static str,
    pub what: String,
    pub requests: crate::proxy::Counts,
    /// Invocation to answer, against the emulator on loopback.
    pub millis: f64,
}

pub struct Run<'a> {
    pub stack: &'a Stack,
    pub proxy: &'a Proxy,
    pub bin_dir: &'a Path,
    pub steps: Vec<Step>,
    /// The page (`/f/{token}`) of a form issued and left unrated.
    pub rating_path: Option<String>,
}

async fn answer(f: &Function, event: Value) -> anyhow::Result<Value> {
    match f.runtime.invoke(event).await? {
        Outcome::Response(v) => Ok(v),
        Outcome::Error(e) => bail!("the handler failed: {e}"),
    }
}

async fn http(f: &Function, request: HttpRequest<'_>) -> anyhow::Result<HttpAnswer> {
    HttpAnswer::parse(&answer(f, request.event()).await?)
}

/// `POST /v1/forms` for a declaration, as the declaration system sends it.
async fn issue(f: &Function, number: &str) -> anyhow::Result<HttpAnswer> {
    let body = declaration(number).to_string();
    http(f, HttpRequest::from_declaration_system("/v1/forms", body)).await
}

/// A declaration with six subjects on the form: its office, the team, two stages
/// and their two officers.
pub fn declaration(number: &str) -> Value {
    json!({
        "declaration": {"number": number, "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00", "customs_office": "91AA", "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "Công ty TNHH Đo Tải",
            "email": "xnk@doanhnghiep-bench.example.vn"},
        "handling": [
            {"stage": "document_check", "team": "91AA01", "officer": {"id": "BENCH01", "name": "Nguyễn Văn An"}},
            {"stage": "clearance", "team": "91AA01", "officer": {"id": "BENCH02", "name": "Trần Thị Bình"}}
        ]
    })
}

impl<'a> Run<'a> {
    async fn start(&self, name: &str) -> anyhow::Result<Function> {
        let f = Function::spawn(
            &binary(self.bin_dir, name),
            &self.stack.lambda_vars(&self.proxy.endpoint),
        )
        .await?;
        f.init().await.with_context(|| format!("{name} init"))?;
        Ok(f)
    }

    /// The proxy's counts and the time, at the start of a step.
    fn mark(&self) -> (crate::proxy::Counts, std::time::Instant) {
        (self.proxy.requests(), std::time::Instant::now())
    }

    fn step(
        &mut self,
        function: &'static str,
        what: String,
        (before, started): &(crate::proxy::Counts, std::time::Instant),
    ) {
        let millis = started.elapsed().as_secs_f64() * 1000.0;
        let requests = crate::proxy::since(before, &self.proxy.requests());
        println!("  ok  {function:<17} {what}");
        self.steps.push(Step {
            function,
            what,
            requests,
            millis,
        });
    }

    /// Runs every check; the first failure stops with its reason.
    pub async fn all(&mut self) -> anyhow::Result<()> {
        let number = format!("30{:010}", rand_number());

        // A misconfigured function says why on /init/error, naming the
        // parameter it could not read and nothing secret.
        let before = self.mark();
        let mut vars = self.stack.lambda_vars(&self.proxy.endpoint);
        vars.insert(
            csq_aws::lambda::env::LINK_KEYS_PARAMETER.into(),
            "/csq/bench/missing-link-keys".into(),
        );
        let broken = Function::spawn(&binary(self.bin_dir, "issue-form"), &vars).await?;
        let failed = broken.init().await;
        broken.stop().await;
        let reported = format!("{:#}", failed.err().context("init must fail")?);
        ensure!(
            reported.contains("Runtime.InitError") && reported.contains("missing-link-keys"),
            "init error not reported with its message: {reported}"
        );
        self.step(
            "issue-form",
            "missing link keys → /init/error names the parameter".into(),
            &before,
        );

        // The declaration system issues a form (SigV4-authorized at the gateway).
        let f = self.start("issue-form").await?;
        let before = self.mark();
        let issued = issue(&f, &number).await?;
        ensure!(issued.status == 201, "POST /v1/forms: {issued:?}");
        let issued = issued.json()?;
        let rating_url = issued["rating_url"]
            .as_str()
            .context("rating_url")?
            .to_owned();
        ensure!(
            issued["invitation"] == "sent",
            "invitation not sent: {issued}"
        );
        self.step(
            "issue-form",
            "POST /v1/forms → 201, invitation sent".into(),
            &before,
        );
        let before = self.mark();
        let again = issue(&f, &number).await?;
        ensure!(again.status == 200, "repeated POST /v1/forms: {again:?}");
        ensure!(again.json()?["rating_url"] == rating_url.as_str());
        self.step(
            "issue-form",
            "POST /v1/forms again → 200, same form".into(),
            &before,
        );
        // A second form, left unrated, for the cold-start page measurement.
        let other = issue(&f, &format!("30{:010}", rand_number())).await?;
        ensure!(other.status == 201, "second POST /v1/forms: {other:?}");
        self.rating_path = other.json()?["rating_url"]
            .as_str()
            .and_then(|u| u.split_once("://"))
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()));
        f.stop().await;

        // The business opens the emailed link and rates with a complaint.
        let path = rating_url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_owned()))
            .context("path of the rating link")?;
        let f = self.start("rating-form").await?;
        let before = self.mark();
        let mut get = HttpRequest::get(&path);
        get.headers.push(("accept-encoding", "gzip, br".into()));
        let page = http(&f, get).await?;
        ensure!(page.status == 200, "GET rating page: {}", page.status);
        let csrf = csq_tests::hidden_value(&page.body, "csrf").context("csrf field")?;
        self.step(
            "rating-form",
            format!(
                "GET {} → 200, {} bytes of HTML ({} on the wire)",
                "/f/{token}",
                page.body.len(),
                page.wire_bytes
            ),
            &before,
        );
        let before = self.mark();
        let fields = [
            ("csrf", csrf.as_str()),
            ("lang", "vi"),
            ("level.0", "1"),
            ("comment.0", "Chờ kiểm tra quá lâu, không được giải thích."),
            ("level.3", "5"),
            ("contact_name", "Phạm Thị Dung"),
            ("contact_phone", "0900000001"),
        ];
        let mut submit = HttpRequest::post(
            "",
            "application/x-www-form-urlencoded",
            events::form_body(&fields),
        );
        let submit_path = format!("{path}/submit");
        submit.path = &submit_path;
        submit.cookies = page.cookies.clone();
        let thanks = http(&f, submit).await?;
        ensure!(
            thanks.status == 200 && !thanks.body.contains("name=\"csrf\""),
            "submission refused: {} {}",
            thanks.status,
            thanks.body.chars().take(400).collect::<String>()
        );
        self.step(
            "rating-form",
            "POST /f/{token}/submit → 200 thanks, complaint queued".into(),
            &before,
        );
        f.stop().await;

        // The router gets the real queue message beside a poison record.
        let sqs = aws_sdk_sqs::Client::new(&self.stack.sdk);
        let received = sqs
            .receive_message()
            .queue_url(&self.stack.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await?;
        let message = received
            .messages
            .unwrap_or_default()
            .into_iter()
            .next()
            .context("the rating function queued no complaint")?;
        let good_id = message.message_id.clone().unwrap_or_default();
        let poison_id = uuid::Uuid::new_v4().to_string();
        let batch = events::sqs_batch(
            &[
                (good_id.clone(), message.body.clone().unwrap_or_default()),
                (poison_id.clone(), "{\"not\": \"a complaint\"".into()),
            ],
            "arn:aws:sqs:ap-southeast-1:123456789012:csq-complaints",
        );
        let f = self.start("complaint-router").await?;
        let before = self.mark();
        let reply = answer(&f, batch).await?;
        let failed: Vec<&str> = reply["batchItemFailures"]
            .as_array()
            .context("batchItemFailures")?
            .iter()
            .filter_map(|r| r["itemIdentifier"].as_str())
            .collect();
        ensure!(
            failed == [poison_id.as_str()],
            "only the poison record should fail: {reply}"
        );
        self.step(
            "complaint-router",
            "SQS batch (1 complaint, 1 poison) → only the poison retried".into(),
            &before,
        );
        f.stop().await;

        // The schedules.
        let f = self.start("nightly").await?;
        for (what, payload) in [
            ("sweep schedule", events::sweep_schedule()),
            ("nightly schedule", events::nightly_schedule()),
        ] {
            let before = self.mark();
            let reply = answer(&f, payload).await?;
            self.step("nightly", format!("{what} → {reply}"), &before);
        }
        f.stop().await;

        // Staff read the directory through the JWT authorizer.
        let f = self.start("staff-api").await?;
        let before = self.mark();
        let mut org = HttpRequest::get("/v1/org");
        // The demo department head, as the directory names them (roles are the
        // directory's, not the token's).
        org.claims = Some(json!({"email": "cuctruong@demo-customs.invalid"}));
        let org = http(&f, org).await?;
        ensure!(org.status == 200, "GET /v1/org: {org:?}");
        let units = org.json()?["units"].as_array().map(Vec::len).unwrap_or(0);
        ensure!(units > 10, "the demo tree should be there: {units} units");
        self.step(
            "staff-api",
            format!("GET /v1/org → 200, {units} units"),
            &before,
        );
        f.stop().await;
        Ok(())
    }
}

fn rand_number() -> u64 {
    (uuid::Uuid::new_v4().as_u128() % 10_000_000_000) as u64
}
