//! The one error type of the app's commands: what the UI shows, Chinese first, then English.

use fieldcheck_core::photo::PhotoError;
use fieldcheck_core::scan::ScanError;
use fieldcheck_core::store::StoreError;
use fieldcheck_core::sync::SyncError;
use fieldcheck_domain::site_label::LabelFault;
use serde::Serialize;

/// Why a command failed. A failed command changes nothing (core writes are transactions).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The local database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The photo could not be taken in.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// Signing in or syncing failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
    /// No site label could be read from the picture.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The label read is not a site of this county.
    #[error(transparent)]
    Label(#[from] LabelFault),
    /// The request from the UI is malformed: which field, and what to do.
    #[error("{field}：{zh} / {field}: {en}")]
    Input {
        /// The field at fault.
        field: &'static str,
        /// What is wrong, in Chinese.
        zh: &'static str,
        /// What is wrong, in English.
        en: &'static str,
    },
    /// The app data directory could not be prepared.
    #[error(
        "无法打开本机数据目录 {path}：{detail} / cannot open the app data directory {path}: {detail}"
    )]
    DataDir {
        /// The directory.
        path: String,
        /// The operating system's words.
        detail: String,
    },
}

impl CommandError {
    /// The field the error is about, when it is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            CommandError::Input { field, .. } => Some(field),
            CommandError::Store(StoreError::Invalid { field, .. }) => Some(field),
            _ => None,
        }
    }
}

/// What the UI receives when a command fails.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct CommandErrorBody<'a> {
    /// The whole message: Chinese first, then English.
    pub message: String,
    /// The field the error is about, when it is about one.
    pub field: Option<&'a str>,
}

/// Sent as a [`CommandErrorBody`].
impl Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CommandErrorBody {
            message: self.to_string(),
            field: self.field(),
        }
        .serialize(s)
    }
}

/// What every command returns.
pub type CommandResult<T> = Result<T, CommandError>;
