//! The server's storage: traits split by concern ([`AccountStore`], [`OfficeStore`],
//! [`SyncStore`], and the dashboard's [`dashboard::DashSql`]; [`Store`] is all four) and two
//! backends ([`sqlite`] and [`postgres`]) that pass one conformance suite (the server's
//! `tests/store_conformance.rs`).
//!
//! The traits speak in protocol records and plain rows; SQL lives only here: in `sql.rs`,
//! whose statement texts both backends share, in the write algorithms written once over a
//! backend's transaction (`shared.rs`), in the dashboard's read models ([`dashboard`],
//! [`rows`]) and in the versioned schema steps ([`migrations`]).
//!
//! Owns: tables, statements, transactions, migrations. Must not depend on HTTP, pages,
//! password hashing or the tablet engine: the server (`fieldcheck-server`) is its one user.

pub mod dashboard;
pub mod migrations;
pub mod postgres;
pub mod rows;
mod shared;
mod sql;
pub mod sqlite;

use async_trait::async_trait;
use fieldcheck_domain::task_division::Rule;
use fieldcheck_protocol::{
    Assignment, CheckInRecord, FindingRecord, InspectionRecord, ItemResultRecord, OutboxEntry,
    PhotoRecord, RectificationEventRecord, Role, Site, SiteType, Subcategory, Template, Unit,
};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use uuid::Uuid;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A push whose first seq leaves a hole after the device's applied prefix.
    #[error("sequence gap: expected seq {expected}")]
    Gap {
        /// The seq the store expects next.
        expected: u64,
    },
    /// A unique name is taken, or a versioned item would change in place.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The device was revoked and cannot be registered again.
    #[error("device {0} is revoked")]
    DeviceRevoked(Uuid),
    /// The device id is bound to another account or key (until an administrator resets it).
    #[error("device {0} is bound to another account or key")]
    DeviceBound(Uuid),
    /// The push names a device the store does not know.
    #[error("unknown device {0}")]
    UnknownDevice(Uuid),
    /// The database failed or could not be reached.
    #[error("database: {0}")]
    Backend(String),
    /// A stored value could not be read back.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// An account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRow {
    /// Unique account name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Its responsible unit (unit members only).
    pub unit: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in and their tokens are refused.
    pub disabled: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The person's name (姓名) as photos, histories and ledgers show it; empty: the account
    /// name is shown.
    pub display_name: String,
}

impl UserRow {
    /// The name to show for this account: its person's name, or the account name.
    pub fn shown_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.name
        } else {
            &self.display_name
        }
    }
}

/// A registered tablet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRow {
    /// Device UUID.
    pub id: Uuid,
    /// Account that last logged in on it.
    pub user_name: String,
    /// Hex Ed25519 public key.
    pub public_key: String,
    /// Human label.
    pub label: String,
    /// First registration, Unix milliseconds.
    pub created_at: i64,
    /// When revoked, if it is.
    pub revoked_at: Option<i64>,
    /// When the current token stops working.
    pub token_expires_at: i64,
    /// Highest seq of the gap-free applied prefix of its outbox.
    pub high_seq: u64,
}

/// A login that (re)registers a device with a new token.
#[derive(Clone, Debug)]
pub struct NewDevice {
    /// Device UUID.
    pub id: Uuid,
    /// Account logging in.
    pub user_name: String,
    /// Hex Ed25519 public key.
    pub public_key: String,
    /// Human label.
    pub label: String,
    /// Hex SHA-256 of the token.
    pub token_hash: String,
    /// Token expiry, Unix milliseconds.
    pub token_expires_at: i64,
    /// Now, Unix milliseconds.
    pub at: i64,
}

/// The device-binding rule both backends apply when a device registers, given what the store
/// holds for its id (revoked_at, user_name, public_key): a revoked device is refused; a device
/// bound to another account or another key is refused ([`StoreError::DeviceBound`]) unless an
/// administrator reset it (its key is then empty). Nobody takes over another tablet's id, its
/// sequence position or its findings.
pub(crate) fn check_binding(
    d: &NewDevice,
    stored: Option<(Option<i64>, String, String)>,
) -> StoreResult<()> {
    match stored {
        Some((Some(_), _, _)) => Err(StoreError::DeviceRevoked(d.id)),
        Some((None, user, key))
            if !key.is_empty() && (user != d.user_name || key != d.public_key) =>
        {
            Err(StoreError::DeviceBound(d.id))
        }
        _ => Ok(()),
    }
}

/// A token's device and account.
#[derive(Clone, Debug)]
pub struct SessionRow {
    /// The device.
    pub device: DeviceRow,
    /// Its account.
    pub user: UserRow,
}

/// One line of the append-only audit log (as the office API lists it, too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at: i64,
    /// Account name: `cli` for the command line, `-` for anonymous callers.
    pub actor: String,
    /// Device the request came from, if any.
    pub device_id: Option<Uuid>,
    /// What was done, e.g. `push`, `login_failed`.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Details, e.g. counts.
    pub detail: String,
}

/// Reference data from a template pack.
#[derive(Clone, Debug, Default)]
pub struct Content {
    /// Site types.
    pub site_types: Vec<SiteType>,
    /// Template versions.
    pub templates: Vec<Template>,
    /// Problem taxonomy.
    pub taxonomy: Vec<Subcategory>,
    /// Responsible units.
    pub units: Vec<Unit>,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Items new or changed (each one a change-log entry).
    pub changed: u32,
    /// Items already there unchanged.
    pub unchanged: u32,
}

/// The ids a push batch refers to, looked up before it is validated.
#[derive(Clone, Debug, Default)]
pub struct RefQuery {
    /// Site ids.
    pub sites: HashSet<Uuid>,
    /// Template (id, version) pairs.
    pub templates: HashSet<(String, u32)>,
    /// Inspection ids.
    pub inspections: HashSet<Uuid>,
    /// Finding ids.
    pub findings: HashSet<Uuid>,
    /// Photo hashes.
    pub photos: HashSet<String>,
}

/// A stored inspection, as much as validation needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InspectionRef {
    /// Device that made it.
    pub device_id: Uuid,
    /// Template id.
    pub template_id: String,
    /// Template version.
    pub template_version: u32,
}

/// What the store knows about a [`RefQuery`]'s ids, plus the unit and taxonomy codes.
#[derive(Clone, Debug, Default)]
pub struct RefData {
    /// Known site ids.
    pub sites: HashSet<Uuid>,
    /// Known templates.
    pub templates: HashMap<(String, u32), Template>,
    /// Known inspections.
    pub inspections: HashMap<Uuid, InspectionRef>,
    /// Known findings and the device that made each.
    pub findings: HashMap<Uuid, Uuid>,
    /// Recorded photo hashes and the device whose record holds each.
    pub photos: HashMap<String, Uuid>,
    /// All unit codes.
    pub units: HashSet<String>,
    /// All taxonomy subcategory codes.
    pub subcategories: HashSet<String>,
}

/// Result of applying a push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// The device's gap-free applied prefix after the push.
    pub high_seq: u64,
    /// Entries that were new.
    pub applied: u32,
}

/// Which server-side changes a caller pulls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullScope {
    /// Everything (admins).
    Everything,
    /// Reference data, items addressed to this inspector (its assignments) but not to other
    /// accounts, and the findings' news (findings, steps, photo records) of its districts, its
    /// assigned sites and its own findings: every unit's, when the account has no districts.
    Inspector(String),
    /// Reference data and this unit's rectification steps (no assignments).
    Unit(String),
}

/// The districts an account pulls, and the version of that setting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountScope {
    /// Moves on at every change of `districts`; 0 for an account never confined.
    pub version: u64,
    /// District names, sorted; empty: the whole county.
    pub districts: Vec<String>,
}

/// One page of a pull.
#[derive(Clone, Debug, PartialEq)]
pub struct PullPage {
    /// Changes in cursor order.
    pub changes: Vec<ChangeRow>,
    /// The caller's scope version the page was cut for (0 for admins and units).
    pub scope_version: u64,
    /// The caller's tablet pulled under another scope version: this page starts from cursor 0
    /// and the tablet must drop what it pulled before.
    pub reset: bool,
}

/// A change-log row.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRow {
    /// Cursor position.
    pub seq: u64,
    /// The item, as JSON of [`fieldcheck_protocol::ChangeItem`].
    pub item: fieldcheck_protocol::ChangeItem,
}

/// A photo's record and whether its bytes are in.
#[derive(Clone, Debug, PartialEq)]
pub struct PhotoRow {
    /// The record as pushed.
    pub record: PhotoRecord,
    /// Hex Ed25519 key that verified the record's signature at push time.
    pub signer_key: String,
    /// Whether the bytes are stored and verified.
    pub stored: bool,
}

/// A finding with its current unit and rectification log.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingRow {
    /// The finding as pushed.
    pub record: FindingRecord,
    /// Unit it is dispatched to now (the last 派遣), else the unit named on site.
    pub current_unit: Option<String>,
    /// Its rectification log in HLC order.
    pub events: Vec<RectificationEventRecord>,
}

/// Every record tablets have pushed (and office rectification steps), each table in key order:
/// the office's ledger export, and what tests compare.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Export {
    /// Inspections by id.
    pub inspections: Vec<InspectionRecord>,
    /// Latest item answers by (inspection, item code).
    pub item_results: Vec<ItemResultRecord>,
    /// Findings by id.
    pub findings: Vec<FindingRecord>,
    /// Photo records by hash.
    pub photos: Vec<PhotoRecord>,
    /// Rectification steps by id.
    pub events: Vec<RectificationEventRecord>,
    /// Check-ins (到场核验) by id.
    pub check_ins: Vec<CheckInRecord>,
}

/// Accounts, devices, sign-in failures and the audit log. Every method is one transaction.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account; [`StoreError::Conflict`] when the name is taken.
    async fn create_user(&self, user: &UserRow) -> StoreResult<()>;

    /// Looks an account up by name.
    async fn user(&self, name: &str) -> StoreResult<Option<UserRow>>;

    /// All accounts by name.
    async fn list_users(&self) -> StoreResult<Vec<UserRow>>;

    /// Disables or enables an account; false when there is no such account.
    async fn set_user_disabled(&self, name: &str, disabled: bool) -> StoreResult<bool>;

    /// Sets the person's name of an account (empty: none); false when there is no such
    /// account.
    async fn set_display_name(&self, name: &str, display_name: &str) -> StoreResult<bool>;

    /// Replaces an account's password hash and ends its device tokens and dashboard sessions
    /// (a leaked password, once changed, opens nothing); false when there is no such account.
    async fn set_password_hash(&self, name: &str, hash: &str) -> StoreResult<bool>;

    /// Registers a device or renews its token (keeping its applied prefix). A device id is
    /// bound to the account and key that first registered it: [`StoreError::DeviceBound`] for
    /// another account or key, until [`AccountStore::reset_device`]; [`StoreError::DeviceRevoked`]
    /// for a revoked device.
    async fn register_device(&self, device: &NewDevice) -> StoreResult<()>;

    /// The device and account a token hash belongs to (revoked or expired ones too).
    async fn session(&self, token_hash: &str) -> StoreResult<Option<SessionRow>>;

    /// All devices by registration time.
    async fn list_devices(&self) -> StoreResult<Vec<DeviceRow>>;

    /// Revokes a device's token for good; false when unknown.
    async fn revoke_device(&self, id: Uuid, at: i64) -> StoreResult<bool>;

    /// Frees a device id for the next account and key that sign in with it (a tablet whose key
    /// was lost, or handed to another inspector), keeping its applied prefix and voiding its
    /// token; false when unknown or revoked. An administrator's act: audit it.
    async fn reset_device(&self, id: Uuid) -> StoreResult<bool>;

    /// Counts a failed login for a key (account or address).
    async fn record_login_failure(&self, key: &str, at: i64) -> StoreResult<()>;

    /// Failed logins for a key since a time.
    async fn login_failures_since(&self, key: &str, since: i64) -> StoreResult<u64>;

    /// Forgets a key's failures (after a success).
    async fn clear_login_failures(&self, key: &str) -> StoreResult<()>;

    /// Appends to the audit log (the log has no update or delete).
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// The newest `limit` audit entries, newest first.
    async fn recent_audit(&self, limit: u32) -> StoreResult<Vec<AuditEntry>>;

    /// The districts `name` pulls and the setting's version.
    async fn account_scope(&self, name: &str) -> StoreResult<AccountScope>;

    /// Sets the districts `name` pulls (empty: the whole county), deduplicated; a change moves
    /// the version on. The caller has checked the account and the names.
    async fn set_account_districts(
        &self,
        name: &str,
        districts: &[String],
    ) -> StoreResult<AccountScope>;
}

/// What the office writes and reads: content, sites, assignments, findings and their steps.
/// Every method is one transaction.
#[async_trait]
pub trait OfficeStore: Send + Sync {
    /// Imports reference data; new or changed items go to the change log. A template version
    /// that exists with other content is a [`StoreError::Conflict`] and nothing is written.
    async fn import_content(&self, content: &Content) -> StoreResult<ImportCounts>;

    /// Creates or replaces sites (each logged as a change) in one transaction: on any failure
    /// none of them is written.
    async fn put_sites(&self, sites: &[Site]) -> StoreResult<()>;

    /// Creates or replaces a site (logged as a change).
    async fn put_site(&self, site: &Site) -> StoreResult<()> {
        self.put_sites(std::slice::from_ref(site)).await
    }

    /// Like [`OfficeStore::put_site`], but holds the transaction open for `hold` after writing its
    /// change-log entry before committing: a fault drill for the pull cursor's safety.
    async fn put_site_slowly(&self, site: &Site, hold: std::time::Duration) -> StoreResult<()>;

    /// Creates or replaces an assignment (a cancellation is a replacement with `cancelled`
    /// set), logged as a change addressed to its inspector only. When it moves to another
    /// inspector, the previous inspector is sent a cancelled copy. Storing it unchanged logs
    /// nothing. The caller has checked the inspector, site and date.
    async fn put_assignment(&self, assignment: &Assignment) -> StoreResult<()>;

    /// Appends a rectification step written in the office or by a unit (logged as a change,
    /// visible to the finding's unit). Unknown finding → false, nothing written; a step whose
    /// id is stored already writes and logs nothing (a retry).
    async fn append_office_event(&self, event: &RectificationEventRecord) -> StoreResult<bool>;

    /// This server's county id, which its sites' QR labels carry: made on first use, then
    /// never changed.
    async fn county_id(&self) -> StoreResult<Uuid>;
    /// A finding with its unit and log.
    async fn finding(&self, id: Uuid) -> StoreResult<Option<FindingRow>>;

    /// Findings, newest first, at most `limit` of those `which` selects.
    async fn list_findings(
        &self,
        which: &FindingFilter,
        limit: u32,
    ) -> StoreResult<Vec<FindingRow>>;

    /// Puts a task division in force as the next version (the earlier ones are kept); returns
    /// its version.
    async fn put_task_division(&self, division: &NewTaskDivision) -> StoreResult<i64>;

    /// The task division in force (the highest version); `None` before the first import.
    async fn task_division(&self) -> StoreResult<Option<TaskDivision>>;
}

/// Which findings [`OfficeStore::list_findings`] lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FindingFilter {
    /// Every finding.
    All,
    /// Those dispatched to this unit (its current unit).
    Unit(String),
    /// Those never dispatched, made at or after this instant (Unix ms).
    Undispatched {
        /// The earliest `created_at` listed.
        since: i64,
    },
}

/// A task division to put in force ([`OfficeStore::put_task_division`]).
#[derive(Clone, Debug, PartialEq)]
pub struct NewTaskDivision {
    /// When it was imported (Unix ms).
    pub imported_at: i64,
    /// Who imported it (an account name).
    pub imported_by: String,
    /// Where it came from (the uploaded file's name).
    pub source: String,
    /// Its rules, in the table's order (which breaks ties between equally specific rules).
    pub rules: Vec<Rule>,
}

/// A stored version of the task division.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskDivision {
    /// Its version, 1 for the first import.
    pub version: i64,
    /// What was imported.
    pub division: NewTaskDivision,
}

/// What tablets sync: pulls, pushes, the lookups a push is checked with, photos, the export.
/// Every method is one transaction.
#[async_trait]
pub trait SyncStore: Send + Sync {
    /// Changes after `cursor` that `scope` may see, at most `limit`. Never skips a change that
    /// commits later.
    async fn pull(
        &self,
        cursor: u64,
        limit: u32,
        scope: &PullScope,
        tablet_version: Option<u64>,
    ) -> StoreResult<PullPage>;

    /// Looks up what a push refers to.
    async fn lookup(&self, refs: &RefQuery) -> StoreResult<RefData>;

    /// Applies a validated batch of one device's outbox in one transaction: entries at or below
    /// the device's prefix are skipped, a first seq beyond prefix + 1 is a [`StoreError::Gap`].
    /// `signer_key` is the key that verified the batch's photo signatures. A push that applied
    /// anything is recorded in the audit log (action `push`) in the same transaction. Answers
    /// only once the batch is durable; a backend may commit several pushes in one transaction
    /// (SQLite does), each still applied or refused as a whole.
    async fn apply_push(
        &self,
        device_id: Uuid,
        signer_key: &str,
        entries: &[OutboxEntry],
    ) -> StoreResult<PushOutcome>;

    /// Announces a push the server has taken and will hand to [`SyncStore::apply_push`] once
    /// its body is read and checked. A backend that commits pushes in groups counts those on
    /// their way and waits a little for them before writing a group; others ignore it.
    fn push_coming(&self) -> PushComing {
        PushComing::uncounted()
    }

    /// Every pushed record, in key order.
    async fn export(&self) -> StoreResult<Export>;

    /// A photo's record and state.
    async fn photo(&self, sha256: &str) -> StoreResult<Option<PhotoRow>>;

    /// Whether `scope` may see photo `sha256` (`None`: no record of it): admins any, a unit its
    /// unit's findings' photos, an inspector those of the findings it pulls and those `device`
    /// (the caller's) took.
    async fn photo_visible(
        &self,
        sha256: &str,
        scope: &PullScope,
        device: Option<Uuid>,
    ) -> StoreResult<Option<bool>>;

    /// Of these hashes, those whose bytes are not stored yet.
    async fn missing_photos(&self, hashes: &[String]) -> StoreResult<Vec<String>>;

    /// Marks a photo's bytes as stored and verified.
    async fn mark_photo_stored(&self, sha256: &str, at: i64) -> StoreResult<()>;
}

/// A push on its way to [`SyncStore::apply_push`] ([`SyncStore::push_coming`]): counted
/// until [`PushComing::arrived`] is called (just before the push is handed over) or it is
/// dropped (the push was refused or given up on the way), whichever comes first.
#[derive(Debug)]
pub struct PushComing {
    count: Option<Arc<AtomicUsize>>,
    arrived: AtomicBool,
}

impl PushComing {
    /// A push nobody counts.
    pub fn uncounted() -> Self {
        Self {
            count: None,
            arrived: AtomicBool::new(true),
        }
    }

    /// A push counted in `count` until it arrives.
    pub(crate) fn counted(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Self {
            count: Some(count),
            arrived: AtomicBool::new(false),
        }
    }

    /// The push is being handed over: it is no longer on its way. Later calls do nothing.
    pub fn arrived(&self) {
        if let Some(count) = &self.count
            && !self.arrived.swap(true, Ordering::AcqRel)
        {
            count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Drop for PushComing {
    fn drop(&mut self) {
        self.arrived();
    }
}

/// The server's storage: every concern, and the dashboard's SQL runner. A backend implements
/// the four traits; this one follows.
pub trait Store:
    AccountStore + OfficeStore + SyncStore + dashboard::DashSql + Send + Sync + 'static
{
}

impl<T> Store for T where
    T: AccountStore + OfficeStore + SyncStore + dashboard::DashSql + Send + Sync + 'static
{
}

/// A shared store handle.
pub type DynStore = Arc<dyn Store>;

/// Opens the store a URL names: `postgres://…` or `postgresql://…` for PostgreSQL, anything
/// else is a SQLite file path.
pub async fn open(url_or_path: &str) -> StoreResult<DynStore> {
    if url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://") {
        let store = postgres::PostgresStore::connect(url_or_path).await?;
        dashboard::migrate(&store).await?;
        Ok(Arc::new(store))
    } else {
        let store = sqlite::SqliteStore::open(std::path::Path::new(url_or_path)).await?;
        dashboard::migrate(&store).await?;
        Ok(Arc::new(store))
    }
}

/// Reads a non-negative database integer as `u64`.
pub(crate) fn u64_from_db(v: i64) -> u64 {
    v.max(0) as u64
}
