//! `cargo bench -p govc-lsp --bench recheck [-- N EDITS]`: the language server's
//! re-check after a one-character edit of fleet-N (default 1000), and its memory
//! over many edits (default 10,000).
//!
//! The fleet is written to a temporary directory and `project.gov` opened as a
//! buffer, as an editor would. Each edit changes one character of the buffer
//! (a service's port alternates between `8080` and `8081`) and runs the worker's
//! whole path: the overlay of buffers on the disk files, parse, model, every
//! check, the index of names, and the conversion and publication of diagnostics.
//! The resident set size is read from `/proc/self/statm` after a warm-up and
//! after the last edit. Latency is reported as wall time and as the checking
//! thread's CPU time (which the other processes on a shared machine do not inflate).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govc_lsp::diagnostics::Worker;
use govc_lsp::workspace::Workspace;

fn rss_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

/// The time this thread has spent on a CPU (`/proc/thread-self/schedstat`): on a
/// machine shared with other work, wall time also counts the waits for a core.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    // `cargo test --benches` runs this with `--test`: a quick smoke run is enough.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let quick = std::env::args().any(|a| a == "--test");
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(if quick { 10 } else { 1000 });
    let edits: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(if quick { 20 } else { 10_000 });
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (path, text) in govc_bench::fleet(n) {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let root = dir.path().to_path_buf();
    let project = root.join("project.gov");
    let mut text = std::fs::read_to_string(&project).expect("project.gov");
    // The one character that changes: the last digit of the first service's port.
    let at = text.find("port = 8080").expect("a port") + "port = 808".len();
    let workspace = Arc::new(Mutex::new(Workspace::default()));
    let (sender, published) = crossbeam_channel::unbounded();
    let mut worker = Worker::new(workspace.clone(), sender);
    workspace.lock().expect("lock").open(project.clone(), text.clone(), 0);
    let mut edit = |i: usize, text: &mut String| {
        let digit = if i % 2 == 0 { "1" } else { "0" };
        text.replace_range(at..at + 1, digit);
        let start = Instant::now();
        let cpu_start = cpu_time();
        {
            let mut ws = workspace.lock().expect("lock");
            let doc = ws.documents.get_mut(&project).expect("open");
            doc.text.replace_range(at..at + 1, digit);
            doc.version = i as i32 + 1;
            ws.touch(Path::new(&root));
        }
        worker.check(&root);
        let elapsed = start.elapsed();
        let cpu = cpu_time().zip(cpu_start).map(|(end, start)| end.saturating_sub(start)).unwrap_or_default();
        let messages = published.try_iter().count();
        assert!(messages >= 1, "the check published diagnostics for the open buffer");
        (elapsed, cpu)
    };
    let warmup = 50.min(edits);
    for i in 0..warmup {
        edit(i, &mut text);
    }
    let before = rss_mib();
    let mut rss = Vec::new();
    let (mut wall, mut cpu): (Vec<Duration>, Vec<Duration>) = (warmup..edits)
        .map(|i| {
            if i % 1000 == 0 {
                rss.extend(rss_mib().map(|m| format!("{m:.0}")));
            }
            edit(i, &mut text)
        })
        .unzip();
    let after = rss_mib();
    for (what, samples) in [("wall", &mut wall), ("cpu", &mut cpu)] {
        samples.sort();
        let pick = |q: f64| samples.get(((samples.len() as f64 - 1.0) * q) as usize).copied().unwrap_or_default();
        println!(
            "fleet-{n} re-check after a one-character edit ({what}): median {:.2} ms   p95 {:.2} ms   max {:.2} ms   ({} edits)",
            ms(pick(0.5)),
            ms(pick(0.95)),
            ms(pick(1.0)),
            samples.len()
        );
    }
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "resident memory: {before:.1} MiB after {warmup} edits, {after:.1} MiB after {edits} ({:+.1} MiB)",
            after - before
        );
        println!("resident memory every 1,000 edits (MiB): {}", rss.join(" "));
    }
}
