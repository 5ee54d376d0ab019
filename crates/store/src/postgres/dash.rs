//! [`DashSql`] on PostgreSQL: the dashboard's queries run on the store's pool.

use super::PostgresStore;
use crate::StoreResult;
use crate::dashboard::{Arg, Cell, DashSql, Dialect, Statement};
use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Column, Postgres, Row, TypeInfo};

/// Binds arguments in placeholder order (NULL as a text NULL).
pub(super) fn bind<'q>(
    mut query: sqlx::query::Query<'q, Postgres, PgArguments>,
    args: &'q [Arg],
) -> sqlx::query::Query<'q, Postgres, PgArguments> {
    for a in args {
        query = match a {
            Arg::Text(s) => query.bind(s.as_str()),
            Arg::Int(i) => query.bind(*i),
            Arg::Real(f) => query.bind(*f),
            Arg::Null => query.bind(None::<String>),
            Arg::NullInt => query.bind(None::<i64>),
        };
    }
    query
}

/// A row as [`Cell`]s, by each column's type.
pub(super) fn cells(r: &PgRow) -> StoreResult<Vec<Cell>> {
    let mut out = Vec::with_capacity(r.len());
    for (i, col) in r.columns().iter().enumerate() {
        let c = match col.type_info().name() {
            "INT8" | "INT4" | "INT2" => r
                .try_get::<Option<i64>, _>(i)
                .or_else(|_| r.try_get::<Option<i32>, _>(i).map(|v| v.map(i64::from)))?
                .map_or(Cell::Null, Cell::Int),
            "FLOAT8" | "FLOAT4" => r
                .try_get::<Option<f64>, _>(i)?
                .map_or(Cell::Null, Cell::Real),
            "BOOL" => r
                .try_get::<Option<bool>, _>(i)?
                .map_or(Cell::Null, |b| Cell::Int(i64::from(b))),
            _ => r
                .try_get::<Option<String>, _>(i)?
                .map_or(Cell::Null, Cell::Text),
        };
        out.push(c);
    }
    Ok(out)
}

#[async_trait]
impl DashSql for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn dash_query(&self, sql: &str, args: Vec<Arg>) -> StoreResult<Vec<Vec<Cell>>> {
        let rows = bind(sqlx::query(sql), &args).fetch_all(&self.pool).await?;
        rows.iter().map(cells).collect()
    }

    async fn dash_script(&self, script: &str) -> StoreResult<()> {
        // One simple-protocol query: PostgreSQL runs its statements in one implicit transaction.
        sqlx::raw_sql(script).execute(&self.pool).await?;
        Ok(())
    }

    async fn dash_exec(&self, stmts: Vec<Statement>) -> StoreResult<Vec<u64>> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(stmts.len());
        for (sql, args) in &stmts {
            out.push(
                bind(sqlx::query(sql), args)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
            );
        }
        tx.commit().await?;
        Ok(out)
    }
}
