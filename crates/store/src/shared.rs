//! The store's algorithms, written once: applying a push (gap check, skipping the
//! acknowledged prefix, routing each finding's news to its unit) and looking up what a push
//! refers to, importing content, writing sites, assignments and office steps, each with its
//! change-log entries. A backend supplies only a [`Tx`]: an open connection or transaction
//! that runs the shared statements of `sql.rs` in its dialect, and the change-log lock.

use super::sql::{self, Stmt};
use super::{
    AccountScope, ChangeRow, Content, FindingFilter, FindingRow, ImportCounts, NewTaskDivision,
    PullPage, PullScope, RefQuery, StoreError, StoreResult, TaskDivision, u64_from_db,
};
use crate::dashboard::{Arg, Cell};
use fieldcheck_protocol::{
    Assignment, ChangeItem, FindingRecord, OutboxEntry, Person, RectificationEventRecord, Site,
    Template,
};
use std::collections::HashMap;
use uuid::Uuid;

mod push;
pub(crate) use push::{Bulk, ContextQuery, ContextRows, NewChange, PlainPush, apply_push, lookup};

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
    /// Writes a push's findings, photo records, steps and check-ins (`entries`: no inspection,
    /// no answer, no 派遣) in a few statements when the backend gains by it, with the same
    /// rules as [`sql::entry_writes`]; returns for each entry whether it changed the store.
    /// `None` when they are to be written one by one.
    async fn write_in_bulk(
        &mut self,
        _device_id: Uuid,
        _signer_key: &str,
        _entries: &[&OutboxEntry],
    ) -> StoreResult<Option<Vec<bool>>> {
        Ok(None)
    }
    /// What a push's news needs to know, read in as few statements as the backend can; `None`
    /// when it is to be read a statement at a time.
    async fn context_rows(&mut self, _query: &ContextQuery) -> StoreResult<Option<ContextRows>> {
        Ok(None)
    }
    /// Appends `changes` to the change log in their order, each with its place and the short
    /// number it announces, in a few statements when the backend gains by it; `false` when
    /// they are to be written one by one. The caller holds the change-log lock.
    async fn log_in_bulk(&mut self, _changes: &[NewChange]) -> StoreResult<bool> {
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
#[derive(Clone, Debug)]
pub(crate) struct Place {
    /// The site's district, when the site is known.
    pub district: Option<String>,
    /// The finding's site.
    pub site_id: String,
    /// The inspector who reported it.
    pub owner: String,
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
/// logs nothing. Like a push, it takes the change-log lock after its writes: the finding's
/// unit is read under the lock, after any step that moved it and took the lock before.
pub(crate) async fn append_office_event(
    tx: &mut impl Tx,
    e: &RectificationEventRecord,
) -> StoreResult<bool> {
    let finding = [Arg::from(e.finding_id.to_string())];
    if tx
        .text(stmt(sql::FINDING_UNIT, finding.clone()))
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let mut writes = sql::event_writes(e, "office").into_iter();
    let insert = writes.next().expect("the event's own row comes first");
    if tx.exec(insert).await? == 0 {
        // Stored already (a retry): its dispatch and its change-log entry were written then.
        return Ok(true);
    }
    for write in writes {
        tx.exec(write).await?;
    }
    tx.lock_change_log().await?;
    let unit = tx.text(stmt(sql::FINDING_UNIT, finding)).await?.flatten();
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
