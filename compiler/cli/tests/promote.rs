//! End-to-end tests of `govc promote` on a copy of the reference system (envs/):
//! a minimal edit that keeps comments, `--dry-run`, a field or block added where
//! TO inherits from the stack, and the refusals (out of order, skipping, a
//! source that does not check clean, another repository) that write nothing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn govc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(args)
        .args(["--color", "never"])
        .current_dir(cwd)
        .output()
        .expect("the govc binary runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const WEB: &str = "web@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const NEW_WEB: &str = "web@sha256:1111111111111111111111111111111111111111111111111111111111111111";
const WORKER: &str = "\"registry.zenthea.example/zenthea/worker@sha256:baa5a0964d3320fbc0c6a922140453c8513ea24ab8fd0577034804a967248096\"";

/// A copy of envs/ in a temporary directory.
fn reference() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("envs");
    fs::create_dir_all(&root).expect("mkdir");
    let envs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../envs");
    for entry in fs::read_dir(&envs).expect("envs/").flatten() {
        fs::copy(entry.path(), root.join(entry.file_name())).expect("copy");
    }
    (tmp, root)
}

fn read(root: &Path, file: &str) -> String {
    fs::read_to_string(root.join(file)).expect("read")
}

fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let old = read(root, file);
    assert!(old.contains(from), "{file} holds {from:?}");
    fs::write(root.join(file), old.replacen(from, to, 1)).expect("write");
}

#[test]
fn promotes_a_digest_as_a_minimal_edit_keeping_comments() {
    let (_tmp, root) = reference();
    edit(&root, "staging.gov", WEB, NEW_WEB);
    edit(&root, "production.gov", "  service web {\n", "  # The storefront.\n  service web {  # keep me\n");
    let before = read(&root, "production.gov");
    let unchanged = ["project.gov", "stack.gov", "staging.gov", "local.gov"].map(|f| read(&root, f));

    let out = govc(&root, &["promote", "staging", "production"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(read(&root, "production.gov"), before.replacen(WEB, NEW_WEB, 1), "only the digest changed");
    assert_eq!(["project.gov", "stack.gov", "staging.gov", "local.gov"].map(|f| read(&root, f)), unchanged);
    let summary = text(&out);
    assert!(summary.contains("promoted `staging` to `production`: 1 value in 1 file"), "{summary}");
    assert!(summary.contains(&format!("service web: image \"registry.zenthea.example/zenthea/{WEB}\" -> \"registry.zenthea.example/zenthea/{NEW_WEB}\" (in production.gov)")), "{summary}");
    let check = govc(&root, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    // Promoting again has nothing to do.
    let again = govc(&root, &["promote", "staging", "production"]);
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again).contains("nothing to promote"), "{}", text(&again));
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let (_tmp, root) = reference();
    edit(&root, "staging.gov", WEB, NEW_WEB);
    let before = read(&root, "production.gov");
    let out = govc(&root, &["promote", "staging", "production", "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let diff = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(diff.contains("--- a/production.gov\n+++ b/production.gov\n"), "{diff}");
    assert!(diff.contains(&format!("-    image = \"registry.zenthea.example/zenthea/{WEB}\"")), "{diff}");
    assert!(diff.contains(&format!("+    image = \"registry.zenthea.example/zenthea/{NEW_WEB}\"")), "{diff}");
    assert!(!diff.contains("promoted"), "the diff only: {diff}");
    assert_eq!(read(&root, "production.gov"), before);
}

#[test]
fn adds_the_field_or_the_block_where_to_inherits_from_the_stack() {
    let (_tmp, root) = reference();
    // Production's worker sets no image: the field is added to its block.
    edit(&root, "production.gov", &format!("    image = {WORKER}\n    replicas = 2..4\n"), "    replicas = 2..4\n");
    let out = govc(&root, &["promote", "staging", "production", "--service", "worker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        read(&root, "production.gov").contains(&format!(
            "  service worker {{\n    replicas = 2..4\n    memory = 1GiB\n    image = {WORKER}\n  }}\n"
        )),
        "{}",
        read(&root, "production.gov")
    );
    assert!(text(&out).contains("(added to production.gov)"), "{}", text(&out));

    // No worker block at all in production: one is added to its environment
    // block; the stack, shared with the other environments, is left alone.
    let (_tmp2, root) = reference();
    let production = read(&root, "production.gov");
    let start = production.find("  service worker {").expect("a worker block");
    let end = start + production[start..].find("  }\n").expect("its end") + 4;
    fs::write(root.join("production.gov"), format!("{}{}", &production[..start], &production[end..])).expect("write");
    let stack = read(&root, "stack.gov");
    let out = govc(&root, &["promote", "staging", "production", "--service", "worker"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        read(&root, "production.gov").contains(&format!(
            "  ingress edge {{\n    host = \"zenthea.example\"\n    zone = \"Z04417372ZENTHEAPROD\"\n  }}\n  service worker {{ image = {WORKER} }}\n}}\n"
        )),
        "{}",
        read(&root, "production.gov")
    );
    assert_eq!(read(&root, "stack.gov"), stack);
    let check = govc(&root, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn refuses_out_of_order_and_skipping_without_the_flag() {
    let (_tmp, root) = reference();
    let before = read(&root, "staging.gov");
    let back = govc(&root, &["promote", "production", "staging"]);
    assert_eq!(back.status.code(), Some(1), "{}", text(&back));
    assert!(text(&back).contains("error[E805]"), "{}", text(&back));
    assert!(text(&back).contains("does not come after"), "{}", text(&back));
    assert_eq!(read(&root, "staging.gov"), before);

    edit(&root, "local.gov", "zenthea/web:dev", &format!("zenthea/{NEW_WEB}"));
    let before = read(&root, "production.gov");
    let skip = govc(&root, &["promote", "local", "production", "--service", "web"]);
    assert_eq!(skip.status.code(), Some(1), "{}", text(&skip));
    assert!(
        text(&skip).contains("error[E805]: promoting from `local` to `production` skips `staging`"),
        "{}",
        text(&skip)
    );
    assert_eq!(read(&root, "production.gov"), before);

    // With the flag, the output records the environment skipped.
    let forced = govc(&root, &["promote", "local", "production", "--service", "web", "--skip-order"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced));
    assert!(text(&forced).contains("(skipping staging with --skip-order)"), "{}", text(&forced));
    assert_eq!(read(&root, "production.gov"), before.replacen(WEB, NEW_WEB, 1));
}

#[test]
fn refuses_a_source_that_does_not_check_clean() {
    let (_tmp, root) = reference();
    edit(&root, "staging.gov", WEB, NEW_WEB);
    edit(&root, "staging.gov", "    replicas = 2\n", "    replicas = \"two\"\n");
    let before = read(&root, "production.gov");
    let out = govc(&root, &["promote", "staging", "production"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("error[E806]: cannot promote from `staging`: it does not check clean"),
        "{}",
        text(&out)
    );
    assert_eq!(read(&root, "production.gov"), before);
}

#[test]
fn refuses_an_image_from_another_repository() {
    // A local environment may run another repository (E504 compares the others):
    // promoting it is refused.
    let (_tmp, root) = reference();
    edit(&root, "local.gov", "zenthea/web:dev", &format!("zenthea/{}", NEW_WEB.replace("web@", "web-next@")));
    let check = govc(&root, &["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let before = read(&root, "staging.gov");
    let out = govc(&root, &["promote", "local", "staging", "--service", "web"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[E807]: service `web` runs `registry.zenthea.example/zenthea/web` in `staging` but `registry.zenthea.example/zenthea/web-next` in `local`"), "{}", text(&out));
    assert_eq!(read(&root, "staging.gov"), before);
}

#[test]
fn refuses_a_result_that_does_not_check_clean() {
    // Local runs tags; staging must pin them (E501): the result is checked.
    let (_tmp, root) = reference();
    let before = read(&root, "staging.gov");
    let out = govc(&root, &["promote", "local", "staging"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[E501]"), "{}", text(&out));
    assert!(text(&out).contains("nothing was written"), "{}", text(&out));
    assert_eq!(read(&root, "staging.gov"), before);
}

#[test]
fn unknown_names_are_refused() {
    let (_tmp, root) = reference();
    let env = govc(&root, &["promote", "staging", "prod"]);
    assert_eq!(env.status.code(), Some(1), "{}", text(&env));
    assert!(text(&env).contains("error[E805]: `prod` is not in the promotion order"), "{}", text(&env));
    let service = govc(&root, &["promote", "staging", "production", "--service", "nope"]);
    assert_eq!(service.status.code(), Some(2), "{}", text(&service));
    assert!(text(&service).contains("`production` has no service `nope`"), "{}", text(&service));
}
