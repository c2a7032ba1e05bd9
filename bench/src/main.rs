//! `fleet-gov N DIR`: writes the fleet-N project to DIR (for whole-process timings).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(n), Some(dir)) = (args.get(1).and_then(|n| n.parse::<usize>().ok()), args.get(2)) else {
        eprintln!("usage: fleet-gov N DIR");
        return ExitCode::from(2);
    };
    for (path, text) in govc_bench::fleet(n) {
        let path = std::path::Path::new(dir).join(path);
        if let Some(parent) = path.parent() {
            if let Err(e) = std::fs::create_dir_all(parent) {
                eprintln!("fleet-gov: {e}");
                return ExitCode::from(2);
            }
        }
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("fleet-gov: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
