//! End to end: `govc check` never prints a secret found by E502, in any
//! `--message-format`, colour on or off (CI logs are public).

use std::fs;
use std::process::Command;

/// A token of each family E502 names, made from its format and a fixed filler
/// (fake), as `(token, the part that must not be printed)`.
fn tokens() -> Vec<(String, String)> {
    let body = "Q7vZ2mK9xR4tW8yB3nH6jL1pF5sD0gC";
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.{body}");
    vec![
        (format!("ghp_{body}abcde"), format!("{body}abcde")),
        (format!("xoxb-{body}"), body.to_string()),
        (format!("sk_live_{body}"), body.to_string()),
        (jwt, format!("eyJzdWIiOiJmYWtlIn0.{body}")),
        (format!("postgres://app:{body}@db:5432/app"), body.to_string()),
        ("AKIAQ7VZ2MK9XR4TW8YB".to_string(), "Q7VZ2MK9XR4TW8YB".to_string()),
    ]
}

#[test]
fn no_message_format_prints_a_secret() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let entries: Vec<String> =
        tokens().iter().enumerate().map(|(i, (t, _))| format!("      NOTE_{i} = \"{t}\"\n")).collect();
    fs::write(dir.path().join("project.gov"), "project p {\n  phase = \"wire\"\n  environments = [dev]\n}\n")
        .expect("write");
    let dev = format!(
        "environment dev {{\n  tier = dev\n  service api {{\n    port = 8080\n    image = \"r.example.com/api:1\"\n    \
         env {{\n{}      API_TOKEN = \"plain\"\n    }}\n  }}\n}}\n",
        entries.concat()
    );
    fs::write(dir.path().join("dev.gov"), dev).expect("write");
    for args in [
        vec!["check", ".", "--message-format", "human", "--color", "never"],
        vec!["check", ".", "--message-format", "human", "--color", "always"],
        vec!["check", ".", "--message-format", "json"],
        vec!["check", ".", "--message-format", "sarif"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_govc")).args(&args).current_dir(dir.path()).output().expect("runs");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains("E502"), "{args:?}: {text}");
        assert_eq!(text.matches("holds what looks like a secret").count(), tokens().len() + 1, "{args:?}: {text}");
        for (_, secret) in tokens() {
            assert!(!text.contains(&secret), "{args:?} prints `{secret}`:\n{text}");
        }
        assert!(!text.contains("\"plain\""), "{args:?} prints the short password:\n{text}");
    }
}
