-- Step 4: the field's proof and reach (see the SQLite file of the same step for the why).
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
    SELECT id, payload::json->>'inspector', payload::json->>'site_id'
    FROM assignments
    ON CONFLICT (id) DO NOTHING;
INSERT INTO change_log (scope, payload, at)
    SELECT 'unit:' || COALESCE(f.current_unit, ''),
        (p.payload::jsonb || '{"type": "photo"}'::jsonb)::text,
        COALESCE(p.stored_at, 0)
    FROM photos p JOIN findings f ON f.id = p.payload::json->>'finding_id'
    WHERE NOT EXISTS (SELECT 1 FROM change_places)
        AND NOT EXISTS (SELECT 1 FROM change_log WHERE payload::json->>'type' = 'photo')
    ORDER BY p.sha256;
INSERT INTO change_places (seq, district, site_id, owner)
    SELECT c.seq, s.payload::json->>'district', f.payload::json->>'site_id',
        f.payload::json->>'reporter'
    FROM change_log c
    JOIN findings f ON f.id = CASE c.payload::json->>'type'
        WHEN 'finding' THEN c.payload::json->>'id'
        ELSE c.payload::json->>'finding_id' END
    LEFT JOIN sites s ON s.id = f.payload::json->>'site_id'
    WHERE c.payload::json->>'type' IN ('finding', 'rectification', 'photo')
    ON CONFLICT (seq) DO NOTHING;
