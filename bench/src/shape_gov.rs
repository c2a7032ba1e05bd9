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
    match govc_bench::write_project(shape(kind, n, k, envs), dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shape-gov: {e}");
            ExitCode::from(2)
        }
    }
}
