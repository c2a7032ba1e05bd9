//! The detectors over one piece of text: token formats ([`super::formats`]),
//! private key blocks, credentials in URLs, `key=value` / `"key": "value"` /
//! `key: value` assignments under a secret-named key, and long high-entropy
//! tokens. Each returns the byte range of the secret itself (what a renderer
//! masks), so that the keys, prefixes and URLs around it stay readable.

use super::keys::{secret_named, secret_value};
use super::{formats, Finding};

/// Minimum length of a token tested for entropy.
pub const TOKEN_MIN_LEN: usize = 20;
/// Entropy threshold in bits per character; pure hex tokens use the lower one.
pub const ENTROPY_THRESHOLD: f64 = 4.0;
/// Entropy threshold for tokens made only of hex digits.
pub const HEX_ENTROPY_THRESHOLD: f64 = 3.5;

/// How assignments inside a text are recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Assignments {
    /// `key=value`, `key = value`, `key: value`, `"key": "value"`, `key := value`.
    Full,
    /// Prose (doc comments): only `key=value` without spaces and quoted keys
    /// (`"password": "x"`), so that "the token: read from the header" is prose.
    Strict,
    /// Not looked for (plain comments).
    Off,
}

/// Which detectors apply to a piece of text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// The high-entropy test (free-form strings only: identifier fields such as
    /// `image` or `host` are spared it).
    pub entropy: bool,
    pub assignments: Assignments,
}

/// Every secret in `text`, most specific detector first (the first finding names
/// the diagnostic). Nothing inside a `sha256:`/`sha512:` digest is ever a secret.
pub fn scan(text: &str, scope: Scope) -> Vec<Finding> {
    let mut out = Vec::new();
    if text.len() < 4 {
        return out;
    }
    formats::find(text, &formats::token_starts(text.as_bytes()), &mut out);
    private_keys(text, &mut out);
    url_credentials(text, &mut out);
    if scope.assignments != Assignments::Off {
        assignments(text, scope.assignments == Assignments::Strict, &mut out);
    }
    if scope.entropy {
        high_entropy_tokens(text, &mut out);
    }
    if out.is_empty() {
        return out;
    }
    let digests = digests(text);
    out.retain(|f| !digests.iter().any(|d| d.start <= f.start && f.end <= d.end && f.start < f.end));
    out
}

/// The hex runs after `sha256:`, `sha512:`, `sha384:` or `sha1:`.
fn digests(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for algo in ["sha256:", "sha512:", "sha384:", "sha1:"] {
        for (i, _) in text.match_indices(algo) {
            let from = i + algo.len();
            let len = text[from..].bytes().take_while(u8::is_ascii_hexdigit).count();
            out.push(from..from + len);
        }
    }
    out
}

/// `-----BEGIN ... PRIVATE KEY-----` (and `PuTTY-User-Key-File-`): the header
/// stays visible, everything after it up to the `-----END` line is masked.
fn private_keys(text: &str, out: &mut Vec<Finding>) {
    // Every marker below holds a capital `B` or `P`: most literals hold neither.
    if memchr::memchr2(b'B', b'P', text.as_bytes()).is_none() {
        return;
    }
    for (i, _) in text.match_indices("-----BEGIN ") {
        let rest = &text[i + 11..];
        let Some(close) = rest.find("-----") else { continue };
        let label = &rest[..close];
        if !(label.ends_with("PRIVATE KEY") || label.ends_with("PRIVATE KEY BLOCK")) {
            continue;
        }
        let start = i + 11 + close + 5;
        let end = text[start..].find("-----END").map_or(text.len(), |e| start + e);
        out.push(Finding { kind: "a private key block", start, end });
    }
    // The header without its dashes (`BEGIN RSA PRIVATE KEY`), as detect-secrets
    // finds it: a key pasted with its armour cut off.
    for (i, _) in text.match_indices("BEGIN ") {
        let rest = &text[i + 6..];
        let label_len = rest.bytes().take_while(|b| b.is_ascii_uppercase() || *b == b' ').count();
        let label = rest[..label_len].trim_end();
        if label.ends_with("PRIVATE KEY") && !text[..i].ends_with("-----") {
            let start = i + 6 + label.len();
            let end = text[start..].find("END ").map_or(text.len(), |e| start + e);
            out.push(Finding { kind: "a private key block", start, end });
        }
    }
    for (i, _) in text.match_indices("PuTTY-User-Key-File-") {
        out.push(Finding { kind: "a private key block", start: i + 20, end: text.len() });
    }
}

/// Characters of a URL's userinfo (RFC 3986, without `/` and `@`).
fn userinfo_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:".contains(&b)
}

/// `scheme://user:password@host` and the scheme-less `user:password@host.name`:
/// the password is masked; a user without a password is no secret.
fn url_credentials(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    // Both forms need the `@` before the host.
    if !bytes.contains(&b'@') {
        return;
    }
    let mut covered = Vec::new();
    for i in memchr::memchr_iter(b':', bytes).filter(|&i| bytes[i + 1..].starts_with(b"//")) {
        let from = i + 3;
        let len = bytes[from..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || b"/?#\"'`\\<>".contains(b))
            .unwrap_or(bytes.len() - from);
        let authority = &text[from..from + len];
        covered.push(from..from + len);
        let Some(at) = authority.rfind('@') else { continue };
        let Some(colon) = authority[..at].find(':') else { continue };
        if colon + 1 < at {
            out.push(Finding { kind: "a password in a URL", start: from + colon + 1, end: from + at });
        }
    }
    for (at, _) in text.match_indices('@') {
        if covered.iter().any(|c| c.contains(&at)) {
            continue;
        }
        let start = bytes[..at].iter().rposition(|b| !userinfo_char(*b)).map_or(0, |p| p + 1);
        let userinfo = &text[start..at];
        let Some(colon) = userinfo.find(':') else { continue };
        let host_len = bytes[at + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || b"-.".contains(b)).count();
        let host = &text[at + 1..at + 1 + host_len];
        let after = bytes.get(at + 1 + host_len);
        let hostname = host.contains('.') || after == Some(&b':');
        let digest = ["sha1", "sha256", "sha384", "sha512"].contains(&host);
        if colon == 0 || colon + 1 == userinfo.len() || !hostname || digest || &userinfo[..colon] == "mailto" {
            continue;
        }
        out.push(Finding { kind: "a password in a URL", start: start + colon + 1, end: at });
    }
}

/// Characters of a key in an assignment.
fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.-".contains(&b)
}

fn quote(b: u8) -> bool {
    b"\"'`".contains(&b)
}

/// `key=value`, `key: value`, `"key": "value"`, `key := value` where the key
/// names a secret: the value is masked.
fn assignments(text: &str, strict: bool, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    // Both separators are ASCII: a byte search finds them where a char search would.
    for sep in memchr::memchr2_iter(b':', b'=', bytes) {
        let is_colon = bytes[sep] == b':';
        if !is_colon && sep > 0 && bytes[sep - 1] == b':' {
            continue; // the `=` of `:=`, handled at the colon
        }
        if is_colon && bytes.get(sep + 1) == Some(&b'/') {
            continue; // `scheme://`
        }
        // The key: back over spaces, closing quotes (`\"`, `"`, `'`, `]`), then key characters.
        let mut k = sep;
        let mut spaced = false;
        while k > 0 && bytes[k - 1] == b' ' {
            k -= 1;
            spaced = true;
        }
        let mut quoted = false;
        while k > 0 && (quote(bytes[k - 1]) || bytes[k - 1] == b'\\' || bytes[k - 1] == b']') {
            quoted |= quote(bytes[k - 1]);
            k -= 1;
        }
        let key_end = k;
        while k > 0 && key_char(bytes[k - 1]) {
            k -= 1;
        }
        let key = &text[k..key_end];
        if key.is_empty() {
            continue;
        }
        // The value: past `:=`/`=>`, spaces and an opening quote.
        let mut v = sep + 1;
        let walrus = is_colon && bytes.get(v) == Some(&b'=');
        if bytes.get(v).is_some_and(|b| *b == b'=' || *b == b'>') {
            v += 1;
        }
        let value_start_unspaced = v;
        while v < bytes.len() && bytes[v] == b' ' {
            v += 1;
        }
        spaced |= v != value_start_unspaced;
        // `key:value` without a space is no YAML mapping (an ARN, a `host:port`).
        if is_colon && !quoted && !walrus && v == value_start_unspaced {
            continue;
        }
        if strict && !quoted && (is_colon || spaced) {
            continue;
        }
        // The costliest test comes last: the `sha256:` of every image reference stops above.
        if !secret_named(key) {
            continue;
        }
        let mut open = None;
        while v < bytes.len() && (quote(bytes[v]) || bytes[v] == b'\\') {
            if quote(bytes[v]) {
                open = Some(bytes[v]);
            }
            v += 1;
        }
        let stop = |b: u8| match open {
            Some(q) => b == q || b == b'\\' || b == b'\n',
            None => b.is_ascii_whitespace() || b"&;,}])\"'`\\<".contains(&b),
        };
        let len = bytes[v..].iter().position(|b| stop(*b)).unwrap_or(bytes.len() - v);
        if secret_value(&text[v..v + len]) {
            out.push(Finding { kind: "a credential assignment", start: v, end: v + len });
        }
    }
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+/=_-".contains(&b)
}

/// `zenthea/production/db-password`: lowercase word segments joined by `/` are a
/// path, not base64 (which mixes cases).
fn looks_like_path(token: &str) -> bool {
    token.contains('/')
        && token.split('/').all(|part| {
            part.len() < TOKEN_MIN_LEN
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        })
}

/// Shannon entropy in bits per character.
pub fn entropy(token: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in token.bytes() {
        counts[b as usize] += 1;
    }
    let n = token.len() as f64;
    counts.iter().filter(|c| **c > 0).map(|c| f64::from(*c) / n).map(|p| -p * p.log2()).sum()
}

/// Tokens of at least [`TOKEN_MIN_LEN`] characters of `[A-Za-z0-9+/=_-]` above the
/// entropy threshold.
fn high_entropy_tokens(text: &str, out: &mut Vec<Finding>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let len = bytes[i..].iter().take_while(|b| is_token_char(**b)).count();
        if len == 0 {
            i += 1;
            continue;
        }
        let token = &text[i..i + len];
        if len >= TOKEN_MIN_LEN && !looks_like_path(token) {
            let hex = token.bytes().all(|b| b.is_ascii_hexdigit());
            let threshold = if hex { HEX_ENTROPY_THRESHOLD } else { ENTROPY_THRESHOLD };
            if entropy(token) >= threshold {
                out.push(Finding { kind: "a high-entropy token", start: i, end: i + len });
            }
        }
        i += len;
    }
}
