//! 通报: the office's weekly (or on demand) bulletin of a period's findings, per district,
//! street and unit, with the units ranked and the best and worst named (红榜, 黑榜).
//!
//! # What is counted
//!
//! Every figure is about the findings **found in the period** (created within its China days),
//! judged at the period's last moment, or now while it runs ([`Period::as_of`]): steps stamped
//! later are not read, so a bulletin made again later for the same period says the same (as
//! long as no step stamped inside the period arrives late from an offline tablet). A finding's
//! log is read by the same rules as its status everywhere else: [`finished_at`] (when its owed
//! work was done: the fix reported, or a 当场整改 finding closed) and [`duty`] (its unit and the
//! deadline in force: the last 派遣's, else its own).
//!
//! Each finding has one [`Outcome`], so `found = on_time + late + overdue + pending`:
//!
//! | outcome | when |
//! |---|---|
//! | 按期整改 (on time) | its work was done on or before its deadline's China day, or done with no deadline |
//! | 逾期整改 (late) | its work was done after its deadline's day |
//! | 逾期未改 (overdue) | not done, and the deadline's day is over ([`Duty::overdue`](crate::rectification::Duty::overdue) on the as-of day) |
//! | 整改中 (pending) | not done, and not past its deadline (or without one) |
//!
//! A finding is **reopened** (复发) when an earlier finding at the same site with the same
//! checklist item had its work done (by [`finished_at`], reading that finding's log up to the
//! new one's creation) no more than [`REOPEN_DAYS`] China days before the new one was found: the
//! problem was fixed and found again. A finding without a checklist item is never reopened.
//! The earlier finding may be from before the period; the caller passes it among the cases.
//!
//! A finding counts for its site's district and street, and for the unit [`duty`] names at the
//! as-of moment (none: counted as 未指定单位, never ranked).
//!
//! # Ranking
//!
//! A unit is ranked when it has at least one decided finding (on time, late or overdue). Its
//! on-time rate is on time / decided. Best first: higher rate, then fewer overdue, then fewer
//! reopened, then more on time, then unit code (so the order is the same on every run). 红榜
//! (the red list) is the first [`LIST_LEN`] of the ranking that have nothing late or overdue;
//! 黑榜 (the black list) the last [`LIST_LEN`], worst first (lower rate, more overdue, more
//! reopened, more decided, then code), of those with something late or overdue. So no unit is
//! on both lists, and a list may be short or empty.
//!
//! The worst cases ([`Bulletin::worst`]) are the late and overdue findings, most days late first
//! (to the day the work was done, or to the as-of day), then the earliest found.

mod index_loss;
mod period;

pub use index_loss::{IndexLoss, IndexLosses, IndexWeights, index_losses};
pub use period::{MAX_DAYS, Period, PeriodFault};

use crate::china_time::{china_date, china_day_number, china_midnight};
use crate::rectification::{duty, finished_at, log_order};
use fieldcheck_protocol::{FindingRecord, RectificationAction, RectificationEventRecord};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// How many China days after an earlier finding's fix a new one at the same site and item
/// counts as reopened.
pub const REOPEN_DAYS: i64 = 30;
/// Units on the red list and on the black list, at most.
pub const LIST_LEN: usize = 3;

/// Where a finding of the period stands at the as-of moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 按期整改: done on or before its deadline's day, or done with no deadline.
    OnTime,
    /// 逾期整改: done after its deadline's day.
    Late,
    /// 逾期未改: not done, its deadline's day over.
    Overdue,
    /// 整改中: not done, not past its deadline (or without one).
    Pending,
}

/// A finding with what the bulletin needs to know about it.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    /// The finding.
    pub finding: &'a FindingRecord,
    /// Its whole log, in any order (only steps up to the as-of moment are read).
    pub log: &'a [RectificationEventRecord],
    /// Its site's district.
    pub district: &'a str,
    /// Its site's street.
    pub street: &'a str,
}

/// A finding of the period, judged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Judged {
    /// The finding.
    pub finding_id: Uuid,
    /// When it was found (Unix ms).
    pub created_at: i64,
    /// Its site's district.
    pub district: String,
    /// Its site's street.
    pub street: String,
    /// The unit [`duty`] names at the as-of moment.
    pub unit: Option<String>,
    /// The deadline in force then, `YYYY-MM-DD`.
    pub deadline: Option<String>,
    /// Its outcome.
    pub outcome: Outcome,
    /// When its work was done ([`finished_at`]), if it was by the as-of moment.
    pub finished_at: Option<i64>,
    /// China days past the deadline's day: to the day the work was done (late), or to the
    /// as-of day (overdue); 0 otherwise.
    pub days_late: i64,
    /// The earlier finding it reopens, if any (the one whose fix was latest).
    pub reopens: Option<Uuid>,
    /// The latest after-photo named by a 处置 or 核查 step up to the as-of moment.
    pub after_photo: Option<String>,
}

/// The steps of `log` stamped no later than `at` (borrowed when that is all of them).
fn known_at(log: &[RectificationEventRecord], at: i64) -> Cow<'_, [RectificationEventRecord]> {
    if log.iter().all(|e| e.hlc.unix_millis() <= at) {
        Cow::Borrowed(log)
    } else {
        Cow::Owned(
            log.iter()
                .filter(|e| e.hlc.unix_millis() <= at)
                .cloned()
                .collect(),
        )
    }
}

/// Judges one finding at `as_of_ms` (its reopening is [`compile`]'s to find).
pub fn judge(case: &Case, as_of_ms: i64) -> Judged {
    judge_on(case, as_of_ms, &china_date(as_of_ms))
}

/// [`judge`] with the as-of moment's China day `today` given (made once per bulletin).
fn judge_on(case: &Case, as_of_ms: i64, today: &str) -> Judged {
    let log = known_at(case.log, as_of_ms);
    let f = case.finding;
    let d = duty(f, &log);
    let done = finished_at(f.same_day, log.iter());
    let deadline_day = d.deadline.as_deref().and_then(china_midnight);
    let late_by =
        |until: i64| deadline_day.map_or(0, |due| china_day_number(until) - china_day_number(due));
    let (outcome, days_late) = match done {
        Some(at) if late_by(at) > 0 => (Outcome::Late, late_by(at)),
        Some(_) => (Outcome::OnTime, 0),
        None if d.overdue(today) => (Outcome::Overdue, late_by(as_of_ms)),
        None => (Outcome::Pending, 0),
    };
    let mut evidence: Vec<&RectificationEventRecord> = log
        .iter()
        .filter(|e| {
            matches!(
                e.action,
                RectificationAction::Rectified | RectificationAction::Verified
            ) && e.photo_sha256.is_some()
        })
        .collect();
    evidence.sort_by(|a, b| log_order(a, b));
    Judged {
        finding_id: f.id,
        created_at: f.created_at,
        district: case.district.to_string(),
        street: case.street.to_string(),
        unit: d.unit,
        deadline: d.deadline,
        outcome,
        finished_at: done,
        days_late: days_late.max(0),
        reopens: None,
        after_photo: evidence.last().and_then(|e| e.photo_sha256.clone()),
    }
}

/// The figures of a group (or the whole county).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// 发现问题: findings found in the period.
    pub found: usize,
    /// 按期整改.
    pub on_time: usize,
    /// 逾期整改.
    pub late: usize,
    /// 逾期未改.
    pub overdue: usize,
    /// 整改中.
    pub pending: usize,
    /// 复发: reopened (also counted in one of the four above).
    pub reopened: usize,
}

impl Figures {
    fn add(&mut self, j: &Judged) {
        self.found += 1;
        match j.outcome {
            Outcome::OnTime => self.on_time += 1,
            Outcome::Late => self.late += 1,
            Outcome::Overdue => self.overdue += 1,
            Outcome::Pending => self.pending += 1,
        }
        self.reopened += usize::from(j.reopens.is_some());
    }

    /// Findings whose deadline is settled: on time, late or overdue.
    pub fn decided(&self) -> usize {
        self.on_time + self.late + self.overdue
    }

    /// 按期整改率: on time / decided; `None` when nothing is decided.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.decided() > 0).then(|| self.on_time as f64 / self.decided() as f64)
    }

    /// Best first, as the module doc ranks units (the rate compared exactly, in integers).
    fn better(&self, other: &Figures) -> Ordering {
        let rate = (other.on_time * self.decided()).cmp(&(self.on_time * other.decided()));
        rate.then(self.overdue.cmp(&other.overdue))
            .then(self.reopened.cmp(&other.reopened))
            .then(other.on_time.cmp(&self.on_time))
    }

    /// Worst first, as the module doc orders the black list.
    fn worse(&self, other: &Figures) -> Ordering {
        let rate = (self.on_time * other.decided()).cmp(&(other.on_time * self.decided()));
        rate.then(other.overdue.cmp(&self.overdue))
            .then(other.reopened.cmp(&self.reopened))
            .then(other.decided().cmp(&self.decided()))
    }
}

/// One row of a bulletin's table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row<K> {
    /// The group: a district, a (district, street), a unit code (`None`: no unit).
    pub key: K,
    /// Its figures.
    pub figures: Figures,
}

/// A bulletin's numbers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    /// The period.
    pub period: Period,
    /// The moment it is judged at ([`Period::as_of`]).
    pub as_of_ms: i64,
    /// The whole county.
    pub total: Figures,
    /// Per district, by name.
    pub by_district: Vec<Row<String>>,
    /// Per (district, street), by name.
    pub by_street: Vec<Row<(String, String)>>,
    /// Per unit: the ranked units in ranking order, then the unranked ones by code, then the
    /// findings with no unit (`None`).
    pub by_unit: Vec<Row<Option<String>>>,
    /// The ranked units, best first (see the module doc).
    pub ranking: Vec<Row<String>>,
    /// 红榜: the best units with nothing late or overdue, at most [`LIST_LEN`].
    pub red: Vec<Row<String>>,
    /// 黑榜: the worst units with something late or overdue, worst first, at most [`LIST_LEN`].
    pub black: Vec<Row<String>>,
    /// The period's findings, earliest found first.
    pub judged: Vec<Judged>,
}

impl Bulletin {
    /// The `n` worst cases: late and overdue findings, most days late first, then the
    /// earliest found.
    pub fn worst(&self, n: usize) -> Vec<&Judged> {
        let mut list: Vec<&Judged> = self
            .judged
            .iter()
            .filter(|j| matches!(j.outcome, Outcome::Late | Outcome::Overdue))
            .collect();
        list.sort_by_key(|j| std::cmp::Reverse(j.days_late));
        list.truncate(n);
        list
    }
}

/// A stretch of time during which a finding's owed work stood done, as [`finished_at`] reads
/// its log at each moment: from the step that finished it (`at`) to the step that made it owed
/// again (`until`; `i64::MAX` if none did).
struct Fix {
    at: i64,
    until: i64,
    /// The fixed finding: when it was found, and its id.
    found: (i64, Uuid),
}

/// The stretches during which `case`'s work stood done, reading its log step by step through
/// [`finished_at`] (so a fix sent back ends its stretch, and a step that does not apply moves
/// nothing).
fn fixes(case: &Case) -> Vec<Fix> {
    let mut log: Vec<&RectificationEventRecord> = case.log.iter().collect();
    log.sort_by(|a, b| log_order(a, b));
    let found = (case.finding.created_at, case.finding.id);
    let mut out = Vec::new();
    let mut done: Option<i64> = None;
    for k in 0..log.len() {
        let now = finished_at(case.finding.same_day, log[..=k].iter().copied());
        if now != done {
            if let Some(was) = done {
                let until = log[k].hlc.unix_millis();
                out.push(Fix {
                    at: was,
                    until,
                    found,
                });
            }
            done = now;
        }
    }
    if let Some(was) = done {
        out.push(Fix {
            at: was,
            until: i64::MAX,
            found,
        });
    }
    out
}

/// The earlier finding that `f` reopens, from the fixes at its site and item (sorted by time,
/// then finding): the one whose fix, standing when `f` was found, is latest and at most
/// [`REOPEN_DAYS`] China days before.
fn reopened_from(f: &FindingRecord, fixes: &[Fix]) -> Option<Uuid> {
    let found_day = china_day_number(f.created_at);
    let known = fixes.partition_point(|x| x.at <= f.created_at);
    fixes[..known]
        .iter()
        .rev()
        .take_while(|x| found_day - china_day_number(x.at) <= REOPEN_DAYS)
        .find(|x| x.found < (f.created_at, f.id) && f.created_at < x.until)
        .map(|x| x.found.1)
}

/// Sums judged findings per key.
fn rows<'a, K: Ord>(judged: &'a [Judged], key: impl Fn(&'a Judged) -> K) -> BTreeMap<K, Figures> {
    let mut out: BTreeMap<K, Figures> = BTreeMap::new();
    for j in judged {
        out.entry(key(j)).or_default().add(j);
    }
    out
}

/// The bulletin of `period` seen at `now_ms`, from `cases`: the period's findings and any
/// earlier ones that may have been reopened (findings outside the period count only as that).
/// See the module doc for every definition.
pub fn compile(cases: &[Case], period: &Period, now_ms: i64) -> Bulletin {
    let as_of_ms = period.as_of(now_ms);
    let today = china_date(as_of_ms);
    let mut by_place: HashMap<(Uuid, &str), Vec<Fix>> = HashMap::new();
    for c in cases {
        if let Some(item) = c.finding.item_code.as_deref() {
            by_place
                .entry((c.finding.site_id, item))
                .or_default()
                .extend(fixes(c));
        }
    }
    for list in by_place.values_mut() {
        list.sort_by_key(|x| (x.at, x.found.1));
    }
    let mut judged: Vec<Judged> = cases
        .iter()
        .filter(|c| period.contains(c.finding.created_at) && c.finding.created_at <= as_of_ms)
        .map(|c| {
            let mut j = judge_on(c, as_of_ms, &today);
            j.reopens = c.finding.item_code.as_deref().and_then(|item| {
                reopened_from(c.finding, by_place.get(&(c.finding.site_id, item))?)
            });
            j
        })
        .collect();
    judged.sort_by_key(|j| (j.created_at, j.finding_id));

    let mut total = Figures::default();
    judged.iter().for_each(|j| total.add(j));
    let units = rows(&judged, |j| j.unit.as_deref());
    let mut ranking: Vec<Row<String>> = units
        .iter()
        .filter_map(|(k, f)| Some((k.map(str::to_string)?, *f)))
        .filter(|(_, f)| f.decided() > 0)
        .map(|(key, figures)| Row { key, figures })
        .collect();
    // In code order already; the sorts are stable.
    ranking.sort_by(|a, b| a.figures.better(&b.figures));
    let red: Vec<Row<String>> = ranking
        .iter()
        .filter(|r| r.figures.late + r.figures.overdue == 0)
        .take(LIST_LEN)
        .cloned()
        .collect();
    let mut black: Vec<Row<String>> = ranking
        .iter()
        .filter(|r| r.figures.late + r.figures.overdue > 0)
        .cloned()
        .collect();
    black.sort_by(|a, b| a.figures.worse(&b.figures));
    black.truncate(LIST_LEN);
    let mut by_unit: Vec<Row<Option<String>>> = ranking
        .iter()
        .map(|r| Row {
            key: Some(r.key.clone()),
            figures: r.figures,
        })
        .collect();
    for (key, figures) in &units {
        if key.is_none() || figures.decided() == 0 {
            by_unit.push(Row {
                key: key.map(str::to_string),
                figures: *figures,
            });
        }
    }
    // `None` sorts first in the map; it goes last.
    by_unit.sort_by_key(|r| r.key.is_none());
    Bulletin {
        period: period.clone(),
        as_of_ms,
        total,
        by_district: rows(&judged, |j| j.district.as_str())
            .into_iter()
            .map(|(key, figures)| Row {
                key: key.to_string(),
                figures,
            })
            .collect(),
        by_street: rows(&judged, |j| (j.district.as_str(), j.street.as_str()))
            .into_iter()
            .map(|((district, street), figures)| Row {
                key: (district.to_string(), street.to_string()),
                figures,
            })
            .collect(),
        by_unit,
        ranking,
        red,
        black,
        judged,
    }
}

#[cfg(test)]
mod tests;
