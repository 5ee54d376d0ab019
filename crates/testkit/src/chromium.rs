//! The office dashboard in a real browser: Debian's Chromium driven through chromedriver with
//! classic WebDriver (fantoccini). A missing browser is an error naming the packages.

use crate::process::Guarded;
use fantoccini::{Client, ClientBuilder};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process on a free port; killed when dropped, with its browsers.
pub struct Driver {
    _child: Guarded,
    url: String,
}

impl Driver {
    /// Starts Debian's chromedriver on a free loopback port and waits until it listens.
    pub fn start() -> Driver {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: install Debian's chromium and chromium-driver (bash scripts/install-deps.sh)"
            );
        }
        let port = crate::process::free_port().expect("a free port");
        let child = Guarded::spawn(
            Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                // Chromium takes its locale (date pickers' order among others) from these,
                // not from --lang alone.
                .env("LANGUAGE", "zh_CN:zh")
                .env("LANG", "zh_CN.UTF-8")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start chromedriver");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        crate::process::wait_listening(addr, Duration::from_secs(30), "chromedriver")
            .expect("chromedriver listens");
        Driver {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A headless Chromium session (1400 × 1000, zh-CN) with its profile in `profile`.
    pub async fn browser(&self, profile: &Path) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run",
                    "--window-size=1400,1000", "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        // Both ring and aws-lc-rs are compiled in; rustls needs to be told which to use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        ClientBuilder::rustls()
            .expect("a WebDriver client")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session through chromedriver")
    }
}

/// Makes the page's viewport (not the window) `size`: Chromium's window is taller than its page
/// by its toolbars, so the window grows by what is missing.
pub async fn set_viewport(c: &Client, (width, height): (u32, u32)) {
    c.set_window_size(width, height).await.unwrap();
    let inner = c
        .execute("return [window.innerWidth, window.innerHeight]", vec![])
        .await
        .unwrap();
    let (iw, ih) = (inner[0].as_u64().unwrap(), inner[1].as_u64().unwrap());
    let grow = |want: u32, got: u64| want + (u64::from(want).saturating_sub(got)) as u32;
    c.set_window_size(grow(width, iw), grow(height, ih))
        .await
        .unwrap();
}
