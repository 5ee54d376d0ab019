//! Why a sync session stopped, in words an inspector can act on.

use crate::store::StoreError;
use std::time::Duration;

/// Why a sync session stopped. Unsynced work is never dropped because of any of these: it stays
/// in the outbox until the server acknowledges it.
///
/// Each message is one sentence in Chinese, ` / `, the same in English; technical details
/// (the HTTP client's words, which name the URL) follow on a line of their own, which the app
/// shows only behind 详情.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The server could not be reached (no signal, server down, cut off mid-way).
    #[error(
        "没有网络信号或服务器无法连接，记录已安全保存在本机，有信号时会自动同步 / no signal or the server cannot be reached; your work is saved on this tablet and will sync when there is signal\n{0}"
    )]
    NoSignal(String),
    /// The server could not be reached at sign-in: there is no work yet, so the address or
    /// the network is what to check.
    #[error(
        "无法连接服务器 {url}，请检查网络和服务器地址 / cannot reach the server {url}: check the network and the server address\n{detail}"
    )]
    Unreachable {
        /// The server address as typed.
        url: String,
        /// The HTTP client's words.
        detail: String,
    },
    /// No login on this tablet yet.
    #[error("尚未登录，请先登录 / not signed in: sign in first")]
    NotSignedIn,
    /// The token expired or is unknown: sign in again.
    #[error(
        "登录已过期，请重新登录；未同步的记录都还在 / login expired: sign in again; unsynced work is kept"
    )]
    LoginExpired,
    /// The server revoked this device.
    #[error(
        "此设备已被管理员停用，请联系创城办 / this device was revoked by the office: contact them"
    )]
    Revoked,
    /// The server confirmed that this device is revoked, and the tablet's data was wiped.
    #[error(
        "服务器确认此设备已被创城办停用，本机数据已清除；如需继续使用请联系创城办重新登录 / the server confirmed this device is revoked and its data on this tablet was wiped; contact the office to sign in again"
    )]
    Wiped,
    /// Sign-in with a wrong user name or password.
    #[error(
        "用户名或密码错误，请检查后重新输入 / wrong user name or password: check them and try again"
    )]
    WrongPassword,
    /// The account is disabled.
    #[error("账号已被停用，请联系创城办 / the account is disabled: contact the office")]
    AccountDisabled,
    /// The server refused a record; the message says which and why.
    #[error("服务器拒收记录{}：{message} / the server refused record{}: {message}", seq.map(|s| format!(" #{s}")).unwrap_or_default(), seq.map(|s| format!(" #{s}")).unwrap_or_default())]
    Refused {
        /// Outbox sequence of the refused record, when the server named one.
        seq: Option<u64>,
        /// The server's message.
        message: String,
    },
    /// The server is at its limit; try again after the given time.
    #[error("服务器繁忙，{} 秒后重试 / the server is busy; retrying in {} s", retry_after.as_secs(), retry_after.as_secs())]
    Busy {
        /// How long the server asked to wait.
        retry_after: Duration,
    },
    /// The server took this push's device into its line (取号排队) with a number; the sync
    /// goes on by itself after `retry_after`, in turn.
    #[error("正在排队：前面还有 {ahead} 台平板，约 {} 秒后自动继续 / in line: {ahead} tablets ahead, continuing in about {} s", retry_after.as_secs().max(1), retry_after.as_secs().max(1))]
    Queued {
        /// When to come back.
        retry_after: Duration,
        /// Devices still before this one.
        ahead: u64,
    },
    /// The server failed in another way.
    #[error("服务器错误（{status}）：{message} / server error ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// A local file (a photo) could not be read.
    #[error("读取本机照片失败 / could not read a photo on this tablet: {0}")]
    LocalFile(String),
    /// The local database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SyncError {
    /// Whether trying again later, unchanged, may succeed (no signal, busy, server hiccup).
    /// Login, revocation and refused records need a person first.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::NoSignal(_)
            | SyncError::Unreachable { .. }
            | SyncError::Busy { .. }
            | SyncError::Queued { .. } => true,
            SyncError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }
}
