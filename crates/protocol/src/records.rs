//! Records: sites that the server owns, and what a tablet creates and pushes.

use crate::{Category, Hlc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A place that is inspected (a field point), owned by the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Site {
    /// Server-made UUIDv7.
    pub id: Uuid,
    /// Name, e.g. 建设路菜市场.
    pub name: String,
    /// Code of its site type.
    pub site_type: String,
    /// District (区/县).
    pub district: String,
    /// Street office (街道).
    pub street: String,
    /// Postal address as people say it.
    pub address: String,
    /// Where it is, when known.
    pub position: Option<Position>,
    /// Code of the responsible unit by default.
    pub unit: Option<String>,
    /// Text of a QR code posted at the site, if any.
    pub qr_code: Option<String>,
}

/// Who should inspect which site on which day (派单), owned by the server and pulled only by
/// its inspector. Changing or cancelling it replaces the earlier copy with the same id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Assignment {
    /// Server-made UUID.
    pub id: Uuid,
    /// Account name of the inspector who should go.
    pub inspector: String,
    /// The site to inspect.
    pub site_id: Uuid,
    /// The day, `YYYY-MM-DD` in China time (UTC+8).
    pub date: String,
    /// What the office wants looked at, possibly empty.
    pub note: String,
    /// Called off: the tablet no longer lists it.
    pub cancelled: bool,
}

/// Where a position came from: a GPS fix or typed by hand. Hand-typed positions are marked so
/// that the office can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PositionSource {
    /// From the device's positioning hardware.
    Gps,
    /// Typed or picked by a person.
    Manual,
}

/// A WGS-84 position with its accuracy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Position {
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Radius of 68% confidence, in metres (≥ 0).
    pub accuracy_m: f64,
    /// Where it came from.
    pub source: PositionSource,
}

/// An inspection of one site against one template version, made on a tablet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct InspectionRecord {
    /// Tablet-made UUIDv7.
    pub id: Uuid,
    /// The site inspected.
    pub site_id: Uuid,
    /// Template id.
    pub template_id: String,
    /// Exact template version used.
    pub template_version: u32,
    /// Inspector's account name.
    pub inspector: String,
    /// Device that made it.
    pub device_id: Uuid,
    /// Start, milliseconds since the Unix epoch (trusted time when known).
    pub started_at: i64,
    /// Finish, when finished.
    pub finished_at: Option<i64>,
    /// Check-in position, when known.
    pub position: Option<Position>,
    /// When the inspector discarded it unfinished (放弃本次检查, e.g. started by accident),
    /// milliseconds since the Unix epoch. A discarded inspection is never finished and never
    /// counts in scores; its answers stay stored as they were. Absent from earlier tablets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub discarded_at: Option<i64>,
}

/// The answer to one item.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum ItemValue {
    /// 符合.
    Compliant,
    /// 不符合.
    NonCompliant,
    /// 不适用: does not count as an observation.
    NotApplicable,
    /// A count, for count items.
    Count(u32),
    /// A percentage 0-100, for percentage items.
    Percent(f64),
}

/// The latest answer to one item of one inspection. A later answer to the same item replaces
/// the earlier one (the higher HLC wins).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ItemResultRecord {
    /// Inspection the answer belongs to.
    pub inspection_id: Uuid,
    /// Item code within the inspection's template.
    pub item_code: String,
    /// The answer.
    pub value: ItemValue,
    /// Free note, possibly empty.
    pub note: String,
    /// When it was answered.
    pub hlc: Hlc,
}

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般.
    Minor,
    /// 较重.
    Major,
    /// 严重: a safety hazard (an open manhole, a live wire).
    Critical,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "minor" => Some(Severity::Minor),
            "major" => Some(Severity::Major),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// A problem found on site (问题), the unit of the office's ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FindingRecord {
    /// Tablet-made UUIDv7.
    pub id: Uuid,
    /// The site.
    pub site_id: Uuid,
    /// The inspection it was found in, if any.
    pub inspection_id: Option<Uuid>,
    /// The template item it fails, if any.
    pub item_code: Option<String>,
    /// 部件 or 事件.
    pub category: Category,
    /// Taxonomy subcategory code, e.g. `manhole_cover`.
    pub subcategory: String,
    /// What is wrong, in the inspector's words.
    pub description: String,
    /// How serious.
    pub severity: Severity,
    /// Where, when known.
    pub position: Option<Position>,
    /// Responsible unit code, when known on site.
    pub unit: Option<String>,
    /// Deadline as `YYYY-MM-DD`, when set.
    pub deadline: Option<String>,
    /// 当场整改: expected fixed the same day.
    pub same_day: bool,
    /// Inspector's account name.
    pub reporter: String,
    /// Device that made it.
    pub device_id: Uuid,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Creation stamp.
    pub hlc: Hlc,
}

/// What a photo shows in the rectification loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum PhotoKind {
    /// The problem as found.
    Before,
    /// The problem after rectification.
    After,
    /// Other evidence (a sign, a document).
    Evidence,
}

impl PhotoKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::Before => "before",
            PhotoKind::After => "after",
            PhotoKind::Evidence => "evidence",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "before" => Some(PhotoKind::Before),
            "after" => Some(PhotoKind::After),
            "evidence" => Some(PhotoKind::Evidence),
            _ => None,
        }
    }
}

/// A photo's record. The photo itself travels separately, named by `sha256`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PhotoRecord {
    /// Lower-case hex SHA-256 of the stored JPEG bytes; the photo's name.
    pub sha256: String,
    /// Finding it belongs to, if any.
    pub finding_id: Option<Uuid>,
    /// Inspection it belongs to, if any.
    pub inspection_id: Option<Uuid>,
    /// Before, after or evidence.
    pub kind: PhotoKind,
    /// Stored width in pixels.
    pub width: u32,
    /// Stored height in pixels.
    pub height: u32,
    /// Stored size in bytes.
    pub size_bytes: u64,
    /// Capture time, milliseconds since the Unix epoch, from the trusted clock when known.
    pub captured_at: i64,
    /// Where `captured_at` came from.
    pub time_source: TimeSource,
    /// Device wall clock minus `captured_at`, in milliseconds, at capture. Recorded, not hidden:
    /// a difference over two minutes marks a device clock that is off.
    pub device_clock_offset_ms: i64,
    /// Where it was taken, when known.
    pub position: Option<Position>,
    /// Device that took it.
    pub device_id: Uuid,
    /// Lower-case hex Ed25519 signature by the device's key over the capture record
    /// (hash, time, position, device, and the original for a marked copy); empty until the
    /// device has a key.
    pub signature: String,
    /// Creation stamp.
    pub hlc: Hlc,
    /// For a marked copy (arrows, circles, text drawn on a photo): the SHA-256 of the original,
    /// which stays exactly as captured. `None` for a photo as captured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub marked_from: Option<String>,
}

/// An inspector's proof of presence (到场核验): the site's QR label scanned on site with the
/// camera. Signed by the device like a photo, so the office can tell it from a typed claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CheckInRecord {
    /// Tablet-made UUIDv7.
    pub id: Uuid,
    /// The site whose label was scanned.
    pub site_id: Uuid,
    /// The label's text as read (`FCSITE1:<county>:<site>`).
    pub label: String,
    /// Inspector's account name.
    pub inspector: String,
    /// Device that scanned it.
    pub device_id: Uuid,
    /// When, milliseconds since the Unix epoch, from the trusted clock when known.
    pub at: i64,
    /// Where `at` came from.
    pub time_source: TimeSource,
    /// Device wall clock minus `at`, in milliseconds, at the scan.
    pub device_clock_offset_ms: i64,
    /// Where the tablet was, when known.
    pub position: Option<Position>,
    /// Lower-case hex Ed25519 signature by the device's key over the check-in's facts.
    pub signature: String,
    /// Creation stamp.
    pub hlc: Hlc,
}

/// Where a capture time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// Server time learned at the last sync plus the device's monotonic clock since then.
    Trusted,
    /// The device's wall clock: no sync has happened yet on this device (or since a restart
    /// lost the monotonic reference).
    Device,
}

impl TimeSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Trusted => "trusted",
            TimeSource::Device => "device",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "trusted" => Some(TimeSource::Trusted),
            "device" => Some(TimeSource::Device),
            _ => None,
        }
    }
}

/// A step of a finding's rectification loop. The log is append-only; the current status is
/// derived from it (see `fieldcheck_domain::rectification`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RectificationAction {
    /// 立案: the problem is on the ledger.
    Opened,
    /// 派遣: sent to a responsible unit with a deadline.
    Dispatched,
    /// 处置: the unit reports it fixed, with an after-photo.
    Rectified,
    /// 核查: an inspector or the office re-checked it on site and found it fixed.
    Verified,
    /// 结案: closed.
    Closed,
    /// 退回: sent back to the unit, with a reason.
    SentBack,
}

impl RectificationAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::Dispatched => "dispatched",
            Self::Rectified => "rectified",
            Self::Verified => "verified",
            Self::Closed => "closed",
            Self::SentBack => "sent_back",
        }
    }
    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "opened" => Self::Opened,
            "dispatched" => Self::Dispatched,
            "rectified" => Self::Rectified,
            "verified" => Self::Verified,
            "closed" => Self::Closed,
            "sent_back" => Self::SentBack,
            _ => return None,
        })
    }
}

/// One entry of a finding's rectification log, written on a tablet or in the office.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RectificationEventRecord {
    /// UUIDv7 of the event.
    pub id: Uuid,
    /// The finding.
    pub finding_id: Uuid,
    /// What happened.
    pub action: RectificationAction,
    /// Account name of who did it.
    pub actor: String,
    /// Note or reason (required for 退回).
    pub note: String,
    /// Responsible unit, for 派遣.
    pub unit: Option<String>,
    /// Deadline `YYYY-MM-DD`, for 派遣.
    pub deadline: Option<String>,
    /// Photo backing the step (the after-photo for 处置 and 核查).
    pub photo_sha256: Option<String>,
    /// When it happened; orders the log.
    pub hlc: Hlc,
}

/// Any record a tablet pushes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// An inspection started, finished or discarded.
    Inspection(InspectionRecord),
    /// An item answered.
    ItemResult(ItemResultRecord),
    /// A problem found.
    Finding(FindingRecord),
    /// A photo taken.
    Photo(PhotoRecord),
    /// A rectification step.
    Rectification(RectificationEventRecord),
    /// A site's QR label scanned on site.
    CheckIn(CheckInRecord),
}

/// One entry of a device's outbox: the record and its place in the device's sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// Per-device sequence number, from 1, without gaps.
    pub seq: u64,
    /// Stamp of the change.
    pub hlc: Hlc,
    /// The record as it stands after the change.
    pub record: Record,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_json_is_tagged() {
        let r = Record::ItemResult(ItemResultRecord {
            inspection_id: Uuid::nil(),
            item_code: "BA-01".into(),
            value: ItemValue::Count(3),
            note: String::new(),
            hlc: Hlc::ZERO,
        });
        let j = serde_json::to_value(&r).unwrap();
        assert_eq!(j["type"], "item_result");
        assert_eq!(j["value"]["kind"], "count");
        assert_eq!(j["value"]["value"], 3);
        let back: Record = serde_json::from_value(j).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn stored_names_round_trip() {
        for a in [
            RectificationAction::Opened,
            RectificationAction::Dispatched,
            RectificationAction::Rectified,
            RectificationAction::Verified,
            RectificationAction::Closed,
            RectificationAction::SentBack,
        ] {
            assert_eq!(RectificationAction::parse(a.as_str()), Some(a));
        }
        for k in [PhotoKind::Before, PhotoKind::After, PhotoKind::Evidence] {
            assert_eq!(PhotoKind::parse(k.as_str()), Some(k));
        }
        for s in [Severity::Minor, Severity::Major, Severity::Critical] {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("huge"), None);
    }
}
