//! `POST /api/v1/sync/push`: a contiguous run of one device's outbox, validated whole and
//! applied in one transaction. Entries already acknowledged are skipped before any check;
//! names come from the token, steps obey the rectification policy. Replays are no-ops; the
//! answer acknowledges the device's gap-free applied prefix and carries the server's clock.
//! The store records the push in the audit log in the push's own transaction.
//!
//! `POST /api/v1/sync/turn`: a device holding a number in the push line
//! ([`crate::push_line`]) asks whether its turn has come without sending its batch again.

use super::{ApiJson, check_protocol, merge_clock};
use crate::app::SharedState;
use crate::auth::DeviceUser;
use crate::error::{ApiError, ApiResult};
use crate::validate;
use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use fieldcheck_protocol::{PushRequest, PushResponse};
use fieldcheck_store::PushComing;
use std::sync::Arc;

/// Asks for the device's turn in the push line, with no body, and waits for it on the server
/// for at most [`crate::push_line::TURN_WAIT`]: 204 as soon as its turn has come (on SQLite
/// its place is held for its push for [`crate::push_line::HOLD`]), 503 `queued` with its
/// place and when to ask again otherwise, as a push would be answered.
#[utoipa::path(post, path = "/api/v1/sync/turn", tag = "sync",
    responses((status = 204, description = "the device's turn (waited for on the server for up to 5 s): push now (on SQLite its place is held for 5 s)"),
        (status = 401, description = "no valid token"), (status = 403, description = "not a device account"),
        (status = 503, description = "queued: ErrorBody.retry_after_ms and ahead, Retry-After; or server busy")),
    security(("bearer" = [])))]
pub async fn turn(
    State(state): State<SharedState>,
    DeviceUser(caller): DeviceUser,
) -> ApiResult<StatusCode> {
    match state.push_line.wait_turn(caller.device.id).await {
        None => Ok(StatusCode::NO_CONTENT),
        Some((retry_after, ahead)) => Err(ApiError::queued(retry_after, ahead)),
    }
}

/// Applies a batch of outbox entries.
#[utoipa::path(post, path = "/api/v1/sync/push", tag = "sync",
    request_body(content = serde_json::Value, description = "PushRequest (fieldcheck_protocol): device_id, hlc, entries with consecutive seq", content_type = "application/json"),
    responses((status = 200, description = "PushResponse: acked_through, server_hlc"),
        (status = 400, description = "malformed body or unknown protocol version"),
        (status = 401, description = "no valid token"), (status = 403, description = "records of another device"),
        (status = 409, description = "sequence gap: ErrorBody.expected_seq"),
        (status = 422, description = "a record is invalid: ErrorBody.seq and field"),
        (status = 503, description = "server busy; Retry-After")),
    security(("bearer" = [])))]
pub async fn push(
    State(state): State<SharedState>,
    DeviceUser(caller): DeviceUser,
    coming: Option<Extension<Arc<PushComing>>>,
    ApiJson(mut req): ApiJson<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    check_protocol(req.protocol_version)?;
    if req.device_id != caller.device.id {
        return Err(ApiError::forbidden(format!(
            "令牌属于设备 {}，不能代设备 {} 推送 / the token belongs to device {}, not {}",
            caller.device.id, req.device_id, caller.device.id, req.device_id
        )));
    }
    if req.entries.len() > state.limits.max_batch_entries {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!(
                "一批最多 {} 条，请分批推送 / at most {} entries per push; split the batch",
                state.limits.max_batch_entries, state.limits.max_batch_entries
            ),
        ));
    }
    merge_clock(&state, req.hlc)?;
    validate::check_sequence(&req.entries)?;
    let acked = validate::unacknowledged(&req.entries, caller.device.high_seq);
    let fresh = &mut req.entries[acked..];
    validate::stamp_account(fresh, &caller.user.name);
    validate::check_device(fresh, caller.device.id)?;
    validate::check_stamps(fresh, |h| state.clock.within_drift(h))?;
    let refs = state.store.lookup(&validate::references(fresh)).await?;
    let key = caller.device.public_key.clone();
    let pusher = validate::Pusher {
        device: caller.device.id,
        role: caller.user.role,
        key: &key,
        county: state.county_id().await?,
    };
    validate::check_records(
        fresh,
        &pusher,
        refs,
        state.limits.max_photo_bytes,
        state.limits.max_image_side,
    )?;
    if let Some(Extension(coming)) = &coming {
        coming.arrived();
    }
    let outcome = state
        .store
        .apply_push(caller.device.id, &key, &req.entries)
        .await?;
    let brought_findings = req.entries[acked..]
        .iter()
        .any(|e| matches!(e.record, fieldcheck_protocol::Record::Finding(_)));
    if brought_findings {
        state.wake_dispatcher();
    }
    let brought_steps = req.entries[acked..]
        .iter()
        .any(|e| matches!(e.record, fieldcheck_protocol::Record::Rectification(_)));
    if brought_steps {
        state.wake_notifier();
    }
    Ok(Json(PushResponse {
        acked_through: outcome.high_seq,
        applied: outcome.applied,
        server_hlc: state.clock.now(),
        server_time_ms: crate::clock::now_ms(),
    }))
}
