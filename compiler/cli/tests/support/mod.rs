//! What the end-to-end tests of transparent huge pages share (`cli.rs` and
//! `huge_pages_inherited.rs`, which must run in a process of its own): a `govc` process
//! that waits, and its flags read back from `/proc`.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Runs `f` on a `govc fmt --stdin` started in `dir`, which waits for its input
/// meanwhile; then gives it a file and waits for it to end.
pub fn with_waiting_fmt<T>(dir: &Path, f: impl FnOnce(&Child) -> T) -> T {
    let mut child = Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(["fmt", "--stdin"])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("govc fmt starts");
    let result = f(&child);
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(b"project p {}\n");
    drop(input);
    let _ = child.wait();
    result
}

/// The `THP_enabled` field of a running process's `/proc/PID/status` and whether any
/// of its mappings is advised for huge pages (`hg` in its `VmFlags`), read while
/// `govc` runs in it until `settled` accepts them (the language server sets the flag
/// first thing, the allocator advises its memory as it maps it), or for two seconds.
/// `None` where the kernel reports no flag.
pub fn huge_pages_of(child: &Child, settled: impl Fn(&str, bool) -> bool) -> Option<(String, bool)> {
    let mut seen = None;
    for _ in 0..200 {
        let exe = fs::read_link(format!("/proc/{}/exe", child.id())).ok();
        if exe.as_deref() == Some(Path::new(env!("CARGO_BIN_EXE_govc"))) {
            let status = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
            let smaps = fs::read_to_string(format!("/proc/{}/smaps", child.id())).unwrap_or_default();
            let advised = smaps
                .lines()
                .filter_map(|l| l.strip_prefix("VmFlags:"))
                .any(|flags| flags.split_whitespace().any(|f| f == "hg"));
            seen = status.lines().find_map(|l| l.strip_prefix("THP_enabled:")).map(|v| (v.trim().to_string(), advised));
            if seen.as_ref().is_some_and(|(v, advised)| settled(v, *advised)) {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    seen
}
