//! Applying a push, written once for both backends: the gap check, skipping the acknowledged
//! prefix, the writes, and the news of findings for their units through the change log.
//!
//! A push is applied in phases, each a few statements on a backend that can batch
//! (PostgreSQL, where every statement is a round trip): its inspections and answers
//! ([`Tx::upsert_in_bulk`]); its other records ([`Tx::write_in_bulk`]); what their news needs
//! to know, read once after the writes ([`Tx::context_rows`]); the news itself, with the
//! findings' places and short numbers ([`Tx::log_in_bulk`]). SQLite runs each phase one
//! statement at a time (its statements cost microseconds). A push that carries a 派遣 is
//! written entry by entry instead: the unit it moves a finding to scopes the entries after it.
//! Only the last phase, the news, holds the change-log lock ([`apply_push`]).

use super::{Place, Tx, log_placed_change, stmt};
use crate::dashboard::Arg;
use crate::sql;
use crate::{InspectionRef, PushOutcome, RefData, RefQuery, StoreError, StoreResult, u64_from_db};
use fieldcheck_domain::finding_number;
use fieldcheck_protocol::{
    ChangeItem, FindingNumber, FindingRecord, OutboxEntry, Record, RectificationAction, Site,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A push's inspections and item answers, for [`Tx::upsert_in_bulk`]: only the newest (by
/// HLC) of each key, which is what writing them one by one keeps, each column a vector.
#[derive(Debug, Default)]
pub(crate) struct Bulk {
    /// The inspections.
    pub inspections: BulkInspections,
    /// The item answers.
    pub items: BulkItems,
}

/// Inspections, a vector per column of `inspections`.
#[derive(Debug, Default)]
pub(crate) struct BulkInspections {
    pub ids: Vec<String>,
    pub devices: Vec<String>,
    pub templates: Vec<String>,
    pub versions: Vec<i64>,
    pub payloads: Vec<String>,
    pub hlcs: Vec<String>,
}

/// Item answers, a vector per column of `item_results`.
#[derive(Debug, Default)]
pub(crate) struct BulkItems {
    pub inspections: Vec<String>,
    pub codes: Vec<String>,
    pub payloads: Vec<String>,
    pub hlcs: Vec<String>,
}

impl Bulk {
    /// The inspections and item answers among `entries` of `device_id`.
    pub(crate) fn of(device_id: Uuid, entries: &[&OutboxEntry]) -> Bulk {
        let mut inspections = HashMap::new();
        let mut items = HashMap::new();
        for e in entries {
            let stamp = sql::hlc(&e.hlc);
            match &e.record {
                Record::Inspection(r) => newest(&mut inspections, r.id.to_string(), stamp, r),
                Record::ItemResult(r) => newest(
                    &mut items,
                    (r.inspection_id.to_string(), r.item_code.clone()),
                    stamp,
                    r,
                ),
                _ => {}
            }
        }
        let mut bulk = Bulk::default();
        let device = device_id.to_string();
        for (id, (stamp, r)) in inspections {
            let b = &mut bulk.inspections;
            b.ids.push(id);
            b.devices.push(device.clone());
            b.templates.push(r.template_id.clone());
            b.versions.push(i64::from(r.template_version));
            b.payloads.push(sql::to_json(r));
            b.hlcs.push(stamp);
        }
        for ((inspection, code), (stamp, r)) in items {
            let b = &mut bulk.items;
            b.inspections.push(inspection);
            b.codes.push(code);
            b.payloads.push(sql::to_json(r));
            b.hlcs.push(stamp);
        }
        bulk
    }

    fn is_empty(&self) -> bool {
        self.inspections.ids.is_empty() && self.items.inspections.is_empty()
    }
}

/// A push of nothing but inspections and item answers, every entry new to the device if its
/// prefix is the one the push follows (its first seq − 1): nothing in it passes through the
/// change log, so a backend may write it in one statement, with its prefix move and its audit
/// row, on the condition that the device's prefix is still [`PlainPush::prefix`]. When it is
/// not (a retry, a gap, an unknown device), the push goes through [`apply_push`], whose answer
/// is then the same as it would have been.
#[derive(Debug)]
pub(crate) struct PlainPush {
    /// The prefix the push follows.
    pub prefix: i64,
    /// The prefix after it: its last seq.
    pub high: i64,
    /// Its records, the newest of each key.
    pub bulk: Bulk,
    /// The audit row's detail, as [`apply_push`] words it.
    pub detail: String,
    /// How many entries it applies.
    applied: u32,
}

impl PlainPush {
    /// `entries` as a plain push, or `None` when they are not one.
    pub(crate) fn of(device_id: Uuid, entries: &[OutboxEntry]) -> Option<PlainPush> {
        let first = entries.first()?.seq;
        let plain = entries.iter().all(|e| {
            e.seq >= first && matches!(e.record, Record::Inspection(_) | Record::ItemResult(_))
        });
        if !plain {
            return None;
        }
        let last = entries.last()?.seq;
        let fresh: Vec<&OutboxEntry> = entries.iter().collect();
        Some(PlainPush {
            prefix: i64::try_from(first.checked_sub(1)?).ok()?,
            high: i64::try_from(last).ok()?,
            bulk: Bulk::of(device_id, &fresh),
            detail: push_detail(entries.len(), last),
            applied: u32::try_from(entries.len()).ok()?,
        })
    }

    /// The answer to the push once written.
    pub(crate) fn outcome(&self) -> PushOutcome {
        PushOutcome {
            high_seq: u64_from_db(self.high),
            applied: self.applied,
        }
    }
}

/// The audit detail of a push that applied `applied` entries, the last of seq `high`.
fn push_detail(applied: usize, high: u64) -> String {
    format!("applied {applied} through seq {high}")
}

/// Keeps in `map` the record with the newest HLC text for `key` (HLC texts order as the clocks
/// do, which the one-by-one upserts' `hlc <` comparison relies on too).
fn newest<'a, K: std::hash::Hash + Eq, R>(
    map: &mut HashMap<K, (String, &'a R)>,
    key: K,
    stamp: String,
    record: &'a R,
) {
    match map.get(&key) {
        Some((kept, _)) if *kept >= stamp => {}
        _ => {
            map.insert(key, (stamp, record));
        }
    }
}

/// What the store knows of the ids a push refers to, and every unit and subcategory code.
pub(crate) async fn lookup(tx: &mut impl Tx, refs: &RefQuery) -> StoreResult<RefData> {
    let rows = tx.lookup_rows(refs).await?;
    let mut out = RefData::default();
    for row in &rows.sites {
        out.sites.insert(sql::uuid(row[0].text())?);
    }
    for row in &rows.inspections {
        let [id, device, template_id, version] = row.as_slice() else {
            return Err(StoreError::Backend("an inspection row of 4 columns".into()));
        };
        let inspection = InspectionRef {
            device_id: sql::uuid(device.text())?,
            template_id: template_id.text().to_string(),
            template_version: u32::try_from(version.int()).unwrap_or(0),
        };
        out.inspections.insert(sql::uuid(id.text())?, inspection);
    }
    for (id, version, payload) in rows.templates {
        out.templates
            .insert((id, version), sql::from_json(&payload)?);
    }
    for row in &rows.findings {
        out.findings
            .insert(sql::uuid(row[0].text())?, sql::uuid(row[1].text())?);
    }
    for row in &rows.photos {
        out.photos
            .insert(row[0].text().to_string(), sql::uuid(row[1].text())?);
    }
    out.units = rows.units.into_iter().collect();
    out.subcategories = rows.subcategories.into_iter().collect();
    Ok(out)
}

/// Applies one push of `device_id` atomically: refuses a gap after the acknowledged prefix,
/// skips entries already applied, writes the rest (each write idempotent), moves the prefix,
/// records the push in the audit log (action `push`, by the device's account) when it applied
/// anything, and last logs findings, steps and findings' photo records for each finding's
/// current unit and numbers new findings, all in one transaction.
///
/// The change-log lock is taken only for that last part, after every row the push writes:
/// pushes write their records side by side and queue only to log. A holder of the lock then
/// waits on no row lock (what it still writes, the log and the numbers, only it writes), so no
/// two transactions can wait on each other through it; an office step takes it last too.
pub(crate) async fn apply_push(
    tx: &mut impl Tx,
    device_id: Uuid,
    signer_key: &str,
    entries: &[OutboxEntry],
) -> StoreResult<PushOutcome> {
    let device = Arg::from(device_id.to_string());
    let Some(high) = tx
        .int(stmt(sql::LOCK_DEVICE_PREFIX, [device.clone()]))
        .await?
    else {
        return Err(StoreError::UnknownDevice(device_id));
    };
    let prefix = u64_from_db(high);
    if let Some(first) = entries.first()
        && first.seq > prefix + 1
    {
        return Err(StoreError::Gap {
            expected: prefix + 1,
        });
    }
    let fresh: Vec<&OutboxEntry> = entries.iter().filter(|e| e.seq > prefix).collect();
    let bulk = Bulk::of(device_id, &fresh);
    let in_bulk = !bulk.is_empty() && tx.upsert_in_bulk(&bulk).await?;
    let rest: Vec<&OutboxEntry> = fresh
        .iter()
        .copied()
        .filter(|e| !(in_bulk && matches!(e.record, Record::Inspection(_) | Record::ItemResult(_))))
        .collect();
    let news = if rest.iter().any(|e| is_dispatch(&e.record)) {
        write_in_order(tx, device_id, signer_key, &rest).await?
    } else {
        write_together(tx, device_id, signer_key, &rest).await?
    };
    let high = fresh.last().map_or(prefix, |e| e.seq);
    let new_high = Arg::Int(i64::try_from(high).unwrap_or(i64::MAX));
    tx.exec(stmt(sql::SET_DEVICE_PREFIX, [new_high, device.clone()]))
        .await?;
    if !fresh.is_empty() {
        let detail = push_detail(fresh.len(), high);
        let at = Arg::Int(fieldcheck_domain::clock::wall_clock_ms());
        tx.exec(stmt(sql::AUDIT_PUSH, [at, detail.into(), device]))
            .await?;
    }
    log_news(tx, news).await?;
    Ok(PushOutcome {
        high_seq: high,
        applied: fresh.len() as u32,
    })
}

/// Whether `record` is a 派遣, which moves its finding to another unit.
fn is_dispatch(record: &Record) -> bool {
    matches!(record, Record::Rectification(e) if e.action == RectificationAction::Dispatched)
}

/// What a written record passes on ([`sql::redistributed`]).
struct News<'a> {
    item: ChangeItem,
    finding: Uuid,
    /// The unit the record names.
    unit: Option<String>,
    /// The finding's current unit read right after this record was written, when the push
    /// is written entry by entry; otherwise the one read after all its writes.
    current: Option<Option<String>>,
    /// The finding itself, when the record is one.
    record: Option<&'a FindingRecord>,
}

impl<'a> News<'a> {
    /// What `entry` passes on, if anything.
    fn of(entry: &'a OutboxEntry) -> Option<News<'a>> {
        let (item, finding, unit) = sql::redistributed(&entry.record)?;
        let record = match &entry.record {
            Record::Finding(f) => Some(f),
            _ => None,
        };
        Some(News {
            item,
            finding,
            unit,
            current: None,
            record,
        })
    }
}

/// Writes `entries` (none a 派遣) together, then returns what those that changed the store
/// pass on. Without a 派遣 no write moves a finding to another unit, so a finding's unit read
/// after all the writes is the one each entry would have read after its own.
async fn write_together<'a>(
    tx: &mut impl Tx,
    device_id: Uuid,
    signer_key: &str,
    entries: &[&'a OutboxEntry],
) -> StoreResult<Vec<News<'a>>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let written = match tx.write_in_bulk(device_id, signer_key, entries).await? {
        Some(written) => written,
        None => {
            let mut written = Vec::with_capacity(entries.len());
            for e in entries {
                written.push(write_entry(tx, device_id, signer_key, e).await?);
            }
            written
        }
    };
    // A record stored already (another device's copy of a photo) or older than the stored one
    // changes nothing, and nothing is passed on.
    Ok(entries
        .iter()
        .zip(written)
        .filter(|(_, w)| *w)
        .filter_map(|(e, _)| News::of(e))
        .collect())
}

/// Writes `entries` one at a time, reading each news' unit right after its record is written:
/// for a push that carries a 派遣, whose new unit scopes the entries after it.
async fn write_in_order<'a>(
    tx: &mut impl Tx,
    device_id: Uuid,
    signer_key: &str,
    entries: &[&'a OutboxEntry],
) -> StoreResult<Vec<News<'a>>> {
    let mut news = Vec::new();
    for e in entries {
        if !write_entry(tx, device_id, signer_key, e).await? {
            continue;
        }
        if let Some(mut n) = News::of(e) {
            let unit = tx
                .text(stmt(sql::FINDING_UNIT, [n.finding.to_string().into()]))
                .await?;
            n.current = Some(unit.flatten());
            news.push(n);
        }
    }
    Ok(news)
}

/// Writes one entry; whether it changed the store.
async fn write_entry(
    tx: &mut impl Tx,
    device_id: Uuid,
    signer_key: &str,
    entry: &OutboxEntry,
) -> StoreResult<bool> {
    let mut written = 0;
    for write in sql::entry_writes(device_id, signer_key, entry) {
        written += tx.exec(write).await?;
    }
    Ok(written > 0)
}

/// Logs `news` under the change-log lock: reads what it needs to know, numbers the findings
/// new to the numbering, appends the entries.
async fn log_news(tx: &mut impl Tx, news: Vec<News<'_>>) -> StoreResult<()> {
    if news.is_empty() {
        return Ok(());
    }
    tx.lock_change_log().await?;
    let now = fieldcheck_domain::clock::wall_clock_ms();
    let query = ContextQuery {
        findings: news.iter().map(|n| n.finding.to_string()).collect(),
        sites: news
            .iter()
            .filter_map(|n| n.record.map(|f| f.site_id.to_string()))
            .collect(),
        days: news
            .iter()
            .filter_map(|n| n.record)
            .map(|f| finding_number::numbering_day(f.created_at, now))
            .collect(),
    };
    let rows = match tx.context_rows(&query).await? {
        Some(rows) => rows,
        None => context_one_by_one(tx, &query).await?,
    };
    let changes = Context::of(rows)?.changes(news, now);
    if tx.log_in_bulk(&changes).await? {
        return Ok(());
    }
    for c in &changes {
        if let Some(n) = &c.number {
            let args = [
                n.finding_id.as_str().into(),
                Arg::Int(n.day),
                Arg::Int(n.seq),
                n.number.as_str().into(),
            ];
            tx.exec(stmt(sql::INSERT_FINDING_NUMBER, args)).await?;
        }
        log_placed_change(tx, &c.item, Some(&c.scope), c.place.as_ref()).await?;
    }
    Ok(())
}

/// What a push's news needs to know ([`Tx::context_rows`]).
#[derive(Debug, Default)]
pub(crate) struct ContextQuery {
    /// The findings the news is about.
    pub findings: Vec<String>,
    /// The sites of the findings in the push.
    pub sites: Vec<String>,
    /// The China days the push's findings would be numbered in.
    pub days: Vec<i64>,
}

/// The rows [`Tx::context_rows`] reads after a push's writes.
#[derive(Debug, Default)]
pub(crate) struct ContextRows {
    /// Findings among the query's that are stored: id, payload, current unit.
    pub findings: Vec<(String, String, Option<String>)>,
    /// Sites, id and payload: those the query names and those of the stored findings found.
    pub sites: Vec<(String, String)>,
    /// Findings among the query's that have a short number.
    pub numbered: Vec<String>,
    /// The next short number of each of the query's days.
    pub next_numbers: Vec<(i64, i64)>,
}

/// [`ContextRows`] a statement at a time, for a backend that does not batch.
async fn context_one_by_one(tx: &mut impl Tx, q: &ContextQuery) -> StoreResult<ContextRows> {
    let mut out = ContextRows::default();
    let mut sites: Vec<String> = q.sites.clone();
    for id in unique(&q.findings) {
        if let Some(row) = tx.row(stmt(sql::SELECT_FINDING, [id.into()])).await? {
            let payload = row[0].text().to_string();
            sites.push(
                sql::from_json::<FindingRecord>(&payload)?
                    .site_id
                    .to_string(),
            );
            out.findings
                .push((id.to_string(), payload, row[1].opt_text()));
        }
        if tx
            .text(stmt(sql::FINDING_NUMBER, [id.into()]))
            .await?
            .is_some()
        {
            out.numbered.push(id.to_string());
        }
    }
    for id in unique(&sites) {
        if let Some(payload) = tx
            .text(stmt(sql::SELECT_SITE, [id.into()]))
            .await?
            .flatten()
        {
            out.sites.push((id.to_string(), payload));
        }
    }
    for day in q.days.iter().copied().collect::<HashSet<i64>>() {
        let next = tx.int(stmt(sql::NEXT_FINDING_SEQ, [Arg::Int(day)])).await?;
        out.next_numbers.push((day, next.unwrap_or(1)));
    }
    Ok(out)
}

/// Each of `items` once, in first-seen order.
fn unique(items: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .map(String::as_str)
        .collect()
}

/// [`ContextRows`] by key.
struct Context {
    /// Stored findings: the record and its current unit.
    findings: HashMap<Uuid, (FindingRecord, Option<String>)>,
    /// Sites' districts.
    districts: HashMap<String, String>,
    numbered: HashSet<String>,
    next_numbers: HashMap<i64, i64>,
}

impl Context {
    fn of(rows: ContextRows) -> StoreResult<Context> {
        let mut findings = HashMap::new();
        for (id, payload, unit) in rows.findings {
            findings.insert(sql::uuid(&id)?, (sql::from_json(&payload)?, unit));
        }
        let mut districts = HashMap::new();
        for (id, payload) in rows.sites {
            districts.insert(id, sql::from_json::<Site>(&payload)?.district);
        }
        Ok(Context {
            findings,
            districts,
            numbered: rows.numbered.into_iter().collect(),
            next_numbers: rows.next_numbers.into_iter().collect(),
        })
    }

    /// Where finding `f` belongs.
    fn place(&self, f: &FindingRecord) -> Place {
        let site_id = f.site_id.to_string();
        Place {
            district: self.districts.get(&site_id).cloned(),
            site_id,
            owner: f.reporter.clone(),
        }
    }

    /// The change-log entries of `news`, in order, each finding new to the numbering followed
    /// by its short number: the next of the day it was found (as
    /// [`finding_number::numbering_day`] allows, by the server's clock `now`). The caller holds
    /// the change-log lock, so two pushes cannot draw the same number.
    fn changes(mut self, news: Vec<News>, now: i64) -> Vec<NewChange> {
        let mut out = Vec::with_capacity(news.len());
        for n in news {
            let stored = self.findings.get(&n.finding);
            let current = match n.current {
                Some(current) => current,
                None => stored.and_then(|(_, unit)| unit.clone()),
            };
            let scope = sql::unit_scope(current.or(n.unit).as_deref());
            let place = match n.record {
                Some(f) => Some(self.place(f)),
                None => stored.map(|(f, _)| self.place(f)),
            };
            out.push(NewChange {
                item: n.item,
                scope: scope.clone(),
                place: place.clone(),
                number: None,
            });
            let Some(f) = n.record else { continue };
            if !self.numbered.insert(f.id.to_string()) {
                continue;
            }
            let day = finding_number::numbering_day(f.created_at, now);
            let next = self.next_numbers.entry(day).or_insert(1);
            let number = finding_number::format(day, *next);
            out.push(NewChange {
                item: ChangeItem::FindingNumber(FindingNumber {
                    finding_id: f.id,
                    number: number.clone(),
                }),
                scope,
                place,
                number: Some(NewNumber {
                    finding_id: f.id.to_string(),
                    day,
                    seq: *next,
                    number,
                }),
            });
            *next += 1;
        }
        out
    }
}

/// A change-log entry to append ([`Tx::log_in_bulk`]).
#[derive(Debug)]
pub(crate) struct NewChange {
    pub item: ChangeItem,
    /// Who may pull it.
    pub scope: String,
    /// Where it belongs, for scoped pulls.
    pub place: Option<Place>,
    /// The short number it announces, to be recorded with it.
    pub number: Option<NewNumber>,
}

/// A finding's short number ([`finding_number`]).
#[derive(Debug)]
pub(crate) struct NewNumber {
    pub finding_id: String,
    pub day: i64,
    pub seq: i64,
    pub number: String,
}
