//! What a unit is told, and how a group robot is spoken to: the message texts (Chinese, as
//! the units read them) and the request bodies of 企业微信 and 钉钉 group robots, with 钉钉's
//! signature when the robot asks for one.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The kind of group robot a unit's webhook is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RobotKind {
    /// 企业微信群机器人.
    WeCom,
    /// 钉钉自定义机器人.
    DingTalk,
}

impl RobotKind {
    /// The stored name: `wecom` or `dingtalk`.
    pub fn as_str(self) -> &'static str {
        match self {
            RobotKind::WeCom => "wecom",
            RobotKind::DingTalk => "dingtalk",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<RobotKind> {
        match s {
            "wecom" => Some(RobotKind::WeCom),
            "dingtalk" => Some(RobotKind::DingTalk),
            _ => None,
        }
    }

    /// Its name for people.
    pub fn label_zh(self) -> &'static str {
        match self {
            RobotKind::WeCom => "企业微信群机器人",
            RobotKind::DingTalk => "钉钉群机器人",
        }
    }
}

/// What a finding's message names: its number, site and problem.
pub struct About<'a> {
    /// The short number (`20261201-003`), or the id when it has none.
    pub number: &'a str,
    /// The site's name.
    pub site: &'a str,
    /// What was found.
    pub description: &'a str,
}

/// 派遣: the unit is to fix it by the deadline.
pub fn dispatched(a: &About<'_>, unit_name: &str, deadline: Option<&str>, note: &str) -> String {
    let by = deadline.map_or(String::new(), |d| {
        format!("，请于 {d} 前整改并上传整改照片")
    });
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("\n说明：{note}")
    };
    format!(
        "【创城巡查】问题 {} 已派遣给{unit_name}{by}。\n点位：{}\n问题：{}{note}",
        a.number, a.site, a.description
    )
}

/// 退回: the fix was not accepted.
pub fn sent_back(a: &About<'_>, reason: &str) -> String {
    format!(
        "【创城巡查】问题 {} 的整改未通过复核，已退回，请重新整改。\n点位：{}\n问题：{}\n退回原因：{reason}",
        a.number, a.site, a.description
    )
}

/// The deadline is tomorrow and the fix is not reported yet.
pub fn due_soon(a: &About<'_>, deadline: &str) -> String {
    format!(
        "【创城巡查】问题 {} 将于 {deadline} 到期，尚未整改，请抓紧处理。\n点位：{}\n问题：{}",
        a.number, a.site, a.description
    )
}

/// The morning digest of a unit's open findings.
pub fn digest(day: &str, unit_name: &str, open: i64, overdue: i64, due_soon: i64) -> String {
    format!(
        "【创城巡查】{day} {unit_name}待整改问题 {open} 件，其中已逾期 {overdue} 件，今明两天到期 {due_soon} 件。请登录创城巡查平台查看问题台账。"
    )
}

/// The JSON body a robot of `kind` takes for `text`.
pub fn body(kind: RobotKind, text: &str) -> serde_json::Value {
    match kind {
        RobotKind::WeCom | RobotKind::DingTalk => serde_json::json!({
            "msgtype": "text",
            "text": { "content": text },
        }),
    }
}

/// The address to post to: for a 钉钉 robot with a signing secret, the webhook with
/// `timestamp` (Unix ms) and `sign` = Base64(HMAC-SHA256(secret, "timestamp\nsecret")),
/// URL-encoded, as 钉钉 documents it; otherwise the webhook as it is.
pub fn address(kind: RobotKind, url: &str, secret: &str, now_ms: i64) -> String {
    if kind != RobotKind::DingTalk || secret.is_empty() {
        return url.to_string();
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(format!("{now_ms}\n{secret}").as_bytes());
    let sign = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let sign: String = url::form_urlencoded::byte_serialize(sign.as_bytes()).collect();
    let join = if url.contains('?') { '&' } else { '?' };
    format!("{url}{join}timestamp={now_ms}&sign={sign}")
}

/// Whether a robot's answer means the message was taken: both robots answer HTTP 200 with
/// `{"errcode":0}`; any other code (a wrong key, a rate limit) is a failure to retry.
pub fn accepted(status: u16, answer: &str) -> Result<(), String> {
    if status != 200 {
        return Err(format!(
            "HTTP {status}: {}",
            answer.chars().take(200).collect::<String>()
        ));
    }
    let code = serde_json::from_str::<serde_json::Value>(answer)
        .ok()
        .and_then(|v| v.get("errcode").and_then(serde_json::Value::as_i64));
    match code {
        Some(0) => Ok(()),
        _ => Err(format!(
            "robot refused: {}",
            answer.chars().take(200).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dingtalk_robot_with_a_secret_gets_the_documented_signature() {
        // 钉钉's documented algorithm, computed independently for this key and time.
        let url = address(
            RobotKind::DingTalk,
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            "SEC123",
            1_700_000_000_000,
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"SEC123").unwrap();
        mac.update(b"1700000000000\nSEC123");
        let raw = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let encoded: String = url::form_urlencoded::byte_serialize(raw.as_bytes()).collect();
        assert_eq!(
            url,
            format!(
                "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign={encoded}"
            )
        );
        assert_eq!(
            address(RobotKind::WeCom, "https://x/y", "SEC123", 1),
            "https://x/y"
        );
        assert_eq!(
            address(RobotKind::DingTalk, "https://x/y", "", 1),
            "https://x/y"
        );
    }

    #[test]
    fn only_errcode_zero_with_http_200_is_taken() {
        assert!(accepted(200, r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(accepted(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#).is_err());
        assert!(accepted(200, "ok").is_err());
        assert!(accepted(502, r#"{"errcode":0}"#).is_err());
    }

    #[test]
    fn messages_name_the_finding_the_site_and_the_deadline() {
        let a = About {
            number: "20261201-003",
            site: "文庙后巷1号",
            description: "井盖缺失",
        };
        let m = dispatched(&a, "城管局", Some("2026-12-04"), "责任人：张三");
        assert!(m.contains("20261201-003") && m.contains("城管局") && m.contains("2026-12-04"));
        assert!(m.contains("文庙后巷1号") && m.contains("井盖缺失") && m.contains("张三"));
        assert!(sent_back(&a, "照片看不清").contains("照片看不清"));
        assert!(due_soon(&a, "2026-12-02").contains("2026-12-02"));
        assert_eq!(body(RobotKind::WeCom, "hi")["text"]["content"], "hi");
    }
}
