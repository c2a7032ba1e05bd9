//! The project's dependency graph (petgraph), and its renderings for `govc graph`:
//! DOT, Mermaid and JSON, all deterministic.
//!
//! Nodes: environments, stacks, every environment's resources and the external
//! destinations its services declare in `egress`. Edges: `stack` and `mirrors` between
//! items, `contains` from an environment to its resources, the resources' own edges
//! (`connects`, routes, `env` references, placement in a network segment) and one
//! `egress` edge per declared entry (and per backend of the environment's OpenTelemetry
//! Collector, a `collector` node in the runtime segment that every service sends `otlp`
//! to), labelled with how it is enforced
//! ([`egress_enforcement`]): dashed in DOT, dotted in Mermaid, an `enforcement` field in
//! JSON.

use std::net::Ipv4Addr;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::json;

use super::network::parse_egress;
use super::parity::edge_label;
use crate::ir::Tier;
use crate::model::values::Val;
use crate::model::{EdgeKind, Model};

/// How an egress entry to `host` is enforced in an environment of tier `tier`, as the
/// emitters implement it: in a cloud environment the AWS Network Firewall passes exactly
/// the declared host (TLS SNI or HTTP Host) or address on the declared port; a local
/// environment has only its NetworkPolicy.
pub fn egress_enforcement(tier: Option<Tier>, host: &str) -> &'static str {
    let cloud = tier.is_some_and(|t| t != Tier::Local);
    match (cloud, host.parse::<Ipv4Addr>().is_ok()) {
        (true, false) => "tls-sni/http-host allowlist (network firewall)",
        (true, true) => "ip /32 (network firewall)",
        (false, false) => "port only (network policy; no firewall in a local environment)",
        (false, true) => "ip /32 (network policy)",
    }
}

fn node_of_env(env_nodes: &[(String, NodeIndex)], name: &str) -> NodeIndex {
    env_nodes.iter().find(|(n, _)| n == name).map(|(_, i)| *i).expect("the environment's node was added")
}

/// A node of the project graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Environment {
        name: String,
        tier: String,
    },
    Stack {
        name: String,
    },
    Resource {
        env: String,
        kind: String,
        name: String,
    },
    /// A declared egress destination, `host:port`.
    External {
        env: String,
        destination: String,
    },
}

/// An edge of the project graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    /// What the edge is: `connects`, `route /api`, `egress :443`, ...
    pub label: String,
    /// For an egress edge, how it is enforced ([`egress_enforcement`]).
    pub enforcement: Option<String>,
}

impl Edge {
    fn plain(label: impl Into<String>) -> Edge {
        Edge { label: label.into(), enforcement: None }
    }

    /// The label with the enforcement, as DOT and Mermaid show it.
    pub fn text(&self) -> String {
        match &self.enforcement {
            Some(how) => format!("{}: {how}", self.label),
            None => self.label.clone(),
        }
    }
}

impl Node {
    /// A stable identifier: `env:production`, `stack:app`, `production/api`.
    pub fn id(&self) -> String {
        match self {
            Node::Environment { name, .. } => format!("env:{name}"),
            Node::Stack { name } => format!("stack:{name}"),
            Node::Resource { env, name, .. } => format!("{env}/{name}"),
            Node::External { env, destination } => format!("{env}/egress:{destination}"),
        }
    }

    fn label(&self) -> String {
        match self {
            Node::Environment { name, tier } => format!("environment {name} ({tier})"),
            Node::Stack { name } => format!("stack {name}"),
            Node::Resource { kind, name, .. } => format!("{kind} {name}"),
            Node::External { destination, .. } => format!("external {destination}"),
        }
    }

    fn kind(&self) -> &str {
        match self {
            Node::Environment { .. } => "environment",
            Node::Stack { .. } => "stack",
            Node::Resource { kind, .. } => kind,
            Node::External { .. } => "external",
        }
    }

    /// The environment of a resource or an external destination.
    fn env(&self) -> Option<&str> {
        match self {
            Node::Resource { env, .. } | Node::External { env, .. } => Some(env),
            _ => None,
        }
    }
}

/// The whole project as a graph, nodes and edges in declaration order.
pub struct ProjectGraph {
    pub graph: DiGraph<Node, Edge>,
}

impl ProjectGraph {
    /// Builds the graph; with `only_env`, only that environment (and its stack).
    pub fn build(model: &Model, only_env: Option<&str>) -> ProjectGraph {
        let mut graph = DiGraph::new();
        let envs: Vec<_> = model.environments.iter().filter(|e| only_env.is_none_or(|n| n == e.name)).collect();
        let mut stack_nodes: Vec<Option<NodeIndex>> = vec![None; model.stacks.len()];
        for (i, stack) in model.stacks.iter().enumerate() {
            if only_env.is_none() || envs.iter().any(|e| e.stack == Some(i)) {
                stack_nodes[i] = Some(graph.add_node(Node::Stack { name: stack.name.clone() }));
            }
        }
        let mut env_nodes = Vec::new();
        for env in &envs {
            let tier = env.tier.map_or("?", |t| t.as_str()).to_string();
            let node = graph.add_node(Node::Environment { name: env.name.clone(), tier });
            env_nodes.push((env.name.clone(), node));
            if let Some(stack) = env.stack.and_then(|s| stack_nodes[s]) {
                graph.add_edge(node, stack, Edge::plain("stack"));
            }
            let res_nodes: Vec<NodeIndex> = env
                .resources
                .iter()
                .map(|r| {
                    graph.add_node(Node::Resource { env: env.name.clone(), kind: r.kind.clone(), name: r.name.clone() })
                })
                .collect();
            for (res, from) in env.resources.iter().zip(&res_nodes) {
                graph.add_edge(node, *from, Edge::plain("contains"));
                for edge in &res.edges {
                    let label = match edge.kind {
                        EdgeKind::Network => format!("{} segment", segment_of(&res.kind)),
                        _ => edge_label(&edge.kind, edge.attr.as_deref()),
                    };
                    graph.add_edge(*from, res_nodes[edge.target], Edge::plain(label));
                }
            }
            // `telemetry`: the collector, a workload of the runtime segment that every
            // service sends OTLP to and whose only way out is its backends.
            let collector = env.body.block("telemetry").map(|block| {
                let node = graph.add_node(Node::Resource {
                    env: env.name.clone(),
                    kind: "collector".into(),
                    name: crate::ir::Telemetry::COLLECTOR.into(),
                });
                graph.add_edge(node_of_env(&env_nodes, &env.name), node, Edge::plain("contains"));
                let networks: Vec<NodeIndex> = env
                    .resources
                    .iter()
                    .zip(&res_nodes)
                    .filter(|(r, _)| r.kind == "network")
                    .map(|(_, n)| *n)
                    .collect();
                if let [network] = networks[..] {
                    graph.add_edge(node, network, Edge::plain("runtime segment"));
                }
                for (_, from) in env.resources.iter().zip(&res_nodes).filter(|(r, _)| r.kind == "service") {
                    graph.add_edge(*from, node, Edge::plain("otlp"));
                }
                let mut backends: Vec<String> = Vec::new();
                for signal in super::telemetry::SIGNALS {
                    if let Some(Val::Str(e)) = block.body.value(signal) {
                        if !backends.contains(e) {
                            backends.push(e.clone());
                        }
                    }
                }
                (node, backends)
            });
            let mut externals: Vec<(String, NodeIndex)> = Vec::new();
            let declared = env.resources.iter().zip(res_nodes.iter().copied()).filter_map(|(res, from)| {
                let Some(Val::Strings(entries)) = res.body.value("egress") else { return None };
                Some((from, entries.iter().map(|(e, _)| e.clone()).collect::<Vec<String>>()))
            });
            let all: Vec<(NodeIndex, Vec<String>)> = declared.chain(collector).collect();
            for (from, entries) in &all {
                let from = &from;
                for entry in entries {
                    let Ok((host, port)) = parse_egress(entry) else { continue };
                    let destination = format!("{}:{port}", host.to_ascii_lowercase());
                    let to = match externals.iter().find(|(d, _)| *d == destination) {
                        Some((_, i)) => *i,
                        None => {
                            let i = graph
                                .add_node(Node::External { env: env.name.clone(), destination: destination.clone() });
                            externals.push((destination, i));
                            i
                        }
                    };
                    let enforcement = Some(egress_enforcement(env.tier, host).to_string());
                    graph.add_edge(**from, to, Edge { label: format!("egress :{port}"), enforcement });
                }
            }
        }
        for env in &envs {
            let Some(target) = env.mirrors.map(|m| &model.environments[m].name) else { continue };
            let from = env_nodes.iter().find(|(n, _)| *n == env.name).map(|(_, i)| *i);
            let to = env_nodes.iter().find(|(n, _)| n == target).map(|(_, i)| *i);
            if let (Some(from), Some(to)) = (from, to) {
                graph.add_edge(from, to, Edge::plain("mirrors"));
            }
        }
        ProjectGraph { graph }
    }

    fn edges(&self) -> impl Iterator<Item = (&Node, &Node, &Edge)> {
        self.graph.edge_references().map(|e| (&self.graph[e.source()], &self.graph[e.target()], e.weight()))
    }

    /// Graphviz DOT, one cluster per environment.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph govc {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for node in self.graph.node_weights() {
            if node.env().is_some() {
                continue;
            }
            out += &format!("  {} [label={}, shape=folder];\n", quote(&node.id()), quote(&node.label()));
        }
        let mut envs: Vec<&str> = Vec::new();
        for env in self.graph.node_weights().filter_map(Node::env) {
            if !envs.contains(&env) {
                envs.push(env);
            }
        }
        for env in envs {
            out += &format!("  subgraph {} {{\n    label={};\n", quote(&format!("cluster_{env}")), quote(env));
            for node in self.graph.node_weights().filter(|n| n.env() == Some(env)) {
                let shape = if let Node::External { .. } = node { ", shape=ellipse" } else { "" };
                out += &format!("    {} [label={}{shape}];\n", quote(&node.id()), quote(&node.label()));
            }
            out += "  }\n";
        }
        for (from, to, edge) in self.edges() {
            let style = if edge.enforcement.is_some() { ", style=dashed" } else { "" };
            out += &format!("  {} -> {} [label={}{style}];\n", quote(&from.id()), quote(&to.id()), quote(&edge.text()));
        }
        out + "}\n"
    }

    /// A Mermaid flowchart, one subgraph per environment.
    pub fn to_mermaid(&self) -> String {
        let ids: Vec<String> = self.graph.node_indices().map(|i| format!("n{}", i.index())).collect();
        let mut out = String::from("flowchart LR\n");
        let mut envs: Vec<&str> = Vec::new();
        for (i, node) in self.graph.node_weights().enumerate() {
            match node.env() {
                Some(env) => {
                    if !envs.contains(&env) {
                        envs.push(env);
                    }
                }
                None => out += &format!("  {}[[\"{}\"]]\n", ids[i], mermaid_text(&node.label())),
            }
        }
        for env in envs {
            out += &format!("  subgraph {}[\"{}\"]\n", mermaid_id(env), mermaid_text(env));
            for (i, node) in self.graph.node_weights().enumerate().filter(|(_, n)| n.env() == Some(env)) {
                let (open, close) = if let Node::External { .. } = node { ("([", "])") } else { ("[", "]") };
                out += &format!("    {}{open}\"{}\"{close}\n", ids[i], mermaid_text(&node.label()));
            }
            out += "  end\n";
        }
        for e in self.graph.edge_references() {
            let arrow = if e.weight().enforcement.is_some() { "-.->" } else { "-->" };
            out += &format!(
                "  {} {arrow}|\"{}\"| {}\n",
                ids[e.source().index()],
                mermaid_text(&e.weight().text()),
                ids[e.target().index()]
            );
        }
        out
    }

    /// JSON: `{"nodes": [...], "edges": [...]}` with stable ids.
    pub fn to_json(&self) -> String {
        let nodes: Vec<_> = self
            .graph
            .node_weights()
            .map(|n| {
                let mut it = json!({ "id": n.id(), "kind": n.kind(), "label": n.label() });
                match n {
                    Node::Resource { env, name, .. } => {
                        it["environment"] = json!(env);
                        it["name"] = json!(name);
                    }
                    Node::External { env, destination } => {
                        it["environment"] = json!(env);
                        it["destination"] = json!(destination);
                    }
                    _ => {}
                }
                it
            })
            .collect();
        let edges: Vec<_> = self
            .edges()
            .map(|(f, t, e)| {
                let mut it = json!({ "from": f.id(), "to": t.id(), "label": e.label });
                if let Some(how) = &e.enforcement {
                    it["enforcement"] = json!(how);
                }
                it
            })
            .collect();
        let mut out = serde_json::to_string_pretty(&json!({ "nodes": nodes, "edges": edges })).unwrap_or_default();
        out.push('\n');
        out
    }
}

fn segment_of(kind: &str) -> &'static str {
    match kind {
        "ingress" => "ingress",
        // A bucket is S3, outside the VPC, but it is where data persists (reached through
        // the VPC's gateway endpoint).
        "postgres" | "bucket" => "persistence",
        _ => "runtime",
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

fn mermaid_id(s: &str) -> String {
    format!("env_{}", s.replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, Options, Sources};

    const PROJECT: &str = r#"project shop {
  phase = "wire"
  environments = [dev, staging]
}
environment dev {
  tier = local
  network core { }
  service api {
    image = "registry.example.com/api@sha256:abababababababababababababababababababababababababababababababab"
    port = 8080
    network = core
    egress = ["API.Stripe.com:443", "52.95.110.1:8443"]
  }
}
environment staging {
  tier = staging
  aws { account = "111111111111"  region = "eu-west-1" }
  state { bucket = "shop-tfstate" }
  network core { cidr = 10.1.0.0/16 }
  service api {
    image = "registry.example.com/api@sha256:abababababababababababababababababababababababababababababababab"
    port = 8080
    network = core
    egress = ["api.stripe.com:443", "52.95.110.1:8443"]
  }
  service worker {
    image = "registry.example.com/worker@sha256:abababababababababababababababababababababababababababababababab"
    port = 9090
    network = core
    egress = ["api.stripe.com:443"]
  }
}
"#;

    fn graph() -> ProjectGraph {
        let mut sources = Sources::with_stdlib();
        sources.add("project.gov", PROJECT);
        let (model, sink) = analyze(&sources, &Options::default());
        let errors: Vec<_> = sink.into_sorted().into_iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        ProjectGraph::build(&model, None)
    }

    #[test]
    fn egress_edges_say_how_they_are_enforced() {
        let g = graph();
        let edges: Vec<(String, String, String)> = g
            .edges()
            .filter_map(|(f, t, e)| e.enforcement.as_ref().map(|how| (f.id(), t.id(), format!("{}: {how}", e.label))))
            .collect();
        let want = [
            (
                "dev/api",
                "dev/egress:api.stripe.com:443",
                "egress :443: port only (network policy; no firewall in a local environment)",
            ),
            ("dev/api", "dev/egress:52.95.110.1:8443", "egress :8443: ip /32 (network policy)"),
            (
                "staging/api",
                "staging/egress:api.stripe.com:443",
                "egress :443: tls-sni/http-host allowlist (network firewall)",
            ),
            ("staging/api", "staging/egress:52.95.110.1:8443", "egress :8443: ip /32 (network firewall)"),
            (
                "staging/worker",
                "staging/egress:api.stripe.com:443",
                "egress :443: tls-sni/http-host allowlist (network firewall)",
            ),
        ];
        let want: Vec<(String, String, String)> =
            want.iter().map(|(f, t, l)| (f.to_string(), t.to_string(), l.to_string())).collect();
        assert_eq!(edges, want, "one destination node per environment, shared by its services");
    }

    #[test]
    fn the_collector_is_a_runtime_workload_with_its_backends() {
        let project = PROJECT.replacen(
            "  network core { cidr = 10.1.0.0/16 }\n",
            "  network core { cidr = 10.1.0.0/16 }\n  telemetry {\n    traces = \"otlp.example.com:4317\"\n    logs = \"otlp.example.com:4317\"\n  }\n",
            1,
        );
        assert_ne!(project, PROJECT);
        let mut sources = Sources::with_stdlib();
        sources.add("project.gov", project);
        let (model, sink) = analyze(&sources, &Options::default());
        let errors: Vec<_> = sink.into_sorted().into_iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        let g = ProjectGraph::build(&model, Some("staging"));
        let edges: Vec<(String, String, String)> = g
            .edges()
            .map(|(f, t, e)| (f.id(), t.id(), e.label.clone()))
            .filter(|(f, t, _)| f.contains("otel") || t.contains("otel"))
            .collect();
        let want = [
            ("env:staging", "staging/otel-collector", "contains"),
            ("staging/otel-collector", "staging/core", "runtime segment"),
            ("staging/api", "staging/otel-collector", "otlp"),
            ("staging/worker", "staging/otel-collector", "otlp"),
            ("staging/otel-collector", "staging/egress:otlp.example.com:4317", "egress :4317"),
        ];
        let want: Vec<(String, String, String)> =
            want.iter().map(|(f, t, l)| (f.to_string(), t.to_string(), l.to_string())).collect();
        assert_eq!(edges, want, "one egress edge per distinct backend");
    }

    #[test]
    fn every_format_shows_the_enforcement() {
        let g = graph();
        let dot = g.to_dot();
        assert!(dot.contains(
            "\"staging/worker\" -> \"staging/egress:api.stripe.com:443\" [label=\"egress :443: tls-sni/http-host allowlist (network firewall)\", style=dashed];"
        ), "{dot}");
        assert!(
            dot.contains("\"staging/egress:52.95.110.1:8443\" [label=\"external 52.95.110.1:8443\", shape=ellipse];")
        );
        let mermaid = g.to_mermaid();
        assert!(mermaid.contains("-.->|\"egress :8443: ip /32 (network firewall)\"|"), "{mermaid}");
        assert!(mermaid.contains("([\"external api.stripe.com:443\"])"), "{mermaid}");
        let json: serde_json::Value = serde_json::from_str(&g.to_json()).expect("json");
        let edge = json["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .find(|e| e["to"] == "staging/egress:52.95.110.1:8443")
            .expect("egress edge");
        assert_eq!(edge["label"], "egress :8443");
        assert_eq!(edge["enforcement"], "ip /32 (network firewall)");
        let node = json["nodes"].as_array().expect("nodes").iter().find(|n| n["kind"] == "external").expect("node");
        assert_eq!(node["environment"], "dev");
    }
}
