-- Step 9: a finding's photos found through `photos` itself: an index on each photo record's
-- finding (read from its payload, so no writer has to fill a column, an older one included)
-- and a view `photo_findings` that names it and the photo's kind. They replace the
-- dashboard's `dash_photos` read model, which at 17:00 cost the writer a second table and two
-- more indexes (one on a random SHA-256) for every photo record.
CREATE INDEX IF NOT EXISTS photos_finding ON photos (json_extract(payload, '$.finding_id'));
CREATE VIEW IF NOT EXISTS photo_findings AS
    SELECT sha256, json_extract(payload, '$.finding_id') AS finding_id,
        json_extract(payload, '$.kind') AS kind, payload, stored_at
    FROM photos;
DROP TRIGGER IF EXISTS dash_photos_ins;
DROP TRIGGER IF EXISTS dash_photos_upd;
DROP TABLE IF EXISTS dash_photos;
