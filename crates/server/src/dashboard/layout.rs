//! The page frame (header, navigation, language switch) and the stylesheet, with print rules
//! for the printable report and the overview. No front-end build: the CSS is a string in the
//! binary.

use super::i18n::Lang;
use super::session::Session;
use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

/// The stylesheet, served at `/dashboard/static/app.css`.
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",sans-serif;margin:0;color:#1d2733;background:#f4f6f8;font-size:14px}
header.top{background:#b3261e;color:#fff;display:flex;align-items:center;gap:1.2em;padding:.6em 1.2em}
header.top a{color:#fff;text-decoration:none}
header.top .brand{font-weight:700;font-size:1.1em}
header.top nav{display:flex;flex-wrap:wrap;gap:.2em 1em;flex:1}
header.top nav a{white-space:nowrap}
header.top form{display:inline}
main{padding:1em 1.2em}
footer.version{color:#5b6b7c;font-size:.8em;padding:.4em 1.2em 1em}
@media print{footer.version{display:none}}
main.narrow{max-width:28em;margin:3em auto;background:#fff;padding:2em;border-radius:6px}
h1{font-size:1.3em;margin:.2em 0 .8em}
h2{font-size:1.1em;margin:1.2em 0 .5em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #dde3ea;padding:.35em .5em;text-align:left;vertical-align:middle}
th{background:#eef2f6;white-space:nowrap}
td,th,dd,li,h1,h2,figcaption,a,span,option{unicode-bidi:isolate}
th a{color:inherit}
td.thumb img{width:64px;height:48px;object-fit:cover;border-radius:3px}
.filters{display:flex;flex-wrap:wrap;gap:.5em .8em;align-items:end;background:#fff;padding:.8em;border-radius:6px;margin-bottom:.8em}
.filters label{display:flex;flex-direction:column;font-size:.85em;gap:.2em}
input,select,textarea,button{font:inherit;padding:.3em .4em}
button,.button{background:#b3261e;color:#fff;border:0;border-radius:4px;padding:.4em .9em;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#5b6b7c}
.badge{display:inline-block;padding:.05em .5em;border-radius:1em;background:#dde3ea;font-size:.85em;white-space:nowrap;word-break:keep-all}
.badge.overdue{background:#b3261e;color:#fff;font-weight:600}
.badge.status{border:1px solid transparent}
.badge.status-open{background:#fff4e5;color:#8a4b00;border-color:#e6a23c}
.badge.status-dispatched{background:#e3f0fb;color:#0b4f8a;border-color:#7fb0dd}
.badge.status-rectified{background:#f1e6fb;color:#5e2390;border-color:#b48ad8}
.badge.status-verified{background:#e3f3e6;color:#1e6b33;border-color:#86c296}
.badge.status-closed{background:#2e7d32;color:#fff}
.badge.status-sent_back{background:#fde8e8;color:#a4262c;border-color:#e38b8f}
.nowrap{white-space:nowrap}
.muted{color:#5b6b7c}
.table-wrap{overflow-x:auto}
#ledger td{word-break:keep-all}
#ledger td.when,#ledger td.deadline,#ledger td.status,#ledger td.checkin,#ledger small.category{white-space:nowrap}
#ledger td.site{min-width:8em}
#ledger td.unit{min-width:7em;max-width:11em}
#ledger td.description{min-width:14em;word-break:normal;overflow-wrap:anywhere}
#ledger td.status .badge{margin:.1em 0}
#ledger tr.overdue td{background:#fff6f5}
#ledger tr.overdue td:first-child{box-shadow:inset 4px 0 0 #b3261e}
.field-error{display:block;color:#b3261e;font-weight:600;font-size:.9em;margin:.2em 0;max-width:28em}
.field-error .en{font-weight:400}
input.invalid,textarea.invalid,select.invalid{border:2px solid #b3261e;background:#fff6f5}
.error-page{background:#fff;padding:1em 1.2em;border-radius:6px;max-width:44em}
.error-links a{color:#0b4f8a}
a.card{color:inherit;text-decoration:none;border:1px solid #dde3ea}
a.card:hover{border-color:#5b6b7c}
.card small{display:block;color:#5b6b7c;font-size:.8em}
.card.alert b{color:#b3261e}
.card.good b{color:#2e7d32}
.figures-top .card{min-width:14em;flex:1}
.figures-top .card b{font-size:2em}
.status-strip{display:flex;flex-wrap:wrap;gap:.4em 1.2em;margin:1em 0;background:#fff;padding:.6em .8em;border-radius:6px}
.status-strip a{color:inherit;text-decoration:none}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:1em}
.chart-card{background:#fff;border-radius:6px;padding:.6em .8em;break-inside:avoid;page-break-inside:avoid;min-width:0}
.chart-card h2{margin:.2em 0 .4em}
.chart{display:none;width:100%;height:280px}
.charts-on .chart{display:block}
.charts-on .figures{display:none}
table.figures td.num,table.figures th.num{text-align:right;font-variant-numeric:tabular-nums}
.badge.ok{background:#2e7d32;color:#fff}
.badge.bad{background:#b3261e;color:#fff}
.error{color:#b3261e;font-weight:600}
.notice{background:#fff4e5;border-left:4px solid #e68a00;padding:.6em .8em;margin:.6em 0}
.pager{display:flex;gap:.6em;align-items:center;margin:.8em 0}
.photos{display:flex;gap:1em;flex-wrap:wrap}
.photos figure{margin:0;background:#fff;padding:.5em;border-radius:6px}
.photos img{max-width:420px;max-height:320px;display:block}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1em;background:#fff;padding:.8em;border-radius:6px}
dl.facts dt{color:#5b6b7c}
dl.facts dd{margin:0}
.actions{display:flex;flex-wrap:wrap;gap:1em;margin:1em 0}
.actions form{background:#fff;padding:.8em;border-radius:6px;display:flex;flex-direction:column;gap:.4em;min-width:16em}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{background:#fff;padding:.8em 1em;border-radius:6px;min-width:10em}
.card b{font-size:1.4em;display:block}
.bar{height:.8em;background:#b3261e;border-radius:2px}
progress{width:24em;height:1.2em}
.report-block{background:#fff;padding:.8em;margin:.8em 0;border-radius:6px;page-break-inside:avoid;break-inside:avoid}
.report-block .photos img{max-width:45%;max-height:240px}
.bulletin-title{text-align:center;color:#b3261e;font-size:1.25em}
.worst-case .photos{flex-wrap:nowrap}
.worst-case .photos figure{flex:1 1 0;min-width:0}
.worst-case .photos img{max-width:100%;max-height:240px}
.unit-list li{margin:.2em 0}
.labels{display:grid;grid-template-columns:repeat(3,1fr);gap:4mm}
.label{background:#fff;border:1px dashed #999;padding:3mm;text-align:center;break-inside:avoid;page-break-inside:avoid}
.label svg{width:40mm;height:40mm;display:block;margin:0 auto}
.label-name{font-size:13pt;font-weight:bold}
.label-place{font-size:10pt}
@media print{
  @page{size:A4;margin:10mm}
  .labels{grid-template-columns:repeat(3,62mm);grid-auto-rows:62mm;gap:3mm}
  .label svg{width:38mm;height:38mm}
  header.top,.filters,.pager,.no-print,.actions{display:none!important}
  body{background:#fff;font-size:11pt}
  main{padding:0}
  .chart-grid{display:block}
  .chart-card{border:1px solid #999;border-radius:0;margin:0 0 4mm}
  .chart{width:180mm;height:80mm}
  .charts-on .figures{display:table}
  .figures-top .card{border:1px solid #999}
  .badge.status,.badge.overdue{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  .report-block{border:1px solid #999;border-radius:0}
  a{color:inherit;text-decoration:none}
}
"#;

/// Serves the stylesheet.
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

/// A page inside the frame: title, navigation for the account's role, language switch.
pub fn page(s: &Session, title: &str, body: Markup) -> Markup {
    let l = s.lang;
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.t("创城巡查", "Fieldcheck")) }
                link rel="stylesheet" href="/dashboard/static/app.css";
                script src=(super::assets::PRINT_JS_PATH) defer {}
            }
            body {
                header class="top" {
                    span class="brand" { (l.t("创城巡查 · 创城办", "Fieldcheck · Office")) }
                    nav {
                        a href="/dashboard/overview" id="nav-overview" { (l.t("总览", "Overview")) }
                        a href="/dashboard/ledger" id="nav-ledger" { (l.t("问题台账", "Ledger")) }
                        a href="/dashboard/map" id="nav-map" { (l.t("地图", "Map")) }
                        a href="/dashboard/notifications" id="nav-notifications" { (l.t("通知", "Notifications")) }
                        @if s.is_admin() {
                            a href="/dashboard/scores" id="nav-scores" { (l.t("测评得分", "Scores")) }
                            a href="/dashboard/division" id="nav-division" { (l.t("任务分工", "Task division")) }
                            a href="/dashboard/mock-evaluation" id="nav-mock" { (l.t("模拟测评", "Mock evaluation")) }
                            a href="/dashboard/accountability" id="nav-accountability" { (l.t("倒查责任", "Accountability")) }
                            a href="/dashboard/bulletin" id="nav-bulletin" { (l.t("通报", "Bulletin")) }
                            a href="/dashboard/manage" id="nav-manage" { (l.t("管理", "Manage")) }
                        }
                    }
                    span class="who" id="who" title=(s.user.name) {
                        (s.user.shown_name()) " · " (l.role(s.user.role))
                    }
                    a href=(lang_link(l)) id="lang-switch" { (l.t("English", "中文")) }
                    form method="post" action="/dashboard/logout" {
                        input type="hidden" name="csrf" value=(s.csrf);
                        button class="secondary" type="submit" id="logout" { (l.t("退出", "Log out")) }
                    }
                }
                main { h1 { (title) } (body) }
                footer class="version" id="version" {
                    (l.t("创城巡查 服务器 ", "Fieldcheck server ")) (fieldcheck_build_info::VERSION_LINE)
                }
            }
        }
    }
}

/// The link that switches to the other language.
fn lang_link(l: Lang) -> &'static str {
    match l {
        Lang::Zh => "/dashboard/lang/en",
        Lang::En => "/dashboard/lang/zh",
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}
