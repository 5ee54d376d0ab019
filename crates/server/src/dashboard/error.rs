//! Errors of dashboard pages: a page with a bilingual message ("中文 / English") that says what
//! to do, or a redirect to the login page. A signed-in account gets it inside the page frame
//! with its navigation ([`super::session::page_guard`] renders it, [`ErrorPage`]), and so does
//! a request axum itself refused (a form or address it could not read); a form's own page
//! shows a refusal about what was typed next to the field instead ([`super::forms`]).

use super::i18n::Lang;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, html};

/// Why a dashboard request was refused.
#[derive(Debug)]
pub enum PageError {
    /// No valid session: go to the login page.
    LoginRequired,
    /// A refusal with a status and a message in both languages.
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// Chinese message.
        zh: String,
        /// English message.
        en: String,
        /// The form field the message is about, when it is about one.
        field: Option<String>,
    },
}

/// A refusal as its answer carries it (a response extension), for the page frame to show.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    /// Chinese message.
    pub zh: String,
    /// English message.
    pub en: String,
}

impl PageError {
    /// A refusal with a status.
    pub fn new(status: StatusCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        PageError::Refused {
            status,
            zh: zh.into(),
            en: en.into(),
            field: None,
        }
    }

    /// 403.
    pub fn forbidden(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, zh, en)
    }

    /// 404.
    pub fn not_found(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, zh, en)
    }

    /// 422 for a form field (its name in the form): what to do about it, said next to the
    /// field when its form is shown again, or after the field's label on a page of its own.
    pub fn invalid(field: &str, zh: &str, en: &str) -> Self {
        PageError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            zh: zh.into(),
            en: en.into(),
            field: Some(field.into()),
        }
    }

    /// 403 for a form whose CSRF token is missing or wrong.
    pub fn csrf() -> Self {
        Self::forbidden(
            "表单校验失败（CSRF 令牌无效或已过期），未做任何修改。请刷新页面后重试",
            "form check failed (missing or wrong CSRF token); nothing was changed. Reload the page and try again",
        )
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::LoginRequired => StatusCode::SEE_OTHER,
            PageError::Refused { status, .. } => *status,
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "dashboard store error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "服务器内部错误，请稍后重试或联系管理员",
            "internal server error; retry later or tell the administrator",
        )
    }
}

/// An office write refused, in the dashboard's words.
impl From<crate::office::OfficeError> for PageError {
    fn from(e: crate::office::OfficeError) -> Self {
        use crate::office::OfficeError;
        match e {
            OfficeError::Invalid { fault, .. } => Self::invalid(fault.field, &fault.zh, &fault.en),
            OfficeError::Forbidden { zh, en } => Self::forbidden(zh, en),
            OfficeError::NotApplicable { status, action } => Self::new(
                StatusCode::CONFLICT,
                format!(
                    "问题当前为“{}”，不能{}；请刷新页面查看最新状态",
                    Lang::Zh.status(status),
                    Lang::Zh.action(action)
                ),
                format!(
                    "the finding is '{}': it cannot be {} now; reload the page",
                    Lang::En.status(status),
                    Lang::En.action(action).to_lowercase()
                ),
            ),
            OfficeError::Busy => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "服务器正忙，请稍后再试",
                "the server is busy; try again in a moment",
            ),
            OfficeError::Store(e) => e.into(),
        }
    }
}

impl From<crate::error::ApiError> for PageError {
    fn from(e: crate::error::ApiError) -> Self {
        let (zh, en) = e
            .message
            .split_once(" / ")
            .map_or((e.message.clone(), e.message.clone()), |(z, n)| {
                (z.to_string(), n.to_string())
            });
        Self::new(e.status, zh, en)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::LoginRequired => Redirect::to("/dashboard/login").into_response(),
            PageError::Refused {
                status,
                zh,
                en,
                field,
            } => {
                let (zh, en) = match field {
                    Some(f) => (
                        format!("“{}” 填写有误：{zh}", super::forms::label(Lang::Zh, &f)),
                        format!("'{}': {en}", super::forms::label(Lang::En, &f)),
                    ),
                    None => (zh, en),
                };
                // Without a session (the login page) it stands alone; the page guard puts it
                // in the frame of a signed-in account.
                let page = html! {
                    (DOCTYPE)
                    html lang="zh-CN" {
                        head { meta charset="utf-8"; title { "创城巡查 · " (status.as_u16()) }
                            link rel="stylesheet" href="/dashboard/static/app.css"; }
                        body { main class="narrow" {
                            (error_body(&zh, &en, None))
                        } }
                    }
                };
                let mut resp = (status, page).into_response();
                resp.extensions_mut().insert(ErrorPage { zh, en });
                resp
            }
        }
    }
}

/// The message of an error page, in both languages, and the ways on: back to the page the
/// request came from (`back`, a dashboard path), the overview and the ledger.
pub fn error_body(zh: &str, en: &str, back: Option<&str>) -> maud::Markup {
    html! {
        div class="error-page" {
            p class="error" id="error-zh" { (zh) }
            p class="error" lang="en" id="error-en" { (en) }
            p class="error-links" {
                @if let Some(back) = back { a href=(back) id="error-back" { "返回上一页 / back" } " · " }
                a href="/dashboard/overview" { "总览 / overview" } " · "
                a href="/dashboard/ledger" { "问题台账 / ledger" }
            }
        }
    }
}
