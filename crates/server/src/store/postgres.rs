//! The PostgreSQL backend, for several server processes behind a load balancer.
//!
//! Pull-cursor safety: every transaction that appends to the change log first takes one
//! transaction-scoped advisory lock, so change-log sequence numbers are handed out and
//! committed in the same order; a reader therefore never sees seq n+1 committed while n can
//! still commit. Pushes do not touch the change log and run in parallel, serialized per device
//! by the row lock on the device's prefix.

use super::migrations::{self, Migration};
use super::sql::{self, Stmt};
use super::{
    AuditEntry, ChangeRow, Content, DeviceRow, Export, FindingRow, ImportCounts, InspectionRef,
    NewDevice, OutboxEntry, PhotoRow, PullScope, PushOutcome, RefData, RefQuery, SessionRow, Store,
    StoreError, StoreResult, UserRow, check_binding, u64_from_db,
};
use async_trait::async_trait;
use fieldcheck_protocol::{Assignment, ChangeItem, RectificationEventRecord, Site};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use std::time::Duration;
use uuid::Uuid;

/// Key of the advisory lock that orders change-log writers.
const CHANGE_LOG_LOCK: i64 = 0x0046_434c_4f47; // "FCLOG"
/// Key of the advisory lock held while the schema is created.
const SCHEMA_LOCK: i64 = 0x0046_4353_4348; // "FCSCH"

/// Extra statements for PostgreSQL: the audit log refuses updates and deletes.
/// A store in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

type Tx = Transaction<'static, Postgres>;

async fn exec(tx: &mut Tx, stmt: &Stmt) -> StoreResult<u64> {
    Ok(dash::bind(sqlx::query(stmt.sql), &stmt.args)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

fn to_user(r: &PgRow, at: usize) -> StoreResult<UserRow> {
    Ok(UserRow {
        name: r.try_get(at)?,
        role: sql::role(&r.try_get::<String, _>(at + 1)?)?,
        unit: r.try_get(at + 2)?,
        password_hash: r.try_get(at + 3)?,
        disabled: r.try_get::<i64, _>(at + 4)? != 0,
        created_at: r.try_get(at + 5)?,
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

async fn lock_change_log(tx: &mut Tx) -> StoreResult<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHANGE_LOG_LOCK)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Appends to the change log; the caller holds the change-log lock.
async fn log_change(tx: &mut Tx, item: &ChangeItem, unit: Option<&str>) -> StoreResult<()> {
    sqlx::query(sql::INSERT_CHANGE)
        .bind(unit)
        .bind(sql::to_json(item))
        .bind(crate::clock::now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn one_text(tx: &mut Tx, select: &str, key: &str) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar::<_, String>(select)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?)
}

async fn upsert_logged(
    tx: &mut Tx,
    select: &str,
    upsert: &'static str,
    key: &str,
    payload: String,
    item: &ChangeItem,
) -> StoreResult<bool> {
    if one_text(tx, select, key).await?.as_deref() == Some(payload.as_str()) {
        return Ok(false);
    }
    sqlx::query(upsert)
        .bind(key)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    log_change(tx, item, None).await?;
    Ok(true)
}

async fn finding_row(tx: &mut Tx, r: &PgRow) -> StoreResult<FindingRow> {
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
            .bind(crate::clock::now_ms())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Self { pool })
    }

    async fn put_sites_held(&self, sites: &[Site], hold: Duration) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        lock_change_log(&mut tx).await?;
        for site in sites {
            sqlx::query(sql::UPSERT_SITE)
                .bind(site.id.to_string())
                .bind(sql::to_json(site))
                .execute(&mut *tx)
                .await?;
            log_change(&mut tx, &ChangeItem::Site(site.clone()), None).await?;
        }
        if !hold.is_zero() {
            tokio::time::sleep(hold).await;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, u: &UserRow) -> StoreResult<()> {
        let n = sqlx::query(sql::INSERT_USER)
            .bind(&u.name)
            .bind(u.role.as_str())
            .bind(&u.unit)
            .bind(&u.password_hash)
            .bind(i64::from(u.disabled))
            .bind(u.created_at)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::Conflict(format!("user {} exists", u.name)));
        }
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

    async fn reset_device(&self, id: Uuid) -> StoreResult<bool> {
        Ok(sqlx::query(sql::RESET_DEVICE)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
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

    async fn import_content(&self, c: &Content) -> StoreResult<ImportCounts> {
        let mut tx = self.pool.begin().await?;
        lock_change_log(&mut tx).await?;
        let mut counts = ImportCounts::default();
        let mut changes = Vec::new();
        for st in &c.site_types {
            let item = ChangeItem::SiteType(st.clone());
            changes.push(
                upsert_logged(
                    &mut tx,
                    sql::SELECT_SITE_TYPE,
                    sql::UPSERT_SITE_TYPE,
                    &st.code,
                    sql::to_json(st),
                    &item,
                )
                .await?,
            );
        }
        for u in &c.units {
            let item = ChangeItem::Unit(u.clone());
            changes.push(
                upsert_logged(
                    &mut tx,
                    sql::SELECT_UNIT,
                    sql::UPSERT_UNIT,
                    &u.code,
                    sql::to_json(u),
                    &item,
                )
                .await?,
            );
        }
        for s in &c.taxonomy {
            let item = ChangeItem::Subcategory(s.clone());
            changes.push(
                upsert_logged(
                    &mut tx,
                    sql::SELECT_SUBCATEGORY,
                    sql::UPSERT_SUBCATEGORY,
                    &s.code,
                    sql::to_json(s),
                    &item,
                )
                .await?,
            );
        }
        for t in &c.templates {
            let payload = sql::to_json(t);
            let old: Option<String> = sqlx::query_scalar(sql::SELECT_TEMPLATE)
                .bind(&t.id)
                .bind(i64::from(t.version))
                .fetch_optional(&mut *tx)
                .await?;
            match old {
                Some(old) if old == payload => changes.push(false),
                Some(_) => {
                    return Err(StoreError::Conflict(format!(
                        "template {} version {} already exists with other content; give the changed template a new version",
                        t.id, t.version
                    )));
                }
                None => {
                    sqlx::query(sql::INSERT_TEMPLATE)
                        .bind(&t.id)
                        .bind(i64::from(t.version))
                        .bind(payload)
                        .execute(&mut *tx)
                        .await?;
                    log_change(&mut tx, &ChangeItem::Template(t.clone()), None).await?;
                    changes.push(true);
                }
            }
        }
        tx.commit().await?;
        for changed in changes {
            if changed {
                counts.changed += 1;
            } else {
                counts.unchanged += 1;
            }
        }
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
        lock_change_log(&mut tx).await?;
        let old = one_text(&mut tx, sql::SELECT_ASSIGNMENT, &a.id.to_string()).await?;
        let changes = sql::assignment_changes(old.as_deref(), a)?;
        if changes.is_empty() {
            return Ok(());
        }
        sqlx::query(sql::UPSERT_ASSIGNMENT)
            .bind(a.id.to_string())
            .bind(sql::to_json(a))
            .execute(&mut *tx)
            .await?;
        for (item, scope) in &changes {
            log_change(&mut tx, item, Some(scope)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn append_office_event(&self, e: &RectificationEventRecord) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        lock_change_log(&mut tx).await?;
        let unit: Option<Option<String>> = sqlx::query_scalar(sql::FINDING_UNIT)
            .bind(e.finding_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(unit) = unit else { return Ok(false) };
        for stmt in sql::event_writes(e, "office") {
            exec(&mut tx, &stmt).await?;
        }
        let scope = sql::unit_scope(e.unit.as_deref().or(unit.as_deref()));
        log_change(&mut tx, &ChangeItem::Rectification(e.clone()), Some(&scope)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        scope: &PullScope,
    ) -> StoreResult<Vec<ChangeRow>> {
        let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
        let rows = match sql::scope_args(scope) {
            None => {
                sqlx::query(sql::PULL_ALL)
                    .bind(cursor)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            Some((own, inspector)) => {
                sqlx::query(sql::PULL_SCOPED)
                    .bind(cursor)
                    .bind(i64::from(limit))
                    .bind(own)
                    .bind(inspector)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(ChangeRow {
                    seq: u64_from_db(r.try_get(0)?),
                    item: sql::from_json(&r.try_get::<String, _>(1)?)?,
                })
            })
            .collect()
    }

    async fn lookup(&self, refs: &RefQuery) -> StoreResult<RefData> {
        let mut c = self.pool.acquire().await?;
        let mut out = RefData::default();
        for id in &refs.sites {
            if sqlx::query(sql::SELECT_SITE)
                .bind(id.to_string())
                .fetch_optional(&mut *c)
                .await?
                .is_some()
            {
                out.sites.insert(*id);
            }
        }
        for id in &refs.inspections {
            let r = sqlx::query(sql::SELECT_INSPECTION_REF)
                .bind(id.to_string())
                .fetch_optional(&mut *c)
                .await?;
            if let Some(r) = r {
                out.inspections.insert(
                    *id,
                    InspectionRef {
                        device_id: sql::uuid(&r.try_get::<String, _>(0)?)?,
                        template_id: r.try_get(1)?,
                        template_version: u32::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                    },
                );
            }
        }
        let mut templates = refs.templates.clone();
        templates.extend(
            out.inspections
                .values()
                .map(|i| (i.template_id.clone(), i.template_version)),
        );
        for (id, v) in &templates {
            let p: Option<String> = sqlx::query_scalar(sql::SELECT_TEMPLATE)
                .bind(id)
                .bind(i64::from(*v))
                .fetch_optional(&mut *c)
                .await?;
            if let Some(p) = p {
                out.templates.insert((id.clone(), *v), sql::from_json(&p)?);
            }
        }
        for id in &refs.findings {
            let d: Option<String> = sqlx::query_scalar(sql::SELECT_FINDING_DEVICE)
                .bind(id.to_string())
                .fetch_optional(&mut *c)
                .await?;
            if let Some(d) = d {
                out.findings.insert(*id, sql::uuid(&d)?);
            }
        }
        for sha in &refs.photos {
            let d: Option<String> = sqlx::query_scalar(sql::SELECT_PHOTO_DEVICE)
                .bind(sha)
                .fetch_optional(&mut *c)
                .await?;
            if let Some(d) = d {
                out.photos.insert(sha.clone(), sql::uuid(&d)?);
            }
        }
        out.units = sqlx::query_scalar::<_, String>(sql::ALL_UNIT_CODES)
            .fetch_all(&mut *c)
            .await?
            .into_iter()
            .collect();
        out.subcategories = sqlx::query_scalar::<_, String>(sql::ALL_SUBCATEGORY_CODES)
            .fetch_all(&mut *c)
            .await?
            .into_iter()
            .collect();
        Ok(out)
    }

    async fn apply_push(
        &self,
        device_id: Uuid,
        signer_key: &str,
        entries: &[OutboxEntry],
    ) -> StoreResult<PushOutcome> {
        let mut tx = self.pool.begin().await?;
        let high: Option<i64> = sqlx::query_scalar(sql::LOCK_DEVICE_PREFIX)
            .bind(device_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(high) = high else {
            return Err(StoreError::UnknownDevice(device_id));
        };
        let mut high = u64_from_db(high);
        if let Some(first) = entries.first()
            && first.seq > high + 1
        {
            return Err(StoreError::Gap { expected: high + 1 });
        }
        let mut applied = 0;
        let prefix = high;
        let fresh = entries.iter().filter(|e| e.seq > prefix);
        if fresh
            .clone()
            .any(|e| sql::redistributed(&e.record).is_some())
        {
            lock_change_log(&mut tx).await?;
        }
        for e in fresh {
            for stmt in sql::entry_writes(device_id, signer_key, e) {
                exec(&mut tx, &stmt).await?;
            }
            if let Some((item, finding, unit)) = sql::redistributed(&e.record) {
                let current: Option<Option<String>> = sqlx::query_scalar(sql::FINDING_UNIT)
                    .bind(finding.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let scope = sql::unit_scope(current.flatten().or(unit).as_deref());
                log_change(&mut tx, &item, Some(&scope)).await?;
            }
            high = e.seq;
            applied += 1;
        }
        sqlx::query(sql::SET_DEVICE_PREFIX)
            .bind(i64::try_from(high).unwrap_or(i64::MAX))
            .bind(device_id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(PushOutcome {
            high_seq: high,
            applied,
        })
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

    async fn list_findings(&self, unit: Option<&str>, limit: u32) -> StoreResult<Vec<FindingRow>> {
        let mut tx = self.pool.begin().await?;
        let rows = match unit {
            None => {
                sqlx::query(sql::LIST_FINDINGS_ALL)
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?
            }
            Some(u) => {
                sqlx::query(sql::LIST_FINDINGS_UNIT)
                    .bind(i64::from(limit))
                    .bind(u)
                    .fetch_all(&mut *tx)
                    .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(finding_row(&mut tx, r).await?);
        }
        tx.commit().await?;
        Ok(out)
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
