-- Step 5: people's names and findings' short numbers.
-- * account_names: the person's name (姓名) of an account, shown on photos, in histories and
--   ledgers (none: the account name is shown).
-- * finding_numbers: findings' short numbers (问题编号, `20261201-003`): the China day the server received
-- a finding (`YYYYMMDD`) and its place in that day's arrivals, unique in the county. New tables only (no column
-- is added to a table), so the step can run again over a database that has it. Findings stored before this step are numbered by the China day of their creation, in
-- creation order, and their numbers are logged once (after everything logged so far, so after
-- the findings themselves) so that tablets receive them.
CREATE TABLE IF NOT EXISTS account_names (
    user_name TEXT PRIMARY KEY,
    display_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS finding_numbers (
    finding_id TEXT PRIMARY KEY,
    china_day BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    number TEXT NOT NULL UNIQUE,
    UNIQUE (china_day, seq)
);
INSERT INTO finding_numbers (finding_id, china_day, seq, number)
    SELECT id, day, n,
        day::text || '-' || CASE WHEN n < 1000 THEN lpad(n::text, 3, '0') ELSE n::text END
    FROM (
        SELECT id, day, ROW_NUMBER() OVER (PARTITION BY day ORDER BY created_at, id) AS n
        FROM (SELECT id, created_at,
                to_char(to_timestamp(created_at / 1000 + 28800) AT TIME ZONE 'UTC', 'YYYYMMDD')::bigint AS day
            FROM findings) AS days) AS numbered
    WHERE NOT EXISTS (SELECT 1 FROM finding_numbers)
    ORDER BY day, n;
INSERT INTO change_log (scope, payload, at)
    SELECT 'unit:' || COALESCE(f.current_unit, ''),
        json_build_object('type', 'finding_number', 'finding_id', n.finding_id, 'number', n.number)::text,
        (extract(epoch FROM now()) * 1000)::bigint
    FROM finding_numbers n JOIN findings f ON f.id = n.finding_id
    WHERE NOT EXISTS (SELECT 1 FROM change_log WHERE payload::json->>'type' = 'finding_number')
    ORDER BY n.china_day, n.seq;
INSERT INTO change_places (seq, district, site_id, owner)
    SELECT c.seq, s.payload::json->>'district', f.payload::json->>'site_id',
        f.payload::json->>'reporter'
    FROM change_log c
    JOIN findings f ON f.id = c.payload::json->>'finding_id'
    LEFT JOIN sites s ON s.id = f.payload::json->>'site_id'
    WHERE c.payload::json->>'type' = 'finding_number'
    ON CONFLICT (seq) DO NOTHING;
