//! A parent that turned transparent huge pages off keeps them off in `govc`: the flag
//! holds across `exec`, and a command that keeps huge pages never turns them on. In a
//! file of its own because it turns them off for the test process, which every process
//! it spawns inherits.

#![cfg(target_os = "linux")]

mod support;

#[test]
fn a_one_shot_command_keeps_huge_pages_off_when_its_parent_turned_them_off() {
    if rustix::thread::disable_transparent_huge_pages(true).is_err() {
        eprintln!("note: this kernel does not let a process turn huge pages off; not checked");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    // Read while `govc fmt` waits for its input, until it shows them on (or for two
    // seconds, long after it chose).
    let seen = support::with_waiting_fmt(tmp.path(), |child| support::huge_pages_of(child, |v, _| v == "1"));
    match seen {
        Some((value, _)) => assert_eq!(value, "0", "THP_enabled of govc fmt, whose parent turned them off"),
        None => eprintln!("note: this kernel does not report THP_enabled in /proc/PID/status; not checked"),
    }
}
