//! template.yaml and the code must agree: binaries, environment variables,
//! table keys and indexes, queue redrive, event settings, least privilege.

use std::path::{Path, PathBuf};

use csq_aws::dynamo::keys;
use csq_aws::lambda::SPECS;
use serde_norway::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    serde_norway::from_str(&text).expect("template.yaml is YAML")
}

fn resource<'t>(t: &'t Value, id: &str) -> &'t Value {
    t.get("Resources")
        .and_then(|r| r.get(id))
        .unwrap_or_else(|| panic!("resource {id} missing"))
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter().try_fold(v, |v, k| v.get(*k))?.as_str()
}

fn keys_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_mapping)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Binaries declared in functions/*/Cargo.toml.
fn workspace_binaries() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let mut in_bin = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(name) = line.strip_prefix("name = ") {
                out.push(name.trim_matches('"').to_owned());
            }
        }
    }
    out
}

#[test]
fn every_function_is_built_from_a_workspace_binary() {
    let t = template();
    let bins = workspace_binaries();
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    let functions: Vec<String> = t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| str_at(r, &["Type"]) == Some("AWS::Serverless::Function"))
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        functions.len(),
        SPECS.len(),
        "one template function per spec: {functions:?}"
    );
    for spec in SPECS {
        let f = resource(&t, spec.logical_id);
        assert_eq!(
            str_at(f, &["Metadata", "BuildMethod"]),
            Some("makefile"),
            "{}",
            spec.logical_id
        );
        assert_eq!(
            str_at(f, &["Metadata", "BuildProperties", "Binary"]),
            Some(spec.binary)
        );
        // sam build runs `make build-<logical id>`: it must copy this binary.
        let rule = format!("$(call function,{},{})", spec.logical_id, spec.binary);
        assert!(makefile.contains(&rule), "Makefile lacks {rule}");
        assert!(
            bins.contains(&spec.binary.to_owned()),
            "no [[bin]] {} in functions/",
            spec.binary
        );
    }
    let globals = &t["Globals"]["Function"];
    assert_eq!(str_at(globals, &["Runtime"]), Some("provided.al2023"));
    assert_eq!(str_at(globals, &["Handler"]), Some("bootstrap"));
    assert_eq!(
        str_at(globals, &["CodeUri"]),
        Some("./"),
        "one CodeUri: one shared target directory"
    );
    assert_eq!(
        str_at(globals, &["LoggingConfig", "LogFormat"]),
        Some("JSON")
    );
}

#[test]
fn every_variable_a_function_reads_is_set_and_none_is_stale() {
    let t = template();
    let global = keys_of(t["Globals"]["Function"]["Environment"].get("Variables"));
    for spec in SPECS {
        let f = resource(&t, spec.logical_id);
        let own = keys_of(
            f["Properties"]
                .get("Environment")
                .and_then(|e| e.get("Variables")),
        );
        for var in spec.all_env() {
            assert!(
                own.contains(&var.to_owned()) || global.contains(&var.to_owned()),
                "{} reads {var}, which the template does not set",
                spec.logical_id
            );
        }
        for var in own.iter().filter(|v| v.starts_with("CSQ_")) {
            assert!(
                spec.all_env().contains(&var.as_str()),
                "{} sets {var}, which the function never reads",
                spec.logical_id
            );
        }
    }
}

#[test]
fn the_table_has_the_adapters_keys_indexes_and_ttl() {
    let t = template();
    let table = &resource(&t, "Table")["Properties"];
    let key = |schema: &Value, kind: &str| {
        schema
            .as_sequence()
            .unwrap()
            .iter()
            .find(|k| str_at(k, &["KeyType"]) == Some(kind))
            .and_then(|k| str_at(k, &["AttributeName"]))
            .map(str::to_owned)
    };
    assert_eq!(key(&table["KeySchema"], "HASH").as_deref(), Some(keys::PK));
    assert_eq!(key(&table["KeySchema"], "RANGE").as_deref(), Some(keys::SK));
    let indexes = table["GlobalSecondaryIndexes"].as_sequence().unwrap();
    assert_eq!(indexes.len(), keys::INDEXES.len());
    for (name, pk, sk) in keys::INDEXES {
        let ix = indexes
            .iter()
            .find(|i| str_at(i, &["IndexName"]) == Some(name))
            .unwrap_or_else(|| panic!("index {name}"));
        assert_eq!(key(&ix["KeySchema"], "HASH").as_deref(), Some(pk));
        assert_eq!(key(&ix["KeySchema"], "RANGE").as_deref(), Some(sk));
        assert_eq!(str_at(ix, &["Projection", "ProjectionType"]), Some("ALL"));
    }
    assert_eq!(
        str_at(table, &["TimeToLiveSpecification", "AttributeName"]),
        Some(keys::TTL)
    );
    assert_eq!(str_at(table, &["BillingMode"]), Some("PAY_PER_REQUEST"));
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
}

#[test]
fn the_complaint_queue_redrives_and_outlasts_the_router() {
    let t = template();
    let queue = &resource(&t, "ComplaintQueue")["Properties"];
    let max = queue["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap();
    assert!(max >= 5, "maxReceiveCount {max}");
    let visibility = queue["VisibilityTimeout"].as_u64().unwrap();
    let router = &resource(&t, "ComplaintRouterFunction")["Properties"];
    let timeout = router["Timeout"].as_u64().unwrap();
    assert!(
        visibility >= 6 * timeout,
        "visibility {visibility} < 6 x {timeout}"
    );
    let event = &router["Events"]["Complaints"]["Properties"];
    let types: Vec<&str> = event["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);

    let nightly = &resource(&t, "NightlyFunction")["Properties"]["Events"]["Nightly"];
    assert_eq!(str_at(nightly, &["Type"]), Some("ScheduleV2"));
    assert_eq!(
        str_at(nightly, &["Properties", "ScheduleExpressionTimezone"]),
        Some("Asia/Ho_Chi_Minh")
    );
    assert!(nightly["Properties"].get("RetryPolicy").is_some());
    assert!(nightly["Properties"].get("DeadLetterConfig").is_some());
}

#[test]
fn policies_are_least_privilege_and_nothing_scans() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for broad in [
        "DynamoDBCrudPolicy",
        "dynamodb:*",
        "dynamodb:Scan",
        "ses:*",
        "sqs:*",
        "AmazonDynamoDBFullAccess",
    ] {
        assert!(!text.contains(broad), "template grants {broad}");
    }
    // Only the functions that query indexes may Query.
    let t = template();
    for spec in SPECS {
        let statements = t["Resources"][spec.logical_id]["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap()
            .clone();
        let actions: Vec<String> = statements
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::Sequence(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                Value::String(a) => vec![a.clone()],
                _ => vec![],
            })
            .collect();
        let queries = actions.iter().any(|a| a == "dynamodb:Query");
        assert_eq!(
            queries,
            ["nightly", "staff-api"].contains(&spec.binary),
            "{} Query permission",
            spec.binary
        );
        assert_eq!(
            actions.iter().any(|a| a == "sqs:SendMessage"),
            spec.enqueues,
            "{} SendMessage",
            spec.binary
        );
        assert_eq!(
            actions.iter().any(|a| a == "ses:SendEmail"),
            spec.sends_mail,
            "{} SendEmail",
            spec.binary
        );
        // PutEvents only for the publishers, and only on the stack's bus.
        let put_events: Vec<&Value> = statements
            .iter()
            .filter(|s| s["Action"].as_str() == Some("events:PutEvents"))
            .collect();
        assert_eq!(
            !put_events.is_empty(),
            spec.publishes,
            "{} PutEvents",
            spec.binary
        );
        for s in put_events {
            assert!(
                matches!(&s["Resource"], Value::Tagged(t) if t.tag == "GetAtt" && t.value.as_str() == Some("EventBus.Arn")),
                "{} PutEvents beyond the stack's bus",
                spec.binary
            );
        }
    }
    // And no product code calls Scan (the benchmark harness, which copies the
    // emulator's items to make a large table, is not product code).
    for dir in ["shared", "functions", "infra"] {
        let mut stack = vec![root().join(dir)];
        while let Some(p) = stack.pop() {
            if p == root().join("infra").join("bench") {
                continue;
            }
            if p.is_dir() {
                stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("template.rs") {
                let code = std::fs::read_to_string(&p).unwrap();
                assert!(!code.contains(".scan()"), "{} calls Scan", p.display());
            }
        }
    }
}

/// Every path the staff router serves is routed to the staff function by the
/// HTTP API (a route added in code but not here would 404 on AWS only).
#[test]
fn every_staff_route_reaches_the_staff_function() {
    let t = template();
    let events = resource(&t, "StaffApiFunction")
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping)
        .expect("staff function events");
    let declared: Vec<&str> = events
        .values()
        .filter_map(|e| str_at(e, &["Properties", "Path"]))
        .collect();
    let router = std::fs::read_to_string(root().join("shared/core/src/http/staff/mod.rs")).unwrap();
    let served: Vec<&str> = router
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(served.len() >= 15, "read the router's routes: {served:?}");
    for path in served {
        assert!(
            declared.contains(&path),
            "{path} is served but not routed in template.yaml"
        );
    }
}

/// Logs are kept a bounded time and never carry a link token; staff sign in
/// with a second factor and sign-in never reveals who is staff; mail goes out
/// only from the verified domain.
#[test]
fn logs_sign_in_and_mail_are_locked_down() {
    let t = template();
    for spec in SPECS {
        let f = resource(&t, spec.logical_id);
        // `!Ref X` reads as a tagged value.
        let group = match f
            .get("Properties")
            .and_then(|p| p.get("LoggingConfig"))
            .and_then(|l| l.get("LogGroup"))
        {
            Some(Value::Tagged(t)) if t.tag == "Ref" => t.value.as_str().unwrap_or_default(),
            other => panic!("{} logs to its own group: {other:?}", spec.logical_id),
        };
        assert!(
            resource(&t, group)
                .get("Properties")
                .and_then(|p| p.get("RetentionInDays"))
                .is_some(),
            "{group} has a retention"
        );
    }
    let api = resource(&t, "HttpApi");
    let format = str_at(api, &["Properties", "AccessLogSettings", "Format"]).expect("access logs");
    assert!(format.contains("$context.routeKey"));
    assert!(
        !format.contains("$context.path"),
        "the path carries link tokens"
    );
    assert_eq!(
        str_at(
            resource(&t, "StaffUserPool"),
            &["Properties", "MfaConfiguration"]
        ),
        Some("ON")
    );
    assert_eq!(
        str_at(
            resource(&t, "StaffUserPoolClient"),
            &["Properties", "PreventUserExistenceErrors"]
        ),
        Some("ENABLED")
    );
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let sends = text.matches("Action: ses:SendEmail").count();
    assert!(sends >= 3);
    assert_eq!(
        text.matches("ses:FromAddress").count(),
        sends,
        "every send is conditioned"
    );
}

/// Each function writes only the item kinds its spec names: the template's
/// `dynamodb:LeadingKeys` condition on every write says exactly that.
#[test]
fn writes_are_limited_to_each_functions_item_kinds() {
    let t = template();
    let write_actions = [
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
        "dynamodb:BatchWriteItem",
    ];
    for spec in SPECS {
        let statements = t["Resources"][spec.logical_id]["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .unwrap();
        let mut limited = 0;
        for s in statements {
            let actions: Vec<&str> = match &s["Action"] {
                Value::Sequence(a) => a.iter().filter_map(Value::as_str).collect(),
                Value::String(a) => vec![a.as_str()],
                _ => vec![],
            };
            if !actions.iter().any(|a| write_actions.contains(a)) {
                continue;
            }
            let keys: Vec<&str> = s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{}: a write without LeadingKeys", spec.binary))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let expected: Vec<String> = spec
                .writes
                .iter()
                .map(|p| {
                    if p.ends_with('#') {
                        format!("{p}*")
                    } else {
                        (*p).to_owned()
                    }
                })
                .collect();
            assert_eq!(keys, expected, "{} writes", spec.binary);
            limited += 1;
        }
        assert_eq!(limited, 1, "{}: one write statement", spec.binary);
    }
    // The public rating function can never write a case or the directory.
    let rating = SPECS.iter().find(|s| s.binary == "rating-form").unwrap();
    assert!(!rating.writes.iter().any(|w| ["CASE#", "ORG"].contains(w)));
}

/// The staff API's OpenAPI document names every JSON route the router serves.
#[test]
fn the_staff_openapi_document_covers_every_api_route() {
    let doc: Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join("shared/core/api/staff-v1.yaml")).unwrap(),
    )
    .unwrap();
    let documented = keys_of(doc.get("paths"));
    let router = std::fs::read_to_string(root().join("shared/core/src/http/staff/mod.rs")).unwrap();
    for path in router
        .split(".route(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|p| p.starts_with("/v1/"))
    {
        assert!(
            documented.iter().any(|d| d == path),
            "{path} is not in staff-v1.yaml"
        );
    }
}

/// An optional per-client rate limit in front of the public pages: a CloudFront
/// distribution with the web ACL the operator names, only when one is named.
#[test]
fn the_public_pages_can_sit_behind_a_per_client_rate_rule() {
    let t = template();
    let dist = resource(&t, "PublicDistribution");
    assert_eq!(
        dist.get("Condition").and_then(Value::as_str),
        Some("HasPublicWaf")
    );
    let acl = &dist["Properties"]["DistributionConfig"]["WebACLId"];
    assert!(
        matches!(acl, Value::Tagged(tag) if tag.tag == "Ref" && tag.value.as_str() == Some("PublicWebAclArn"))
    );
    let waf: Value = serde_norway::from_str(
        &std::fs::read_to_string(root().join("infra/public-rate-limit-waf.yaml")).unwrap(),
    )
    .unwrap();
    let rule = &waf["Resources"]["PublicWebAcl"]["Properties"]["Rules"][0]["Statement"]["RateBasedStatement"];
    assert_eq!(
        rule["AggregateKeyType"].as_str(),
        Some("IP"),
        "per client address"
    );
    assert_eq!(
        str_at(&waf, &["Resources", "PublicWebAcl", "Properties", "Scope"]),
        Some("CLOUDFRONT")
    );
}

/// Staff sign in at the stack's user pool (or the authority's provider): its
/// own sign-in domain, a public console client with the code flow (PKCE) and
/// no more scope than who the person is, MFA kept on; the API's authorizer
/// takes that pool's ID tokens for that client; no attribute grants a role.
#[test]
fn the_console_signs_staff_in_at_the_user_pool() {
    let t = template();
    let domain = resource(&t, "StaffSignInDomain");
    assert_eq!(
        str_at(domain, &["Type"]),
        Some("AWS::Cognito::UserPoolDomain")
    );
    let client = &resource(&t, "StaffUserPoolClient")["Properties"];
    assert_eq!(
        client["GenerateSecret"].as_bool(),
        Some(false),
        "a public client"
    );
    assert_eq!(
        client["AllowedOAuthFlowsUserPoolClient"].as_bool(),
        Some(true)
    );
    let list = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(list(&client["AllowedOAuthFlows"]), ["code"]);
    assert_eq!(list(&client["AllowedOAuthScopes"]), ["openid", "email"]);
    assert!(
        client["CallbackURLs"]
            .as_sequence()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(
        client["LogoutURLs"]
            .as_sequence()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(
        !list(&client["ReadAttributes"])
            .iter()
            .any(|a| a.starts_with("custom:")),
        "no attribute grants a role"
    );
    assert_eq!(
        str_at(
            resource(&t, "StaffUserPool"),
            &["Properties", "MfaConfiguration"]
        ),
        Some("ON")
    );
    let jwt = &resource(&t, "HttpApi")["Properties"]["Auth"]["Authorizers"]["StaffJwt"]["JwtConfiguration"];
    let text = |v: &Value| serde_norway::to_string(v).unwrap();
    assert!(
        text(&jwt["issuer"]).contains("cognito-idp")
            && text(&jwt["issuer"]).contains("StaffUserPool")
    );
    assert!(text(&jwt["audience"]).contains("StaffUserPoolClient"));
    let env = &resource(&t, "StaffApiFunction")["Properties"]["Environment"]["Variables"];
    assert!(text(&env["CSQ_OIDC_ISSUER"]).contains("StaffUserPool"));
    assert!(text(&env["CSQ_OIDC_CLIENT_ID"]).contains("StaffUserPoolClient"));
}

/// The IT unit hears of trouble: an alarm, to the stack's topic, on every
/// dead-letter queue, each function's errors and throttles, the HTTP API's
/// 5xx rate, the oldest complaint's age, SES's bounce and complaint rates
/// (below SES's own review thresholds) and a nightly run that has not
/// succeeded for 26 hours (the metric the nightly function writes).
#[test]
fn every_failure_the_it_unit_must_hear_of_has_an_alarm() {
    let t = template();
    let resources = t["Resources"].as_mapping().unwrap();
    let alarms: Vec<&Value> = resources
        .values()
        .filter(|r| str_at(r, &["Type"]) == Some("AWS::CloudWatch::Alarm"))
        .collect();
    // `!Ref X` / `!GetAtt X.Attr` (tagged values): whether `v` names resource `id`.
    let names = |v: &Value, id: &str| {
        let s = format!("{v:?}");
        s.contains(&format!("String(\"{id}\")")) || s.contains(&format!("String(\"{id}."))
    };
    for a in &alarms {
        assert!(
            names(&a["Properties"]["AlarmActions"], "AlarmTopic"),
            "every alarm goes to the topic: {a:?}"
        );
    }
    let watching = |namespace: &str, metric: &str, dimension_ref: Option<&str>| {
        alarms.iter().any(|a| {
            let p = &a["Properties"];
            let same = str_at(p, &["Namespace"]) == Some(namespace)
                && str_at(p, &["MetricName"]) == Some(metric);
            same && dimension_ref.is_none_or(|id| names(&p["Dimensions"][0]["Value"], id))
        })
    };
    // Every queue that is some other queue's or schedule's dead letters.
    let template_text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for (id, r) in resources {
        let id = id.as_str().unwrap();
        if str_at(r, &["Type"]) == Some("AWS::SQS::Queue") && id.contains("DeadLetter") {
            assert!(
                template_text.contains(&format!("!GetAtt {id}.Arn")),
                "{id} is some queue's or schedule's dead letters"
            );
            assert!(
                watching("AWS/SQS", "ApproximateNumberOfMessagesVisible", Some(id)),
                "{id}: no alarm when it is not empty"
            );
        }
    }
    for spec in SPECS {
        for metric in ["Errors", "Throttles"] {
            assert!(
                watching("AWS/Lambda", metric, Some(spec.logical_id)),
                "{}: no alarm on {metric}",
                spec.logical_id
            );
        }
    }
    assert!(watching(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        Some("ComplaintQueue")
    ));
    for (metric, below) in [
        ("Reputation.BounceRate", 0.10),
        ("Reputation.ComplaintRate", 0.005),
    ] {
        let a = alarms
            .iter()
            .find(|a| str_at(&a["Properties"], &["MetricName"]) == Some(metric))
            .unwrap_or_else(|| panic!("no alarm on {metric}"));
        let threshold = a["Properties"]["Threshold"].as_f64().unwrap();
        assert!(
            threshold < below,
            "{metric} alarms before SES's review at {below}"
        );
    }
    let api_5xx = alarms.iter().any(|a| {
        format!("{:?}", a["Properties"]["Metrics"]).contains("5xx")
            && names(&a["Properties"]["Metrics"], "HttpApi")
    });
    assert!(api_5xx, "no alarm on the HTTP API's 5xx rate");
    // The nightly's own metric, in the namespace the function is told to write.
    let nightly = alarms
        .iter()
        .find(|a| str_at(&a["Properties"], &["MetricName"]) == Some("NightlySucceeded"))
        .expect("an alarm on the nightly run");
    let p = &nightly["Properties"];
    let hours = p["Period"].as_u64().unwrap() * p["EvaluationPeriods"].as_u64().unwrap() / 3600;
    assert_eq!(hours, 26);
    assert_eq!(
        str_at(p, &["TreatMissingData"]),
        Some("breaching"),
        "no run is a failure"
    );
    let told = &t["Globals"]["Function"]["Environment"]["Variables"]["CSQ_METRICS_NAMESPACE"];
    assert_eq!(format!("{:?}", p["Namespace"]), format!("{told:?}"));
    // One topic, an optional email subscription, a dashboard.
    assert_eq!(
        str_at(resource(&t, "AlarmTopic"), &["Type"]),
        Some("AWS::SNS::Topic")
    );
    assert_eq!(
        str_at(resource(&t, "AlarmEmailSubscription"), &["Condition"]),
        Some("HasAlarmEmail")
    );
    assert_eq!(
        str_at(resource(&t, "OperationsDashboard"), &["Type"]),
        Some("AWS::CloudWatch::Dashboard")
    );
}
