//! Whether a key (an `env` name, a field name, the key of a `key=value` or
//! `"key": "value"` pair inside a string) says that its value is a secret.
//!
//! A key says secret when one of its words names a credential (`PASSWORD`,
//! `PASSWD`, `PASSPHRASE`, `SECRET`, `TOKEN`, `CREDENTIAL(S)`, `CREDS`, `PWD`,
//! or a pair such as `API_KEY`, `PRIVATE_KEY`, `ACCESS_KEY`; `PASS`, `AUTH` and
//! `AUTHORIZATION` only as the last word), and its last word does not make it an
//! attribute of the secret rather than the secret itself: `TOKEN_TTL`,
//! `PASSWORD_MIN_LENGTH`, `SECRET_NAME`, `JWT_SECRET_FILE`, `ACCESS_KEY_ID` are
//! settings, not secrets. `PWD` and `OLDPWD` alone are the shell's directories.
//! Words split on any non-alphanumeric character and on lower-to-upper case
//! changes (`dbPassword` is `db`, `password`).

/// Words that name a secret wherever they appear in a key (also as part of a
/// word: `DBPASSWORD`, `githubtoken`).
const SECRET_WORDS: &[&str] =
    &["password", "passwd", "passphrase", "secret", "token", "credential", "contrasena", "contraseña"];

/// Words that name a secret only as a whole word.
const WHOLE_WORDS: &[&str] =
    &["pwd", "pw", "creds", "cred", "apikey", "privatekey", "accesskey", "secretkey", "authkey"];

/// Words that name a secret only as the last word: `DB_PASS`, `BASIC_AUTH`.
const LAST_WORDS: &[&str] = &["pass", "auth", "authorization", "pat"];

/// `(first, second)` adjacent word pairs that name a key: `API_KEY`, `DB_PASS`.
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("auth", "key"),
    ("service", "key"),
    ("account", "key"),
    ("db", "key"),
    ("database", "key"),
    ("priv", "key"),
    ("private", "key"),
    ("client", "key"),
    ("iam", "key"),
    ("access", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("license", "key"),
    ("db", "pass"),
    ("database", "pass"),
    ("key", "pass"),
];

/// Last words that make the key an attribute of a secret, not the secret.
const QUALIFIERS: &[&str] = &[
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "lifetime",
    "timeout",
    "age",
    "url",
    "uri",
    "endpoint",
    "host",
    "hostname",
    "port",
    "path",
    "file",
    "dir",
    "directory",
    "name",
    "id",
    "arn",
    "header",
    "length",
    "len",
    "min",
    "max",
    "size",
    "enabled",
    "disabled",
    "enable",
    "disable",
    "required",
    "type",
    "kind",
    "algorithm",
    "alg",
    "issuer",
    "audience",
    "aud",
    "scope",
    "scopes",
    "format",
    "version",
    "count",
    "retries",
    "interval",
    "seconds",
    "secs",
    "ms",
    "minutes",
    "hours",
    "days",
    "policy",
    "provider",
    "mode",
    "store",
    "location",
    "region",
    "field",
    "param",
    "prefix",
    "rotation",
    "ref",
    "source",
    "user",
    "username",
    "login",
    "hint",
    "reset",
    "strength",
];

/// Values that are settings whatever their key says (`USE_TOKEN = "true"`).
const SETTING_VALUES: &[&str] = &["true", "false", "yes", "no", "on", "off", "none", "null", "enabled", "disabled"];

/// The lowercase words of a key, each a range of `lower` (the key lowercased).
fn words(key: &str, lower: &mut String, out: &mut Vec<std::ops::Range<usize>>) {
    let mut start = 0;
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if lower.len() > start {
                out.push(start..lower.len());
            }
            start = lower.len();
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && lower.len() > start {
            out.push(start..lower.len());
            start = lower.len();
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        if c.is_ascii() {
            lower.push(c.to_ascii_lowercase());
        } else {
            lower.extend(c.to_lowercase());
        }
    }
    if lower.len() > start {
        out.push(start..lower.len());
    }
}

/// Whether `needle` occurs in `word`. A plain window search: the words and needles
/// are a few bytes long, shorter than what `str::contains` spends on preparing its
/// search. Both are UTF-8, so a byte match is a match of characters.
fn holds(word: &str, needle: &str) -> bool {
    word.len() >= needle.len() && word.as_bytes().windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Whether `key` names a secret (see the module documentation).
pub fn secret_named(key: &str) -> bool {
    let mut lower = String::with_capacity(key.len());
    let mut ranges = Vec::new();
    words(key, &mut lower, &mut ranges);
    let word = |i: usize| &lower[ranges[i].clone()];
    let Some(last) = ranges.len().checked_sub(1).map(word) else { return false };
    if QUALIFIERS.contains(&last) {
        return false;
    }
    if ranges.len() == 1 && (last == "pwd" || last == "oldpwd") {
        return false;
    }
    let named = |i: usize| {
        let w = word(i);
        SECRET_WORDS.iter().any(|s| holds(w, s))
            || WHOLE_WORDS.contains(&w)
            || (i + 1 == ranges.len() && LAST_WORDS.contains(&w))
            || (i + 1 < ranges.len() && PAIRS.contains(&(w, word(i + 1))))
    };
    (0..ranges.len()).any(named)
}

/// Whether a value under a secret-named key is a secret: not empty and not a
/// setting word such as `true`.
pub fn secret_value(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !SETTING_VALUES.iter().any(|s| value.eq_ignore_ascii_case(s))
}

#[cfg(test)]
mod tests {
    use super::{secret_named, secret_value};

    #[test]
    fn names_that_say_secret() {
        for key in [
            "PASSWORD",
            "DB_PASSWORD",
            "dbPassword",
            "SMTP_PASSWD",
            "DB_PWD",
            "CL_PW",
            "CLOUD_IAM_KEY",
            "DB_PASS",
            "JWT_SECRET",
            "SECRET_KEY_BASE",
            "GITHUB_TOKEN",
            "API_KEY",
            "STRIPE_APIKEY",
            "PRIVATE_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GOOGLE_CREDENTIALS",
            "BASIC_AUTH",
            "authorization",
            "client-secret",
            "access_key",
        ] {
            assert!(secret_named(key), "{key} says secret");
        }
    }

    #[test]
    fn names_that_do_not() {
        for key in [
            "TOKEN_TTL",
            "PASSWORD_MIN_LENGTH",
            "SECRET_NAME",
            "JWT_SECRET_FILE",
            "AWS_ACCESS_KEY_ID",
            "AUTH_URL",
            "AUTH_MODE",
            "PWD",
            "OLDPWD",
            "KEY",
            "LOG_LEVEL",
            "PASS_THROUGH",
            "PUBLIC_KEY",
            "DATABASE_URL",
            "",
        ] {
            assert!(!secret_named(key), "{key} does not say secret");
        }
    }

    #[test]
    fn setting_values_are_not_secrets() {
        assert!(secret_value("x"));
        assert!(secret_value("hunter2"));
        assert!(!secret_value(""));
        assert!(!secret_value("  "));
        assert!(!secret_value("TRUE"));
    }
}
