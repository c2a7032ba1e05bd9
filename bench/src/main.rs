//! `fleet-gov N DIR`: writes the fleet-N project to DIR (for whole-process timings).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(dir)) = (args.get(1).and_then(|n| n.parse::<usize>().ok()), args.get(2)) else {
        eprintln!("usage: fleet-gov N DIR");
        return ExitCode::from(2);
    };
    match govc_bench::write_project(govc_bench::fleet(n), dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet-gov: {e}");
            ExitCode::from(2)
        }
    }
}
