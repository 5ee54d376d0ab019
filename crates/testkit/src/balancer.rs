//! A load balancer from Debian in front of several server processes: HAProxy on a free
//! loopback port, round-robin, no stickiness, each request balanced on its own (the client's
//! keep-alive connection is not tied to one server).

use crate::process::Guarded;
use anyhow::{Context, Result, bail};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A running HAProxy, killed when dropped.
pub struct Balancer {
    _child: Guarded,
    /// Where clients reach it.
    pub url: String,
}

impl Balancer {
    /// Starts HAProxy in front of `backends` (`http://127.0.0.1:PORT` each), its configuration
    /// written in `dir`.
    pub fn start(dir: &Path, backends: &[String]) -> Result<Balancer> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut config = format!(
            "defaults\n  mode http\n  timeout connect 2s\n  timeout client 120s\n  timeout server 120s\n  \
             option http-server-close\n  option forwardfor\n  retries 2\n  option redispatch\n\
             frontend fieldcheck\n  bind 127.0.0.1:{port}\n  default_backend replicas\n\
             backend replicas\n  balance roundrobin\n"
        );
        for (i, b) in backends.iter().enumerate() {
            let addr = b.trim_start_matches("http://");
            config.push_str(&format!(
                "  server r{i} {addr} check inter 500ms fall 2 rise 2\n"
            ));
        }
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config)?;
        let child = Guarded::spawn(
            Command::new("haproxy")
                .arg("-db")
                .arg("-f")
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .context(
            "starting haproxy (Debian package haproxy; scripts/install-deps.sh installs it)",
        )?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("haproxy did not listen on {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Balancer {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}
