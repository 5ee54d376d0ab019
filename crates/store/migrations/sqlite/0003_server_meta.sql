-- Step 3: facts about this server that outlive restarts, such as the county id that its sites'
-- QR labels carry (made on first use, never changed).
CREATE TABLE IF NOT EXISTS server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
