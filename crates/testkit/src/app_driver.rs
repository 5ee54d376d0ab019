//! The real tablet app (the `fieldcheck-app` binary in WebKitGTK) driven through tauri-driver
//! and WebKitWebDriver under Xvfb, with classic WebDriver (fantoccini). Nothing here skips:
//! a missing tool is an error that names the package or command that installs it.

use crate::process::Guarded;
use anyhow::{Context, Result, bail};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a screen may take to show an element.
pub const WAIT: Duration = Duration::from_secs(60);

/// Path of the `fieldcheck-app` binary beside this build's `fieldcheck-server` (build it with
/// `cargo build -p fieldcheck-app`, after `npm run build` in `ui/`).
pub fn app_binary() -> Result<PathBuf> {
    let bin = crate::server::binary().with_file_name("fieldcheck-app");
    if !bin.exists() {
        bail!(
            "{} is missing: run `npm ci && npm run build` in ui/, then `cargo build -p fieldcheck-app`",
            bin.display()
        );
    }
    Ok(bin)
}

/// Where screenshots go: `<target>/test-artifacts/app/`.
pub fn artifacts_dir() -> PathBuf {
    let bin = crate::server::binary();
    let target = bin
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let dir = target.join("test-artifacts").join("app");
    std::fs::create_dir_all(&dir).expect("create the artifacts directory");
    dir
}

/// Finds a program on PATH or in cargo's bin directory.
fn tool(name: &str, installs_it: &str) -> Result<PathBuf> {
    crate::process::installed(name).with_context(|| {
        format!("`{name}` not found: {installs_it} (scripts/install-deps.sh does it)")
    })
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !ready() {
        if start.elapsed() > timeout {
            bail!("{what} did not come up within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A virtual display with tauri-driver on it; both stopped when dropped, with the
/// WebKitWebDriver and the apps that tauri-driver started.
pub struct Desktop {
    xvfb: Guarded,
    driver: Guarded,
    /// tauri-driver's WebDriver address.
    pub webdriver_url: String,
}

/// Whether X display `n` is free: no lock file, or one left by a server that is gone (a test
/// killed before its Xvfb could clean up), whose lock and socket are then removed so that the
/// wait for the new server's socket cannot see the old one.
fn display_is_free(n: u32) -> bool {
    let lock_path = format!("/tmp/.X{n}-lock");
    let Ok(lock) = std::fs::read_to_string(&lock_path) else {
        return true;
    };
    let stale = lock
        .trim()
        .parse::<u32>()
        .is_ok_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
    stale
        && std::fs::remove_file(&lock_path).is_ok()
        && std::fs::remove_file(format!("/tmp/.X11-unix/X{n}"))
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(e),
            })
            .is_ok()
}

impl Desktop {
    /// Starts Xvfb (1280×800) and tauri-driver; `app_env` is passed on to every app it starts.
    pub fn start(app_env: &[(&str, String)]) -> Result<Desktop> {
        let xvfb_bin = tool("Xvfb", "apt-get install xvfb")?;
        let native = tool("WebKitWebDriver", "apt-get install webkit2gtk-driver")?;
        let tauri_driver = tool("tauri-driver", "cargo install tauri-driver --locked")?;
        let display = (90..200)
            .find(|n| display_is_free(*n))
            .context("no free X display number")?;
        let mut xvfb = Guarded::spawn(
            Command::new(xvfb_bin)
                .args([
                    &format!(":{display}"),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let socket = format!("/tmp/.X11-unix/X{display}");
        if let Err(e) = wait_for("Xvfb", Duration::from_secs(20), || {
            Path::new(&socket).exists()
        }) {
            xvfb.kill();
            return Err(e);
        }
        let (port, native_port) = (crate::process::free_port()?, crate::process::free_port()?);
        let mut cmd = Command::new(tauri_driver);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native_port.to_string(),
        ])
        .arg("--native-driver")
        .arg(native)
        .env("DISPLAY", format!(":{display}"))
        .env_remove("WAYLAND_DISPLAY")
        // Lets WebKitWebDriver control the app's webview.
        .env("TAURI_WEBVIEW_AUTOMATION", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        for (k, v) in app_env {
            cmd.env(k, v);
        }
        let driver = Guarded::spawn(&mut cmd)?;
        let desktop = Desktop {
            xvfb,
            driver,
            webdriver_url: format!("http://127.0.0.1:{port}"),
        };
        wait_for("tauri-driver", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        Ok(desktop)
    }

    /// Starts the app binary in a new WebDriver session and returns its window.
    pub async fn open(&self, app: &Path) -> Result<AppWindow> {
        // Both ring and aws-lc-rs are compiled in; rustls needs to be told which to use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut caps = serde_json::Map::new();
        caps.insert("tauri:options".into(), json!({ "application": app }));
        // tauri-driver listens before the WebKitWebDriver it starts for a session does; on a
        // fresh machine (font caches still cold) the first session can find it not up yet and
        // fail at once. A few tries, then the error.
        let mut tries = 0;
        loop {
            let attempt = ClientBuilder::rustls()
                .context("WebDriver client")?
                .capabilities(caps.clone())
                .connect(&self.webdriver_url)
                .await;
            match attempt {
                Ok(client) => return Ok(AppWindow { client }),
                Err(e) if tries < 4 => {
                    tries += 1;
                    eprintln!("tauri-driver: no session yet ({e}); trying again");
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                Err(e) => return Err(e).context("start the app through tauri-driver"),
            }
        }
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        // The apps first, while their display is still there.
        self.driver.kill();
        self.xvfb.kill();
    }
}

/// The app's window in one WebDriver session.
pub struct AppWindow {
    /// The WebDriver client.
    pub client: Client,
}

impl AppWindow {
    /// The element with `data-testid="id"`, waiting for it.
    pub async fn find(&self, id: &str) -> Result<Element> {
        let css = format!("[data-testid=\"{id}\"]");
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(&css))
            .await
            .with_context(|| format!("no element {css}"))
    }

    /// Clicks the element with this test id, scrolled to the middle of the screen first so
    /// that the sticky headers do not cover it.
    pub async fn click(&self, id: &str) -> Result<()> {
        let element = self.find(id).await?;
        let arg = serde_json::to_value(&element)?;
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center'})", vec![arg])
            .await?;
        if let Err(e) = element.click().await {
            let shot = self.screenshot("failed-click").await;
            bail!("click {id}: {e:?} (screen: {shot:?})");
        }
        Ok(())
    }

    /// Types into the element with this test id.
    pub async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        self.find(id)
            .await?
            .send_keys(text)
            .await
            .with_context(|| format!("type into {id}"))?;
        Ok(())
    }

    /// The text of the element with this test id.
    pub async fn text(&self, id: &str) -> Result<String> {
        Ok(self.find(id).await?.text().await?)
    }

    /// Runs `script` (a function body returning a value) in the page.
    pub async fn js(&self, script: &str) -> Result<Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Waits until `script` (a function body) returns true.
    pub async fn until(&self, what: &str, script: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.js(script).await? == Value::Bool(true) {
                return Ok(());
            }
            if start.elapsed() > WAIT {
                let body = self
                    .js("return document.body.innerText")
                    .await
                    .unwrap_or_default();
                bail!("{what}: not reached within {WAIT:?}; the screen shows:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails unless the running app is built as the bundle ships it: its UI served from the
    /// embedded assets (not a `tauri dev` binary), photos through libjpeg-turbo. Reads the
    /// facts the app reports about its own build (`app_info`'s `build`).
    pub async fn ensure_shipped_build(&self) -> Result<()> {
        let build = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   window.__TAURI_INTERNALS__.invoke("app_info").then(i => done(i.build), e => done({ error: String(e) }));"#,
                vec![],
            )
            .await?;
        if build["dev"] != Value::Bool(false) {
            bail!("the app under test is a dev build, not the one the bundle ships: {build}");
        }
        if build["photo_codec"] != "libjpeg-turbo" {
            bail!("the app under test does not use libjpeg-turbo for photos: {build}");
        }
        Ok(())
    }

    /// Saves a screenshot as `<artifacts>/<name>.png` and returns its path.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let path = artifacts_dir().join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the session: WebKitWebDriver closes the app.
    pub async fn quit(self) -> Result<()> {
        self.client.close().await?;
        Ok(())
    }
}
