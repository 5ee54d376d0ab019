//! The tablet's schema, as migrations applied in order. Never edit a migration that has shipped:
//! add a new one.

use rusqlite_migration::{M, Migrations};

/// The first schema.
const V1: &str = r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE outbox_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL,
    last_hlc TEXT NOT NULL
) STRICT;
INSERT INTO outbox_state (id, last_seq, last_hlc) VALUES (1, 0, '');
CREATE TABLE outbox (seq INTEGER PRIMARY KEY, hlc TEXT NOT NULL, record TEXT NOT NULL) STRICT;

CREATE TABLE site_types (code TEXT PRIMARY KEY, name_zh TEXT NOT NULL, name_en TEXT NOT NULL) STRICT;
CREATE TABLE units (code TEXT PRIMARY KEY, name_zh TEXT NOT NULL, name_en TEXT NOT NULL) STRICT;
CREATE TABLE subcategories (
    code TEXT PRIMARY KEY,
    category TEXT NOT NULL CHECK (category IN ('component', 'event')),
    name_zh TEXT NOT NULL,
    name_en TEXT NOT NULL
) STRICT;
CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    site_type TEXT NOT NULL REFERENCES site_types (code),
    body TEXT NOT NULL
) STRICT;
CREATE INDEX sites_by_type ON sites (site_type, name);
CREATE TABLE templates (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    site_type TEXT NOT NULL REFERENCES site_types (code),
    body TEXT NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

CREATE TABLE inspections (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    template_id TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    body TEXT NOT NULL,
    FOREIGN KEY (template_id, template_version) REFERENCES templates (id, version)
) STRICT;
CREATE INDEX inspections_by_site ON inspections (site_id, started_at);
CREATE INDEX inspections_unfinished ON inspections (started_at) WHERE finished_at IS NULL;

CREATE TABLE item_results (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_code TEXT NOT NULL,
    value_kind TEXT NOT NULL,
    value REAL,
    note TEXT NOT NULL,
    hlc TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
) STRICT, WITHOUT ROWID;

CREATE TABLE findings (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL REFERENCES sites (id),
    -- No foreign key: findings pulled from the server name other tablets' inspections.
    inspection_id TEXT,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX findings_by_inspection ON findings (inspection_id);

CREATE TABLE photos (
    sha256 TEXT PRIMARY KEY,
    finding_id TEXT REFERENCES findings (id),
    inspection_id TEXT REFERENCES inspections (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX photos_by_finding ON photos (finding_id);

CREATE TABLE rectification_events (
    id TEXT PRIMARY KEY,
    finding_id TEXT NOT NULL REFERENCES findings (id),
    hlc TEXT NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX rectification_by_finding ON rectification_events (finding_id, hlc);
CREATE TRIGGER rectification_no_update BEFORE UPDATE ON rectification_events
BEGIN SELECT RAISE(ABORT, 'the rectification log is append-only'); END;
CREATE TRIGGER rectification_no_delete BEFORE DELETE ON rectification_events
BEGIN SELECT RAISE(ABORT, 'the rectification log is append-only'); END;
"#;

/// Second schema: a site's open findings are read on every site page and every inspection, so
/// they get their own index (the first schema scanned all findings of the site).
const V2: &str = r#"
CREATE INDEX findings_open_by_site ON findings (site_id, created_at) WHERE status <> 'closed';
"#;

/// Third schema: sync bookkeeping (login, pull cursor, last outcome) and which photos the
/// server has confirmed.
const V3: &str = r#"
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server_url TEXT,
    token TEXT,
    username TEXT,
    pull_cursor INTEGER NOT NULL DEFAULT 0,
    last_success_ms INTEGER,
    last_error TEXT
) STRICT;
INSERT INTO sync_state (id) VALUES (1);
ALTER TABLE photos ADD COLUMN uploaded INTEGER NOT NULL DEFAULT 0;
CREATE INDEX photos_not_uploaded ON photos (uploaded) WHERE uploaded = 0;
"#;

/// Fourth schema: assignments pulled from the server (who inspects which site on which day),
/// read by inspector and day for the "today's sites" screen.
const V4: &str = r#"
CREATE TABLE assignments (
    id TEXT PRIMARY KEY,
    inspector TEXT NOT NULL,
    -- No foreign key: a pull page must never fail; an assignment is listed once its site is here.
    site_id TEXT NOT NULL,
    date TEXT NOT NULL,
    cancelled INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX assignments_by_day ON assignments (inspector, date) WHERE cancelled = 0;
"#;

/// Fifth schema: the county server's id, learnt at sign-in, that its sites' QR labels carry.
const V5: &str = r#"
ALTER TABLE sync_state ADD COLUMN county_id TEXT;
"#;

/// Sixth schema: 回头看 in the field. Photo records pulled from the server (`remote`: their
/// bytes are not in the photo directory but fetched into the photo cache), the cache's index,
/// check-ins (到场核验), and the pull scope version the tablet's copy was pulled under.
const V6: &str = r#"
ALTER TABLE photos ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;
CREATE TABLE photo_cache (
    sha256 TEXT NOT NULL,
    variant TEXT NOT NULL CHECK (variant IN ('full', 'thumb')),
    bytes INTEGER NOT NULL,
    last_used INTEGER NOT NULL,
    PRIMARY KEY (sha256, variant)
) STRICT;
CREATE INDEX photo_cache_lru ON photo_cache (last_used);
CREATE TABLE check_ins (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX check_ins_by_site ON check_ins (site_id, at);
ALTER TABLE sync_state ADD COLUMN scope_version INTEGER;
"#;

/// Seventh schema: an inspection discarded unfinished (放弃本次检查) keeps its row, marked
/// when; it is no longer offered for resuming and counts nowhere.
const V7: &str = r#"
ALTER TABLE inspections ADD COLUMN discarded_at INTEGER;
DROP INDEX inspections_unfinished;
CREATE INDEX inspections_unfinished ON inspections (started_at)
    WHERE finished_at IS NULL AND discarded_at IS NULL;
"#;

/// Eighth schema: findings' short numbers (问题编号) as the server gave them, and the
/// signed-in person's name (姓名) that photos print.
const V8: &str = r#"
ALTER TABLE findings ADD COLUMN number TEXT;
ALTER TABLE sync_state ADD COLUMN display_name TEXT;
"#;

/// Ninth schema: photos taken for a finding whose form is not saved yet (草稿照片). Kept, with
/// their files, until the finding is saved (then they move to `photos` and are queued after it)
/// or discarded; never queued or uploaded on their own. The form they were taken in (site,
/// inspection, item) finds them again after the app was closed.
const V9: &str = r#"
CREATE TABLE photo_drafts (
    sha256 TEXT PRIMARY KEY,
    finding_id TEXT NOT NULL,
    site_id TEXT NOT NULL,
    inspection_id TEXT,
    item_code TEXT,
    captured_at INTEGER NOT NULL,
    body TEXT NOT NULL
) STRICT;
CREATE INDEX photo_drafts_by_form ON photo_drafts (site_id, inspection_id, item_code);
CREATE INDEX photo_drafts_by_finding ON photo_drafts (finding_id);
"#;

/// Tenth schema: people's names (姓名) behind accounts, as the server sends them, for showing
/// who recorded a finding or took a step.
const V10: &str = r#"
CREATE TABLE people (
    account TEXT PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;
"#;

/// The trigger that keeps rectification events from being deleted, as created by the first
/// schema; [`super::Store::wipe`] drops it for the wipe and creates it again.
pub(super) const RECTIFICATION_NO_DELETE: &str = "CREATE TRIGGER rectification_no_delete BEFORE DELETE ON rectification_events BEGIN SELECT RAISE(ABORT, 'the rectification log is append-only'); END;";

/// Every migration, oldest first.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
    ])
}

/// Only the first migration: for the test that upgrades a database made by the first release.
#[cfg(test)]
pub(crate) fn first_schema_only() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1)])
}
