//! `shape-gov SHAPE N K ENVS DIR`: writes a project of `govc_bench::shapes` to DIR.

use std::process::ExitCode;

use govc_bench::shapes::{shape, Shape};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|n| n.parse::<usize>().ok());
    let (Some(kind), Some(n), Some(k), Some(envs), Some(dir)) =
        (args.first().and_then(|s| Shape::parse(s)), number(1), number(2), number(3), args.get(4))
    else {
        let shapes: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
        eprintln!("usage: shape-gov SHAPE N K ENVS DIR  (SHAPE: {})", shapes.join(", "));
        return ExitCode::from(2);
    };
    for (path, text) in shape(kind, n, k, envs) {
        let path = std::path::Path::new(dir).join(path);
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("shape-gov: {e}");
                return ExitCode::from(2);
            }
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("shape-gov: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
