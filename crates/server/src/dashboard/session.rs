//! Browser sessions and CSRF protection.
//!
//! A session is a 256-bit random token in an HttpOnly, SameSite=Strict cookie (`Secure` when
//! the request came over HTTPS, as a TLS-terminating proxy says with `X-Forwarded-Proto`);
//! the server keeps only its SHA-256, with the account and a per-session CSRF token, in
//! `dash_sessions`, so any replica can check it. Every form carries the CSRF token in a hidden
//! `csrf` field and every POST compares it with the session's in constant time. The login form,
//! before there is a session, uses a double-submit cookie instead.

use super::PageAccess;
use super::error::{ErrorPage, PageError, error_body};
use super::i18n::Lang;
use crate::app::SharedState;
use crate::auth::{new_token, token_hash};
use crate::store::UserRow;
use crate::store::dashboard::Arg;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldcheck_protocol::Role;
use fieldcheck_store::dash_row;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "fc_session";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "fc_lang";
/// Name of the login form's double-submit CSRF cookie.
pub const LOGIN_CSRF_COOKIE: &str = "fc_login_csrf";
/// How long a session lasts (12 hours: a working day).
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;

/// The value of cookie `name`, if the request sent it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the request reached us over HTTPS (directly or through a proxy that says so).
fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, path `/dashboard`, Secure over HTTPS;
/// `max_age` 0 deletes the cookie.
pub fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if is_https(headers) { "; Secure" } else { "" };
    format!(
        "{name}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    )
}

/// The language the request asked for (cookie), Chinese by default.
pub fn lang_of(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE).map_or(Lang::Zh, Lang::from_code)
}

/// Compares two strings in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Opens a session for an account; returns the cookie token and the CSRF token.
pub async fn open(state: &SharedState, user: &str) -> Result<(String, String), PageError> {
    let (token, hash) = new_token();
    let (csrf, _) = new_token();
    let now = crate::clock::now_ms();
    state
        .store
        .dash_exec(vec![
            (
                "DELETE FROM dash_sessions WHERE expires_at < $1".into(),
                vec![Arg::Int(now)],
            ),
            (
                "INSERT INTO dash_sessions (token_hash, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)".into(),
                vec![
                    hash.into(),
                    user.into(),
                    csrf.clone().into(),
                    Arg::Int(now),
                    Arg::Int(now + SESSION_TTL_MS),
                ],
            ),
        ])
        .await?;
    Ok((token, csrf))
}

/// Ends the session a cookie token names.
pub async fn close(state: &SharedState, token: &str) -> Result<(), PageError> {
    state
        .store
        .dash_exec(vec![(
            "DELETE FROM dash_sessions WHERE token_hash = $1".into(),
            vec![token_hash(token).into()],
        )])
        .await?;
    Ok(())
}

/// A signed-in browser: the account (admin or unit member), its CSRF token and language.
#[derive(Clone, Debug)]
pub struct Session {
    /// The account.
    pub user: UserRow,
    /// The session's CSRF token (put in every form).
    pub csrf: String,
    /// The page language.
    pub lang: Lang,
}

impl Session {
    /// The signed-in account as the office service's actor, at the dashboard's door.
    pub fn actor(&self) -> crate::office::Actor {
        crate::office::Actor {
            name: self.user.name.clone(),
            role: self.user.role,
            device: None,
            door: crate::office::Door::Dashboard,
        }
    }

    /// Whether the account is an admin (创城办).
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The unit a unit member is confined to; `None` for admins.
    pub fn unit_scope(&self) -> Option<&str> {
        match self.user.role {
            Role::UnitMember => Some(self.user.unit.as_deref().unwrap_or("")),
            _ => None,
        }
    }

    /// Refuses a form whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, sent: &str) -> Result<(), PageError> {
        if same_secret(sent, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::csrf())
        }
    }
}

/// Lets a request through to its page only when the session may use it (`access`, from the
/// page table): signed out → the login page; the wrong role → 403. The session it found is
/// handed to the page, and a refusal comes back inside the page frame ([`framed`]).
pub async fn page_guard(
    State((state, access)): State<(SharedState, PageAccess)>,
    req: Request,
    next: Next,
) -> Result<Response, PageError> {
    if access == PageAccess::Public {
        return Ok(next.run(req).await);
    }
    let (mut parts, body) = req.into_parts();
    let session = Session::from_request_parts(&mut parts, &state).await?;
    let allowed = match access {
        PageAccess::Public | PageAccess::Office => true,
        PageAccess::Admin => session.user.role == Role::Admin,
        PageAccess::Unit => session.user.role == Role::UnitMember,
    };
    let back = referer_path(&parts.headers);
    if !allowed {
        let refusal = match access {
            PageAccess::Unit => PageError::forbidden(
                "只有责任单位可以进行此操作",
                "only a responsible unit may do this",
            ),
            _ => PageError::forbidden(
                "只有创城办管理员可以使用此页面或操作",
                "only office administrators may use this page or action",
            ),
        };
        return Ok(framed(&session, refusal.into_response(), back.as_deref()));
    }
    parts.extensions.insert(session.clone());
    let resp = next.run(Request::from_parts(parts, body)).await;
    Ok(framed(&session, resp, back.as_deref()))
}

/// The dashboard page a request came from (its `Referer`, this server's pages only).
fn referer_path(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("/dashboard/").map(|i| r[i..].to_string()))
        .filter(|p| !p.contains("/dashboard/lang/") && !p.contains(['"', '<', '>']))
}

/// A refusal shown inside the page frame, with the navigation and a way back to the page the
/// request came from: a page's own refusal ([`ErrorPage`]), or axum's plain-text answer to a
/// form or address it could not read. Any other answer passes unchanged.
fn framed(session: &Session, resp: Response, back: Option<&str>) -> Response {
    let l = session.lang;
    let status = resp.status();
    let (zh, en) = if let Some(e) = resp.extensions().get::<ErrorPage>() {
        (e.zh.clone(), e.en.clone())
    } else if status.is_client_error()
        && resp
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/plain"))
    {
        (
            "提交的内容无法读取，未做任何修改。请返回上一页，检查填写的内容后重试。".to_string(),
            "what was sent could not be read, and nothing was changed. Go back, check the form and try again.".to_string(),
        )
    } else {
        return resp;
    };
    let title = l.t("未能完成", "Not done");
    let page = super::layout::page(session, title, error_body(&zh, &en, back));
    (status, page).into_response()
}

impl FromRequestParts<SharedState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, PageError> {
        // The page guard has already found it.
        if let Some(session) = parts.extensions.get::<Session>() {
            return Ok(session.clone());
        }
        let lang = lang_of(&parts.headers);
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(PageError::LoginRequired)?;
        let rows = state
            .store
            .dash_query(
                &format!(
                    "SELECT {} FROM dash_sessions WHERE token_hash = $1",
                    SessionRow::columns()
                ),
                vec![token_hash(token).into()],
            )
            .await?;
        let Some(row) = rows.first().map(|r| SessionRow::from_cells(r)) else {
            return Err(PageError::LoginRequired);
        };
        if row.expires_at <= crate::clock::now_ms() {
            return Err(PageError::LoginRequired);
        }
        let user = state
            .store
            .user(&row.user_name)
            .await?
            .filter(|u| !u.disabled && u.role != Role::Inspector)
            .ok_or(PageError::LoginRequired)?;
        Ok(Session {
            user,
            csrf: row.csrf,
            lang,
        })
    }
}

dash_row! {
    /// A browser session as `dash_sessions` keeps it.
    struct SessionRow {
        csrf: String,
        expires_at: i64,
        user_name: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            COOKIE,
            HeaderValue::from_static("fc_session_old=1; fc_session=abc; fc_lang=en"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(lang_of(&h), Lang::En);
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_behind_https() {
        let mut h = HeaderMap::new();
        let plain = set_cookie(&h, SESSION_COOKIE, "t", 60);
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(set_cookie(&h, SESSION_COOKIE, "t", 60).ends_with("; Secure"));
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abcd", "abcd"));
        assert!(!same_secret("abcd", "abce"));
        assert!(!same_secret("abcd", "abc"));
        assert!(!same_secret("", "a"));
    }
}
