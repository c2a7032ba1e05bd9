//! End-to-end tests of `govc fmt`: in place (only changed files are written),
//! `--check` (exit code and diff, nothing written), `--stdin`, a file with syntax
//! errors left untouched with its diagnostics, comments kept, default project.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc")).args(args).current_dir(cwd).output().expect("the govc binary runs")
}

fn govc_stdin(cwd: &Path, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the govc binary runs");
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("govc ends")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const MESSY: &str =
    "# The project.\nproject p{phase=\"concept\"   # where it stands\n\n\n\n    environments=[staging,production]}\n";
const TIDY: &str =
    "# The project.\nproject p {\n  phase = \"concept\"  # where it stands\n\n  environments = [staging, production]\n}\n";
const FORMATTED: &str = "## The api.\nservice api {\n  port = 8080  # http\n}\n";

fn modified(path: &Path) -> std::time::SystemTime {
    fs::metadata(path).expect("exists").modified().expect("mtime")
}

#[test]
fn formats_in_place_and_writes_only_changed_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    fs::write(root.join("project.gov"), MESSY).expect("write");
    fs::create_dir_all(root.join("apps")).expect("mkdir");
    fs::write(root.join("apps/api.gov"), FORMATTED).expect("write");
    let before = modified(&root.join("apps/api.gov"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let out = govc(root, &["fmt"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("formatted 2 files: 1 changed"), "stderr: {}", stderr(&out));
    let tidy = fs::read_to_string(root.join("project.gov")).expect("read");
    assert_eq!(tidy, TIDY);
    assert_eq!(fs::read_to_string(root.join("apps/api.gov")).expect("read"), FORMATTED);
    assert_eq!(modified(&root.join("apps/api.gov")), before, "an unchanged file is not rewritten");
    let left: Vec<_> = fs::read_dir(root).expect("dir").flatten().map(|e| e.file_name()).collect();
    assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    // Formatting is idempotent: a second run changes nothing.
    let again = govc(root, &["fmt", "--check"]);
    assert_eq!(again.status.code(), Some(0), "stdout: {}", stdout(&again));
    assert_eq!(stdout(&again), "");
}

#[test]
fn check_writes_nothing_exits_1_and_prints_a_diff() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("src");
    fs::create_dir_all(dir.join("nested")).expect("mkdir");
    fs::write(dir.join("nested/a.gov"), "service api {port=8080}\n").expect("write");
    fs::write(dir.join("b.gov"), FORMATTED).expect("write");
    let out = govc(tmp.path(), &["fmt", "--check", "src"]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let diff = stdout(&out);
    assert!(diff.contains("--- src/nested/a.gov (as written)\n+++ src/nested/a.gov (formatted)\n"), "{diff}");
    assert!(diff.contains("-service api {port=8080}\n+service api { port = 8080 }\n"), "{diff}");
    assert!(!diff.contains("b.gov"), "{diff}");
    assert!(stderr(&out).contains("1 file of 2 would be reformatted"), "stderr: {}", stderr(&out));
    assert_eq!(fs::read_to_string(dir.join("nested/a.gov")).expect("read"), "service api {port=8080}\n");
    // A single file can be named, and a formatted one passes.
    let ok = govc(tmp.path(), &["fmt", "--check", "src/b.gov"]);
    assert_eq!(ok.status.code(), Some(0), "stdout: {}", stdout(&ok));
}

#[test]
fn stdin_is_formatted_to_stdout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc_stdin(tmp.path(), &["fmt", "--stdin"], MESSY);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), TIDY);
    let same = govc_stdin(tmp.path(), &["fmt", "--stdin"], FORMATTED);
    assert_eq!(stdout(&same), FORMATTED);
    let check = govc_stdin(tmp.path(), &["fmt", "--stdin", "--check"], MESSY);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("+++ <stdin> (formatted)"), "{}", stdout(&check));
    assert!(tmp.path().read_dir().expect("dir").next().is_none(), "nothing was written");
}

#[test]
fn a_file_with_syntax_errors_is_left_untouched_with_its_diagnostics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let broken = "service api {\n  port=8080\n";
    fs::write(tmp.path().join("broken.gov"), broken).expect("write");
    fs::write(tmp.path().join("fine.gov"), "service web {port=80}\n").expect("write");
    let out = govc(tmp.path(), &["fmt", "--color", "never", "."]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("error[E101]"), "stderr: {}", stderr(&out));
    assert!(stderr(&out).contains("broken.gov"), "stderr: {}", stderr(&out));
    assert_eq!(fs::read_to_string(tmp.path().join("broken.gov")).expect("read"), broken);
    assert_eq!(fs::read_to_string(tmp.path().join("fine.gov")).expect("read"), "service web { port = 80 }\n");
    // The diagnostics follow --message-format.
    let json = govc(tmp.path(), &["fmt", "--message-format", "json", "broken.gov"]);
    assert_eq!(json.status.code(), Some(1));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&json).lines().next().expect("a line")).expect("JSON lines");
    assert_eq!(first["code"], "E101");
    let piped = govc_stdin(tmp.path(), &["fmt", "--stdin"], broken);
    assert_eq!(piped.status.code(), Some(1));
    assert_eq!(stdout(&piped), "", "nothing is printed for a broken input");
    assert!(stderr(&piped).contains("<stdin>"), "stderr: {}", stderr(&piped));
}

#[test]
fn comments_and_doc_comments_are_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = "# head\n\n## The api.\nservice api {   # opener\n# own line\n    port = 8080    # trailing\n  hosts = [\n  \"a\", # first\n \"b\"\n ]\n}\n# tail\n";
    fs::write(tmp.path().join("a.gov"), text).expect("write");
    let out = govc(tmp.path(), &["fmt", "a.gov"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(
        fs::read_to_string(tmp.path().join("a.gov")).expect("read"),
        "# head\n\n## The api.\nservice api {  # opener\n  # own line\n  port = 8080  # trailing\n  hosts = [\n    \"a\",  # first\n    \"b\",\n  ]\n}\n# tail\n"
    );
}

#[test]
fn a_missing_path_is_a_usage_error_and_no_project_is_e210() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let missing = govc(tmp.path(), &["fmt", "nope.gov"]);
    assert_eq!(missing.status.code(), Some(2), "stderr: {}", stderr(&missing));
    let none = govc(tmp.path(), &["fmt", "--message-format", "json"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stdout(&none).contains("\"E210\""), "{}", stdout(&none));
}
