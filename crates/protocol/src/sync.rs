//! The sync API's requests and responses: login, push, pull, photos and the error body.
//!
//! Paths (all under `/api/v1`): `POST /login`, `POST /logout`, `POST /sync/push`,
//! `POST /sync/pull`, `POST /photos/missing`, `GET /photos/{sha256}/offset`,
//! `PATCH /photos/{sha256}` (body = bytes from [`UPLOAD_OFFSET_HEADER`] on),
//! `GET /photos/{sha256}` (the bytes), `POST /photos/thumbnails`.

use crate::{
    Assignment, FindingRecord, Hlc, OutboxEntry, PhotoRecord, RectificationEventRecord, Site,
    SiteType, Subcategory, Template, Unit,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Header carrying the byte offset an upload chunk starts at (request) or the bytes the
/// server holds (response), as in tus.
pub const UPLOAD_OFFSET_HEADER: &str = "Upload-Offset";

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 创城办 staff: sees and manages everything.
    Admin,
    /// 巡查员: pushes inspections from its own device, pulls reference data.
    Inspector,
    /// 责任单位 member: sees and answers only findings dispatched to its unit.
    UnitMember,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Inspector => "inspector",
            Role::UnitMember => "unit_member",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "inspector" => Some(Role::Inspector),
            "unit_member" => Some(Role::UnitMember),
            _ => None,
        }
    }
}

/// `POST /login`: an account signs in on a device, registering the device and its key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Account name.
    pub username: String,
    /// Password in clear (over TLS).
    pub password: String,
    /// The device's UUID, made once per installation.
    pub device_id: Uuid,
    /// Lower-case hex of the device's 32-byte Ed25519 public key (verifies photo signatures).
    pub device_public_key: String,
    /// Human label of the device, e.g. "巡查平板 07".
    pub device_label: String,
    /// The client's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
}

/// `GET /device/revocation`: whether the device a token was issued to is revoked. The server
/// answers it for revoked tokens too, so that a tablet wipes itself only on the server's word,
/// never on a network error or a proxy's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationStatus {
    /// The device the token belongs to.
    pub device_id: Uuid,
    /// Whether the office revoked it.
    pub revoked: bool,
    /// When, Unix milliseconds.
    pub revoked_at: Option<i64>,
}

/// Answer to a successful login.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token (64 hex digits = 256 random bits); the server keeps only its SHA-256.
    pub token: String,
    /// Unix milliseconds after which the token is refused.
    pub token_expires_at: i64,
    /// The registered device.
    pub device_id: Uuid,
    /// Account name.
    pub username: String,
    /// The account's role.
    pub role: Role,
    /// Responsible unit code, for unit members.
    pub unit: Option<String>,
    /// The server's clock after merging (for the device's HLC).
    pub server_hlc: Hlc,
    /// The server's wall clock, Unix milliseconds (for trusted capture times).
    pub server_time_ms: i64,
    /// The county server's id, which its sites' QR labels carry (absent from servers before
    /// the labels).
    #[serde(default)]
    pub county_id: Option<Uuid>,
    /// The person's name (姓名) the tablet prints on photos: the account's, or its account
    /// name when it has none (absent from servers before names).
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `POST /sync/push`: a contiguous run of one device's outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The client's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// Device that sends (must be the token's device).
    pub device_id: Uuid,
    /// The device's clock now; merged into the server's clock.
    pub hlc: Hlc,
    /// Entries with consecutive `seq` values, ascending.
    pub entries: Vec<OutboxEntry>,
}

/// Answer to a push: what the server has committed for this device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Every entry with `seq <= acked_through` is committed: the device may drop them.
    pub acked_through: u64,
    /// How many entries of this request were new.
    pub applied: u32,
    /// The server's clock after merging.
    pub server_hlc: Hlc,
    /// The server's wall clock, Unix milliseconds.
    pub server_time_ms: i64,
}

/// `POST /sync/pull`: server-owned changes after a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    /// The client's [`crate::PROTOCOL_VERSION`].
    pub protocol_version: u32,
    /// The `cursor` of the last page applied; 0 at first.
    pub cursor: u64,
    /// Page size wanted (the server caps it).
    pub limit: Option<u32>,
    /// The device's clock now; merged into the server's clock.
    pub hlc: Hlc,
    /// The account's scope version the tablet's copy was pulled under (from the last
    /// [`PullResponse::scope_version`]); `None` from tablets before scoped pulls.
    #[serde(default)]
    pub scope_version: Option<u64>,
}

/// One page of changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Changes in cursor order.
    pub changes: Vec<Change>,
    /// Pass this back as the next request's cursor.
    pub cursor: u64,
    /// Whether another page is ready now.
    pub more: bool,
    /// The version of the account's scope (districts) this page was cut for; the tablet sends
    /// it back in each [`PullRequest`].
    #[serde(default)]
    pub scope_version: u64,
    /// The account's scope changed since the tablet's copy: the tablet drops every finding it
    /// pulled (keeping its own and anything unsent), and this page starts again from cursor 0.
    #[serde(default)]
    pub reset: bool,
    /// The server's clock after merging.
    pub server_hlc: Hlc,
    /// The server's wall clock, Unix milliseconds.
    pub server_time_ms: i64,
}

/// A server-side change, in the order the cursor walks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Position in the change log.
    pub seq: u64,
    /// The item as it now stands (replaces any earlier copy with the same key).
    pub item: ChangeItem,
}

/// Anything a tablet pulls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeItem {
    /// A site type.
    SiteType(SiteType),
    /// A site (field point).
    Site(Site),
    /// A template version.
    Template(Template),
    /// A responsible unit.
    Unit(Unit),
    /// A problem-taxonomy subcategory.
    Subcategory(Subcategory),
    /// A finding recorded on a tablet, passed on so that every tablet (and the responsible
    /// unit) can follow and re-check it.
    Finding(FindingRecord),
    /// A rectification step, written in the office, by a unit or on a tablet.
    Rectification(RectificationEventRecord),
    /// An inspector's assignment (sent to that inspector only).
    Assignment(Assignment),
    /// A photo's record, for the findings the tablet may see (the bytes come on request).
    Photo(PhotoRecord),
    /// The short number the server gave a finding (logged right after the finding itself).
    FindingNumber(FindingNumber),
    /// The person's name (姓名) of an account, for showing who recorded or took a step.
    Person(Person),
}

impl ChangeItem {
    /// The first protocol version whose tablets can read this item; older tablets are not
    /// sent it.
    pub fn min_protocol(&self) -> u32 {
        match self {
            ChangeItem::Photo(_) => 3,
            ChangeItem::FindingNumber(_) | ChangeItem::Person(_) => 4,
            _ => 2,
        }
    }
}

/// Who is behind an account: what tablets show instead of the account name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The account name (as records name their reporter and actors).
    pub account: String,
    /// The person's name (姓名); empty: none (show the account name).
    pub name: String,
}

/// A finding's short number (问题编号), e.g. `20261201-003`: given once by the server, unique
/// in the county, never changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingNumber {
    /// The finding.
    pub finding_id: Uuid,
    /// Its number: the China day the server received it (`YYYYMMDD`), a hyphen, its place in
    /// that day's arrivals (at least three digits).
    pub number: String,
}

/// `POST /photos/missing`: which of these photos does the server still need?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMissingRequest {
    /// Lower-case hex SHA-256 names.
    pub hashes: Vec<String>,
}

/// The hashes, from the request, whose bytes the server does not hold yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMissingResponse {
    /// Send these (resuming each from its offset).
    pub missing: Vec<String>,
}

/// `POST /photos/thumbnails`: the small copies of photos the tablet may see, in one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailsRequest {
    /// Lower-case hex SHA-256 names (at most [`MAX_THUMBNAILS_PER_REQUEST`]).
    pub hashes: Vec<String>,
}

/// Most thumbnails one [`ThumbnailsRequest`] may ask for.
pub const MAX_THUMBNAILS_PER_REQUEST: usize = 64;

/// The thumbnails the server could give; hashes it does not hold (or the caller may not see)
/// are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailsResponse {
    /// One per photo held.
    pub thumbnails: Vec<Thumbnail>,
}

/// A photo's 320-pixel JPEG thumbnail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// The photo's name.
    pub sha256: String,
    /// Standard base64 of the thumbnail's JPEG bytes.
    pub jpeg_base64: String,
}

/// Where an upload stands (`GET /photos/{sha256}/offset`, and the answer to each `PATCH`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadStatus {
    /// The photo.
    pub sha256: String,
    /// Bytes the server holds; the next chunk starts here.
    pub offset: u64,
    /// Size declared by the photo's record.
    pub size: u64,
    /// Whether the photo is complete and verified.
    pub complete: bool,
    /// What happens next, "中文 / English" (e.g. where to resume).
    #[serde(default)]
    pub message: String,
}

/// `PUT /users/{name}/districts` (office API): the districts an inspector's tablets pull (empty:
/// the whole county); the answer carries the setting's new version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDistricts {
    /// District names, as the sites carry them.
    pub districts: Vec<String>,
    /// The scope version after the change (ignored in a request).
    #[serde(default)]
    pub version: u64,
}

/// Body of every error answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine code, e.g. `sequence_gap`.
    pub error: String,
    /// What went wrong and what to do, "中文 / English".
    pub message: String,
    /// For `sequence_gap`: the seq the server expects next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
    /// For a refused record: its outbox seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// For a refused record: the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `queued` (a push given a number in the server's line): when to come back, in
    /// milliseconds (Retry-After carries it in whole seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `queued`: devices still before this one in the line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_item_json_is_tagged_and_error_omits_empty_fields() {
        let c = ChangeItem::Unit(Unit {
            code: "urban_mgmt".into(),
            name_zh: "城管局".into(),
            name_en: "Urban management".into(),
        });
        let j = serde_json::to_value(&c).unwrap();
        assert_eq!(j["type"], "unit");
        let a = ChangeItem::Assignment(Assignment {
            id: Uuid::nil(),
            inspector: "inspector1".into(),
            site_id: Uuid::nil(),
            date: "2026-11-28".into(),
            note: String::new(),
            cancelled: false,
        });
        let j = serde_json::to_value(&a).unwrap();
        assert_eq!(j["type"], "assignment");
        assert_eq!(serde_json::from_value::<ChangeItem>(j).unwrap(), a);
        let e = ErrorBody {
            error: "x".into(),
            message: "y".into(),
            expected_seq: None,
            seq: Some(3),
            field: None,
            retry_after_ms: None,
            ahead: None,
        };
        let j = serde_json::to_value(&e).unwrap();
        assert!(j.get("expected_seq").is_none());
        assert_eq!(j["seq"], 3);
        assert_eq!(
            Role::parse(Role::UnitMember.as_str()),
            Some(Role::UnitMember)
        );
    }
}
