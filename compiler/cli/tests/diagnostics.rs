//! End-to-end tests of diagnostics for tools and people: the JSON record format,
//! SARIF validated against the vendored SARIF 2.1.0 schema (tests/schemas/, from
//! the npm package `@microsoft/jest-sarif`), stdout staying machine-readable,
//! `explain --message-format`, colour from the environment, shell completions and
//! the summary of a clean check.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn govc_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_govc"));
    command.args(args).current_dir(cwd);
    for var in ["NO_COLOR", "CLICOLOR_FORCE", "TERM"] {
        command.env_remove(var);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("the govc binary runs")
}

fn govc(cwd: &Path, args: &[&str]) -> Output {
    govc_env(cwd, args, &[])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// A project with a misspelt reference (E206 with a fix), in `dir/infra`.
fn broken_project(dir: &Path) -> PathBuf {
    let root = dir.join("infra");
    fs::create_dir_all(root.join("envs")).expect("mkdir");
    fs::write(root.join("project.gov"), "project p {\n  phase = \"concept\"\n  environments = [dev]\n}\n")
        .expect("write");
    fs::write(
        root.join("envs/dev.gov"),
        "environment dev {\n  tier = dev\n  network core { }\n  postgres main { }\n  service api {\n    port = 8080\n    connects = [mian]\n  }\n  ingress edge { route \"/\" -> api }\n}\n",
    )
    .expect("write");
    root
}

/// The `language` pattern of the SARIF schema, with a stray `]` that the
/// validator's regex check rejects when it compiles the schema.
const BAD_PATTERN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";

/// The validator of the vendored SARIF 2.1.0 schema (draft 4), unmodified on
/// disk. In memory, the [`BAD_PATTERN`]s are dropped: they constrain only the
/// `language` properties, which govc never writes.
fn sarif_validator() -> jsonschema::Validator {
    fn drop_bad_patterns(value: &mut Value) -> usize {
        match value {
            Value::Object(map) => {
                let dropped = usize::from(map.get("pattern").is_some_and(|p| p == BAD_PATTERN));
                if dropped == 1 {
                    map.remove("pattern");
                }
                dropped + map.values_mut().map(drop_bad_patterns).sum::<usize>()
            }
            Value::Array(items) => items.iter_mut().map(drop_bad_patterns).sum(),
            _ => 0,
        }
    }
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-2.1.0-rtm.5.json");
    let mut schema: Value =
        serde_json::from_str(&fs::read_to_string(schema_path).expect("schema")).expect("schema JSON");
    assert!(drop_bad_patterns(&mut schema) > 0, "the vendored schema changed: revisit BAD_PATTERN");
    jsonschema::draft4::new(&schema).expect("the SARIF schema compiles")
}

/// Validates `log` against the vendored SARIF 2.1.0 schema.
fn assert_valid_sarif(log: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator.iter_errors(log).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}\n{log:#}", errors.join("\n"));
}

#[test]
fn json_records_are_typed_with_absolute_paths_fixes_and_a_summary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = broken_project(tmp.path());
    let out = govc(&root, &["check", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let records = json_lines(&stdout(&out));
    let d = records.iter().find(|r| r["code"] == "E206").expect("an E206");
    assert_eq!((d["type"].as_str(), d["source"].as_str()), (Some("diagnostic"), Some("govc")));
    assert_eq!(d["file"], "envs/dev.gov");
    let abs = fs::canonicalize(&root).expect("canonical").join("envs/dev.gov");
    let path = PathBuf::from(d["path"].as_str().expect("an absolute path"));
    assert_eq!(fs::canonicalize(&path).expect("the path exists"), abs);
    assert_eq!(d["range"], d["labels"][0]["range"]);
    assert_eq!(d["range"]["start"], serde_json::json!({"line": 6, "character": 16}));
    assert_eq!(d["help"], "did you mean `main`?");
    assert_eq!(d["fixes"][0]["edits"][0]["text"], "main");
    assert_eq!(d["fixes"][0]["edits"][0]["span"], d["span"]);
    assert_eq!(d["explain"], "govc explain E206");
    assert!(d["url"].as_str().expect("url").ends_with("E206.md"));
    let summary = records.last().expect("summary");
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["errors"].as_u64(), Some(records.len() as u64 - 1));
    let summary_root = PathBuf::from(summary["root"].as_str().expect("root"));
    assert_eq!(fs::canonicalize(summary_root).expect("root exists"), fs::canonicalize(&root).expect("canonical"));
}

#[test]
fn sarif_is_valid_fingerprinted_and_resolves_against_the_sarif_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = broken_project(tmp.path());
    let repo = tmp.path().to_str().expect("utf-8").to_string();
    let out = govc(&root, &["check", "--message-format", "sarif", "--sarif-root", &repo]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let log: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_valid_sarif(&log);
    let run = &log["runs"][0];
    let base = run["originalUriBaseIds"]["SRCROOT"]["uri"].as_str().expect("a base URI");
    let result = run["results"].as_array().expect("results").iter().find(|r| r["ruleId"] == "E206").expect("E206");
    let artifact = &result["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(artifact["uriBaseId"], "SRCROOT");
    assert_eq!(artifact["uri"], "infra/envs/dev.gov", "relative to the repository root");
    let resolved = format!("{base}{}", artifact["uri"].as_str().expect("uri"));
    let on_disk = PathBuf::from(resolved.strip_prefix("file://").expect("a file URI"));
    assert!(on_disk.is_file(), "{resolved} does not resolve to the file");
    let fingerprint = result["partialFingerprints"]["govcFingerprint/v1"].as_str().expect("a fingerprint");
    assert!(result["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "main");
    // The same project checked again, from elsewhere, has the same fingerprints.
    let again = govc(tmp.path(), &["check", "infra", "--message-format", "sarif", "--sarif-root", &repo]);
    let again: Value = serde_json::from_str(&stdout(&again)).expect("JSON");
    assert_eq!(again["runs"][0]["results"], run["results"]);
    assert!(!fingerprint.is_empty());

    // Without --sarif-root the base is the project root, and still resolves.
    let out = govc(&root, &["check", "--message-format", "sarif"]);
    let log: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_valid_sarif(&log);
    let base = log["runs"][0]["originalUriBaseIds"]["PROJECTROOT"]["uri"].as_str().expect("a base URI");
    assert!(PathBuf::from(base.strip_prefix("file://").expect("file URI")).join("envs/dev.gov").is_file());
}

#[test]
fn the_schema_test_can_fail() {
    // A log the schema rejects (a level that SARIF does not define): the validator is live.
    let validator = sarif_validator();
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "govc"}},
        "results": [{"message": {"text": "m"}, "level": "fatal"}]}]});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn a_missing_project_path_is_a_diagnostic_in_every_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["check", "no-such-dir", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let records = json_lines(&stdout(&out));
    assert_eq!(records[0]["code"], "E210");
    assert!(records[0]["message"].as_str().expect("message").contains("does not exist"));
    assert_eq!(records[1]["type"], "summary");

    let out = govc(tmp.path(), &["build", "no-such-dir", "--message-format", "sarif"]);
    assert_eq!(out.status.code(), Some(2));
    let log: Value = serde_json::from_str(&stdout(&out)).expect("one SARIF log");
    assert_valid_sarif(&log);
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "E210");

    let out = govc(tmp.path(), &["check", "no-such-dir", "--color", "never"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[E210]: `"), "{}", stderr(&out));
}

#[test]
fn build_check_keeps_machine_output_on_stdout_and_the_diff_on_stderr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_dir = tmp.path().join("generated");
    let out_arg = out_dir.to_str().expect("utf-8");
    let project = example("three-envs");
    let built = govc(&project, &["build", "-q", "--out", out_arg]);
    assert_eq!(built.status.code(), Some(0), "{}", stderr(&built));
    let lock = out_dir.join("govc.lock.json");
    let victim = fs::read_dir(out_dir.join("terraform"))
        .expect("terraform/")
        .flatten()
        .map(|e| e.path())
        .next()
        .expect("an environment")
        .join("providers.tf.json");
    assert!(lock.is_file() && victim.is_file(), "{}", victim.display());
    fs::write(&victim, "{}\n").expect("hand edit");

    let out = govc(&project, &["build", "--check", "--out", out_arg, "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let records = json_lines(&stdout(&out));
    assert_eq!(records.last().expect("summary")["type"], "summary");
    assert!(stderr(&out).contains("is stale"), "{}", stderr(&out));

    let out = govc(&project, &["build", "--check", "--out", out_arg, "--message-format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let log: Value = serde_json::from_str(&stdout(&out)).expect("stdout is one SARIF log");
    assert_valid_sarif(&log);
    assert!(stderr(&out).contains("is stale"));

    // Human mode: the report is the command's answer, on stdout.
    let out = govc(&project, &["build", "--check", "--out", out_arg]);
    assert!(stdout(&out).contains("is stale"));
}

#[test]
fn explain_honours_the_message_format() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["explain", "e206", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let records = json_lines(&stdout(&out));
    assert_eq!(records.len(), 1);
    assert_eq!((records[0]["type"].as_str(), records[0]["code"].as_str()), (Some("explanation"), Some("E206")));
    assert!(records[0]["text"].as_str().expect("text").starts_with("# E206: "));

    let out = govc(tmp.path(), &["explain", "--message-format", "json"]);
    let records = json_lines(&stdout(&out));
    assert!(records.len() > 40 && records.iter().all(|r| r["type"] == "explanation" && r["text"].is_null()));

    let out = govc(tmp.path(), &["explain", "W801", "--message-format", "sarif"]);
    let log: Value = serde_json::from_str(&stdout(&out)).expect("a SARIF log");
    assert_valid_sarif(&log);
    assert_eq!(log["runs"][0]["tool"]["driver"]["rules"][0]["id"], "W801");
}

#[test]
fn colour_follows_clicolor_force_and_no_color() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let has_escapes = |env: &[(&str, &str)]| stderr(&govc_env(tmp.path(), &["check"], env)).contains('\x1b');
    assert!(!has_escapes(&[]), "a pipe is not coloured");
    assert!(has_escapes(&[("CLICOLOR_FORCE", "1")]));
    assert!(!has_escapes(&[("CLICOLOR_FORCE", "0")]));
    assert!(!has_escapes(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]), "NO_COLOR wins");
    assert!(has_escapes(&[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]), "forced colour ignores TERM");
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (shell, marker) in [("bash", "_govc()"), ("zsh", "#compdef govc"), ("fish", "complete -c govc")] {
        let out = govc(tmp.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        for word in ["check", "build", "explain", "message-format"] {
            assert!(script.contains(word), "{shell} completion lacks `{word}`");
        }
    }
    assert_eq!(govc(tmp.path(), &["completions", "tcsh"]).status.code(), Some(2));
}

#[test]
fn a_clean_check_prints_one_summary_line_unless_quiet() {
    let out = govc(&example("minimal"), &["check"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "govc: checked 1 file: no errors, no warnings\n");
    assert_eq!(stdout(&out), "");
    let quiet = govc(&example("minimal"), &["check", "-q"]);
    assert_eq!((stderr(&quiet).as_str(), stdout(&quiet).as_str()), ("", ""));
    let json = govc(&example("minimal"), &["check", "--message-format", "json"]);
    assert_eq!(stderr(&json), "", "machine formats print no summary line");
}
