//! Storage for the office dashboard, kept apart from the sync path: a small SQL runner
//! ([`DashSql`]) that both backends implement, and the dashboard's read models (of the ledger
//! and of item results) created by [`migrate`]. The dashboard's own records (browser sessions,
//! uploads) are not derived: they are in the versioned schema steps ([`crate::migrations`]).
//!
//! The read models are refreshed from the tables tablets write, without touching the push
//! code: triggers on `findings`, `rectification_events`, `sites`, `inspections` and
//! `item_results`, and on `photos` when a photo's bytes are stored (a record arrives with
//! none, and the ledger shows only stored photos), mark rows dirty (a generation counter per
//! key), and the dashboard recomputes dirty rows before it reads (the server's
//! `dashboard::projection`). A row is cleared only if its generation did not move meanwhile,
//! so a write that lands during a refresh is never lost. A finding's photos are read from
//! `photos` itself, through the view `photo_findings` and an index on each record's finding
//! (schema step 9).

use super::StoreResult;
use async_trait::async_trait;

/// A bound argument of a dashboard statement.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// Text.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// NULL (of a text column).
    Null,
    /// NULL of an integer column (PostgreSQL types its parameters).
    NullInt,
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_string())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(i: i64) -> Self {
        Arg::Int(i)
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        s.map_or(Arg::Null, Arg::Text)
    }
}

/// One value of a result row (integers, floats and text; NULL as [`Cell::Null`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text.
    Text(String),
}

impl Cell {
    /// The text, or "" for anything else.
    pub fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }

    /// The text, or `None` for NULL.
    pub fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// The integer (floats truncated), 0 for NULL or text.
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(i) => *i,
            Cell::Real(f) => *f as i64,
            _ => 0,
        }
    }

    /// The number as a float, 0 for NULL or text.
    pub fn real(&self) -> f64 {
        match self {
            Cell::Int(i) => *i as f64,
            Cell::Real(f) => *f,
            _ => 0.0,
        }
    }
}

/// A statement with `$n` placeholders and its arguments.
pub type Statement = (String, Vec<Arg>);

/// Which SQL dialect a backend speaks (for the few statements that differ: triggers, JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The dashboard's access to a backend: run a query, or run statements in one transaction.
/// Statements use `$n` placeholders; integer results must be cast to BIGINT and float results
/// to DOUBLE PRECISION in SQL, so both backends return the same [`Cell`]s.
#[async_trait]
pub trait DashSql: Send + Sync {
    /// The backend's dialect.
    fn dialect(&self) -> Dialect;
    /// Rows of one query.
    async fn dash_query(&self, sql: &str, args: Vec<Arg>) -> StoreResult<Vec<Vec<Cell>>>;
    /// Runs a script of statements without arguments, separated by `;`, atomically.
    async fn dash_script(&self, script: &str) -> StoreResult<()>;
    /// Runs statements in one transaction; returns the rows each changed.
    async fn dash_exec(&self, stmts: Vec<Statement>) -> StoreResult<Vec<u64>>;
}

/// Dashboard tables common to both backends.
const TABLES: &str = r#"
CREATE TABLE IF NOT EXISTS dash_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dash_dirty_findings (finding_id TEXT PRIMARY KEY, gen BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS dash_dirty_inspections (inspection_id TEXT PRIMARY KEY, gen BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS dash_ledger (
    finding_id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    site_id TEXT NOT NULL,
    site_name TEXT NOT NULL,
    site_type TEXT NOT NULL,
    district TEXT NOT NULL,
    street TEXT NOT NULL,
    category TEXT NOT NULL,
    subcategory TEXT NOT NULL,
    item_code TEXT,
    description TEXT NOT NULL,
    severity TEXT NOT NULL,
    unit TEXT,
    status TEXT NOT NULL,
    deadline TEXT,
    due_open BIGINT NOT NULL,
    same_day BIGINT NOT NULL,
    reporter TEXT NOT NULL,
    device_id TEXT NOT NULL,
    thumb TEXT,
    after_photo TEXT,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    finished_on_time BIGINT,
    located BIGINT NOT NULL DEFAULT 0,
    lat DOUBLE PRECISION NOT NULL DEFAULT 0,
    lon DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dash_ledger_created_id ON dash_ledger (created_at, finding_id);
CREATE INDEX IF NOT EXISTS dash_ledger_created_reporter ON dash_ledger (created_at, reporter);
CREATE INDEX IF NOT EXISTS dash_ledger_unit ON dash_ledger (unit, created_at);
CREATE INDEX IF NOT EXISTS dash_ledger_status ON dash_ledger (status, created_at);
CREATE INDEX IF NOT EXISTS dash_ledger_site ON dash_ledger (site_id, created_at);
CREATE INDEX IF NOT EXISTS dash_ledger_due ON dash_ledger (due_open, deadline);
CREATE INDEX IF NOT EXISTS dash_ledger_street ON dash_ledger (district, street, created_at);
CREATE INDEX IF NOT EXISTS dash_ledger_finished ON dash_ledger (finished_at);
CREATE INDEX IF NOT EXISTS dash_ledger_overview ON dash_ledger (street, unit, status, due_open, deadline);
CREATE INDEX IF NOT EXISTS dash_ledger_item ON dash_ledger (status, item_code);
CREATE TABLE IF NOT EXISTS dash_results (
    inspection_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    template_id TEXT NOT NULL,
    index_code TEXT NOT NULL,
    day TEXT NOT NULL,
    compliant BIGINT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
);
CREATE INDEX IF NOT EXISTS dash_results_day ON dash_results (day);
CREATE TABLE IF NOT EXISTS dash_inspection_scores (
    inspection_id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    site_id TEXT NOT NULL,
    site_type TEXT NOT NULL,
    week TEXT NOT NULL,
    inspector TEXT NOT NULL,
    applicable BIGINT NOT NULL,
    compliant BIGINT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    lost_weight DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS dash_inspection_scores_day ON dash_inspection_scores (day);
CREATE INDEX IF NOT EXISTS dash_inspection_scores_site ON dash_inspection_scores (site_id);
CREATE TABLE IF NOT EXISTS dash_daily_scores (
    dimension TEXT NOT NULL,
    day TEXT NOT NULL,
    group_key TEXT NOT NULL,
    applicable BIGINT NOT NULL,
    compliant BIGINT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    lost_weight DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (dimension, day, group_key)
);
CREATE INDEX IF NOT EXISTS dash_ledger_reporter_created ON dash_ledger (reporter, created_at);
"#;

/// What marks rows dirty, in SQLite.
const SQLITE_TRIGGERS: &str = r#"
CREATE TRIGGER IF NOT EXISTS dash_findings_ins AFTER INSERT ON findings BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen) VALUES (NEW.id, 1)
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_findings_upd AFTER UPDATE ON findings BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen) VALUES (NEW.id, 1)
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_events_ins AFTER INSERT ON rectification_events BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen) VALUES (NEW.finding_id, 1)
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_photos_upd AFTER UPDATE ON photos
  WHEN json_extract(NEW.payload, '$.finding_id') IS NOT NULL BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen)
  VALUES (json_extract(NEW.payload, '$.finding_id'), 1)
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_sites_upd AFTER UPDATE ON sites BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen)
  SELECT finding_id, 1 FROM dash_ledger WHERE site_id = NEW.id
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1;
  INSERT INTO dash_dirty_inspections (inspection_id, gen)
  SELECT inspection_id, 1 FROM dash_inspection_scores WHERE site_id = NEW.id
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_inspections_ins AFTER INSERT ON inspections BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen) VALUES (NEW.id, 1)
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_inspections_upd AFTER UPDATE ON inspections BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen) VALUES (NEW.id, 1)
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_results_ins AFTER INSERT ON item_results BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen) VALUES (NEW.inspection_id, 1)
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1; END;
CREATE TRIGGER IF NOT EXISTS dash_results_upd AFTER UPDATE ON item_results BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen) VALUES (NEW.inspection_id, 1)
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1; END;
"#;

/// What marks rows dirty, in PostgreSQL (one function per source table). Every table a push
/// writes marks once per statement, each finding or inspection once, from the statement's
/// transition table: a push writes hundreds of rows per statement, and a row trigger per row
/// cost more than the writes themselves (240 photo records: 17-37 ms with row triggers).
/// Sites keep a row trigger (the office changes one at a time). (`dash_on_inspection`,
/// `dash_on_result`, `dash_on_finding`, `dash_on_event` and `dash_on_photo`, the row triggers'
/// functions before, stay defined for a replica still running an older server.)
const PG_TRIGGERS: &str = r#"
CREATE OR REPLACE FUNCTION dash_mark_finding(fid TEXT) RETURNS void LANGUAGE sql AS
$fn$ INSERT INTO dash_dirty_findings (finding_id, gen) VALUES (fid, 1)
     ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1 $fn$;
CREATE OR REPLACE FUNCTION dash_mark_inspection(iid TEXT) RETURNS void LANGUAGE sql AS
$fn$ INSERT INTO dash_dirty_inspections (inspection_id, gen) VALUES (iid, 1)
     ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1 $fn$;
CREATE OR REPLACE FUNCTION dash_on_finding() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN PERFORM dash_mark_finding(NEW.id); RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_event() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN PERFORM dash_mark_finding(NEW.finding_id); RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_photo() RETURNS trigger LANGUAGE plpgsql AS
$fn$ DECLARE fid TEXT := (NEW.payload::jsonb)->>'finding_id'; BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO dash_photos (sha256, finding_id, kind)
    VALUES (NEW.sha256, fid, (NEW.payload::jsonb)->>'kind') ON CONFLICT (sha256) DO NOTHING;
  END IF;
  IF fid IS NOT NULL THEN PERFORM dash_mark_finding(fid); END IF;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_site() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  PERFORM dash_mark_finding(finding_id) FROM dash_ledger WHERE site_id = NEW.id;
  PERFORM dash_mark_inspection(inspection_id) FROM dash_inspection_scores WHERE site_id = NEW.id;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_inspection() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN PERFORM dash_mark_inspection(NEW.id); RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_result() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN PERFORM dash_mark_inspection(NEW.inspection_id); RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_inspections() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen) SELECT DISTINCT id, 1 FROM written
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_results() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  INSERT INTO dash_dirty_inspections (inspection_id, gen)
    SELECT DISTINCT inspection_id, 1 FROM written
  ON CONFLICT (inspection_id) DO UPDATE SET gen = dash_dirty_inspections.gen + 1;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_findings() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen) SELECT DISTINCT id, 1 FROM written
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_events() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen) SELECT DISTINCT finding_id, 1 FROM written
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1;
  RETURN NULL; END $fn$;
CREATE OR REPLACE FUNCTION dash_on_photos() RETURNS trigger LANGUAGE plpgsql AS
$fn$ BEGIN
  INSERT INTO dash_dirty_findings (finding_id, gen)
    SELECT DISTINCT (payload::jsonb)->>'finding_id', 1 FROM written
    WHERE (payload::jsonb)->>'finding_id' IS NOT NULL
  ON CONFLICT (finding_id) DO UPDATE SET gen = dash_dirty_findings.gen + 1;
  RETURN NULL; END $fn$;
DROP TRIGGER IF EXISTS dash_findings ON findings;
CREATE OR REPLACE TRIGGER dash_findings_ins AFTER INSERT ON findings
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_findings();
CREATE OR REPLACE TRIGGER dash_findings_upd AFTER UPDATE ON findings
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_findings();
DROP TRIGGER IF EXISTS dash_events ON rectification_events;
CREATE OR REPLACE TRIGGER dash_events_ins AFTER INSERT ON rectification_events
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_events();
DROP TRIGGER IF EXISTS dash_photos ON photos;
DROP TRIGGER IF EXISTS dash_photos_ins ON photos;
CREATE OR REPLACE TRIGGER dash_photos_upd AFTER UPDATE ON photos
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_photos();
CREATE OR REPLACE TRIGGER dash_sites AFTER UPDATE ON sites
  FOR EACH ROW EXECUTE FUNCTION dash_on_site();
DROP TRIGGER IF EXISTS dash_inspections ON inspections;
CREATE OR REPLACE TRIGGER dash_inspections_ins AFTER INSERT ON inspections
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_inspections();
CREATE OR REPLACE TRIGGER dash_inspections_upd AFTER UPDATE ON inspections
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_inspections();
DROP TRIGGER IF EXISTS dash_results ON item_results;
CREATE OR REPLACE TRIGGER dash_results_ins AFTER INSERT ON item_results
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_results();
CREATE OR REPLACE TRIGGER dash_results_upd AFTER UPDATE ON item_results
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION dash_on_results();
"#;

/// Marks everything written before the triggers existed, once (a database that had data
/// before the dashboard was added).
const BACKFILL: &str = r#"
INSERT INTO dash_dirty_findings (finding_id, gen)
  SELECT id, 1 FROM findings WHERE NOT EXISTS (SELECT 1 FROM dash_meta WHERE key = 'backfilled')
  ON CONFLICT (finding_id) DO NOTHING;
INSERT INTO dash_dirty_inspections (inspection_id, gen)
  SELECT id, 1 FROM inspections WHERE NOT EXISTS (SELECT 1 FROM dash_meta WHERE key = 'backfilled')
  ON CONFLICT (inspection_id) DO NOTHING;
INSERT INTO dash_meta (key, value) VALUES ('backfilled', '1') ON CONFLICT (key) DO NOTHING;
"#;

/// The layout of the read models. A database whose read models were built with another
/// layout has them dropped and rebuilt from the tables tablets write (they hold nothing else).
/// Layout 3: the scores count finished inspections only (layout 2 counted unfinished ones).
/// Layout 4: each ledger row keeps when its owed work was done and whether by its deadline
/// (the overview's trend and on-time rate read them instead of replaying logs).
/// Layout 5: each ledger row keeps the finding's own position (`located`, `lat`, `lon`; 0 and
/// zeros when it has none), which the dashboard's map draws (defaults, so that a replica still
/// writing layout 4's rows during an upgrade writes rows without a position, not errors).
const READ_MODELS: &str = "5";

/// What an older layout left behind, per dialect.
fn drop_old_read_models(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "DROP TABLE IF EXISTS dash_ledger; DROP TABLE IF EXISTS dash_results; DROP TABLE IF EXISTS dash_inspection_scores; DROP TABLE IF EXISTS dash_daily_scores; DROP INDEX IF EXISTS dash_ledger_reporter; DROP INDEX IF EXISTS dash_ledger_created; DROP TRIGGER IF EXISTS dash_sites_upd;"
        }
        Dialect::Postgres => {
            "DROP TABLE IF EXISTS dash_ledger; DROP TABLE IF EXISTS dash_results; DROP TABLE IF EXISTS dash_inspection_scores; DROP TABLE IF EXISTS dash_daily_scores; DROP INDEX IF EXISTS dash_ledger_reporter; DROP INDEX IF EXISTS dash_ledger_created;"
        }
    }
}

/// Marks every finding and inspection for recomputing and records the layout
/// ([`READ_MODELS`]). (The `WHERE` keeps SQLite from reading `ON` as a join constraint.)
const REBUILD_RESULTS: &str = r#"
INSERT INTO dash_dirty_findings (finding_id, gen) SELECT id, 1 FROM findings WHERE 1 = 1
  ON CONFLICT (finding_id) DO NOTHING;
INSERT INTO dash_dirty_inspections (inspection_id, gen) SELECT id, 1 FROM inspections WHERE 1 = 1
  ON CONFLICT (inspection_id) DO NOTHING;
INSERT INTO dash_meta (key, value) VALUES ('read_models', '5')
  ON CONFLICT (key) DO UPDATE SET value = excluded.value;
"#;

/// Creates the dashboard's tables and triggers (idempotent; one transaction, under an
/// advisory lock on PostgreSQL so replicas starting together do not race).
pub async fn migrate(sql: &dyn DashSql) -> StoreResult<()> {
    let dialect = sql.dialect();
    sql.dash_script(
        "CREATE TABLE IF NOT EXISTS dash_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    )
    .await?;
    let layout = sql
        .dash_query(
            "SELECT value FROM dash_meta WHERE key = 'read_models'",
            Vec::new(),
        )
        .await?;
    let current = layout.first().is_some_and(|r| r[0].text() == READ_MODELS);
    let mut script = String::new();
    if dialect == Dialect::Postgres {
        script.push_str("SELECT pg_advisory_xact_lock(4604488531);");
    }
    if !current {
        script.push_str(drop_old_read_models(dialect));
    }
    script.push_str(TABLES);
    script.push_str(match dialect {
        Dialect::Sqlite => SQLITE_TRIGGERS,
        Dialect::Postgres => PG_TRIGGERS,
    });
    script.push_str(BACKFILL);
    if !current {
        script.push_str(REBUILD_RESULTS);
    }
    sql.dash_script(&script).await
}
