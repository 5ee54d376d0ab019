//! The bytes a device signs for each photo's capture record, and their check: the tablet
//! signs with its Ed25519 key at capture, the server checks with the key the device registered
//! at login.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use fieldcheck_protocol::{PhotoRecord, Position, PositionSource};
use uuid::Uuid;

/// The bytes that are signed for a photo record: its capture facts, one `name=value` per line,
/// after a version line. Floats use Rust's shortest round-trip form; absent values are `none`.
///
/// ```text
/// fieldcheck-photo-v1
/// sha256=<hex>
/// captured_at=<unix ms>
/// time_source=trusted|device
/// device_clock_offset_ms=<ms>
/// position=<lat>,<lon>,<accuracy m>,gps|manual   (or none)
/// device_id=<uuid>
/// kind=before|after|evidence
/// finding_id=<uuid>                              (or none)
/// inspection_id=<uuid>                           (or none)
/// ```
pub fn signed_message(record: &PhotoRecord) -> Vec<u8> {
    let position = record.position.map_or("none".to_owned(), |p: Position| {
        let source = match p.source {
            PositionSource::Gps => "gps",
            PositionSource::Manual => "manual",
        };
        format!("{},{},{},{source}", p.lat, p.lon, p.accuracy_m)
    });
    let id = |i: Option<Uuid>| i.map_or("none".to_owned(), |i| i.to_string());
    format!(
        "fieldcheck-photo-v1\nsha256={}\ncaptured_at={}\ntime_source={}\n\
         device_clock_offset_ms={}\nposition={position}\ndevice_id={}\nkind={}\n\
         finding_id={}\ninspection_id={}\n",
        record.sha256,
        record.captured_at,
        record.time_source.as_str(),
        record.device_clock_offset_ms,
        record.device_id,
        record.kind.as_str(),
        id(record.finding_id),
        id(record.inspection_id),
    )
    .into_bytes()
}

/// Checks `record.signature` against the device's public key (32 bytes, as hex from
/// the tablet's device key). Returns `false` for any mismatch or malformed input.
pub fn verify_record(public_key_hex: &str, record: &PhotoRecord) -> bool {
    let key = hex::decode(public_key_hex)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok());
    let signature = hex::decode(&record.signature)
        .ok()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .map(|s| Signature::from_bytes(&s));
    match (key, signature) {
        (Some(key), Some(signature)) => key.verify(&signed_message(record), &signature).is_ok(),
        _ => false,
    }
}
