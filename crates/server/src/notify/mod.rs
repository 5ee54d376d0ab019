//! 通知责任单位: telling a unit through its group robot (企业微信 or 钉钉) when a finding is
//! dispatched to it, sent back to it, or due tomorrow and not fixed, and each morning what it
//! has open. Messages go through a durable outbox ([`outbox`]):
//!
//! - **None lost.** A step is told from the change log, read from a place kept in the
//!   database and moved forward only after its messages are written; a message stays until
//!   the robot answers `errcode 0`, retried with growing pauses ([`outbox::record_send`]).
//! - **None written twice.** Each message's id says what it is about (the step's id, the
//!   finding and its deadline, the unit and day); a second writer, another replica or a pass
//!   after a crash, changes nothing.
//! - **None sent twice by two processes.** A process claims a message before sending it.
//!   A robot that took a message but whose answer never came (a timeout) is sent it again:
//!   robots keep no message ids, so a lost answer is retried rather than the message lost.
//! - **A dead webhook is seen.** After [`outbox::MAX_ATTEMPTS`] failures a message is shown
//!   as failed, with the robot's last answer, on the office's notifications page.
//!
//! A unit without a webhook still sees its messages on the dashboard.

pub mod messages;
pub mod outbox;

use crate::app::AppState;
use crate::dashboard::numbers::finding_numbers;
use crate::dashboard::reference::Reference;
use crate::store::StoreResult;
use fieldcheck_domain::china_time::{china_date, china_midnight};
use fieldcheck_protocol::{ChangeItem, RectificationAction};
use messages::About;
use outbox::NewMessage;
use std::time::Duration;

/// Where the notifier is in the change log (`server_meta`).
const CURSOR: &str = "notify_cursor";
/// Change-log entries read per page.
const SCAN_LIMIT: i64 = 500;
/// Pages a pass reads at most (100,000 entries: the 510,000 of a 500-tablet 17:00 burst in
/// six passes, not a thousand); the rest waits for the next pass.
const SCAN_PAGES: usize = 200;
/// Messages sent per pass at most.
const SEND_LIMIT: i64 = 50;
/// How long a robot has to answer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The pause between passes.
const PASS_EVERY: Duration = Duration::from_secs(15);
/// The longest the deadline reminders (and the dashboard refresh they read) wait for pushes
/// to stop ([`full_pass_due`]).
const DEFER_AT_MOST: Duration = Duration::from_secs(120);
/// The digest is written from this hour (China time) on.
const DIGEST_HOUR: i64 = 8;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Messages written (some may have been there already).
    pub written: usize,
    /// Messages the robots took.
    pub sent: usize,
    /// Sends that failed (to be retried or given up).
    pub failed: usize,
}

/// The HTTP client robots are called with.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .build()
        .expect("the HTTP client builds")
}

/// One pass with the calendar read at `day` (Unix ms): writes the messages of new steps, of
/// findings due tomorrow and the day's digests, then sends what is due. What is due tomorrow
/// and whether the morning digest is written depend on the China day and hour of `day`;
/// messages are stamped, claimed and retried by the clock.
pub async fn pass_at(state: &AppState, client: &reqwest::Client, day: i64) -> StoreResult<Pass> {
    pass_of(state, client, day, true).await
}

/// [`pass_at`], with the deadlines and digests only when `deadlines` (the steps' messages and
/// the sends always).
async fn pass_of(
    state: &AppState,
    client: &reqwest::Client,
    day: i64,
    deadlines: bool,
) -> StoreResult<Pass> {
    let now = crate::clock::now_ms();
    let mut written = told_steps(state, now).await?;
    if deadlines {
        written += told_deadlines(state, day, now).await?;
    }
    let (sent, failed) = send_due(state, client, now).await?;
    Ok(Pass {
        written,
        sent,
        failed,
    })
}

/// Whether a pass also writes the deadline reminders and digests, which first bring the
/// dashboard's read model up to date: not while tablets are pushing (`pushing`: the push line
/// holds pushes or numbers), since that refresh writes through the same database as the pushes
/// and, at 17:00, would make every tablet wait for the dashboard; unless `since_full` (the
/// time since the last full pass) reached [`DEFER_AT_MOST`]. A unit is told of a step at once
/// either way.
pub fn full_pass_due(pushing: bool, since_full: Duration) -> bool {
    !pushing || since_full >= DEFER_AT_MOST
}

/// Runs passes (as [`pass_at`] at the present time) for as long as the server runs: every
/// [`PASS_EVERY`], and at once when a step is recorded ([`AppState::wake_notifier`]); the
/// deadlines and digests when [`full_pass_due`] says.
pub async fn run_forever(state: crate::app::SharedState) {
    let client = client();
    let mut last_full = std::time::Instant::now();
    loop {
        let full = full_pass_due(
            state.push_line.busy(std::time::Instant::now()),
            last_full.elapsed(),
        );
        if full {
            last_full = std::time::Instant::now();
        }
        match pass_of(&state, &client, crate::clock::now_ms(), full).await {
            Ok(p) if p.sent + p.failed > 0 => {
                tracing::info!(sent = p.sent, failed = p.failed, "unit notifications sent");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "notification pass failed; retried"),
        }
        let _ = tokio::time::timeout(PASS_EVERY, state.notifier.notified()).await;
    }
}

/// Writes a message for each 派遣 and 退回 logged since the last pass. The first pass of a
/// server starts at the end of the log: history is not told.
async fn told_steps(state: &AppState, now: i64) -> StoreResult<usize> {
    let store = state.store.as_ref();
    let Some(cursor) = outbox::meta(store, CURSOR).await? else {
        let end = store
            .dash_query(
                "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM change_log",
                Vec::new(),
            )
            .await?;
        outbox::advance(store, CURSOR, end.first().map_or(0, |r| r[0].int())).await?;
        return Ok(0);
    };
    let mut cursor: i64 = cursor.parse().unwrap_or(0);
    let mut written = 0;
    for _ in 0..SCAN_PAGES {
        let Some((last, told, full)) = told_page(state, cursor, now).await? else {
            break;
        };
        (cursor, written) = (last, written + told);
        if !full {
            break;
        }
    }
    Ok(written)
}

/// Writes the messages of one page of the change log after `cursor` and moves the place past
/// it: the page's last sequence number, the messages written and whether the page was full;
/// `None` when nothing follows `cursor`.
async fn told_page(
    state: &AppState,
    cursor: i64,
    now: i64,
) -> StoreResult<Option<(i64, usize, bool)>> {
    let store = state.store.as_ref();
    let rows = store
        .dash_query(
            "SELECT CAST(seq AS BIGINT), payload FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![cursor.into(), SCAN_LIMIT.into()],
        )
        .await?;
    let Some(last) = rows.last().map(|r| r[0].int()) else {
        return Ok(None);
    };
    let full = rows.len() as i64 == SCAN_LIMIT;
    let steps: Vec<_> = rows
        .iter()
        .filter_map(|r| match serde_json::from_str::<ChangeItem>(r[1].text()) {
            Ok(ChangeItem::Rectification(e))
                if matches!(
                    e.action,
                    RectificationAction::Dispatched | RectificationAction::SentBack
                ) =>
            {
                Some(e)
            }
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    if !steps.is_empty() {
        let reference = Reference::load(store).await?;
        for e in steps {
            let Some(row) = store.finding(e.finding_id).await? else {
                continue;
            };
            // A 退回 goes to the unit that holds the finding now.
            let Some(unit) = e.unit.clone().or(row.current_unit.clone()) else {
                continue;
            };
            let id = e.finding_id.to_string();
            let number = finding_numbers(store, &[&id])
                .await?
                .remove(&id)
                .unwrap_or(id.clone());
            let site = reference
                .sites
                .iter()
                .find(|s| s.id == row.record.site_id)
                .map_or(String::new(), |s| s.name.clone());
            let about = About {
                number: &number,
                site: &site,
                description: &row.record.description,
            };
            let unit_name = reference.unit_name(crate::dashboard::i18n::Lang::Zh, &unit);
            let (reason, text) = match e.action {
                RectificationAction::Dispatched => (
                    "dispatched",
                    messages::dispatched(&about, unit_name, e.deadline.as_deref(), &e.note),
                ),
                _ => ("sent_back", messages::sent_back(&about, &e.note)),
            };
            out.push(NewMessage {
                id: format!("step:{}", e.id),
                unit: unit.clone(),
                finding_id: Some(id),
                reason,
                text,
            });
        }
    }
    outbox::write(store, &out, now).await?;
    outbox::advance(store, CURSOR, last).await?;
    Ok(Some((last, out.len(), full)))
}

/// Writes a message for each finding due the day after `day` that its unit still owes, and,
/// from 08:00 China time, each unit's digest of the day; stamped `now`.
async fn told_deadlines(state: &AppState, day: i64, now: i64) -> StoreResult<usize> {
    let store = state.store.as_ref();
    crate::dashboard::projection::refresh(store).await?;
    let today = china_date(day);
    let midnight = china_midnight(&today).unwrap_or(day);
    let tomorrow = china_date(midnight + 86_400_000);
    let due = store
        .dash_query(
            "SELECT finding_id, unit, deadline, site_name, description FROM dash_ledger WHERE unit IS NOT NULL AND deadline = $1 AND status IN ('dispatched', 'sent_back')",
            vec![tomorrow.as_str().into()],
        )
        .await?;
    let ids: Vec<&str> = due.iter().map(|r| r[0].text()).collect();
    let numbers = finding_numbers(store, &ids).await?;
    let mut out: Vec<NewMessage> = due
        .iter()
        .map(|r| {
            let id = r[0].text();
            let about = About {
                number: numbers.get(id).map_or(id, String::as_str),
                site: r[3].text(),
                description: r[4].text(),
            };
            NewMessage {
                id: format!("due:{id}:{}", r[2].text()),
                unit: r[1].text().to_string(),
                finding_id: Some(id.to_string()),
                reason: "due_soon",
                text: messages::due_soon(&about, r[2].text()),
            }
        })
        .collect();
    if day >= midnight + DIGEST_HOUR * 3_600_000 {
        let rows = store
            .dash_query(
                "SELECT unit, CAST(COUNT(*) AS BIGINT), \
                 CAST(SUM(CASE WHEN deadline < $1 THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(SUM(CASE WHEN deadline IN ($1, $2) THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM dash_ledger WHERE unit IS NOT NULL AND status IN ('dispatched', 'sent_back') GROUP BY unit",
                vec![today.as_str().into(), tomorrow.as_str().into()],
            )
            .await?;
        let reference = Reference::load(store).await?;
        for r in rows {
            let unit = r[0].text();
            let name = reference.unit_name(crate::dashboard::i18n::Lang::Zh, unit);
            out.push(NewMessage {
                id: format!("digest:{unit}:{today}"),
                unit: unit.to_string(),
                finding_id: None,
                reason: "digest",
                text: messages::digest(&today, name, r[1].int(), r[2].int(), r[3].int()),
            });
        }
    }
    outbox::write(store, &out, now).await?;
    Ok(out.len())
}

/// Sends the messages due now, each claimed first; returns how many were taken and how many
/// failed.
async fn send_due(
    state: &AppState,
    client: &reqwest::Client,
    now: i64,
) -> StoreResult<(usize, usize)> {
    let store = state.store.as_ref();
    let (mut sent, mut failed) = (0, 0);
    for (m, hook) in outbox::due(store, now, SEND_LIMIT).await? {
        if !outbox::claim(store, &m.id, now).await? {
            continue;
        }
        let url = messages::address(hook.kind, &hook.url, &hook.secret, now);
        let answer = client
            .post(&url)
            .json(&messages::body(hook.kind, &m.text))
            .send()
            .await;
        let outcome = match answer {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                messages::accepted(status, &text)
            }
            Err(e) if e.is_timeout() => {
                Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs()))
            }
            Err(e) => Err(format!("cannot reach the robot: {e}")),
        };
        match &outcome {
            Ok(()) => sent += 1,
            Err(reason) => {
                failed += 1;
                tracing::warn!(unit = %m.unit, message = %m.id, %reason, "webhook send failed");
            }
        }
        outbox::record_send(store, &m, outcome, crate::clock::now_ms()).await?;
    }
    Ok((sent, failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_wait_for_pushes_but_not_for_ever() {
        assert!(full_pass_due(false, Duration::ZERO));
        assert!(!full_pass_due(true, Duration::from_secs(15)));
        assert!(!full_pass_due(true, DEFER_AT_MOST - Duration::from_secs(1)));
        assert!(full_pass_due(true, DEFER_AT_MOST));
    }
}
