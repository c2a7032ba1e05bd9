//! A parent that turned transparent huge pages off keeps them off in `govc`: the flag
//! holds across `exec`, and a command that keeps huge pages never turns them on. In a
//! file of its own because it turns them off for the test process, which every process
//! it spawns inherits.

#![cfg(target_os = "linux")]

use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn a_one_shot_command_keeps_huge_pages_off_when_its_parent_turned_them_off() {
    if rustix::thread::disable_transparent_huge_pages(true).is_err() {
        eprintln!("note: this kernel does not let a process turn huge pages off; not checked");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(["fmt", "--stdin"])
        .current_dir(tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("govc fmt starts");
    // Read while `govc fmt` waits for its input: long after it chose.
    let mut seen = Vec::new();
    for _ in 0..50 {
        let exe = fs::read_link(format!("/proc/{}/exe", child.id())).ok();
        if exe.as_deref() == Some(std::path::Path::new(env!("CARGO_BIN_EXE_govc"))) {
            let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
            seen.extend(status.lines().find_map(|l| l.strip_prefix("THP_enabled:")).map(|v| v.trim().to_string()));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(b"project p {}\n");
    drop(input);
    let _ = child.wait();
    if seen.is_empty() {
        eprintln!("note: this kernel does not report THP_enabled in /proc/PID/status; not checked");
        return;
    }
    assert!(seen.iter().all(|v| v == "0"), "THP_enabled of govc fmt over its life: {seen:?}");
}
