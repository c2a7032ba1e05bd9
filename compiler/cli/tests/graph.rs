//! `govc graph`: the dependency graph in DOT, Mermaid and JSON, deterministic.

use std::path::Path;
use std::process::{Command, Output};

fn govc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_govc"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("the govc binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn json_graph_has_every_resource_and_edge_kind() {
    let text = stdout(&govc(&["graph", "envs", "--format", "json"]));
    let graph: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let nodes = graph["nodes"].as_array().expect("nodes");
    let edges = graph["edges"].as_array().expect("edges");
    let ids: Vec<&str> = nodes.iter().filter_map(|n| n["id"].as_str()).collect();
    for id in ["env:production", "stack:app", "production/api", "staging/main", "local/edge"] {
        assert!(ids.contains(&id), "missing node {id}");
    }
    let has = |from: &str, label: &str, to: &str| {
        edges
            .iter()
            .any(|e| e["from"] == from && e["to"] == to && e["label"].as_str().is_some_and(|l| l.starts_with(label)))
    };
    assert!(has("production/api", "connects", "production/main"));
    assert!(has("production/edge", "route /api", "production/api"));
    assert!(has("production/worker", "env STRIPE_API_KEY", "production/stripe-key"));
    assert!(has("production/api", "env DATABASE_USER (.user)", "production/main"));
    assert!(has("production/api", "env DATABASE_HOST (.host)", "production/main"));
    assert!(has("production/main", "persistence segment", "production/core"));
    assert!(has("env:staging", "mirrors", "env:production"));
    assert!(has("env:local", "stack", "stack:app"));
    // No edge ever crosses environments.
    for e in edges {
        let (from, to) = (e["from"].as_str().unwrap_or(""), e["to"].as_str().unwrap_or(""));
        if let (Some((a, _)), Some((b, _))) = (from.split_once('/'), to.split_once('/')) {
            assert_eq!(a, b, "edge across environments: {e}");
        }
    }
}

#[test]
fn dot_and_mermaid_are_deterministic_and_filter_by_environment() {
    let dot = stdout(&govc(&["graph", "envs", "--format", "dot"]));
    assert_eq!(dot, stdout(&govc(&["graph", "envs", "--format", "dot"])));
    assert!(dot.starts_with("digraph govc {") && dot.contains("subgraph \"cluster_production\""));
    let only = stdout(&govc(&["graph", "envs", "--env", "staging", "--format", "mermaid"]));
    assert!(only.starts_with("flowchart LR"));
    assert!(only.contains("env_staging") && !only.contains("env_production"), "{only}");
    let unknown = govc(&["graph", "envs", "--env", "qa"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn egress_edges_show_their_enforcement() {
    let graph: serde_json::Value =
        serde_json::from_str(&stdout(&govc(&["graph", "envs", "--format", "json"]))).expect("JSON");
    let egress: Vec<(&str, &str, &str)> = graph["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .filter(|e| e["label"].as_str().is_some_and(|l| l.starts_with("egress")))
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("");
            (s("from"), s("to"), s("enforcement"))
        })
        .collect();
    assert_eq!(
        egress,
        [
            (
                "local/worker",
                "local/egress:api.stripe.com:443",
                "port only (network policy; no firewall in a local environment)"
            ),
            (
                "production/worker",
                "production/egress:api.stripe.com:443",
                "tls-sni/http-host allowlist (network firewall)"
            ),
            ("staging/worker", "staging/egress:api.stripe.com:443", "tls-sni/http-host allowlist (network firewall)"),
        ]
    );
    let dot = stdout(&govc(&["graph", "envs", "--env", "production", "--format", "dot"]));
    assert!(
        dot.contains("[label=\"egress :443: tls-sni/http-host allowlist (network firewall)\", style=dashed]"),
        "{dot}"
    );
    let mermaid = stdout(&govc(&["graph", "envs", "--env", "production", "--format", "mermaid"]));
    assert!(mermaid.contains("-.->|\"egress :443: tls-sni/http-host allowlist (network firewall)\"|"), "{mermaid}");
}
