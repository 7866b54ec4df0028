//! Shared by the end-to-end tests (`e2e/`), the throughput benchmark (`benches/`)
//! and the Lambda benchmark harness (`infra/bench`).

/// The value of a hidden form field on a page, such as the CSRF token a browser
/// posts back with the rating form.
pub fn hidden_value(page: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_owned())
}
