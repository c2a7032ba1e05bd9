//! End-to-end tests of the `govc` binary: exit codes, output formats, project
//! discovery from the current directory, `explain`. Assertions avoid anything
//! that depends on the parser and checks, which evolve separately.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

#[cfg(target_os = "linux")]
mod support;

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .output()
        .expect("the govc binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_project_is_e210_exit_1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["check", "--message-format", "json", "."]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().expect("a line")).expect("JSON");
    assert_eq!(first["code"], "E210");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["file"], serde_json::Value::Null);
    let last: serde_json::Value = serde_json::from_str(text.lines().last().expect("summary")).expect("JSON");
    assert_eq!((last["type"].as_str(), last["errors"].as_u64()), (Some("summary"), Some(1)));
}

#[test]
fn no_project_walking_up_is_e210_in_human_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["check", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error[E210]"), "stderr: {err}");
    assert!(err.contains("could not check project: 1 error emitted"), "stderr: {err}");
    assert!(!err.contains('\x1b'));
    let quiet = govc(tmp.path(), &["check", "--color", "never", "-q"]);
    assert!(!stderr(&quiet).contains("could not check project"));
}

#[test]
fn no_project_in_sarif_is_one_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["check", "--message-format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "E210");
}

#[test]
fn a_project_with_a_non_utf8_file_is_read_from_a_subdirectory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("project.gov"), "project demo {\n  phase = \"concept\"\n  environments = []\n}\n")
        .expect("write");
    fs::create_dir_all(tmp.path().join("envs")).expect("mkdir");
    fs::write(tmp.path().join("envs/bad.gov"), [0x65, 0xff, 0x0a]).expect("write");
    let out = govc(&tmp.path().join("envs"), &["check", "--message-format", "json"]);
    // Whatever the checks say, the project was found and read: no E210, no I/O error.
    assert!(matches!(out.status.code(), Some(0 | 1)), "stderr: {}", stderr(&out));
    assert!(!stdout(&out).contains("\"E210\""), "stdout: {}", stdout(&out));
    assert!(stdout(&out).lines().last().expect("summary").contains("summary"));
}

#[test]
fn a_missing_directory_is_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["check", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_flags_are_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for args in [
        &["check", "--no-such-flag"][..],
        &["check", "--message-format", "xml"],
        &["check", "--deny", "errors"],
        &["check", "--color", "sometimes"],
        &["frobnicate"],
        &[],
    ] {
        let out = govc(tmp.path(), args);
        assert_eq!(out.status.code(), Some(2), "govc {args:?}: {}", stderr(&out));
    }
}

#[test]
fn explain_prints_the_explanation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for code in ["E206", "e206"] {
        let out = govc(tmp.path(), &["explain", code]);
        assert_eq!(out.status.code(), Some(0));
        assert!(stdout(&out).contains("E206"));
    }
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["explain"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for code in ["E101", "E206", "E901", "W801"] {
        assert!(text.contains(code), "{code} missing from: {text}");
    }
}

#[test]
fn explain_of_an_unknown_code_is_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(tmp.path(), &["explain", "E999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("E999"));
}

#[test]
fn help_and_version_exit_0() {
    let tmp = tempfile::tempdir().expect("tempdir");
    assert_eq!(govc(tmp.path(), &["--help"]).status.code(), Some(0));
    assert_eq!(govc(tmp.path(), &["--version"]).status.code(), Some(0));
}

/// The language server turns transparent huge pages off for itself (a long-lived
/// process: its footprint matters more than its page faults): read back from the
/// kernel while `govc lsp` waits for a client.
#[cfg(target_os = "linux")]
#[test]
fn transparent_huge_pages_are_off_in_the_language_server() {
    use std::process::Stdio;
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = lsp(tmp.path()).stdout(Stdio::null()).spawn().expect("govc lsp starts");
    let seen = support::huge_pages_of(&child, |v, _| v == "0");
    let _ = child.kill();
    let _ = child.wait();
    match seen {
        Some((value, _)) => assert_eq!(value, "0", "THP_enabled of the language server"),
        None => eprintln!("note: this kernel does not report THP_enabled in /proc/PID/status; not checked"),
    }
}

/// A one-shot command keeps transparent huge pages, and the allocator asks for them on
/// its memory (a fifth less CPU in page faults at fleet scale, `docs/decisions.md`):
/// read back while `govc fmt --stdin` waits for its input.
#[cfg(target_os = "linux")]
#[test]
fn a_one_shot_command_asks_for_transparent_huge_pages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let seen =
        support::with_waiting_fmt(tmp.path(), |child| support::huge_pages_of(child, |v, advised| v == "1" && advised));
    // A process whose parent turned them off inherits that (`prctl` holds across `exec`).
    let inherited_off = fs::read_to_string("/proc/self/status")
        .is_ok_and(|status| status.lines().any(|l| l.strip_prefix("THP_enabled:").is_some_and(|v| v.trim() == "0")));
    let configured = Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() && !inherited_off;
    match seen {
        Some((value, advised)) if configured => {
            assert_eq!(value, "1", "THP_enabled of a one-shot command");
            assert!(advised, "no mapping of a one-shot command is advised for huge pages (mimalloc's `no_thp`?)");
        }
        _ => eprintln!("note: no transparent huge pages here (kernel, or turned off for this process); not checked"),
    }
}

/// The language server checks on a thread of its own, whose work is split on the
/// shared pool: with one thread in the pool (`RAYON_NUM_THREADS=1`), that thread must
/// not be `main`, which waits on the client. A diagnostic published for an opened
/// document shows the check ran to its end.
#[test]
fn the_language_server_checks_with_a_pool_of_one_thread() {
    use lsp_server::{Message, Notification, Request};
    use std::io::BufReader;
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("project.gov");
    let text = "project demo {\n  phase = \"unknown-phase\"\n}\n";
    fs::write(&project, text).expect("project.gov");
    let mut child =
        lsp(tmp.path()).env("RAYON_NUM_THREADS", "1").stdout(Stdio::piped()).spawn().expect("govc lsp starts");
    let uri = format!("file://{}", project.display());
    let messages = [
        Message::from(Request::new(
            1.into(),
            "initialize".into(),
            serde_json::json!({"capabilities": {}, "rootUri": format!("file://{}", tmp.path().display())}),
        )),
        Message::from(Notification::new("initialized".into(), serde_json::json!({}))),
        Message::from(Notification::new(
            "textDocument/didOpen".into(),
            serde_json::json!({"textDocument": {"uri": uri, "languageId": "gov", "version": 1, "text": text}}),
        )),
    ];
    let mut stdin = child.stdin.take().expect("stdin");
    for message in &messages {
        message.write(&mut stdin).expect("a message to the server");
    }
    // Messages from the server, read on a thread: a server that hangs fails the test
    // after a minute instead of hanging it.
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some(message)) = Message::read(&mut stdout) {
            if sent.send(message).is_err() {
                return;
            }
        }
    });
    let published = loop {
        match received.recv_timeout(Duration::from_secs(60)) {
            Ok(Message::Notification(n)) if n.method == "textDocument/publishDiagnostics" => break Some(n.params),
            Ok(_) => continue,
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let published = published.expect("diagnostics published within a minute");
    assert_eq!(published["uri"], uri);
}

/// `govc lsp` in `dir`, its input piped and its errors dropped.
fn lsp(dir: &Path) -> Command {
    use std::process::Stdio;
    let mut command = Command::new(env!("CARGO_BIN_EXE_govc"));
    command.arg("lsp").current_dir(dir).stdin(Stdio::piped()).stderr(Stdio::null());
    command
}
