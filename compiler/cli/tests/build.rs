//! End-to-end tests of `govc build` and `govc build --check`: determinism (repeat
//! builds, renamed and reordered files, another working directory), safety (a
//! failed build leaves the previous tree whole, foreign files survive, only owned
//! files are removed) and staleness detection (hand edits).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc")).args(args).current_dir(cwd).output().expect("the govc binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

/// Copies a project's `.gov` files into `to`, renaming each file through `rename`.
fn copy_project(from: &Path, to: &Path, rename: &dyn Fn(&str) -> String) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).expect("below").to_string_lossy().replace('\\', "/");
        if !rel.ends_with(".gov") {
            continue;
        }
        let target = to.join(if rel == "project.gov" { rel.clone() } else { rename(&rel) });
        fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
        fs::copy(&entry, &target).expect("copy");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file below `dir`: relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walk(dir)
        .into_iter()
        .map(|p| {
            (p.strip_prefix(dir).expect("below").to_string_lossy().replace('\\', "/"), fs::read(&p).expect("read"))
        })
        .collect()
}

fn build(project: &Path, out: &Path) -> Output {
    let out = govc(project, &["build", "-q", "--out", out.to_str().expect("utf-8")]);
    assert!(out.status.success(), "build failed: {}", text(&out));
    out
}

/// A copy of `examples/three-envs` in `tmp/shop`, built into its `generated/`: the
/// project and that directory.
fn built_example(tmp: &Path) -> (PathBuf, PathBuf) {
    let project = tmp.join("shop");
    copy_project(&example("three-envs"), &project, &|rel| rel.to_string());
    let out_dir = project.join("generated");
    build(&project, &out_dir);
    (project, out_dir)
}

/// Changes a service's replicas in the copy of `three-envs` at `project`: a few output
/// files change, most do not.
fn change_replicas(project: &Path) {
    let source = fs::read_to_string(project.join("project.gov")).expect("read");
    assert!(source.contains("replicas = 3..10"), "the example changed: pick another edit");
    fs::write(project.join("project.gov"), source.replace("replicas = 3..10", "replicas = 4..10")).expect("write");
}

#[test]
fn builds_are_byte_identical_whatever_the_file_names_order_and_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = example("phased-ladder");
    build(&project, &tmp.path().join("a"));
    build(&project, &tmp.path().join("b"));
    let a = tree(&tmp.path().join("a"));
    assert!(a.keys().any(|p| p.starts_with("terraform/production/")), "a Terraform root: {:?}", a.keys());
    assert!(a.keys().any(|p| p.starts_with("kubernetes/overlays/staging/")), "an overlay");
    assert_eq!(a, tree(&tmp.path().join("b")), "two builds differ");

    // The same sources under other names, in other directories, built from elsewhere.
    let renamed = tmp.path().join("renamed");
    copy_project(&project, &renamed, &|rel| format!("zz/{}", rel.replace('/', "-").replace(".gov", "-x.gov")));
    let elsewhere = tmp.path().join("cwd");
    fs::create_dir_all(&elsewhere).expect("mkdir");
    let out = govc(&elsewhere, &["build", "-q", renamed.to_str().expect("utf-8"), "--out", "../c"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(a, tree(&tmp.path().join("c")), "renaming files or building from elsewhere changed the output");
}

#[test]
fn check_passes_when_up_to_date_and_catches_hand_edits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = example("three-envs");
    let out_dir = tmp.path().join("generated");
    let out = out_dir.to_str().expect("utf-8");
    build(&project, &out_dir);
    assert!(govc(&project, &["build", "--check", "--out", out]).status.success());

    let edited = out_dir.join("kubernetes/overlays/production/kustomization.yaml");
    let original = fs::read_to_string(&edited).expect("an overlay");
    fs::write(&edited, original.replace("shop-production", "shop-prod")).expect("edit");
    let check = govc(&project, &["build", "--check", "--out", out]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let report = text(&check);
    assert!(report.contains("changed  kubernetes/overlays/production/kustomization.yaml"), "{report}");
    assert!(report.contains("-namespace: shop-prod") && report.contains("+namespace: shop-production"), "{report}");

    fs::remove_file(out_dir.join("kubernetes/base/kustomization.yaml")).expect("remove");
    let check = govc(&project, &["build", "--check", "--out", out]);
    assert!(text(&check).contains("added    kubernetes/base/kustomization.yaml"), "{}", text(&check));

    build(&project, &out_dir);
    assert_eq!(fs::read_to_string(&edited).expect("restored"), original);
    assert!(govc(&project, &["build", "--check", "--out", out]).status.success());
}

/// A rebuild compares each file as it is rendered and keeps only the texts that
/// differ: the files it found the same are carried into the new tree as they were
/// (the same file, on unix the same inode), the others written, and the result is the
/// tree a build from scratch writes.
#[test]
fn a_rebuild_keeps_the_unchanged_files_and_writes_the_changed_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    let before = tree(&out_dir);
    change_replicas(&project);
    let identity = |rel: &str| file_identity(&out_dir.join(rel));
    let identities: BTreeMap<String, _> = before.keys().map(|rel| (rel.clone(), identity(rel))).collect();

    let out = govc(&project, &["build"]);
    assert!(out.status.success(), "{}", text(&out));
    let after = tree(&out_dir);
    let fresh = tmp.path().join("fresh");
    build(&project, &fresh);
    assert_eq!(after, tree(&fresh), "a rebuild wrote another tree than a build from scratch");
    let changed: Vec<&String> = after.keys().filter(|rel| before.get(*rel) != Some(&after[*rel])).collect();
    assert!(!changed.is_empty() && changed.len() < after.len() / 2, "{changed:?}");
    assert!(text(&out).contains(&format!("{} written", changed.len())), "{}", text(&out));
    for (rel, was) in &identities {
        if after.contains_key(rel) && before[rel] == after[rel] && cfg!(unix) {
            assert_eq!(identity(rel), *was, "`{rel}` was unchanged but rewritten");
        }
    }
}

/// The device and inode of a file (unix); nothing elsewhere.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[test]
fn foreign_files_survive_and_only_owned_files_are_removed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    fs::write(out_dir.join("NOTES.md"), "ours\n").expect("write");
    fs::write(out_dir.join("kubernetes/overlays/staging/extra.yaml"), "kind: Foreign\n").expect("write");

    // Drop staging: its files go, the foreign ones stay.
    let source = fs::read_to_string(project.join("project.gov")).expect("read");
    let start = source.find("environment staging {").expect("staging");
    let end = start + source[start..].find("\n}\n").expect("end") + 3;
    let without = source[..start].to_string() + &source[end..];
    // Production's digests were promoted through staging: without it, E804 would refuse.
    let without = without.replace("[local, staging, production]", "[local, production]\n  immutable_promotion = false");
    fs::write(project.join("project.gov"), without).expect("write");
    let out = govc(&project, &["build"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("files that govc does not own"), "{}", text(&out));
    let after = tree(&out_dir);
    assert_eq!(after["NOTES.md"], b"ours\n");
    assert!(after.contains_key("kubernetes/overlays/staging/extra.yaml"));
    assert!(!after.contains_key("kubernetes/overlays/staging/kustomization.yaml"), "an owned file survived");
    assert!(!after.keys().any(|p| p.starts_with("terraform/staging/")), "an owned root survived");
}

#[test]
fn a_failed_build_leaves_the_previous_tree_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    // Something govc does not own stands where a file must be written.
    let blocked = out_dir.join("kubernetes/base/kustomization.yaml");
    fs::remove_file(&blocked).expect("remove");
    fs::create_dir_all(blocked.join("in-the-way")).expect("mkdir");
    fs::write(blocked.join("in-the-way/file"), "x").expect("write");
    let before = tree(&out_dir);
    change_replicas(&project);

    let out = govc(&project, &["build"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("previous files were left as they were"), "{}", text(&out));
    assert_eq!(tree(&out_dir), before, "a failed build changed the tree");
    let leftovers: Vec<_> = fs::read_dir(&project)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "staging directories left behind");
}

#[test]
fn build_refuses_without_iac_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out_dir = tmp.path().join("out");
    let out =
        govc(&example("minimal"), &["build", "--message-format", "json", "--out", out_dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"E702\""));
    assert!(!out_dir.exists());
}

#[test]
fn a_ci_role_before_provider_refuses_the_build_and_writes_nothing() {
    // The case tests/cases/phases/ci_role_before_provider.gov, built: E701, no root at all.
    let tmp = tempfile::tempdir().expect("tempdir");
    let project = tmp.path().join("p");
    fs::create_dir_all(&project).expect("mkdir");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/cases/phases/ci_role_before_provider.gov");
    let text_of = fs::read_to_string(source).expect("the case");
    fs::write(project.join("project.gov"), &text_of).expect("write");
    let out_dir = tmp.path().join("out");
    let out = govc(&project, &["build", "--message-format", "json", "--out", out_dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"E701\""), "{}", text(&out));
    assert!(!out_dir.exists(), "no half-emitted root");
    // With `provider` authorized (and the local environment's `ci` removed), it builds,
    // and the root holds the access entry.
    let fixed = text_of
        .replace("phase = \"design\"", "phase = \"build\"")
        .replace("  tier = local\n  ci { role = \"arn:aws:iam::111111111111:role/deployer\" }\n", "  tier = local\n")
        .replace(
            "  tier = dev\n",
            "  tier = dev\n  aws { account = \"111111111111\"  region = \"eu-west-1\" }\n  state { bucket = \"p-dev-state\" }\n",
        )
        .replace("service api { port = 8080 }", "service api { image = \"registry.example.com/api@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"  port = 8080 }")
        .replace("  ingress edge {\n", "  ingress edge {\n    host = \"dev.p.example.com\"\n");
    fs::write(project.join("project.gov"), fixed).expect("write");
    let out = govc(&project, &["build", "--out", out_dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let compute = fs::read_to_string(out_dir.join("terraform/dev/compute.tf.json")).expect("the root");
    assert!(compute.contains("\"aws_eks_access_entry\""), "{compute}");
    assert!(compute.contains("arn:aws:iam::111111111111:role/deployer"));
}

#[test]
fn the_compose_file_is_owned_checked_and_the_developers_secrets_are_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    let out = out_dir.to_str().expect("utf-8");
    let compose = out_dir.join("compose/docker-compose.yml");
    let original = fs::read_to_string(&compose).expect("the local environment's Compose file");
    assert!(original.contains("name: shop-local\n"), "{original}");
    let lock = fs::read_to_string(out_dir.join("govc.lock.json")).expect("the lock");
    assert!(lock.contains("\"compose/docker-compose.yml\"") && lock.contains("\"compose/.gitignore\""), "{lock}");

    // The developer's secret files: kept, and not reported as foreign.
    fs::create_dir_all(out_dir.join("compose/secrets")).expect("mkdir");
    fs::write(out_dir.join("compose/secrets/orders-password"), "local-only\n").expect("write");
    let again = govc(&project, &["build", "--out", out]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("does not own"), "{}", text(&again));
    assert_eq!(fs::read_to_string(out_dir.join("compose/secrets/orders-password")).expect("kept"), "local-only\n");

    // A hand edit is stale for --check; building only another environment leaves it.
    fs::write(&compose, original.replace("restart: unless-stopped", "restart: always")).expect("edit");
    let check = govc(&project, &["build", "--check", "--out", out]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("changed  compose/docker-compose.yml"), "{}", text(&check));
    let staging = govc(&project, &["build", "-q", "--env", "staging", "--out", out]);
    assert!(staging.status.success(), "{}", text(&staging));
    assert!(fs::read_to_string(&compose).expect("read").contains("restart: always"), "--env staging rewrote it");
    let local = govc(&project, &["build", "-q", "--env", "local", "--out", out]);
    assert!(local.status.success(), "{}", text(&local));
    assert_eq!(fs::read_to_string(&compose).expect("read"), original, "--env local rewrites it");
    assert!(govc(&project, &["build", "--check", "--out", out]).status.success());
}

/// `build --check` on a stale tree: a line per file, then the start of a unified diff of
/// each (found as each file is rendered, its texts not kept), long ones cut with a count.
#[test]
fn check_reports_each_stale_file_with_the_start_of_its_diff() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    let edited = "kubernetes/base/kustomization.yaml";
    let original = fs::read_to_string(out_dir.join(edited)).expect("read");
    let first = original.lines().next().expect("a line");
    fs::write(out_dir.join(edited), original.replacen(first, "# edited by hand", 1)).expect("write");
    let cut = "terraform/production/network.tf.json";
    let whole = fs::read_to_string(out_dir.join(cut)).expect("read");
    let kept: Vec<&str> = whole.lines().take(3).collect();
    fs::write(out_dir.join(cut), kept.join("\n") + "\n").expect("write");
    fs::remove_file(out_dir.join("docs/staging.md")).expect("remove");

    let out = govc(&project, &["build", "--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("generated/ is stale: 1 added, 2 changed, 0 removed"), "{report}");
    for line in [format!("  changed  {edited}"), format!("  changed  {cut}"), "  added    docs/staging.md".to_string()]
    {
        assert!(report.contains(&line), "no `{line}` in {report}");
    }
    assert!(report.contains(&format!("--- generated/{edited} (on disk)\n+++ generated/{edited} (from sources)\n")));
    assert!(report.contains(&format!("-# edited by hand\n+{first}\n")), "{report}");
    let removed = whole.lines().count() - 3;
    assert!(report.contains(" more diff lines\n"), "{report}");
    let header = format!("--- generated/{cut} (on disk)\n");
    let section = &report[report.find(&header).expect("the cut file's diff")..];
    let more: usize = section
        .lines()
        .find_map(|l| l.strip_prefix("... ").and_then(|l| l.strip_suffix(" more diff lines")))
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(more + 40 >= removed, "{more} more lines for {removed} lines added back");
    assert!(report.ends_with("run `govc build` to bring it up to date\n"), "{report}");
}

/// `build --env production` renders every environment but keeps only production's files
/// (its root, overlay and page, and the base): those are what a whole build writes, the other environments' files
/// stay as they are on disk, hand edits included, and the lock lists each file's digest
/// as it then stands.
#[test]
fn a_build_of_one_environment_writes_its_files_and_carries_the_others_over() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    let edited = "terraform/staging/backend.tf.json";
    let hand = format!("{}\n", fs::read_to_string(out_dir.join(edited)).expect("read"));
    fs::write(out_dir.join(edited), &hand).expect("write");
    let before = tree(&out_dir);
    change_replicas(&project);
    let whole = tmp.path().join("whole");
    build(&project, &whole);
    let whole = tree(&whole);

    let out = out_dir.to_str().expect("utf-8");
    let run = govc(&project, &["build", "-q", "--env", "production", "--out", out]);
    assert!(run.status.success(), "{}", text(&run));
    let after = tree(&out_dir);
    let production = |p: &str| {
        p.starts_with("terraform/production/")
            || p.starts_with("kubernetes/overlays/production/")
            || p == "docs/production.md"
    };
    let mut changed = 0;
    for (path, bytes) in &after {
        if path == "govc.lock.json" {
            continue;
        }
        if production(path) || path.starts_with("kubernetes/base/") {
            assert!(Some(bytes) == whole.get(path), "{path} is not what a whole build writes");
            changed += usize::from(before.get(path) != Some(bytes));
        } else {
            assert!(Some(bytes) == before.get(path), "{path} was not carried over");
        }
    }
    assert!(changed > 0, "the edit changed no production file");
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "files came or went");
    let lock: serde_json::Value = serde_json::from_slice(&after["govc.lock.json"]).expect("a lock");
    for (path, bytes) in &after {
        if path != "govc.lock.json" {
            let digest = lock["files"][path].as_str().unwrap_or_default();
            assert_eq!(digest, govc::lock::sha256_hex(bytes), "the lock's digest of {path}");
        }
    }
    let check = govc(&project, &["build", "--check", "--out", out]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(report.contains("generated/ is stale: 0 added, 2 changed, 0 removed"), "{report}");
    assert!(report.contains(&format!("changed  {edited}")) && report.contains("changed  govc.lock.json"), "{report}");
}

/// The record of a file's digest that a build leaves on each file it found the same
/// (`user.govc.sha256`), where the file system takes user attributes: `None` without.
#[cfg(target_os = "linux")]
fn record_of(path: &Path) -> Option<String> {
    let mut value = [0u8; 128];
    let n = rustix::fs::getxattr(path, "user.govc.sha256", &mut value[..]).ok()?;
    Some(String::from_utf8_lossy(&value[..n]).into_owned())
}

/// A rebuild records on each file it found the same and that had settled the digest
/// it hashed, and the next rebuild compares the file without hashing it; a file changed
/// in place, its size and time kept, is found to differ all the same, rewritten and
/// listed under its true digest; `build --check` trusts no record.
#[test]
#[cfg(target_os = "linux")]
fn rebuilds_record_the_digests_of_unchanged_files_and_check_trusts_none() {
    use std::time::{Duration, SystemTime};
    let tmp = tempfile::tempdir().expect("tempdir");
    let (project, out_dir) = built_example(tmp.path());
    let probe = tmp.path().join("probe");
    fs::write(&probe, "").expect("written");
    if rustix::fs::setxattr(&probe, "user.govc.probe", b"", rustix::fs::XattrFlags::empty()).is_err() {
        eprintln!("note: no user attributes in {}: records not tested", tmp.path().display());
        return;
    }
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let files = walk(&out_dir);
    for path in &files {
        fs::File::options().write(true).open(path).and_then(|f| f.set_modified(hour_ago)).expect("aged");
    }
    let before = tree(&out_dir);
    build(&project, &out_dir);
    assert_eq!(tree(&out_dir), before, "a rebuild of an unchanged project changed the tree");
    for path in &files {
        let record = record_of(path).unwrap_or_else(|| panic!("{} has no record", path.display()));
        let digest = govc::lock::sha256_hex(&fs::read(path).expect("read"));
        assert!(record.ends_with(&format!(" {digest}")), "{}: {record}", path.display());
    }

    // Changed in place, one byte for another, the time set back: the record stays.
    let edited = out_dir.join("kubernetes/overlays/production/kustomization.yaml");
    let original = fs::read_to_string(&edited).expect("an overlay");
    let tampered = original.replacen("shop-production", "shop-productiox", 1);
    fs::write(&edited, &tampered).expect("edited");
    fs::File::options().write(true).open(&edited).and_then(|f| f.set_modified(hour_ago)).expect("aged");
    assert!(record_of(&edited).is_some());
    let out = out_dir.to_str().expect("utf-8");
    assert_eq!(govc(&project, &["build", "--check", "--out", out]).status.code(), Some(1));
    build(&project, &out_dir);
    assert_eq!(tree(&out_dir), before, "the file changed in place was not restored");
    assert!(govc(&project, &["build", "--check", "--out", out]).status.success());

    // A record made by hand with another digest: the check hashes the file.
    let forged = out_dir.join("terraform/production/network.tf.json");
    let record = record_of(&forged).expect("a record");
    let (stamp, _) = record.rsplit_once(' ').expect("a digest last");
    let other = format!("{stamp} {}", "0".repeat(64));
    rustix::fs::setxattr(&forged, "user.govc.sha256", other.as_bytes(), rustix::fs::XattrFlags::empty()).expect("set");
    let check = govc(&project, &["build", "--check", "--out", out]);
    assert!(check.status.success(), "{}", text(&check));
}
