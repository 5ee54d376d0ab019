-- Step 9: a finding's photos found through `photos` itself: an index on each photo record's
-- finding (read from its payload, so no writer has to fill a column, an older replica's
-- included) and a view `photo_findings` that names it and the photo's kind. They replace the
-- dashboard's `dash_photos` read model, which is left for a replica still running an older
-- server during the upgrade (nothing writes it once every replica runs this step's server).
CREATE INDEX IF NOT EXISTS photos_finding ON photos (((payload::jsonb)->>'finding_id'));
CREATE OR REPLACE VIEW photo_findings AS
    SELECT sha256, (payload::jsonb)->>'finding_id' AS finding_id,
        (payload::jsonb)->>'kind' AS kind, payload, stored_at
    FROM photos;
