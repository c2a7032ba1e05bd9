//! Times the YAML writers: fleet-N's Kubernetes bases built and written 40 times (a
//! base writes its objects as it builds them, most of them without a tree), the best
//! and the median of the runs.
//! `cargo run --release -p govc-bench --example yaml_bases [N]`.

use std::time::Instant;

fn main() {
    let n = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let sources = govc_bench::sources(n);
    let compilation = govc::compile(&sources, &govc::Options { emit: true });
    let Some(program) = compilation.program else {
        eprintln!("fleet-{n} did not compile");
        std::process::exit(1);
    };
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..40 {
        let t = Instant::now();
        let (_, files) = govc::emit::kustomize::bases_and_files(&program).expect("the bases");
        times.push(t.elapsed());
        bytes = files.iter().map(|(_, text)| text.len()).sum();
    }
    times.sort();
    println!(
        "fleet-{n}: the bases ({:.1} MB) built and written in {:.1} ms (best), {:.1} ms (median)",
        bytes as f64 / 1e6,
        times[0].as_secs_f64() * 1e3,
        times[times.len() / 2].as_secs_f64() * 1e3
    );
}
