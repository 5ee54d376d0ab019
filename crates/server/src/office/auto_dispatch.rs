//! Dispatching new findings by the task division (任务分工): a finding that reaches the server
//! open and undispatched is sent to the unit of the division's most specific matching rule,
//! with the rule's deadline, as a 派遣 step recorded through [`Office::record_step`] by the
//! actor [`Actor::task_division`], so the same policy and audit apply as to the office's own
//! dispatches. A finding no rule matches is 无人管 and waits for the office.
//!
//! A pass runs after every push that brought findings, at start and every minute; each
//! replica runs its own. The step's id is derived from the finding's, so two passes (two
//! replicas, a retry after a crash) record it once. Only findings made after the division was
//! imported, and in the last [`LOOK_BACK_MS`], are considered: importing a division does not
//! re-dispatch the ledger's history.

use super::{Actor, Office, OfficeError};
use crate::app::AppState;
use crate::dashboard::reference::Reference;
use crate::store::{FindingFilter, FindingRow, TaskDivision};
use fieldcheck_domain::rectification::{Status, derive_status};
use fieldcheck_domain::task_division::{Place, Rule, owner};
use fieldcheck_protocol::{RectificationAction, RectificationEventRecord, Site};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// How far back a pass looks for undispatched findings.
pub const LOOK_BACK_MS: i64 = 30 * 24 * 3600 * 1000;
/// Most findings one pass considers (newest first).
const PASS_LIMIT: u32 = 5_000;
/// The pause between passes when no push wakes the dispatcher.
const IDLE_PASS: Duration = Duration::from_secs(60);

/// What the division says of one undispatched finding.
#[derive(Clone, Debug)]
pub enum Decision<'a> {
    /// Dispatch by this rule.
    Dispatch(&'a Rule),
    /// No rule matches: 无人管.
    Unowned,
}

/// The findings among `rows` that wait for a dispatch (open, never dispatched) and what the
/// division decides for each; a finding whose site is unknown is 无人管.
pub fn decide<'a>(
    rules: &'a [Rule],
    sites: &HashMap<Uuid, &Site>,
    rows: &'a [FindingRow],
) -> Vec<(&'a FindingRow, Decision<'a>)> {
    rows.iter()
        .filter(|r| derive_status(r.events.iter()) == Status::Open)
        .filter(|r| {
            !r.events
                .iter()
                .any(|e| e.action == RectificationAction::Dispatched)
        })
        .map(|r| {
            let place = sites.get(&r.record.site_id).map(|s| Place {
                district: &s.district,
                street: &s.street,
                site_type: &s.site_type,
                site_id: s.id,
                item_code: r.record.item_code.as_deref(),
            });
            let rule = place.and_then(|p| owner(rules, &p));
            (r, rule.map_or(Decision::Unowned, Decision::Dispatch))
        })
        .collect()
}

/// The undispatched findings a pass considers under `division` at `now_ms`.
pub async fn waiting(
    state: &AppState,
    division: &TaskDivision,
    now_ms: i64,
) -> Result<Vec<FindingRow>, OfficeError> {
    let since = division.division.imported_at.max(now_ms - LOOK_BACK_MS);
    Ok(state
        .store
        .list_findings(&FindingFilter::Undispatched { since }, PASS_LIMIT)
        .await?)
}

/// The 派遣 step a rule makes for a finding: its id derived from the finding's (one per
/// finding, whichever pass records it), the rule's unit and deadline, and a note naming the
/// division's version, the person and the partner unit.
pub fn dispatch_step(
    row: &FindingRow,
    rule: &Rule,
    version: i64,
    now_ms: i64,
    reference: &Reference,
    hlc: fieldcheck_protocol::Hlc,
) -> RectificationEventRecord {
    let mut note = format!("按任务分工（第 {version} 版）派遣");
    if !rule.person.is_empty() {
        note.push_str(&format!("；责任人：{} {}", rule.person, rule.phone));
    }
    if let Some(partner) = &rule.partner_unit {
        let name = reference.unit_name(crate::dashboard::i18n::Lang::Zh, partner);
        note.push_str(&format!("；结对共建单位：{name}"));
    }
    RectificationEventRecord {
        id: Uuid::new_v5(&row.record.id, b"task-division-dispatch"),
        finding_id: row.record.id,
        action: RectificationAction::Dispatched,
        actor: Actor::task_division().name,
        note: note.trim_end().to_string(),
        unit: Some(rule.unit.clone()),
        deadline: Some(rule.deadline(row.record.same_day, now_ms)),
        photo_sha256: None,
        hlc,
    }
}

/// One pass: dispatches what the division owns; returns how many findings it dispatched and
/// how many it left 无人管.
pub async fn run_pass(state: &AppState) -> Result<(usize, usize), OfficeError> {
    let Some(division) = state.store.task_division().await? else {
        return Ok((0, 0));
    };
    let now = crate::clock::now_ms();
    let rows = waiting(state, &division, now).await?;
    if rows.is_empty() {
        return Ok((0, 0));
    }
    let reference = Reference::load(state.store.as_ref()).await?;
    let sites: HashMap<Uuid, &Site> = reference.sites.iter().map(|s| (s.id, s)).collect();
    let office = Office::new(state, Actor::task_division());
    let (mut sent, mut unowned) = (0, 0);
    for (row, decision) in decide(&division.division.rules, &sites, &rows) {
        let Decision::Dispatch(rule) = decision else {
            unowned += 1;
            continue;
        };
        // Read again just before writing: the office may have dispatched it meanwhile.
        let Some(fresh) = state.store.finding(row.record.id).await? else {
            continue;
        };
        if !fresh.events.is_empty() {
            continue;
        }
        let step = dispatch_step(
            &fresh,
            rule,
            division.version,
            now,
            &reference,
            state.clock.now(),
        );
        match office.record_step(&fresh, &step).await {
            Ok(()) => sent += 1,
            // A rule whose unit was since removed, a finding that moved on: the office's to see.
            Err(OfficeError::Invalid { fault, .. }) => {
                tracing::warn!(finding = %row.record.id, %fault, "task division dispatch refused");
            }
            Err(OfficeError::NotApplicable { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((sent, unowned))
}

/// Runs passes for as long as the server runs: at start, after each push that brought findings
/// ([`AppState::wake_dispatcher`]), and every [`IDLE_PASS`].
pub async fn run_forever(state: crate::app::SharedState) {
    loop {
        match run_pass(&state).await {
            Ok((0, _)) => {}
            Ok((sent, unowned)) => {
                tracing::info!(sent, unowned, "findings dispatched by the task division");
            }
            Err(e) => tracing::warn!(error = %e, "task division pass failed; retried"),
        }
        let _ = tokio::time::timeout(IDLE_PASS, state.dispatcher.notified()).await;
    }
}
