//! The commands the UI invokes: each a few lines over fieldcheck-core.

pub mod findings;
pub mod inspections;
pub mod session;
pub mod sites;
pub mod sync;

use crate::error::CommandError;
use uuid::Uuid;

/// Parses an id sent by the UI, naming the field when it is not one.
pub(crate) fn parse_id(field: &'static str, text: &str) -> Result<Uuid, CommandError> {
    text.parse().map_err(|_| CommandError::Input {
        field,
        zh: "不是有效的编号（UUID）",
        en: "is not a valid id (UUID)",
    })
}
