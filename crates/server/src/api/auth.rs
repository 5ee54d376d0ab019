//! `POST /api/v1/login`: an account signs in on a device, registering the device's key and
//! receiving a token. Failed attempts are counted in the store per account and per address
//! (so replicas share the count) and refused with 429 beyond the limit.

use super::{ApiJson, check_protocol};
use crate::app::SharedState;
use crate::audit;
use crate::auth::{bearer_session, hash_password, new_token, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::store::NewDevice;
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use fieldcheck_core::limits::{TextKind, check_text};
use fieldcheck_protocol::{LoginRequest, LoginResponse, RevocationStatus};
use std::net::SocketAddr;
use std::sync::LazyLock;

/// A hash to check against when the account does not exist.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("fieldcheck-no-such-account").unwrap_or_default());

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
    if !crate::auth::login_input_fits(&req.username, &req.password) {
        let (zh, en) = crate::auth::login_input_too_long();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_login",
            format!("{zh} / {en}"),
        ));
    }
    let now = crate::clock::now_ms();
    let limits = &state.limits;
    let since = now - (limits.login_window_secs as i64) * 1000;
    let user_key = format!("user:{}", req.username);
    let addr_key = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| format!("addr:{}", a.ip()));
    // Tablets of one office may share an address, so an address gets ten times the allowance.
    let checks = std::iter::once((&user_key, limits.login_max_failures)).chain(
        addr_key
            .as_ref()
            .map(|k| (k, limits.login_max_failures * 10)),
    );
    for (key, allowed) in checks {
        if state.store.login_failures_since(key, since).await? >= allowed {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_logins",
                format!(
                    "登录失败次数过多，请 {} 分钟后再试 / too many failed logins; try again in {} minutes",
                    limits.login_window_secs / 60,
                    limits.login_window_secs / 60
                ),
            );
            e.retry_after = Some(limits.login_window_secs);
            return Err(e);
        }
    }
    let user = state.store.user(&req.username).await?;
    let password = req.password.clone();
    // An unknown name costs the same hash check as a known one, so timing does not tell names.
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|_| ok) else {
        for key in std::iter::once(&user_key).chain(addr_key.as_ref()) {
            state.store.record_login_failure(key, now).await?;
        }
        audit::record(
            &state,
            None,
            "login_failed",
            &req.username,
            req.device_id.to_string(),
        )
        .await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "用户名或密码错误 / wrong user name or password",
        ));
    };
    if user.disabled {
        return Err(ApiError::forbidden(
            "账号已停用，请联系创城办 / the account is disabled; contact the office",
        ));
    }
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
    state.store.clear_login_failures(&user_key).await?;
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
        username: user.name,
        role: user.role,
        unit: user.unit,
        server_hlc: state.clock.now(),
        server_time_ms: crate::clock::now_ms(),
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
