//! Reads the commit the workspace is built from: `FIELDCHECK_COMMIT` when the build sets it (a
//! container build without the repository), else `git rev-parse`, else `unknown`. Runs again
//! when the checked-out commit changes, so only this small crate and the binaries that show it
//! are rebuilt.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=FIELDCHECK_COMMIT");
    for git in [
        "../../.git/HEAD",
        "../../.git/refs/heads",
        "../../.git/packed-refs",
    ] {
        println!("cargo:rerun-if-changed={git}");
    }
    let commit = std::env::var("FIELDCHECK_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=10", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=FIELDCHECK_COMMIT={commit}");
}
