-- Step 8: telling units (通知责任单位). `unit_webhooks` holds each unit's group-robot webhook
-- (企业微信 or 钉钉), set by the office; `notify_outbox` every message to a unit, written once
-- (its id says what it is about, so a second writer changes nothing) and sent by whichever
-- server process claims it first (`claimed_until`), retried with growing pauses until sent or
-- given up (`attempts`), the last failure kept for the office to see.
CREATE TABLE IF NOT EXISTS unit_webhooks (
    unit TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS notify_outbox (
    id TEXT PRIMARY KEY,
    unit TEXT NOT NULL,
    finding_id TEXT,
    reason TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL DEFAULT 0,
    sent_at BIGINT,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox (sent_at, next_at);
CREATE INDEX IF NOT EXISTS notify_outbox_unit ON notify_outbox (unit, created_at);
