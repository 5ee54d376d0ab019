//! The PostgreSQL backend, for several server processes behind a load balancer.
//!
//! Pull-cursor safety: every transaction that appends to the change log takes one
//! transaction-scoped advisory lock before its first entry, so change-log sequence numbers are
//! handed out and committed in the same order; a reader therefore never sees seq n+1
//! committed while n can still commit. Pushes and office steps take it after writing their
//! records, so pushes write side by side and queue only to log; pushes that carry no
//! findings' news do not touch the change log at all. Pushes of one device are serialized by
//! the row lock on its prefix; a push of only inspections and item answers is one statement
//! (`push.rs`).

use super::migrations::{self, Migration};
use super::shared::{self, LookupRows, Tx};
use super::sql::{self, Stmt};
use super::{
    AccountScope, AccountStore, AuditEntry, Content, DeviceRow, Export, FindingFilter, FindingRow,
    ImportCounts, NewDevice, NewTaskDivision, OfficeStore, OutboxEntry, PhotoRow, PullPage,
    PullScope, PushOutcome, RefData, RefQuery, SessionRow, StoreError, StoreResult, SyncStore,
    TaskDivision, UserRow, check_binding, u64_from_db,
};
use crate::dashboard::Cell;
use async_trait::async_trait;
use fieldcheck_protocol::{Assignment, RectificationEventRecord, Site};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, Row, Transaction};
use std::time::Duration;
use uuid::Uuid;

/// Key of the advisory lock that orders change-log writers.
const CHANGE_LOG_LOCK: i64 = 0x0046_434c_4f47; // "FCLOG"
/// Key of the advisory lock held while the schema is created.
const SCHEMA_LOCK: i64 = 0x0046_4353_4348; // "FCSCH"

/// How long a pooled connection may sit idle before it is pinged (one round trip) when taken
/// again, so that one the database dropped meanwhile is replaced instead of failing a request.
/// A connection in steady use answered a moment ago; a push takes three in a row (its token,
/// its lookup, its writes), which the ping would make six round trips.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Extra statements for PostgreSQL: the audit log refuses updates and deletes.
/// A store in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

type PgTx = Transaction<'static, Postgres>;

async fn exec(conn: &mut PgConnection, stmt: &Stmt) -> StoreResult<u64> {
    Ok(dash::bind(sqlx::query(stmt.sql), &stmt.args)
        .execute(conn)
        .await?
        .rows_affected())
}

/// A connection, or the connection of a transaction (`&mut *tx`).
impl Tx for PgConnection {
    async fn exec(&mut self, stmt: Stmt) -> StoreResult<u64> {
        exec(self, &stmt).await
    }

    async fn text(&mut self, stmt: Stmt) -> StoreResult<Option<Option<String>>> {
        let row = dash::bind(sqlx::query(stmt.sql), &stmt.args)
            .fetch_optional(self)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn int(&mut self, stmt: Stmt) -> StoreResult<Option<i64>> {
        let row = dash::bind(sqlx::query(stmt.sql), &stmt.args)
            .fetch_optional(self)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    async fn row(&mut self, stmt: Stmt) -> StoreResult<Option<Vec<Cell>>> {
        let row = dash::bind(sqlx::query(stmt.sql), &stmt.args)
            .fetch_optional(self)
            .await?;
        row.as_ref().map(dash::cells).transpose()
    }

    async fn rows(&mut self, stmt: Stmt) -> StoreResult<Vec<Vec<Cell>>> {
        let rows = dash::bind(sqlx::query(stmt.sql), &stmt.args)
            .fetch_all(self)
            .await?;
        rows.iter().map(dash::cells).collect()
    }

    async fn texts(&mut self, stmt: Stmt) -> StoreResult<Vec<String>> {
        let rows = dash::bind(sqlx::query(stmt.sql), &stmt.args)
            .fetch_all(self)
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }

    /// Held until the transaction ends.
    async fn lock_change_log(&mut self) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(CHANGE_LOG_LOCK)
            .execute(self)
            .await?;
        Ok(())
    }

    /// One statement for every kind ([`push::lookup_rows`]).
    async fn lookup_rows(&mut self, refs: &RefQuery) -> StoreResult<LookupRows> {
        push::lookup_rows(self, refs).await
    }

    /// Two statements (one per table) instead of one per record ([`push::upsert_in_bulk`]).
    async fn upsert_in_bulk(&mut self, bulk: &shared::Bulk) -> StoreResult<bool> {
        push::upsert_in_bulk(self, bulk).await?;
        Ok(true)
    }

    /// One statement per kind ([`push::write_in_bulk`]).
    async fn write_in_bulk(
        &mut self,
        device_id: Uuid,
        signer_key: &str,
        entries: &[&OutboxEntry],
    ) -> StoreResult<Option<Vec<bool>>> {
        push::write_in_bulk(self, device_id, signer_key, entries).await
    }

    /// One statement ([`push::context_rows`]).
    async fn context_rows(
        &mut self,
        query: &shared::ContextQuery,
    ) -> StoreResult<Option<shared::ContextRows>> {
        Ok(Some(push::context_rows(self, query).await?))
    }

    /// Two statements ([`push::log_changes`]).
    async fn log_in_bulk(&mut self, changes: &[shared::NewChange]) -> StoreResult<bool> {
        push::log_changes(self, changes).await?;
        Ok(true)
    }
}

fn to_user(r: &PgRow, at: usize) -> StoreResult<UserRow> {
    Ok(UserRow {
        name: r.try_get(at)?,
        role: sql::role(&r.try_get::<String, _>(at + 1)?)?,
        unit: r.try_get(at + 2)?,
        password_hash: r.try_get(at + 3)?,
        disabled: r.try_get::<i64, _>(at + 4)? != 0,
        created_at: r.try_get(at + 5)?,
        display_name: r.try_get(at + 6)?,
    })
}

fn to_device(r: &PgRow) -> StoreResult<DeviceRow> {
    Ok(DeviceRow {
        id: sql::uuid(&r.try_get::<String, _>(0)?)?,
        user_name: r.try_get(1)?,
        public_key: r.try_get(2)?,
        label: r.try_get(3)?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        token_expires_at: r.try_get(6)?,
        high_seq: u64_from_db(r.try_get(7)?),
    })
}

async fn finding_row(tx: &mut PgTx, r: &PgRow) -> StoreResult<FindingRow> {
    let record: fieldcheck_protocol::FindingRecord = sql::from_json(&r.try_get::<String, _>(0)?)?;
    let events = sqlx::query_scalar::<_, String>(sql::FINDING_EVENTS)
        .bind(record.id.to_string())
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|p| sql::from_json(p))
        .collect::<StoreResult<Vec<RectificationEventRecord>>>()?;
    Ok(FindingRow {
        record,
        current_unit: r.try_get(1)?,
        events,
    })
}

impl PostgresStore {
    /// Connects and brings the schema up to date ([`migrations::POSTGRES`]).
    pub async fn connect(url: &str) -> StoreResult<Self> {
        Self::connect_with(url, migrations::POSTGRES).await
    }

    /// Connects and takes these schema steps (the upgrade test adds one), in one transaction
    /// under an advisory lock, so replicas that start together do not race.
    pub async fn connect_with(url: &str, steps: &'static [Migration]) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(SCHEMA_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(migrations::TRACKING_TABLE)
            .execute(&mut *tx)
            .await?;
        let applied: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        for m in migrations::pending(steps, applied)? {
            sqlx::raw_sql(m.sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(fieldcheck_domain::clock::wall_clock_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Self { pool })
    }

    async fn put_sites_held(&self, sites: &[Site], hold: Duration) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        shared::put_sites(&mut *tx, sites).await?;
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_user(&self, u: &UserRow) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(sql::INSERT_USER)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.unit)
            .bind(&u.password_hash)
            .bind(i64::from(u.disabled))
            .bind(u.created_at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(format!("user {} exists", u.name)));
        }
        if !u.display_name.is_empty() {
            shared::set_display_name(&mut *tx, &u.name, &u.display_name).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, name: &str) -> StoreResult<Option<UserRow>> {
        sqlx::query(sql::SELECT_USER)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| to_user(&r, 0))
            .transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<UserRow>> {
        sqlx::query(sql::LIST_USERS)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| to_user(r, 0))
            .collect()
    }

    async fn set_display_name(&self, name: &str, display_name: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed = shared::set_display_name(&mut *tx, name, display_name).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn set_user_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool> {
        Ok(sqlx::query(sql::SET_DISABLED)
            .bind(i64::from(disabled))
            .bind(name)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    async fn set_password_hash(&self, name: &str, hash: &str) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(sql::SET_PASSWORD)
            .bind(hash)
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        for statement in [sql::VOID_USER_TOKENS, sql::END_USER_DASH_SESSIONS] {
            sqlx::query(statement).bind(name).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    async fn register_device(&self, d: &NewDevice) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        let bound: Option<(Option<i64>, String, String)> = sqlx::query_as(sql::DEVICE_BINDING)
            .bind(d.id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        check_binding(d, bound)?;
        sqlx::query(sql::UPSERT_DEVICE)
            .bind(d.id.to_string())
            .bind(&d.user_name)
            .bind(&d.public_key)
            .bind(&d.label)
            .bind(&d.token_hash)
            .bind(d.token_expires_at)
            .bind(d.at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>> {
        sqlx::query(sql::SESSION_BY_TOKEN)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| {
                Ok(SessionRow {
                    device: to_device(&r)?,
                    user: to_user(&r, 8)?,
                })
            })
            .transpose()
    }

    async fn list_devices(&self) -> StoreResult<Vec<DeviceRow>> {
        sqlx::query(sql::LIST_DEVICES)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(to_device)
            .collect()
    }

    async fn revoke_device(&self, id: Uuid, at: i64) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query(sql::DEVICE_EXISTS)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        sqlx::query(sql::REVOKE_DEVICE)
            .bind(at)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(exists)
    }

    async fn reset_device(&self, id: Uuid) -> StoreResult<bool> {
        Ok(sqlx::query(sql::RESET_DEVICE)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    async fn record_login_failure(&self, key: &str, at: i64) -> StoreResult<()> {
        sqlx::query(sql::INSERT_LOGIN_FAILURE)
            .bind(key)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(sql::COUNT_LOGIN_FAILURES)
            .bind(key)
            .bind(since)
            .fetch_one(&self.pool)
            .await?;
        Ok(u64_from_db(n))
    }

    async fn clear_login_failures(&self, key: &str) -> StoreResult<()> {
        sqlx::query(sql::CLEAR_LOGIN_FAILURES)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
        sqlx::query(sql::INSERT_AUDIT)
            .bind(e.at)
            .bind(&e.actor)
            .bind(e.device_id.map(|d| d.to_string()))
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        sqlx::query(sql::RECENT_AUDIT)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    device_id: r
                        .try_get::<Option<String>, _>(2)?
                        .as_deref()
                        .map(sql::uuid)
                        .transpose()?,
                    action: r.try_get(3)?,
                    target: r.try_get(4)?,
                    detail: r.try_get(5)?,
                })
            })
            .collect()
    }

    async fn account_scope(&self, name: &str) -> StoreResult<AccountScope> {
        let mut tx = self.pool.begin().await?;
        let scope = shared::account_scope(&mut *tx, name).await?;
        tx.commit().await?;
        Ok(scope)
    }

    async fn set_account_districts(
        &self,
        name: &str,
        districts: &[String],
    ) -> StoreResult<AccountScope> {
        let mut tx = self.pool.begin().await?;
        let scope = shared::set_account_districts(&mut *tx, name, districts).await?;
        tx.commit().await?;
        Ok(scope)
    }
}

#[async_trait]
impl OfficeStore for PostgresStore {
    async fn import_content(&self, c: &Content) -> StoreResult<ImportCounts> {
        let mut tx = self.pool.begin().await?;
        let counts = shared::import_content(&mut *tx, c).await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn put_sites(&self, sites: &[Site]) -> StoreResult<()> {
        self.put_sites_held(sites, Duration::ZERO).await
    }

    async fn put_site_slowly(&self, site: &Site, hold: Duration) -> StoreResult<()> {
        self.put_sites_held(std::slice::from_ref(site), hold).await
    }

    async fn put_assignment(&self, a: &Assignment) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        shared::put_assignment(&mut *tx, a).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_office_event(&self, e: &RectificationEventRecord) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let appended = shared::append_office_event(&mut *tx, e).await?;
        tx.commit().await?;
        Ok(appended)
    }

    async fn county_id(&self) -> StoreResult<Uuid> {
        let mut tx = self.pool.begin().await?;
        let id = shared::county_id(&mut *tx).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn finding(&self, id: Uuid) -> StoreResult<Option<FindingRow>> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(sql::SELECT_FINDING)
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let out = match r {
            Some(r) => Some(finding_row(&mut tx, &r).await?),
            None => None,
        };
        tx.commit().await?;
        Ok(out)
    }

    async fn list_findings(
        &self,
        which: &FindingFilter,
        limit: u32,
    ) -> StoreResult<Vec<FindingRow>> {
        let mut tx = self.pool.begin().await?;
        let out = shared::list_findings(&mut *tx, which, limit).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn put_task_division(&self, division: &NewTaskDivision) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let version = shared::put_task_division(&mut *tx, division).await?;
        tx.commit().await?;
        Ok(version)
    }

    async fn task_division(&self) -> StoreResult<Option<TaskDivision>> {
        let mut tx = self.pool.begin().await?;
        let out = shared::task_division(&mut *tx).await?;
        tx.commit().await?;
        Ok(out)
    }
}

#[async_trait]
impl SyncStore for PostgresStore {
    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        scope: &PullScope,
        tablet_version: Option<u64>,
    ) -> StoreResult<PullPage> {
        let mut tx = self.pool.begin().await?;
        let page = shared::pull(&mut *tx, cursor, limit, scope, tablet_version).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn lookup(&self, refs: &RefQuery) -> StoreResult<RefData> {
        shared::lookup(&mut *self.pool.acquire().await?, refs).await
    }

    async fn apply_push(
        &self,
        device_id: Uuid,
        signer_key: &str,
        entries: &[OutboxEntry],
    ) -> StoreResult<PushOutcome> {
        if let Some(plain) = shared::PlainPush::of(device_id, entries)
            && push::apply_plain(&mut *self.pool.acquire().await?, device_id, &plain).await?
        {
            return Ok(plain.outcome());
        }
        let mut tx = self.pool.begin().await?;
        let outcome = shared::apply_push(&mut *tx, device_id, signer_key, entries).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn export(&self) -> StoreResult<Export> {
        let mut tx = self.pool.begin().await?;
        let mut all = Vec::new();
        for q in [
            sql::EXPORT_INSPECTIONS,
            sql::EXPORT_ITEM_RESULTS,
            sql::EXPORT_FINDINGS,
            sql::EXPORT_PHOTOS,
            sql::EXPORT_EVENTS,
            sql::EXPORT_CHECK_INS,
        ] {
            all.push(
                sqlx::query_scalar::<_, String>(q)
                    .fetch_all(&mut *tx)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(Export {
            inspections: sql::from_json_all(&all[0])?,
            item_results: sql::from_json_all(&all[1])?,
            findings: sql::from_json_all(&all[2])?,
            photos: sql::from_json_all(&all[3])?,
            events: sql::from_json_all(&all[4])?,
            check_ins: sql::from_json_all(&all[5])?,
        })
    }

    async fn photo(&self, sha256: &str) -> StoreResult<Option<PhotoRow>> {
        sqlx::query(sql::SELECT_PHOTO)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| {
                Ok(PhotoRow {
                    record: sql::from_json(&r.try_get::<String, _>(0)?)?,
                    signer_key: r.try_get(1)?,
                    stored: r.try_get::<Option<i64>, _>(2)?.is_some(),
                })
            })
            .transpose()
    }

    async fn photo_visible(
        &self,
        sha256: &str,
        scope: &PullScope,
        device: Option<Uuid>,
    ) -> StoreResult<Option<bool>> {
        let mut tx = self.pool.begin().await?;
        let visible = shared::photo_visible(&mut *tx, sha256, scope, device).await?;
        tx.commit().await?;
        Ok(visible)
    }

    async fn missing_photos(&self, hashes: &[String]) -> StoreResult<Vec<String>> {
        let mut c = self.pool.acquire().await?;
        let mut out = Vec::new();
        for h in hashes {
            let stored: Option<Option<i64>> = sqlx::query_scalar(sql::PHOTO_STORED_AT)
                .bind(h)
                .fetch_optional(&mut *c)
                .await?;
            if !matches!(stored, Some(Some(_))) {
                out.push(h.clone());
            }
        }
        Ok(out)
    }

    async fn mark_photo_stored(&self, sha256: &str, at: i64) -> StoreResult<()> {
        sqlx::query(sql::MARK_PHOTO_STORED)
            .bind(at)
            .bind(sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

// The office dashboard's SQL runner, kept apart from the sync path.
mod dash;
// The push's writes in few statements.
mod push;
