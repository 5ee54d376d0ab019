-- Step 6: the dashboard's export jobs, kept in the database (their files in the photo store)
-- so that any server process behind a load balancer can show a job's progress and hand out its
-- file, whichever process runs it. `heartbeat_at` is renewed while the job runs: a job whose
-- process died stops renewing it and is shown as failed.
CREATE TABLE IF NOT EXISTS dash_export_jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    total BIGINT NOT NULL DEFAULT 0,
    done BIGINT NOT NULL DEFAULT 0,
    finished_at BIGINT,
    failed TEXT
);
