-- The schema as it stood when versioned migrations began (every table IF NOT EXISTS, so a
-- database made before then is taken over as it is).
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    unit TEXT,
    password_hash TEXT NOT NULL,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    high_seq BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key ON login_failures (key, at);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    device_id TEXT,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS site_types (code TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (code TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subcategories (code TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS sites (id TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (id TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS change_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT,
    payload TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS inspections (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_version BIGINT NOT NULL,
    payload TEXT NOT NULL,
    hlc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS item_results (
    inspection_id TEXT NOT NULL,
    item_code TEXT NOT NULL,
    payload TEXT NOT NULL,
    hlc TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_code)
);
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    current_unit TEXT,
    dispatch_hlc TEXT,
    created_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    hlc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS findings_unit ON findings (current_unit, created_at);
CREATE TABLE IF NOT EXISTS rectification_events (
    id TEXT PRIMARY KEY,
    finding_id TEXT NOT NULL,
    hlc TEXT NOT NULL,
    payload TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS rectification_finding ON rectification_events (finding_id, hlc);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    signer_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    stored_at BIGINT
);
-- The audit log is append-only.
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
