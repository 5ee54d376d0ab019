//! A finding's page (before and after photos side by side, watermark data, position, who
//! recorded it on which device, whether each photo's hash and signature verified, the full
//! append-only history) and the steps of the loop taken in the browser: 派遣 (admin), 处置
//! with an after-photo (the unit), 核查, 结案 and 退回 with a reason (admin).

use super::error::PageError;
use super::forms::{Redo, form_message, is_wrong, kept, message, refused_notice};
use super::i18n::Lang;
use super::layout::{csrf_field, page};
use super::ledger::{LedgerRow, fmt_time, overdue_badge, rows_by_id, status_badge};
use super::numbers::finding_number;
use super::photos::visible_finding;
use super::presence::{Work, check_ins};
use super::reference::Reference;
use super::session::Session;
use crate::app::{AppState, SharedState};
use crate::office::Office;
use crate::photo_check::verify_signature;
use crate::store::dashboard::Arg;
use crate::store::{FindingRow, PhotoRow};
use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{Redirect, Response};
use fieldcheck_domain::accountability::{Holder, Trail, trail};
use fieldcheck_domain::rectification::{Status, allowed, derive_status};
use fieldcheck_protocol::{Hlc, Position, RectificationAction, RectificationEventRecord, Role};
use fieldcheck_store::dash_row;
use maud::{Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A photo of the finding as the page shows it.
struct PhotoView {
    sha256: String,
    kind: &'static str,
    row: Option<PhotoRow>,
    signature_ok: bool,
    uploaded_by: Option<String>,
}

dash_row! {
    /// A photo a tablet recorded for the finding (the view `photo_findings` of `photos`).
    struct TabletPhoto {
        sha256: String,
        kind: String,
    }
}

dash_row! {
    /// An after-photo the office uploaded for the finding (`dash_uploads`).
    struct OfficeUpload {
        sha256: String,
        uploaded_by: String,
    }
}

async fn photos_of(state: &SharedState, id: Uuid) -> Result<Vec<PhotoView>, PageError> {
    let mut out = Vec::new();
    let rows = state
        .store
        .dash_query(
            &format!(
                "SELECT {} FROM photo_findings WHERE finding_id = $1 ORDER BY sha256",
                TabletPhoto::columns()
            ),
            vec![Arg::from(id.to_string())],
        )
        .await?;
    for r in rows {
        let TabletPhoto { sha256, kind } = TabletPhoto::from_cells(&r);
        let row = state.store.photo(&sha256).await?;
        let signature_ok = row
            .as_ref()
            .is_some_and(|p| verify_signature(&p.record, &p.signer_key).is_ok());
        out.push(PhotoView {
            sha256,
            kind: match kind.as_str() {
                "after" => "after",
                "before" => "before",
                _ => "evidence",
            },
            row,
            signature_ok,
            uploaded_by: None,
        });
    }
    for r in state
        .store
        .dash_query(
            &format!(
                "SELECT {} FROM dash_uploads WHERE finding_id = $1 ORDER BY at",
                OfficeUpload::columns()
            ),
            vec![Arg::from(id.to_string())],
        )
        .await?
    {
        let OfficeUpload {
            sha256,
            uploaded_by,
        } = OfficeUpload::from_cells(&r);
        out.push(PhotoView {
            sha256,
            kind: "after",
            row: None,
            signature_ok: false,
            uploaded_by: Some(uploaded_by),
        });
    }
    Ok(out)
}

fn position(l: Lang, p: &Option<Position>) -> Markup {
    html! {
        @match p {
            Some(p) => {
                (format!("{:.6}, {:.6}", p.lat, p.lon)) " ±" (format!("{:.0}", p.accuracy_m)) " m · "
                (match p.source { fieldcheck_protocol::PositionSource::Gps => "GPS", fieldcheck_protocol::PositionSource::Manual => l.t("手动输入", "typed by hand") })
            }
            None => { (l.t("无", "none")) }
        }
    }
}

fn photo_figure(l: Lang, p: &PhotoView, reference: &Reference) -> Markup {
    let src = format!("/dashboard/photos/{}", p.sha256);
    html! {
        figure class={ "photo " (p.kind) } data-sha=(p.sha256) {
            a href=(src) target="_blank" { img src={ (src) "/thumb" } alt=(p.kind); }
            figcaption {
                b { (match p.kind { "before" => l.t("整改前", "Before"), "after" => l.t("整改后", "After"), _ => l.t("佐证", "Evidence") }) }
                @if let Some(r) = &p.row {
                    br; (l.t("拍摄时间", "Taken")) "：" (fmt_time(r.record.captured_at))
                    " (" (match r.record.time_source { fieldcheck_protocol::TimeSource::Trusted => l.t("可信时间", "trusted time"), fieldcheck_protocol::TimeSource::Device => l.t("设备时间", "device clock") }) ")"
                    @if r.record.device_clock_offset_ms.abs() > 120_000 {
                        br; span class="badge bad" { (l.t("设备时钟偏差", "device clock off by")) " " (r.record.device_clock_offset_ms / 1000) " s" }
                    }
                    br; (l.t("位置", "Position")) "：" (position(l, &r.record.position))
                    br; (r.record.width) "×" (r.record.height) " · " (r.record.size_bytes / 1024) " KB"
                    @if let Some(original) = &r.record.marked_from {
                        br; span class="badge marked" { (l.t("已标注", "marked")) } " "
                        a class="original-link" href={ "/dashboard/photos/" (original) } target="_blank" { (l.t("查看原图", "see the original")) }
                    }
                    br;
                    @if r.stored { span class="badge ok hash-ok" title=(p.sha256) { (l.t("原片未改动 ✓", "unaltered original ✓")) } } @else { span class="badge" { (l.t("照片尚未上传", "not uploaded yet")) } }
                    " "
                    @if p.signature_ok { span class="badge ok sig-ok" { (l.t("拍摄平板签名有效 ✓", "signed by the tablet that took it ✓")) } } @else { span class="badge bad" { (l.t("签名无效：照片或记录可能被改动", "signature invalid: the photo or its record may have been altered")) } }
                }
                @if let Some(by) = &p.uploaded_by {
                    br; (l.t("网页上传", "uploaded in the browser by")) "：" span title=(by) { (reference.person_name(by)) }
                    br; span class="badge ok hash-ok" title=(p.sha256) { (l.t("原片未改动 ✓", "unaltered original ✓")) } " · " (l.t("网页上传，无平板签名", "uploaded in the browser, no tablet signature"))
                }

            }
        }
    }
}

/// `GET /dashboard/findings/{id}`.
pub async fn finding_page(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
) -> Result<Markup, PageError> {
    render(&state, &session, id, None).await
}

/// The finding's page; `redo` is a form of it sent back with what was typed.
async fn render(
    state: &SharedState,
    session: &Session,
    id: Uuid,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let state = state.clone();
    let session = session.clone();
    let l = session.lang;
    let row = visible_finding(&state, &session, id).await?;
    let line = rows_by_id(state.store.as_ref(), &[id.to_string()])
        .await?
        .pop();
    let reference = Reference::load(state.store.as_ref()).await?;
    let mut photos = photos_of(&state, id).await?;
    // A marked copy first, its original one tap away (and listed after it).
    photos.sort_by_key(|p| {
        p.row
            .as_ref()
            .is_none_or(|r| r.record.marked_from.is_none())
    });
    let devices = state.store.list_devices().await?;
    let f = &row.record;
    let status = derive_status(row.events.iter());
    let site = reference.sites.iter().find(|s| s.id == f.site_id);
    let device = devices.iter().find(|d| d.id == f.device_id);
    let site_id = f.site_id.to_string();
    let work = [Work {
        id: "finding",
        site_id: &site_id,
        inspector: &f.reporter,
        at: f.created_at,
    }];
    let checked_in = check_ins(state.store.as_ref(), &work)
        .await?
        .remove("finding");
    let mut events = row.events.clone();
    events.sort_by_key(|e| (e.hlc, e.id));
    let number = finding_number(state.store.as_ref(), &id.to_string()).await?;
    let body = html! {
        (refused_notice(l, redo))
        p { @if let Some(n) = &number { strong class="number" id="finding-number" { (n) } " " }
            (status_badge(l, status.as_str(), false))
            @if let Some(days) = line.as_ref().and_then(LedgerRow::overdue_days) { " " (overdue_badge(l, days)) }
            @if f.same_day { " " span class="badge" { (l.t("当场整改：应当日结案", "Same day: to be closed the day it was found")) } } }
        dl class="facts" id="finding-facts" {
            dt { (l.t("问题描述", "Problem")) } dd id="finding-description" { (f.description) }
            dt { (l.t("点位", "Site")) } dd { @if let Some(s) = site { (s.name) " · " (s.district) " " (s.street) " · " (s.address) } @else { (f.site_id) } }
            dt { (l.t("类别", "Category")) } dd { (l.category(f.category.as_str())) " · " (reference.subcategory_name(l, &f.subcategory)) @if let Some(c) = &f.item_code { " · " (c) } }
            dt { (l.t("严重程度", "Severity")) } dd { (l.severity(f.severity.as_str())) }
            dt { (l.t("发现时间", "Found")) } dd { (fmt_time(f.created_at)) }
            dt { (l.t("位置", "Position")) } dd { (position(l, &f.position)) }
            dt { (l.t("记录人", "Recorded by")) } dd id="finding-reporter" { span title=(f.reporter) { (reference.person_name(&f.reporter)) } " · " (l.t("设备", "device")) " " span title=(f.device_id) { (device.map_or_else(|| l.t("未知设备", "unknown device").to_string(), |d| d.label.clone())) } }
            dt { (l.t("到场核验", "On-site check-in")) } dd id="finding-checkin" {
                @if let Some(at) = checked_in {
                    span class="badge ok" { (l.t("到场核验 ✓", "checked in ✓")) } " " (fmt_time(at)) " · " (l.t("记录人当天扫码点位二维码，设备签名有效", "the reporter scanned the site's label that day; device signature valid"))
                } @else {
                    span class="badge" { (l.t("无扫码记录", "no check-in")) } " " (l.t("记录人当天未扫码点位二维码", "the reporter did not scan the site's label that day"))
                }
            }
            dt { (l.t("责任单位", "Unit")) } dd id="finding-unit" { @if let Some(u) = &row.current_unit { (reference.unit_name(l, u)) } @else { (l.t("未派遣", "not dispatched")) } }
            dt { (l.t("整改期限", "Deadline")) } dd { @if let Some(d) = line.as_ref().and_then(|r| r.deadline.clone()) { (d) } }
        }
        h2 { (l.t("整改前后照片", "Before and after")) }
        div class="photos" id="photos" {
            @for p in photos.iter().filter(|p| p.kind != "after") { (photo_figure(l, p, &reference)) }
            @for p in photos.iter().filter(|p| p.kind == "after") { (photo_figure(l, p, &reference)) }
            @if photos.is_empty() { p { (l.t("暂无照片", "no photos yet")) } }
        }
        (actions(&session, &reference, &row, status, redo))
        h2 { (l.t("处置记录（只增不改）", "History (append-only)")) }
        table id="history" {
            thead { tr { th { (l.t("步骤", "Step")) } th { (l.t("操作人", "By")) } th { (l.t("单位/期限", "Unit / deadline")) } th { (l.t("说明", "Note")) } th { (l.t("照片", "Photo")) } th { (l.t("时间", "Time")) } } }
            tbody {
                @for e in &events {
                    tr class="history-row" data-action=(e.action.as_str()) {
                        td { (l.action(e.action)) }
                        td { span title=(e.actor) { (reference.person_name(&e.actor)) } }
                        td { @if let Some(u) = &e.unit { (reference.unit_name(l, u)) } @if let Some(d) = &e.deadline { " · " (d) } }
                        td { (e.note) }
                        td { @if let Some(p) = &e.photo_sha256 { a href={ "/dashboard/photos/" (p) } target="_blank" { (l.t("查看照片", "open photo")) } } }
                        td { (fmt_time(e.hlc.unix_millis())) }
                    }
                }
            }
        }
        (trail_table(l, &reference, &trail(f, &row.events, crate::clock::now_ms())))
    };
    let title = match &number {
        Some(n) => format!("{} {n}", l.t("问题", "Finding")),
        None => l.t("问题详情", "Finding").to_string(),
    };
    Ok(page(&session, &title, body))
}

/// 倒查责任: each stage of the finding with who held it, from when to when, the deadline that
/// applied and whether it was missed, and who moved it on.
fn trail_table(l: Lang, reference: &Reference, trail: &Trail) -> Markup {
    let holder = |h: &Holder| match h {
        Holder::Office => l.t("创城办", "the office").to_string(),
        Holder::Recheck => l.t("复核（回头看）", "re-check").to_string(),
        Holder::Unit(u) => reference.unit_name(l, u).to_string(),
    };
    html! {
        h2 { (l.t("倒查责任：各环节的持有方与期限", "Accountability: who held it, and the deadlines")) }
        table id="trail" {
            thead { tr { th { (l.t("环节", "Stage")) } th { (l.t("持有方", "Held by")) } th { (l.t("起止时间", "From – to")) } th { (l.t("天数", "Days")) } th { (l.t("期限", "Deadline")) } th { (l.t("是否逾期", "Missed")) } th { (l.t("移交", "Moved on by")) } } }
            tbody {
                @for st in &trail.stages {
                    tr class="trail-row" data-missed=(st.missed) {
                        td { (l.status(st.status)) }
                        td class="trail-holder" { (holder(&st.holder)) }
                        td { (fmt_time(st.from_ms)) " – " @if let Some(to) = st.to_ms { (fmt_time(to)) } @else { (l.t("至今", "now")) } }
                        td { (st.days_held) }
                        td { (st.deadline.as_deref().unwrap_or("—")) }
                        td class="trail-missed" { @if st.missed { span class="badge overdue" { (l.t("逾期 ", "late by ")) (st.days_overdue) (l.t(" 天", " days")) } } @else if st.deadline.is_some() { (l.t("按期", "on time")) } @else { "—" } }
                        td { @if let (Some(by), Some(action)) = (&st.moved_on_by, st.moved_on_with) { span title=(by) { (reference.person_name(by)) } " · " (l.action(action)) } }
                    }
                }
            }
        }
    }
}

/// The forms for the steps this account may take now; a form in `redo` shows what was typed
/// and the sentence about it.
fn actions(
    s: &Session,
    reference: &Reference,
    row: &FindingRow,
    status: Status,
    redo: Option<&Redo>,
) -> Markup {
    let l = s.lang;
    let id = row.record.id;
    let may = |action| allowed(s.user.role, status, action);
    let today = fieldcheck_domain::china_time::china_date(crate::clock::now_ms());
    let unit = kept(
        redo,
        "dispatch-form",
        "unit",
        row.current_unit.as_deref().unwrap_or(""),
    );
    html! {
        div class="actions" {
            @if may(RectificationAction::Dispatched) {
                form method="post" action={ "/dashboard/findings/" (id) "/dispatch" } id="dispatch-form" {
                    b { (l.t("派遣给责任单位", "Dispatch to a unit")) }
                    (form_message(redo, "dispatch-form", &["unit", "deadline", "note"]))
                    (csrf_field(s))
                    label { (l.t("责任单位", "Unit")) select name="unit" id="dispatch-unit" {
                        @for u in &reference.units { option value=(u.code) selected[unit == u.code] { (l.name(&u.name_zh, &u.name_en)) } }
                    } }
                    (message(redo, "dispatch-form", "unit"))
                    label { (l.t("整改期限", "Deadline"))
                        input type="date" name="deadline" id="dispatch-deadline" required min=(today)
                            value=(kept(redo, "dispatch-form", "deadline", ""))
                            class=[is_wrong(redo, "dispatch-form", "deadline").then_some("invalid")] autofocus[is_wrong(redo, "dispatch-form", "deadline")]; }
                    (message(redo, "dispatch-form", "deadline"))
                    label { (l.t("说明", "Note")) textarea name="note" rows="2" { (kept(redo, "dispatch-form", "note", "")) } }
                    (message(redo, "dispatch-form", "note"))
                    button type="submit" id="dispatch-submit" { (l.t("派遣", "Dispatch")) }
                }
            }
            @if s.user.role == Role::UnitMember && status == Status::Open {
                p class="notice" id="awaiting-dispatch" {
                    (l.t("此问题尚待创城办派遣；派遣后即可在此上报整改。", "The office has not dispatched this finding yet; once it does, report the fix here."))
                }
            }
            @if s.user.role == Role::UnitMember && may(RectificationAction::Rectified) {
                form method="post" action={ "/dashboard/findings/" (id) "/rectify" } enctype="multipart/form-data" id="rectify-form" {
                    b { (l.t("上报整改（处置）", "Report the fix")) }
                    (form_message(redo, "rectify-form", &["photo", "note"]))
                    (csrf_field(s))
                    label { (l.t("整改后照片（JPEG/PNG）", "After-photo (JPEG/PNG)")) input type="file" name="photo" accept="image/jpeg,image/png" id="rectify-photo" required; }
                    (message(redo, "rectify-form", "photo"))
                    label { (l.t("整改说明", "What was done")) textarea name="note" rows="2" id="rectify-note" { (kept(redo, "rectify-form", "note", "")) } }
                    (message(redo, "rectify-form", "note"))
                    button type="submit" id="rectify-submit" { (l.t("提交", "Submit")) }
                }
            }
            @if may(RectificationAction::Verified) {
                (note_form(s, id, "verify", ("核查", "Verify"), ("核查说明", "Note"), ("核查通过", "Verified"), redo))
            }
            @if may(RectificationAction::Closed) {
                (note_form(s, id, "close", ("结案", "Close"), ("说明", "Note"), ("结案", "Close"), redo))
                (note_form(s, id, "send-back", ("退回", "Send back"), ("退回原因（必填）", "Reason (required)"), ("退回", "Send back"), redo))
            }
        }
    }
}

/// The form of a step that takes only a note, posted to `/dashboard/findings/{id}/{step}`;
/// its elements are named `{step}-form`, `{step}-note` and `{step}-submit`. Texts are
/// (Chinese, English).
fn note_form(
    s: &Session,
    id: Uuid,
    step: &str,
    title: (&'static str, &'static str),
    note: (&'static str, &'static str),
    button: (&'static str, &'static str),
    redo: Option<&Redo>,
) -> Markup {
    let l = s.lang;
    let form = format!("{step}-form");
    html! {
        form method="post" action={ "/dashboard/findings/" (id) "/" (step) } id=(form) {
            b { (l.t(title.0, title.1)) }
            (form_message(redo, &form, &["note"]))
            (csrf_field(s))
            label { (l.t(note.0, note.1)) textarea name="note" rows="2" id={ (step) "-note" }
                class=[is_wrong(redo, &form, "note").then_some("invalid")] autofocus[is_wrong(redo, &form, "note")] { (kept(redo, &form, "note", "")) } }
            (message(redo, &form, "note"))
            button type="submit" class=[(step == "send-back").then_some("secondary")] id={ (step) "-submit" } { (l.t(button.0, button.1)) }
        }
    }
}

/// A step form: CSRF token, note, and for 派遣 the unit and deadline.
#[derive(Deserialize)]
pub struct StepForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
    /// Note or reason.
    #[serde(default)]
    pub note: String,
    /// Unit (派遣).
    #[serde(default)]
    pub unit: String,
    /// Deadline `YYYY-MM-DD` (派遣).
    #[serde(default)]
    pub deadline: String,
}

/// A step taken in the browser.
struct Step {
    action: RectificationAction,
    note: String,
    unit: Option<String>,
    deadline: Option<String>,
    photo: Option<String>,
}

impl Step {
    fn new(action: RectificationAction, note: String) -> Step {
        Step {
            action,
            note,
            unit: None,
            deadline: None,
            photo: None,
        }
    }
}

/// Records a step written in the browser through the office service, which checks it first.
async fn append(
    state: &SharedState,
    session: &Session,
    row: &FindingRow,
    step: Step,
) -> Result<Redirect, PageError> {
    let event = event_of(session, row, step);
    Office::new(state, session.actor())
        .record_step(row, &event)
        .await?;
    Ok(to_finding(row.record.id))
}

/// The step as it will be stored: a new event by the session's account (the office service
/// stamps it when it records it).
fn event_of(session: &Session, row: &FindingRow, step: Step) -> RectificationEventRecord {
    let Step {
        action,
        note,
        unit,
        deadline,
        photo,
    } = step;
    RectificationEventRecord {
        id: Uuid::now_v7(),
        finding_id: row.record.id,
        action,
        actor: session.user.name.clone(),
        note,
        unit,
        deadline,
        photo_sha256: photo,
        hlc: Hlc::ZERO,
    }
}

/// Back to the finding's page.
fn to_finding(id: Uuid) -> Redirect {
    Redirect::to(&format!("/dashboard/findings/{id}"))
}

/// The answer to a step's form: the finding's page when the step was taken; when it was refused
/// for what was typed (or the finding moved on meanwhile), the page again with the form `form`
/// as it was sent and the sentence next to the field ([`Redo`]).
async fn answer(
    state: &SharedState,
    session: &Session,
    id: Uuid,
    form: &str,
    values: &[(&str, &str)],
    result: Result<Redirect, PageError>,
) -> Result<Response, PageError> {
    super::forms::answer(form, values, result, async |redo| {
        render(state, session, id, Some(redo)).await
    })
    .await
}

/// `POST /dashboard/findings/{id}/dispatch` (admin): 派遣 with a unit and a deadline (not
/// before today: the office service's rule, [`Office::check_step`]).
pub async fn dispatch(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&form.csrf)?;
        let row = visible_finding(&state, &session, id).await?;
        if form.deadline.is_empty() {
            return Err(PageError::invalid(
                "deadline",
                "请选择整改期限。",
                "choose a deadline.",
            ));
        }
        let step = Step {
            unit: Some(form.unit.clone()),
            deadline: Some(form.deadline.clone()),
            ..Step::new(RectificationAction::Dispatched, form.note.clone())
        };
        append(&state, &session, &row, step).await
    }
    .await;
    let values = [
        ("unit", form.unit.as_str()),
        ("deadline", form.deadline.as_str()),
        ("note", form.note.as_str()),
    ];
    answer(&state, &session, id, "dispatch-form", &values, result).await
}

/// `POST /dashboard/findings/{id}/verify` (admin): 核查 in the office.
pub async fn verify(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    admin_step(&state, &session, id, form, RectificationAction::Verified).await
}

/// `POST /dashboard/findings/{id}/close` (admin): 结案.
pub async fn close(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    admin_step(&state, &session, id, form, RectificationAction::Closed).await
}

/// An admin's step that needs nothing but a note (a 退回 a reason): CSRF, role and visibility
/// checked first.
async fn admin_step(
    state: &SharedState,
    session: &Session,
    id: Uuid,
    form: StepForm,
    action: RectificationAction,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&form.csrf)?;
        let row = visible_finding(state, session, id).await?;
        if action == RectificationAction::SentBack && form.note.trim().is_empty() {
            return Err(PageError::invalid(
                "note",
                "请写明退回原因。",
                "say why it is sent back.",
            ));
        }
        append(state, session, &row, Step::new(action, form.note.clone())).await
    }
    .await;
    let name = match action {
        RectificationAction::Verified => "verify-form",
        RectificationAction::Closed => "close-form",
        _ => "send-back-form",
    };
    answer(state, session, id, name, &[("note", &form.note)], result).await
}

/// `POST /dashboard/findings/{id}/send-back` (admin): 退回 with a reason.
pub async fn send_back(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    Form(form): Form<StepForm>,
) -> Result<Response, PageError> {
    admin_step(&state, &session, id, form, RectificationAction::SentBack).await
}

/// Checks a browser upload: JPEG or PNG by its header, dimensions within the limit (read from
/// the header, before any pixel is decoded), then a full decode. Returns (width, height, mime).
pub fn check_upload(bytes: &[u8], max_side: u32) -> Result<(u32, u32, &'static str), PageError> {
    let bad = || {
        PageError::invalid(
            "photo",
            "照片须为 JPEG 或 PNG 图片",
            "the photo must be a JPEG or PNG image",
        )
    };
    match fieldcheck_photo_codec::check_image(bytes, max_side) {
        Ok(info) => Ok((info.width, info.height, info.mime)),
        Err(fieldcheck_photo_codec::CodecError::TooLarge { .. }) => Err(PageError::invalid(
            "photo",
            &format!("照片边长不能超过 {max_side} 像素"),
            &format!("the photo may be at most {max_side} pixels a side"),
        )),
        Err(e) => {
            tracing::info!(error = %e, "dashboard upload refused");
            Err(bad())
        }
    }
}

/// `POST /dashboard/findings/{id}/rectify` (the finding's unit): 处置 with an after-photo and
/// a note. The photo is checked ([`check_upload`]), named by its SHA-256 and stored like tablet
/// photos; the step names it.
pub async fn rectify(
    State(state): State<SharedState>,
    session: Session,
    Path(id): Path<Uuid>,
    form: Multipart,
) -> Result<Response, PageError> {
    let mut note = String::new();
    let result = take_fix(&state, &session, id, form, &mut note).await;
    answer(
        &state,
        &session,
        id,
        "rectify-form",
        &[("note", &note)],
        result,
    )
    .await
}

/// Reads the 处置 form (its note into `note`, kept if the form comes back) and records it.
async fn take_fix(
    state: &SharedState,
    session: &Session,
    id: Uuid,
    mut form: Multipart,
    note: &mut String,
) -> Result<Redirect, PageError> {
    let mut csrf = String::new();
    let mut photo: Option<Vec<u8>> = None;
    let too_big = || {
        PageError::invalid(
            "photo",
            "照片太大，请压缩后再上传",
            "the photo is too large; make it smaller",
        )
    };
    while let Some(field) = form.next_field().await.map_err(|_| too_big())? {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.map_err(|_| PageError::csrf())?,
            "note" => *note = field.text().await.map_err(|_| too_big())?,
            "photo" => {
                let b = field.bytes().await.map_err(|_| too_big())?;
                if !b.is_empty() {
                    photo = Some(b.to_vec());
                }
            }
            _ => {}
        }
    }
    session.check_csrf(&csrf)?;
    let row = visible_finding(state, session, id).await?;
    let bytes = photo.ok_or_else(|| {
        PageError::invalid("photo", "请附上整改后照片。", "attach an after-photo.")
    })?;
    if bytes.len() as u64 > state.limits.max_photo_bytes {
        return Err(too_big());
    }
    // Everything is checked before anything is stored: the step (status, role, note), then
    // the image (bounded like every decode), and only then the photo and the step are kept.
    let sha = hex::encode(Sha256::digest(&bytes));
    let step = Step {
        photo: Some(sha.clone()),
        ..Step::new(RectificationAction::Rectified, note.clone())
    };
    let event = event_of(session, &row, step);
    let office = Office::new(state, session.actor());
    office.check_step(&row, &event).await?;
    let max_side = state.limits.max_image_side;
    let (bytes, checked) = state
        .decode_bounded(move || {
            let checked = check_upload(&bytes, max_side);
            (bytes, checked)
        })
        .await?;
    let (width, height, mime) = checked?;
    let io_err = |e: std::io::Error| PageError::from(crate::error::ApiError::internal(e));
    state
        .blobs
        .put(&sha, bytes::Bytes::from(bytes))
        .await
        .map_err(io_err)?;
    let upload = NewUpload {
        finding_id: id,
        uploaded_by: session.user.name.clone(),
        mime,
        width,
        height,
        at: crate::clock::now_ms(),
    };
    keep_office_upload(state, &sha, &upload).await?;
    office.record_step(&row, &event).await?;
    Ok(to_finding(id))
}

/// An after-photo a unit or the office uploaded from the dashboard (its bytes already stored).
#[derive(Clone, Debug)]
pub struct NewUpload {
    /// The finding it proves fixed.
    pub finding_id: Uuid,
    /// The account that uploaded it.
    pub uploaded_by: String,
    /// `image/jpeg` or `image/png`.
    pub mime: &'static str,
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// When, Unix milliseconds.
    pub at: i64,
}

/// Records photo `sha` (stored in the blob store) as an office upload for its finding, once.
pub async fn keep_office_upload(
    state: &AppState,
    sha: &str,
    upload: &NewUpload,
) -> Result<(), crate::store::StoreError> {
    state
        .store
        .dash_exec(vec![(
            "INSERT INTO dash_uploads (sha256, finding_id, uploaded_by, content_type, width, height, at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING".into(),
            vec![
                sha.into(),
                upload.finding_id.to_string().into(),
                upload.uploaded_by.clone().into(),
                upload.mime.into(),
                Arg::Int(i64::from(upload.width)),
                Arg::Int(i64::from(upload.height)),
                Arg::Int(upload.at),
            ],
        )])
        .await?;
    Ok(())
}
