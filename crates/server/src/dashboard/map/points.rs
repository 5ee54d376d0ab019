//! What the map draws, as compact JSON: the findings the ledger's filter keeps (through the
//! ledger's own query, so the map and the ledger cannot disagree), each at its own position or
//! else at its site's, and every site (a second layer, and the street plan's material).

use crate::dashboard::i18n::{Lang, STATUSES};
use crate::dashboard::ledger::LedgerQuery;
use crate::dashboard::reference::Reference;
use crate::store::{Store, StoreResult};
use fieldcheck_store::dash_row;
use serde::Serialize;
use std::collections::HashMap;

/// Most findings one map shows: the first in the ledger's order (newest first by default).
pub const MAX_POINTS: u32 = 20_000;

dash_row! {
    /// One finding as the map reads it from the ledger's read model.
    #[derive(Clone, Debug, PartialEq)]
    pub struct PointRow {
        /// Finding id.
        pub finding_id: String,
        /// Site id.
        pub site_id: String,
        /// Status name.
        pub status: String,
        /// Still owed to its deadline.
        pub due_open: bool,
        /// Deadline `YYYY-MM-DD`.
        pub deadline: Option<String>,
        /// Whether the finding has a position of its own.
        pub located: bool,
        /// Its latitude (WGS-84), when located.
        pub lat: f64,
        /// Its longitude, when located.
        pub lon: f64,
        /// Its short number, once it has one.
        pub number: Option<String> = "(SELECT number FROM finding_numbers WHERE finding_numbers.finding_id = dash_ledger.finding_id)",
    }
}

/// A site: `[id, name, district, street, lat, lon]`, lat and lon `null` when it has no position.
pub type SiteEntry = (String, String, String, String, Option<f64>, Option<f64>);

/// A finding drawn: `[id, number ("" before it has one), lat, lon, status index, site index
/// (-1 when its site is unknown), flags]`; flag 1: overdue, flag 2: placed at its site (it has
/// no position of its own).
pub type PointEntry = (String, String, f64, f64, usize, i64, u8);

/// The points JSON (`/dashboard/map/points.json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Points {
    /// Findings the filter keeps.
    pub total: u64,
    /// Of those, the ones read (at most [`MAX_POINTS`], in the ledger's order).
    pub listed: usize,
    /// Of those read, the ones with no position of their own nor of their site (not drawn).
    pub unplaced: usize,
    /// `[stored name, label in the page's language]` per status; a point names its index.
    pub statuses: Vec<(&'static str, &'static str)>,
    /// Every site.
    pub sites: Vec<SiteEntry>,
    /// The findings drawn.
    pub points: Vec<PointEntry>,
}

/// A coordinate to 6 decimals (about 0.1 m), so the JSON stays short.
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The points of the findings `query` keeps, with every site of `reference`.
pub async fn points(
    store: &dyn Store,
    query: &LedgerQuery,
    reference: &Reference,
    lang: Lang,
) -> StoreResult<Points> {
    let rows: Vec<PointRow> = query
        .select(store, &PointRow::columns(), MAX_POINTS)
        .await?
        .iter()
        .map(|cells| PointRow::from_cells(cells))
        .collect();
    let listed = rows.len();
    let total = if listed < MAX_POINTS as usize {
        listed as u64
    } else {
        query.count(store).await?
    };
    let sites: Vec<SiteEntry> = reference
        .sites
        .iter()
        .map(|s| {
            (
                s.id.to_string(),
                s.name.clone(),
                s.district.clone(),
                s.street.clone(),
                s.position.map(|p| round(p.lat)),
                s.position.map(|p| round(p.lon)),
            )
        })
        .collect();
    let site_index: HashMap<String, usize> = reference
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.to_string(), i))
        .collect();
    let status_index: HashMap<&str, usize> = STATUSES
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let mut points = Vec::with_capacity(rows.len());
    for r in rows {
        let site = site_index.get(&r.site_id).copied();
        let at_site = site.and_then(|i| reference.sites[i].position);
        let (lat, lon, from_site) = match (r.located, at_site) {
            (true, _) => (r.lat, r.lon, false),
            (false, Some(p)) => (p.lat, p.lon, true),
            (false, None) => continue,
        };
        let overdue = r.due_open
            && r.deadline
                .as_deref()
                .is_some_and(|d| d < query.today.as_str());
        points.push((
            r.finding_id,
            r.number.unwrap_or_default(),
            round(lat),
            round(lon),
            status_index.get(r.status.as_str()).copied().unwrap_or(0),
            site.map_or(-1, |i| i as i64),
            u8::from(overdue) | (u8::from(from_site) << 1),
        ));
    }
    Ok(Points {
        total,
        listed,
        unplaced: listed - points.len(),
        statuses: STATUSES
            .iter()
            .map(|s| (s.as_str(), lang.status(*s)))
            .collect(),
        sites,
        points,
    })
}
