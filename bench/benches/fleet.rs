//! `cargo bench -p govc-bench`: times `check` (parse, model, every rule), `build`
//! (plus rendering every file) and `fmt` (every file of the project) of the fleet-N
//! project in memory, and prints the median and the fastest of several runs.
//! Whole-process timings: `bench/run`.

use std::time::{Duration, Instant};

use govc::{compile, Options};

fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[runs / 2], samples[0])
}

fn main() {
    // `cargo test --benches` runs this with `--test`: a quick smoke run is enough.
    let quick = std::env::args().any(|a| a == "--test");
    let sizes: &[usize] = if quick { &[10] } else { &[100, 1000] };
    let runs = if quick { 1 } else { 15 };
    for &n in sizes {
        let sources = govc_bench::sources(n);
        let check = compile(&sources, &Options::default());
        assert!(check.diagnostics.is_empty(), "fleet-{n} must check clean: {:?}", check.diagnostics.first());
        let (median, best) = time(runs, || {
            std::hint::black_box(compile(&sources, &Options::default()));
        });
        println!("fleet-{n:<5} check  median {:>8.2} ms   best {:>8.2} ms", ms(median), ms(best));
        let (median, best) = time(runs, || {
            std::hint::black_box(compile(&sources, &Options { emit: true }));
        });
        let files = compile(&sources, &Options { emit: true }).files.len();
        println!("fleet-{n:<5} build  median {:>8.2} ms   best {:>8.2} ms   ({files} files)", ms(median), ms(best));
        let project: Vec<govc::FileId> =
            sources.iter().filter(|(_, file)| file.origin == govc::source::Origin::Project).map(|(id, _)| id).collect();
        let (median, best) = time(runs, || {
            for &file in &project {
                std::hint::black_box(govc::fmt::format_file(&sources, file).ok());
            }
        });
        println!(
            "fleet-{n:<5} fmt    median {:>8.2} ms   best {:>8.2} ms   ({} files)",
            ms(median),
            ms(best),
            project.len()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
