//! `POST /api/v1/login`: an account signs in on a device ([`sign_in`], shared with the
//! dashboard), registering the device's key and receiving a token.

use super::{ApiJson, check_protocol};
use crate::app::SharedState;
use crate::audit;
use crate::auth::{bearer_session, new_token};
use crate::error::{ApiError, ApiResult};
use crate::sign_in::{Refusal, sign_in};
use crate::store::NewDevice;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use fieldcheck_domain::limits::{TextKind, check_text};
use fieldcheck_protocol::{LoginRequest, LoginResponse, RevocationStatus};
use std::net::SocketAddr;

/// The API's answer to a refused sign-in (a wrong password is audited; the name is short, as
/// [`sign_in`] checked its length first).
async fn refused(state: &SharedState, req: &LoginRequest, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::TooLong => {
            let (zh, en) = crate::auth::login_input_too_long();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_login",
                format!("{zh} / {en}"),
            )
        }
        Refusal::TooMany { retry_after_secs } => {
            let minutes = retry_after_secs.div_ceil(60);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_logins",
                format!(
                    "登录失败次数过多，请 {minutes} 分钟后再试 / too many failed logins; try again in {minutes} minutes"
                ),
            );
            e.retry_after = Some(u32::try_from(retry_after_secs).unwrap_or(u32::MAX));
            e
        }
        Refusal::Busy => ApiError::busy(state.limits.retry_after_secs),
        Refusal::BadCredentials => {
            let detail = req.device_id.to_string();
            if let Err(e) = audit::record(state, None, "login_failed", &req.username, detail).await
            {
                return e;
            }
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_credentials",
                "用户名或密码错误 / wrong user name or password",
            )
        }
        Refusal::Disabled => ApiError::forbidden(
            "账号已停用，请联系创城办 / the account is disabled; contact the office",
        ),
        Refusal::Store(e) => e.into(),
    }
}

/// Signs in and registers the device.
#[utoipa::path(post, path = "/api/v1/login", tag = "auth",
    request_body(content = serde_json::Value, description = "LoginRequest (fieldcheck_protocol)", content_type = "application/json"),
    responses((status = 200, description = "LoginResponse"), (status = 401, description = "wrong name or password"),
        (status = 403, description = "account disabled or device revoked"), (status = 429, description = "too many failed logins")))]
pub async fn login(
    State(state): State<SharedState>,
    ext: Extensions,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    check_protocol(req.protocol_version)?;
    let key_ok = hex::decode(&req.device_public_key)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .is_some_and(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).is_ok());
    if !key_ok {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_device_key",
            "设备公钥应为 64 位十六进制 Ed25519 公钥 / device_public_key must be a 32-byte Ed25519 key in hex",
        ));
    }
    if let Err(f) = check_text(&req.device_label, TextKind::Line, false) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_device_label",
            format!("设备名称{} / device_label: {}", f.zh(), f.en()),
        ));
    }
    let address = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string());
    let user = match sign_in(&state, &req.username, &req.password, address).await {
        Ok(user) => user,
        Err(refusal) => return Err(refused(&state, &req, refusal).await),
    };
    let now = crate::clock::now_ms();
    let limits = &state.limits;
    let (token, token_hash) = new_token();
    let expires = now + i64::from(limits.token_ttl_days) * 86_400_000;
    state
        .store
        .register_device(&NewDevice {
            id: req.device_id,
            user_name: user.name.clone(),
            public_key: req.device_public_key.to_ascii_lowercase(),
            label: req.device_label.clone(),
            token_hash,
            token_expires_at: expires,
            at: now,
        })
        .await?;
    state
        .store
        .append_audit(&crate::store::AuditEntry {
            at: now,
            actor: user.name.clone(),
            device_id: Some(req.device_id),
            action: "login".into(),
            target: req.device_id.to_string(),
            detail: req.device_label.clone(),
        })
        .await?;
    Ok(Json(LoginResponse {
        token,
        token_expires_at: expires,
        device_id: req.device_id,
        display_name: Some(user.shown_name().to_string()),
        username: user.name,
        role: user.role,
        unit: user.unit,
        server_hlc: state.clock.now(),
        server_time_ms: crate::clock::now_ms(),
        county_id: Some(state.county_id().await?),
    }))
}

/// Tells a device whether it is revoked. Takes any token the server issued, revoked or expired
/// ones included (a revoked tablet asks this before it wipes itself).
#[utoipa::path(get, path = "/api/v1/device/revocation", tag = "auth",
    responses((status = 200, description = "RevocationStatus (fieldcheck_protocol)"),
        (status = 401, description = "missing or unknown token")),
    security(("bearer" = [])))]
pub async fn revocation(
    State(state): State<SharedState>,
    headers: HeaderMap,
) -> ApiResult<Json<RevocationStatus>> {
    let session = bearer_session(&headers, &state).await?;
    Ok(Json(RevocationStatus {
        device_id: session.device.id,
        revoked: session.device.revoked_at.is_some(),
        revoked_at: session.device.revoked_at,
    }))
}
