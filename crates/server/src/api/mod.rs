//! The HTTP handlers, one module per area, and the pieces they share.

pub mod admin;
pub mod auth;
pub mod findings;
pub mod meta;
pub mod photos;
pub mod pull;
pub mod push;

use crate::error::{ApiError, ApiResult};
use axum::extract::{FromRequest, Request};
use fieldcheck_protocol::PROTOCOL_VERSION;

/// A JSON body whose rejections become [`ApiError`]s with bilingual messages.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let axum::Json(v) = axum::Json::<T>::from_request(req, state).await?;
        Ok(ApiJson(v))
    }
}

/// The oldest protocol version the server still speaks: version 2 tablets are sent nothing
/// they cannot read (no photo records) and push no check-ins or marked copies.
pub const MIN_PROTOCOL_VERSION: u32 = 2;

/// Refuses a client speaking a protocol version the server does not.
pub fn check_protocol(version: u32) -> ApiResult<()> {
    if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&version) {
        return Ok(());
    }
    Err(ApiError::bad_request(
        "protocol_version",
        format!(
            "协议版本 {version} 不受支持，服务器为 {PROTOCOL_VERSION}，请更新应用 / protocol version {version} is not supported; the server speaks {PROTOCOL_VERSION}: update the app"
        ),
    ))
}

/// Refuses a device stamp too far ahead and merges it into the server's clock.
pub fn merge_clock(state: &crate::app::AppState, hlc: fieldcheck_protocol::Hlc) -> ApiResult<()> {
    state.clock.merge(hlc).map_err(|e| {
        ApiError::bad_request(
            "clock_drift",
            format!("{e}：请校准设备时间 / set the device clock right"),
        )
    })
}
