//! Reads a bulletin's inputs in a few whole queries (never one per finding): the period's
//! findings (`findings` by creation time, read in one pass: a bulletin of many weeks reads most
//! of the table, where looking each one up by the ledger's index cost 13 µs a finding), their
//! steps (one join), the earlier findings that may have been found again (those with a step
//! stamped from 30 days before the period to its end, at a site and item of the period), and
//! the scored answers' weights per site and index. The records are parsed on every core and
//! the domain's `bulletin::compile` and `index_losses` compute every figure, off the async
//! runtime's threads.

use super::super::numbers::{finding_numbers, rows_for_findings};
use super::super::projection::{refresh, sites};
use super::super::reference::templates;
use crate::store::dashboard::Arg;
use crate::store::dashboard::Cell;
use crate::store::{Store, StoreResult};
use fieldcheck_domain::bulletin::{
    Bulletin, Case, IndexLosses, IndexWeights, Judged, Period, REOPEN_DAYS, compile, index_losses,
};
use fieldcheck_protocol::{FindingRecord, Hlc, RectificationEventRecord, Site};
use fieldcheck_store::dash_row;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A period with more findings than this is refused (the office is asked for a shorter one):
/// every finding is read and judged, so the bound keeps one bulletin's memory and time in hand.
pub const MAX_FINDINGS: i64 = 200_000;
/// The worst cases shown with their photos, at most.
pub const MAX_WORST: usize = 6;
const DAY_MS: i64 = 86_400_000;

dash_row! {
    /// The scored answers of one index at one site over the period.
    struct IndexRow {
        site_id: String = "s.site_id",
        index_code: String = "r.index_code",
        weight: f64 = "CAST(SUM(r.weight) AS DOUBLE PRECISION)",
        lost_weight: f64 = "CAST(SUM(CASE WHEN r.compliant = 0 THEN r.weight ELSE 0 END) AS DOUBLE PRECISION)",
    }
}

/// A finding as read: its record, place, site name and log.
struct Loaded {
    record: FindingRecord,
    district: String,
    street: String,
    site: String,
    log: Vec<RectificationEventRecord>,
}

/// One of the worst cases, with what the bulletin prints of it.
#[derive(Clone, Debug)]
pub struct WorstCase {
    /// The domain's judgement.
    pub judged: Judged,
    /// Its short number (问题编号), or its id.
    pub number: String,
    /// Its site's name.
    pub site: String,
    /// What was found.
    pub description: String,
    /// Its first before-photo as captured (the ledger's thumbnail), by hash.
    pub before: Option<String>,
    /// The latest after-photo up to the bulletin's moment, by hash.
    pub after: Option<String>,
}

/// Everything a bulletin shows.
#[derive(Clone, Debug)]
pub struct Report {
    /// The domain's figures.
    pub bulletin: Bulletin,
    /// Points lost by index (county, district, street) over the period's finished inspections.
    pub losses: IndexLosses,
    /// Index code → (Chinese name, English name), from the checklists.
    pub index_names: HashMap<String, (String, String)>,
    /// The worst cases, at most [`MAX_WORST`].
    pub worst: Vec<WorstCase>,
    /// The county's name when every site names the same district (the bulletin's title).
    pub county: Option<String>,
}

/// How many findings were found in `period` (the ledger's creation times).
pub async fn count(store: &dyn Store, period: &Period) -> StoreResult<i64> {
    refresh(store).await?;
    let rows = store
        .dash_query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM dash_ledger WHERE created_at >= $1 AND created_at < $2",
            vec![Arg::Int(period.start_ms()), Arg::Int(period.end_ms())],
        )
        .await?;
    Ok(rows.first().map_or(0, |r| r[0].int()))
}

/// The text form of the stamp at Unix ms `ms` (node 0), to bound the steps' `hlc` column.
fn stamp(ms: i64) -> String {
    Hlc {
        time: ((ms.max(0) / 1000) as u64) << 32,
        node: 0,
    }
    .to_string()
}

/// Parses `texts` as JSON on every core, in order.
fn parse_all<T: DeserializeOwned + Send>(texts: &[&str]) -> StoreResult<Vec<T>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = texts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = texts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|t| serde_json::from_str::<T>(t))
                        .collect::<Result<Vec<T>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(texts.len());
        for part in parts {
            out.extend(part.join().expect("a parsing thread does not panic")?);
        }
        Ok(out)
    })
}

/// The findings of `rows` (id, payload), each with its site's place, by id.
fn loaded(rows: &[Vec<Cell>], sites: &HashMap<Uuid, Site>) -> StoreResult<HashMap<String, Loaded>> {
    let texts: Vec<&str> = rows.iter().map(|r| r[1].text()).collect();
    let records: Vec<FindingRecord> = parse_all(&texts)?;
    Ok(rows
        .iter()
        .zip(records)
        .map(|(r, record)| {
            let site = sites.get(&record.site_id);
            let place = |f: fn(&Site) -> &String| site.map(f).cloned().unwrap_or_default();
            let f = Loaded {
                district: place(|s| &s.district),
                street: place(|s| &s.street),
                site: place(|s| &s.name),
                record,
                log: Vec::new(),
            };
            (r[0].text().to_string(), f)
        })
        .collect())
}

/// Adds the steps of `rows` (finding id, payload) to their findings' logs (others are skipped
/// unread).
fn add_steps(found: &mut HashMap<String, Loaded>, rows: &[Vec<Cell>]) -> StoreResult<()> {
    let mine: Vec<&Vec<Cell>> = rows
        .iter()
        .filter(|r| found.contains_key(r[0].text()))
        .collect();
    let texts: Vec<&str> = mine.iter().map(|r| r[1].text()).collect();
    let steps: Vec<RectificationEventRecord> = parse_all(&texts)?;
    for (r, step) in mine.into_iter().zip(steps) {
        if let Some(f) = found.get_mut(r[0].text()) {
            f.log.push(step);
        }
    }
    Ok(())
}

/// Runs CPU work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| crate::store::StoreError::Backend(e.to_string()))?
}

/// How long each phase of a read took (logged at debug level, target `fieldcheck::bulletin`).
struct Phases {
    at: std::time::Instant,
    done: Vec<(&'static str, f64)>,
}

impl Default for Phases {
    fn default() -> Self {
        Phases {
            at: std::time::Instant::now(),
            done: Vec::new(),
        }
    }
}

impl Phases {
    fn mark(&mut self, phase: &'static str) {
        self.done
            .push((phase, self.at.elapsed().as_secs_f64() * 1000.0));
        self.at = std::time::Instant::now();
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, ms)) in self.done.iter().enumerate() {
            write!(f, "{}{phase} {ms:.0} ms", if i > 0 { ", " } else { "" })?;
        }
        Ok(())
    }
}

impl Report {
    /// Reads the period's findings (at most [`MAX_FINDINGS`]: ask [`count`] first), their logs,
    /// the earlier findings they may reopen and the period's scored answers, and compiles the
    /// bulletin seen at `now_ms`.
    pub async fn load(store: &dyn Store, period: &Period, now_ms: i64) -> StoreResult<Report> {
        let mut took = Phases::default();
        refresh(store).await?;
        let range = vec![Arg::Int(period.start_ms()), Arg::Int(period.end_ms())];
        let rows = store
            .dash_query(
                "SELECT id, payload FROM findings WHERE created_at >= $1 AND created_at < $2",
                range.clone(),
            )
            .await?;
        let steps = store
            .dash_query(
                "SELECT e.finding_id, e.payload FROM findings f JOIN rectification_events e \
                 ON e.finding_id = f.id WHERE f.created_at >= $1 AND f.created_at < $2",
                range,
            )
            .await?;
        let sites: HashMap<Uuid, Site> = sites(store)
            .await?
            .into_values()
            .map(|s| (s.id, s))
            .collect();
        took.mark("findings and steps read");
        let (found, sites) = blocking(move || {
            let mut found = loaded(&rows, &sites)?;
            add_steps(&mut found, &steps)?;
            Ok((found, sites))
        })
        .await?;
        took.mark("parsed");

        // Earlier findings at the period's sites and items with a step in the reopening window.
        let places: HashSet<(Uuid, String)> = found
            .values()
            .filter_map(|f| Some((f.record.site_id, f.record.item_code.clone()?)))
            .collect();
        let (mut rows, mut steps) = (Vec::new(), Vec::new());
        if !places.is_empty() {
            let window = store
                .dash_query(
                    "SELECT DISTINCT finding_id FROM rectification_events WHERE hlc >= $1 AND hlc < $2",
                    vec![
                        Arg::from(stamp(period.start_ms() - (REOPEN_DAYS + 1) * DAY_MS)),
                        Arg::from(stamp(period.end_ms() + 1000)),
                    ],
                )
                .await?;
            let ids: Vec<&str> = window
                .iter()
                .map(|r| r[0].text())
                .filter(|id| !found.contains_key(*id))
                .collect();
            let select = "SELECT f.id, f.payload FROM dash_ledger l JOIN findings f \
                 ON f.id = l.finding_id WHERE l.item_code IS NOT NULL AND f.id IN (";
            rows = rows_for_findings(store, select, &ids).await?;
            let ids: Vec<&str> = rows.iter().map(|r| r[0].text()).collect();
            let select =
                "SELECT finding_id, payload FROM rectification_events WHERE finding_id IN (";
            steps = rows_for_findings(store, select, &ids).await?;
        }
        took.mark("earlier findings read");
        let at = period.clone();
        let (found, bulletin, sites) = blocking(move || {
            let mut earlier = loaded(&rows, &sites)?;
            earlier.retain(|_, f| {
                f.record
                    .item_code
                    .as_ref()
                    .is_some_and(|item| places.contains(&(f.record.site_id, item.clone())))
            });
            add_steps(&mut earlier, &steps)?;
            let cases: Vec<Case> = found
                .values()
                .chain(earlier.values())
                .map(|f| Case {
                    finding: &f.record,
                    log: &f.log,
                    district: &f.district,
                    street: &f.street,
                })
                .collect();
            let bulletin = compile(&cases, &at, now_ms);
            Ok((found, bulletin, sites))
        })
        .await?;
        took.mark("compiled");

        let weights = store
            .dash_query(
                &format!(
                    "SELECT {} FROM dash_results r JOIN dash_inspection_scores s \
                     ON s.inspection_id = r.inspection_id WHERE r.day >= $1 AND r.day <= $2 \
                     GROUP BY s.site_id, r.index_code",
                    IndexRow::columns()
                ),
                vec![
                    Arg::from(period.first.as_str()),
                    Arg::from(period.last.as_str()),
                ],
            )
            .await?;
        let weights: Vec<IndexRow> = weights.iter().map(|r| IndexRow::from_cells(r)).collect();
        let losses = index_losses(weights.iter().filter_map(|w| {
            let site = sites.get(&w.site_id.parse::<Uuid>().ok()?)?;
            Some(IndexWeights {
                district: &site.district,
                street: &site.street,
                index_code: &w.index_code,
                weight: w.weight,
                lost_weight: w.lost_weight,
            })
        }));
        took.mark("index losses");
        let mut index_names = HashMap::new();
        for t in templates(store).await? {
            for item in t.items {
                index_names
                    .entry(item.index_code)
                    .or_insert((item.index_name_zh, item.index_name_en));
            }
        }
        let districts: HashSet<&str> = sites.values().map(|s| s.district.as_str()).collect();
        let county = (districts.len() == 1)
            .then(|| districts.into_iter().next().map(str::to_string))
            .flatten();

        let worst = bulletin.worst(MAX_WORST);
        let ids: Vec<String> = worst.iter().map(|j| j.finding_id.to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut numbers = finding_numbers(store, &ids).await?;
        let thumbs: HashMap<String, String> = rows_for_findings(
            store,
            "SELECT finding_id, thumb FROM dash_ledger WHERE finding_id IN (",
            &ids,
        )
        .await?
        .into_iter()
        .filter_map(|r| Some((r[0].text().to_string(), r[1].opt_text()?)))
        .collect();
        let worst = worst
            .into_iter()
            .filter_map(|j| {
                let id = j.finding_id.to_string();
                let f = found.get(&id)?;
                Some(WorstCase {
                    judged: j.clone(),
                    number: numbers.remove(&id).unwrap_or_else(|| id.clone()),
                    site: f.site.clone(),
                    description: f.record.description.clone(),
                    before: thumbs.get(&id).cloned(),
                    after: j.after_photo.clone(),
                })
            })
            .collect();
        took.mark("worst cases");
        tracing::debug!(target: "fieldcheck::bulletin", findings = bulletin.judged.len(), took = %took, "bulletin read");
        Ok(Report {
            bulletin,
            losses,
            index_names,
            worst,
            county,
        })
    }

    /// An index's name in the language (its code when no checklist names it).
    pub fn index_name(&self, l: super::super::i18n::Lang, code: &str) -> String {
        self.index_names
            .get(code)
            .map_or(code, |(zh, en)| l.name(zh, en))
            .to_string()
    }
}
