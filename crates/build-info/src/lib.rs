//! The version and commit a Fieldcheck binary is built from (see `build.rs`). A crate of its
//! own so that a new commit rebuilds only it and the binaries that show it.

/// The workspace's version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit, 10 hex digits (`unknown` when built outside a repository without
/// `FIELDCHECK_COMMIT`).
pub const COMMIT: &str = env!("FIELDCHECK_COMMIT");

/// `0.1.0 (3f2a9c1b7e)`: what `--version`, the dashboard's footer and the app's settings show.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FIELDCHECK_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_names_the_version_and_a_commit() {
        let line = super::VERSION_LINE;
        assert!(line.starts_with(super::VERSION), "{line}");
        assert!(
            super::COMMIT == "unknown"
                || (super::COMMIT.len() >= 7
                    && super::COMMIT.bytes().all(|b| b.is_ascii_hexdigit())),
            "{line}"
        );
    }
}
