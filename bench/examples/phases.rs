//! Times the phases of one compilation of fleet-N (default 1000): parse, the
//! literal-secret scan, model, checks, IR, emit (one after another: `check` runs
//! the secret scan beside the model). `cargo run --release -p govc-bench --example phases [N]`.

use std::time::Instant;

fn main() {
    let n = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1000);
    let sources = govc_bench::sources(n);
    for _ in 0..3 {
        let mut sink = govc::diag::Diagnostics::new();
        let t = Instant::now();
        let files: Vec<_> = sources.iter().map(|(id, _)| govc::syntax::parse_file(&sources, id, &mut sink)).collect();
        let parse = t.elapsed();
        let t = Instant::now();
        govc::checks::secrets::literal_secrets(&sources, &files, &mut sink);
        let secrets = t.elapsed();
        let t = Instant::now();
        let model = govc::model::build(&sources, &files, &mut sink);
        let model_time = t.elapsed();
        let t = Instant::now();
        govc::checks::run(&model, &govc::Options::default(), &mut sink);
        let checks = t.elapsed();
        let t = Instant::now();
        let program = govc::model::to_ir(&model);
        let ir = t.elapsed();
        let t = Instant::now();
        let files = govc::emit::emit(&program).map(|f| f.len()).unwrap_or(0);
        let emit = t.elapsed();
        let backends = backends(&program);
        println!(
            "fleet-{n}: parse {:.1} ms, secrets {:.1} ms, model {:.1} ms, checks {:.1} ms, ir {:.1} ms, emit {:.1} ms ({files} files)",
            parse.as_secs_f64() * 1e3,
            secrets.as_secs_f64() * 1e3,
            model_time.as_secs_f64() * 1e3,
            checks.as_secs_f64() * 1e3,
            ir.as_secs_f64() * 1e3,
            emit.as_secs_f64() * 1e3
        );
        println!("  emit, one thread: {backends}");
    }
}

/// Each emitter's time on one thread, and the time to hash every file, as one line.
fn backends(program: &govc::ir::Program) -> String {
    use govc::emit::{compose, docs, kustomize, terraform};
    let ms = |t: Instant| format!("{:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let (bases, mut all) = kustomize::bases_and_files(program).expect("the bases");
    let base = ms(t);
    let t = Instant::now();
    for env in &program.environments {
        all.extend(kustomize::overlay_files(program, env, &bases).expect("an overlay"));
    }
    let overlays = ms(t);
    let t = Instant::now();
    for env in program.environments.iter().filter(|e| terraform::is_emitted(e)) {
        all.extend(terraform::environment_files(program, env).expect("a terraform root"));
    }
    let roots = ms(t);
    let t = Instant::now();
    for env in &program.environments {
        all.push(docs::page(program, env).expect("a page"));
    }
    let pages = ms(t);
    let t = Instant::now();
    all.extend(kustomize::platform::emit(program));
    all.extend(compose::emit(program).expect("compose files"));
    let rest = ms(t);
    let t = Instant::now();
    let bytes: usize = all.iter().map(|(_, text)| text.len()).sum();
    for (_, text) in &all {
        std::hint::black_box(govc::lock::sha256_hex(text.as_bytes()));
    }
    let hash = ms(t);
    format!(
        "kustomize bases {base}, overlays {overlays}, terraform {roots}, pages {pages}, the rest {rest}; \
         sha256 of {:.1} MB {hash}",
        bytes as f64 / 1e6
    )
}
