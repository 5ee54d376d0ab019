//! A finding's status, derived from its append-only rectification log.
//!
//! The log is never edited; the status is a pure function of the set of events, so every party
//! that holds the same events (tablets, the office) derives the same status, whatever order the
//! events arrived in. Events are applied in HLC order; an event that makes no sense from the
//! status reached so far (say, an inspector's 处置 stamped after the office's 结案) stays in the
//! log as evidence but does not change the status. Only an explicit 立案 (re-open) moves a
//! closed finding, so an office "closed" is never undone by an older or stray field event.

use crate::china_time::china_date;
use crate::limits::{TextFault, TextKind, check_text};
use fieldcheck_protocol::{FindingRecord, RectificationAction, RectificationEventRecord, Role};
use serde::{Deserialize, Serialize};

/// Where a finding stands in the rectification loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 待派遣: on the ledger, not yet sent to a unit.
    Open,
    /// 待整改: sent to a responsible unit.
    Dispatched,
    /// 待核查: the unit reports it fixed.
    Rectified,
    /// 已核查: re-checked and found fixed, waiting to be closed.
    Verified,
    /// 已结案.
    Closed,
    /// 已退回: the fix was not accepted; the unit must fix it again.
    SentBack,
}

impl Status {
    /// Every status, in the loop's order.
    pub const ALL: [Status; 6] = [
        Status::Open,
        Status::Dispatched,
        Status::Rectified,
        Status::Verified,
        Status::Closed,
        Status::SentBack,
    ];

    /// Whether an inspector goes back to the finding on site (回头看): it is with a unit
    /// (待整改, 已退回: is it fixed, and by its deadline?) or the unit reports it fixed (待核查:
    /// confirm it with an after-photo or send it back). Not 待派遣 (the office has sent it to no
    /// one yet), 已核查 (checked, waiting for the office to close it) or 已结案.
    pub fn awaits_recheck(self) -> bool {
        matches!(
            self,
            Status::Dispatched | Status::Rectified | Status::SentBack
        )
    }

    /// Whether a finding at this status still owes the work its deadline applies to: a
    /// 当场整改 (`same_day`) finding until it is closed, any other while it waits for the unit
    /// (待派遣, 待整改, 已退回).
    pub fn owed(self, same_day: bool) -> bool {
        if same_day {
            self != Status::Closed
        } else {
            matches!(self, Status::Open | Status::Dispatched | Status::SentBack)
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Dispatched => "dispatched",
            Status::Rectified => "rectified",
            Status::Verified => "verified",
            Status::Closed => "closed",
            Status::SentBack => "sent_back",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "open" => Status::Open,
            "dispatched" => Status::Dispatched,
            "rectified" => Status::Rectified,
            "verified" => Status::Verified,
            "closed" => Status::Closed,
            "sent_back" => Status::SentBack,
            _ => return None,
        })
    }

    /// The Chinese label shown on screens and in reports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Status::Open => "待派遣",
            Status::Dispatched => "待整改",
            Status::Rectified => "待核查",
            Status::Verified => "已核查",
            Status::Closed => "已结案",
            Status::SentBack => "已退回",
        }
    }

    /// The status after `action`, or `None` when the action does not apply from here.
    pub fn after(self, action: RectificationAction) -> Option<Status> {
        use RectificationAction as A;
        use Status as S;
        match (self, action) {
            // 立案: only a closed finding is re-opened.
            (S::Closed, A::Opened) => Some(S::Open),
            (S::Open | S::Dispatched | S::SentBack, A::Dispatched) => Some(S::Dispatched),
            // 当场整改: an inspector may fix or see fixed a problem before it is dispatched.
            (S::Open | S::Dispatched | S::SentBack, A::Rectified) => Some(S::Rectified),
            (S::Rectified, A::Verified) => Some(S::Verified),
            (S::Rectified | S::Verified, A::SentBack) => Some(S::SentBack),
            // 结案 needs a reported fix: the office closes what was fixed, not what was found.
            (S::Rectified | S::Verified, A::Closed) => Some(S::Closed),
            _ => None,
        }
    }
}

/// The order in which a log's events apply: by HLC, ties broken by event id. Every reading of
/// the log ([`derive_status`], [`duty`], the accountability trail) sorts with this.
pub fn log_order(a: &RectificationEventRecord, b: &RectificationEventRecord) -> std::cmp::Ordering {
    a.hlc.cmp(&b.hlc).then(a.id.cmp(&b.id))
}

/// The status a finding has after all of `events`, applied in HLC order (ties broken by event id).
/// A finding with no events is [`Status::Open`].
pub fn derive_status<'a>(events: impl IntoIterator<Item = &'a RectificationEventRecord>) -> Status {
    let mut ordered: Vec<&RectificationEventRecord> = events.into_iter().collect();
    ordered.sort_by(|a, b| log_order(a, b));
    ordered.into_iter().fold(Status::Open, |status, e| {
        status.after(e.action).unwrap_or(status)
    })
}

/// Who owes a finding's fix and by when, from its record and its log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duty {
    /// Unit it is dispatched to now (the last 派遣), else the unit named on site.
    pub unit: Option<String>,
    /// Deadline `YYYY-MM-DD`: the last 派遣's, else the finding's; 当场整改 findings are due
    /// the day they were found.
    pub deadline: Option<String>,
    /// Whether the finding is still owed work that the deadline applies to: a 当场整改 finding
    /// until closed, others while waiting for the unit (待派遣, 待整改, 已退回). False without a
    /// deadline.
    pub due_open: bool,
}

impl Duty {
    /// Past its deadline and still owed, on China-time day `today` (`YYYY-MM-DD`).
    pub fn overdue(&self, today: &str) -> bool {
        self.due_open && self.deadline.as_deref().is_some_and(|d| d < today)
    }
}

/// The finding's [`Duty`] after `events` (in any order; applied in HLC order).
pub fn duty(finding: &FindingRecord, events: &[RectificationEventRecord]) -> Duty {
    let status = derive_status(events);
    let last_dispatch = events
        .iter()
        .filter(|e| e.action == RectificationAction::Dispatched)
        .max_by(|a, b| log_order(a, b));
    let unit = last_dispatch
        .and_then(|e| e.unit.clone())
        .or_else(|| finding.unit.clone());
    let deadline = last_dispatch
        .and_then(|e| e.deadline.clone())
        .or_else(|| finding.deadline.clone())
        .or_else(|| finding.same_day.then(|| china_date(finding.created_at)));
    Duty {
        due_open: status.owed(finding.same_day) && deadline.is_some(),
        unit,
        deadline,
    }
}

/// When a finding's owed work was done (Unix ms): the time of the step after which it stopped
/// being owed ([`Status::owed`]) for good (the fix, or the close of a 当场整改 finding); `None`
/// while it is still owed. Steps apply in HLC order as [`derive_status`] applies them, so a
/// step that does not apply moves nothing here either. The dashboard's 按期整改率 and the
/// bulletin (通报) both ask this.
pub fn finished_at<'a>(
    same_day: bool,
    events: impl IntoIterator<Item = &'a RectificationEventRecord>,
) -> Option<i64> {
    let mut ordered: Vec<&RectificationEventRecord> = events.into_iter().collect();
    ordered.sort_by(|a, b| log_order(a, b));
    let mut status = Status::Open;
    let mut done = None;
    for e in ordered {
        let Some(next) = status.after(e.action) else {
            continue;
        };
        if status.owed(same_day) && !next.owed(same_day) {
            done = Some(e.hlc.unix_millis());
        } else if next.owed(same_day) {
            done = None;
        }
        status = next;
    }
    done
}

/// Whether a role may record a step of this kind. This is the one rectification policy: the
/// tablet push, the office API and the dashboard all ask it. The office (admin) may take any
/// step; an inspector records what it sees on site: fixed on the spot (处置), re-checked fixed
/// (核查) or not fixed (退回); a unit reports its fix (处置) and nothing else.
pub fn may_record(role: Role, action: RectificationAction) -> bool {
    use RectificationAction as A;
    match role {
        Role::Admin => true,
        Role::Inspector => matches!(action, A::Rectified | A::Verified | A::SentBack),
        Role::UnitMember => action == A::Rectified,
    }
}

/// Whether `role` may record `action` on a finding that stands at `status`: the role's policy
/// ([`may_record`]), a step that applies from there ([`Status::after`]), and a unit answers
/// only a finding that was dispatched to it (not one still waiting for dispatch). The office's
/// doors ask this before they write and to decide which forms to show; a tablet's pushed steps
/// are checked by role only, since they were taken offline and are ordered by their stamps
/// when the log is read.
pub fn allowed(role: Role, status: Status, action: RectificationAction) -> bool {
    may_record(role, action)
        && status.after(action).is_some()
        && !(role == Role::UnitMember && status == Status::Open)
}

/// Why a rectification step is refused, whichever door it came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepFault {
    /// The role may not take this step ([`may_record`]).
    #[error("this account's role may not take this step")]
    RoleMayNot,
    /// A step other than 派遣 names a unit: only a dispatch moves a finding to a unit.
    #[error("only a dispatch names a unit")]
    UnitOutsideDispatch,
    /// A 派遣 without a unit.
    #[error("a dispatch names a unit")]
    DispatchWithoutUnit,
    /// A 退回 without a reason.
    #[error("a send-back needs a reason")]
    SendBackWithoutReason,
    /// A 处置, or an inspector's 核查 on site, without the after-photo that proves it
    /// ([`needs_evidence`]).
    #[error("rectifying, and verifying on site, need an after-photo")]
    NoEvidence,
    /// The actor or the note breaks the text limits.
    #[error("{field}: {fault}")]
    Text {
        /// `actor` or `note`.
        field: &'static str,
        /// What is wrong with it.
        fault: TextFault,
    },
}

impl StepFault {
    /// The field at fault (`action` when the step itself is not allowed).
    pub fn field(self) -> &'static str {
        match self {
            StepFault::RoleMayNot => "action",
            StepFault::UnitOutsideDispatch | StepFault::DispatchWithoutUnit => "unit",
            StepFault::SendBackWithoutReason => "note",
            StepFault::NoEvidence => "photo_sha256",
            StepFault::Text { field, .. } => field,
        }
    }

    /// The reason in plain Chinese.
    pub fn zh(self) -> String {
        match self {
            StepFault::RoleMayNot => "本账号的角色不能进行这一步".into(),
            StepFault::UnitOutsideDispatch => "只有派遣可以指定责任单位".into(),
            StepFault::DispatchWithoutUnit => "派遣须指定责任单位".into(),
            StepFault::SendBackWithoutReason => "退回须写明原因".into(),
            StepFault::NoEvidence => "处置和现场核查须附整改后照片".into(),
            StepFault::Text { fault, .. } => fault.zh(),
        }
    }

    /// The reason in English.
    pub fn en(self) -> String {
        self.to_string()
    }
}

/// Whether `role` taking `action` must name its after-photo: a 处置 always (the unit shows
/// the fix), a 核查 when an inspector made it on site (the office verifies from the unit's
/// photo). A closed finding is worth something only if it was fixed with evidence.
pub fn needs_evidence(role: Role, action: RectificationAction) -> bool {
    action == RectificationAction::Rectified
        || (action == RectificationAction::Verified && role == Role::Inspector)
}

/// Checks a step against the policy before any door stores it: the role may take it, only a
/// 派遣 names a unit (and always does), a 退回 gives its reason, a 处置 or an on-site 核查
/// names its after-photo, and the actor and note keep the text limits. Whether the finding is the caller's to act on (its unit, its existence) is
/// the door's to check, with what it has looked up.
pub fn check_step(role: Role, e: &RectificationEventRecord) -> Result<(), StepFault> {
    if !may_record(role, e.action) {
        return Err(StepFault::RoleMayNot);
    }
    match (e.action, &e.unit) {
        (RectificationAction::Dispatched, None) => return Err(StepFault::DispatchWithoutUnit),
        (RectificationAction::Dispatched, Some(_)) | (_, None) => {}
        (_, Some(_)) => return Err(StepFault::UnitOutsideDispatch),
    }
    if needs_evidence(role, e.action) && e.photo_sha256.is_none() {
        return Err(StepFault::NoEvidence);
    }
    check_text(&e.actor, TextKind::Line, true).map_err(|fault| StepFault::Text {
        field: "actor",
        fault,
    })?;
    let reason_needed = e.action == RectificationAction::SentBack;
    check_text(&e.note, TextKind::Free, reason_needed).map_err(|fault| match fault {
        TextFault::Empty => StepFault::SendBackWithoutReason,
        fault => StepFault::Text {
            field: "note",
            fault,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldcheck_protocol::Hlc;
    use uuid::Uuid;

    fn ev(t: u64, action: RectificationAction) -> RectificationEventRecord {
        RectificationEventRecord {
            id: Uuid::now_v7(),
            finding_id: Uuid::nil(),
            action,
            actor: "t".into(),
            note: String::new(),
            unit: None,
            deadline: None,
            photo_sha256: None,
            hlc: Hlc { time: t, node: 1 },
        }
    }

    #[test]
    fn the_whole_loop() {
        use RectificationAction as A;
        let log = [
            ev(1, A::Dispatched),
            ev(2, A::Rectified),
            ev(3, A::SentBack),
            ev(4, A::Rectified),
            ev(5, A::Verified),
            ev(6, A::Closed),
        ];
        assert_eq!(derive_status(&log[..0]), Status::Open);
        assert_eq!(derive_status(&log[..1]), Status::Dispatched);
        assert_eq!(derive_status(&log[..3]), Status::SentBack);
        assert_eq!(derive_status(&log[..5]), Status::Verified);
        assert_eq!(derive_status(&log), Status::Closed);
    }

    #[test]
    fn order_of_arrival_does_not_matter_and_closed_holds() {
        use RectificationAction as A;
        let mut log = vec![
            ev(1, A::Dispatched),
            ev(2, A::Rectified),
            ev(3, A::Closed),
            ev(4, A::SentBack),
            ev(5, A::Rectified),
        ];
        let forward = derive_status(&log);
        log.reverse();
        assert_eq!(derive_status(&log), forward);
        assert_eq!(forward, Status::Closed);
        // An explicit re-open is the one way back.
        log.push(ev(9, A::Opened));
        assert_eq!(derive_status(&log), Status::Open);
    }

    #[test]
    fn stored_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert!(!s.label_zh().is_empty());
        }
    }

    #[test]
    fn the_policy_by_role() {
        use RectificationAction as A;
        let all = [
            A::Opened,
            A::Dispatched,
            A::Rectified,
            A::Verified,
            A::SentBack,
            A::Closed,
        ];
        for a in all {
            assert!(may_record(Role::Admin, a));
        }
        let inspector: Vec<_> = all
            .into_iter()
            .filter(|a| may_record(Role::Inspector, *a))
            .collect();
        assert_eq!(inspector, [A::Rectified, A::Verified, A::SentBack]);
        let unit: Vec<_> = all
            .into_iter()
            .filter(|a| may_record(Role::UnitMember, *a))
            .collect();
        assert_eq!(unit, [A::Rectified]);
    }

    #[test]
    fn steps_are_checked_whatever_the_door() {
        use RectificationAction as A;
        let mut e = ev(1, A::Closed);
        assert_eq!(check_step(Role::Inspector, &e), Err(StepFault::RoleMayNot));
        assert_eq!(check_step(Role::Admin, &e), Ok(()));
        e = ev(1, A::Rectified);
        e.unit = Some("housing".into());
        assert_eq!(
            check_step(Role::UnitMember, &e),
            Err(StepFault::UnitOutsideDispatch)
        );
        e = ev(1, A::Dispatched);
        assert_eq!(
            check_step(Role::Admin, &e),
            Err(StepFault::DispatchWithoutUnit)
        );
        e = ev(1, A::SentBack);
        assert_eq!(
            check_step(Role::Inspector, &e),
            Err(StepFault::SendBackWithoutReason)
        );
        e.note = "没修好\u{202E}".into();
        assert_eq!(
            check_step(Role::Inspector, &e).map_err(StepFault::field),
            Err("note")
        );
    }

    #[test]
    fn a_fix_and_an_on_site_check_need_their_after_photo() {
        use RectificationAction as A;
        for (role, action) in [
            (Role::UnitMember, A::Rectified),
            (Role::Inspector, A::Rectified),
            (Role::Admin, A::Rectified),
            (Role::Inspector, A::Verified),
        ] {
            let mut e = ev(1, action);
            assert_eq!(
                check_step(role, &e),
                Err(StepFault::NoEvidence),
                "{role:?} {action:?}"
            );
            e.photo_sha256 = Some("a".repeat(64));
            assert_eq!(check_step(role, &e), Ok(()), "{role:?} {action:?}");
        }
        assert_eq!(
            check_step(Role::Admin, &ev(1, A::Verified)),
            Ok(()),
            "the office verifies from the unit's photo"
        );
        assert_eq!(StepFault::NoEvidence.field(), "photo_sha256");
    }

    #[test]
    fn allowed_is_role_and_status_together() {
        use RectificationAction as A;
        assert!(allowed(Role::Admin, Status::Rectified, A::Closed));
        assert!(
            !allowed(Role::Admin, Status::Open, A::Closed),
            "nothing fixed yet"
        );
        assert!(!allowed(Role::Inspector, Status::Rectified, A::Closed));
        assert!(allowed(Role::UnitMember, Status::Dispatched, A::Rectified));
        assert!(
            !allowed(Role::UnitMember, Status::Open, A::Rectified),
            "not dispatched yet"
        );
        assert!(
            allowed(Role::Inspector, Status::Open, A::Rectified),
            "当场整改"
        );
        assert!(!allowed(Role::UnitMember, Status::Closed, A::Rectified));
        assert!(allowed(Role::Admin, Status::Closed, A::Opened));
        assert!(!allowed(Role::Admin, Status::Dispatched, A::Opened));
    }

    #[test]
    fn an_inspector_goes_back_to_what_a_unit_owes_or_reports_fixed() {
        let rechecked: Vec<Status> = Status::ALL
            .into_iter()
            .filter(|s| s.awaits_recheck())
            .collect();
        assert_eq!(
            rechecked,
            [Status::Dispatched, Status::Rectified, Status::SentBack],
            "not 待派遣, 已核查 or 已结案"
        );
        for status in rechecked {
            assert!(
                [
                    RectificationAction::Rectified,
                    RectificationAction::Verified
                ]
                .into_iter()
                .any(|a| allowed(Role::Inspector, status, a)),
                "{status:?}: the inspector can confirm a fix on site"
            );
        }
    }

    fn finding(same_day: bool) -> FindingRecord {
        FindingRecord {
            id: Uuid::nil(),
            site_id: Uuid::nil(),
            inspection_id: None,
            item_code: None,
            category: fieldcheck_protocol::Category::Component,
            subcategory: "manhole_cover".into(),
            description: "井盖破损".into(),
            severity: fieldcheck_protocol::Severity::Major,
            position: None,
            unit: Some("traffic_police".into()),
            deadline: Some("2026-12-10".into()),
            same_day,
            reporter: "inspector1".into(),
            device_id: Uuid::nil(),
            // 2026-12-01 10:00 China time.
            created_at: 1_796_090_400_000,
            hlc: Hlc { time: 0, node: 1 },
        }
    }

    #[test]
    fn the_last_dispatch_names_unit_and_deadline_and_a_reported_fix_stops_the_clock() {
        use RectificationAction as A;
        let f = finding(false);
        let on_site = duty(&f, &[]);
        assert_eq!(on_site.unit.as_deref(), Some("traffic_police"));
        assert!(on_site.overdue("2026-12-11") && !on_site.overdue("2026-12-10"));

        let mut first = ev(1, A::Dispatched);
        first.unit = Some("housing".into());
        first.deadline = Some("2026-12-05".into());
        let mut second = ev(2, A::Dispatched);
        second.unit = Some("urban_mgmt".into());
        second.deadline = Some("2026-12-08".into());
        let d = duty(&f, &[second.clone(), first.clone()]);
        assert_eq!(
            (d.unit.as_deref(), d.deadline.as_deref()),
            (Some("urban_mgmt"), Some("2026-12-08"))
        );
        assert!(d.overdue("2026-12-09"));

        let fixed = duty(&f, &[first, second, ev(3, A::Rectified)]);
        assert!(
            !fixed.overdue("2026-12-31"),
            "待核查 waits for the inspector, not the unit"
        );

        let spot = duty(
            &FindingRecord {
                deadline: None,
                ..finding(true)
            },
            &[],
        );
        assert_eq!(
            spot.deadline.as_deref(),
            Some("2026-12-01"),
            "当场整改: due the day found"
        );
    }
}
