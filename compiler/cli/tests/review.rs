//! End-to-end tests of the reviewer's commands: `govc diff A B` (text and JSON,
//! refusals) and `govc doc` (the pages `govc build` also writes to `docs/`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc")).args(args).current_dir(cwd).output().expect("the govc binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn diff_shows_values_and_images_between_mirrored_environments() {
    let out = govc(&repo(), &["diff", "staging", "production", "envs"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = stdout(&out);
    assert!(text.contains("topology: the same"), "{text}");
    assert!(text.contains("class                db.t4g.medium → db.m6g.large"), "{text}");
    assert!(text.contains("service `api`: same artifact"), "{text}");

    let out = govc(&repo(), &["diff", "local", "production", "envs", "--format", "json", "--exit-code"]);
    assert_eq!(out.status.code(), Some(1), "the environments differ");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(json["a"], "local");
    let images = json["images"].as_array().expect("images");
    assert!(images.iter().all(|i| i["same_artifact"] == false), "local builds its own images: {images:?}");
    let values = json["values"].as_array().expect("values");
    assert!(values.iter().any(|v| v["field"] == "tier" && v["a"] == "local" && v["b"] == "production"));
}

#[test]
fn diff_refuses_unknown_environments_and_broken_projects() {
    let out = govc(&repo(), &["diff", "staging", "prod", "envs"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown environment `prod`"));

    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(
        tmp.path().join("project.gov"),
        "project p { phase = \"concept\"  environments = [a] }\nenvironment a { tier = nope }\n",
    )
    .expect("write");
    let out = govc(tmp.path(), &["diff", "a", "a", "--message-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("\"E203\""), "{}", stdout(&out));
}

#[test]
fn doc_prints_the_pages_that_build_writes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = govc(&repo(), &["doc", "envs", "--env", "production"]);
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(page.starts_with("# Environment `production`"), "{page}");
    assert!(page.contains("```mermaid\nflowchart LR\n"), "{page}");

    let dir = tmp.path().join("pages");
    let out = govc(&repo(), &["doc", "envs", "--out", dir.to_str().expect("utf-8")]);
    assert!(out.status.success());
    for env in ["local", "staging", "production"] {
        let written = fs::read_to_string(dir.join(format!("{env}.md"))).expect("a page");
        let committed = fs::read_to_string(repo().join(format!("generated/docs/{env}.md"))).expect("committed");
        assert_eq!(written, committed, "`govc doc` and `govc build` disagree on {env}");
    }
    assert_eq!(fs::read_to_string(dir.join("production.md")).expect("page"), page);
}

#[test]
fn doc_works_before_the_phase_authorizes_iac() {
    let out = govc(&repo(), &["doc", "examples/minimal"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("which authorizes `model`"), "{}", stdout(&out));
}

/// Rollback is a rebuild of the last stable sources: `git checkout <stable> && govc
/// build` gives the stable output back byte for byte, lock (and its source digest)
/// included.
#[test]
fn checking_out_the_last_stable_sources_rebuilds_the_stable_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("shop");
    let example = repo().join("examples/three-envs");
    fs::create_dir_all(&project).expect("mkdir");
    for entry in fs::read_dir(&example).expect("the example").flatten() {
        if entry.path().extension().is_some_and(|e| e == "gov") {
            fs::copy(entry.path(), project.join(entry.file_name())).expect("copy");
        }
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args(["-c", "user.name=govc", "-c", "user.email=govc@example.invalid", "-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(&project)
            .output();
        match out {
            Ok(out) if out.status.success() => true,
            Ok(out) => panic!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => false,
        }
    };
    if !git(&["init", "-q"]) {
        eprintln!("skipped: git is not installed (rollback test)");
        return;
    }
    let build = || {
        let out = govc(&project, &["build", "-q"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let snapshot = || -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![project.join("generated")];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("readable").flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    files.push((e.path(), fs::read(e.path()).expect("read")));
                }
            }
        }
        files.sort();
        files
    };
    build();
    git(&["add", "-A"]);
    git(&["commit", "-qm", "stable"]);
    let stable = snapshot();

    let source = fs::read_to_string(project.join("project.gov")).expect("read");
    fs::write(project.join("project.gov"), source.replace("replicas = 3..10", "replicas = 5..10")).expect("edit");
    build();
    assert_ne!(snapshot(), stable, "the change changed nothing");

    git(&["checkout", "-q", "HEAD", "--", "project.gov"]);
    build();
    assert_eq!(snapshot(), stable, "rebuilding the stable sources did not give the stable output back");
    assert!(govc(&project, &["build", "--check"]).status.success());
}
