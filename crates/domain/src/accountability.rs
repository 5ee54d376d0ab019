//! 倒查责任: the accountability trail of a finding — who held it, from when to when, under
//! which deadline, and who moved it on — and totals per holder and per person over many
//! findings.
//!
//! # The stage model
//!
//! A trail is read from the same log, in the same order and by the same state machine as the
//! finding's status ([`log_order`], [`Status::after`]): every step that applies
//! from the status reached so far ends the current stage and, unless it closes the finding,
//! starts the next; a step that does not apply (a stray 处置 after 结案, a 核查 of something
//! never reported fixed) stays in the log as evidence and changes nothing here either. So the
//! last stage of a trail is always at the finding's [`derive_status`](crate::rectification::derive_status),
//! and a closed finding has no open stage.
//!
//! Who holds the finding at each status:
//!
//! | status | holder |
//! |---|---|
//! | 待派遣 (open, and again after a 立案 re-opens it) | the office |
//! | 待整改, 已退回 | the unit that [`duty`] names (the last 派遣's unit) |
//! | 待核查 (a fix was reported) | whoever must re-check it (回头看): an inspector or the office |
//! | 已核查 | the office, to close it |
//!
//! A re-dispatch (派遣 while already 待整改) starts a new stage for the new unit and deadline.
//!
//! # Deadlines
//!
//! A stage carries the deadline in force while it was held, when the finding at that status
//! still owes the work the deadline applies to ([`Status::owed`]): [`duty`]'s, read from the
//! log up to the step that ended the stage (the whole log for a stage still held, so that
//! stage is late exactly when the ledger shows the finding overdue). For a unit's stage that is
//! the dispatch's deadline; before dispatch, the finding's own (a 当场整改 finding's is the
//! day it was found, and applies until it is closed). A deadline day `D` is
//! met when the stage ended (normally: the fix was reported) before the end of `D` in China
//! time (UTC+8); a stage that ended later, or is still held after `D`, missed it by the China
//! calendar days from `D` to the day it ended (or to `now`). A deadline that is not a real date
//! is shown but never judged.
//!
//! Days held are China calendar days from the day a stage began to the day it ended (or
//! `now`): a stage begun and ended on the same China day held it 0 days.

use crate::china_time::{china_day_number, china_midnight};
use crate::rectification::{Status, duty, log_order};
use fieldcheck_protocol::{FindingRecord, RectificationAction, RectificationEventRecord};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

/// Who holds a finding during a stage.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "unit", rename_all = "snake_case")]
pub enum Holder {
    /// The county office (创城办): to dispatch it (待派遣) or to close it (已核查). Also a 待整改
    /// stage whose dispatch, and the finding, name no unit.
    Office,
    /// Whoever must re-check a reported fix on site (回头看): an inspector or the office.
    Recheck,
    /// A responsible unit, by code, while it owes the fix (待整改, 已退回).
    Unit(String),
}

/// One stretch of a finding's trail during which one holder had it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// The finding's status during the stage (never [`Status::Closed`]).
    pub status: Status,
    /// Who held it.
    pub holder: Holder,
    /// Who put it in this holder's hands: the actor of the step that began the stage, or the
    /// finding's reporter for the first stage.
    pub started_by: String,
    /// The actor of the step that ended the stage; `None` while it is still held.
    pub moved_on_by: Option<String>,
    /// The step that ended the stage; `None` while it is still held.
    pub moved_on_with: Option<RectificationAction>,
    /// When it began, Unix milliseconds: the finding's creation, then each step's HLC time.
    pub from_ms: i64,
    /// When it ended; `None` while still held.
    pub to_ms: Option<i64>,
    /// China calendar days from the day it began to the day it ended (or `now`), never negative.
    pub days_held: i64,
    /// The deadline `YYYY-MM-DD` (China time) that applied to the stage, if any.
    pub deadline: Option<String>,
    /// Whether the deadline was missed: the stage ended, or is still held, after the deadline day.
    pub missed: bool,
    /// China calendar days past the deadline day when it ended (or `now`); 0 when met or none.
    pub days_overdue: i64,
}

/// A finding's accountability trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trail {
    /// The finding.
    pub finding_id: Uuid,
    /// Its status after the whole log (the same as `derive_status`).
    pub status: Status,
    /// Its stages, oldest first; the last one has `to_ms == None` unless the finding is closed.
    pub stages: Vec<Stage>,
}

/// The trail of `finding` from its log `events` (in any order; applied in HLC order, ties by
/// id, as the status is), with still-held stages counted up to `now_ms`. Events of other
/// findings must not be passed. See the module doc for the stage model and deadlines.
pub fn trail(finding: &FindingRecord, events: &[RectificationEventRecord], now_ms: i64) -> Trail {
    let mut log = events.to_vec();
    log.sort_by(log_order);
    let mut status = Status::Open;
    let mut stages = Vec::new();
    let mut current = Some(begin(
        finding,
        &[],
        status,
        &finding.reporter,
        finding.created_at,
    ));
    for (k, e) in log.iter().enumerate() {
        let Some(next) = status.after(e.action) else {
            continue;
        };
        let at = e.hlc.unix_millis();
        if let Some(stage) = current.take() {
            stages.push(end(stage, finding, &log[..k], Some((e, at)), now_ms));
        }
        status = next;
        if status != Status::Closed {
            current = Some(begin(finding, &log[..=k], status, &e.actor, at));
        }
    }
    if let Some(stage) = current {
        stages.push(end(stage, finding, &log, None, now_ms));
    }
    Trail {
        finding_id: finding.id,
        status,
        stages,
    }
}

/// A stage that begins at `from_ms` with the finding at `status` after the steps `applied`
/// (its deadline is read when it ends).
fn begin(
    finding: &FindingRecord,
    applied: &[RectificationEventRecord],
    status: Status,
    started_by: &str,
    from_ms: i64,
) -> Stage {
    let holder = match status {
        Status::Dispatched | Status::SentBack => duty(finding, applied)
            .unit
            .map_or(Holder::Office, Holder::Unit),
        Status::Rectified => Holder::Recheck,
        Status::Open | Status::Verified | Status::Closed => Holder::Office,
    };
    Stage {
        status,
        holder,
        started_by: started_by.to_owned(),
        moved_on_by: None,
        moved_on_with: None,
        from_ms,
        to_ms: None,
        days_held: 0,
        deadline: None,
        missed: false,
        days_overdue: 0,
    }
}

/// Ends `stage` with the step `by` at its time, or leaves it held and counts it to `now_ms`;
/// `before` is the log up to that step (the whole log for a stage still held), whose [`duty`]
/// gives the deadline in force.
fn end(
    mut stage: Stage,
    finding: &FindingRecord,
    before: &[RectificationEventRecord],
    by: Option<(&RectificationEventRecord, i64)>,
    now_ms: i64,
) -> Stage {
    let d = duty(finding, before);
    stage.deadline = d.deadline.filter(|_| d.due_open);
    if let Some((e, at)) = by {
        stage.moved_on_by = Some(e.actor.clone());
        stage.moved_on_with = Some(e.action);
        stage.to_ms = Some(at);
    }
    let until = stage.to_ms.unwrap_or(now_ms);
    stage.days_held = (china_day_number(until) - china_day_number(stage.from_ms)).max(0);
    if let Some(due) = stage.deadline.as_deref().and_then(china_midnight) {
        stage.days_overdue = (china_day_number(until) - china_day_number(due)).max(0);
        stage.missed = stage.days_overdue > 0;
    }
    stage
}

/// What a holder or a person answers for over many trails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total<K> {
    /// The holder or the person.
    pub key: K,
    /// Distinct findings with at least one of these stages.
    pub findings: usize,
    /// Stages.
    pub stages: usize,
    /// Σ days held over the stages.
    pub days_held: i64,
    /// Stages that missed their deadline.
    pub missed: usize,
    /// Σ days overdue over the stages.
    pub days_overdue: i64,
}

/// Totals over many trails, each list worst first: most days overdue, then most deadlines
/// missed, then most days held, then by key (holders: the office, re-checks, then units by
/// code; people by name), so the order is the same on every run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Per holder: each unit, the office, re-checks. Every stage, held or ended, counts for
    /// its holder.
    pub by_holder: Vec<Total<Holder>>,
    /// Per person: each stage counts for the actor who moved it on (a unit member who reported
    /// the fix, the office staff who dispatched or closed, the inspector who re-checked). A
    /// stage still held counts for no person, only for its holder.
    pub by_person: Vec<Total<String>>,
}

/// Totals per holder and per person over `trails` (of distinct findings).
pub fn totals<'a>(trails: impl IntoIterator<Item = &'a Trail>) -> Totals {
    let mut by_holder = Tallies::default();
    let mut by_person = Tallies::default();
    for t in trails {
        for stage in &t.stages {
            by_holder.add(stage.holder.clone(), t.finding_id, stage);
            if let Some(person) = &stage.moved_on_by {
                by_person.add(person.clone(), t.finding_id, stage);
            }
        }
    }
    Totals {
        by_holder: by_holder.ranked(),
        by_person: by_person.ranked(),
    }
}

/// Running totals by key, with the findings seen for each.
struct Tallies<K>(BTreeMap<K, (Total<K>, BTreeSet<Uuid>)>);

impl<K> Default for Tallies<K> {
    fn default() -> Self {
        Tallies(BTreeMap::new())
    }
}

impl<K: Ord + Clone> Tallies<K> {
    fn add(&mut self, key: K, finding: Uuid, stage: &Stage) {
        let (total, findings) = self.0.entry(key.clone()).or_insert_with(|| {
            let total = Total {
                key,
                findings: 0,
                stages: 0,
                days_held: 0,
                missed: 0,
                days_overdue: 0,
            };
            (total, BTreeSet::new())
        });
        findings.insert(finding);
        total.findings = findings.len();
        total.stages += 1;
        total.days_held += stage.days_held;
        total.missed += usize::from(stage.missed);
        total.days_overdue += stage.days_overdue;
    }

    fn ranked(self) -> Vec<Total<K>> {
        let mut list: Vec<Total<K>> = self.0.into_values().map(|(t, _)| t).collect();
        // Already in key order, and the sort is stable.
        list.sort_by(|a, b| {
            (b.days_overdue, b.missed, b.days_held).cmp(&(a.days_overdue, a.missed, a.days_held))
        });
        list
    }
}

#[cfg(test)]
mod tests;
