//! Passwords (Argon2id), device tokens (256 random bits, stored as SHA-256) and the
//! [`Caller`] extractor that every protected route takes.

use crate::app::SharedState;
use crate::error::{ApiError, ApiResult};
use crate::store::{DeviceRow, PullScope, SessionRow, UserRow};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fieldcheck_protocol::Role;

/// Longest password accepted at sign-in, in bytes: beyond anything a person types.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Whether a sign-in's user name (at most [`fieldcheck_domain::limits::MAX_NAME`] characters) and password
/// (at most [`MAX_PASSWORD_BYTES`]) could belong to an account at all. Both sign-in doors, the
/// API and the dashboard, refuse others before anything is counted, hashed or audited.
pub fn login_input_fits(username: &str, password: &str) -> bool {
    username.chars().count() <= fieldcheck_domain::limits::MAX_NAME
        && password.len() <= MAX_PASSWORD_BYTES
}

/// The refusal of a sign-in that [`login_input_fits`] rejects: (中文, English).
pub fn login_input_too_long() -> (String, String) {
    let (name, password) = (fieldcheck_domain::limits::MAX_NAME, MAX_PASSWORD_BYTES);
    (
        format!("用户名或密码过长（用户名最多 {name} 字，密码最多 {password} 字节）"),
        format!(
            "the user name or password is too long (at most {name} characters and {password} bytes)"
        ),
    )
}
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Hashing a password failed (never for valid input; kept as an error, not a panic).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password with Argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether a password matches a PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A fresh token (64 hex digits) and the hash the server keeps.
pub fn new_token() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let hash = token_hash(&token);
    (token, hash)
}

/// Hex SHA-256 of a token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated account and device behind a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account.
    pub user: UserRow,
    /// The device the token was issued to.
    pub device: DeviceRow,
}

impl Caller {
    /// The caller as the office service's actor, at the API's door.
    pub fn actor(&self) -> crate::office::Actor {
        crate::office::Actor {
            name: self.user.name.clone(),
            role: self.user.role,
            device: Some(self.device.id),
            door: crate::office::Door::Api,
        }
    }

    /// Refuses with 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> ApiResult<()> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "角色 {} 无权执行此操作 / role {} may not do this",
                self.user.role.as_str(),
                self.user.role.as_str()
            )))
        }
    }

    /// What the caller pulls: admins everything, inspectors reference data, every unit's steps
    /// and items addressed to them, unit members reference data and their unit's steps.
    pub fn pull_scope(&self) -> PullScope {
        match self.user.role {
            Role::Admin => PullScope::Everything,
            Role::Inspector => PullScope::Inspector(self.user.name.clone()),
            Role::UnitMember => PullScope::Unit(self.user.unit.clone().unwrap_or_default()),
        }
    }

    /// The unit a unit member is confined to (`Some("")` if it has none); `None` for others.
    pub fn unit_scope(&self) -> Option<&str> {
        match self.user.role {
            Role::UnitMember => Some(self.user.unit.as_deref().unwrap_or("")),
            _ => None,
        }
    }
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
        // The sync routes' slot layer has already authenticated the request.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let session = bearer_session(&parts.headers, state).await?;
        if session.device.revoked_at.is_some() {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "token_revoked",
                "此设备已被注销，请联系创城办 / this device was revoked; contact the office",
            ));
        }
        if session.device.token_expires_at <= crate::clock::now_ms() {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "token_expired",
                "登录已过期，请重新登录 / the token has expired; log in again",
            ));
        }
        if session.user.disabled {
            return Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "account_disabled",
                "账号已停用，请联系创城办 / the account is disabled; contact the office",
            ));
        }
        Ok(Caller {
            user: session.user,
            device: session.device,
        })
    }
}

/// The account and device of the request's bearer token, whatever their state (revoked,
/// expired, disabled); 401 when the header is missing or the token unknown.
pub async fn bearer_session(headers: &HeaderMap, state: &SharedState) -> ApiResult<SessionRow> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "需要登录：缺少 Authorization: Bearer 令牌 / login required: missing Authorization: Bearer token",
            )
        })?;
    state
        .store
        .session(&token_hash(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("令牌无效，请重新登录 / unknown token; log in again"))
}

/// Declares an extractor that admits only some roles, checked before any body is read.
macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, [$($role:expr),+]) => {
        $(#[$doc])*
        pub struct $name(pub Caller);

        impl FromRequestParts<SharedState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> ApiResult<Self> {
                let caller = Caller::from_request_parts(parts, state).await?;
                caller.require(&[$($role),+])?;
                Ok($name(caller))
            }
        }
    };
}

role_extractor!(
    /// An inspector or admin: device-bound sync work.
    DeviceUser,
    [Role::Inspector, Role::Admin]
);
role_extractor!(
    /// An admin or unit member: answers to findings.
    OfficeUser,
    [Role::Admin, Role::UnitMember]
);
role_extractor!(
    /// An admin.
    AdminUser,
    [Role::Admin]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("正确的密码").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "正确的密码"));
        assert!(!verify_password(&h, "wrong"));
        let (t, th) = new_token();
        assert_eq!(t.len(), 64);
        assert_eq!(token_hash(&t), th);
        assert_ne!(new_token().0, t);
    }
}
