//! Lambda: the public rating form (`/f/{token}`), page and submission, the
//! opt-out link and the public monthly report.

use csq_aws::lambda::{env::RATING_FORM, run_http};
use csq_core::http::{PublicSite, rating_form};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    run_http(&RATING_FORM, |env| {
        Ok(rating_form::router(PublicSite {
            rating: env.rating()?,
            figures: env.figures(),
            pages: env.pages(),
        }))
    })
    .await
}
