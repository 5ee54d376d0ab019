//! Marked copies on the office's printed report and workbook: a photo that a tablet marked
//! (arrows, circles, text) is shown through its marked copy, the original one click away.

use super::numbers::rows_for_findings;
use crate::store::{Store, StoreResult};
use fieldcheck_protocol::PhotoRecord;
use std::collections::HashMap;

/// For the photos of `findings` that have a marked copy: original hash → the latest marked
/// copy's hash.
pub async fn marked_copies(
    store: &dyn Store,
    findings: &[&str],
) -> StoreResult<HashMap<String, String>> {
    let mut latest: HashMap<String, (i64, String)> = HashMap::new();
    let rows = rows_for_findings(
        store,
        "SELECT payload FROM photo_findings WHERE finding_id IN (",
        findings,
    )
    .await?;
    for r in rows {
        let photo: PhotoRecord = serde_json::from_str(r[0].text())?;
        if let Some(original) = photo.marked_from {
            let entry = latest.entry(original).or_insert((i64::MIN, String::new()));
            if photo.captured_at >= entry.0 {
                *entry = (photo.captured_at, photo.sha256);
            }
        }
    }
    Ok(latest.into_iter().map(|(k, (_, v))| (k, v)).collect())
}
