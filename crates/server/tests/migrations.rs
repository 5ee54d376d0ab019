//! Schema migrations: a database made by the server before versioned migrations, full of data,
//! is taken over and upgraded with every row kept, on SQLite and on PostgreSQL; a database a
//! newer server has upgraded is refused, not used.

use crate::common::*;
use fieldcheck_protocol::*;
use fieldcheck_server::store::migrations::{self, Migration};
use fieldcheck_server::store::postgres::PostgresStore;
use fieldcheck_server::store::sqlite::SqliteStore;
use fieldcheck_server::store::{DynStore, PullScope};
use std::sync::Arc;

/// A later step, as the next release might bring: a new column on a table full of rows.
const PROBE_SQLITE: &[Migration] = &[
    migrations::SQLITE[0],
    migrations::SQLITE[1],
    migrations::SQLITE[2],
    migrations::SQLITE[3],
    migrations::SQLITE[4],
    migrations::SQLITE[5],
    migrations::SQLITE[6],
    migrations::SQLITE[7],
    migrations::SQLITE[8],
    Migration {
        version: 10,
        name: "probe",
        sql: "ALTER TABLE findings ADD COLUMN upgrade_probe TEXT;",
    },
];
const PROBE_POSTGRES: &[Migration] = &[
    migrations::POSTGRES[0],
    migrations::POSTGRES[1],
    migrations::POSTGRES[2],
    migrations::POSTGRES[3],
    migrations::POSTGRES[4],
    migrations::POSTGRES[5],
    migrations::POSTGRES[6],
    migrations::POSTGRES[7],
    migrations::POSTGRES[8],
    Migration {
        version: 10,
        name: "probe",
        sql: "ALTER TABLE findings ADD COLUMN upgrade_probe TEXT;",
    },
];

/// Fills a store as a county's server would be: accounts, devices, two tablets' outboxes
/// (inspections, answers, findings, photos, steps), an office step, the audit log.
async fn fill(s: &DynStore) {
    seed(s).await;
    add_user(s, "inspector1", Role::Inspector, None, "pw-1-long-enough").await;
    add_user(s, "inspector2", Role::Inspector, None, "pw-2-long-enough").await;
    for (n, user) in [(1, "inspector1"), (2, "inspector2")] {
        let dev = Device::new(n);
        dev.register(s, user).await;
        let outbox = outbox(&dev, site(1).id, 3);
        s.apply_push(dev.id, &dev.public_hex(), &outbox)
            .await
            .unwrap();
    }
    let finding = s.export().await.unwrap().findings[0].id;
    let dispatch = event(
        finding,
        RectificationAction::Dispatched,
        Some("housing"),
        "admin",
    );
    assert!(s.append_office_event(&dispatch).await.unwrap());
    s.record_login_failure("user:x@10.0.0.1", 5).await.unwrap();
    // The dashboard's own records: a browser session and an office upload.
    fieldcheck_server::store::dashboard::migrate(s.as_ref())
        .await
        .unwrap();
    s.dash_exec(vec![
        (
            "INSERT INTO dash_sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ('t', 'admin', 'c', 1, 2)".into(),
            vec![],
        ),
        (
            "INSERT INTO dash_uploads (sha256, finding_id, uploaded_by, content_type, width, height, at) VALUES ('s', 'f', 'admin', 'image/jpeg', 4, 3, 5)".into(),
            vec![],
        ),
    ])
    .await
    .unwrap();
}

/// Everything a county would miss if the upgrade lost it.
async fn everything(s: &DynStore) -> String {
    let export = s.export().await.unwrap();
    let users = s.list_users().await.unwrap();
    let devices = s.list_devices().await.unwrap();
    let audit = s.recent_audit(1000).await.unwrap();
    let changes = s
        .pull(0, 10_000, &PullScope::Everything, None)
        .await
        .unwrap()
        .changes;
    let dashboard = s
        .dash_query(
            "SELECT s.user_name, u.uploaded_by FROM dash_sessions s, dash_uploads u",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(dashboard.len(), 1, "one session and one upload");
    format!("{export:?}\n{users:?}\n{devices:?}\n{audit:?}\n{changes:?}\n{dashboard:?}")
}

#[tokio::test]
async fn a_database_from_before_versioning_is_upgraded_with_every_row_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("county.sqlite3");
    let before = {
        let s: DynStore = Arc::new(SqliteStore::open(&path).await.unwrap());
        fill(&s).await;
        everything(&s).await
    };
    // What the server before versioned migrations left: the same tables, no record of steps.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("DROP TABLE schema_migrations")
        .unwrap();
    let s: DynStore = Arc::new(SqliteStore::open_with(&path, PROBE_SQLITE).await.unwrap());
    assert_eq!(everything(&s).await, before, "every row is kept");
    drop(s);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let steps: Vec<i64> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let probed: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM findings WHERE upgrade_probe IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(probed, 6, "the new column is on every finding");
    // This binary knows only steps 1 to 9: it refuses the upgraded database instead of using it.
    let refused = SqliteStore::open(&path).await.err().unwrap().to_string();
    assert!(refused.contains("newer"), "{refused}");
}

#[tokio::test]
async fn a_database_from_before_versioning_is_upgraded_with_every_row_on_postgres() {
    let Some(url) = pg_database_url().await else {
        return;
    };
    let before = {
        let s: DynStore = Arc::new(PostgresStore::connect(&url).await.unwrap());
        fill(&s).await;
        everything(&s).await
    };
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
        .await
        .unwrap();
    sqlx::raw_sql("DROP TABLE schema_migrations")
        .execute(&mut conn)
        .await
        .unwrap();
    let s: DynStore = Arc::new(
        PostgresStore::connect_with(&url, PROBE_POSTGRES)
            .await
            .unwrap(),
    );
    assert_eq!(everything(&s).await, before, "every row is kept");
    let steps: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(steps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    let probed: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM findings WHERE upgrade_probe IS NULL")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(probed, 6);
    let refused = PostgresStore::connect(&url)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(refused.contains("newer"), "{refused}");
}
