//! The printable licence: an A4 HTML page with the face fields in Chinese and English and
//! the paper seal as a QR code, and the agency endpoints that serve it and the QR image:
//!
//! - `GET /v1/licences/{identifier}/qr[?format=svg|png]` — the seal's QR code;
//! - `GET /v1/licences/{identifier}/print` — the printable page.
//!
//! Both need the issuing agency's bearer token: an agency prints only its own licences.
//! The page itself ([`licence_page`]) is pure: claims in, HTML out, every value escaped.

use crate::ledger::LicenceState;
use crate::licence::{HolderKind, CHINA_OFFSET};
use crate::seal::SealClaims;
use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A day as `YYYY-MM-DD` in China time.
fn day(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| {
            let d = t.to_offset(CHINA_OFFSET).date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        })
        .unwrap_or_else(|_| secs.to_string())
}

/// What the page says about the licence's current status, in Chinese and English.
pub fn state_label(state: LicenceState) -> (&'static str, &'static str) {
    match state {
        LicenceState::Valid => ("有效", "Valid"),
        LicenceState::Suspended => ("已暂扣", "Suspended"),
        LicenceState::Revoked => ("已撤销", "Revoked"),
    }
}

const STYLE: &str = r#"
@page { size: A4; margin: 16mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", SimSun, serif; color: #111; }
main { max-width: 178mm; margin: 0 auto; padding: 8mm 0; }
header { text-align: center; border-bottom: 1.5pt solid #8b0000; padding-bottom: 4mm; margin-bottom: 6mm; }
h1 { font-size: 30pt; letter-spacing: 0.3em; margin: 0; color: #8b0000; }
.en { font-family: "Noto Sans", Arial, sans-serif; font-size: 9pt; color: #444; }
h1 + .en { font-size: 13pt; letter-spacing: 0.1em; }
table { width: 100%; border-collapse: collapse; font-size: 12pt; }
th { width: 38%; text-align: left; vertical-align: top; padding: 2.2mm 3mm 2.2mm 0; font-weight: normal; }
th .zh { display: block; font-weight: bold; }
td { vertical-align: top; padding: 2.2mm 0; border-bottom: 0.5pt solid #ccc; white-space: pre-wrap; word-break: break-word; }
.bottom { display: flex; justify-content: space-between; align-items: flex-end; margin-top: 8mm; gap: 8mm; }
.issuer { font-size: 11pt; line-height: 1.6; }
.mono { font-family: "Noto Sans Mono", "DejaVu Sans Mono", monospace; font-size: 9pt; word-break: break-all; }
.qr { width: 62mm; text-align: center; }
.qr svg { width: 62mm; height: 62mm; display: block; }
.status { display: inline-block; padding: 0.5mm 2mm; border: 1pt solid currentColor; }
.status.revoked, .status.suspended { color: #b00000; }
@media screen { body { background: #eee; } main { background: #fff; padding: 16mm; margin: 8mm auto; box-shadow: 0 0 4mm #999; } }
@media print { .noprint { display: none; } }
"#;

fn row(out: &mut String, zh: &str, en: &str, value: &str) {
    let _ = writeln!(
        out,
        "<tr><th><span class=\"zh\">{}</span><span class=\"en\">{}</span></th><td>{}</td></tr>",
        escape_html(zh),
        escape_html(en),
        escape_html(value)
    );
}

/// The printable A4 page of a licence: its face fields with Chinese and English labels,
/// validity, issuer, identifier, current status and the seal's QR code (`qr_svg`, an inline
/// `<svg>` element made by [`SealQr::to_inline_svg`]). Every value from the licence is
/// HTML-escaped.
pub fn licence_page(
    claims: &SealClaims,
    issuer_name: &str,
    state: LicenceState,
    qr_svg: &str,
) -> String {
    let t = claims.licence_type;
    let id = claims.licence_id.to_string();
    let mut rows = String::new();
    let (name_zh, id_zh, id_en) = match t.holder_kind() {
        HolderKind::Organisation => ("名称", "统一社会信用代码", "Unified social credit code"),
        HolderKind::Person => ("姓名", "公民身份号码", "Resident ID number"),
    };
    row(&mut rows, name_zh, "Name", &claims.holder_name);
    row(&mut rows, id_zh, id_en, &claims.holder_id);
    for (spec, value) in claims.present_fields() {
        row(&mut rows, spec.zh, spec.en, value);
    }
    // Fields the seal leaves to the electronic licence (a business licence's scope).
    for spec in t.fields() {
        if !t.seal_fields().iter().any(|s| s.key == spec.key) {
            row(
                &mut rows,
                spec.zh,
                spec.en,
                "见电子证照 — see the electronic licence (SD-JWT VC)",
            );
        }
    }
    row(&mut rows, "有效期自", "Valid from", &day(claims.nbf));
    let until = match claims.exp {
        // exp is the start of the day after the last valid day.
        Some(exp) => day(exp.saturating_sub(1)),
        None => "长期 Permanent".to_owned(),
    };
    row(&mut rows, "有效期至", "Valid until", &until);
    let (state_zh, state_en) = state_label(state);
    let state_class = state_en.to_ascii_lowercase();
    format!(
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title_zh} {title_en} — {id}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header>
<h1>{title_zh}</h1>
<p class="en">{title_en}</p>
</header>
<table>
{rows}</table>
<div class="bottom">
<div class="issuer">
<div><span class="zh">发证机关</span> <span class="en">Issuing authority</span>: {issuer}</div>
<div><span class="zh">签发日期</span> <span class="en">Issued</span>: {issued}</div>
<div><span class="zh">状态</span> <span class="en">Status</span>: <span class="status {state_class}">{state_zh} {state_en}</span></div>
<div><span class="zh">证照标识</span> <span class="en">Licence identifier</span>:</div>
<div class="mono">{id}</div>
</div>
<figure class="qr">
{qr_svg}
<figcaption><span class="zh">扫码核验</span> <span class="en">Scan to verify</span></figcaption>
</figure>
</div>
<p class="noprint en">Print this page on A4 paper (the browser's print dialog; margins as set by the page).</p>
</main>
</body>
</html>
"#,
        title_zh = escape_html(t.name_zh()),
        title_en = escape_html(t.name_en()),
        id = escape_html(&id),
        issuer = escape_html(issuer_name),
        issued = day(claims.iat),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::codes::Uscc;
    use crate::licence::LicenceRequest;

    fn claims() -> SealClaims {
        let mut req: LicenceRequest =
            serde_json::from_str(include_str!("../fixtures/requests/business_licence.json"))
                .unwrap();
        req.holder.name = "<script>alert(\"x\")</script> & Co".into();
        req.valid_until = Some("2044-02-29".into());
        let l = req
            .validate(&Uscc::parse("11350100MB00000012").unwrap())
            .unwrap();
        SealClaims::from_licence(&l, "https://x", 1_709_222_400, None)
    }

    #[test]
    fn page_escapes_values_and_prints_on_a4() {
        let page = licence_page(
            &claims(),
            "示例市市场监督管理局 <b>",
            LicenceState::Valid,
            "<svg></svg>",
        );
        assert!(page.contains("@page { size: A4"));
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co"));
        assert!(page.contains("示例市市场监督管理局 &lt;b&gt;"));
        for label in [
            "营业执照",
            "Business licence",
            "住所",
            "Domicile",
            "法定代表人",
        ] {
            assert!(page.contains(label), "{label}");
        }
        assert!(page.contains("2024-03-01"), "valid from");
        assert!(page.contains("2044-02-29"), "the last valid day, not exp");
        assert!(page.contains("<svg></svg>"));
    }

    #[test]
    fn escape_covers_attribute_quotes() {
        assert_eq!(escape_html(r#"a"b'c<d>&"#), "a&quot;b&#39;c&lt;d&gt;&amp;");
    }
}
