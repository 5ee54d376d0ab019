//! Findings' short numbers (问题编号, `20261201-003`) for the pages, the workbook and the
//! report, looked up for the findings at hand. The store gives them when it stores a finding
//! (see `fieldcheck_domain::finding_number`).

use super::projection::placeholders;
use crate::store::dashboard::{Arg, Cell};
use crate::store::{Store, StoreResult};
use std::collections::HashMap;

/// Findings looked up per query.
const CHUNK: usize = 500;

/// The rows of `select` (a query ending in `IN (`, closed here) for `findings`, a few hundred
/// ids per query.
pub async fn rows_for_findings(
    store: &dyn Store,
    select: &str,
    findings: &[&str],
) -> StoreResult<Vec<Vec<Cell>>> {
    let mut out = Vec::new();
    for chunk in findings.chunks(CHUNK) {
        let args: Vec<Arg> = chunk.iter().map(|f| Arg::from(*f)).collect();
        let sql = format!("{select}{})", placeholders(1, args.len()));
        out.extend(store.dash_query(&sql, args).await?);
    }
    Ok(out)
}

/// Finding id → its short number, for those of `findings` that have one.
pub async fn finding_numbers(
    store: &dyn Store,
    findings: &[&str],
) -> StoreResult<HashMap<String, String>> {
    let rows = rows_for_findings(
        store,
        "SELECT finding_id, number FROM finding_numbers WHERE finding_id IN (",
        findings,
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r[0].text().to_string(), r[1].text().to_string()))
        .collect())
}

/// The short number of one finding, if it has one.
pub async fn finding_number(store: &dyn Store, finding: &str) -> StoreResult<Option<String>> {
    Ok(finding_numbers(store, &[finding]).await?.remove(finding))
}
