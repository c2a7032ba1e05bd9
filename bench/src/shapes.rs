//! Projects that grow along another axis than fleet-N's number of services: the shapes
//! that look for a pass growing faster than its input (`bench/shapes` times each at two
//! sizes). Each is fleet-like (one stack, one network, one postgres, an ingress routing
//! to every service, environments `dev`, `stg<i>`... and `production`) and clean, but
//! for the two shapes of mass errors.

use std::fmt::Write;

/// What grows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `k` connections from each service to other services, and three egress hosts.
    Dense,
    /// `k` plain variables in each service's `env`.
    Vars,
    /// `k` secrets, each read by every service.
    Secrets,
    /// `k` variables per service that every environment overrides.
    Overrides,
    /// `k` postgres databases, each reached by every service.
    Databases,
    /// `k` routes per service.
    Routes,
    /// Every service connects to a name of its own that does not exist (a misspelt
    /// database) and sets an unknown field: two errors per service.
    Errors,
    /// Every service connects to a misspelt service name, near every other name.
    Typos,
}

impl Shape {
    pub const ALL: [Shape; 8] = [
        Shape::Dense,
        Shape::Vars,
        Shape::Secrets,
        Shape::Overrides,
        Shape::Databases,
        Shape::Routes,
        Shape::Errors,
        Shape::Typos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Shape::Dense => "dense",
            Shape::Vars => "vars",
            Shape::Secrets => "secrets",
            Shape::Overrides => "overrides",
            Shape::Databases => "databases",
            Shape::Routes => "routes",
            Shape::Errors => "errors",
            Shape::Typos => "typos",
        }
    }

    pub fn parse(name: &str) -> Option<Shape> {
        Shape::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The project's files: `(path, contents)`, for `n` services, `k` of what grows per
/// service, and `envs` environments (at least 2).
pub fn shape(shape: Shape, n: usize, k: usize, envs: usize) -> Vec<(String, String)> {
    let envs = envs.max(2);
    let names: Vec<String> = std::iter::once("dev".to_string())
        .chain((0..envs - 2).map(|i| format!("stg{i}")))
        .chain(std::iter::once("production".to_string()))
        .collect();
    let mut files = vec![("project.gov".to_string(), project(shape, n, k, &names))];
    for (i, name) in names.iter().enumerate() {
        let tier = match i {
            0 => "dev",
            _ if i + 1 == names.len() => "production",
            _ => "staging",
        };
        files.push((format!("envs/{name}.gov"), environment(shape, n, k, name, tier, i + 1)));
    }
    files
}

fn project(shape: Shape, n: usize, k: usize, envs: &[String]) -> String {
    let mut out = format!(
        "project fleet {{\n  phase = \"wire\"\n  environments = [{}]\n}}\n\nstack fleet {{\n  network core {{ }}\n  postgres main {{ version = 16 }}\n",
        envs.join(", ")
    );
    for j in 0..k {
        match shape {
            Shape::Secrets => writeln!(out, "  secret key-{j} {{ }}"),
            Shape::Databases => writeln!(out, "  postgres db-{j} {{ version = 16 }}"),
            _ => Ok(()),
        }
        .expect("a string takes any text");
    }
    for i in 0..n {
        let port = 8000 + i % 1000;
        let _ = writeln!(out, "  service svc-{i} {{\n    port = {port}");
        let connects = match shape {
            Shape::Dense => {
                let mut targets: Vec<usize> = (0..k).map(|j| (i * 7 + j * 13 + 1) % n).filter(|&t| t != i).collect();
                targets.sort_unstable();
                targets.dedup();
                let _ = writeln!(
                    out,
                    "    egress = [\"api0.example.com:443\", \"api1.example.com:443\", \"api2.example.com:443\"]"
                );
                targets.iter().map(|t| format!(", svc-{t}")).collect()
            }
            Shape::Databases => (0..k).map(|j| format!(", db-{j}")).collect(),
            Shape::Errors => {
                let _ = writeln!(out, "    colour = {i}");
                format!(", mian{i}")
            }
            Shape::Typos => format!(", svc-{}x", (i * 7 + 1) % n),
            _ => String::new(),
        };
        let _ = writeln!(out, "    connects = [main{connects}]\n    env {{\n      DB_HOST = main.host");
        for j in 0..k {
            let _ = match shape {
                Shape::Vars | Shape::Overrides => writeln!(out, "      VAR_{j} = \"value-{i}-{j}\""),
                Shape::Secrets => writeln!(out, "      KEY_{j} = key-{j}"),
                _ => Ok(()),
            };
        }
        out.push_str("    }\n  }\n");
    }
    out.push_str("  ingress edge {\n");
    for i in 0..n {
        let port = 8000 + i % 1000;
        if shape == Shape::Routes {
            for j in 0..k {
                let _ = writeln!(out, "    route \"/svc-{i}/r{j}\" -> svc-{i}:{port}");
            }
        } else {
            let _ = writeln!(out, "    route \"/svc-{i}\" -> svc-{i}:{port}");
        }
    }
    out.push_str("  }\n}\n");
    out
}

fn environment(shape: Shape, n: usize, k: usize, name: &str, tier: &str, index: usize) -> String {
    let production = tier == "production";
    let protected =
        if production { "  deletion_protection = true  multi_az = true  backup_retention = 14d" } else { "" };
    let mut out = format!(
        "environment {name} {{\n  tier = {tier}\n  stack = fleet\n  aws {{ account = \"{}\"  region = \"eu-west-1\" }}\n  state {{ bucket = \"fleet-tfstate-{name}\" }}\n  network core {{ cidr = 10.{}.0.0/16  zones = 2 }}\n  postgres main {{ class = \"db.t4g.micro\"{protected} }}\n",
        100_000_000_000 + index,
        index % 250,
    );
    for j in 0..k {
        let _ = match shape {
            Shape::Secrets => writeln!(out, "  secret key-{j} {{ path = \"fleet/{name}/key-{j}\" }}"),
            Shape::Databases => writeln!(out, "  postgres db-{j} {{ class = \"db.t4g.micro\"{protected} }}"),
            _ => Ok(()),
        };
    }
    let replicas = if production { "2..4" } else { "1..2" };
    for i in 0..n {
        let _ = write!(out, "  service svc-{i} {{");
        if shape == Shape::Overrides {
            out.push_str(" env {");
            for j in 0..k {
                let _ = write!(out, " VAR_{j} = \"{name}-{j}\"");
            }
            out.push_str(" }");
        }
        let _ = writeln!(
            out,
            " image = \"registry.example.com/svc-{i}@sha256:{}\"  replicas = {replicas} }}",
            crate::digest(i)
        );
    }
    let _ = writeln!(out, "  ingress edge {{ host = \"{name}.example.com\" }}\n}}");
    out
}
