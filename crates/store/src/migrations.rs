//! Versioned schema migrations, one `.sql` file per step and per backend
//! (`crates/store/migrations/{sqlite,postgres}/NNNN_name.sql`). A database records the steps it
//! has taken in `schema_migrations`; opening the store takes the missing ones in order, each in
//! the same transaction as its record, so a crash mid-way leaves the database at the step
//! before. A database that has taken a step this binary does not know was made by a newer
//! server: it is refused rather than used.
//!
//! Step 1 is the schema as it stood before versioning, written with `IF NOT EXISTS`, so a
//! county database made by an earlier server is taken over as it is. Step 2 holds the
//! dashboard's own records (browser sessions, office uploads); step 3 the server's lasting facts
//! (its county id); step 4 check-ins and the districts each inspector pulls; step 6 the
//! dashboard's export jobs, so that any replica shows their progress; step 7 the task division; step 8 units' webhooks and the notification outbox; step 9 a finding's photos through `photos` itself
//! (an index on each record's finding, a view naming it and the kind; in place of a read model). The dashboard's read
//! models are not migrated: they are derived data, rebuilt when their layout changes
//! ([`crate::dashboard::migrate`]).

use super::{StoreError, StoreResult};

/// One schema step.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Its number: steps run in ascending order, each once.
    pub version: i64,
    /// What it does, as named in its file.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// The SQLite steps.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "dashboard_records",
        sql: include_str!("../migrations/sqlite/0002_dashboard_records.sql"),
    },
    Migration {
        version: 3,
        name: "server_meta",
        sql: include_str!("../migrations/sqlite/0003_server_meta.sql"),
    },
    Migration {
        version: 4,
        name: "field_scope",
        sql: include_str!("../migrations/sqlite/0004_field_scope.sql"),
    },
    Migration {
        version: 5,
        name: "numbers_and_names",
        sql: include_str!("../migrations/sqlite/0005_numbers_and_names.sql"),
    },
    Migration {
        version: 6,
        name: "export_jobs",
        sql: include_str!("../migrations/sqlite/0006_export_jobs.sql"),
    },
    Migration {
        version: 7,
        name: "task_division",
        sql: include_str!("../migrations/sqlite/0007_task_division.sql"),
    },
    Migration {
        version: 8,
        name: "notifications",
        sql: include_str!("../migrations/sqlite/0008_notifications.sql"),
    },
    Migration {
        version: 9,
        name: "photo_finding",
        sql: include_str!("../migrations/sqlite/0009_photo_finding.sql"),
    },
];

/// The PostgreSQL steps (the same versions as [`SQLITE`], in PostgreSQL's dialect).
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "dashboard_records",
        sql: include_str!("../migrations/postgres/0002_dashboard_records.sql"),
    },
    Migration {
        version: 3,
        name: "server_meta",
        sql: include_str!("../migrations/postgres/0003_server_meta.sql"),
    },
    Migration {
        version: 4,
        name: "field_scope",
        sql: include_str!("../migrations/postgres/0004_field_scope.sql"),
    },
    Migration {
        version: 5,
        name: "numbers_and_names",
        sql: include_str!("../migrations/postgres/0005_numbers_and_names.sql"),
    },
    Migration {
        version: 6,
        name: "export_jobs",
        sql: include_str!("../migrations/postgres/0006_export_jobs.sql"),
    },
    Migration {
        version: 7,
        name: "task_division",
        sql: include_str!("../migrations/postgres/0007_task_division.sql"),
    },
    Migration {
        version: 8,
        name: "notifications",
        sql: include_str!("../migrations/postgres/0008_notifications.sql"),
    },
    Migration {
        version: 9,
        name: "photo_finding",
        sql: include_str!("../migrations/postgres/0009_photo_finding.sql"),
    },
];

/// The table that records the steps taken.
pub const TRACKING_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// The steps still to take, given the highest one the database has taken; refuses a database
/// ahead of this binary.
pub fn pending(steps: &[Migration], applied: Option<i64>) -> StoreResult<&[Migration]> {
    let applied = applied.unwrap_or(0);
    let known = steps.last().map_or(0, |m| m.version);
    if applied > known {
        return Err(StoreError::Backend(format!(
            "数据库的结构版本为 {applied}，高于本程序所知的 {known}：它由更新版本的 fieldcheck-server 建立，请使用新版本 / the database schema is at version {applied}, newer than this server's {known}: run the newer fieldcheck-server"
        )));
    }
    Ok(&steps[steps.partition_point(|m| m.version <= applied)..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_numbered_in_order_alike_on_both_backends() {
        for steps in [SQLITE, POSTGRES] {
            for (i, m) in steps.iter().enumerate() {
                assert_eq!(m.version, i as i64 + 1, "{}", m.name);
            }
        }
        let names = |s: &[Migration]| s.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(SQLITE), names(POSTGRES));
    }

    #[test]
    fn pending_takes_the_missing_steps_and_refuses_a_newer_database() {
        assert_eq!(pending(SQLITE, None).unwrap().len(), SQLITE.len());
        assert!(
            pending(SQLITE, Some(SQLITE.len() as i64))
                .unwrap()
                .is_empty()
        );
        assert!(pending(SQLITE, Some(SQLITE.len() as i64 + 1)).is_err());
    }
}
