//! [`DashSql`] on SQLite: the dashboard's queries run on the store's one connection.

use super::SqliteStore;
use crate::dashboard::{Arg, Cell, DashSql, Dialect, Statement};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Arg::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Arg::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Arg::Real(f) => ToSqlOutput::Owned(Value::Real(*f)),
            Arg::Null | Arg::NullInt => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// A value as a [`Cell`].
pub(super) fn cell(v: ValueRef<'_>) -> Cell {
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(f) => Cell::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Cell::Text(String::from_utf8_lossy(t).into()),
    }
}

#[async_trait]
impl DashSql for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn dash_query(&self, sql: &str, args: Vec<Arg>) -> StoreResult<Vec<Vec<Cell>>> {
        let sql = super::q(sql);
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || -> StoreResult<Vec<Vec<Cell>>> {
            let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            let mut stmt = guard.prepare_cached(&sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(
                    (0..n)
                        .map(|i| r.get_ref(i).map(cell))
                        .collect::<Result<_, _>>()?,
                );
            }
            Ok(out)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
    }

    async fn dash_script(&self, script: &str) -> StoreResult<()> {
        let script = script.to_string();
        self.tx(move |tx| Ok(tx.execute_batch(&script)?)).await
    }

    async fn dash_exec(&self, stmts: Vec<Statement>) -> StoreResult<Vec<u64>> {
        self.tx(move |tx| {
            let mut out = Vec::with_capacity(stmts.len());
            for (sql, args) in &stmts {
                let n = tx
                    .prepare_cached(&super::q(sql))?
                    .execute(rusqlite::params_from_iter(args.iter()))?;
                out.push(n as u64);
            }
            Ok(out)
        })
        .await
    }
}
