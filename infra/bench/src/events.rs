//! Events as AWS delivers them to the functions, built from the same fixtures
//! the in-process handler tests use (shared/aws/tests/fixtures).

use std::io::Read;

use base64::Engine;
use serde_json::{Value, json};

const HTTP_API_V2: &str = include_str!("../../../shared/aws/tests/fixtures/http_api_v2.json");
const JWT_AUTHORIZER: &str = include_str!("../../../shared/aws/tests/fixtures/jwt_authorizer.json");
const IAM_AUTHORIZER: &str = include_str!("../../../shared/aws/tests/fixtures/iam_authorizer.json");
const SQS_EVENT: &str = include_str!("../../../shared/aws/tests/fixtures/sqs_event.json");
const SCHEDULER_EVENT: &str =
    include_str!("../../../shared/aws/tests/fixtures/scheduler_event.json");

/// An HTTP API (payload 2.0) request.
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub cookies: Vec<String>,
    pub body: Option<String>,
    /// JWT claims the gateway's authorizer passed (staff routes).
    pub claims: Option<Value>,
    /// The IAM authorizer's caller (the integration route, SigV4-signed).
    pub iam_caller: bool,
}

impl<'a> HttpRequest<'a> {
    pub fn get(path: &'a str) -> Self {
        HttpRequest {
            method: "GET",
            path,
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
            claims: None,
            iam_caller: false,
        }
    }

    /// A call of the declaration system, which the gateway authenticated with IAM.
    pub fn from_declaration_system(path: &'a str, body: String) -> Self {
        HttpRequest {
            iam_caller: true,
            ..Self::post(path, "application/json", body)
        }
    }

    pub fn post(path: &'a str, content_type: &str, body: String) -> Self {
        HttpRequest {
            method: "POST",
            headers: vec![("content-type", content_type.to_owned())],
            body: Some(body),
            ..Self::get(path)
        }
    }

    pub fn event(&self) -> Value {
        let mut e: Value = serde_json::from_str(HTTP_API_V2).expect("fixture");
        let (path, query) = self.path.split_once('?').unwrap_or((self.path, ""));
        e["rawPath"] = path.into();
        e["rawQueryString"] = query.into();
        e["requestContext"]["http"]["method"] = self.method.into();
        e["requestContext"]["http"]["path"] = path.into();
        e["requestContext"]["requestId"] = uuid::Uuid::new_v4().simple().to_string().into();
        e["cookies"] = json!(self.cookies);
        for (k, v) in &self.headers {
            e["headers"][*k] = v.as_str().into();
        }
        if let Some(b) = &self.body {
            e["body"] = b.as_str().into();
        }
        if let Some(claims) = &self.claims {
            let mut auth: Value = serde_json::from_str(JWT_AUTHORIZER).expect("fixture");
            for (k, v) in claims.as_object().into_iter().flatten() {
                auth["jwt"]["claims"][k] = v.clone();
            }
            e["requestContext"]["authorizer"] = auth;
        }
        if self.iam_caller {
            e["requestContext"]["authorizer"] =
                serde_json::from_str(IAM_AUTHORIZER).expect("fixture");
        }
        e
    }
}

/// A function's HTTP answer, decoded as API Gateway would before the client.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: u64,
    pub headers: serde_json::Map<String, Value>,
    pub cookies: Vec<String>,
    /// The body as sent (compressed, if the function compressed it).
    pub wire_bytes: usize,
    pub body: String,
}

impl HttpAnswer {
    pub fn parse(v: &Value) -> anyhow::Result<HttpAnswer> {
        let raw = v["body"].as_str().unwrap_or_default();
        let bytes = if v["isBase64Encoded"].as_bool().unwrap_or(false) {
            base64::engine::general_purpose::STANDARD.decode(raw)?
        } else {
            raw.as_bytes().to_vec()
        };
        let headers = v["headers"].as_object().cloned().unwrap_or_default();
        let wire_bytes = bytes.len();
        let body = match headers.get("content-encoding").and_then(|e| e.as_str()) {
            Some("gzip") => {
                let mut out = String::new();
                flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut out)?;
                out
            }
            _ => String::from_utf8(bytes)?,
        };
        Ok(HttpAnswer {
            status: v["statusCode"].as_u64().unwrap_or(0),
            headers,
            cookies: v["cookies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str())
                .map(|c| c.split(';').next().unwrap_or(c).to_owned())
                .collect(),
            wire_bytes,
            body,
        })
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        Ok(serde_json::from_str(&self.body)?)
    }
}

/// An SQS batch of the given (message id, body) records.
pub fn sqs_batch(records: &[(String, String)], queue_arn: &str) -> Value {
    let mut e: Value = serde_json::from_str(SQS_EVENT).expect("fixture");
    let template = e["Records"][0].clone();
    e["Records"] = records
        .iter()
        .map(|(id, body)| {
            let mut r = template.clone();
            r["messageId"] = id.as_str().into();
            r["body"] = body.as_str().into();
            r["eventSourceARN"] = queue_arn.into();
            r
        })
        .collect();
    e
}

/// The nightly schedule's input (template.yaml `ScheduleV2`).
pub fn nightly_schedule() -> Value {
    serde_json::from_str(SCHEDULER_EVENT).expect("fixture")
}

/// The frequent sweep's input.
pub fn sweep_schedule() -> Value {
    json!({"task": "sweep"})
}

/// `application/x-www-form-urlencoded`, as a browser posts the rating form.
pub fn form_body(fields: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(fields).expect("pairs of strings encode")
}
