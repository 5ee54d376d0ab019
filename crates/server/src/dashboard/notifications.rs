//! 通知 in the dashboard: the messages units were sent ([`crate::notify`]) with where each
//! stands (sent, waiting, retried, failed with the robot's last answer). Admins see every
//! unit's and set each unit's group robot (企业微信 or 钉钉 webhook); a unit member sees its
//! own unit's messages.

use super::error::PageError;
use super::forms::{Redo, form_message, kept, message};
use super::layout::page;
use super::reference::Reference;
use super::session::Session;
use crate::app::SharedState;
use crate::notify::messages::RobotKind;
use crate::notify::outbox::{self, MAX_ATTEMPTS, Message};
use crate::office::Office;
use axum::extract::{Form, State};
use axum::response::{Redirect, Response};
use fieldcheck_domain::china_time::china_datetime;
use maud::{Markup, html};
use serde::Deserialize;

/// Messages listed at most.
const SHOWN: i64 = 200;

/// `GET /dashboard/notifications`: the page.
pub async fn notifications_page(
    State(state): State<SharedState>,
    session: Session,
) -> Result<Markup, PageError> {
    render(&state, &session, None).await
}

fn state_of(l: super::i18n::Lang, m: &Message) -> Markup {
    html! {
        @if let Some(at) = m.sent_at {
            span class="badge ok" { (l.t("已发送", "sent")) } " " (china_datetime(at))
        } @else if m.failed() {
            span class="badge overdue" { (l.t("发送失败", "failed")) } " " (m.last_error.as_deref().unwrap_or(""))
        } @else if m.attempts > 0 {
            span class="badge" { (l.t("重试中", "retrying")) " " (m.attempts) "/" (MAX_ATTEMPTS) } " " (m.last_error.as_deref().unwrap_or(""))
        } @else {
            span class="badge" { (l.t("待发送", "waiting")) }
        }
    }
}

async fn render(
    state: &SharedState,
    session: &Session,
    redo: Option<&Redo>,
) -> Result<Markup, PageError> {
    let l = session.lang;
    let store = state.store.as_ref();
    let reference = Reference::load(store).await?;
    let recent = outbox::recent(store, session.unit_scope(), SHOWN).await?;
    let hooks = if session.is_admin() {
        outbox::webhooks(store).await?
    } else {
        Vec::new()
    };
    let failed = recent.iter().filter(|m| m.failed()).count();
    let body = html! {
        p class="hint" { (l.t("问题派遣、退回、次日到期时，以及每天早上 8 点的待办汇总，都会通过责任单位的群机器人通知；没有设置机器人的单位在这里查看。",
                             "Units are told when a finding is dispatched or sent back to them, the day before it is due, and each morning at 8 with what they have open, through their group robot; units without one read it here.")) }
        @if failed > 0 {
            p class="notice" id="notify-failed" { (l.t("有 ", "")) (failed) (l.t(" 条通知发送失败，请检查对应单位的机器人地址。", " notifications failed: check those units' robot addresses.")) }
        }
        @if session.is_admin() {
            h2 { (l.t("各单位的群机器人", "Units' group robots")) }
            table id="webhooks" {
                thead { tr { th { (l.t("单位", "Unit")) } th { (l.t("机器人", "Robot")) } th { (l.t("地址", "Address")) } } }
                tbody {
                    @for h in &hooks {
                        tr class="webhook-row" { td { (reference.unit_name(l, &h.unit)) } td { (h.kind.label_zh()) } td { (h.url) } }
                    }
                }
            }
            form method="post" action="/dashboard/notifications/webhook" class="filters" id="webhook-form" {
                input type="hidden" name="csrf" value=(session.csrf);
                label { (l.t("单位", "Unit"))
                    select name="unit" id="webhook-unit" {
                        @for u in &reference.units { option value=(u.code) selected[kept(redo, "webhook-form", "unit", "") == u.code] { (reference.unit_name(l, &u.code)) } }
                    }
                    (message(redo, "webhook-form", "unit")) }
                label { (l.t("机器人", "Robot"))
                    select name="kind" id="webhook-kind" {
                        option value="wecom" { (RobotKind::WeCom.label_zh()) }
                        option value="dingtalk" selected[kept(redo, "webhook-form", "kind", "") == "dingtalk"] { (RobotKind::DingTalk.label_zh()) }
                        option value="" selected[redo.is_some_and(|r| r.value("webhook-form", "kind") == Some(""))] { (l.t("不通知（删除）", "none (remove)")) }
                    } }
                label { (l.t("Webhook 地址", "Webhook address")) input name="url" id="webhook-url" size="60" value=(kept(redo, "webhook-form", "url", "")); (message(redo, "webhook-form", "url")) }
                label { (l.t("加签密钥（钉钉，可空）", "Signing secret (DingTalk, optional)")) input name="secret" id="webhook-secret" value=""; (message(redo, "webhook-form", "secret")) }
                button type="submit" id="webhook-save" { (l.t("保存", "Save")) }
                (form_message(redo, "webhook-form", &["unit", "url", "secret"]))
            }
        }
        h2 { (l.t("最近的通知", "Recent notifications")) }
        table id="messages" {
            thead { tr { th { (l.t("时间", "Time")) } th { (l.t("单位", "Unit")) } th { (l.t("内容", "Message")) } th { (l.t("状态", "State")) } } }
            tbody {
                @for m in &recent {
                    tr class="message-row" data-reason=(m.reason) {
                        td { (china_datetime(m.created_at)) }
                        td { (reference.unit_name(l, &m.unit)) }
                        td class="message-text" { @for line in m.text.lines() { (line) br; } @if let Some(f) = &m.finding_id { a href={ "/dashboard/findings/" (f) } { (l.t("查看问题", "open the finding")) } } }
                        td { (state_of(l, m)) }
                    }
                }
            }
        }
    };
    Ok(page(session, l.t("通知", "Notifications"), body))
}

/// The webhook form.
#[derive(Deserialize)]
pub struct WebhookForm {
    csrf: String,
    unit: String,
    kind: String,
    url: String,
    #[serde(default)]
    secret: String,
}

/// `POST /dashboard/notifications/webhook` (admins): sets or removes a unit's robot.
pub async fn set_webhook(
    State(state): State<SharedState>,
    session: Session,
    Form(f): Form<WebhookForm>,
) -> Result<Response, PageError> {
    let result = async {
        session.check_csrf(&f.csrf)?;
        let robot = match RobotKind::parse(&f.kind) {
            Some(kind) => Some((kind, f.url.clone(), f.secret.clone())),
            None => None,
        };
        Office::new(&state, session.actor())
            .set_webhook(&f.unit, robot)
            .await?;
        Ok(Redirect::to("/dashboard/notifications"))
    }
    .await;
    let values = [
        ("unit", f.unit.as_str()),
        ("kind", f.kind.as_str()),
        ("url", f.url.as_str()),
    ];
    super::forms::answer("webhook-form", &values, result, async |redo| {
        render(&state, &session, Some(redo)).await
    })
    .await
}
