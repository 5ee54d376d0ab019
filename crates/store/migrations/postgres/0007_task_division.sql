-- Step 7: the office's task division (任务分工), who owns a finding by where it was found.
-- Each import is a new version, kept whole as JSON (a county's table is a few hundred to a few
-- thousand rules, read at once); the highest version is in force, the earlier ones stay as the
-- record of who owned what when.
CREATE TABLE IF NOT EXISTS task_divisions (
    version BIGINT PRIMARY KEY,
    imported_at BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    source TEXT NOT NULL,
    rules TEXT NOT NULL
);
