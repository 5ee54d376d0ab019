//! Fieldcheck's rules, written once and free of I/O: no database, no network, no files, no
//! async runtime (the clock reads the time, nothing else; the opt-in `folder` feature adds
//! [`pack_folder`], which reads a pack's folder). The tablet's store and every server door
//! (push, office API, dashboard, CLI, imports) call these, so a rule cannot differ between
//! writers.
//!
//! - [`limits`]: how long a name or a text may be and which characters no text may hold.
//! - [`rectification`]: a finding's status derived from its log, and the one policy of who may
//!   record which step from which status.
//! - [`accountability`]: 倒查责任, who held a finding at each stage of its log, how long and
//!   against which deadline, and totals per unit and per person.
//! - [`bulletin`]: 通报, a period's findings per district, street and unit (found, on time,
//!   late, overdue, reopened), the units ranked with the red and black lists, and points lost
//!   by index.
//! - [`scoring`]: pass rates, weighted scores and points lost, per inspection and aggregated.
//! - [`mock_evaluation`]: 模拟测评, a seeded sample of sites per type, the county's score
//!   estimated from it with its interval, and the open problems worth fixing first.
//! - [`china_time`]: calendar days and stamps in China time (UTC+8), as the office counts them.
//! - [`clock`]: the hybrid logical clock that orders every change, tablet and server alike
//!   (it reads the system clock, or a source it is told to follow).
//! - [`pack`]: checklist template packs checked whole, read through [`pack::PackFiles`] (a
//!   folder, a .zip in memory), never part of a pack; [`pack_folder`] (feature `folder`) reads
//!   one from disk.
//! - [`device_signature`]: the bytes a device signs for a photo, and their check.
//! - [`finding_number`]: a finding's short number (`20261201-003`), by the server's day.
//! - [`site_label`]: what a site's QR label says (county and site), and reading it back.
//! - [`task_division`]: 任务分工, who owns a finding by where it was found, and 无人管.
//!
//! Must not depend on `fieldcheck-core` (the tablet engine), the server, Tauri, SQLite or HTTP.

pub mod accountability;
pub mod bulletin;
pub mod china_time;
pub mod clock;
pub mod device_signature;
pub mod finding_number;
pub mod limits;
pub mod mock_evaluation;
pub mod pack;
#[cfg(feature = "folder")]
pub mod pack_folder;
pub mod rectification;
pub mod scoring;
pub mod site_label;
pub mod task_division;
