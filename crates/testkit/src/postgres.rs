//! A fresh PostgreSQL database for a test, in the cluster `scripts/start-postgres.sh` started
//! (its URL in `FIELDCHECK_TEST_PG_URL`), made with Debian's `psql`.

use anyhow::{Context, Result, bail};
use std::process::Command;

/// URL of a new, empty database, or `None` when `FIELDCHECK_SKIP_PG=1` says to skip
/// PostgreSQL on purpose. Fails when neither is set.
pub fn fresh_database() -> Result<Option<String>> {
    let base = match std::env::var("FIELDCHECK_TEST_PG_URL") {
        Ok(u) if !u.is_empty() => u,
        _ if std::env::var("FIELDCHECK_SKIP_PG").as_deref() == Ok("1") => return Ok(None),
        _ => bail!(
            "FIELDCHECK_TEST_PG_URL is not set: run `scripts/start-postgres.sh` and export the URL it prints (or set FIELDCHECK_SKIP_PG=1 to skip PostgreSQL on purpose)"
        ),
    };
    let name = format!(
        "fc_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
    );
    let out = Command::new("psql")
        .arg(&base)
        .args(["-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&out.stderr));
    }
    let (prefix, _) = base
        .rsplit_once('/')
        .context("a database URL ends in /name")?;
    Ok(Some(format!("{prefix}/{name}")))
}
