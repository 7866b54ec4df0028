//! The stack's resources on the emulator, made as template.yaml makes them: the
//! table, the complaint queue and its dead-letter queue, the event bus, the SES
//! identity, the two SSM parameters, and the demo authority's org directory.

use std::collections::HashMap;

use anyhow::Context;
use aws_types::SdkConfig;
use csq_aws::lambda::env::{self, FunctionEnv, NIGHTLY};

pub const MAIL_DOMAIN: &str = "csq-bench.example.vn";

pub struct Stack {
    pub sdk: SdkConfig,
    pub table: String,
    pub queue_url: String,
    /// The variables template.yaml gives the functions, plus the Lambda
    /// environment's region and credentials.
    pub vars: HashMap<String, String>,
}

impl Stack {
    pub async fn create(endpoint: &str) -> anyhow::Result<Stack> {
        let sdk = csq_aws::emulator_config(endpoint);
        let run = uuid::Uuid::new_v4().simple().to_string();
        let table = format!("csq-bench-{run}");
        csq_aws::dynamo::table::create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table).await?;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let dlq = sqs
            .create_queue()
            .queue_name(format!("csq-bench-dlq-{run}"))
            .send()
            .await?
            .queue_url
            .context("dead-letter queue url")?;
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .context("dead-letter queue arn")?;
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("csq-bench-complaints-{run}"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
                    .to_string(),
            )
            .send()
            .await?
            .queue_url
            .context("queue url")?;
        let bus = format!("csq-bench-{run}");
        aws_sdk_eventbridge::Client::new(&sdk)
            .create_event_bus()
            .name(&bus)
            .send()
            .await?;
        aws_sdk_sesv2::Client::new(&sdk)
            .create_email_identity()
            .email_identity(MAIL_DOMAIN)
            .send()
            .await?;
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        let url_param = format!("/csq/bench-{run}/public-url");
        let keys_param = format!("/csq/bench-{run}/link-keys");
        for (name, kind, value) in [
            (
                &url_param,
                aws_sdk_ssm::types::ParameterType::String,
                "https://danhgia.csq-bench.example.vn".to_owned(),
            ),
            (
                &keys_param,
                aws_sdk_ssm::types::ParameterType::SecureString,
                format!("k1:{}", csq_core::auth::random_secret(32)),
            ),
        ] {
            ssm.put_parameter()
                .name(name)
                .r#type(kind)
                .value(value)
                .send()
                .await?;
        }
        let vars: HashMap<String, String> = [
            (env::TABLE_NAME, table.clone()),
            (env::PUBLIC_URL_PARAMETER, url_param),
            (env::LINK_KEYS_PARAMETER, keys_param.clone()),
            (
                env::MAIL_FROM,
                format!("CSQ Hải quan <no-reply@{MAIL_DOMAIN}>"),
            ),
            (env::SES_CONFIGURATION_SET, String::new()),
            (env::COMPLAINT_QUEUE_URL, queue_url.clone()),
            (env::METRICS_NAMESPACE, "CSQ/test".to_owned()),
            (env::EVENT_BUS_NAME, bus),
            (env::FORM_TTL_DAYS, "30".to_owned()),
            (env::REMIND_AFTER_DAYS, "3".to_owned()),
            (env::PERSONAL_DATA_DAYS, "365".to_owned()),
            // The benchmark's forms share businesses: every one is invited,
            // as the figures before the cap were measured.
            (env::INVITATION_CAP_DAYS, "0".to_owned()),
            (env::MIN_CELL, "5".to_owned()),
            (env::AUDIT_DAYS, "365".to_owned()),
            (env::CONTACT_GRACE_DAYS, "30".to_owned()),
            // The baseline reads the same SecureString the functions read.
            ("CSQ_BASELINE_PARAMETER", keys_param),
            ("AWS_REGION", "ap-southeast-1".to_owned()),
            ("AWS_DEFAULT_REGION", "ap-southeast-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let stack = Stack {
            sdk,
            table,
            queue_url,
            vars,
        };
        // The demo authority's tree, saved as staff would (a new directory version).
        let nightly = stack.function_env(&NIGHTLY).await?;
        let org = csq_local_host::org_import::check(csq_local_host::demo::demo_org())?;
        nightly
            .directory()
            .replace_org(org, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("saving the org directory: {e:?}"))?;
        Ok(stack)
    }

    /// A function's core built in this process, for seeding data.
    pub async fn function_env(
        &self,
        spec: &'static env::FunctionSpec,
    ) -> anyhow::Result<FunctionEnv> {
        FunctionEnv::from_vars(spec, &self.vars, &self.sdk).await
    }

    /// The environment of a deployed function whose AWS requests go to `endpoint`.
    pub fn lambda_vars(&self, endpoint: &str) -> HashMap<String, String> {
        let mut vars = self.vars.clone();
        vars.insert("AWS_ENDPOINT_URL".into(), endpoint.to_owned());
        vars
    }
}
