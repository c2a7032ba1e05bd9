//! The project's dependency graph (petgraph), and its renderings for `govc graph`:
//! DOT, Mermaid and JSON, all deterministic.
//!
//! Nodes: environments, stacks and every environment's resources. Edges: `stack`
//! and `mirrors` between items, `contains` from an environment to its resources,
//! and the resources' own edges (`connects`, routes, `env` references, placement in
//! a network segment).

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde_json::json;

use super::parity::edge_label;
use crate::model::{EdgeKind, Model};

/// A node of the project graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Environment { name: String, tier: String },
    Stack { name: String },
    Resource { env: String, kind: String, name: String },
}

impl Node {
    /// A stable identifier: `env:production`, `stack:app`, `production/api`.
    pub fn id(&self) -> String {
        match self {
            Node::Environment { name, .. } => format!("env:{name}"),
            Node::Stack { name } => format!("stack:{name}"),
            Node::Resource { env, name, .. } => format!("{env}/{name}"),
        }
    }

    fn label(&self) -> String {
        match self {
            Node::Environment { name, tier } => format!("environment {name} ({tier})"),
            Node::Stack { name } => format!("stack {name}"),
            Node::Resource { kind, name, .. } => format!("{kind} {name}"),
        }
    }

    fn kind(&self) -> &str {
        match self {
            Node::Environment { .. } => "environment",
            Node::Stack { .. } => "stack",
            Node::Resource { kind, .. } => kind,
        }
    }
}

/// The whole project as a graph, nodes and edges in declaration order.
pub struct ProjectGraph {
    pub graph: DiGraph<Node, String>,
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
                graph.add_edge(node, stack, "stack".to_string());
            }
            let res_nodes: Vec<NodeIndex> = env
                .resources
                .iter()
                .map(|r| {
                    graph.add_node(Node::Resource { env: env.name.clone(), kind: r.kind.clone(), name: r.name.clone() })
                })
                .collect();
            for (res, from) in env.resources.iter().zip(&res_nodes) {
                graph.add_edge(node, *from, "contains".to_string());
                for edge in &res.edges {
                    let label = match edge.kind {
                        EdgeKind::Network => format!("{} segment", segment_of(&res.kind)),
                        _ => edge_label(&edge.kind, edge.attr.as_deref()),
                    };
                    graph.add_edge(*from, res_nodes[edge.target], label);
                }
            }
        }
        for env in &envs {
            let Some(target) = env.mirrors.map(|m| &model.environments[m].name) else { continue };
            let from = env_nodes.iter().find(|(n, _)| *n == env.name).map(|(_, i)| *i);
            let to = env_nodes.iter().find(|(n, _)| n == target).map(|(_, i)| *i);
            if let (Some(from), Some(to)) = (from, to) {
                graph.add_edge(from, to, "mirrors".to_string());
            }
        }
        ProjectGraph { graph }
    }

    fn edges(&self) -> impl Iterator<Item = (&Node, &Node, &String)> {
        self.graph.edge_references().map(|e| (&self.graph[e.source()], &self.graph[e.target()], e.weight()))
    }

    /// Graphviz DOT, one cluster per environment.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph govc {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for node in self.graph.node_weights() {
            if let Node::Resource { .. } = node {
                continue;
            }
            out += &format!("  {} [label={}, shape=folder];\n", quote(&node.id()), quote(&node.label()));
        }
        let mut envs: Vec<&str> = Vec::new();
        for node in self.graph.node_weights() {
            if let Node::Resource { env, .. } = node {
                if !envs.contains(&env.as_str()) {
                    envs.push(env);
                }
            }
        }
        for env in envs {
            out += &format!("  subgraph {} {{\n    label={};\n", quote(&format!("cluster_{env}")), quote(env));
            for node in self.graph.node_weights() {
                if matches!(node, Node::Resource { env: e, .. } if e == env) {
                    out += &format!("    {} [label={}];\n", quote(&node.id()), quote(&node.label()));
                }
            }
            out += "  }\n";
        }
        for (from, to, label) in self.edges() {
            out += &format!("  {} -> {} [label={}];\n", quote(&from.id()), quote(&to.id()), quote(label));
        }
        out + "}\n"
    }

    /// A Mermaid flowchart, one subgraph per environment.
    pub fn to_mermaid(&self) -> String {
        let ids: Vec<String> = self.graph.node_indices().map(|i| format!("n{}", i.index())).collect();
        let mut out = String::from("flowchart LR\n");
        let mut envs: Vec<&str> = Vec::new();
        for (i, node) in self.graph.node_weights().enumerate() {
            match node {
                Node::Resource { env, .. } => {
                    if !envs.contains(&env.as_str()) {
                        envs.push(env);
                    }
                }
                _ => out += &format!("  {}[[\"{}\"]]\n", ids[i], mermaid_text(&node.label())),
            }
        }
        for env in envs {
            out += &format!("  subgraph {}[\"{}\"]\n", mermaid_id(env), mermaid_text(env));
            for (i, node) in self.graph.node_weights().enumerate() {
                if matches!(node, Node::Resource { env: e, .. } if e == env) {
                    out += &format!("    {}[\"{}\"]\n", ids[i], mermaid_text(&node.label()));
                }
            }
            out += "  end\n";
        }
        for e in self.graph.edge_references() {
            out += &format!(
                "  {} -->|\"{}\"| {}\n",
                ids[e.source().index()],
                mermaid_text(e.weight()),
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
                if let Node::Resource { env, name, .. } = n {
                    it["environment"] = json!(env);
                    it["name"] = json!(name);
                }
                it
            })
            .collect();
        let edges: Vec<_> = self.edges().map(|(f, t, l)| json!({ "from": f.id(), "to": t.id(), "label": l })).collect();
        let mut out = serde_json::to_string_pretty(&json!({ "nodes": nodes, "edges": edges })).unwrap_or_default();
        out.push('\n');
        out
    }
}

fn segment_of(kind: &str) -> &'static str {
    match kind {
        "ingress" => "ingress",
        "postgres" => "persistence",
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
