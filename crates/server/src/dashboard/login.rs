//! Signing in and out of the dashboard, and the language switch. The same accounts as the API
//! (Argon2id, the same failed-login counts per account and address); admins and unit members
//! only, inspectors work on tablets.

use super::error::PageError;
use super::i18n::Lang;
use super::session::{
    self, LANG_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_MS, cookie, lang_of,
    same_secret, set_cookie,
};
use crate::app::SharedState;
use crate::auth::new_token;
use crate::sign_in::{Refusal, sign_in};
use crate::store::AuditEntry;
use axum::Form;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use fieldcheck_protocol::Role;
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use std::net::SocketAddr;

fn login_form(l: Lang, csrf: &str, error: Option<(&str, &str)>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head { meta charset="utf-8"; title { (l.t("登录 · 创城巡查", "Log in · Fieldcheck")) }
                link rel="stylesheet" href="/dashboard/static/app.css"; }
            body { main class="narrow" {
                h1 { (l.t("创城巡查 · 创城办登录", "Fieldcheck · office login")) }
                @if let Some((zh, en)) = error { p class="error" id="login-error" { (match l { Lang::Zh => zh, Lang::En => en }) } }
                form method="post" action="/dashboard/login" id="login-form" {
                    input type="hidden" name="csrf" value=(csrf);
                    p { label { (l.t("用户名", "User name")) br; input name="username" id="username" autocomplete="username" required; } }
                    p { label { (l.t("密码", "Password")) br; input type="password" name="password" id="password" autocomplete="current-password" required; } }
                    p { button type="submit" id="login-submit" { (l.t("登录", "Log in")) } }
                }
                p { a href=(if l == Lang::Zh { "/dashboard/lang/en" } else { "/dashboard/lang/zh" }) id="lang-switch" { (l.t("English", "中文")) } }
            } }
        }
    }
}

/// `GET /dashboard/login`: the form, with a fresh double-submit CSRF cookie.
pub async fn login_page(headers: HeaderMap) -> Response {
    let (csrf, _) = new_token();
    (
        [(
            header::SET_COOKIE,
            set_cookie(&headers, LOGIN_CSRF_COOKIE, &csrf, 3600),
        )],
        login_form(lang_of(&headers), &csrf, None),
    )
        .into_response()
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    /// Must equal the `fc_login_csrf` cookie.
    #[serde(default)]
    pub csrf: String,
    /// Account name.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default)]
    pub password: String,
}

/// `POST /dashboard/login`.
pub async fn login(
    State(state): State<SharedState>,
    headers: HeaderMap,
    ext: Extensions,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let l = lang_of(&headers);
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(&form.csrf, expected) {
        return Err(PageError::csrf());
    }
    let refuse = |status: StatusCode, zh: &str, en: &str| {
        let (csrf, _) = new_token();
        Ok((
            status,
            [(
                header::SET_COOKIE,
                set_cookie(&headers, LOGIN_CSRF_COOKIE, &csrf, 3600),
            )],
            login_form(l, &csrf, Some((zh, en))),
        )
            .into_response())
    };
    let address = ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string());
    let user = match sign_in(&state, &form.username, &form.password, address).await {
        Ok(user) => user,
        Err(Refusal::TooLong) => {
            let (zh, en) = crate::auth::login_input_too_long();
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, &zh, &en);
        }
        Err(Refusal::TooMany { .. }) => {
            return refuse(
                StatusCode::TOO_MANY_REQUESTS,
                "登录失败次数过多，请稍后再试",
                "too many failed logins; try again later",
            );
        }
        Err(Refusal::Busy) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "服务器正忙，请稍后再试",
                "the server is busy; try again in a moment",
            );
        }
        Err(Refusal::BadCredentials) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "用户名或密码错误",
                "wrong user name or password",
            );
        }
        Err(Refusal::Disabled) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "账号已停用，请联系创城办",
                "the account is disabled; contact the office",
            );
        }
        Err(Refusal::Store(e)) => return Err(e.into()),
    };
    let now = crate::clock::now_ms();
    if user.role == Role::Inspector {
        return refuse(
            StatusCode::FORBIDDEN,
            "督查员请在平板上使用巡查应用",
            "inspectors work in the tablet app",
        );
    }
    let (token, _csrf) = session::open(&state, &user.name).await?;
    state
        .store
        .append_audit(&AuditEntry {
            at: now,
            actor: user.name.clone(),
            device_id: None,
            action: "dashboard_login".into(),
            target: user.name.clone(),
            detail: String::new(),
        })
        .await?;
    let mut resp = Redirect::to("/dashboard/overview").into_response();
    let h = resp.headers_mut();
    for c in [
        set_cookie(&headers, SESSION_COOKIE, &token, SESSION_TTL_MS / 1000),
        set_cookie(&headers, LOGIN_CSRF_COOKIE, "", 0),
    ] {
        h.append(
            header::SET_COOKIE,
            c.parse().expect("cookie is a valid header"),
        );
    }
    Ok(resp)
}

/// The logout form.
#[derive(Deserialize)]
pub struct LogoutForm {
    /// CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /dashboard/logout`.
pub async fn logout(
    State(state): State<SharedState>,
    headers: HeaderMap,
    session: session::Session,
    Form(form): Form<LogoutForm>,
) -> Result<Response, PageError> {
    session.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        session::close(&state, token).await?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(&headers, SESSION_COOKIE, "", 0),
        )],
        Redirect::to("/dashboard/login"),
    )
        .into_response())
}

/// `GET /dashboard/lang/{code}`: remembers the language (a cookie only; changes no data) and
/// goes back to the page the link was on.
pub async fn switch_language(headers: HeaderMap, Path(code): Path<String>) -> Response {
    let lang = Lang::from_code(&code);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/dashboard/").map(|i| r[i..].to_string()))
        .filter(|p| !p.contains("/dashboard/lang/"))
        .unwrap_or_else(|| "/dashboard/overview".into());
    let value = if lang == Lang::En { "en" } else { "zh" };
    (
        [(
            header::SET_COOKIE,
            set_cookie(&headers, LANG_COOKIE, value, 365 * 86_400),
        )],
        Redirect::to(&back),
    )
        .into_response()
}
