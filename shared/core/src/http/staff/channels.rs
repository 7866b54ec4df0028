//! The department's channels: the suppression list (by address, in a POST
//! body so no address lands in a URL or an access log) and, where this host
//! delivers them, the webhooks and their dead letters.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Staff;
use crate::app::channels::ChannelError;
use crate::domain::kiosk::Kiosk;
use crate::domain::webhook::{Delivery, Webhook};
use crate::http::{ApiError, StaffApi};
use crate::policy::StaffRoute;

impl From<ChannelError> for ApiError {
    fn from(e: ChannelError) -> Self {
        match e {
            ChannelError::NotAnAddress(_) => ApiError::Fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![crate::domain::fields::FieldError::new(
                    "address",
                    e.to_string(),
                )],
            ),
            ChannelError::BadUrl(_) => ApiError::Fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![crate::domain::fields::FieldError::new("url", e.to_string())],
            ),
            ChannelError::UnknownOffice(_) => ApiError::Fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![crate::domain::fields::FieldError::new(
                    "office",
                    e.to_string(),
                )],
            ),
            ChannelError::KioskName(_) => ApiError::Fields(
                StatusCode::UNPROCESSABLE_ENTITY,
                vec![crate::domain::fields::FieldError::new(
                    "name",
                    e.to_string(),
                )],
            ),
            ChannelError::TooManyKiosks => {
                ApiError::new(StatusCode::CONFLICT, "too_many_kiosks", e.to_string())
            }
            ChannelError::TooManyWebhooks => {
                ApiError::new(StatusCode::CONFLICT, "too_many_webhooks", e.to_string())
            }
            ChannelError::NoWebhooksHere => {
                ApiError::new(StatusCode::NOT_FOUND, "no_webhooks_here", e.to_string())
            }
            ChannelError::Storage(e) => ApiError::internal(&e),
        }
    }
}

/// A JSON body, or a 422 saying what to send.
pub(super) fn body<T: DeserializeOwned>(bytes: &Bytes, what: &str) -> Result<T, ApiError> {
    crate::http::object_body(bytes, |e| {
        ApiError::Fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![crate::domain::fields::FieldError::new(
                "$",
                format!("Send {what}: {e}"),
            )],
        )
    })
}

#[derive(Deserialize)]
struct AddressBody {
    address: String,
}

const ADDRESS_BODY: &str = "{\"address\": \"...\"}";

/// Whether invitations go to an address.
pub(super) async fn suppression_lookup(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: AddressBody = body(&bytes, ADDRESS_BODY)?;
    let standing = state.channels.standing_of(&who.who.sub, &b.address).await?;
    Ok(Json(match standing.suppressed {
        Some(s) => json!({"suppressed": true, "reason": s.reason.code(), "since": s.at}),
        None => json!({"suppressed": false, "reason": null, "since": null}),
    })
    .into_response())
}

/// Puts an address on the list: 201 when newly listed, 200 when it was.
pub(super) async fn suppress(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: AddressBody = body(&bytes, ADDRESS_BODY)?;
    let added = state.channels.suppress(&who.who.sub, &b.address).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({"suppressed": true, "added": added}))).into_response())
}

/// Takes an address off the list: invitations go to it again.
pub(super) async fn lift_suppression(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: AddressBody = body(&bytes, ADDRESS_BODY)?;
    let lifted = state
        .channels
        .lift_suppression(&who.who.sub, &b.address)
        .await?;
    Ok(Json(json!({"suppressed": false, "lifted": lifted})).into_response())
}

/// A receiver as the department reads it: never its secret.
fn webhook_view(h: &Webhook) -> serde_json::Value {
    json!({"id": h.id, "url": h.url, "created_at": h.created_at})
}

fn delivery_view(d: &Delivery) -> serde_json::Value {
    json!({
        "event_id": d.event_id,
        "webhook_id": d.webhook_id,
        "event_type": d.event_type,
        "state": d.state.code(),
        "attempts": d.attempts,
        "last_error": d.last_error,
    })
}

pub(super) async fn webhooks(
    State(state): State<StaffApi>,
    Staff(who): Staff,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let hooks = state.channels.webhooks().await?;
    Ok(Json(json!({"items": hooks.iter().map(webhook_view).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
struct UrlBody {
    url: String,
}

/// Registers a receiver: 201 with its secret, shown this once.
pub(super) async fn add_webhook(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: UrlBody = body(&bytes, "{\"url\": \"https://...\"}")?;
    let hook = state.channels.add_webhook(&who.who.sub, &b.url).await?;
    let mut view = webhook_view(&hook);
    view["secret"] = json!(hook.secret);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(super) async fn remove_webhook(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    if state.channels.remove_webhook(&who.who.sub, &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No webhook {id}."),
        ))
    }
}

pub(super) async fn dead_letters(
    State(state): State<StaffApi>,
    Staff(who): Staff,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let dead = state.channels.dead_letters().await?;
    Ok(Json(json!({"items": dead.iter().map(delivery_view).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
struct RedeliverBody {
    event_id: Option<String>,
}

/// Sends one event again (`event_id`), or every dead letter (none given).
pub(super) async fn redeliver(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: RedeliverBody = body(&bytes, "{\"event_id\": \"...\"} or {}")?;
    let queued = state
        .channels
        .redeliver(&who.who.sub, b.event_id.as_deref())
        .await?;
    Ok(Json(json!({"queued": queued})).into_response())
}

/// A counter tablet as the department reads it: never its credential or hash.
fn kiosk_view(k: &Kiosk) -> serde_json::Value {
    json!({
        "id": k.id,
        "office": k.office,
        "name": k.name,
        "registered_at": k.registered_at,
        "registered_by": k.registered_by,
        "revoked_at": k.revoked_at,
    })
}

pub(super) async fn kiosks(
    State(state): State<StaffApi>,
    Staff(who): Staff,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let kiosks = state.channels.kiosks().await?;
    Ok(Json(json!({"items": kiosks.iter().map(kiosk_view).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
struct KioskBody {
    office: String,
    name: String,
}

/// Registers a counter tablet: 201 with its credential, shown this once, to
/// be entered on the tablet at `/kiosk`.
pub(super) async fn register_kiosk(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    let b: KioskBody = body(&bytes, "{\"office\": \"03CC\", \"name\": \"Quầy 1\"}")?;
    let (kiosk, credential) = state
        .channels
        .register_kiosk(&who.who.sub, &b.office, &b.name)
        .await?;
    let mut view = kiosk_view(&kiosk);
    view["credential"] = json!(credential);
    view["start_url"] = json!(state.channels.kiosk_start_url());
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub(super) async fn revoke_kiosk(
    State(state): State<StaffApi>,
    Staff(who): Staff,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.may_use(StaffRoute::Channels)?;
    if state.channels.revoke_kiosk(&who.who.sub, &id).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No tablet {id} to revoke."),
        ))
    }
}
