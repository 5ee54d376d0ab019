//! The embedded backend: one SQLite file (WAL, `synchronous=FULL`), one connection used from
//! blocking threads. SQLite runs one writer at a time, so change-log sequence numbers commit
//! in order and the pull cursor is safe as it is.
//!
//! Pushes are group-committed: pushes that arrive while another group is being written wait
//! in a queue, and the next writer takes them all into one transaction (one fsync); a refused
//! push (a sequence gap) leaves the others whole (the group is written again, each push in
//! its own savepoint). Each is answered only after the commit: nothing is acknowledged before
//! it is durable. Before writing a group, the writer lets the pushes the server has announced
//! ([`PushComing`]) reach the queue, for at most [`GATHER`]: a push's lookup needs the one
//! connection too, and a writer that took it at once would commit one push at a time.

use super::migrations::{self, Migration};
use super::shared::{self, LookupRows, Tx};
use super::sql::{self, Stmt};
use super::{
    AccountScope, AccountStore, AuditEntry, Content, DeviceRow, Export, FindingFilter, FindingRow,
    ImportCounts, NewDevice, NewTaskDivision, OfficeStore, OutboxEntry, PhotoRow, PullPage,
    PullScope, PushComing, PushOutcome, RefData, RefQuery, SessionRow, StoreError, StoreResult,
    SyncStore, TaskDivision, UserRow, check_binding, u64_from_db,
};
use crate::dashboard::{Arg, Cell};
use async_trait::async_trait;
use fieldcheck_protocol::{Assignment, RectificationEventRecord, Site};
use futures_util::FutureExt;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// Extra statements for SQLite: the audit log refuses updates and deletes.
/// Takes the schema steps the database has not taken, each in one transaction with its record.
fn migrate(conn: &mut Connection, steps: &[Migration]) -> StoreResult<()> {
    conn.execute_batch(migrations::TRACKING_TABLE)?;
    let applied: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
    for m in migrations::pending(steps, applied)? {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, fieldcheck_domain::clock::wall_clock_ms()],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// Runs `f` in one transaction of `behavior` on `conn`, on a blocking thread, and commits it.
async fn in_transaction<T, F>(
    conn: Arc<Mutex<Connection>>,
    behavior: TransactionBehavior,
    f: F,
) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let mut guard = lock(&conn);
        let tx = guard.transaction_with_behavior(behavior)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// A store in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    /// A second connection, for the reads a push needs before it is written (its session,
    /// its lookup): they see what is committed and never wait for a group commit.
    reader: Arc<Mutex<Connection>>,
    /// Pushes waiting for the next group commit.
    pushes: Arc<Mutex<Vec<QueuedPush>>>,
    /// Pushes announced ([`PushComing`]) and not yet queued.
    coming: Arc<AtomicUsize>,
}

/// The connection's page cache (SQLite's default is 2 MiB). At 17:00 hundreds of devices
/// write to every index at once: with the default, 500 tablets' pushes cost the writer
/// 26.8 s, with 64 MiB 20.8 s (128 MiB: 22.0 s), for about 60 MB more memory.
const PAGE_CACHE_KIB: i64 = 64 * 1024;

/// The write-ahead log's length, in pages of 4 KiB, at which a commit copies it into the
/// database file (SQLite's default is 1,000). A page the pushes change again and again (an
/// index's) is copied once per checkpoint: with 10,000 a lone tablet's 510 pushes took the
/// writer 18.8-19.0 s instead of 22.1-25.6 s, and the log grows to about 40 MB.
const CHECKPOINT_PAGES: i64 = 10_000;

/// The reader connection's page cache: sessions and a push's lookups touch few pages.
const READER_CACHE_KIB: i64 = 16 * 1024;

/// The longest a writer holding queued pushes waits for announced ones before writing. At
/// 17:00 (500 tablets) groups grew from 1.7-2.2 pushes to 2.8-3.0 with 5 ms, and to 3.3-4.4
/// with 20 ms, whose idle waits cost more than the larger groups saved.
const GATHER: Duration = Duration::from_millis(5);
/// How long a gathering writer leaves the connection to others between two looks.
const GATHER_STEP: Duration = Duration::from_micros(500);

/// Takes the connection for the next group commit, first giving it back for at most `limit`
/// while pushes are `coming` and some are `queued`, so that pushes on their way (still being
/// read and checked) join this group rather than the next; other writes may use it meanwhile.
fn gather<'a, T>(
    conn: &'a Mutex<Connection>,
    queued: &Mutex<Vec<T>>,
    coming: &AtomicUsize,
    limit: Duration,
) -> std::sync::MutexGuard<'a, Connection> {
    let mut guard = lock(conn);
    let first = std::time::Instant::now();
    while coming.load(Ordering::Acquire) > 0 && !lock(queued).is_empty() && first.elapsed() < limit
    {
        drop(guard);
        std::thread::sleep(GATHER_STEP);
        guard = lock(conn);
    }
    guard
}

/// One push waiting for the next group commit, and where its outcome goes.
struct QueuedPush {
    device_id: Uuid,
    signer_key: String,
    entries: Vec<OutboxEntry>,
    done: tokio::sync::oneshot::Sender<StoreResult<PushOutcome>>,
}

/// Writes `group` in one transaction and answers each push once it is committed (or every
/// one with the error that stopped the transaction). The pushes are written first as they
/// come, without savepoints: in a savepoint SQLite first copies every page a push changes to
/// a statement journal, a quarter of a lone tablet's writing time (its 510 pushes took the
/// writer 29.2 s in savepoints, 22.0 s without). If one is refused (a sequence gap, an
/// unknown device), that transaction is rolled back and the group written again with each
/// push in a savepoint of its own, so that the refusal spoils none of the others.
fn commit_group(conn: &mut Connection, group: Vec<QueuedPush>) {
    let written = match write_together(conn, &group) {
        Ok(Some(applied)) => Ok(applied.into_iter().map(Ok).collect()),
        Ok(None) => write_each_in_a_savepoint(conn, &group),
        Err(e) => Err(e),
    };
    match written {
        Ok(outcomes) => {
            for (push, outcome) in group.into_iter().zip(outcomes) {
                // A push whose request was given up has nobody to answer.
                let _ = push.done.send(outcome);
            }
        }
        Err(e) => {
            let e = e.to_string();
            for push in group {
                let _ = push.done.send(Err(StoreError::Backend(e.clone())));
            }
        }
    }
}

/// Writes `group` in one transaction and commits it if every push is applied; `None`, and
/// nothing written, when one is refused.
fn write_together(
    conn: &mut Connection,
    group: &[QueuedPush],
) -> StoreResult<Option<Vec<PushOutcome>>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut applied = Vec::with_capacity(group.len());
    for push in group {
        match apply(&tx, push) {
            Ok(outcome) => applied.push(outcome),
            // Dropping the transaction rolls it back.
            Err(_) => return Ok(None),
        }
    }
    tx.commit()?;
    Ok(Some(applied))
}

/// Writes `group` in one transaction, each push in a savepoint of its own (a refused one
/// rolled back alone), and commits it.
fn write_each_in_a_savepoint(
    conn: &mut Connection,
    group: &[QueuedPush],
) -> StoreResult<Vec<StoreResult<PushOutcome>>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(group.len());
    for push in group {
        tx.execute_batch("SAVEPOINT push")?;
        let outcome = apply(&tx, push);
        tx.execute_batch(if outcome.is_ok() {
            "RELEASE push"
        } else {
            "ROLLBACK TO push; RELEASE push"
        })?;
        outcomes.push(outcome);
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Applies one queued push inside `tx`.
fn apply(tx: &Transaction<'_>, push: &QueuedPush) -> StoreResult<PushOutcome> {
    ready(shared::apply_push(
        &mut SqliteTx(tx),
        push.device_id,
        &push.signer_key,
        &push.entries,
    ))
}

/// Rewrites `$n` placeholders to SQLite's `?n`.
fn q(sql: &str) -> String {
    sql.replace('$', "?")
}

fn exec(tx: &Transaction<'_>, stmt: &Stmt) -> StoreResult<usize> {
    let mut s = tx.prepare_cached(&q(stmt.sql))?;
    Ok(s.execute(rusqlite::params_from_iter(stmt.args.iter()))?)
}

/// A SQLite transaction as the shared write algorithms see it.
struct SqliteTx<'a, 'c>(&'a Transaction<'c>);

impl Tx for SqliteTx<'_, '_> {
    async fn exec(&mut self, stmt: Stmt) -> StoreResult<u64> {
        Ok(exec(self.0, &stmt)? as u64)
    }

    async fn text(&mut self, stmt: Stmt) -> StoreResult<Option<Option<String>>> {
        let mut s = self.0.prepare_cached(&q(stmt.sql))?;
        Ok(
            s.query_row(rusqlite::params_from_iter(stmt.args.iter()), |r| r.get(0))
                .optional()?,
        )
    }

    async fn int(&mut self, stmt: Stmt) -> StoreResult<Option<i64>> {
        let mut s = self.0.prepare_cached(&q(stmt.sql))?;
        Ok(
            s.query_row(rusqlite::params_from_iter(stmt.args.iter()), |r| r.get(0))
                .optional()?,
        )
    }

    async fn row(&mut self, stmt: Stmt) -> StoreResult<Option<Vec<Cell>>> {
        let mut s = self.0.prepare_cached(&q(stmt.sql))?;
        let width = s.column_count();
        Ok(
            s.query_row(rusqlite::params_from_iter(stmt.args.iter()), |r| {
                (0..width).map(|i| Ok(dash::cell(r.get_ref(i)?))).collect()
            })
            .optional()?,
        )
    }

    async fn texts(&mut self, stmt: Stmt) -> StoreResult<Vec<String>> {
        let mut s = self.0.prepare_cached(&q(stmt.sql))?;
        let rows = s.query_map(rusqlite::params_from_iter(stmt.args.iter()), |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    async fn rows(&mut self, stmt: Stmt) -> StoreResult<Vec<Vec<Cell>>> {
        let mut s = self.0.prepare_cached(&q(stmt.sql))?;
        let width = s.column_count();
        let rows = s.query_map(rusqlite::params_from_iter(stmt.args.iter()), |r| {
            (0..width).map(|i| Ok(dash::cell(r.get_ref(i)?))).collect()
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// SQLite has one writer: the immediate transaction already orders the change log.
    async fn lock_change_log(&mut self) -> StoreResult<()> {
        Ok(())
    }

    /// One statement per kind of id (each list goes in as one JSON array, unpacked by
    /// `json_each`), one per template, one per code table: in-process, each costs microseconds.
    async fn lookup_rows(&mut self, refs: &RefQuery) -> StoreResult<LookupRows> {
        let ids = |set: &std::collections::HashSet<Uuid>| -> Vec<String> {
            set.iter().map(Uuid::to_string).collect()
        };
        let mut out = LookupRows {
            sites: self.keyed_rows(LOOKUP_SITES, &ids(&refs.sites)).await?,
            inspections: (self.keyed_rows(LOOKUP_INSPECTIONS, &ids(&refs.inspections))).await?,
            findings: self
                .keyed_rows(LOOKUP_FINDINGS, &ids(&refs.findings))
                .await?,
            photos: (self.keyed_rows(
                LOOKUP_PHOTOS,
                &refs.photos.iter().cloned().collect::<Vec<_>>(),
            ))
            .await?,
            ..LookupRows::default()
        };
        let mut templates = refs.templates.clone();
        templates.extend(out.inspections.iter().map(|row| {
            let version = u32::try_from(row[3].int()).unwrap_or(0);
            (row[2].text().to_string(), version)
        }));
        for (id, version) in templates {
            let key = vec![Arg::from(id.as_str()), Arg::Int(i64::from(version))];
            let found = self
                .text(Stmt {
                    sql: sql::SELECT_TEMPLATE,
                    args: key,
                })
                .await?;
            if let Some(Some(payload)) = found {
                out.templates.push((id, version, payload));
            }
        }
        out.units = self
            .texts(Stmt {
                sql: sql::ALL_UNIT_CODES,
                args: vec![],
            })
            .await?;
        out.subcategories = (self.texts(Stmt {
            sql: sql::ALL_SUBCATEGORY_CODES,
            args: vec![],
        }))
        .await?;
        Ok(out)
    }
}

/// Sites that exist, of a JSON array of ids.
const LOOKUP_SITES: &str = "SELECT id FROM sites WHERE id IN (SELECT value FROM json_each($1))";
/// Inspections (id, device, template id, template version), of a JSON array of ids.
const LOOKUP_INSPECTIONS: &str = "SELECT id, device_id, template_id, template_version \
     FROM inspections WHERE id IN (SELECT value FROM json_each($1))";
/// Findings (id, device), of a JSON array of ids.
const LOOKUP_FINDINGS: &str =
    "SELECT id, device_id FROM findings WHERE id IN (SELECT value FROM json_each($1))";
/// Photo records (hash, device), of a JSON array of hashes.
const LOOKUP_PHOTOS: &str =
    "SELECT sha256, device_id FROM photos WHERE sha256 IN (SELECT value FROM json_each($1))";

impl SqliteTx<'_, '_> {
    /// The rows of `sql` (one of the `LOOKUP_` statements) for every one of `keys`, in one
    /// statement however many keys there are; none without keys.
    async fn keyed_rows(
        &mut self,
        sql: &'static str,
        keys: &[String],
    ) -> StoreResult<Vec<Vec<Cell>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.rows(Stmt {
            sql,
            args: vec![sql::to_json(&keys).into()],
        })
        .await
    }
}

/// The value behind `mutex`, even if a thread panicked holding it (every write is one
/// transaction, rolled back if it did not finish).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// The result of a shared write algorithm on a [`SqliteTx`]: its statements never wait, so
/// the future is ready at its first poll.
fn ready<T>(algorithm: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
    algorithm
        .now_or_never()
        .expect("a write on a SQLite transaction never waits")
}

fn user_row(r: &Row<'_>, at: usize) -> rusqlite::Result<RawUser> {
    Ok((
        r.get(at)?,
        r.get(at + 1)?,
        r.get(at + 2)?,
        r.get(at + 3)?,
        r.get(at + 4)?,
        r.get(at + 5)?,
        r.get(at + 6)?,
    ))
}

type RawUser = (String, String, Option<String>, String, i64, i64, String);

fn to_user(v: RawUser) -> StoreResult<UserRow> {
    Ok(UserRow {
        name: v.0,
        role: sql::role(&v.1)?,
        unit: v.2,
        password_hash: v.3,
        disabled: v.4 != 0,
        created_at: v.5,
        display_name: v.6,
    })
}

type RawDevice = (String, String, String, String, i64, Option<i64>, i64, i64);

fn device_row(r: &Row<'_>) -> rusqlite::Result<RawDevice> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn to_device(v: RawDevice) -> StoreResult<DeviceRow> {
    Ok(DeviceRow {
        id: sql::uuid(&v.0)?,
        user_name: v.1,
        public_key: v.2,
        label: v.3,
        created_at: v.4,
        revoked_at: v.5,
        token_expires_at: v.6,
        high_seq: u64_from_db(v.7),
    })
}

fn finding_row(tx: &Connection, payload: String, unit: Option<String>) -> StoreResult<FindingRow> {
    let record: fieldcheck_protocol::FindingRecord = sql::from_json(&payload)?;
    let mut s = tx.prepare_cached(&q(sql::FINDING_EVENTS))?;
    let events = s
        .query_map([record.id.to_string()], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(|p| sql::from_json(p))
        .collect::<StoreResult<Vec<RectificationEventRecord>>>()?;
    Ok(FindingRow {
        record,
        current_unit: unit,
        events,
    })
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date
    /// ([`migrations::SQLITE`]).
    pub async fn open(path: &Path) -> StoreResult<Self> {
        Self::open_with(path, migrations::SQLITE).await
    }

    /// Opens the database file and takes these schema steps (the upgrade test adds one).
    pub async fn open_with(path: &Path, steps: &'static [Migration]) -> StoreResult<Self> {
        let path = path.to_path_buf();
        let (conn, reader) =
            tokio::task::spawn_blocking(move || -> StoreResult<(Connection, Connection)> {
                let mut conn = Connection::open(&path)?;
                conn.busy_timeout(Duration::from_secs(10))?;
                conn.pragma_update(None, "journal_mode", "WAL")?;
                conn.pragma_update(None, "synchronous", "FULL")?;
                conn.pragma_update(None, "foreign_keys", "ON")?;
                conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
                conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)?;
                migrate(&mut conn, steps)?;
                let reader = Connection::open(&path)?;
                reader.busy_timeout(Duration::from_secs(10))?;
                reader.pragma_update(None, "query_only", "ON")?;
                reader.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                Ok((conn, reader))
            })
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            reader: Arc::new(Mutex::new(reader)),
            pushes: Arc::default(),
            coming: Arc::default(),
        })
    }

    /// Runs `f` in one read transaction on the reader connection, on a blocking thread: it
    /// sees what was committed when it began, and waits for no writer.
    async fn read<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        in_transaction(self.reader.clone(), TransactionBehavior::Deferred, f).await
    }

    /// Runs `f` in one immediate transaction on a blocking thread.
    async fn tx<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        in_transaction(self.conn.clone(), TransactionBehavior::Immediate, f).await
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_user(&self, user: &UserRow) -> StoreResult<()> {
        let u = user.clone();
        self.tx(move |tx| {
            let n = tx.prepare_cached(&q(sql::INSERT_USER))?.execute(params![
                u.name,
                u.role.as_str(),
                u.unit,
                u.password_hash,
                i64::from(u.disabled),
                u.created_at
            ])?;
            if n == 0 {
                return Err(StoreError::Conflict(format!("user {} exists", u.name)));
            }
            if !u.display_name.is_empty() {
                ready(shared::set_display_name(
                    &mut SqliteTx(tx),
                    &u.name,
                    &u.display_name,
                ))?;
            }
            Ok(())
        })
        .await
    }

    async fn user(&self, name: &str) -> StoreResult<Option<UserRow>> {
        let name = name.to_string();
        self.tx(move |tx| {
            let raw = tx
                .prepare_cached(&q(sql::SELECT_USER))?
                .query_row([name], |r| user_row(r, 0))
                .optional()?;
            raw.map(to_user).transpose()
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<UserRow>> {
        self.tx(|tx| {
            let mut s = tx.prepare_cached(sql::LIST_USERS)?;
            let raw = s
                .query_map([], |r| user_row(r, 0))?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter().map(to_user).collect()
        })
        .await
    }

    async fn set_user_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool> {
        let name = name.to_string();
        self.tx(move |tx| {
            Ok(tx
                .prepare_cached(&q(sql::SET_DISABLED))?
                .execute(params![i64::from(disabled), name])?
                > 0)
        })
        .await
    }

    async fn set_display_name(&self, name: &str, display_name: &str) -> StoreResult<bool> {
        let (name, display_name) = (name.to_string(), display_name.to_string());
        self.tx(move |tx| {
            ready(shared::set_display_name(
                &mut SqliteTx(tx),
                &name,
                &display_name,
            ))
        })
        .await
    }

    async fn set_password_hash(&self, name: &str, hash: &str) -> StoreResult<bool> {
        let (name, hash) = (name.to_string(), hash.to_string());
        self.tx(move |tx| {
            let changed = tx
                .prepare_cached(&q(sql::SET_PASSWORD))?
                .execute(params![hash, name])?
                > 0;
            for statement in [sql::VOID_USER_TOKENS, sql::END_USER_DASH_SESSIONS] {
                tx.prepare_cached(&q(statement))?.execute([&name])?;
            }
            Ok(changed)
        })
        .await
    }

    async fn register_device(&self, d: &NewDevice) -> StoreResult<()> {
        let d = d.clone();
        self.tx(move |tx| {
            let bound: Option<(Option<i64>, String, String)> = tx
                .prepare_cached(&q(sql::DEVICE_BINDING))?
                .query_row([d.id.to_string()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            check_binding(&d, bound)?;
            tx.prepare_cached(&q(sql::UPSERT_DEVICE))?.execute(params![
                d.id.to_string(),
                d.user_name,
                d.public_key,
                d.label,
                d.token_hash,
                d.token_expires_at,
                d.at
            ])?;
            Ok(())
        })
        .await
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        let h = token_hash.to_string();
        self.read(move |tx| {
            let raw = tx
                .prepare_cached(&q(sql::SESSION_BY_TOKEN))?
                .query_row([h], |r| Ok((device_row(r)?, user_row(r, 8)?)))
                .optional()?;
            raw.map(|(d, u)| {
                Ok(SessionRow {
                    device: to_device(d)?,
                    user: to_user(u)?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn list_devices(&self) -> StoreResult<Vec<DeviceRow>> {
        self.tx(|tx| {
            let mut s = tx.prepare_cached(sql::LIST_DEVICES)?;
            let raw = s
                .query_map([], device_row)?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter().map(to_device).collect()
        })
        .await
    }

    async fn revoke_device(&self, id: Uuid, at: i64) -> StoreResult<bool> {
        self.tx(move |tx| {
            let exists = tx
                .prepare_cached(&q(sql::DEVICE_EXISTS))?
                .exists([id.to_string()])?;
            tx.prepare_cached(&q(sql::REVOKE_DEVICE))?
                .execute(params![at, id.to_string()])?;
            Ok(exists)
        })
        .await
    }

    async fn reset_device(&self, id: Uuid) -> StoreResult<bool> {
        self.tx(move |tx| {
            Ok(tx
                .prepare_cached(&q(sql::RESET_DEVICE))?
                .execute([id.to_string()])?
                > 0)
        })
        .await
    }

    async fn record_login_failure(&self, key: &str, at: i64) -> StoreResult<()> {
        let key = key.to_string();
        self.tx(move |tx| {
            tx.prepare_cached(&q(sql::INSERT_LOGIN_FAILURE))?
                .execute(params![key, at])?;
            Ok(())
        })
        .await
    }

    async fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<u64> {
        let key = key.to_string();
        self.tx(move |tx| {
            let n: i64 = tx
                .prepare_cached(&q(sql::COUNT_LOGIN_FAILURES))?
                .query_row(params![key, since], |r| r.get(0))?;
            Ok(u64_from_db(n))
        })
        .await
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        let key = key.to_string();
        self.tx(move |tx| {
            tx.prepare_cached(&q(sql::CLEAR_LOGIN_FAILURES))?
                .execute([key])?;
            Ok(())
        })
        .await
    }

    async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        let e = e.clone();
        self.tx(move |tx| {
            tx.prepare_cached(&q(sql::INSERT_AUDIT))?.execute(params![
                e.at,
                e.actor,
                e.device_id.map(|d| d.to_string()),
                e.action,
                e.target,
                e.detail
            ])?;
            Ok(())
        })
        .await
    }

    async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.tx(move |tx| {
            let mut s = tx.prepare_cached(&q(sql::RECENT_AUDIT))?;
            let raw = s
                .query_map([i64::from(limit)], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            raw.into_iter()
                .map(|(at, actor, dev, action, target, detail)| {
                    Ok(AuditEntry {
                        at,
                        actor,
                        device_id: dev.as_deref().map(sql::uuid).transpose()?,
                        action,
                        target,
                        detail,
                    })
                })
                .collect()
        })
        .await
    }

    async fn account_scope(&self, name: &str) -> StoreResult<AccountScope> {
        let name = name.to_string();
        self.tx(move |tx| ready(shared::account_scope(&mut SqliteTx(tx), &name)))
            .await
    }

    async fn set_account_districts(
        &self,
        name: &str,
        districts: &[String],
    ) -> StoreResult<AccountScope> {
        let (name, districts) = (name.to_string(), districts.to_vec());
        self.tx(move |tx| {
            ready(shared::set_account_districts(
                &mut SqliteTx(tx),
                &name,
                &districts,
            ))
        })
        .await
    }
}

#[async_trait]
impl OfficeStore for SqliteStore {
    async fn import_content(&self, content: &Content) -> StoreResult<ImportCounts> {
        let c = content.clone();
        self.tx(move |tx| ready(shared::import_content(&mut SqliteTx(tx), &c)))
            .await
    }

    async fn put_sites(&self, sites: &[Site]) -> StoreResult<()> {
        let sites = sites.to_vec();
        self.tx(move |tx| ready(shared::put_sites(&mut SqliteTx(tx), &sites)))
            .await
    }

    async fn put_site_slowly(&self, site: &Site, hold: Duration) -> StoreResult<()> {
        let site = site.clone();
        self.tx(move |tx| {
            ready(shared::put_sites(&mut SqliteTx(tx), &[site]))?;
            std::thread::sleep(hold);
            Ok(())
        })
        .await
    }

    async fn put_assignment(&self, assignment: &Assignment) -> StoreResult<()> {
        let a = assignment.clone();
        self.tx(move |tx| ready(shared::put_assignment(&mut SqliteTx(tx), &a)))
            .await
    }

    async fn append_office_event(&self, event: &RectificationEventRecord) -> StoreResult<bool> {
        let e = event.clone();
        self.tx(move |tx| ready(shared::append_office_event(&mut SqliteTx(tx), &e)))
            .await
    }

    async fn county_id(&self) -> StoreResult<Uuid> {
        self.tx(|tx| ready(shared::county_id(&mut SqliteTx(tx))))
            .await
    }

    async fn finding(&self, id: Uuid) -> StoreResult<Option<FindingRow>> {
        self.tx(move |tx| {
            let r: Option<(String, Option<String>)> = tx
                .prepare_cached(&q(sql::SELECT_FINDING))?
                .query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            r.map(|(p, u)| finding_row(tx, p, u)).transpose()
        })
        .await
    }

    async fn list_findings(
        &self,
        which: &FindingFilter,
        limit: u32,
    ) -> StoreResult<Vec<FindingRow>> {
        let which = which.clone();
        self.tx(move |tx| ready(shared::list_findings(&mut SqliteTx(tx), &which, limit)))
            .await
    }

    async fn put_task_division(&self, division: &NewTaskDivision) -> StoreResult<i64> {
        let d = division.clone();
        self.tx(move |tx| ready(shared::put_task_division(&mut SqliteTx(tx), &d)))
            .await
    }

    async fn task_division(&self) -> StoreResult<Option<TaskDivision>> {
        self.tx(|tx| ready(shared::task_division(&mut SqliteTx(tx))))
            .await
    }
}

#[async_trait]
impl SyncStore for SqliteStore {
    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        scope: &PullScope,
        tablet_version: Option<u64>,
    ) -> StoreResult<PullPage> {
        let scope = scope.clone();
        self.tx(move |tx| {
            ready(shared::pull(
                &mut SqliteTx(tx),
                cursor,
                limit,
                &scope,
                tablet_version,
            ))
        })
        .await
    }

    async fn lookup(&self, refs: &RefQuery) -> StoreResult<RefData> {
        let refs = refs.clone();
        self.read(move |tx| ready(shared::lookup(&mut SqliteTx(tx), &refs)))
            .await
    }

    async fn apply_push(
        &self,
        device_id: Uuid,
        signer_key: &str,
        entries: &[OutboxEntry],
    ) -> StoreResult<PushOutcome> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        lock(&self.pushes).push(QueuedPush {
            device_id,
            signer_key: signer_key.to_string(),
            entries: entries.to_vec(),
            done,
        });
        let (conn, pushes, coming) = (self.conn.clone(), self.pushes.clone(), self.coming.clone());
        tokio::task::spawn_blocking(move || {
            let asked = std::time::Instant::now();
            let mut conn = gather(&conn, &pushes, &coming, GATHER);
            // Everything queued while the last group was written, this push included unless
            // that group's writer took it already.
            let group = std::mem::take(&mut *lock(&pushes));
            if !group.is_empty() {
                let (pushes, started) = (group.len(), std::time::Instant::now());
                commit_group(&mut conn, group);
                tracing::debug!(
                    target: "fieldcheck_store::group_commit",
                    pushes,
                    waited_us = u64::try_from((started - asked).as_micros()).unwrap_or(u64::MAX),
                    written_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
                    "group committed"
                );
            }
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        outcome
            .await
            .map_err(|_| StoreError::Backend("the group commit dropped a push".into()))?
    }

    fn push_coming(&self) -> PushComing {
        PushComing::counted(self.coming.clone())
    }

    async fn export(&self) -> StoreResult<Export> {
        self.tx(|tx| {
            let all = |sql: &str| -> StoreResult<Vec<String>> {
                let mut s = tx.prepare_cached(sql)?;
                let rows = s.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(rows)
            };
            Ok(Export {
                inspections: sql::from_json_all(&all(sql::EXPORT_INSPECTIONS)?)?,
                item_results: sql::from_json_all(&all(sql::EXPORT_ITEM_RESULTS)?)?,
                findings: sql::from_json_all(&all(sql::EXPORT_FINDINGS)?)?,
                photos: sql::from_json_all(&all(sql::EXPORT_PHOTOS)?)?,
                events: sql::from_json_all(&all(sql::EXPORT_EVENTS)?)?,
                check_ins: sql::from_json_all(&all(sql::EXPORT_CHECK_INS)?)?,
            })
        })
        .await
    }

    async fn photo(&self, sha256: &str) -> StoreResult<Option<PhotoRow>> {
        let sha = sha256.to_string();
        self.tx(move |tx| {
            let r: Option<(String, String, Option<i64>)> = tx
                .prepare_cached(&q(sql::SELECT_PHOTO))?
                .query_row([sha], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            r.map(|(p, k, s)| {
                Ok(PhotoRow {
                    record: sql::from_json(&p)?,
                    signer_key: k,
                    stored: s.is_some(),
                })
            })
            .transpose()
        })
        .await
    }

    async fn photo_visible(
        &self,
        sha256: &str,
        scope: &PullScope,
        device: Option<Uuid>,
    ) -> StoreResult<Option<bool>> {
        let (sha, scope) = (sha256.to_string(), scope.clone());
        self.tx(move |tx| {
            ready(shared::photo_visible(
                &mut SqliteTx(tx),
                &sha,
                &scope,
                device,
            ))
        })
        .await
    }

    async fn missing_photos(&self, hashes: &[String]) -> StoreResult<Vec<String>> {
        let hashes = hashes.to_vec();
        self.tx(move |tx| {
            let mut out = Vec::new();
            for h in hashes {
                let stored: Option<Option<i64>> = tx
                    .prepare_cached(&q(sql::PHOTO_STORED_AT))?
                    .query_row([&h], |r| r.get(0))
                    .optional()?;
                if !matches!(stored, Some(Some(_))) {
                    out.push(h);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn mark_photo_stored(&self, sha256: &str, at: i64) -> StoreResult<()> {
        let sha = sha256.to_string();
        self.tx(move |tx| {
            tx.prepare_cached(&q(sql::MARK_PHOTO_STORED))?
                .execute(params![at, sha])?;
            Ok(())
        })
        .await
    }
}

// The office dashboard's SQL runner, kept apart from the sync path.
mod dash;

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// The connection, the queue and the count of pushes on their way a writer gathers with.
    type Gathering = (
        Arc<Mutex<Connection>>,
        Arc<Mutex<Vec<u32>>>,
        Arc<AtomicUsize>,
    );

    /// A connection, one push queued and one on its way.
    fn one_queued_one_coming() -> Gathering {
        let conn = Connection::open_in_memory().expect("in-memory database");
        (
            Arc::new(Mutex::new(conn)),
            Arc::new(Mutex::new(vec![1])),
            Arc::new(AtomicUsize::new(1)),
        )
    }

    #[test]
    fn a_writer_lets_a_push_on_its_way_use_the_connection_and_join_its_group() {
        let (conn, queued, coming) = one_queued_one_coming();
        let arriving = std::thread::spawn({
            let (conn, queued, coming) = (conn.clone(), queued.clone(), coming.clone());
            move || {
                std::thread::sleep(Duration::from_millis(30));
                // Its lookup, while the writer gathers; then it joins the queue.
                let _lookup = lock(&conn);
                lock(&queued).push(2);
                coming.fetch_sub(1, Ordering::AcqRel);
            }
        });
        let guard = gather(&conn, &queued, &coming, Duration::from_secs(60));
        assert_eq!(
            *lock(&queued),
            vec![1, 2],
            "the group holds the push that was coming"
        );
        drop(guard);
        arriving.join().expect("the arriving push");
    }

    #[test]
    fn a_push_that_never_arrives_holds_the_group_up_for_the_limit_only() {
        let (conn, queued, coming) = one_queued_one_coming();
        let started = Instant::now();
        let _guard = gather(&conn, &queued, &coming, Duration::from_millis(50));
        assert!(
            started.elapsed() >= Duration::from_millis(50),
            "it waited for the push"
        );
        assert_eq!(*lock(&queued), vec![1]);
    }

    #[test]
    fn nothing_queued_or_nothing_coming_takes_the_connection_at_once() {
        let (conn, queued, coming) = one_queued_one_coming();
        lock(&queued).clear();
        let started = Instant::now();
        drop(gather(&conn, &queued, &coming, Duration::from_secs(60)));
        let (_, queued, coming) = one_queued_one_coming();
        coming.store(0, Ordering::Release);
        drop(gather(&conn, &queued, &coming, Duration::from_secs(60)));
        assert!(started.elapsed() < Duration::from_secs(30));
    }
}
