//! A push on PostgreSQL in as few round trips as it can take: each statement is a round trip
//! to another process, against SQLite's in-process calls.
//!
//! - The lookup of what a push refers to is one statement ([`LOOKUP`]).
//! - A plain push (inspections and item answers only, following the device's prefix; see
//!   [`PlainPush`]) is one statement and no explicit transaction: the device's prefix moves
//!   only if it is still the one the push follows, and the records and the audit row are
//!   written only if it moved, all in the statement's one transaction. Nothing in it goes to the
//!   change log, so it takes no change-log lock. If the prefix has moved (a retry, a gap, a
//!   concurrent push of the same device), nothing is written and the push goes the usual way.
//! - Any other push runs the shared algorithm in a transaction; its inspections and item
//!   answers are written by two `UNNEST` upserts ([`BULK_INSPECTIONS`], [`BULK_ITEM_RESULTS`]).

use crate::dashboard::Cell;
use crate::shared::{Bulk, LookupRows, PlainPush};
use crate::{RefQuery, StoreError, StoreResult};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

/// Everything a push's lookup reads, each kind tagged by its first column: `$1` site ids,
/// `$2` inspection ids, `$3`/`$4` template ids and versions, `$5` finding ids, `$6` photo
/// hashes. Every row is (kind, text, text, text, integer), as [`lookup_rows`] reads it; the
/// templates are those named and those of the inspections found.
const LOOKUP: &str = "\
    SELECT 0 AS kind, id AS a, NULL::text AS b, NULL::text AS c, NULL::bigint AS n \
        FROM sites WHERE id = ANY($1::text[]) \
    UNION ALL SELECT 1, id, device_id, template_id, template_version \
        FROM inspections WHERE id = ANY($2::text[]) \
    UNION ALL SELECT 2, id, payload, NULL, version FROM templates WHERE (id, version) IN ( \
        SELECT * FROM UNNEST($3::text[], $4::bigint[]) \
        UNION SELECT template_id, template_version FROM inspections WHERE id = ANY($2::text[])) \
    UNION ALL SELECT 3, id, device_id, NULL, NULL FROM findings WHERE id = ANY($5::text[]) \
    UNION ALL SELECT 4, sha256, device_id, NULL, NULL FROM photos WHERE sha256 = ANY($6::text[]) \
    UNION ALL SELECT 5, code, NULL, NULL, NULL FROM units \
    UNION ALL SELECT 6, code, NULL, NULL, NULL FROM subcategories";

/// What the store holds of the ids `refs` names, and every unit and subcategory code, in one
/// statement ([`LOOKUP`]).
pub(super) async fn lookup_rows(
    conn: &mut PgConnection,
    refs: &RefQuery,
) -> StoreResult<LookupRows> {
    let ids = |set: &std::collections::HashSet<Uuid>| -> Vec<String> {
        set.iter().map(Uuid::to_string).collect()
    };
    let (template_ids, template_versions): (Vec<String>, Vec<i64>) = refs
        .templates
        .iter()
        .map(|(id, version)| (id.clone(), i64::from(*version)))
        .unzip();
    let rows = sqlx::query(LOOKUP)
        .bind(ids(&refs.sites))
        .bind(ids(&refs.inspections))
        .bind(template_ids)
        .bind(template_versions)
        .bind(ids(&refs.findings))
        .bind(refs.photos.iter().cloned().collect::<Vec<String>>())
        .fetch_all(conn)
        .await?;
    let mut out = LookupRows::default();
    for row in rows {
        let kind: i32 = row.try_get(0)?;
        let a: String = row.try_get(1)?;
        let b = || -> StoreResult<String> { Ok(row.try_get::<String, _>(2)?) };
        let n = || -> StoreResult<i64> { Ok(row.try_get::<i64, _>(4)?) };
        match kind {
            0 => out.sites.push(vec![Cell::Text(a)]),
            1 => out.inspections.push(vec![
                Cell::Text(a),
                Cell::Text(b()?),
                Cell::Text(row.try_get(3)?),
                Cell::Int(n()?),
            ]),
            2 => out
                .templates
                .push((a, u32::try_from(n()?).unwrap_or(0), b()?)),
            3 => out.findings.push(vec![Cell::Text(a), Cell::Text(b()?)]),
            4 => out.photos.push(vec![Cell::Text(a), Cell::Text(b()?)]),
            5 => out.units.push(a),
            6 => out.subcategories.push(a),
            _ => return Err(StoreError::Backend(format!("a lookup row of kind {kind}"))),
        }
    }
    Ok(out)
}

/// [`crate::sql::UPSERT_INSPECTION`] for many rows at once.
const BULK_INSPECTIONS: &str = "INSERT INTO inspections (id, device_id, template_id, template_version, payload, hlc) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) \
     ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE inspections.hlc < excluded.hlc";

/// [`crate::sql::UPSERT_ITEM_RESULT`] for many rows at once.
const BULK_ITEM_RESULTS: &str = "INSERT INTO item_results (inspection_id, item_code, payload, hlc) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) \
     ON CONFLICT (inspection_id, item_code) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE item_results.hlc < excluded.hlc";

/// A plain push in one statement. `$1` device, `$2` the prefix it follows, `$3` its last seq;
/// `$4`-`$9` the inspections' columns and `$10`-`$13` the answers' (as in the two statements
/// above); `$14` and `$15` the audit row's time and detail. Every write reads `device`, the
/// row the prefix move changed, so none happens when the prefix was not `$2`: the row lock
/// that move takes (and its re-check after waiting for a concurrent push of the same device)
/// is the one [`crate::sql::LOCK_DEVICE_PREFIX`] takes on the usual path. Answers how many
/// device rows moved: 1, or 0 when nothing was written.
const PLAIN_PUSH: &str = "WITH device AS ( \
         UPDATE devices SET high_seq = $3 WHERE id = $1 AND high_seq = $2 RETURNING id, user_name \
     ), inspections_written AS ( \
         INSERT INTO inspections (id, device_id, template_id, template_version, payload, hlc) \
         SELECT r.* FROM device, UNNEST($4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[]) AS r \
         ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE inspections.hlc < excluded.hlc \
     ), answers_written AS ( \
         INSERT INTO item_results (inspection_id, item_code, payload, hlc) \
         SELECT r.* FROM device, UNNEST($10::text[], $11::text[], $12::text[], $13::text[]) AS r \
         ON CONFLICT (inspection_id, item_code) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE item_results.hlc < excluded.hlc \
     ), audited AS ( \
         INSERT INTO audit (at, actor, device_id, action, target, detail) \
         SELECT $14, user_name, id, 'push', id, $15 FROM device \
     ) \
     SELECT COUNT(*) FROM device";

/// Writes `push` of `device_id` in one statement (see [`PLAIN_PUSH`]), outside any explicit
/// transaction; `false` when the device's prefix was not the one it follows and nothing was
/// written.
pub(super) async fn apply_plain(
    conn: &mut PgConnection,
    device_id: Uuid,
    push: &PlainPush,
) -> StoreResult<bool> {
    let (i, r) = (&push.bulk.inspections, &push.bulk.items);
    let moved: i64 = sqlx::query_scalar(PLAIN_PUSH)
        .bind(device_id.to_string())
        .bind(push.prefix)
        .bind(push.high)
        .bind(&i.ids)
        .bind(&i.devices)
        .bind(&i.templates)
        .bind(&i.versions)
        .bind(&i.payloads)
        .bind(&i.hlcs)
        .bind(&r.inspections)
        .bind(&r.codes)
        .bind(&r.payloads)
        .bind(&r.hlcs)
        .bind(fieldcheck_domain::clock::wall_clock_ms())
        .bind(&push.detail)
        .fetch_one(conn)
        .await?;
    Ok(moved == 1)
}

/// Writes a push's inspections and item answers in two statements (one per table), with the
/// same conflict rule as the one-by-one upserts.
pub(super) async fn upsert_in_bulk(conn: &mut PgConnection, bulk: &Bulk) -> StoreResult<()> {
    let i = &bulk.inspections;
    if !i.ids.is_empty() {
        sqlx::query(BULK_INSPECTIONS)
            .bind(&i.ids)
            .bind(&i.devices)
            .bind(&i.templates)
            .bind(&i.versions)
            .bind(&i.payloads)
            .bind(&i.hlcs)
            .execute(&mut *conn)
            .await?;
    }
    let r = &bulk.items;
    if !r.inspections.is_empty() {
        sqlx::query(BULK_ITEM_RESULTS)
            .bind(&r.inspections)
            .bind(&r.codes)
            .bind(&r.payloads)
            .bind(&r.hlcs)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
