//! The declaration system's view of `POST /v1/forms`.

use serde_json::{Value, json};

use crate::helpers::{declaration, error_fields, number, spawn_app};

#[tokio::test]
async fn issue_returns_201_then_200_and_sends_one_email() {
    let app = spawn_app().await;
    let body = declaration(&number());
    let first = app.issue(&body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["subjects"].as_array().unwrap().len(), 7);
    assert_eq!(first["subjects"][0]["key"], "branch:03CC");
    assert!(first["expires_at"].is_string());
    assert_eq!(first["unknown_units"], json!([]));

    let again = app.issue(&body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["form_id"], first["form_id"]);
    let emails = app.emails();
    assert_eq!(emails.len(), 1, "a repeated declaration sends nothing");
    let invitation = &emails[0];
    assert!(
        invitation.html.contains(&format!("{}/f/", app.base)),
        "the HTML part has the link too"
    );
    assert!(
        invitation
            .text
            .contains("Kính gửi Công ty TNHH Thương mại ABC")
    );
}

#[tokio::test]
async fn concurrent_issues_of_one_declaration_make_one_form_and_one_email() {
    let app = std::sync::Arc::new(spawn_app().await);
    let body = declaration(&number());
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (app, body) = (app.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            app.issue(&body).await.status().as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap());
    }
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 5, "{codes:?}");
    assert_eq!(app.emails().len(), 1);
}

#[tokio::test]
async fn callers_without_the_key_are_refused() {
    let app = spawn_app().await;
    let url = format!("{}/v1/forms", app.base);
    let body = declaration(&number());
    let none = app.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = app
        .http
        .post(&url)
        .bearer_auth("not-the-key")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let err: Value = wrong.json().await.unwrap();
    assert_eq!(err["error"]["code"], "unauthorized");
    assert!(app.emails().is_empty());
}

#[tokio::test]
async fn bad_bodies_get_clear_errors_and_store_nothing() {
    let app = spawn_app().await;
    let url = format!("{}/v1/forms", app.base);
    let key = app.host.secrets.integration_key.clone();

    let not_json = app
        .http
        .post(&url)
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let text = app
        .http
        .post(&url)
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);

    let mut body = declaration(&number());
    body["declaration"]["number"] = json!("12AB");
    body["declaration"]["lane"] = json!("purple");
    body["business"]["email"] = json!("xnk@abc.com.vn\r\nBcc: spy@evil.example");
    body["business"]["name"] = json!("ABC\r\nX-Injected: yes");
    body["handling"][1]["stage"] = json!("coffee");
    let res = app.issue(&body).await;
    assert_eq!(res.status(), 422);
    let err: Value = res.json().await.unwrap();
    let fields = error_fields(&err);
    assert_eq!(
        fields,
        [
            "declaration.number",
            "declaration.lane",
            "business.name",
            "business.email",
            "handling[1].stage"
        ],
        "every problem at once"
    );
    assert!(
        err["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("12 digits")
    );

    let huge = json!({"declaration": {"number": "1".repeat(100_000)}});
    let res = app.issue(&huge).await;
    assert_eq!(res.status(), 413);
    assert!(app.emails().is_empty(), "nothing was issued");
}

#[tokio::test]
async fn unknown_units_are_accepted_and_flagged() {
    let app = spawn_app().await;
    let mut body = declaration(&number());
    body["declaration"]["customs_office"] = json!("99ZZ");
    body["handling"][0]["team"] = json!("99ZZ01");
    let res = app.issue(&body).await;
    assert_eq!(res.status(), 201);
    let v: Value = res.json().await.unwrap();
    // 03CC02 (the other handling record's team) is in the directory: not flagged.
    assert_eq!(v["unknown_units"], json!(["99ZZ", "99ZZ01"]));
}

/// The OpenAPI document is the contract the declaration system codes against:
/// its example must be accepted, its enums must be the code's, and every field
/// it promises in a response must be there.
#[tokio::test]
async fn the_openapi_document_matches_the_code() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/core/api/integration-v1.yaml"
    );
    let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let op = &doc["paths"]["/v1/forms"]["post"];
    let example = op["requestBody"]["content"]["application/json"]["example"].clone();
    let schemas = &doc["components"]["schemas"];

    let stages: Vec<&str> = schemas["FormRequest"]["properties"]["handling"]["items"]["properties"]
        ["stage"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let code_stages: Vec<&str> = csq_core::domain::declaration::Stage::ALL
        .iter()
        .map(|s| s.code())
        .collect();
    assert_eq!(stages, code_stages);
    let lanes = &schemas["FormRequest"]["properties"]["declaration"]["properties"]["lane"]["enum"];
    assert_eq!(lanes, &json!(["green", "yellow", "red"]));
    assert_eq!(
        schemas["FormRequest"]["properties"]["handling"]["maxItems"],
        json!(csq_core::domain::declaration::MAX_HANDLING)
    );

    let app = spawn_app().await;
    let res = app.issue(&example).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    for field in schemas["IssuedForm"]["required"].as_array().unwrap() {
        assert!(
            body.get(field.as_str().unwrap()).is_some(),
            "response lacks {field}"
        );
    }
    for status in ["200", "201", "401", "413", "415", "422"] {
        assert!(
            op["responses"].get(status).is_some(),
            "{status} undocumented"
        );
    }
}
