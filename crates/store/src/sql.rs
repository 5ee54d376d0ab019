//! Statement texts both backends share (written with `$1` placeholders; the SQLite backend
//! rewrites them to `?1`) and the JSON helpers for stored payloads. The schema is in the
//! migrations (`crates/store/migrations/`).

use super::dashboard::Arg;
use super::{StoreError, StoreResult};
use fieldcheck_protocol::{
    Assignment, ChangeItem, Hlc, OutboxEntry, Record, RectificationAction,
    RectificationEventRecord, Role,
};

pub const INSERT_USER: &str = "INSERT INTO users (name, role, unit, password_hash, disabled, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING";
pub const SELECT_USER: &str = "SELECT u.name, u.role, u.unit, u.password_hash, u.disabled, u.created_at, COALESCE(n.display_name, '') FROM users u LEFT JOIN account_names n ON n.user_name = u.name WHERE u.name = $1";
pub const LIST_USERS: &str = "SELECT u.name, u.role, u.unit, u.password_hash, u.disabled, u.created_at, COALESCE(n.display_name, '') FROM users u LEFT JOIN account_names n ON n.user_name = u.name ORDER BY u.name";
pub const SELECT_DISPLAY_NAME: &str = "SELECT display_name FROM account_names WHERE user_name = $1";
/// Sets an account's person's name; changes no row when there is no such account.
pub const SET_DISPLAY_NAME: &str = "INSERT INTO account_names (user_name, display_name) SELECT name, $1 FROM users WHERE name = $2 ON CONFLICT (user_name) DO UPDATE SET display_name = excluded.display_name";
pub const SET_DISABLED: &str = "UPDATE users SET disabled = $1 WHERE name = $2";
pub const SET_PASSWORD: &str = "UPDATE users SET password_hash = $1 WHERE name = $2";
/// With a new password, the account's device tokens stop working (a token hash no token hashes
/// to): its tablets ask for the new password.
pub const VOID_USER_TOKENS: &str =
    "UPDATE devices SET token_hash = 'void:' || id WHERE user_name = $1";
/// With a new password, the account's dashboard sessions end.
pub const END_USER_DASH_SESSIONS: &str = "DELETE FROM dash_sessions WHERE user_name = $1";

/// A device's revocation and binding: (revoked_at, user_name, public_key); an empty key after
/// an administrator's reset.
pub const DEVICE_BINDING: &str =
    "SELECT revoked_at, user_name, public_key FROM devices WHERE id = $1";
/// Frees a device's binding and voids its token (a token hash no token hashes to).
pub const RESET_DEVICE: &str = "UPDATE devices SET public_key = '', token_hash = 'reset:' || id WHERE id = $1 AND revoked_at IS NULL";
pub const UPSERT_DEVICE: &str = "INSERT INTO devices (id, user_name, public_key, label, token_hash, token_expires_at, created_at, revoked_at, high_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, 0) ON CONFLICT (id) DO UPDATE SET user_name = excluded.user_name, public_key = excluded.public_key, label = excluded.label, token_hash = excluded.token_hash, token_expires_at = excluded.token_expires_at";
pub const SESSION_BY_TOKEN: &str = "SELECT d.id, d.user_name, d.public_key, d.label, d.created_at, d.revoked_at, d.token_expires_at, d.high_seq, u.name, u.role, u.unit, u.password_hash, u.disabled, u.created_at, COALESCE(n.display_name, '') FROM devices d JOIN users u ON u.name = d.user_name LEFT JOIN account_names n ON n.user_name = u.name WHERE d.token_hash = $1";
pub const LIST_DEVICES: &str = "SELECT id, user_name, public_key, label, created_at, revoked_at, token_expires_at, high_seq FROM devices ORDER BY created_at, id";
pub const REVOKE_DEVICE: &str =
    "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
pub const DEVICE_EXISTS: &str = "SELECT 1 FROM devices WHERE id = $1";

pub const INSERT_LOGIN_FAILURE: &str = "INSERT INTO login_failures (key, at) VALUES ($1, $2)";
pub const COUNT_LOGIN_FAILURES: &str =
    "SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2";
pub const CLEAR_LOGIN_FAILURES: &str = "DELETE FROM login_failures WHERE key = $1";

pub const INSERT_AUDIT: &str = "INSERT INTO audit (at, actor, device_id, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)";
pub const RECENT_AUDIT: &str =
    "SELECT at, actor, device_id, action, target, detail FROM audit ORDER BY id DESC LIMIT $1";

pub const SELECT_SITE_TYPE: &str = "SELECT payload FROM site_types WHERE code = $1";
pub const UPSERT_SITE_TYPE: &str = "INSERT INTO site_types (code, payload) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET payload = excluded.payload";
pub const SELECT_UNIT: &str = "SELECT payload FROM units WHERE code = $1";
pub const UPSERT_UNIT: &str = "INSERT INTO units (code, payload) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET payload = excluded.payload";
pub const SELECT_SUBCATEGORY: &str = "SELECT payload FROM subcategories WHERE code = $1";
pub const UPSERT_SUBCATEGORY: &str = "INSERT INTO subcategories (code, payload) VALUES ($1, $2) ON CONFLICT (code) DO UPDATE SET payload = excluded.payload";
pub const SELECT_TEMPLATE: &str = "SELECT payload FROM templates WHERE id = $1 AND version = $2";
pub const INSERT_TEMPLATE: &str =
    "INSERT INTO templates (id, version, payload) VALUES ($1, $2, $3)";
pub const SELECT_SITE: &str = "SELECT payload FROM sites WHERE id = $1";
pub const UPSERT_SITE: &str = "INSERT INTO sites (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload";
pub const SELECT_ASSIGNMENT: &str = "SELECT payload FROM assignments WHERE id = $1";
pub const UPSERT_ASSIGNMENT: &str = "INSERT INTO assignments (id, payload) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload";
pub const ALL_UNIT_CODES: &str = "SELECT code FROM units";
pub const ALL_SUBCATEGORY_CODES: &str = "SELECT code FROM subcategories";

pub const SELECT_META: &str = "SELECT value FROM server_meta WHERE key = $1";
pub const INSERT_META: &str =
    "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING";

pub const NEXT_FINDING_SEQ: &str =
    "SELECT COALESCE(MAX(seq), 0) + 1 FROM finding_numbers WHERE china_day = $1";
pub const FINDING_NUMBER: &str = "SELECT number FROM finding_numbers WHERE finding_id = $1";
pub const INSERT_FINDING_NUMBER: &str = "INSERT INTO finding_numbers (finding_id, china_day, seq, number) VALUES ($1, $2, $3, $4) ON CONFLICT (finding_id) DO NOTHING";

pub const INSERT_CHANGE: &str =
    "INSERT INTO change_log (scope, payload, at) VALUES ($1, $2, $3) RETURNING seq";
pub const INSERT_CHANGE_PLACE: &str =
    "INSERT INTO change_places (seq, district, site_id, owner) VALUES ($1, $2, $3, $4)";
pub const PULL_ALL: &str =
    "SELECT seq, payload FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2";
/// `$3` is the caller's own scope; `$4` = 1 lets an inspector also see every unit's steps.
pub const PULL_SCOPED: &str = "SELECT seq, payload FROM change_log WHERE seq > $1 AND (scope IS NULL OR scope = $3 OR ($4 = 1 AND scope NOT LIKE 'user:%')) ORDER BY seq LIMIT $2";
/// An inspector confined to districts: reference data, its own items (`$3`), and the findings'
/// news of its districts, its assigned sites and its own findings (`$4` is the account name).
pub const PULL_DISTRICTS: &str = "SELECT c.seq, c.payload FROM change_log c LEFT JOIN change_places p ON p.seq = c.seq WHERE c.seq > $1 AND (c.scope IS NULL OR c.scope = $3 OR (c.scope LIKE 'unit:%' AND (p.owner = $4 OR p.district IN (SELECT district FROM account_districts WHERE user_name = $4) OR p.site_id IN (SELECT site_id FROM assignment_sites WHERE inspector = $4)))) ORDER BY c.seq LIMIT $2";
pub const ACCOUNT_SCOPE_VERSION: &str = "SELECT version FROM account_scopes WHERE user_name = $1";
pub const ACCOUNT_DISTRICTS: &str =
    "SELECT district FROM account_districts WHERE user_name = $1 ORDER BY district";
pub const CLEAR_ACCOUNT_DISTRICTS: &str = "DELETE FROM account_districts WHERE user_name = $1";
pub const INSERT_ACCOUNT_DISTRICT: &str = "INSERT INTO account_districts (user_name, district) VALUES ($1, $2) ON CONFLICT (user_name, district) DO NOTHING";
pub const BUMP_ACCOUNT_SCOPE: &str = "INSERT INTO account_scopes (user_name, version) VALUES ($1, 1) ON CONFLICT (user_name) DO UPDATE SET version = account_scopes.version + 1";
pub const ASSIGNED_SITE: &str =
    "SELECT CAST(1 AS BIGINT) FROM assignment_sites WHERE inspector = $1 AND site_id = $2";
pub const UPSERT_ASSIGNMENT_SITE: &str = "INSERT INTO assignment_sites (id, inspector, site_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET inspector = excluded.inspector, site_id = excluded.site_id";
pub const INSERT_CHECK_IN: &str = "INSERT INTO check_ins (id, site_id, inspector, device_id, china_day, at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";

pub const LOCK_DEVICE_PREFIX: &str =
    "UPDATE devices SET high_seq = high_seq WHERE id = $1 RETURNING high_seq";
pub const SET_DEVICE_PREFIX: &str = "UPDATE devices SET high_seq = $1 WHERE id = $2";
/// The audit entry of a push that applied something, by the device's account.
pub const AUDIT_PUSH: &str = "INSERT INTO audit (at, actor, device_id, action, target, detail) SELECT $1, user_name, id, 'push', id, $2 FROM devices WHERE id = $3";
pub const UPSERT_INSPECTION: &str = "INSERT INTO inspections (id, device_id, template_id, template_version, payload, hlc) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE inspections.hlc < excluded.hlc";
pub const UPSERT_ITEM_RESULT: &str = "INSERT INTO item_results (inspection_id, item_code, payload, hlc) VALUES ($1, $2, $3, $4) ON CONFLICT (inspection_id, item_code) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE item_results.hlc < excluded.hlc";
pub const UPSERT_FINDING: &str = "INSERT INTO findings (id, device_id, current_unit, dispatch_hlc, created_at, payload, hlc) VALUES ($1, $2, $3, NULL, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE findings.hlc < excluded.hlc";
pub const INSERT_EVENT: &str = "INSERT INTO rectification_events (id, finding_id, hlc, payload, source) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING";
pub const DISPATCH_FINDING: &str = "UPDATE findings SET current_unit = $1, dispatch_hlc = $2 WHERE id = $3 AND (dispatch_hlc IS NULL OR dispatch_hlc < $2)";
pub const INSERT_PHOTO: &str = "INSERT INTO photos (sha256, device_id, signer_key, payload, stored_at) VALUES ($1, $2, $3, $4, NULL) ON CONFLICT (sha256) DO NOTHING";

pub const SELECT_FINDING: &str = "SELECT payload, current_unit FROM findings WHERE id = $1";
pub const FINDING_UNIT: &str = "SELECT current_unit FROM findings WHERE id = $1";
pub const LIST_FINDINGS_ALL: &str =
    "SELECT payload, current_unit FROM findings ORDER BY created_at DESC, id LIMIT $1";
pub const LIST_FINDINGS_UNIT: &str = "SELECT payload, current_unit FROM findings WHERE current_unit = $2 ORDER BY created_at DESC, id LIMIT $1";
pub const LIST_FINDINGS_UNDISPATCHED: &str = "SELECT payload, current_unit FROM findings WHERE dispatch_hlc IS NULL AND created_at >= $2 ORDER BY created_at DESC, id LIMIT $1";
pub const INSERT_TASK_DIVISION: &str = "INSERT INTO task_divisions (version, imported_at, imported_by, source, rules) SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4 FROM task_divisions RETURNING version";
pub const SELECT_TASK_DIVISION: &str = "SELECT version, imported_at, imported_by, source, rules FROM task_divisions ORDER BY version DESC LIMIT 1";
pub const FINDING_EVENTS: &str =
    "SELECT payload FROM rectification_events WHERE finding_id = $1 ORDER BY hlc, id";

pub const SELECT_PHOTO: &str =
    "SELECT payload, signer_key, stored_at FROM photos WHERE sha256 = $1";
pub const PHOTO_STORED_AT: &str = "SELECT stored_at FROM photos WHERE sha256 = $1";
pub const MARK_PHOTO_STORED: &str =
    "UPDATE photos SET stored_at = $1 WHERE sha256 = $2 AND stored_at IS NULL";

pub const EXPORT_INSPECTIONS: &str = "SELECT payload FROM inspections ORDER BY id";
pub const EXPORT_ITEM_RESULTS: &str =
    "SELECT payload FROM item_results ORDER BY inspection_id, item_code";
pub const EXPORT_FINDINGS: &str = "SELECT payload FROM findings ORDER BY id";
pub const EXPORT_PHOTOS: &str = "SELECT payload FROM photos ORDER BY sha256";
pub const EXPORT_EVENTS: &str = "SELECT payload FROM rectification_events ORDER BY id";
pub const EXPORT_CHECK_INS: &str = "SELECT payload FROM check_ins ORDER BY id";

/// The change-log scope of a unit's items.
pub fn unit_scope(unit: Option<&str>) -> String {
    format!("unit:{}", unit.unwrap_or(""))
}

/// The change-log scope of one account's items.
pub fn user_scope(name: &str) -> String {
    format!("user:{name}")
}

/// The change-log entries (item, scope) that storing `new` over the stored payload `old`
/// writes: none when nothing changed; a cancelled copy of the old one for its inspector when
/// the assignment moves to another inspector (else that tablet would keep listing it); then
/// the new one, addressed to its inspector only.
pub fn assignment_changes(
    old: Option<&str>,
    new: &Assignment,
) -> StoreResult<Vec<(ChangeItem, String)>> {
    let mut out = Vec::new();
    if let Some(old) = old {
        let old: Assignment = from_json(old)?;
        if &old == new {
            return Ok(out);
        }
        if old.inspector != new.inspector {
            let scope = user_scope(&old.inspector);
            let withdrawn = Assignment {
                cancelled: true,
                ..old
            };
            out.push((ChangeItem::Assignment(withdrawn), scope));
        }
    }
    out.push((
        ChangeItem::Assignment(new.clone()),
        user_scope(&new.inspector),
    ));
    Ok(out)
}

/// Parses a stored JSON payload.
pub fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> StoreResult<T> {
    Ok(serde_json::from_str(s)?)
}

/// Parses every payload of an export query.
pub fn from_json_all<T: serde::de::DeserializeOwned>(rows: &[String]) -> StoreResult<Vec<T>> {
    rows.iter().map(|r| from_json(r)).collect()
}

/// Serializes a payload for storage.
pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("protocol types serialize")
}

/// Parses a stored role.
pub fn role(s: &str) -> StoreResult<Role> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown role {s:?}")))
}

/// Parses a stored UUID.
pub fn uuid(s: &str) -> StoreResult<uuid::Uuid> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("bad uuid {s:?}")))
}

/// An HLC as stored (fixed-width text, so text order is clock order).
pub fn hlc(h: &Hlc) -> String {
    h.to_string()
}

/// A statement with its arguments.
#[derive(Clone, Debug)]
pub struct Stmt {
    /// Statement text with `$n` placeholders.
    pub sql: &'static str,
    /// Arguments in placeholder order.
    pub args: Vec<Arg>,
}

fn t(s: impl Into<String>) -> Arg {
    Arg::Text(s.into())
}

fn ot(s: Option<impl Into<String>>) -> Arg {
    s.map_or(Arg::Null, |s| Arg::Text(s.into()))
}

/// The writes that apply one outbox entry of `device_id`; every one is idempotent and
/// order-independent (insert once, or replace only with a higher HLC).
pub fn entry_writes(device_id: uuid::Uuid, signer_key: &str, entry: &OutboxEntry) -> Vec<Stmt> {
    let stamp = hlc(&entry.hlc);
    match &entry.record {
        Record::Inspection(r) => vec![Stmt {
            sql: UPSERT_INSPECTION,
            args: vec![
                t(r.id.to_string()),
                t(device_id.to_string()),
                t(r.template_id.clone()),
                Arg::Int(i64::from(r.template_version)),
                t(to_json(r)),
                t(stamp),
            ],
        }],
        Record::ItemResult(r) => vec![Stmt {
            sql: UPSERT_ITEM_RESULT,
            args: vec![
                t(r.inspection_id.to_string()),
                t(r.item_code.clone()),
                t(to_json(r)),
                t(stamp),
            ],
        }],
        Record::Finding(r) => vec![Stmt {
            sql: UPSERT_FINDING,
            args: vec![
                t(r.id.to_string()),
                t(device_id.to_string()),
                ot(r.unit.clone()),
                Arg::Int(r.created_at),
                t(to_json(r)),
                t(stamp),
            ],
        }],
        Record::Photo(r) => vec![Stmt {
            sql: INSERT_PHOTO,
            args: vec![
                t(r.sha256.clone()),
                t(device_id.to_string()),
                t(signer_key),
                t(to_json(r)),
            ],
        }],
        Record::Rectification(r) => event_writes(r, "device"),
        Record::CheckIn(r) => vec![Stmt {
            sql: INSERT_CHECK_IN,
            args: vec![
                t(r.id.to_string()),
                t(r.site_id.to_string()),
                t(r.inspector.clone()),
                t(device_id.to_string()),
                Arg::Int(fieldcheck_domain::china_time::china_day_number(r.at)),
                Arg::Int(r.at),
                t(to_json(r)),
            ],
        }],
    }
}

/// What a pushed record passes on through the change log: findings and rectification steps,
/// so that every tablet and the responsible unit follow the same loop. Returns the item, the
/// finding whose current unit scopes it, and the unit the record names itself (which scopes it
/// only while the finding has no unit: an edit after a dispatch goes to the unit it was
/// dispatched to, not the one the tablet saw on site). Photo records of findings go the same
/// way, so that a re-check shows the before-photo. Inspections, item results, photos of
/// inspections and check-ins stay with the office.
pub fn redistributed(record: &Record) -> Option<(ChangeItem, uuid::Uuid, Option<String>)> {
    match record {
        Record::Finding(f) => Some((ChangeItem::Finding(f.clone()), f.id, f.unit.clone())),
        Record::Rectification(e) => Some((
            ChangeItem::Rectification(e.clone()),
            e.finding_id,
            e.unit.clone(),
        )),
        Record::Photo(p) => p
            .finding_id
            .map(|finding| (ChangeItem::Photo(p.clone()), finding, None)),
        _ => None,
    }
}

/// The writes that append a rectification event (and move the finding on a 派遣).
pub fn event_writes(r: &RectificationEventRecord, source: &str) -> Vec<Stmt> {
    let mut out = vec![Stmt {
        sql: INSERT_EVENT,
        args: vec![
            t(r.id.to_string()),
            t(r.finding_id.to_string()),
            t(hlc(&r.hlc)),
            t(to_json(r)),
            t(source),
        ],
    }];
    if r.action == RectificationAction::Dispatched {
        out.push(Stmt {
            sql: DISPATCH_FINDING,
            args: vec![
                ot(r.unit.clone()),
                t(hlc(&r.hlc)),
                t(r.finding_id.to_string()),
            ],
        });
    }
    out
}
