//! The bytes a device signs, and their check: each photo's capture record and each site
//! check-in. The tablet signs with its Ed25519 key, the server checks with the key the device
//! registered at login.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use fieldcheck_protocol::{CheckInRecord, PhotoRecord, Position, PositionSource};
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
/// marked_from=<hex>                              (only for a marked copy)
/// ```
pub fn signed_message(record: &PhotoRecord) -> Vec<u8> {
    let id = |i: Option<Uuid>| i.map_or("none".to_owned(), |i| i.to_string());
    let mut message = format!(
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
        position = position_text(record.position),
    );
    if let Some(original) = &record.marked_from {
        message.push_str(&format!("marked_from={original}\n"));
    }
    message.into_bytes()
}

/// The bytes that are signed for a site check-in, in the same form:
///
/// ```text
/// fieldcheck-checkin-v1
/// id=<uuid>
/// site_id=<uuid>
/// label=<text read from the QR code>
/// inspector=<account name>
/// at=<unix ms>
/// time_source=trusted|device
/// device_clock_offset_ms=<ms>
/// position=<lat>,<lon>,<accuracy m>,gps|manual   (or none)
/// device_id=<uuid>
/// ```
pub fn check_in_message(record: &CheckInRecord) -> Vec<u8> {
    format!(
        "fieldcheck-checkin-v1\nid={}\nsite_id={}\nlabel={}\ninspector={}\nat={}\n\
         time_source={}\ndevice_clock_offset_ms={}\nposition={}\ndevice_id={}\n",
        record.id,
        record.site_id,
        record.label,
        record.inspector,
        record.at,
        record.time_source.as_str(),
        record.device_clock_offset_ms,
        position_text(record.position),
        record.device_id,
    )
    .into_bytes()
}

fn position_text(position: Option<Position>) -> String {
    position.map_or("none".to_owned(), |p: Position| {
        let source = match p.source {
            PositionSource::Gps => "gps",
            PositionSource::Manual => "manual",
        };
        format!("{},{},{},{source}", p.lat, p.lon, p.accuracy_m)
    })
}

/// Checks `record.signature` against the device's public key (32 bytes, as hex from
/// the tablet's device key). Returns `false` for any mismatch or malformed input.
pub fn verify_record(public_key_hex: &str, record: &PhotoRecord) -> bool {
    verify(public_key_hex, &record.signature, &signed_message(record))
}

/// Checks a check-in's signature like [`verify_record`] does a photo's.
pub fn verify_check_in(public_key_hex: &str, record: &CheckInRecord) -> bool {
    verify(public_key_hex, &record.signature, &check_in_message(record))
}

fn verify(public_key_hex: &str, signature_hex: &str, message: &[u8]) -> bool {
    let key = hex::decode(public_key_hex)
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .and_then(|k| VerifyingKey::from_bytes(&k).ok());
    let signature = hex::decode(signature_hex)
        .ok()
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .map(|s| Signature::from_bytes(&s));
    match (key, signature) {
        (Some(key), Some(signature)) => key.verify(message, &signature).is_ok(),
        _ => false,
    }
}
