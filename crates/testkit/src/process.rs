//! Child processes that cannot outlive their test. A test that starts a server, a WebDriver or
//! a display and then fails must not leave it running: [`Guarded`] starts the process in a
//! process group of its own and, when dropped (also while a failing test unwinds), kills the
//! whole group — the process and everything it started, such as the WebKitWebDriver that
//! tauri-driver starts, or the browser that a WebDriver starts — and reaps it.

use anyhow::{Result, bail};
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::{Deref, DerefMut};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The program `name` on `PATH` or in cargo's bin directory.
pub fn installed(name: &str) -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|c| c.join("bin"));
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A loopback port free at the time of asking, for a child process to listen on.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections at `addr`; an error naming `what` after `within`.
pub fn wait_listening(addr: SocketAddr, within: Duration, what: &str) -> Result<()> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline {
            bail!(
                "{what} did not listen on {addr} within {} s",
                within.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A child process, and the process group it leads, killed when dropped.
pub struct Guarded {
    child: Child,
}

impl Guarded {
    /// Spawns `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> io::Result<Guarded> {
        let child = command.process_group(0).spawn()?;
        Ok(Guarded { child })
    }

    /// Kills the process group with SIGKILL and waits for the leader. Safe to call twice.
    pub fn kill(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) takes plain integers; a negative pid names the group this child
            // leads. Once the leader is reaped the group may be gone, and ESRCH is harmless.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Deref for Guarded {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for Guarded {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn alive(pid: i32) -> bool {
        // SAFETY: signal 0 only asks whether the process exists.
        unsafe { libc::kill(pid, 0) == 0 }
    }

    #[test]
    fn dropping_the_guard_kills_the_grandchildren_too() {
        // A shell that starts a sleeping grandchild, prints its pid, and waits.
        let mut guarded = Guarded::spawn(
            Command::new("sh")
                .args(["-c", "sleep 300 & echo $!; wait"])
                .stdout(std::process::Stdio::piped()),
        )
        .unwrap();
        let mut line = String::new();
        io::BufRead::read_line(
            &mut io::BufReader::new(guarded.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        assert!(alive(grandchild));
        drop(guarded);
        // The grandchild is not ours to reap: it is gone once init has reaped it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && !zombie(grandchild) {
            assert!(
                Instant::now() < deadline,
                "the grandchild {grandchild} outlived the guard"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn zombie(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true)
    }
}
