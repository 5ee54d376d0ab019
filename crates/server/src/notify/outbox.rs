//! The notification outbox and the units' webhooks, in the database so that every server
//! process sees the same: a message is written once (its id says what it is about: the step,
//! the finding and deadline, the unit and day), claimed by one process at a time, and marked
//! sent only when the robot took it.

use super::messages::RobotKind;
use crate::store::dashboard::{Arg, Cell};
use crate::store::{Store, StoreResult};

/// Attempts before a message is given up and shown as failed.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a process holds a claimed message before another may take it.
const CLAIM_MS: i64 = 60_000;

/// A message to write.
pub struct NewMessage {
    /// What it is about, e.g. `step:<event id>`; a second write of the same id changes nothing.
    pub id: String,
    /// The unit told.
    pub unit: String,
    /// The finding, if it is about one.
    pub finding_id: Option<String>,
    /// `dispatched`, `sent_back`, `due_soon` or `digest`.
    pub reason: &'static str,
    /// The text.
    pub text: String,
}

/// A message as stored.
#[derive(Clone, Debug)]
pub struct Message {
    /// Its id.
    pub id: String,
    /// The unit told.
    pub unit: String,
    /// The finding, if any.
    pub finding_id: Option<String>,
    /// Why it was written.
    pub reason: String,
    /// The text.
    pub text: String,
    /// When it was written.
    pub created_at: i64,
    /// Sends tried.
    pub attempts: i64,
    /// When the robot took it.
    pub sent_at: Option<i64>,
    /// Why the last send failed.
    pub last_error: Option<String>,
}

impl Message {
    /// Given up: as many failed sends as allowed.
    pub fn failed(&self) -> bool {
        self.sent_at.is_none() && self.attempts >= MAX_ATTEMPTS
    }
}

/// A unit's group robot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// The unit's code.
    pub unit: String,
    /// Which robot.
    pub kind: RobotKind,
    /// Its webhook address.
    pub url: String,
    /// 钉钉's signing secret, empty for none.
    pub secret: String,
    /// When it was set: messages written before are not sent to it.
    pub updated_at: i64,
}

/// Writes messages, each once (all in one transaction).
pub async fn write(store: &dyn Store, messages: &[NewMessage], now: i64) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let stmts = messages
        .iter()
        .map(|m| {
            (
                "INSERT INTO notify_outbox (id, unit, finding_id, reason, text, created_at, next_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING".to_string(),
                vec![
                    Arg::from(m.id.as_str()),
                    m.unit.as_str().into(),
                    m.finding_id.clone().into(),
                    m.reason.into(),
                    m.text.as_str().into(),
                    now.into(),
                ],
            )
        })
        .collect();
    store.dash_exec(stmts).await?;
    Ok(())
}

const COLUMNS: &str =
    "id, unit, finding_id, reason, text, created_at, attempts, sent_at, last_error";

fn message(r: &[Cell]) -> Message {
    Message {
        id: r[0].text().to_string(),
        unit: r[1].text().to_string(),
        finding_id: r[2].opt_text(),
        reason: r[3].text().to_string(),
        text: r[4].text().to_string(),
        created_at: r[5].int(),
        attempts: r[6].int(),
        sent_at: match r[7] {
            Cell::Int(at) => Some(at),
            _ => None,
        },
        last_error: r[8].opt_text(),
    }
}

/// Messages due to be sent now to units that have a webhook (written after it was set),
/// oldest first, with the webhook each goes to.
pub async fn due(store: &dyn Store, now: i64, limit: i64) -> StoreResult<Vec<(Message, Webhook)>> {
    let sql = format!(
        "SELECT o.{}, w.kind, w.url, w.secret, w.updated_at FROM notify_outbox o JOIN unit_webhooks w ON w.unit = o.unit \
         WHERE o.sent_at IS NULL AND o.attempts < $1 AND o.next_at <= $2 AND o.claimed_until < $2 AND o.created_at >= w.updated_at \
         ORDER BY o.created_at, o.id LIMIT $3",
        COLUMNS.replace(", ", ", o.")
    );
    let rows = store
        .dash_query(&sql, vec![MAX_ATTEMPTS.into(), now.into(), limit.into()])
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let kind = RobotKind::parse(r[9].text())?;
            let m = message(r);
            let hook = Webhook {
                unit: m.unit.clone(),
                kind,
                url: r[10].text().to_string(),
                secret: r[11].text().to_string(),
                updated_at: r[12].int(),
            };
            Some((m, hook))
        })
        .collect())
}

/// Claims a due message for this process; `false` when another process has it or it was
/// sent meanwhile.
pub async fn claim(store: &dyn Store, id: &str, now: i64) -> StoreResult<bool> {
    let changed = store
        .dash_exec(vec![(
            "UPDATE notify_outbox SET claimed_until = $1 WHERE id = $2 AND sent_at IS NULL AND claimed_until < $3".into(),
            vec![(now + CLAIM_MS).into(), id.into(), now.into()],
        )])
        .await?;
    Ok(changed.first() == Some(&1))
}

/// Records a send: taken by the robot (`Ok`), or failed with the reason, to be retried after
/// a pause that doubles with each attempt (30 s, 1 min, … up to an hour).
pub async fn record_send(
    store: &dyn Store,
    m: &Message,
    outcome: Result<(), String>,
    now: i64,
) -> StoreResult<()> {
    let stmt = match outcome {
        Ok(()) => (
            "UPDATE notify_outbox SET sent_at = $1, attempts = attempts + 1, claimed_until = 0 WHERE id = $2".to_string(),
            vec![Arg::from(now), m.id.as_str().into()],
        ),
        Err(reason) => {
            let pause = (30_000i64 << m.attempts.clamp(0, 7)).min(3_600_000);
            (
                "UPDATE notify_outbox SET attempts = attempts + 1, next_at = $1, last_error = $2, claimed_until = 0 WHERE id = $3".to_string(),
                vec![Arg::from(now + pause), reason.into(), m.id.as_str().into()],
            )
        }
    };
    store.dash_exec(vec![stmt]).await?;
    Ok(())
}

/// The latest messages, newest first: all units' (`None`) or one unit's.
pub async fn recent(
    store: &dyn Store,
    unit: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    let rows = match unit {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM notify_outbox ORDER BY created_at DESC, id LIMIT $1"
            );
            store.dash_query(&sql, vec![limit.into()]).await?
        }
        Some(u) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM notify_outbox WHERE unit = $1 ORDER BY created_at DESC, id LIMIT $2"
            );
            store.dash_query(&sql, vec![u.into(), limit.into()]).await?
        }
    };
    Ok(rows.iter().map(|r| message(r)).collect())
}

/// Every unit's webhook.
pub async fn webhooks(store: &dyn Store) -> StoreResult<Vec<Webhook>> {
    let rows = store
        .dash_query(
            "SELECT unit, kind, url, secret, updated_at FROM unit_webhooks ORDER BY unit",
            Vec::new(),
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(Webhook {
                unit: r[0].text().to_string(),
                kind: RobotKind::parse(r[1].text())?,
                url: r[2].text().to_string(),
                secret: r[3].text().to_string(),
                updated_at: r[4].int(),
            })
        })
        .collect())
}

/// Sets a unit's webhook (replacing any), or removes it when `hook` is `None`.
pub async fn set_webhook(store: &dyn Store, unit: &str, hook: Option<&Webhook>) -> StoreResult<()> {
    let mut stmts = vec![(
        "DELETE FROM unit_webhooks WHERE unit = $1".to_string(),
        vec![Arg::from(unit)],
    )];
    if let Some(h) = hook {
        stmts.push((
            "INSERT INTO unit_webhooks (unit, kind, url, secret, updated_at) VALUES ($1, $2, $3, $4, $5)".into(),
            vec![
                Arg::from(unit),
                h.kind.as_str().into(),
                h.url.as_str().into(),
                h.secret.as_str().into(),
                h.updated_at.into(),
            ],
        ));
    }
    store.dash_exec(stmts).await?;
    Ok(())
}

/// A value kept in `server_meta` (the notifier's place in the change log).
pub async fn meta(store: &dyn Store, key: &str) -> StoreResult<Option<String>> {
    Ok(store
        .dash_query(
            "SELECT value FROM server_meta WHERE key = $1",
            vec![key.into()],
        )
        .await?
        .first()
        .map(|r| r[0].text().to_string()))
}

/// Moves the notifier's place in the change log forward to `seq` (never back, whichever
/// process gets there first).
pub async fn advance(store: &dyn Store, key: &str, seq: i64) -> StoreResult<()> {
    store
        .dash_exec(vec![
            (
                "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING"
                    .into(),
                vec![Arg::from(key), seq.to_string().into()],
            ),
            (
                "UPDATE server_meta SET value = $1 WHERE key = $2 AND CAST(value AS BIGINT) < $3"
                    .into(),
                vec![Arg::from(seq.to_string()), key.into(), seq.into()],
            ),
        ])
        .await?;
    Ok(())
}
