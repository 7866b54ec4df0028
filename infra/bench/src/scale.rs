//! The DynamoDB requests of one nightly run, by the size of the day and of the
//! table: a day's ratings written through the real code path, multiplied into a
//! larger day and into older days by copying their items under new form ids
//! and dates (batch writes: the emulator is too slow for millions of real
//! submissions), then the deployed nightly binary run for that day through the
//! fake Runtime API, its requests and consumed capacity counted at the proxy.

use std::collections::HashMap;
use std::path::Path;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use csq_aws::lambda::env::{ISSUE_FORM, RATING_FORM};
use serde_json::json;

use crate::artifacts::{binary, declaration};
use crate::proxy::Proxy;
use crate::runtime_api::{Function, Outcome};
use crate::stack::Stack;

type Item = HashMap<String, AttributeValue>;

/// Forms issued and rated through the core, whose items are the copies' models.
const MODELS: usize = 20;

pub struct NightlyCost {
    pub day_ratings: usize,
    pub old_ratings: usize,
    pub table_items: usize,
    /// Old forms issued within the cohort window (the form lifetime + 2 days), which
    /// the nightly reads again each night.
    pub window_forms: usize,
    pub requests: crate::proxy::Counts,
    pub capacity: f64,
    pub seconds: f64,
}

fn rewrite(v: &AttributeValue, swaps: &[(&str, &str)]) -> AttributeValue {
    let swap = |s: &str| {
        swaps
            .iter()
            .fold(s.to_owned(), |acc, (from, to)| acc.replace(from, to))
    };
    match v {
        AttributeValue::S(s) => AttributeValue::S(swap(s)),
        AttributeValue::Ss(list) => AttributeValue::Ss(list.iter().map(|s| swap(s)).collect()),
        AttributeValue::L(list) => {
            AttributeValue::L(list.iter().map(|x| rewrite(x, swaps)).collect())
        }
        AttributeValue::M(map) => AttributeValue::M(
            map.iter()
                .map(|(k, x)| (k.clone(), rewrite(x, swaps)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn scan_all(stack: &Stack) -> anyhow::Result<Vec<Item>> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(&stack.table)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(items);
        }
    }
}

async fn put_all(stack: &Stack, items: Vec<Item>) -> anyhow::Result<()> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .expect("item"),
                    )
                    .build()
            })
            .collect();
        while !requests.is_empty() {
            let out = client
                .batch_write_item()
                .request_items(&stack.table, requests)
                .send()
                .await?;
            requests = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&stack.table))
                .unwrap_or_default();
        }
    }
    Ok(())
}

/// A new declaration number of the bench's shape.
fn new_number() -> String {
    format!("31{:010}", uuid::Uuid::new_v4().as_u128() % 10_000_000_000)
}

/// The bench's declaration with its stages' times, sent with the form (one
/// document request, released the same afternoon): the nightly reads them
/// by the day they arrived and pairs them with the stage ratings.
fn timed_declaration(number: &str) -> serde_json::Value {
    let mut d = declaration(number);
    d["handling"][0]["started_at"] = "2026-11-27T10:00:00+07:00".into();
    d["handling"][0]["finished_at"] = "2026-11-27T11:10:00+07:00".into();
    d["handling"][0]["document_requests"] = 1.into();
    d["handling"][1]["started_at"] = "2026-11-27T11:10:00+07:00".into();
    d["handling"][1]["finished_at"] = "2026-11-27T11:40:00+07:00".into();
    d["declaration"]["released_at"] = "2026-11-27T14:00:00+07:00".into();
    d
}

/// Issues and rates `MODELS` forms today through the core, with their stage
/// times; returns each form's id, declaration number, and the items that
/// name either.
async fn models(stack: &Stack) -> anyhow::Result<Vec<(String, String, Vec<Item>)>> {
    let issuer = stack.function_env(&ISSUE_FORM).await?.issuance()?;
    let rater = stack.function_env(&RATING_FORM).await?.rating()?;
    let mut ids = Vec::new();
    for n in 0..MODELS {
        let number = new_number();
        let issued = issuer
            .issue_form(request(&timed_declaration(&number))?)
            .await
            .map_err(|e| anyhow::anyhow!("issuing: {e:?}"))?;
        let token = rater.rating_token(&issued.form);
        // Mostly content, one in ten with a low level (and so a complaint).
        let fields = crate::answers(n % 10 == 9);
        rater
            .submit_form(&token, &fields, None)
            .await
            .map_err(|e| anyhow::anyhow!("submitting: {e:?}"))?;
        ids.push((issued.form.id, number));
    }
    let items = scan_all(stack).await?;
    Ok(ids
        .into_iter()
        .map(|(id, number)| {
            let mine = items
                .iter()
                .filter(|item| item.values().any(|v| names(v, &id) || names(v, &number)))
                .cloned()
                .collect();
            (id, number, mine)
        })
        .collect())
}

fn names(v: &AttributeValue, id: &str) -> bool {
    match v {
        AttributeValue::S(s) => s.contains(id),
        AttributeValue::L(list) => list.iter().any(|x| names(x, id)),
        AttributeValue::M(map) => map.values().any(|x| names(x, id)),
        _ => false,
    }
}

/// Copies of the models: `count` forms rated on `day` (YYYY-MM-DD), each of
/// a new declaration whose times arrived that day.
fn copies(
    models: &[(String, String, Vec<Item>)],
    today: &str,
    day: &str,
    count: usize,
) -> Vec<Item> {
    let mut out = Vec::new();
    for n in 0..count {
        let (id, number, items) = &models[n % models.len()];
        let new_id = uuid::Uuid::new_v4().simple().to_string();
        let new_id = &new_id[..id.len().min(new_id.len())];
        let new_number = new_number();
        let swaps = [
            (id.as_str(), new_id),
            (number.as_str(), new_number.as_str()),
            (today, day),
        ];
        for item in items {
            out.push(
                item.iter()
                    .map(|(k, v)| (k.clone(), rewrite(v, &swaps)))
                    .collect(),
            );
        }
    }
    out
}

/// One nightly run for a day of `day_ratings` forms rated, with `old_ratings`
/// rated on the 300 days before.
pub async fn nightly_cost(
    endpoint: &str,
    bin_dir: &Path,
    day_ratings: usize,
    old_ratings: usize,
) -> anyhow::Result<NightlyCost> {
    let stack = Stack::create(endpoint).await?;
    let models = models(&stack).await?;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+7"))
        .date_naive();
    let today_s = today.format("%Y-%m-%d").to_string();
    let mut items = copies(
        &models,
        &today_s,
        &today_s,
        day_ratings.saturating_sub(MODELS),
    );
    let mut window_forms = 0;
    for d in 1..=300u64 {
        let day = today - chrono::Days::new(d);
        let per_day = old_ratings / 300 + usize::from((d as usize) <= old_ratings % 300);
        if d <= 32 {
            window_forms += per_day;
        }
        items.extend(copies(
            &models,
            &today_s,
            &day.format("%Y-%m-%d").to_string(),
            per_day,
        ));
    }
    put_all(&stack, items).await?;
    let table_items = scan_count(&stack).await?;

    let proxy = Proxy::start(endpoint).await?;
    let f = Function::spawn(
        &binary(bin_dir, "nightly"),
        &stack.lambda_vars(&proxy.endpoint),
    )
    .await?;
    f.init().await?;
    proxy.reset();
    let start = std::time::Instant::now();
    let reply = f.runtime.invoke(json!({ "date": today_s })).await?;
    let seconds = start.elapsed().as_secs_f64();
    f.stop().await;
    match reply {
        Outcome::Response(r) => anyhow::ensure!(
            r["units_rolled_up"].as_u64().unwrap_or(0) > 0,
            "the nightly rolled nothing up: {r}"
        ),
        Outcome::Error(e) => anyhow::bail!("the nightly failed: {e}"),
    }
    let requests = proxy
        .requests()
        .into_iter()
        .filter(|(op, _)| op.starts_with("DynamoDB."))
        .collect();
    Ok(NightlyCost {
        day_ratings,
        old_ratings,
        table_items,
        window_forms,
        requests,
        capacity: proxy.capacity().values().sum(),
        seconds,
    })
}

async fn scan_count(stack: &Stack) -> anyhow::Result<usize> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut count = 0usize;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(&stack.table)
            .select(aws_sdk_dynamodb::types::Select::Count)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        count += out.count as usize;
        start = out.last_evaluated_key;
        if start.is_none() {
            return Ok(count);
        }
    }
}

/// The declaration system's JSON as the core takes it (parsed at the edge).
pub fn request(
    body: &serde_json::Value,
) -> anyhow::Result<csq_core::domain::declaration::FormRequest> {
    csq_core::domain::declaration::FormRequest::parse(body)
        .map_err(|e| anyhow::anyhow!("a bench declaration is invalid: {e:?}"))
}
