-- Step 4: the field's proof and reach. New tables only (no column is added to a table), so the
-- step can run again over a database that has it, as step 1 can.
-- * check_ins: sites' QR labels scanned on site (到场核验), with the China day they vouch for.
-- * account_scopes, account_districts: the districts an inspector pulls (none: the whole
--   county); the version moves on every change so that tablets drop what left their scope.
-- * change_places: where each change-log entry about a finding belongs (district, site,
--   reporter), for scoped pulls.
-- * assignment_sites: each assignment's inspector and site, for scoped pulls.
-- Existing rows are filled in from their payloads (`WHERE 1 = 1` keeps SQLite from reading the
-- upsert's ON as a join constraint), and the photo records of findings are
-- logged once so that tablets receive the before-photos recorded before this step.
CREATE TABLE IF NOT EXISTS check_ins (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    inspector TEXT NOT NULL,
    device_id TEXT NOT NULL,
    china_day BIGINT NOT NULL,
    at BIGINT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS check_ins_visit ON check_ins (site_id, inspector, china_day);
CREATE TABLE IF NOT EXISTS account_scopes (
    user_name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_districts (
    user_name TEXT NOT NULL,
    district TEXT NOT NULL,
    PRIMARY KEY (user_name, district)
);
CREATE TABLE IF NOT EXISTS change_places (
    seq BIGINT PRIMARY KEY,
    district TEXT,
    site_id TEXT,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS assignment_sites (
    id TEXT PRIMARY KEY,
    inspector TEXT NOT NULL,
    site_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assignment_sites_inspector ON assignment_sites (inspector, site_id);
INSERT INTO assignment_sites (id, inspector, site_id)
    SELECT id, json_extract(payload, '$.inspector'), json_extract(payload, '$.site_id')
    FROM assignments WHERE 1 = 1
    ON CONFLICT (id) DO NOTHING;
INSERT INTO change_log (scope, payload, at)
    SELECT 'unit:' || COALESCE(f.current_unit, ''), json_set(p.payload, '$.type', 'photo'),
        COALESCE(p.stored_at, 0)
    FROM photos p JOIN findings f ON f.id = json_extract(p.payload, '$.finding_id')
    WHERE NOT EXISTS (SELECT 1 FROM change_places)
        AND NOT EXISTS (SELECT 1 FROM change_log WHERE json_extract(payload, '$.type') = 'photo')
    ORDER BY p.sha256;
INSERT INTO change_places (seq, district, site_id, owner)
    SELECT c.seq, json_extract(s.payload, '$.district'), json_extract(f.payload, '$.site_id'),
        json_extract(f.payload, '$.reporter')
    FROM change_log c
    JOIN findings f ON f.id = CASE json_extract(c.payload, '$.type')
        WHEN 'finding' THEN json_extract(c.payload, '$.id')
        ELSE json_extract(c.payload, '$.finding_id') END
    LEFT JOIN sites s ON s.id = json_extract(f.payload, '$.site_id')
    WHERE json_extract(c.payload, '$.type') IN ('finding', 'rectification', 'photo')
    ON CONFLICT (seq) DO NOTHING;
