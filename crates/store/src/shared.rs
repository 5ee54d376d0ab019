//! The store's algorithms, written once: applying a push (gap check, skipping the
//! acknowledged prefix, routing each finding's news to its unit) and looking up what a push
//! refers to, importing content, writing sites, assignments and office steps, each with its
//! change-log entries. A backend supplies only a [`Tx`]: an open connection or transaction
//! that runs the shared statements of `sql.rs` in its dialect, and the change-log lock.

use super::sql::{self, Stmt};
use super::{
    AccountScope, ChangeRow, Content, FindingFilter, FindingRow, ImportCounts, InspectionRef,
    NewTaskDivision, PullPage, PullScope, PushOutcome, RefData, RefQuery, StoreError, StoreResult,
    TaskDivision, u64_from_db,
};
use crate::dashboard::{Arg, Cell};
use fieldcheck_domain::finding_number;
use fieldcheck_protocol::{
    Assignment, ChangeItem, FindingNumber, FindingRecord, OutboxEntry, Person, Record,
    RectificationEventRecord, Site, Template,
};
use std::collections::HashMap;
use uuid::Uuid;

/// An open connection or transaction. Statements use `$n` placeholders; a transaction commits
/// when the algorithm returns `Ok` and rolls back otherwise (the backend's part).
pub(crate) trait Tx {
    /// Runs a statement; returns the rows it changed.
    async fn exec(&mut self, stmt: Stmt) -> StoreResult<u64>;
    /// The first column of the first row as nullable text; `None` when there is no row.
    async fn text(&mut self, stmt: Stmt) -> StoreResult<Option<Option<String>>>;
    /// The first column of the first row as an integer; `None` when there is no row.
    async fn int(&mut self, stmt: Stmt) -> StoreResult<Option<i64>>;
    /// The first row; `None` when there is none.
    async fn row(&mut self, stmt: Stmt) -> StoreResult<Option<Vec<Cell>>>;
    /// The first column of every row, as text.
    async fn texts(&mut self, stmt: Stmt) -> StoreResult<Vec<String>>;
    /// Every row.
    async fn rows(&mut self, stmt: Stmt) -> StoreResult<Vec<Vec<Cell>>>;
    /// Takes the lock that makes change-log sequence numbers commit in order (PostgreSQL's
    /// advisory lock; SQLite has one writer and needs none).
    async fn lock_change_log(&mut self) -> StoreResult<()>;
    /// What the store holds of the ids `refs` names, and every unit and subcategory code: the
    /// rows [`lookup`] reads, in as few statements as the backend can (PostgreSQL: one; each
    /// backend binds the id lists its own way).
    async fn lookup_rows(&mut self, refs: &RefQuery) -> StoreResult<LookupRows>;
    /// Writes a push's inspections and item answers in a few statements, when the backend
    /// gains by it (PostgreSQL pays a round trip per statement); `false` when it did not, and
    /// they are to be written one by one (SQLite, whose statements cost microseconds).
    async fn upsert_in_bulk(&mut self, _bulk: &Bulk) -> StoreResult<bool> {
        Ok(false)
    }
}

/// The rows of a push's lookup ([`Tx::lookup_rows`]), by kind.
#[derive(Debug, Default)]
pub(crate) struct LookupRows {
    /// Site ids that exist, one per row.
    pub sites: Vec<Vec<Cell>>,
    /// Inspections: id, device, template id, template version (an integer).
    pub inspections: Vec<Vec<Cell>>,
    /// Templates (id, version, payload): those `refs` names, and those of the inspections
    /// found.
    pub templates: Vec<(String, u32, String)>,
    /// Findings: id, the device that made it.
    pub findings: Vec<Vec<Cell>>,
    /// Photo records: hash, the device whose record holds it.
    pub photos: Vec<Vec<Cell>>,
    /// Every unit code.
    pub units: Vec<String>,
    /// Every subcategory code.
    pub subcategories: Vec<String>,
}

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

fn stmt(sql: &'static str, args: impl IntoIterator<Item = Arg>) -> Stmt {
    Stmt {
        sql,
        args: args.into_iter().collect(),
    }
}

/// Appends to the change log, visible to `scope` (`None`: everyone).
async fn log_change(tx: &mut impl Tx, item: &ChangeItem, scope: Option<&str>) -> StoreResult<()> {
    log_placed_change(tx, item, scope, None).await
}

/// Where a change about a finding belongs, for scoped pulls: the finding's site, its district
/// and its reporter.
#[derive(Clone)]
struct Place {
    district: Option<String>,
    site_id: String,
    owner: String,
}

/// What one push has looked up already: findings' places and sites' districts (a tablet's
/// day names a few dozen sites and sends each finding's photos and steps beside it).
#[derive(Default)]
struct Places {
    findings: HashMap<Uuid, Option<Place>>,
    districts: HashMap<String, Option<String>>,
}

impl Places {
    /// The place of finding `finding_id` (`record`: the finding itself, when at hand), looked
    /// up once per push; `None` for a finding the store does not hold.
    async fn of(
        &mut self,
        tx: &mut impl Tx,
        finding_id: Uuid,
        record: Option<&FindingRecord>,
    ) -> StoreResult<Option<Place>> {
        if let Some(place) = self.findings.get(&finding_id) {
            return Ok(place.clone());
        }
        let place = finding_place(tx, finding_id, record, &mut self.districts).await?;
        self.findings.insert(finding_id, place.clone());
        Ok(place)
    }
}

/// The place of finding `finding_id` (`record`: the finding itself, when at hand); `None` for a
/// finding the store does not hold. `districts` caches sites' districts.
async fn finding_place(
    tx: &mut impl Tx,
    finding_id: Uuid,
    record: Option<&FindingRecord>,
    districts: &mut HashMap<String, Option<String>>,
) -> StoreResult<Option<Place>> {
    let stored;
    let finding = match record {
        Some(f) => f,
        None => {
            let row = tx
                .row(stmt(sql::SELECT_FINDING, [finding_id.to_string().into()]))
                .await?;
            let Some(row) = row else { return Ok(None) };
            stored = sql::from_json::<FindingRecord>(row[0].text())?;
            &stored
        }
    };
    let site_id = finding.site_id.to_string();
    let district = match districts.get(&site_id) {
        Some(d) => d.clone(),
        None => {
            let site = tx
                .text(stmt(sql::SELECT_SITE, [site_id.as_str().into()]))
                .await?
                .flatten();
            let district = match site {
                Some(p) => Some(sql::from_json::<Site>(&p)?.district),
                None => None,
            };
            districts.insert(site_id.clone(), district.clone());
            district
        }
    };
    Ok(Some(Place {
        district,
        site_id,
        owner: finding.reporter.clone(),
    }))
}

/// Appends to the change log, visible to `scope`, and records where it belongs when `place` is
/// given.
async fn log_placed_change(
    tx: &mut impl Tx,
    item: &ChangeItem,
    scope: Option<&str>,
    place: Option<&Place>,
) -> StoreResult<()> {
    let scope = scope.map_or(Arg::Null, Arg::from);
    let at = Arg::Int(fieldcheck_domain::clock::wall_clock_ms());
    let seq = tx
        .int(stmt(
            sql::INSERT_CHANGE,
            [scope, sql::to_json(item).into(), at],
        ))
        .await?
        .ok_or_else(|| StoreError::Backend("change log insert returned no seq".into()))?;
    if let Some(place) = place {
        let args = [
            Arg::Int(seq),
            place.district.clone().map_or(Arg::Null, Arg::from),
            place.site_id.as_str().into(),
            place.owner.as_str().into(),
        ];
        tx.exec(stmt(sql::INSERT_CHANGE_PLACE, args)).await?;
    }
    Ok(())
}

/// Upserts a keyed item and logs it when new or changed; returns whether it changed.
async fn upsert_logged(
    tx: &mut impl Tx,
    (select, upsert): (&'static str, &'static str),
    key: &str,
    payload: String,
    item: ChangeItem,
) -> StoreResult<bool> {
    let old = tx.text(stmt(select, [key.into()])).await?.flatten();
    if old.as_deref() == Some(payload.as_str()) {
        return Ok(false);
    }
    tx.exec(stmt(upsert, [key.into(), payload.into()])).await?;
    log_change(tx, &item, None).await?;
    Ok(true)
}

/// Inserts a template version, or finds it unchanged; a stored version with other content is a
/// conflict (a changed template needs a new version). Returns whether it was new.
async fn insert_template(tx: &mut impl Tx, t: &Template) -> StoreResult<bool> {
    let payload = sql::to_json(t);
    let key = [Arg::from(t.id.as_str()), Arg::Int(i64::from(t.version))];
    match tx
        .text(stmt(sql::SELECT_TEMPLATE, key.clone()))
        .await?
        .flatten()
    {
        Some(old) if old == payload => Ok(false),
        Some(_) => Err(StoreError::Conflict(format!(
            "template {} version {} already exists with other content; give the changed template a new version",
            t.id, t.version
        ))),
        None => {
            let [id, version] = key;
            tx.exec(stmt(sql::INSERT_TEMPLATE, [id, version, payload.into()]))
                .await?;
            log_change(tx, &ChangeItem::Template(t.clone()), None).await?;
            Ok(true)
        }
    }
}

/// Imports site types, units, taxonomy and templates; logs what is new or changed.
pub(crate) async fn import_content(tx: &mut impl Tx, c: &Content) -> StoreResult<ImportCounts> {
    tx.lock_change_log().await?;
    let mut changed = Vec::new();
    for st in &c.site_types {
        let item = ChangeItem::SiteType(st.clone());
        let tables = (sql::SELECT_SITE_TYPE, sql::UPSERT_SITE_TYPE);
        changed.push(upsert_logged(tx, tables, &st.code, sql::to_json(st), item).await?);
    }
    for u in &c.units {
        let item = ChangeItem::Unit(u.clone());
        let tables = (sql::SELECT_UNIT, sql::UPSERT_UNIT);
        changed.push(upsert_logged(tx, tables, &u.code, sql::to_json(u), item).await?);
    }
    for s in &c.taxonomy {
        let item = ChangeItem::Subcategory(s.clone());
        let tables = (sql::SELECT_SUBCATEGORY, sql::UPSERT_SUBCATEGORY);
        changed.push(upsert_logged(tx, tables, &s.code, sql::to_json(s), item).await?);
    }
    for t in &c.templates {
        changed.push(insert_template(tx, t).await?);
    }
    let new = changed.iter().filter(|c| **c).count();
    Ok(ImportCounts {
        changed: new as u32,
        unchanged: (changed.len() - new) as u32,
    })
}

/// Writes sites (new or changed) and logs each for every tablet.
pub(crate) async fn put_sites(tx: &mut impl Tx, sites: &[Site]) -> StoreResult<()> {
    tx.lock_change_log().await?;
    for site in sites {
        let args = [site.id.to_string().into(), sql::to_json(site).into()];
        tx.exec(stmt(sql::UPSERT_SITE, args)).await?;
        log_change(tx, &ChangeItem::Site(site.clone()), None).await?;
    }
    Ok(())
}

/// Writes an assignment and logs it for its inspector (and a cancelled copy for the previous
/// one, when it moved); an unchanged assignment writes nothing.
pub(crate) async fn put_assignment(tx: &mut impl Tx, a: &Assignment) -> StoreResult<()> {
    tx.lock_change_log().await?;
    let id = Arg::from(a.id.to_string());
    let old = tx
        .text(stmt(sql::SELECT_ASSIGNMENT, [id.clone()]))
        .await?
        .flatten();
    let changes = sql::assignment_changes(old.as_deref(), a)?;
    if changes.is_empty() {
        return Ok(());
    }
    let old_place = old
        .as_deref()
        .map(sql::from_json::<Assignment>)
        .transpose()?
        .map(|o| (o.inspector, o.site_id));
    tx.exec(stmt(
        sql::UPSERT_ASSIGNMENT,
        [id.clone(), sql::to_json(a).into()],
    ))
    .await?;
    let site = Arg::from(a.site_id.to_string());
    let args = [id, a.inspector.as_str().into(), site];
    tx.exec(stmt(sql::UPSERT_ASSIGNMENT_SITE, args)).await?;
    for (item, scope) in &changes {
        log_change(tx, item, Some(scope)).await?;
    }
    // A site outside an inspector's districts entering (or leaving) its scope: its tablets
    // pull again under the new scope, as when the districts change.
    if old_place == Some((a.inspector.clone(), a.site_id)) {
        return Ok(());
    }
    let district = tx
        .text(stmt(sql::SELECT_SITE, [a.site_id.to_string().into()]))
        .await?
        .flatten()
        .map(|p| sql::from_json::<Site>(&p))
        .transpose()?
        .map(|s| s.district);
    let mut touched: Vec<String> = changes
        .iter()
        .filter_map(|(item, _)| match item {
            ChangeItem::Assignment(x) => Some(x.inspector.clone()),
            _ => None,
        })
        .collect();
    touched.dedup();
    for inspector in touched {
        let account = account_scope(tx, &inspector).await?;
        let outside = district
            .as_ref()
            .is_some_and(|d| !account.districts.contains(d));
        if !account.districts.is_empty() && outside {
            tx.exec(stmt(sql::BUMP_ACCOUNT_SCOPE, [inspector.as_str().into()]))
                .await?;
        }
    }
    Ok(())
}

/// Appends an office step to an existing finding and logs it for the finding's unit; `false`
/// (nothing written) when the finding is unknown. A step whose id is stored already writes and
/// logs nothing.
pub(crate) async fn append_office_event(
    tx: &mut impl Tx,
    e: &RectificationEventRecord,
) -> StoreResult<bool> {
    tx.lock_change_log().await?;
    let finding = [Arg::from(e.finding_id.to_string())];
    let Some(unit) = tx.text(stmt(sql::FINDING_UNIT, finding)).await? else {
        return Ok(false);
    };
    let mut writes = sql::event_writes(e, "office").into_iter();
    let insert = writes.next().expect("the event's own row comes first");
    if tx.exec(insert).await? == 0 {
        // Stored already (a retry): its dispatch and its change-log entry were written then.
        return Ok(true);
    }
    for write in writes {
        tx.exec(write).await?;
    }
    let scope = sql::unit_scope(e.unit.as_deref().or(unit.as_deref()));
    let place = Places::default().of(tx, e.finding_id, None).await?;
    let item = ChangeItem::Rectification(e.clone());
    log_placed_change(tx, &item, Some(&scope), place.as_ref()).await?;
    Ok(true)
}

/// The version of `name`'s pull scope and its districts (none: the whole county).
pub(crate) async fn account_scope(tx: &mut impl Tx, name: &str) -> StoreResult<AccountScope> {
    let version = tx
        .int(stmt(sql::ACCOUNT_SCOPE_VERSION, [name.into()]))
        .await?
        .unwrap_or(0);
    let districts = tx
        .texts(stmt(sql::ACCOUNT_DISTRICTS, [name.into()]))
        .await?;
    Ok(AccountScope {
        version: u64_from_db(version),
        districts,
    })
}

/// Sets the districts `name` pulls (empty: the whole county) and moves its scope version on,
/// so that its tablets pull again under the new scope; unchanged districts change nothing.
/// Returns the scope as it now stands.
pub(crate) async fn set_account_districts(
    tx: &mut impl Tx,
    name: &str,
    districts: &[String],
) -> StoreResult<AccountScope> {
    let mut wanted: Vec<String> = districts.to_vec();
    wanted.sort();
    wanted.dedup();
    let current = account_scope(tx, name).await?;
    if current.districts == wanted {
        return Ok(current);
    }
    tx.exec(stmt(sql::CLEAR_ACCOUNT_DISTRICTS, [name.into()]))
        .await?;
    for d in &wanted {
        let args = [name.into(), d.as_str().into()];
        tx.exec(stmt(sql::INSERT_ACCOUNT_DISTRICT, args)).await?;
    }
    tx.exec(stmt(sql::BUMP_ACCOUNT_SCOPE, [name.into()]))
        .await?;
    account_scope(tx, name).await
}

/// One page of changes for `scope` after `cursor`, at most `limit`. An inspector whose tablet
/// pulled under another scope version (`tablet_version`; `None` counts as version 0) than its
/// account's now starts again from cursor 0 with `reset` set.
pub(crate) async fn pull(
    tx: &mut impl Tx,
    cursor: u64,
    limit: u32,
    scope: &PullScope,
    tablet_version: Option<u64>,
) -> StoreResult<PullPage> {
    let limit = Arg::Int(i64::from(limit));
    let at = |cursor: u64| Arg::Int(i64::try_from(cursor).unwrap_or(i64::MAX));
    let (query, mut args, version, reset) = match scope {
        PullScope::Everything => (sql::PULL_ALL, vec![at(cursor), limit], 0, false),
        PullScope::Unit(unit) => {
            let own = Arg::from(sql::unit_scope(Some(unit)));
            (
                sql::PULL_SCOPED,
                vec![at(cursor), limit, own, Arg::Int(0)],
                0,
                false,
            )
        }
        PullScope::Inspector(name) => {
            let account = account_scope(tx, name).await?;
            let reset = cursor > 0 && tablet_version.unwrap_or(0) != account.version;
            let from = if reset { 0 } else { cursor };
            let own = Arg::from(sql::user_scope(name));
            let (query, last) = if account.districts.is_empty() {
                (sql::PULL_SCOPED, Arg::Int(1))
            } else {
                (sql::PULL_DISTRICTS, Arg::from(name.as_str()))
            };
            (
                query,
                vec![at(from), limit, own, last],
                account.version,
                reset,
            )
        }
    };
    let rows = tx
        .rows(Stmt {
            sql: query,
            args: std::mem::take(&mut args),
        })
        .await?;
    let changes = rows
        .iter()
        .map(|r| {
            Ok(ChangeRow {
                seq: u64_from_db(r[0].int()),
                item: sql::from_json(r[1].text())?,
            })
        })
        .collect::<StoreResult<_>>()?;
    Ok(PullPage {
        changes,
        scope_version: version,
        reset,
    })
}

/// This server's county id: the stored one, or a new one stored now (a racing replica's, if
/// it stored one first).
pub(crate) async fn county_id(tx: &mut impl Tx) -> StoreResult<Uuid> {
    let key = || Arg::from("county_id");
    let made = Uuid::now_v7().to_string();
    tx.exec(stmt(sql::INSERT_META, [key(), made.into()]))
        .await?;
    let stored = tx.text(stmt(sql::SELECT_META, [key()])).await?.flatten();
    sql::uuid(&stored.unwrap_or_default())
}

/// Findings, newest first, of those `which` selects, each with its log
/// ([`super::OfficeStore::list_findings`]).
pub(crate) async fn list_findings(
    tx: &mut impl Tx,
    which: &FindingFilter,
    limit: u32,
) -> StoreResult<Vec<FindingRow>> {
    let limit = Arg::from(i64::from(limit));
    let list = match which {
        FindingFilter::All => stmt(sql::LIST_FINDINGS_ALL, [limit]),
        FindingFilter::Unit(unit) => stmt(sql::LIST_FINDINGS_UNIT, [limit, unit.as_str().into()]),
        FindingFilter::Undispatched { since } => {
            stmt(sql::LIST_FINDINGS_UNDISPATCHED, [limit, Arg::from(*since)])
        }
    };
    let mut out = Vec::new();
    for row in tx.rows(list).await? {
        let [payload, unit] = row.as_slice() else {
            return Err(StoreError::Backend("a finding row of 2 columns".into()));
        };
        let record: FindingRecord = sql::from_json(payload.text())?;
        let events = tx
            .texts(stmt(sql::FINDING_EVENTS, [record.id.to_string().into()]))
            .await?
            .iter()
            .map(|p| sql::from_json(p))
            .collect::<StoreResult<Vec<RectificationEventRecord>>>()?;
        out.push(FindingRow {
            record,
            current_unit: unit.opt_text(),
            events,
        });
    }
    Ok(out)
}

/// Puts a task division in force as the next version.
pub(crate) async fn put_task_division(tx: &mut impl Tx, d: &NewTaskDivision) -> StoreResult<i64> {
    let args = [
        Arg::from(d.imported_at),
        d.imported_by.as_str().into(),
        d.source.as_str().into(),
        sql::to_json(&d.rules).into(),
    ];
    tx.int(stmt(sql::INSERT_TASK_DIVISION, args))
        .await?
        .ok_or_else(|| StoreError::Backend("the task division's version was not returned".into()))
}

/// The task division in force, if any.
pub(crate) async fn task_division(tx: &mut impl Tx) -> StoreResult<Option<TaskDivision>> {
    let Some(row) = tx.row(stmt(sql::SELECT_TASK_DIVISION, [])).await? else {
        return Ok(None);
    };
    let [version, at, by, source, rules] = row.as_slice() else {
        return Err(StoreError::Backend(
            "a task division row of 5 columns".into(),
        ));
    };
    Ok(Some(TaskDivision {
        version: version.int(),
        division: NewTaskDivision {
            imported_at: at.int(),
            imported_by: by.text().to_string(),
            source: source.text().to_string(),
            rules: sql::from_json(rules.text())?,
        },
    }))
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
/// skips entries already applied, writes the rest (each write idempotent), logs findings and
/// steps for the finding's current unit, moves the prefix, and, when it applied anything,
/// records it in the audit log (action `push`, by the device's account) in the same
/// transaction.
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
    if fresh
        .iter()
        .any(|e| sql::redistributed(&e.record).is_some())
    {
        tx.lock_change_log().await?;
    }
    let mut high = prefix;
    let mut places = Places::default();
    let mut next_numbers = HashMap::new();
    let bulk = Bulk::of(device_id, &fresh);
    let in_bulk = !bulk.is_empty() && tx.upsert_in_bulk(&bulk).await?;
    for e in &fresh {
        if in_bulk && matches!(e.record, Record::Inspection(_) | Record::ItemResult(_)) {
            high = e.seq;
            continue;
        }
        let mut written = 0;
        for write in sql::entry_writes(device_id, signer_key, e) {
            written += tx.exec(write).await?;
        }
        // A record stored already (another device's copy of a photo) or older than the stored
        // one changes nothing, and nothing is passed on.
        if written > 0
            && let Some((item, finding, unit)) = sql::redistributed(&e.record)
        {
            let current = tx
                .text(stmt(sql::FINDING_UNIT, [finding.to_string().into()]))
                .await?;
            let scope = sql::unit_scope(current.flatten().or(unit).as_deref());
            let record = match &e.record {
                Record::Finding(f) => Some(f),
                _ => None,
            };
            let place = places.of(tx, finding, record).await?;
            log_placed_change(tx, &item, Some(&scope), place.as_ref()).await?;
            if let Some(f) = record {
                number_finding(tx, f, &scope, place.as_ref(), &mut next_numbers).await?;
            }
        }
        high = e.seq;
    }
    let new_high = Arg::Int(i64::try_from(high).unwrap_or(i64::MAX));
    tx.exec(stmt(sql::SET_DEVICE_PREFIX, [new_high, device.clone()]))
        .await?;
    if !fresh.is_empty() {
        let detail = push_detail(fresh.len(), high);
        let at = Arg::Int(fieldcheck_domain::clock::wall_clock_ms());
        tx.exec(stmt(sql::AUDIT_PUSH, [at, detail.into(), device]))
            .await?;
    }
    Ok(PushOutcome {
        high_seq: high,
        applied: fresh.len() as u32,
    })
}

/// Gives finding `f` its short number, once: the next of the day it was found (as
/// [`finding_number::numbering_day`] allows, by the server's clock), logged for the tablets
/// right after the finding. The caller holds the change-log lock, so two pushes cannot draw the
/// same number; `next` carries the next number of each day through one push, so only its first
/// finding of a day asks the database.
async fn number_finding(
    tx: &mut impl Tx,
    f: &FindingRecord,
    scope: &str,
    place: Option<&Place>,
    next: &mut HashMap<i64, i64>,
) -> StoreResult<()> {
    let day =
        finding_number::numbering_day(f.created_at, fieldcheck_domain::clock::wall_clock_ms());
    let seq = match next.get(&day) {
        Some(seq) => *seq,
        None => tx
            .int(stmt(sql::NEXT_FINDING_SEQ, [Arg::Int(day)]))
            .await?
            .unwrap_or(1),
    };
    let number = finding_number::format(day, seq);
    let args = [
        f.id.to_string().into(),
        Arg::Int(day),
        Arg::Int(seq),
        number.as_str().into(),
    ];
    if tx.exec(stmt(sql::INSERT_FINDING_NUMBER, args)).await? == 0 {
        return Ok(());
    }
    next.insert(day, seq + 1);
    let finding_id = f.id;
    let item = ChangeItem::FindingNumber(FindingNumber { finding_id, number });
    log_placed_change(tx, &item, Some(scope), place).await
}

/// Sets the person's name of account `name` (empty: none) and, when it changed, logs it for
/// every tablet; `false` when there is no such account.
pub(crate) async fn set_display_name(
    tx: &mut impl Tx,
    name: &str,
    display_name: &str,
) -> StoreResult<bool> {
    tx.lock_change_log().await?;
    let old = tx
        .text(stmt(sql::SELECT_DISPLAY_NAME, [name.into()]))
        .await?
        .flatten()
        .unwrap_or_default();
    let args = [display_name.into(), name.into()];
    if tx.exec(stmt(sql::SET_DISPLAY_NAME, args)).await? == 0 {
        return Ok(false);
    }
    if old != display_name {
        let person = ChangeItem::Person(Person {
            account: name.to_string(),
            name: display_name.to_string(),
        });
        log_change(tx, &person, None).await?;
    }
    Ok(true)
}

/// Whether `scope` may see photo `sha` (`None`: the server has no record of it): admins any,
/// a unit its unit's findings' photos, an inspector its own device's and those of the findings
/// it pulls (its districts, assigned sites and own findings; any finding without districts).
pub(crate) async fn photo_visible(
    tx: &mut impl Tx,
    sha: &str,
    scope: &PullScope,
    device: Option<Uuid>,
) -> StoreResult<Option<bool>> {
    let Some(row) = tx.row(stmt(sql::SELECT_PHOTO, [sha.into()])).await? else {
        return Ok(None);
    };
    let photo: fieldcheck_protocol::PhotoRecord = sql::from_json(row[0].text())?;
    if matches!(scope, PullScope::Everything) || device == Some(photo.device_id) {
        return Ok(Some(true));
    }
    let Some(finding) = photo.finding_id else {
        return Ok(Some(false));
    };
    let Some(found) = tx
        .row(stmt(sql::SELECT_FINDING, [finding.to_string().into()]))
        .await?
    else {
        return Ok(Some(false));
    };
    let record: FindingRecord = sql::from_json(found[0].text())?;
    let unit = found[1].opt_text().or(record.unit.clone());
    Ok(Some(match scope {
        PullScope::Everything => true,
        PullScope::Unit(u) => unit.as_deref() == Some(u.as_str()),
        PullScope::Inspector(name) => {
            let account = account_scope(tx, name).await?;
            let place = Places::default()
                .of(tx, finding, Some(&record))
                .await?
                .expect("the finding is at hand");
            let assigned = tx
                .int(stmt(
                    sql::ASSIGNED_SITE,
                    [name.as_str().into(), place.site_id.as_str().into()],
                ))
                .await?
                .is_some();
            account.districts.is_empty()
                || place.owner == *name
                || assigned
                || place
                    .district
                    .is_some_and(|d| account.districts.contains(&d))
        }
    }))
}
