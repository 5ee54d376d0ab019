//! The office's side in end-to-end tests: an admin account with a known password, and a 派遣
//! sent through the real office API, as the office's own software would send it.

use anyhow::{Result, bail};
use fieldcheck_core::photo::DeviceKey;
use fieldcheck_core::sync::api::{Timeouts, login};
use fieldcheck_domain::clock::Clock;
use fieldcheck_protocol::{
    LoginRequest, PROTOCOL_VERSION, RectificationAction, RectificationEventRecord,
};
use std::path::Path;
use uuid::Uuid;

/// The office account the tests add.
pub const OFFICE_USER: &str = "office";
/// Its password.
pub const OFFICE_PASSWORD: &str = "banGong-2026!";

/// Adds the office account to the server whose data directory is `data_dir` (before it
/// starts or while it runs).
pub fn add_office_account(data_dir: &Path) -> Result<()> {
    crate::server::admin(
        data_dir,
        &[
            "user",
            "add",
            "--role",
            "admin",
            "--password",
            OFFICE_PASSWORD,
            OFFICE_USER,
        ],
    )?;
    Ok(())
}

/// The office dispatches `finding` to `unit` with `deadline` (`YYYY-MM-DD`) over the office API
/// of the server at `url`, signing in with a device key kept in `key_dir`.
pub async fn dispatch(
    url: &str,
    key_dir: &Path,
    finding: Uuid,
    unit: &str,
    deadline: &str,
) -> Result<()> {
    let device_id = Uuid::now_v7();
    let resp = login(
        url,
        &LoginRequest {
            username: OFFICE_USER.into(),
            password: OFFICE_PASSWORD.into(),
            device_id,
            device_public_key: DeviceKey::load_or_create(key_dir)?.public_key_hex(),
            device_label: "创城办电脑".into(),
            protocol_version: PROTOCOL_VERSION,
        },
        Timeouts::default(),
    )
    .await?;
    let clock = Clock::new(device_id);
    clock.merge(resp.server_hlc)?;
    let event = RectificationEventRecord {
        id: Uuid::now_v7(),
        finding_id: finding,
        action: RectificationAction::Dispatched,
        actor: OFFICE_USER.into(),
        note: String::new(),
        unit: Some(unit.into()),
        deadline: Some(deadline.into()),
        photo_sha256: None,
        hlc: clock.now(),
    };
    let r = reqwest::Client::new()
        .post(format!("{url}/api/v1/findings/{finding}/events"))
        .bearer_auth(&resp.token)
        .json(&event)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("the dispatch was refused: {}", r.text().await?);
    }
    Ok(())
}
