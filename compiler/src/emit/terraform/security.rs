//! Security groups: the flow rules ingress → runtime → persistence as AWS rules.
//!
//! One group per segment, named `<prefix>-ingress`, `<prefix>-runtime`,
//! `<prefix>-persistence` (the Kubernetes side references the ingress group by name),
//! plus `<prefix>-endpoints` (the VPC interface endpoints) and `<prefix>-cluster` (the
//! EKS control plane ENIs). Every rule is a separate resource with a description; a
//! group without rules denies everything (Terraform removes AWS's default allow-all egress).
//!
//! Node to node (within `<prefix>-runtime`) only DNS (53 tcp/udp, CoreDNS) and the ports of
//! services that another service `connects` to. The control plane reaches the nodes on
//! 10250 (kubelet, metrics-server, External Secrets webhook), 443 and 9443 (admission
//! webhooks such as the AWS Load Balancer Controller's); nodes reach it on 443.

use std::collections::BTreeSet;

use serde_json::Value;

use super::json::{lit, obj, reference, tags, TfFile};
use super::Ctx;
use crate::ir::Connection;

/// Ports the EKS control plane opens towards the nodes (see the module doc).
pub const CONTROL_PLANE_TO_NODES: [u16; 3] = [443, 9443, 10250];

enum Peer<'a> {
    Group(&'a str),
    Cidr(String),
    PrefixList(&'a str),
}

struct Rule<'a> {
    group: &'a str,
    ingress: bool,
    protocol: &'a str,
    port: u16,
    peer: Peer<'a>,
    what: &'a str,
    description: String,
}

fn rule(file: &mut TfFile, r: Rule<'_>) {
    let (ty, dir) = if r.ingress {
        ("aws_vpc_security_group_ingress_rule", "in")
    } else {
        ("aws_vpc_security_group_egress_rule", "out")
    };
    let mut body = obj([
        ("description", lit(&r.description)),
        ("from_port", Value::from(r.port)),
        ("ip_protocol", lit(r.protocol)),
        ("security_group_id", reference(format!("aws_security_group.{}.id", r.group))),
        ("to_port", Value::from(r.port)),
    ]);
    let (key, value) = match r.peer {
        Peer::Group(g) => ("referenced_security_group_id", reference(format!("aws_security_group.{g}.id"))),
        Peer::Cidr(c) => ("cidr_ipv4", lit(c)),
        Peer::PrefixList(p) => ("prefix_list_id", reference(p)),
    };
    super::json::set(&mut body, key, value);
    let name = format!("{}_{dir}_{}_{}_{}", r.group, r.what, r.protocol, r.port);
    file.resource(ty, &name, body);
}

/// A flow between two groups on one port.
struct Flow<'a> {
    from: &'a str,
    to: &'a str,
    protocol: &'a str,
    port: u16,
    /// The rules' name; by default each is named for its peer group.
    what: Option<&'a str>,
}

/// A flow is two rules: egress on the sending group, ingress on the receiving one.
fn flow(file: &mut TfFile, f: Flow<'_>, out_description: &str, in_description: &str) {
    let Flow { from, to, protocol, port, what } = f;
    rule(
        file,
        Rule {
            group: from,
            ingress: false,
            protocol,
            port,
            peer: Peer::Group(to),
            what: what.unwrap_or(to),
            description: out_description.to_string(),
        },
    );
    rule(
        file,
        Rule {
            group: to,
            ingress: true,
            protocol,
            port,
            peer: Peer::Group(from),
            what: what.unwrap_or(from),
            description: in_description.to_string(),
        },
    );
}

fn group(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, description: &str) {
    let name = ctx.name(ident, 255);
    file.resource(
        "aws_security_group",
        ident,
        obj([
            ("description", lit(description)),
            ("name", lit(&name)),
            ("tags", tags(&name, &[])),
            ("vpc_id", reference("aws_vpc.main.id")),
        ]),
    );
}

/// Adds the security groups and their rules to `network.tf.json`.
pub fn emit(file: &mut TfFile, ctx: &Ctx<'_>) {
    let res = &ctx.env.resources;
    group(file, ctx, "ingress", "Ingress segment: HTTPS in, routed service ports out to the runtime");
    group(file, ctx, "runtime", "Runtime segment: EKS nodes and pods");
    group(file, ctx, "persistence", "Persistence segment: Postgres from services that connect to it");
    group(file, ctx, "endpoints", "VPC interface endpoints: HTTPS from the runtime");
    group(file, ctx, "cluster", "EKS control plane ENIs");

    let https_from = if ctx.public_ingress() { "0.0.0.0/0".to_string() } else { ctx.cidr.to_string() };
    let https_what = if ctx.public_ingress() { "the internet" } else { "the VPC" };
    rule(
        file,
        Rule {
            group: "ingress",
            ingress: true,
            protocol: "tcp",
            port: 443,
            peer: Peer::Cidr(https_from),
            what: "https",
            description: format!("HTTPS from {https_what} to the load balancer"),
        },
    );
    let routed: BTreeSet<u16> = res.ingress().map(|i| i.routes.iter().map(|r| r.port).collect()).unwrap_or_default();
    for &port in &routed {
        let description = format!("Routed service port {port}: load balancer to pods");
        flow(
            file,
            Flow { from: "ingress", to: "runtime", protocol: "tcp", port, what: None },
            &description,
            &description,
        );
    }

    // Service to service, only on the ports of services someone connects to.
    let connected: BTreeSet<u16> = res
        .services
        .iter()
        .flat_map(|s| &s.connects)
        .filter_map(|c| match c {
            Connection::Service(name) => res.service(name).map(|t| t.port),
            Connection::Postgres(_) => None,
        })
        .collect();
    for &port in &connected {
        let description = format!("Service to service on port {port} (a declared connection)");
        let within = Flow { from: "runtime", to: "runtime", protocol: "tcp", port, what: Some("self") };
        flow(file, within, &description, &description);
    }
    for protocol in ["tcp", "udp"] {
        let description = format!("Cluster DNS (CoreDNS) over {protocol} between nodes");
        let within = Flow { from: "runtime", to: "runtime", protocol, port: 53, what: Some("dns") };
        flow(file, within, &description, &description);
    }

    // Postgres, per port in use, only when some service connects to a database.
    let pg_ports: BTreeSet<u16> = res
        .services
        .iter()
        .flat_map(|s| &s.connects)
        .filter_map(|c| match c {
            Connection::Postgres(name) => res.database(name).map(|d| d.port),
            Connection::Service(_) => None,
        })
        .collect();
    for &port in &pg_ports {
        let description = format!("Postgres on {port} from services that connect to it");
        flow(
            file,
            Flow { from: "runtime", to: "persistence", protocol: "tcp", port, what: None },
            &description,
            &description,
        );
    }

    // The nodes' own needs: VPC endpoints and S3 (image layers) over HTTPS.
    flow(
        file,
        Flow { from: "runtime", to: "endpoints", protocol: "tcp", port: 443, what: None },
        "HTTPS to the VPC interface endpoints",
        "HTTPS from the runtime to the VPC interface endpoints",
    );
    rule(
        file,
        Rule {
            group: "runtime",
            ingress: false,
            protocol: "tcp",
            port: 443,
            peer: Peer::PrefixList("aws_vpc_endpoint.s3.prefix_list_id"),
            what: "s3",
            description: "HTTPS to S3 through the gateway endpoint (ECR image layers)".into(),
        },
    );

    // Control plane and nodes.
    flow(
        file,
        Flow { from: "runtime", to: "cluster", protocol: "tcp", port: 443, what: None },
        "Nodes and pods to the Kubernetes API",
        "Kubernetes API from the nodes and pods",
    );
    for port in CONTROL_PLANE_TO_NODES {
        let description = format!("Control plane to kubelet and webhooks on {port}");
        flow(
            file,
            Flow { from: "cluster", to: "runtime", protocol: "tcp", port, what: None },
            &description,
            &description,
        );
    }

    // Declared egress only, through the NAT.
    let egress: BTreeSet<u16> = res.services.iter().flat_map(|s| &s.egress).map(|e| e.port).collect();
    for &port in &egress {
        let hosts: BTreeSet<&str> =
            res.services.iter().flat_map(|s| &s.egress).filter(|e| e.port == port).map(|e| e.host.as_str()).collect();
        let description = format!("Declared egress on {port} ({})", hosts.into_iter().collect::<Vec<_>>().join(", "));
        rule(
            file,
            Rule {
                group: "runtime",
                ingress: false,
                protocol: "tcp",
                port,
                peer: Peer::Cidr("0.0.0.0/0".into()),
                what: "egress",
                description,
            },
        );
    }
}
