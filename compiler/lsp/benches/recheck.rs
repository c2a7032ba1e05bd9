//! `cargo bench -p govc-lsp --bench recheck [-- N EDITS]`: the language server's
//! re-check after a one-character edit of fleet-N (default 1000), and its memory
//! over many edits (default 10,000).
//!
//! The fleet is written to a temporary directory and `project.gov` opened as a
//! buffer, as an editor would. Each edit changes one character of the buffer
//! (a service's port alternates between `8080` and `8081`), waits the debounce
//! delay as the server's worker does before every check (`Worker::run`: so the
//! previous analysis, dropped on a thread of its own after publishing, is gone as
//! it is in the server), and times the worker's whole path: the overlay of buffers on the disk files, parse, model, every
//! check, and the conversion and publication of diagnostics. The index of names
//! is built by the first request that needs one (hover, definition, references,
//! completion): every tenth edit is followed by such a request, timed apart.
//! The resident set size is read from `/proc/self/statm` after a warm-up and
//! after the last edit. Latency is reported as wall time (the check splits its
//! work across the cores: parse, then the model and the checks beside the edited
//! file's literal-secret scan);
//! the CPU time of the whole process (every thread, `/proc/self/stat`) is reported
//! as a mean per edit, which the other processes on a shared machine do not inflate.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use govc_lsp::diagnostics::{Worker, DEBOUNCE};
use govc_lsp::workspace::Workspace;

fn rss_mib() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

/// The CPU time of this process so far, every thread included (user + system, in
/// clock ticks of 10 ms: only differences over many edits are meaningful).
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
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
    let mut first_request = Vec::new();
    let mut edit = |i: usize, text: &mut String| {
        let digit = if i % 2 == 0 { "1" } else { "0" };
        text.replace_range(at..at + 1, digit);
        {
            let mut ws = workspace.lock().expect("lock");
            let doc = ws.documents.get_mut(&project).expect("open");
            doc.text.replace_range(at..at + 1, digit);
            doc.version = i as i32 + 1;
            ws.touch(Path::new(&root));
        }
        // The server's worker sleeps the debounce delay before it checks; the wait
        // is not the check's latency (it is the editor's keystroke pause).
        std::thread::sleep(DEBOUNCE);
        let start = Instant::now();
        worker.check(&root);
        let elapsed = start.elapsed();
        let messages = published.try_iter().count();
        assert!(messages >= 1, "the check published diagnostics for the open buffer");
        if i % 10 == 0 {
            // The first request after the edit: a definition, which builds the index.
            let analysis = workspace.lock().expect("lock").current(&root).expect("an analysis");
            let start = Instant::now();
            let names = analysis.index().occurrences.len();
            first_request.push(start.elapsed());
            assert!(names > n, "the index holds every service");
        }
        elapsed
    };
    let warmup = 50.min(edits);
    for i in 0..warmup {
        edit(i, &mut text);
    }
    let before = rss_mib();
    let mut rss = Vec::new();
    let cpu_before = process_cpu();
    let mut wall: Vec<Duration> = (warmup..edits)
        .map(|i| {
            if i % 1000 == 0 {
                rss.extend(rss_mib().map(|m| format!("{m:.0}")));
            }
            edit(i, &mut text)
        })
        .collect();
    let cpu = process_cpu().zip(cpu_before).map(|(end, start)| end.saturating_sub(start));
    let after = rss_mib();
    wall.sort();
    let pick = |q: f64| wall.get(((wall.len() as f64 - 1.0) * q) as usize).copied().unwrap_or_default();
    println!(
        "fleet-{n} re-check after a one-character edit (wall): median {:.2} ms   p95 {:.2} ms   max {:.2} ms   ({} edits)",
        ms(pick(0.5)),
        ms(pick(0.95)),
        ms(pick(1.0)),
        wall.len()
    );
    first_request.sort();
    if let Some(median) = first_request.get(first_request.len() / 2) {
        println!(
            "first request after an edit (builds the index): median {:.2} ms   ({} requests)",
            ms(*median),
            first_request.len()
        );
    }
    if let (Some(cpu), false) = (cpu, wall.is_empty()) {
        println!("CPU time of every thread: {:.2} ms per edit (mean)", ms(cpu) / wall.len() as f64);
    }
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "resident memory: {before:.1} MiB after {warmup} edits, {after:.1} MiB after {edits} ({:+.1} MiB)",
            after - before
        );
        println!("resident memory every 1,000 edits (MiB): {}", rss.join(" "));
    }
}
