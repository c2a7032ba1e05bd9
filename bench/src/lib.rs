//! The fleet-N workload: 3 environments (dev, staging, production), one network with
//! three segments, one postgres, N services each connected to the postgres with three
//! env vars, and one ingress routing `/svc-i` to every service.
//!
//! The same project the peers' benchmarks use, generated in Rust so that the
//! benchmarks need nothing outside this repository.

use sha2::{Digest, Sha256};

pub mod shapes;

fn digest(i: usize) -> String {
    Sha256::digest(i.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The project's files: `(path, contents)`.
pub fn fleet(n: usize) -> Vec<(String, String)> {
    let mut stack = String::from(
        "project fleet {\n  phase = \"wire\"\n  environments = [dev, staging, production]\n}\n\nstack fleet {\n  network core { }\n  postgres main { version = 16 }\n",
    );
    for i in 0..n {
        stack += &format!(
            "  service svc-{i} {{\n    port = 8080\n    connects = [main]\n    env {{ LOG_LEVEL = \"info\"  SERVICE_NAME = \"svc-{i}\"  DB_HOST = main.host }}\n  }}\n"
        );
    }
    stack += "  ingress edge {\n";
    for i in 0..n {
        stack += &format!("    route \"/svc-{i}\" -> svc-{i}\n");
    }
    stack += "  }\n}\n";
    let mut files = vec![("project.gov".to_string(), stack)];
    let envs = [
        ("dev", 1, "db.t4g.micro", "1..2", ""),
        ("staging", 2, "db.m6g.large", "2..4", ""),
        (
            "production",
            3,
            "db.m6g.large",
            "3..10",
            "    deletion_protection = true\n    multi_az = true\n    backup_retention = 14d\n",
        ),
    ];
    for (name, k, class, replicas, extra) in envs {
        let account = k.to_string().repeat(12);
        let mut text = format!(
            "environment {name} {{\n  tier = {name}\n  stack = fleet\n  aws {{ account = \"{account}\"  region = \"eu-west-1\" }}\n  state {{ bucket = \"fleet-tfstate-{name}\" }}\n  network core {{ cidr = 10.{k}.0.0/16  zones = 2 }}\n  postgres main {{\n    class = \"{class}\"\n{extra}  }}\n"
        );
        for i in 0..n {
            text += &format!(
                "  service svc-{i} {{ image = \"registry.example.com/svc-{i}@sha256:{}\"  replicas = {replicas} }}\n",
                digest(i)
            );
        }
        text += &format!("  ingress edge {{ host = \"{name}.example.com\" }}\n}}\n");
        files.push((format!("envs/{name}.gov"), text));
    }
    files
}

/// Writes a project's `(path, contents)` files under `dir`, creating its directories;
/// the error names the path that failed.
pub fn write_project(files: Vec<(String, String)>, dir: &str) -> Result<(), String> {
    for (path, text) in files {
        let path = std::path::Path::new(dir).join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The fleet as [`govc::Sources`], stdlib included.
pub fn sources(n: usize) -> govc::Sources {
    let mut sources = govc::Sources::with_stdlib();
    for (path, text) in fleet(n) {
        sources.add(path, text);
    }
    sources
}

/// The benchmarks allocate like the `govc` binary does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
