//! Checks a push batch before anything is written: the shape of the sequence, that every record
//! belongs to the pushing device, and each record's fields against the reference data. The
//! first fault refuses the whole batch with its seq and field named.

use crate::error::{ApiError, ApiResult};
use crate::photo_check::verify_signature;
use crate::store::{RefData, RefQuery};
use axum::http::StatusCode;
use fieldcheck_domain::china_time::is_date;
use fieldcheck_domain::limits::{TextKind, check_text, is_sha256, position_ok};
use fieldcheck_domain::rectification::{StepFault, check_step};
use fieldcheck_domain::site_label;
use fieldcheck_protocol::{
    CheckInRecord, Hlc, ItemKind, ItemValue, OutboxEntry, PhotoKind, Position, Record, Role,
    Template,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Who pushes a batch, as the token says: never taken from the body.
pub struct Pusher<'a> {
    /// The token's device.
    pub device: Uuid,
    /// The account's role (decides which rectification steps it may push).
    pub role: Role,
    /// The device's registered key, which must have signed its photo records and check-ins.
    pub key: &'a str,
    /// This server's county id, which a check-in's label must carry.
    pub county: Uuid,
}

/// The entries of a batch the device's applied prefix (`high_seq`) does not hold yet. Entries
/// already acknowledged are skipped before anything is checked: a tablet re-sending them (its
/// answer was lost) is never refused for what it was already told was kept.
pub fn unacknowledged(entries: &[OutboxEntry], high_seq: u64) -> usize {
    entries.iter().take_while(|e| e.seq <= high_seq).count()
}

/// Puts the signed-in account's name on every pushed record that names a person: the
/// inspection's inspector, the finding's reporter, the step's actor. Who acts comes from the
/// token, never from the body.
pub fn stamp_account(entries: &mut [OutboxEntry], account: &str) {
    for e in entries {
        let name = match &mut e.record {
            Record::Inspection(r) => &mut r.inspector,
            Record::Finding(r) => &mut r.reporter,
            Record::Rectification(r) => &mut r.actor,
            Record::CheckIn(r) => &mut r.inspector,
            Record::ItemResult(_) | Record::Photo(_) => continue,
        };
        if name != account {
            *name = account.to_string();
        }
    }
}

/// The stamp a record carries itself (it orders a finding's log and decides which answer is
/// the latest), for the records that have one.
fn record_hlc(r: &Record) -> Option<Hlc> {
    match r {
        Record::Inspection(_) => None,
        Record::ItemResult(r) => Some(r.hlc),
        Record::Finding(r) => Some(r.hlc),
        Record::Photo(r) => Some(r.hlc),
        Record::Rectification(r) => Some(r.hlc),
        Record::CheckIn(r) => Some(r.hlc),
    }
}

/// Refuses a batch with a stamp, the entry's or its record's own, further ahead of the server
/// than `within` allows: a step stamped in 2100 would stand after every office decision.
pub fn check_stamps(entries: &[OutboxEntry], within: impl Fn(Hlc) -> bool) -> ApiResult<()> {
    for e in entries {
        if !within(e.hlc) || record_hlc(&e.record).is_some_and(|h| !within(h)) {
            return Err(ApiError::invalid_record(
                e.seq,
                "hlc",
                "时间戳超前服务器过多，请校准设备时钟 / the stamp is too far ahead of the server; set the device clock right",
            ));
        }
    }
    Ok(())
}

/// Refuses a batch whose seqs are not ascending by one from at least 1.
pub fn check_sequence(entries: &[OutboxEntry]) -> ApiResult<()> {
    for (i, e) in entries.iter().enumerate() {
        let ok = if i == 0 {
            e.seq >= 1
        } else {
            e.seq == entries[i - 1].seq + 1
        };
        if !ok {
            return Err(ApiError::invalid_record(
                e.seq,
                "seq",
                "批内序号必须从 1 起逐一递增 / seqs in a batch must be consecutive and start at 1 or more",
            ));
        }
    }
    Ok(())
}

/// Refuses (403) a batch carrying records made by another device.
pub fn check_device(entries: &[OutboxEntry], device: Uuid) -> ApiResult<()> {
    for e in entries {
        let owner = match &e.record {
            Record::Inspection(r) => Some(r.device_id),
            Record::Finding(r) => Some(r.device_id),
            Record::Photo(r) => Some(r.device_id),
            Record::CheckIn(r) => Some(r.device_id),
            Record::ItemResult(_) | Record::Rectification(_) => None,
        };
        if let Some(owner) = owner
            && owner != device
        {
            return Err(other_device(e.seq, owner));
        }
    }
    Ok(())
}

fn other_device(seq: u64, owner: Uuid) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::FORBIDDEN,
        "other_device",
        format!(
            "记录 seq {seq} 属于设备 {owner}，只能推送本设备的记录 / record seq {seq} belongs to device {owner}; a device pushes only its own records"
        ),
    );
    e.seq = Some(seq);
    e
}

/// The ids a batch refers to.
pub fn references(entries: &[OutboxEntry]) -> RefQuery {
    let mut q = RefQuery::default();
    for e in entries {
        match &e.record {
            Record::Inspection(r) => {
                q.inspections.insert(r.id);
                q.sites.insert(r.site_id);
                q.templates
                    .insert((r.template_id.clone(), r.template_version));
            }
            Record::ItemResult(r) => {
                q.inspections.insert(r.inspection_id);
            }
            Record::Finding(r) => {
                q.findings.insert(r.id);
                q.sites.insert(r.site_id);
                q.inspections.extend(r.inspection_id);
            }
            Record::Photo(r) => {
                q.findings.extend(r.finding_id);
                q.inspections.extend(r.inspection_id);
                q.photos.insert(r.sha256.clone());
                q.photos.extend(r.marked_from.clone());
            }
            Record::Rectification(r) => {
                q.findings.insert(r.finding_id);
            }
            Record::CheckIn(r) => {
                q.sites.insert(r.site_id);
            }
        }
    }
    q
}

struct Batch<'a> {
    device: Uuid,
    county: Uuid,
    role: Role,
    refs: &'a mut RefData,
    /// Templates of inspections known so far (stored or earlier in the batch).
    inspections: HashMap<Uuid, (Uuid, Option<Template>)>,
}

fn bad(seq: u64, field: &str, zh: &str, en: &str) -> ApiError {
    ApiError::invalid_record(
        seq,
        field,
        format!("seq {seq} 字段 {field}：{zh} / seq {seq} field {field}: {en}"),
    )
}

fn text(seq: u64, field: &str, v: &str, kind: TextKind, required: bool) -> ApiResult<()> {
    check_text(v, kind, required).map_err(|f| bad(seq, field, &f.zh(), &f.en()))
}

/// A step the policy refuses: 403 when the role may not take it, else 422 naming the field.
fn step_refused(seq: u64, fault: StepFault) -> ApiError {
    if fault == StepFault::RoleMayNot {
        let mut e = ApiError::new(
            StatusCode::FORBIDDEN,
            "step_not_allowed",
            format!(
                "记录 seq {seq}：{} / record seq {seq}: {}",
                fault.zh(),
                fault.en()
            ),
        );
        e.seq = Some(seq);
        e.field = Some(fault.field().into());
        return e;
    }
    bad(seq, fault.field(), &fault.zh(), &fault.en())
}

fn position(seq: u64, field: &str, p: &Option<Position>) -> ApiResult<()> {
    if p.as_ref().is_some_and(|p| !position_ok(p)) {
        return Err(bad(
            seq,
            field,
            "坐标或精度超出范围",
            "latitude, longitude or accuracy out of range",
        ));
    }
    Ok(())
}

fn date(seq: u64, field: &str, d: &Option<String>) -> ApiResult<()> {
    if d.as_deref().is_some_and(|d| !is_date(d)) {
        return Err(bad(
            seq,
            field,
            "日期格式应为 YYYY-MM-DD",
            "date must be YYYY-MM-DD",
        ));
    }
    Ok(())
}

fn sha(seq: u64, field: &str, s: &str) -> ApiResult<()> {
    if !is_sha256(s) {
        return Err(bad(
            seq,
            field,
            "应为 64 位小写十六进制 SHA-256",
            "must be 64 lower-case hex digits (SHA-256)",
        ));
    }
    Ok(())
}

impl Batch<'_> {
    /// Refuses a responsible unit the server does not know.
    fn known_unit(&self, seq: u64, unit: &Option<String>) -> ApiResult<()> {
        match unit {
            Some(u) if !self.refs.units.contains(u) => Err(bad(
                seq,
                "unit",
                "未知的责任单位",
                "unknown responsible unit",
            )),
            _ => Ok(()),
        }
    }

    fn inspection(&self, seq: u64, id: Uuid, field: &str) -> ApiResult<&(Uuid, Option<Template>)> {
        let found = self.inspections.get(&id).ok_or_else(|| {
            bad(
                seq,
                field,
                "引用的检查不存在（请先推送检查记录）",
                "refers to an unknown inspection (push the inspection first)",
            )
        })?;
        if found.0 != self.device {
            return Err(other_device(seq, found.0));
        }
        Ok(found)
    }

    fn check(
        &mut self,
        e: &OutboxEntry,
        signer_key: &str,
        max_photo_bytes: u64,
        max_side: u32,
    ) -> ApiResult<()> {
        let seq = e.seq;
        match &e.record {
            Record::Inspection(r) => {
                if !self.refs.sites.contains(&r.site_id) {
                    return Err(bad(seq, "site_id", "未知的考察点", "unknown site"));
                }
                let Some(t) = self
                    .refs
                    .templates
                    .get(&(r.template_id.clone(), r.template_version))
                else {
                    return Err(bad(
                        seq,
                        "template_version",
                        "未知的模板或版本（请先同步下载模板）",
                        "unknown template id or version (pull templates first)",
                    ));
                };
                text(seq, "inspector", &r.inspector, TextKind::Line, true)?;
                if r.started_at <= 0 || r.finished_at.is_some_and(|f| f < r.started_at) {
                    return Err(bad(
                        seq,
                        "finished_at",
                        "结束时间早于开始时间",
                        "finish is before start (or start is not set)",
                    ));
                }
                if r.discarded_at
                    .is_some_and(|d| d < r.started_at || r.finished_at.is_some())
                {
                    return Err(bad(
                        seq,
                        "discarded_at",
                        "放弃时间早于开始时间，或检查已完成",
                        "discarded before it started, or a finished inspection marked discarded",
                    ));
                }
                position(seq, "position", &r.position)?;
                if let Some(prev) = self.inspections.get(&r.id)
                    && prev.0 != self.device
                {
                    return Err(other_device(seq, prev.0));
                }
                self.inspections
                    .insert(r.id, (self.device, Some(t.clone())));
            }
            Record::ItemResult(r) => {
                let (_, template) = self.inspection(seq, r.inspection_id, "inspection_id")?;
                text(seq, "note", &r.note, TextKind::Free, false)?;
                let Some(template) = template else {
                    return Err(bad(
                        seq,
                        "inspection_id",
                        "检查所用模板版本已不存在",
                        "the inspection's template version is missing",
                    ));
                };
                let Some(item) = template.items.iter().find(|i| i.code == r.item_code) else {
                    return Err(bad(
                        seq,
                        "item_code",
                        "模板中没有此检查项",
                        "no such item in the inspection's template",
                    ));
                };
                let ok = match (item.kind, r.value) {
                    (_, ItemValue::NotApplicable) => true,
                    (ItemKind::Verdict, ItemValue::Compliant | ItemValue::NonCompliant) => true,
                    (ItemKind::Count { .. }, ItemValue::Count(_)) => true,
                    (ItemKind::Percent { .. }, ItemValue::Percent(p)) => {
                        if !(p.is_finite() && (0.0..=100.0).contains(&p)) {
                            return Err(bad(
                                seq,
                                "value",
                                "百分比应在 0 到 100 之间",
                                "percentage must be within 0-100",
                            ));
                        }
                        true
                    }
                    _ => false,
                };
                if !ok {
                    return Err(bad(
                        seq,
                        "value",
                        "答案类型与检查项不符",
                        "answer kind does not match the item's kind",
                    ));
                }
            }
            Record::Finding(r) => {
                if !self.refs.sites.contains(&r.site_id) {
                    return Err(bad(seq, "site_id", "未知的考察点", "unknown site"));
                }
                if let Some(i) = r.inspection_id {
                    let (_, template) = self.inspection(seq, i, "inspection_id")?;
                    if let (Some(code), Some(t)) = (&r.item_code, template)
                        && !t.items.iter().any(|it| &it.code == code)
                    {
                        return Err(bad(
                            seq,
                            "item_code",
                            "模板中没有此检查项",
                            "no such item in the inspection's template",
                        ));
                    }
                }
                if !self.refs.subcategories.is_empty()
                    && !self.refs.subcategories.contains(&r.subcategory)
                {
                    return Err(bad(
                        seq,
                        "subcategory",
                        "未知的问题小类",
                        "unknown taxonomy subcategory",
                    ));
                }
                self.known_unit(seq, &r.unit)?;
                text(seq, "description", &r.description, TextKind::Free, true)?;
                text(seq, "reporter", &r.reporter, TextKind::Line, true)?;
                date(seq, "deadline", &r.deadline)?;
                position(seq, "position", &r.position)?;
                if let Some(owner) = self.refs.findings.get(&r.id)
                    && *owner != self.device
                {
                    return Err(other_device(seq, *owner));
                }
                self.refs.findings.insert(r.id, self.device);
            }
            Record::Photo(r) => {
                sha(seq, "sha256", &r.sha256)?;
                if let Some(f) = r.finding_id {
                    let Some(owner) = self.refs.findings.get(&f) else {
                        return Err(bad(
                            seq,
                            "finding_id",
                            "引用的问题不存在",
                            "refers to an unknown finding",
                        ));
                    };
                    // Before and evidence photos only on the device's own findings; an
                    // after-photo is a re-check's (回头看) evidence about any finding.
                    if *owner != self.device && r.kind != PhotoKind::After {
                        return Err(other_device(seq, *owner));
                    }
                }
                if let Some(original) = &r.marked_from {
                    sha(seq, "marked_from", original)?;
                    if !self.refs.photos.contains_key(original) || original == &r.sha256 {
                        return Err(bad(
                            seq,
                            "marked_from",
                            "标注所依据的原照片不存在（请先推送原照片）",
                            "the original of a marked copy is unknown (push the original first)",
                        ));
                    }
                }
                if let Some(owner) = self.refs.photos.get(&r.sha256)
                    && *owner != self.device
                {
                    let mut e = ApiError::new(
                        StatusCode::CONFLICT,
                        "photo_taken",
                        format!(
                            "记录 seq {seq}：此照片已由另一台设备登记 / record seq {seq}: another device has already recorded this photo"
                        ),
                    );
                    e.seq = Some(seq);
                    e.field = Some("sha256".into());
                    return Err(e);
                }
                self.refs.photos.insert(r.sha256.clone(), self.device);
                if let Some(i) = r.inspection_id {
                    self.inspection(seq, i, "inspection_id")?;
                }
                if r.size_bytes == 0 || r.size_bytes > max_photo_bytes {
                    return Err(bad(
                        seq,
                        "size_bytes",
                        &format!("照片大小应在 1 到 {max_photo_bytes} 字节之间"),
                        &format!("size must be 1 to {max_photo_bytes} bytes"),
                    ));
                }
                if r.width == 0 || r.height == 0 || r.width > max_side || r.height > max_side {
                    return Err(bad(
                        seq,
                        "width",
                        &format!("宽高应在 1 到 {max_side} 像素之间"),
                        &format!("width and height must be 1 to {max_side} pixels"),
                    ));
                }
                position(seq, "position", &r.position)?;
                if verify_signature(r, signer_key).is_err() {
                    return Err(bad(
                        seq,
                        "signature",
                        "设备签名无效（请重新登录以登记设备密钥）",
                        "the device signature does not verify (log in again to register the device key)",
                    ));
                }
            }
            Record::Rectification(r) => {
                if !self.refs.findings.contains_key(&r.finding_id) {
                    return Err(bad(
                        seq,
                        "finding_id",
                        "引用的问题不存在",
                        "refers to an unknown finding",
                    ));
                }
                check_step(self.role, r).map_err(|f| step_refused(seq, f))?;
                self.known_unit(seq, &r.unit)?;
                date(seq, "deadline", &r.deadline)?;
                if let Some(p) = &r.photo_sha256 {
                    sha(seq, "photo_sha256", p)?;
                }
            }
            Record::CheckIn(r) => self.check_in(seq, r, signer_key)?,
        }
        Ok(())
    }
}

impl Batch<'_> {
    /// A check-in: a known site, whose label of this county it names, at a real time, signed
    /// by the device.
    fn check_in(&self, seq: u64, r: &CheckInRecord, signer_key: &str) -> ApiResult<()> {
        if !self.refs.sites.contains(&r.site_id) {
            return Err(bad(seq, "site_id", "未知的考察点", "unknown site"));
        }
        match site_label::parse(&r.label, self.county) {
            Ok(label) if label.site == r.site_id => {}
            Ok(_) => {
                return Err(bad(
                    seq,
                    "label",
                    "二维码所示点位与签到点位不符",
                    "the label names another site than the check-in",
                ));
            }
            Err(fault) => return Err(bad(seq, "label", fault.zh(), fault.en())),
        }
        text(seq, "inspector", &r.inspector, TextKind::Line, true)?;
        if r.at <= 0 {
            return Err(bad(
                seq,
                "at",
                "签到时间无效",
                "the check-in time is not set",
            ));
        }
        position(seq, "position", &r.position)?;
        if !fieldcheck_domain::device_signature::verify_check_in(signer_key, r) {
            return Err(bad(
                seq,
                "signature",
                "设备签名无效（请重新登录以登记设备密钥）",
                "the device signature does not verify (log in again to register the device key)",
            ));
        }
        Ok(())
    }
}

/// Validates every record of a batch against the looked-up reference data, as `pusher` may.
pub fn check_records(
    entries: &[OutboxEntry],
    pusher: &Pusher,
    mut refs: RefData,
    max_photo_bytes: u64,
    max_side: u32,
) -> ApiResult<()> {
    let inspections = refs
        .inspections
        .iter()
        .map(|(id, r)| {
            let t = refs
                .templates
                .get(&(r.template_id.clone(), r.template_version))
                .cloned();
            (*id, (r.device_id, t))
        })
        .collect();
    let mut batch = Batch {
        device: pusher.device,
        county: pusher.county,
        role: pusher.role,
        refs: &mut refs,
        inspections,
    };
    for e in entries {
        batch.check(e, pusher.key, max_photo_bytes, max_side)?;
    }
    Ok(())
}
