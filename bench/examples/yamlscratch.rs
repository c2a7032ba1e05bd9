use std::time::Instant;
fn main() {
    let n = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let sources = govc_bench::sources(n);
    let c = govc::compile(&sources, &govc::Options { emit: true });
    let program = c.program.expect("program");
    let t = Instant::now();
    let bases = govc::emit::kustomize::bases(&program);
    eprintln!("build bases {:?}", t.elapsed());
    for _ in 0..40 {
        let t = Instant::now();
        let files = govc::emit::kustomize::base_files(&bases);
        let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
        eprintln!("write bases {:?} ({} MB)", t.elapsed(), bytes / 1_000_000);
    }
}
