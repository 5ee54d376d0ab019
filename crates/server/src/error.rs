//! API errors: each has a status, a stable code and a bilingual message a person can act on,
//! sent as a [`fieldcheck_protocol::ErrorBody`].

use crate::store::StoreError;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldcheck_protocol::ErrorBody;

/// An error answer.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code.
    pub code: &'static str,
    /// "中文 / English" message.
    pub message: String,
    /// Extra fields of the body.
    pub expected_seq: Option<u64>,
    /// Outbox seq of the refused record.
    pub seq: Option<u64>,
    /// Field at fault.
    pub field: Option<String>,
    /// Seconds for a Retry-After header.
    pub retry_after: Option<u32>,
    /// For `queued`: the wait in milliseconds and the devices ahead (32 bits each, so that
    /// every handler's error stays small).
    pub queued: Option<(u32, u32)>,
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            expected_seq: None,
            seq: None,
            field: None,
            retry_after: None,
            queued: None,
        }
    }

    /// 400 for a request that cannot be understood.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404: no such thing (or not visible to the caller).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 422 for one record of a push: names its seq and field.
    pub fn invalid_record(seq: u64, field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record", message);
        e.seq = Some(seq);
        e.field = Some(field.to_string());
        e
    }

    /// 503 with Retry-After, when the server is at its limit of concurrent syncs.
    pub fn busy(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!(
                "服务器繁忙，请 {retry_after} 秒后重试 / server busy, retry in {retry_after} s"
            ),
        );
        e.retry_after = Some(u32::try_from(retry_after).unwrap_or(u32::MAX));
        e
    }

    /// 503 `queued`: the push's device has a number in the line ([`crate::push_line`]) and
    /// comes back after `wait`, with `ahead` devices before it.
    pub fn queued(wait: std::time::Duration, ahead: usize) -> Self {
        let ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
        let secs = ms.div_ceil(1000);
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queued",
            format!(
                "正在排队：前面还有 {ahead} 台平板，约 {secs} 秒后自动继续 / in line: {ahead} tablets ahead, continuing in about {secs} s"
            ),
        );
        e.retry_after = Some(secs);
        e.queued = Some((ms, u32::try_from(ahead).unwrap_or(u32::MAX)));
        e
    }

    /// 500; the detail goes to the log, not to the caller.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，请稍后重试或联系管理员 / internal server error; retry later or tell the administrator",
        )
    }
}

/// An office write refused: 422 naming the field, 403 for a step the role may not take, 409
/// for a step that does not apply now, 503 when busy.
impl From<crate::office::OfficeError> for ApiError {
    fn from(e: crate::office::OfficeError) -> Self {
        use crate::office::OfficeError;
        match e {
            OfficeError::Invalid { code, fault } => fault.into_api(code),
            OfficeError::Forbidden { .. } => {
                ApiError::new(StatusCode::FORBIDDEN, "step_not_allowed", e.to_string())
            }
            OfficeError::NotApplicable { .. } => {
                ApiError::new(StatusCode::CONFLICT, "step_not_applicable", e.to_string())
            }
            OfficeError::Busy => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string())
            }
            OfficeError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Gap { expected } => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "sequence_gap",
                    format!(
                        "序号不连续：服务器期待从 {expected} 开始 / sequence gap: the server expects seq {expected} next; resend from there"
                    ),
                );
                err.expected_seq = Some(expected);
                err
            }
            StoreError::Conflict(m) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("冲突 / conflict: {m}"),
            ),
            StoreError::DeviceRevoked(id) => ApiError::new(
                StatusCode::FORBIDDEN,
                "device_revoked",
                format!(
                    "设备 {id} 已被注销，请联系创城办 / device {id} is revoked; contact the office"
                ),
            ),
            StoreError::DeviceBound(id) => ApiError::new(
                StatusCode::CONFLICT,
                "device_bound",
                format!(
                    "设备 {id} 已登记给其他账号或密钥，请联系管理员重置此设备 / device {id} is registered to another account or key; ask the administrator to reset it"
                ),
            ),
            StoreError::UnknownDevice(id) => ApiError::unauthorized(format!(
                "设备 {id} 未注册，请重新登录 / device {id} is not registered; log in again"
            )),
            other => ApiError::internal(other),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let (code, zh) = match &r {
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => {
                ("body_too_large", "请求体超过上限，请分批发送")
            }
            JsonRejection::JsonSyntaxError(_) => ("malformed_json", "JSON 格式错误"),
            JsonRejection::JsonDataError(_) => ("invalid_json", "JSON 字段或类型不对"),
            JsonRejection::MissingJsonContentType(_) => {
                ("content_type", "需要 Content-Type: application/json")
            }
            _ => ("invalid_body", "请求体无法读取"),
        };
        ApiError::new(status, code, format!("{zh} / {}", r.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_string(),
            message: self.message,
            expected_seq: self.expected_seq,
            seq: self.seq,
            field: self.field,
            retry_after_ms: self.queued.map(|(ms, _)| u64::from(ms)),
            ahead: self.queued.map(|(_, ahead)| u64::from(ahead)),
        };
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
