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
//! - Any other push runs the shared algorithm in a transaction, each phase in one or two
//!   statements: its inspections and item answers by two `UNNEST` upserts
//!   ([`BULK_INSPECTIONS`], [`BULK_ITEM_RESULTS`]); its findings, photo records, steps and
//!   check-ins by one `UNNEST` insert per kind ([`BULK_WRITES`]); what their news needs to know
//!   by one statement ([`CONTEXT`]); the news, its places and the findings' short numbers by
//!   two ([`RESERVE_SEQS`], [`LOG_CHANGES`]).

use crate::dashboard::{Arg, Cell};
use crate::shared::{Bulk, ContextQuery, ContextRows, LookupRows, NewChange, PlainPush};
use crate::sql;
use crate::{RefQuery, StoreError, StoreResult};
use fieldcheck_protocol::OutboxEntry;
use sqlx::{PgConnection, Row};
use std::collections::{HashMap, HashSet};
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

/// One kind of record written in bulk: the statement [`sql::entry_writes`] gives each record
/// of the kind, and the same statement for many rows, its parameters the columns of the
/// single one's, returning the key (the first column) of each row it changed.
struct BulkWrite {
    single: &'static str,
    bulk: &'static str,
    /// Whether a newer record replaces a stored one (compared by the HLC, the last column);
    /// otherwise a record is inserted once and never changed.
    replaces: bool,
}

/// Findings, photo records, steps (not a 派遣, which also moves its finding) and check-ins.
const BULK_WRITES: [BulkWrite; 4] = [
    BulkWrite {
        single: sql::UPSERT_FINDING,
        bulk: "INSERT INTO findings (id, device_id, current_unit, dispatch_hlc, created_at, payload, hlc) \
               SELECT id, device, unit, NULL, created_at, payload, hlc \
               FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) \
                   AS r(id, device, unit, created_at, payload, hlc) \
               ON CONFLICT (id) DO UPDATE SET payload = excluded.payload, hlc = excluded.hlc WHERE findings.hlc < excluded.hlc \
               RETURNING id",
        replaces: true,
    },
    BulkWrite {
        single: sql::INSERT_PHOTO,
        bulk: "INSERT INTO photos (sha256, device_id, signer_key, payload, stored_at) \
               SELECT r.*, NULL::bigint FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS r \
               ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
        replaces: false,
    },
    BulkWrite {
        single: sql::INSERT_EVENT,
        bulk: "INSERT INTO rectification_events (id, finding_id, hlc, payload, source) \
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
               ON CONFLICT (id) DO NOTHING RETURNING id",
        replaces: false,
    },
    BulkWrite {
        single: sql::INSERT_CHECK_IN,
        bulk: "INSERT INTO check_ins (id, site_id, inspector, device_id, china_day, at, payload) \
               SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[]) \
               ON CONFLICT (id) DO NOTHING RETURNING id",
        replaces: false,
    },
];

/// The text of a text argument.
fn text_of(arg: &Arg) -> Option<String> {
    match arg {
        Arg::Text(t) => Some(t.clone()),
        _ => None,
    }
}

/// Writes `entries` with one statement per kind ([`BULK_WRITES`]); for each entry, whether it
/// changed the store. Of several records with one key, only the one the one-by-one writes
/// would leave is sent: the newest (findings) or the first (the rest). `None` when an entry
/// is of another kind.
pub(super) async fn write_in_bulk(
    conn: &mut PgConnection,
    device_id: Uuid,
    signer_key: &str,
    entries: &[&OutboxEntry],
) -> StoreResult<Option<Vec<bool>>> {
    let mut groups: Vec<Vec<(usize, Vec<Arg>)>> = BULK_WRITES.iter().map(|_| Vec::new()).collect();
    for (i, e) in entries.iter().enumerate() {
        let writes = sql::entry_writes(device_id, signer_key, e);
        let [write] = writes.as_slice() else {
            return Ok(None);
        };
        let Some(kind) = BULK_WRITES.iter().position(|k| k.single == write.sql) else {
            return Ok(None);
        };
        groups[kind].push((i, write.args.clone()));
    }
    let mut written = vec![false; entries.len()];
    for (kind, rows) in BULK_WRITES.iter().zip(groups) {
        if rows.is_empty() {
            continue;
        }
        // Each key's row to send, by its place in `rows`.
        let mut kept: HashMap<String, usize> = HashMap::new();
        for (n, (_, args)) in rows.iter().enumerate() {
            let key = text_of(&args[0]).unwrap_or_default();
            let newer = |k: usize| {
                let last = args.len() - 1;
                text_of(&args[last]) > text_of(&rows[k].1[last])
            };
            match kept.get(&key) {
                Some(&k) if !(kind.replaces && newer(k)) => {}
                _ => {
                    kept.insert(key, n);
                }
            }
        }
        let mut sent: Vec<usize> = kept.values().copied().collect();
        sent.sort_unstable();
        let mut query = sqlx::query(kind.bulk);
        for column in 0..rows[0].1.len() {
            let cells = sent.iter().map(|&n| &rows[n].1[column]);
            if matches!(rows[0].1[column], Arg::Int(_) | Arg::NullInt) {
                let ints: Vec<Option<i64>> = cells
                    .map(|a| match a {
                        Arg::Int(i) => Some(*i),
                        _ => None,
                    })
                    .collect();
                query = query.bind(ints);
            } else {
                query = query.bind(cells.map(text_of).collect::<Vec<Option<String>>>());
            }
        }
        let changed: HashSet<String> = query
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        for n in sent {
            let (entry, args) = &rows[n];
            written[*entry] = text_of(&args[0]).is_some_and(|k| changed.contains(&k));
        }
    }
    Ok(Some(written))
}

/// What a push's news needs to know ([`ContextQuery`]), each row tagged by its kind: `$1`
/// finding ids, `$2` site ids, `$3` China days. Rows are (kind, text, text, text, integer,
/// integer): 0 a stored finding (id, payload, current unit); 1 a site (id, payload), named or
/// a stored finding's; 2 a finding with a short number; 3 a day and its next number.
const CONTEXT: &str = "\
    SELECT 0 AS kind, id AS a, payload AS b, current_unit AS c, NULL::bigint AS n, NULL::bigint AS m \
        FROM findings WHERE id = ANY($1::text[]) \
    UNION ALL SELECT 1, id, payload, NULL, NULL, NULL FROM sites WHERE id = ANY($2::text[]) \
        OR id IN (SELECT payload::json->>'site_id' FROM findings WHERE id = ANY($1::text[])) \
    UNION ALL SELECT 2, finding_id, NULL, NULL, NULL, NULL FROM finding_numbers \
        WHERE finding_id = ANY($1::text[]) \
    UNION ALL SELECT 3, NULL, NULL, NULL, d, \
        (SELECT COALESCE(MAX(seq), 0) + 1 FROM finding_numbers WHERE china_day = d) \
        FROM UNNEST($3::bigint[]) AS d";

/// What a push's news needs to know, in one statement ([`CONTEXT`]).
pub(super) async fn context_rows(
    conn: &mut PgConnection,
    q: &ContextQuery,
) -> StoreResult<ContextRows> {
    let days: Vec<i64> = q
        .days
        .iter()
        .copied()
        .collect::<HashSet<i64>>()
        .into_iter()
        .collect();
    let rows = sqlx::query(CONTEXT)
        .bind(&q.findings)
        .bind(&q.sites)
        .bind(days)
        .fetch_all(conn)
        .await?;
    let mut out = ContextRows::default();
    for row in rows {
        let kind: i32 = row.try_get(0)?;
        let a = || -> StoreResult<String> { Ok(row.try_get::<String, _>(1)?) };
        let b = || -> StoreResult<String> { Ok(row.try_get::<String, _>(2)?) };
        match kind {
            0 => out.findings.push((a()?, b()?, row.try_get(3)?)),
            1 => out.sites.push((a()?, b()?)),
            2 => out.numbered.push(a()?),
            3 => out.next_numbers.push((row.try_get(4)?, row.try_get(5)?)),
            _ => return Err(StoreError::Backend(format!("a context row of kind {kind}"))),
        }
    }
    Ok(out)
}

/// Takes `$1` change-log sequence numbers, in order (the caller holds the change-log lock, so
/// they commit in that order).
/// (`change_log_seq_seq` is the sequence `BIGSERIAL` made for `change_log.seq`; named as a
/// constant, it is looked up once per statement, not once per number.)
const RESERVE_SEQS: &str =
    "SELECT nextval('change_log_seq_seq'::regclass) FROM generate_series(1, $1)";

/// Change-log entries (`$1` seq, `$2` scope, `$3` payload, `$4` time), their places (`$5`-`$8`:
/// seq, district, site, owner) and the short numbers they announce (`$9`-`$12`: finding, day,
/// seq, number), in one statement.
const LOG_CHANGES: &str = "WITH logged AS ( \
         INSERT INTO change_log (seq, scope, payload, at) \
         SELECT s, scope, payload, $4 FROM UNNEST($1::bigint[], $2::text[], $3::text[]) AS r(s, scope, payload) \
     ), placed AS ( \
         INSERT INTO change_places (seq, district, site_id, owner) \
         SELECT * FROM UNNEST($5::bigint[], $6::text[], $7::text[], $8::text[]) \
     ), numbered AS ( \
         INSERT INTO finding_numbers (finding_id, china_day, seq, number) \
         SELECT * FROM UNNEST($9::text[], $10::bigint[], $11::bigint[], $12::text[]) \
     ) SELECT 1";

/// Appends `changes` in two statements ([`RESERVE_SEQS`], [`LOG_CHANGES`]).
pub(super) async fn log_changes(conn: &mut PgConnection, changes: &[NewChange]) -> StoreResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut seqs: Vec<i64> = sqlx::query_scalar(RESERVE_SEQS)
        .bind(i64::try_from(changes.len()).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await?;
    seqs.sort_unstable();
    let (mut scopes, mut payloads) = (Vec::new(), Vec::new());
    let (mut place_seqs, mut districts, mut sites, mut owners) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut findings, mut days, mut numbers_seqs, mut numbers) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (c, seq) in changes.iter().zip(&seqs) {
        scopes.push(c.scope.clone());
        payloads.push(sql::to_json(&c.item));
        if let Some(p) = &c.place {
            place_seqs.push(*seq);
            districts.push(p.district.clone());
            sites.push(p.site_id.clone());
            owners.push(p.owner.clone());
        }
        if let Some(n) = &c.number {
            findings.push(n.finding_id.clone());
            days.push(n.day);
            numbers_seqs.push(n.seq);
            numbers.push(n.number.clone());
        }
    }
    sqlx::query(LOG_CHANGES)
        .bind(&seqs)
        .bind(scopes)
        .bind(payloads)
        .bind(fieldcheck_domain::clock::wall_clock_ms())
        .bind(place_seqs)
        .bind(districts)
        .bind(sites)
        .bind(owners)
        .bind(findings)
        .bind(days)
        .bind(numbers_seqs)
        .bind(numbers)
        .execute(conn)
        .await?;
    Ok(())
}
