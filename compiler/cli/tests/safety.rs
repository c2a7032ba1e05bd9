//! End-to-end tests of what `govc build` never does, whatever it finds on disk: it
//! never reads or writes through a symbolic link inside the output directory,
//! never trusts the paths of a hand-edited lock, never loses a foreign entry (empty
//! directories and modes included), never leaves a killed build's staging
//! directory behind, and copes with an output directory that is a mount point.
//! Also: the sources' line endings and encoding errors, as a checkout may have them.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc")).args(args).current_dir(cwd).output().expect("the govc binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A copy of the `three-envs` example in `tmp/shop`, built into `tmp/shop/generated`.
fn built_project(tmp: &Path) -> (PathBuf, PathBuf) {
    let project = tmp.join("shop");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/three-envs");
    copy_gov_files(&from, &project, &|t| t.to_string());
    let out = project.join("generated");
    let built = govc(&project, &["build", "-q"]);
    assert!(built.status.success(), "{}", text(&built));
    (project, out)
}

fn copy_gov_files(from: &Path, to: &Path, convert: &dyn Fn(&str) -> String) {
    for (rel, bytes) in tree(from) {
        if rel.ends_with(".gov") {
            let target = to.join(&rel);
            fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
            fs::write(&target, convert(&String::from_utf8(bytes).expect("utf-8"))).expect("write");
        }
    }
}

/// Every file below `dir` (links not followed): relative path → bytes (a link's
/// bytes are `-> target`).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            let rel = p.strip_prefix(dir).expect("below").to_string_lossy().into_owned();
            let kind = e.file_type().expect("a type");
            if kind.is_symlink() {
                out.insert(rel, format!("-> {}", fs::read_link(&p).expect("a link").display()).into_bytes());
            } else if kind.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, fs::read(&p).expect("read"));
            }
        }
    }
    out
}

/// The staging directories in `dir` (beside its `generated/`).
fn staging_directories(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("govc-staging"))
        .collect()
}

/// Edits the production replicas, so that the next build has something to write.
fn change_sources(project: &Path) {
    let path = project.join("project.gov");
    let source = fs::read_to_string(&path).expect("read");
    assert!(source.contains("replicas = 3..10"), "the example changed");
    fs::write(&path, source.replace("replicas = 3..10", "replicas = 4..10")).expect("write");
}

#[test]
fn a_directory_link_inside_the_output_is_refused_not_followed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    fs::rename(out.join("kubernetes"), &elsewhere).expect("move");
    symlink(&elsewhere, out.join("kubernetes")).expect("link");
    let before = tree(&elsewhere);
    change_sources(&project);

    for args in [&["build"][..], &["build", "--check"], &["build", "--env", "staging"]] {
        let run = govc(&project, args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", text(&run));
        assert!(text(&run).contains("`kubernetes` is a symbolic link"), "{args:?}: {}", text(&run));
        assert_eq!(tree(&elsewhere), before, "{args:?} wrote through the link");
    }
}

#[test]
fn an_owned_file_replaced_by_a_link_is_neither_read_nor_copied() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    let secret = tmp.path().join("secret.txt");
    fs::write(&secret, "TOP-SECRET-CONTENT\n").expect("write");
    for owned in ["terraform/production/backend.tf.json", "kubernetes/overlays/local/kustomization.yaml"] {
        fs::remove_file(out.join(owned)).expect("remove");
        symlink(&secret, out.join(owned)).expect("link");
    }
    for args in [&["build", "--check"][..], &["build", "--env", "staging"], &["build"]] {
        let run = govc(&project, args);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {}", text(&run));
        assert!(text(&run).contains("is a symbolic link"), "{args:?}: {}", text(&run));
        assert!(!text(&run).contains("TOP-SECRET"), "{args:?} printed the link's target");
    }
    assert!(!tree(&out).values().any(|bytes| bytes.starts_with(b"TOP-SECRET")), "the target was copied");
}

#[test]
fn lock_paths_that_leave_the_output_are_never_read_or_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    let victim = tmp.path().join("victim.txt");
    fs::write(&victim, "keep me\n").expect("write");
    let lock_path = out.join("govc.lock.json");
    let lock = fs::read_to_string(&lock_path).expect("a lock");
    let escaping = ["../../victim.txt", &victim.display().to_string(), "terraform/../../../victim.txt"];
    let extra: String = escaping.iter().map(|p| format!("\n    {p:?}: \"00\",")).collect();
    let edited = lock.replacen("\"files\": {", &format!("\"files\": {{{extra}"), 1);
    assert!(edited.contains("../../victim.txt"));

    for args in [&["build", "--env", "staging"][..], &["build", "--check"], &["build"]] {
        fs::write(&lock_path, &edited).expect("edit");
        let run = govc(&project, args);
        assert!(run.status.code() != Some(2), "{args:?}: {}", text(&run));
        assert!(text(&run).contains("outside the output directory; they are ignored"), "{}", text(&run));
        assert_eq!(fs::read_to_string(&victim).expect("the victim survives"), "keep me\n", "{args:?}");
        assert!(!tree(&out).values().any(|b| b == b"keep me\n"), "{args:?} copied the victim into the output");
    }
    assert!(!fs::read_to_string(&lock_path).expect("lock").contains("victim"), "the new lock lists the paths");
}

#[test]
fn foreign_directories_survive_with_their_modes_even_when_empty() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    fs::create_dir_all(out.join("notes/empty")).expect("mkdir");
    fs::create_dir_all(out.join("kubernetes/overlays/staging/mine")).expect("mkdir");
    fs::create_dir_all(out.join("private")).expect("mkdir");
    fs::write(out.join("private/keys.txt"), "ours\n").expect("write");
    let modes = [("private", 0o700), ("terraform", 0o750), ("notes/empty", 0o711), ("", 0o751)];
    for (dir, mode) in modes {
        fs::set_permissions(out.join(dir), fs::Permissions::from_mode(mode)).expect("chmod");
    }
    change_sources(&project);
    let run = govc(&project, &["build", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(fs::read_to_string(out.join("kubernetes/overlays/production/kustomization.yaml"))
        .expect("an overlay")
        .contains("4"));
    for dir in ["notes/empty", "kubernetes/overlays/staging/mine", "private"] {
        assert!(out.join(dir).is_dir(), "`{dir}` was removed");
    }
    assert_eq!(fs::read_to_string(out.join("private/keys.txt")).expect("kept"), "ours\n");
    for (dir, mode) in modes {
        let now = fs::metadata(out.join(dir)).expect("exists").permissions().mode() & 0o777;
        assert_eq!(now, mode, "the mode of `{dir}` changed");
    }
}

#[test]
fn staging_directories_of_killed_builds_are_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, _) = built_project(tmp.path());
    // A process id that is certainly gone: a child that has exited and been reaped.
    let mut child = Command::new("true").spawn().expect("spawn");
    let dead = child.id();
    child.wait().expect("wait");
    let litter = [format!(".generated.govc-staging-{dead}-AbCdEf"), ".generated.govc-staging-XyZ123".to_string()];
    for name in &litter {
        fs::create_dir_all(project.join(name).join("tree/terraform")).expect("mkdir");
        fs::write(project.join(name).join("tree/terraform/big.tf.json"), "{}").expect("write");
    }
    change_sources(&project);
    let run = govc(&project, &["build", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    let left = staging_directories(&project);
    assert!(left.is_empty(), "staging directories left: {left:?}");
}

#[test]
fn an_output_directory_that_is_a_mount_point_is_written_inside() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    let reference = tree(&out);
    fs::remove_dir_all(&out).expect("remove");
    fs::create_dir(&out).expect("mkdir");
    let mounted = Command::new("mount").args(["-t", "tmpfs", "govc-test", out.to_str().expect("utf-8")]).output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: mounting a tmpfs needs root (the mount-point test ran nowhere)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(out.clone());
    fs::write(out.join("README"), "foreign\n").expect("write");
    let run = govc(&project, &["build", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    let mut built = tree(&out);
    assert_eq!(built.remove("README").as_deref(), Some(&b"foreign\n"[..]));
    assert_eq!(built, reference, "a build inside a mount point differs from a normal build");

    change_sources(&project);
    fs::write(out.join("kubernetes/base/kustomization.yaml"), "edited\n").expect("edit");
    let run = govc(&project, &["build", "-q"]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(govc(&project, &["build", "--check"]).status.success(), "stale after an in-place build");
    assert!(!tree(&out).keys().any(|p| p.contains("govc-staging")), "temporary files left behind");
}

#[test]
fn a_crlf_checkout_builds_the_same_tree_and_lock() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_, out) = built_project(tmp.path());
    let crlf = tmp.path().join("crlf");
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/three-envs");
    copy_gov_files(&from, &crlf, &|t| t.replace('\n', "\r\n"));
    assert!(fs::read_to_string(crlf.join("project.gov")).expect("read").contains("\r\n"));
    let run = govc(&crlf, &["build", "--check", "--out", out.to_str().expect("utf-8")]);
    assert!(run.status.success(), "a CRLF checkout looks stale: {}", text(&run));
}

#[test]
fn encoding_problems_are_one_diagnostic_at_the_right_place() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("p");
    fs::create_dir_all(&project).expect("mkdir");
    let head = "project p {\n  phase = \"concept\"\n  environments = [a]\n}\n";
    let mut bytes = format!("{head}# caf").into_bytes();
    bytes.extend([0xe9, b'\n']);
    bytes.extend(b"environment a { tier = dev }\n");
    fs::write(project.join("project.gov"), bytes).expect("write");
    let run = govc(&project, &["check", "--message-format", "json"]);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let codes: Vec<&str> = out.lines().filter_map(|l| l.split("\"code\":\"").nth(1)).map(|r| &r[..4]).collect();
    assert_eq!(codes, ["E101"], "{out}");
    assert!(out.contains(r#""range":{"start":{"line":4,"character":5}"#), "{out}");

    // A lone carriage return ends a line, as editors count lines.
    fs::write(project.join("project.gov"), format!("{head}environment a {{\r  tier = bogus\n}}\n")).expect("write");
    let run = govc(&project, &["check", "--message-format", "json"]);
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(out.contains("\"E203\""), "{out}");
    assert!(out.contains(r#""range":{"start":{"line":5,"character":9}"#), "{out}");
}

/// A build writes the files that differ into its staging directory as it renders them,
/// beside the checks. When a check then refuses the program, the staging directory
/// goes with what it holds, and the previous tree is as it was.
#[test]
fn a_build_refused_by_a_check_leaves_the_tree_and_no_staging_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out) = built_project(tmp.path());
    let before = tree(&out);
    change_sources(&project);
    let path = project.join("project.gov");
    let source = fs::read_to_string(&path).expect("read");
    let pinned = "ghcr.io/example/storefront@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assert!(source.contains(pinned), "the example changed");
    // An image not pinned by digest in production: E501, found by the checks.
    fs::write(&path, source.replacen(pinned, "ghcr.io/example/storefront:latest", 1)).expect("write");
    let run = govc(&project, &["build", "--message-format", "json"]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(String::from_utf8_lossy(&run.stdout).contains("\"E501\""), "{}", text(&run));
    assert_eq!(tree(&out), before, "a refused build changed the tree");
    let left = staging_directories(&project);
    assert!(left.is_empty(), "staging directories left: {left:?}");
}
