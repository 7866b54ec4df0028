//! Lambda: the public rating form (`/f/{token}`), page and submission.

use csq_aws::lambda::{env::RATING_FORM, run_http};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&RATING_FORM, csq_core::http::rating_form::router).await
}
