//! The well-known token formats that gitleaks and detect-secrets recognise, by
//! their documented prefixes and shapes, without regular expressions.
//!
//! Every matcher tries the places where a token starts (found once per text) for
//! a fixed prefix (or a short anchor such as `eyJ`), then counts the characters
//! allowed after it. A format's prefix is public knowledge, so it stays visible in
//! a masked snippet (`ghp_****`); the rest of the token is the secret.

use super::Finding;

/// Which characters may follow a prefix.
#[derive(Clone, Copy)]
enum Body {
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Za-z]`
    Alpha,
    /// `[A-Za-z0-9_]`
    AlnumUnder,
    /// `[A-Za-z0-9_-]`
    Word,
    /// `[A-Za-z0-9_=-]`
    WordEq,
    /// `[0-9a-f]`
    Hex,
    /// `[a-z0-9]`
    LowerAlnum,
    /// `[A-Za-z0-9+/=]`
    Base64,
    /// `[A-Za-z0-9_/-]`
    UrlPath,
}

impl Body {
    fn allows(self, b: u8) -> bool {
        match self {
            Body::Alnum => b.is_ascii_alphanumeric(),
            Body::Alpha => b.is_ascii_alphabetic(),
            Body::AlnumUnder => b.is_ascii_alphanumeric() || b == b'_',
            Body::Word => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Body::WordEq => b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'=',
            Body::Hex => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
            Body::LowerAlnum => b.is_ascii_digit() || b.is_ascii_lowercase(),
            Body::Base64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=',
            Body::UrlPath => b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'/',
        }
    }
}

/// A token made of a fixed prefix and at least `min` characters of `body`
/// (exactly `min` when `exact`); `contains` must occur in the body when set.
struct Prefixed {
    prefix: &'static str,
    body: Body,
    min: usize,
    exact: bool,
    contains: Option<&'static str>,
    kind: &'static str,
}

const fn p(prefix: &'static str, body: Body, min: usize, kind: &'static str) -> Prefixed {
    Prefixed { prefix, body, min, exact: false, contains: None, kind }
}

const GITHUB: &str = "a GitHub token";
const GITLAB: &str = "a GitLab token";
const SLACK: &str = "a Slack token";
const STRIPE: &str = "a Stripe secret key";
const VAULT: &str = "a Vault token";
const OPENAI: &str = "an OpenAI API key";

/// The prefixed formats, most specific first.
const PREFIXED: &[Prefixed] = &[
    p("github_pat_", Body::AlnumUnder, 22, GITHUB),
    p("ghp_", Body::Alnum, 30, GITHUB),
    p("gho_", Body::Alnum, 30, GITHUB),
    p("ghu_", Body::Alnum, 30, GITHUB),
    p("ghs_", Body::Alnum, 30, GITHUB),
    p("ghr_", Body::Alnum, 30, GITHUB),
    p("glpat-", Body::Word, 20, GITLAB),
    p("gldt-", Body::Word, 20, GITLAB),
    p("glrt-", Body::Word, 20, GITLAB),
    p("glptt-", Body::Word, 20, GITLAB),
    p("glsoat-", Body::Word, 20, GITLAB),
    p("glcbt-", Body::Word, 20, GITLAB),
    p("GR1348941", Body::Word, 20, GITLAB),
    p("xoxb-", Body::Word, 10, SLACK),
    p("xoxp-", Body::Word, 10, SLACK),
    p("xoxa-", Body::Word, 10, SLACK),
    p("xoxo-", Body::Word, 10, SLACK),
    p("xoxs-", Body::Word, 10, SLACK),
    p("xoxr-", Body::Word, 10, SLACK),
    p("xoxe-", Body::Word, 10, SLACK),
    p("xapp-", Body::Word, 10, SLACK),
    p("hooks.slack.com/services/", Body::UrlPath, 20, "a Slack webhook URL"),
    p("hooks.slack.com/workflows/", Body::UrlPath, 20, "a Slack webhook URL"),
    p("discord.com/api/webhooks/", Body::UrlPath, 20, "a Discord webhook URL"),
    p("discordapp.com/api/webhooks/", Body::UrlPath, 20, "a Discord webhook URL"),
    p("sk_live_", Body::Alnum, 10, STRIPE),
    p("rk_live_", Body::Alnum, 10, STRIPE),
    p("sk_test_", Body::Alnum, 10, STRIPE),
    p("rk_test_", Body::Alnum, 10, STRIPE),
    p("sk_prod_", Body::Alnum, 10, STRIPE),
    p("rk_prod_", Body::Alnum, 10, STRIPE),
    p("whsec_", Body::Alnum, 20, "a Stripe webhook secret"),
    p("AIza", Body::Word, 35, "a Google API key"),
    p("npm_", Body::Alnum, 36, "an npm token"),
    p("hvs.", Body::Word, 24, VAULT),
    p("hvb.", Body::Word, 24, VAULT),
    p("hvr.", Body::Word, 24, VAULT),
    p("pypi-AgEIcHlwaS5vcmc", Body::Word, 50, "a PyPI token"),
    p("sk-ant-", Body::Word, 32, "an Anthropic API key"),
    p("sk-proj-", Body::Word, 32, OPENAI),
    p("sk-svcacct-", Body::Word, 32, OPENAI),
    p("sk-admin-", Body::Word, 32, OPENAI),
    Prefixed { prefix: "sk-", body: Body::Word, min: 40, exact: false, contains: Some("T3BlbkFJ"), kind: OPENAI },
    p("hf_", Body::Alpha, 34, "a Hugging Face token"),
    p("dop_v1_", Body::Hex, 64, "a DigitalOcean token"),
    p("doo_v1_", Body::Hex, 64, "a DigitalOcean token"),
    p("dor_v1_", Body::Hex, 64, "a DigitalOcean token"),
    p("shpat_", Body::Hex, 32, "a Shopify token"),
    p("shpss_", Body::Hex, 32, "a Shopify token"),
    p("shpca_", Body::Hex, 32, "a Shopify token"),
    p("shppa_", Body::Hex, 32, "a Shopify token"),
    p("sq0atp-", Body::Word, 22, "a Square token"),
    p("sq0csp-", Body::Word, 40, "a Square OAuth secret"),
    p("EAAA", Body::Word, 60, "a Square token"),
    p("AKCp", Body::Alnum, 60, "an Artifactory API key"),
    p("lin_api_", Body::Alnum, 40, "a Linear API key"),
    p("PMAK-", Body::Word, 59, "a Postman API key"),
    p("sntrys_", Body::WordEq, 50, "a Sentry token"),
    p("glsa_", Body::Word, 32, "a Grafana token"),
    p("glc_", Body::WordEq, 32, "a Grafana token"),
    p("dapi", Body::Hex, 32, "a Databricks token"),
    p("AccountKey=", Body::Base64, 80, "an Azure storage account key"),
    p("SharedAccessKey=", Body::Base64, 40, "an Azure shared access key"),
    Prefixed { prefix: "SK", body: Body::LowerAlnum, min: 32, exact: true, contains: None, kind: "a Twilio API key" },
    Prefixed {
        prefix: "AC",
        body: Body::LowerAlnum,
        min: 32,
        exact: true,
        contains: None,
        kind: "a Twilio account SID",
    },
];

/// The length of the run of `body` characters at `from`.
fn run(bytes: &[u8], from: usize, body: Body) -> usize {
    bytes[from.min(bytes.len())..].iter().take_while(|b| body.allows(**b)).count()
}

/// Where a token may start: each ASCII letter or digit at the start of `bytes` or
/// after a byte that is neither. Every format starts with a letter or a digit, so
/// the matchers below try only these positions (a tenth of an image reference's
/// bytes), found once per text.
pub fn token_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut after_alnum = false;
    for (i, b) in bytes.iter().enumerate() {
        let alnum = b.is_ascii_alphanumeric();
        if alnum && !after_alnum {
            starts.push(i);
        }
        after_alnum = alnum;
    }
    starts
}

/// Every well-known token format in `text`, whose [`token_starts`] are `starts`.
pub fn find(text: &str, starts: &[usize], out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    // One pass over the token starts, trying at each only the prefixes that start
    // with its byte; findings are then put in the order of PREFIXED, as a scan per
    // prefix gives.
    let by_first = prefixes_by_first_byte();
    let mut found: Vec<(usize, Finding)> = Vec::new();
    for &i in starts {
        for &k in &by_first[bytes[i] as usize] {
            let f = &PREFIXED[k];
            if !bytes[i..].starts_with(f.prefix.as_bytes()) {
                continue;
            }
            let from = i + f.prefix.len();
            let len = run(bytes, from, f.body);
            let ok = if f.exact { len == f.min } else { len >= f.min };
            if !ok || f.contains.is_some_and(|c| !text[from..from + len].contains(c)) {
                continue;
            }
            found.push((k, Finding { kind: f.kind, start: from, end: from + len }));
        }
    }
    found.sort_by_key(|(k, _)| *k);
    out.extend(found.into_iter().map(|(_, f)| f));
    aws_key_ids(bytes, starts, out);
    jwts(bytes, starts, out);
    sendgrid(bytes, starts, out);
    mailchimp(bytes, starts, out);
    telegram(bytes, starts, out);
    discord_bot(bytes, starts, out);
}

/// The indexes into [`PREFIXED`] of the prefixes starting with each byte.
fn prefixes_by_first_byte() -> &'static [Vec<usize>] {
    static TABLE: std::sync::OnceLock<Vec<Vec<usize>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = vec![Vec::new(); 256];
        for (k, f) in PREFIXED.iter().enumerate() {
            table[f.prefix.as_bytes()[0] as usize].push(k);
        }
        table
    })
}

/// `(AKIA|ASIA|ABIA|ACCA|A3T?)[A-Z0-9]{16}`: the prefix stays visible.
fn aws_key_ids(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    let upper = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit();
    for &i in starts {
        if bytes[i] != b'A' || i + 20 > bytes.len() {
            continue;
        }
        let head = &bytes[i..i + 4];
        let known =
            matches!(head, b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA") || (head.starts_with(b"A3T") && upper(&head[3]));
        if known && bytes[i + 4..i + 20].iter().all(upper) {
            let end = i + 4 + run(bytes, i + 4, Body::Alnum).max(16);
            out.push(Finding { kind: "an AWS access key id", start: i + 4, end });
        }
    }
}

/// `eyJ<header>.<payload>[.<signature>]`: a JSON web token (`eyJ` is `{"` in
/// base64). The header stays visible; payload and signature are masked.
fn jwts(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    for &i in starts {
        if !bytes[i..].starts_with(b"eyJ") {
            continue;
        }
        let header = run(bytes, i, Body::WordEq);
        let dot = i + header;
        if header < 10 || bytes.get(dot) != Some(&b'.') {
            continue;
        }
        let payload = run(bytes, dot + 1, Body::WordEq);
        if payload < 10 || !bytes[dot + 1..].starts_with(b"ey") {
            continue;
        }
        let mut end = dot + 1 + payload;
        if bytes.get(end) == Some(&b'.') {
            end += 1 + run(bytes, end + 1, Body::WordEq);
        }
        out.push(Finding { kind: "a JSON web token", start: dot + 1, end });
    }
}

/// `SG.<22>.<43>`: a SendGrid API key.
fn sendgrid(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    for &i in starts {
        if !bytes[i..].starts_with(b"SG.") {
            continue;
        }
        let a = run(bytes, i + 3, Body::Word);
        let dot = i + 3 + a;
        if a < 16 || bytes.get(dot) != Some(&b'.') {
            continue;
        }
        let b = run(bytes, dot + 1, Body::Word);
        if b >= 30 {
            out.push(Finding { kind: "a SendGrid API key", start: i + 3, end: dot + 1 + b });
        }
    }
}

/// `[0-9a-f]{32}-us[0-9]{1,2}`: a Mailchimp API key.
fn mailchimp(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    for &i in starts {
        // A run longer than 32 is no key: counting stops at 33.
        let len = bytes[i..].iter().take(33).take_while(|b| Body::Hex.allows(**b)).count();
        let end = i + len;
        if len == 32 && bytes[end..].starts_with(b"-us") {
            let digits = bytes[end + 3..].iter().take_while(|b| b.is_ascii_digit()).count();
            if (1..=2).contains(&digits) {
                out.push(Finding { kind: "a Mailchimp API key", start: i, end });
            }
        }
    }
}

/// `[0-9]{8,10}:[A-Za-z0-9_-]{35}`: a Telegram bot token.
fn telegram(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    for &i in starts {
        let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let colon = i + digits;
        if (8..=10).contains(&digits) && bytes.get(colon) == Some(&b':') {
            let len = run(bytes, colon + 1, Body::Word);
            if len == 35 {
                out.push(Finding { kind: "a Telegram bot token", start: colon + 1, end: colon + 1 + len });
            }
        }
    }
}

/// `[MNO][A-Za-z0-9_-]{23,25}.[A-Za-z0-9_-]{6}.[A-Za-z0-9_-]{27,}`: a Discord bot token.
fn discord_bot(bytes: &[u8], starts: &[usize], out: &mut Vec<Finding>) {
    for &i in starts {
        if !matches!(bytes[i], b'M' | b'N' | b'O') {
            continue;
        }
        let a = run(bytes, i, Body::Word);
        let d1 = i + a;
        if !(24..=26).contains(&a) || bytes.get(d1) != Some(&b'.') {
            continue;
        }
        let b = run(bytes, d1 + 1, Body::Word);
        let d2 = d1 + 1 + b;
        if b != 6 || bytes.get(d2) != Some(&b'.') {
            continue;
        }
        let c = run(bytes, d2 + 1, Body::Word);
        if c >= 27 {
            out.push(Finding { kind: "a Discord bot token", start: i, end: d2 + 1 + c });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{token_starts, PREFIXED};

    #[test]
    fn tokens_start_at_letters_and_digits_after_anything_else() {
        assert_eq!(token_starts(b"ghp_x9 -a.b@sha256:0f"), vec![0, 4, 8, 10, 12, 19]);
        assert_eq!(token_starts("é1 ñ".as_bytes()), vec![2]);
        assert_eq!(token_starts(b""), Vec::<usize>::new());
    }

    /// `find` tries prefixes only where a token starts: that is right only while
    /// every prefix starts with a letter or a digit.
    #[test]
    fn every_prefix_starts_a_token() {
        for f in PREFIXED {
            assert!(f.prefix.as_bytes()[0].is_ascii_alphanumeric(), "{}", f.prefix);
        }
    }
}
