//! A real `fieldcheck-server` process on 127.0.0.1, and its admin commands.

use crate::process::Guarded;
use anyhow::{Context, Result, bail};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};

/// Password of the test inspectors that [`ServerCommand::prepare`] creates.
pub const INSPECTOR_PASSWORD: &str = "xunCha-2026!";

/// Path of the `fieldcheck-server` binary in the target directory of the running test or
/// benchmark (`target/<profile>/deps/<test>` → `target/<profile>/fieldcheck-server`). `cargo
/// test --workspace` builds it; run `cargo build -p fieldcheck-server` first when testing one
/// crate alone. The server's own tests pass `CARGO_BIN_EXE_fieldcheck-server` instead
/// ([`ServerCommand::with_binary`]).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("fieldcheck-server");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p fieldcheck-server` first",
        bin.display()
    );
    bin
}

/// `fieldcheck-server` on one data directory, with the global flags every command gets.
#[derive(Clone, Debug)]
pub struct ServerCommand {
    bin: PathBuf,
    data_dir: PathBuf,
    global: Vec<OsString>,
    /// The log filter `serve` runs with (`FIELDCHECK_LOG`).
    log: String,
}

impl ServerCommand {
    /// The binary [`binary`] finds, on `data_dir`.
    pub fn new(data_dir: &Path) -> ServerCommand {
        ServerCommand::with_binary(binary(), data_dir)
    }

    /// The binary `bin`, on `data_dir`.
    pub fn with_binary(bin: impl Into<PathBuf>, data_dir: &Path) -> ServerCommand {
        ServerCommand {
            bin: bin.into(),
            data_dir: data_dir.to_path_buf(),
            global: Vec::new(),
            log: "warn".into(),
        }
    }

    /// Adds global flags (before the subcommand), e.g. `["--database-url", url]`.
    pub fn global<S: Into<OsString>>(mut self, flags: impl IntoIterator<Item = S>) -> Self {
        self.global.extend(flags.into_iter().map(Into::into));
        self
    }

    /// Writes `toml` to `<data dir>.config.toml` beside the data directory and passes it with
    /// `--config`.
    pub fn config(self, toml: &str) -> Result<Self> {
        let parent = self.data_dir.parent().context("data dir has a parent")?;
        std::fs::create_dir_all(parent)?;
        let file = self.data_dir.with_extension("config.toml");
        std::fs::write(&file, toml)?;
        Ok(self.global([OsString::from("--config"), file.into_os_string()]))
    }

    /// Sets the log filter `serve` runs with (`FIELDCHECK_LOG`; `warn` unless set), e.g.
    /// `warn,tower_http=debug` to read which requests it was sent.
    pub fn log_filter(mut self, filter: &str) -> Self {
        self.log = filter.into();
        self
    }

    /// The file the server's log is appended to: `<data dir>.server.log`.
    pub fn log_path(&self) -> PathBuf {
        self.data_dir.with_extension("server.log")
    }

    fn log_file(&self) -> Result<std::fs::File> {
        Ok(std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.global)
            .args(args);
        command
    }

    /// Runs a command and returns whatever it did, failed or not.
    pub fn output(&self, args: &[&str]) -> Result<Output> {
        self.command(args)
            .output()
            .with_context(|| format!("running {} {args:?}", self.bin.display()))
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn admin(&self, args: &[&str]) -> Result<String> {
        let out = self.output(args)?;
        if !out.status.success() {
            bail!(
                "fieldcheck-server {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    /// Loads the demo data from the pack in the folder `pack`, without its month of history
    /// (an empty office, which the tests fill), and adds an inspector with
    /// [`INSPECTOR_PASSWORD`] for each name.
    pub fn prepare(&self, pack: &Path, inspectors: &[&str]) -> Result<()> {
        self.admin(&[
            "demo",
            "--empty",
            "--pack",
            pack.to_str().context("utf-8 path")?,
        ])?;
        for name in inspectors {
            self.admin(&[
                "user",
                "add",
                "--role",
                "inspector",
                "--password",
                INSPECTOR_PASSWORD,
                name,
            ])?;
        }
        Ok(())
    }

    /// Loads the full demo from the pack in the folder `pack`, with its month of history
    /// (inspections, findings in every status, photos), as `fieldcheck-server demo` does for the
    /// README's Quick start; returns the accounts it created as (name, role, password), read
    /// from the lines it prints.
    pub fn demo_with_history(&self, pack: &Path) -> Result<Vec<DemoAccount>> {
        let out = self.admin(&["demo", "--pack", pack.to_str().context("utf-8 path")?])?;
        let accounts: Vec<DemoAccount> = out
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                match words.as_slice() {
                    [
                        "账号/account",
                        name,
                        "角色/role",
                        role,
                        "单位/unit",
                        _,
                        "密码/password",
                        password,
                    ] => Some(DemoAccount {
                        name: name.to_string(),
                        role: role.to_string(),
                        password: password.to_string(),
                    }),
                    _ => None,
                }
            })
            .collect();
        if accounts.is_empty() {
            bail!("`demo` printed no accounts:\n{out}");
        }
        Ok(accounts)
    }

    /// Starts `serve` on a free loopback port and waits until it listens. Its log (warnings and
    /// errors) goes to `<data dir>.server.log` beside the data directory, for a failing test to
    /// be read.
    pub fn serve(&self) -> Result<ServerProcess> {
        self.serve_on("127.0.0.1:0")
    }

    /// Starts `serve` on `listen` and waits until it listens.
    pub fn serve_on(&self, listen: &str) -> Result<ServerProcess> {
        let mut child = Guarded::spawn(
            self.command(&["serve", "--listen", listen])
                .env("FIELDCHECK_LOG", &self.log)
                .stdout(Stdio::piped())
                .stderr(self.log_file()?),
        )?;
        let stdout = child.stdout.take().context("stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().context("server exited before listening")??;
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(ServerProcess {
            child,
            url,
            command: self.clone(),
        })
    }
}

/// An account `fieldcheck-server demo` created, with the password it printed.
#[derive(Clone, Debug)]
pub struct DemoAccount {
    /// Account name, e.g. `inspector1`.
    pub name: String,
    /// Role as printed: `admin`, `inspector` or `unit_member`.
    pub role: String,
    /// The password in clear.
    pub password: String,
}

/// Runs a `fieldcheck-server` admin command against `data_dir` and returns its stdout.
pub fn admin(data_dir: &Path, args: &[&str]) -> Result<String> {
    ServerCommand::new(data_dir).admin(args)
}

/// A running server; killed when dropped.
pub struct ServerProcess {
    child: Guarded,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    command: ServerCommand,
}

impl ServerProcess {
    /// Loads the demo data (the shipped pack) into `data_dir` and adds the inspectors.
    pub fn prepare(data_dir: &Path, inspectors: &[&str]) -> Result<()> {
        ServerCommand::new(data_dir).prepare(&crate::content_dir(), inspectors)
    }

    /// Loads the full demo (the shipped pack, a month of history) into `data_dir` and returns
    /// the accounts it printed ([`ServerCommand::demo_with_history`]).
    pub fn prepare_demo_history(data_dir: &Path) -> Result<Vec<DemoAccount>> {
        ServerCommand::new(data_dir).demo_with_history(&crate::content_dir())
    }

    /// [`ServerProcess::prepare`] with the template pack in the folder `pack`.
    pub fn prepare_with_pack(data_dir: &Path, pack: &Path, inspectors: &[&str]) -> Result<()> {
        ServerCommand::new(data_dir).prepare(pack, inspectors)
    }

    /// Starts `serve` on `data_dir` on a free loopback port.
    pub fn start(data_dir: &Path) -> Result<ServerProcess> {
        ServerCommand::new(data_dir).serve()
    }

    /// Starts `serve` on `data_dir` on `listen`.
    pub fn start_on(data_dir: &Path, listen: &str) -> Result<ServerProcess> {
        ServerCommand::new(data_dir).serve_on(listen)
    }

    /// Its data directory.
    pub fn data_dir(&self) -> &Path {
        self.command.data_dir()
    }

    /// The server's process id (for reading `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks the server to stop gracefully (SIGTERM).
    pub fn terminate(&self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) takes plain integers; the child is not reaped yet, so the pid is
            // still its own.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }

    /// How it exited, if it has.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(&mut self) {
        self.child.kill();
    }

    /// Every record the server holds, as `fieldcheck-server export` prints it.
    pub fn export(&self) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(&self.command.admin(&["export"])?)?)
    }
}
