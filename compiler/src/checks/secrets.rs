//! E502: literals that look like secrets, in any string the project writes.
//!
//! AWS access key ids and private key blocks are refused everywhere. Free-form
//! strings (literal `env` values and string fields without a more specific type)
//! are also checked for `password=`-style assignments and long high-entropy tokens.
//! Identifier-like fields (`image`, `host`, `path`, ...) get only the first two
//! checks, and a `sha256:` digest is never a secret.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::body::Body;
use crate::model::values::{EnvVal, Val};
use crate::model::Model;
use crate::source::Span;

/// Fields whose values are identifiers of some kind: only key ids and key blocks are
/// looked for there.
const IDENTIFIER_FIELDS: &[&str] =
    &["image", "host", "path", "bucket", "key", "lock_table", "account", "region", "class"];

/// Minimum length of a token tested for entropy.
pub const TOKEN_MIN_LEN: usize = 20;
/// Entropy threshold in bits per character; pure hex tokens use the lower one.
pub const ENTROPY_THRESHOLD: f64 = 4.0;
pub const HEX_ENTROPY_THRESHOLD: f64 = 3.5;

pub fn literal_secrets(model: &Model, sink: &mut Diagnostics) {
    for stack in &model.stacks {
        for decl in &stack.resources {
            body(&decl.body, &|_| true, sink);
        }
    }
    for env in &model.environments {
        let own = |span: Span| env.owns(span);
        body(&env.body, &own, sink);
        for res in &env.resources {
            body(&res.body, &own, sink);
        }
    }
}

fn body(body: &Body, own: &dyn Fn(Span) -> bool, sink: &mut Diagnostics) {
    for field in &body.fields {
        if !own(field.span) {
            continue;
        }
        let free_form = !IDENTIFIER_FIELDS.contains(&field.name.as_str());
        match &field.value {
            Val::Str(s) => check(s, field.value_span, &field.name, free_form, sink),
            Val::Strings(items) => {
                for (s, span) in items {
                    check(s, *span, &field.name, free_form, sink);
                }
            }
            Val::Env(entries) => {
                for entry in entries {
                    if let EnvVal::Literal(s) = &entry.value {
                        if own(entry.span) {
                            check(s, entry.span, &entry.key, true, sink);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for block in &body.blocks {
        self::body(&block.body, own, sink);
    }
}

fn check(value: &str, span: Span, name: &str, free_form: bool, sink: &mut Diagnostics) {
    let Some(what) = detect(value, free_form) else { return };
    sink.push(
        Diagnostic::new(
            Code::E502,
            span,
            format!("`{name}` holds what looks like a secret: {what}"),
            "looks like a secret",
        )
        .with_note("no secret ever sits in a repository: a committed secret must be revoked and replaced")
        .with_help("declare a `secret` with the store's `path` and reference it from `env`: `NAME = my-secret`"),
    );
}

/// What kind of secret `value` looks like, if any.
pub fn detect(value: &str, free_form: bool) -> Option<&'static str> {
    if has_aws_key_id(value) {
        return Some("an AWS access key id");
    }
    if has_private_key_block(value) {
        return Some("a private key block");
    }
    if !free_form {
        return None;
    }
    if has_assignment(value) {
        return Some("a credential assignment");
    }
    if has_high_entropy_token(value) {
        return Some("a high-entropy token");
    }
    None
}

fn has_aws_key_id(value: &str) -> bool {
    let b = value.as_bytes();
    (0..b.len().saturating_sub(19)).any(|i| {
        (b[i..].starts_with(b"AKIA") || b[i..].starts_with(b"ASIA"))
            && b[i + 4..i + 20].iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

fn has_private_key_block(value: &str) -> bool {
    value.match_indices("-----BEGIN ").any(|(i, _)| {
        let rest = &value[i + 11..];
        rest.find("-----").is_some_and(|end| rest[..end].ends_with("PRIVATE KEY"))
    })
}

fn has_assignment(value: &str) -> bool {
    const KEYS: &[&str] =
        &["password", "passwd", "pwd", "secret", "token", "api_key", "apikey", "api-key", "access_key"];
    let lower = value.to_ascii_lowercase();
    KEYS.iter().any(|key| {
        lower.match_indices(key).any(|(i, _)| {
            let rest = lower[i + key.len()..].trim_start();
            let Some(after) = rest.strip_prefix('=').or_else(|| rest.strip_prefix(':')) else { return false };
            let after = after.trim_start();
            after.chars().next().is_some_and(|c| !c.is_whitespace() && c != '&' && c != ';' && c != ',')
        })
    })
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')
}

/// `zenthea/production/db-password`: lowercase word segments joined by `/` are a path,
/// not base64 (which mixes cases).
fn looks_like_path(token: &str) -> bool {
    token.contains('/')
        && token.split('/').all(|part| {
            part.len() < TOKEN_MIN_LEN
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.')
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

fn has_high_entropy_token(value: &str) -> bool {
    let mut start = 0;
    for token in value.split(|c: char| !is_token_char(c)) {
        let at = start;
        start += token.len() + 1;
        if token.len() < TOKEN_MIN_LEN {
            continue;
        }
        let before = &value[..at];
        if before.ends_with("sha256:") || before.ends_with("sha512:") || before.ends_with("sha1:") {
            continue;
        }
        if looks_like_path(token) {
            continue;
        }
        let hex = token.bytes().all(|b| b.is_ascii_hexdigit());
        let threshold = if hex { HEX_ENTROPY_THRESHOLD } else { ENTROPY_THRESHOLD };
        if entropy(token) >= threshold {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::detect;

    #[test]
    fn finds_secrets() {
        assert_eq!(detect("AKIAIOSFODNN7EXAMPLE", false), Some("an AWS access key id"));
        assert_eq!(detect("-----BEGIN RSA PRIVATE KEY-----\nMIIE", false), Some("a private key block"));
        assert_eq!(detect("postgres://app?password=hunter2", true), Some("a credential assignment"));
        assert_eq!(detect("token: abc", true), Some("a credential assignment"));
        assert_eq!(detect("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true), Some("a high-entropy token"));
        assert_eq!(detect("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b", true), Some("a high-entropy token"));
    }

    #[test]
    fn no_false_alarms() {
        let digest = format!(
            "registry.example.com/api@sha256:{}",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(detect(&digest, false), None);
        assert_eq!(detect(&digest, true), None);
        assert_eq!(detect("api.zenthea.example", true), None);
        assert_eq!(detect("zenthea/production/db-password", true), None);
        assert_eq!(detect("password=", true), None);
        assert_eq!(detect("info", true), None);
        assert_eq!(detect("AKIAIOSFODNN7EXAMPL", true), None);
        assert_eq!(detect("/var/lib/application/data/cache", true), None);
        assert_eq!(detect("123e4567-e89b-12d3-a456-426614174000", true), None);
    }
}
