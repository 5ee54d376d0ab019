//! What the benchmarks that write a county through the server's own store share (a module of
//! each such bench, `mod common;`: a folder, so that Cargo does not take it for a bench).

use fieldcheck_protocol::Role;
use fieldcheck_store::{DynStore, NewDevice, UserRow};
use uuid::Uuid;

/// Adds the inspector `reporter` (who cannot sign in) and `tablets` tablets of theirs, labelled
/// `平板0`, `平板1`, …, to push the county's findings from; returns the tablets' ids in order.
pub async fn reporter_with_tablets(store: &DynStore, tablets: usize) -> Vec<Uuid> {
    store
        .create_user(&UserRow {
            name: "reporter".into(),
            role: Role::Inspector,
            unit: None,
            password_hash: "unused".into(),
            disabled: false,
            created_at: 1,
            display_name: String::new(),
        })
        .await
        .unwrap();
    let mut devices = Vec::new();
    for d in 0..tablets {
        let device = Uuid::now_v7();
        store
            .register_device(&NewDevice {
                id: device,
                user_name: "reporter".into(),
                public_key: "00".repeat(32),
                label: format!("平板{d}"),
                token_hash: format!("{:064x}", d + 1),
                token_expires_at: 1,
                at: 1,
            })
            .await
            .unwrap();
        devices.push(device);
    }
    devices
}
