//! 到场核验 on the office's pages: a finding is vouched for when its reporter scanned its site's
//! QR label with the tablet camera the same China day (the check-in's signature was verified
//! when it was pushed). The day rule is the domain's ([`china_day_number`]).

use super::projection::placeholders;
use crate::store::dashboard::Arg;
use crate::store::{Store, StoreResult};
use fieldcheck_domain::china_time::china_day_number;
use std::collections::{HashMap, HashSet};

/// The work to look up: a finding (or inspection) id, its site, who recorded it and when.
pub struct Work<'a> {
    /// The finding's id.
    pub id: &'a str,
    /// Its site's id.
    pub site_id: &'a str,
    /// Who recorded it.
    pub inspector: &'a str,
    /// When, Unix ms.
    pub at: i64,
}

/// The earliest check-in time vouching for each of `work` that has one, by id.
pub async fn check_ins(store: &dyn Store, work: &[Work<'_>]) -> StoreResult<HashMap<String, i64>> {
    let sites: Vec<Arg> = work
        .iter()
        .map(|w| w.site_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .map(Arg::from)
        .collect();
    if sites.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = store
        .dash_query(
            &format!(
                "SELECT site_id, inspector, china_day, at FROM check_ins WHERE site_id IN ({}) ORDER BY at",
                placeholders(1, sites.len())
            ),
            sites,
        )
        .await?;
    let mut first: HashMap<(String, String, i64), i64> = HashMap::new();
    for r in rows {
        let key = (r[0].text().to_string(), r[1].text().to_string(), r[2].int());
        first.entry(key).or_insert(r[3].int());
    }
    Ok(work
        .iter()
        .filter_map(|w| {
            let key = (
                w.site_id.to_string(),
                w.inspector.to_string(),
                china_day_number(w.at),
            );
            first.get(&key).map(|at| (w.id.to_string(), *at))
        })
        .collect())
}
