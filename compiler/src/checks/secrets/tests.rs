//! The vendored recall corpus: one fake token per documented format (built at
//! run time from the format and a deterministic filler, so no real secret, and no
//! literal a push-protection scanner would stop, sits in this file), benign
//! values that must stay clean, and the promise that no renderer prints a secret.

use super::{scan, secret_named, Assignments, Scope};
use crate::diag::render;
use crate::{compile, Options, Sources};

const FREE: Scope = Scope { entropy: true, assignments: Assignments::Full };
const IDENT: Scope = Scope { entropy: false, assignments: Assignments::Full };

/// `n` characters drawn from `alphabet` by a fixed linear congruential sequence.
fn fill(seed: u64, n: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            chars[((x >> 33) % chars.len() as u64) as usize]
        })
        .collect()
}

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HEX: &str = "0123456789abcdef";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `(family, fake secret, the part that must never be printed)`.
fn corpus() -> Vec<(&'static str, String, String)> {
    let a = |seed, n| fill(seed, n, ALNUM);
    let t = |family, prefix: &str, body: String| (family, format!("{prefix}{body}"), body);
    let jwt_body = format!("eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkZha2UifQ.{}", fill(9, 43, ALNUM));
    let key_body = format!("\n{}\n{}\n", fill(11, 64, B64), fill(12, 40, B64));
    vec![
        t("github", "ghp_", a(1, 36)),
        t("github", "gho_", a(2, 36)),
        t("github", "ghu_", a(3, 36)),
        t("github", "ghs_", a(4, 36)),
        t("github", "ghr_", a(5, 36)),
        t("github", "github_pat_", format!("11A{}_{}", a(6, 19), a(7, 59))),
        t("gitlab", "glpat-", a(8, 20)),
        t("slack", "xoxb-", format!("{}-{}-{}", fill(13, 12, "0123456789"), fill(14, 13, "0123456789"), a(15, 24))),
        t("slack", "xoxp-", format!("{}-{}-{}", fill(16, 12, "0123456789"), fill(17, 13, "0123456789"), a(18, 32))),
        t("slack webhook", "https://hooks.slack.com/services/", format!("T{}/B{}/{}", a(19, 8), a(20, 8), a(21, 24))),
        t("stripe", "sk_live_", a(22, 24)),
        t("stripe", "rk_live_", a(23, 24)),
        t("stripe", "sk_test_", a(24, 24)),
        t("google", "AIza", fill(25, 35, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")),
        t("npm", "npm_", a(26, 36)),
        t("sendgrid", "SG.", format!("{}.{}", a(27, 22), a(28, 43))),
        t("jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", jwt_body),
        t("vault", "hvs.", a(29, 90)),
        t("vault", "hvb.", a(30, 120)),
        t("aws key id", "AKIA", fill(31, 16, UPPER)),
        t("aws key id", "ASIA", fill(32, 16, UPPER)),
        t("private key", "-----BEGIN RSA PRIVATE KEY-----", key_body.clone()),
        t("private key", "-----BEGIN OPENSSH PRIVATE KEY-----", key_body),
        t("twilio", "SK", fill(33, 32, LOWER)),
        ("mailchimp", format!("{}-us12", fill(34, 32, HEX)), fill(34, 32, HEX)),
        t("azure", "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=", format!("{}==", fill(35, 86, B64))),
        t("url password", "postgres://app:", format!("{}@db.example.com:5432/app", a(36, 12))),
        ("url password", format!("https://deploy:{}@git.example.com/x.git", "Tr0ub4dor-3"), "Tr0ub4dor-3".to_string()),
        t("pypi", "pypi-AgEIcHlwaS5vcmc", a(37, 70)),
        t("openai", "sk-proj-", a(38, 48)),
        t("anthropic", "sk-ant-api03-", a(39, 90)),
        t("square", "sq0csp-", a(40, 43)),
        t("artifactory", "AKCp", a(41, 69)),
        t("huggingface", "hf_", fill(42, 34, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")),
        t("digitalocean", "dop_v1_", fill(43, 64, HEX)),
        t("shopify", "shpat_", fill(44, 32, HEX)),
        t("telegram", "123456789:", fill(45, 35, ALNUM)),
        t("assignment", "{\"password\": \"", "correct-horse".to_string()),
        t("assignment", "password: ", "hunter2".to_string()),
        t("assignment", "db_password=", "s3cr3t".to_string()),
        t("aws secret", "aws_secret_access_key = ", fill(46, 40, B64)),
        t("entropy", "", fill(47, 40, B64)),
    ]
}

/// Strings that must stay clean in a free-form value.
const BENIGN: &[&str] = &[
    "https://api.example.com/v1/orders?limit=10",
    "postgres://app@db.example.com:5432/app",
    "registry.example.com/api@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "nginx:1.25@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "zenthea/production/db-password",
    "/var/lib/application/data/cache",
    "123e4567-e89b-12d3-a456-426614174000",
    "api.zenthea.example",
    "password=",
    "token_ttl=3600",
    "info",
    "AKIAIOSFODNN7EXAMPL",
    "the token is read from the header",
    "mailto:ops@example.com",
    "git@github.com:zenthea/api.git",
    "arn:aws:secretsmanager:eu-west-1:111111111111:secret:p/dev/db-password",
    "Europe/Amsterdam",
    "use_token=true",
    "ghp_short",
    "--max-old-space-size=4096 --enable-source-maps",
];

#[test]
fn recall_on_the_vendored_corpus_is_total() {
    let mut missed = Vec::new();
    for (family, token, _) in corpus() {
        if scan(&token, FREE).is_empty() {
            missed.push(format!("{family}: {token}"));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn formats_are_found_in_identifier_fields_too() {
    for (family, token, _) in corpus() {
        if matches!(family, "entropy" | "aws secret") {
            continue;
        }
        assert!(!scan(&token, IDENT).is_empty(), "{family} in an identifier field: {token}");
    }
}

#[test]
fn benign_values_stay_clean() {
    for value in BENIGN {
        assert_eq!(scan(value, FREE), vec![], "{value}");
    }
}

#[test]
fn the_finding_names_the_kind() {
    let kind = |s: &str| scan(s, FREE).first().map(|f| f.kind);
    let corpus = corpus();
    let token = |family: &str| corpus.iter().find(|c| c.0 == family).map(|c| c.1.clone()).unwrap_or_default();
    assert_eq!(kind(&token("github")), Some("a GitHub token"));
    assert_eq!(kind(&token("jwt")), Some("a JSON web token"));
    assert_eq!(kind(&token("aws key id")), Some("an AWS access key id"));
    assert_eq!(kind(&token("private key")), Some("a private key block"));
    assert_eq!(kind(&token("url password")), Some("a password in a URL"));
    assert_eq!(kind("token: abc"), Some("a credential assignment"));
    assert_eq!(kind(&token("entropy")), Some("a high-entropy token"));
    assert!(secret_named("DB_PASSWORD") && !secret_named("TOKEN_TTL"));
}

/// A project holding `value` as a literal env value under a neutral key.
fn project(value: &str) -> Sources {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", "project p {\n  phase = \"wire\"\n  environments = [dev]\n}\n");
    sources.add(
        "dev.gov",
        format!(
            "environment dev {{\n  tier = dev\n  service api {{\n    port = 8080\n    image = \"r.example.com/api:1\"\n    \
             env {{\n      NOTE = \"{escaped}\"\n    }}\n  }}\n}}\n"
        ),
    );
    sources
}

#[test]
fn no_format_prints_a_secret() {
    for (family, token, secret) in corpus() {
        let sources = project(&token);
        let diags = compile(&sources, &Options::default()).diagnostics;
        assert!(diags.iter().any(|d| d.code == crate::Code::E502), "{family}: no E502 for {token}");
        let escaped_json = serde_json::to_string(&secret).unwrap_or_default();
        let escaped_json = escaped_json.trim_matches('"');
        for (format, out) in [
            ("human", render::human(&diags, &sources, false)),
            ("human+color", render::human(&diags, &sources, true)),
            ("json", render::json_lines(&diags, &sources)),
            ("sarif", render::sarif(&diags, &sources)),
        ] {
            for piece in secret.split('\n').filter(|p| p.len() >= 3) {
                let json_piece = serde_json::to_string(piece).unwrap_or_default();
                let json_piece = json_piece.trim_matches('"');
                assert!(
                    !out.contains(piece) && !out.contains(json_piece),
                    "{family}: {format} prints `{piece}`:\n{out}"
                );
            }
            assert!(!out.contains(escaped_json) || escaped_json.len() < 3, "{family}: {format}");
        }
    }
}

#[test]
fn a_diagnostic_quoting_a_secret_prints_it_masked() {
    let token = format!("ghp_{}", fill(50, 36, ALNUM));
    let secret = &token[4..];
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", "project p {\n  phase = \"wire\"\n  environments = [dev]\n}\n");
    let dev = format!(
        "environment dev {{\n  tier = dev\n  service api {{\n    port = 8080\n    image = \"r.example.com/api:1\"\n    \
         env {{\n      NOTE = {token}\n    }}\n  }}\n}}\n"
    );
    sources.add("dev.gov", dev);
    let diags = compile(&sources, &Options::default()).diagnostics;
    let quoting = diags.iter().find(|d| d.code != crate::Code::E502 && d.message.contains(secret));
    assert!(quoting.is_some(), "the unresolved bare word is quoted by another diagnostic");
    assert!(diags.iter().any(|d| d.code == crate::Code::E502));
    for out in
        [render::human(&diags, &sources, false), render::json_lines(&diags, &sources), render::sarif(&diags, &sources)]
    {
        assert!(!out.contains(secret), "{out}");
        assert!(out.contains("ghp_****"));
    }
}

#[test]
fn labels_and_route_paths_are_scanned() {
    let token = format!("xoxb-{}", fill(51, 24, ALNUM));
    let mut sources = Sources::with_stdlib();
    sources.add(
        "project.gov",
        format!("project p {{\n  phase = \"wire\"\n  environments = [dev]\n}}\nphase \"{token}\" {{ }}\n"),
    );
    sources.add("dev.gov", format!("environment dev {{\n  ingress edge {{\n    route \"/{token}\" -> api\n  }}\n}}\n"));
    let diags = compile(&sources, &Options::default()).diagnostics;
    let e502: Vec<&str> = diags.iter().filter(|d| d.code == crate::Code::E502).map(|d| d.message.as_str()).collect();
    assert!(e502.contains(&"the label of `phase` holds what looks like a secret: a Slack token"), "{e502:?}");
    assert!(e502.contains(&"the route path holds what looks like a secret: a Slack token"), "{e502:?}");
}

/// A text scanned once is reported at each place it is written, in each file,
/// with the secret masked where it sits (the scan of a repeated text is reused).
#[test]
fn a_repeated_secret_is_reported_at_every_occurrence() {
    let token = format!("ghp_{}", fill(52, 36, ALNUM));
    let env = |name: &str, pad: &str| {
        format!(
            "environment {name} {{\n  tier = dev\n  service api {{\n{pad}    port = 8080\n    image = \"r.example.com/api:1\"\n    \
             env {{\n      NOTE = \"{token}\"\n      OTHER = \"{token}\"\n    }}\n  }}\n}}\n"
        )
    };
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", "project p {\n  phase = \"wire\"\n  environments = [dev, qa]\n}\n");
    sources.add("dev.gov", env("dev", ""));
    sources.add("qa.gov", env("qa", "    # moved down a line\n"));
    let diags = compile(&sources, &Options::default()).diagnostics;
    let masked: Vec<(String, String)> = diags
        .iter()
        .filter(|d| d.code == crate::Code::E502)
        .map(|d| {
            let span = d.redact[0];
            (sources.get(span.file).path.clone(), sources.get(span.file).text[span.range()].to_string())
        })
        .collect();
    let secret = token[4..].to_string();
    let expected: Vec<(String, String)> =
        ["dev.gov", "dev.gov", "qa.gov", "qa.gov"].iter().map(|f| (f.to_string(), secret.clone())).collect();
    assert_eq!(masked, expected);
}
