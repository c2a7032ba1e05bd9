//! `cargo bench -p govc-bench --bench diagnostics`: times rendering many
//! diagnostics for people (ariadne excerpts) and for tools (JSON lines, SARIF),
//! on two workloads: 32,000 errors, one per line of a 32,000-line file; and
//! 4,000 errors on one 39 KB line. Human rendering must stay linear in the
//! number of reports, with an output size that does not grow with the line.

use std::time::{Duration, Instant};

use govc::diag::render;
use govc::source::{FileId, Span};
use govc::{Code, Diagnostic, Sources};

fn time(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut size = 0;
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            size = std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[runs / 2], size)
}

/// `n` errors, one per line of an `n`-line file.
fn many_lines(n: usize) -> (Vec<Diagnostic>, Sources) {
    let mut sources = Sources::new();
    let text: String = (0..n).map(|i| format!("  service s{i} {{ connects = [mian{i}] }}\n")).collect();
    let mut diags = Vec::with_capacity(n);
    let mut at = 0;
    for line in text.lines() {
        let start = at + line.find("mian").unwrap_or(0);
        let end = start + line[start - at..].find(']').unwrap_or(4);
        diags.push(
            Diagnostic::new(Code::E206, Span::new(FileId(0), start, end), "unresolved reference", "no such resource")
                .with_help("did you mean `main`?"),
        );
        at += line.len() + 1;
    }
    sources.add("many.gov", text);
    (diags, sources)
}

/// `n` errors on one line of `n` words.
fn one_line(n: usize) -> (Vec<Diagnostic>, Sources) {
    let mut sources = Sources::new();
    let line: String = (0..n).map(|i| format!("word{i:05} ")).collect();
    let diags = (0..n)
        .map(|i| {
            let at = i * 10;
            Diagnostic::new(Code::E206, Span::new(FileId(0), at, at + 9), "unresolved reference", "here")
        })
        .collect();
    sources.add("one.gov", format!("{line}\n"));
    (diags, sources)
}

fn main() {
    // `cargo test --benches` runs this with `--test`: a quick smoke run is enough.
    let quick = std::env::args().any(|a| a == "--test");
    let (lines, words, runs) = if quick { (320, 40, 1) } else { (32_000, 4_000, 5) };
    for (name, (diags, sources)) in [
        (format!("{lines} errors, {lines} lines"), many_lines(lines)),
        (format!("{words} errors, one line"), one_line(words)),
    ] {
        let bytes = sources.iter().map(|(_, f)| f.text.len()).sum::<usize>();
        println!("{name} ({} KB of source)", bytes / 1024);
        let (t, size) = time(runs, || render::human(&diags, &sources, false).len());
        println!("  human  median {:>9.1} ms   {:>8.1} MB out", ms(t), mb(size));
        let (t, size) = time(runs, || render::json_lines(&diags, &sources).len());
        println!("  json   median {:>9.1} ms   {:>8.1} MB out", ms(t), mb(size));
        let (t, size) = time(runs, || render::sarif(&diags, &sources).len());
        println!("  sarif  median {:>9.1} ms   {:>8.1} MB out", ms(t), mb(size));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}
