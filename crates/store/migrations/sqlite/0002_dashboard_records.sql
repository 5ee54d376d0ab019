-- Step 2: the dashboard's own records, which are not derived from what tablets push and so
-- cannot be rebuilt: browser sessions and the after-photos the office uploads. Servers before
-- this step made both tables when the dashboard started; `IF NOT EXISTS` takes them over with
-- their rows. (The dashboard's read models stay outside the steps: they are derived and
-- rebuilt when their layout changes.)
CREATE TABLE IF NOT EXISTS dash_sessions (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS dash_uploads (
    sha256 TEXT PRIMARY KEY,
    finding_id TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    at BIGINT NOT NULL
);
