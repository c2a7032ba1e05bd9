//! Security groups: every proven flow as AWS rules, per workload.
//!
//! Groups: `<prefix>-ingress` (the load balancer; the Kubernetes side names it in its ALB
//! annotation), `<prefix>-runtime` (the EKS nodes, and pods that no security group policy
//! selects: CoreDNS and the platform's controllers), `<prefix>-endpoints` (the VPC
//! interface endpoints), `<prefix>-cluster` (the EKS control plane ENIs), one
//! `<prefix>-pg-<postgres>` per database and one `<prefix>-svc-<service>` per service,
//! attached to the service's pods through EKS security groups for pods (the
//! `SecurityGroupPolicy` objects of [`super::compute`]'s `security_group_policies` output).
//! Every rule is a separate resource with a description; a group without rules denies
//! everything (Terraform removes AWS's default allow-all egress).
//!
//! The rules, per flow kind of the program:
//! - ingress → service on a route port: the load balancer's group out to the runtime
//!   subnets on the routed ports, the service's group in from the load balancer's group
//!   on that service's route ports only;
//! - service → service (`connects`): the caller's group out to the callee's group on the
//!   callee's port, the callee's group in from the caller's group on that port;
//! - service → postgres (`connects`): the service's group out to the database's group on
//!   its port, the database's group in from that service's group only;
//! - service → `egress`: an IP entry is exactly that `/32` on the declared port; a host
//!   name is `0.0.0.0/0` on the port (security groups cannot match names);
//! - a service that connects to a postgres or a bucket has an IAM role (`identity.rs`): its
//!   group out to the endpoints' group on 443 (STS), mirrored by an ingress rule there;
//! - service → bucket (`connects`): the service's group out to the S3 prefix list of the
//!   VPC's gateway endpoint on 443, and only for such a service (the bucket policy refuses
//!   anything but TLS);
//! - a postgres that services connect to has a bootstrap Job (which creates their
//!   IAM-authenticated users) with its own group `<prefix>-bootstrap-<postgres>`: out to
//!   the database's group on its port and to the endpoints' group on 443 (Secrets
//!   Manager), each mirrored by an ingress rule, and DNS to the nodes;
//! - with `telemetry`, the OpenTelemetry Collector has its own group
//!   `<prefix>-otel-collector`: every service's group out to it on 4317 and 4318 (OTLP),
//!   mirrored by its ingress rules from exactly those groups; out to each backend like a
//!   declared `egress` entry; DNS to the nodes and kubelet probes from them on 13133.
//!
//! What the nodes need and nothing else: DNS among the nodes (53 tcp/udp, CoreDNS) and
//! from the runtime subnets (pods with their own group), each service's group out to the
//! nodes on 53; kubelet probes (the nodes out to the runtime subnets on the services'
//! ports, each service's group in from the nodes on its own port); HTTPS to the VPC
//! endpoints and S3; the control plane reaches the nodes on 10250 (kubelet,
//! metrics-server, External Secrets webhook), 443 and 9443 (admission webhooks such as
//! the AWS Load Balancer Controller's); nodes reach it on 443.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use std::net::Ipv4Addr;

use super::json::{lit, obj, prefixed_ident, reference, tags, Scalar, TfFile};
use super::Ctx;
use crate::emit::names;
use crate::ir::{Connection, Egress, SegmentRole, Service, Telemetry};

/// The Terraform identifier of the OpenTelemetry Collector's security group.
pub const COLLECTOR_GROUP: &str = "otel_collector";

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
    description: Cow<'a, str>,
}

fn rule(file: &mut TfFile, r: Rule<'_>) {
    let (ty, dir) = if r.ingress {
        ("aws_vpc_security_group_ingress_rule", "in")
    } else {
        ("aws_vpc_security_group_egress_rule", "out")
    };
    let peer = match &r.peer {
        Peer::Group(g) => ("referenced_security_group_id", Scalar::Attr("aws_security_group", g, "id")),
        Peer::Cidr(c) => ("cidr_ipv4", Scalar::Lit(c)),
        Peer::PrefixList(p) => ("prefix_list_id", Scalar::Ref(p)),
    };
    // `<group>_<dir>_<what>_<protocol>_<port>`, without the formatting machinery.
    let mut name = String::with_capacity(r.group.len() + r.what.len() + r.protocol.len() + 16);
    for part in [r.group, "_", dir, "_", r.what, "_", r.protocol, "_"] {
        name.push_str(part);
    }
    crate::emit::push_decimal(&mut name, u64::from(r.port));
    // Thousands per fleet: written straight to text.
    file.resource_fields(
        ty,
        &name,
        &mut [
            ("description", Scalar::Lit(&r.description)),
            ("from_port", Scalar::Int(u64::from(r.port))),
            ("ip_protocol", Scalar::Lit(r.protocol)),
            ("security_group_id", Scalar::Attr("aws_security_group", r.group, "id")),
            ("to_port", Scalar::Int(u64::from(r.port))),
            peer,
        ],
    );
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
            description: Cow::Borrowed(out_description),
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
            description: Cow::Borrowed(in_description),
        },
    );
}

fn group(file: &mut TfFile, ident: &str, name: &str, description: &str) {
    file.resource(
        "aws_security_group",
        ident,
        obj([
            ("description", lit(description)),
            ("name", lit(name)),
            ("tags", tags(name, &[])),
            ("vpc_id", reference("aws_vpc.main.id")),
        ]),
    );
}

/// The Terraform identifier of a service's security group: `svc_<service>`.
pub fn service_group(service: &str) -> String {
    prefixed_ident("svc_", service)
}

/// The Terraform identifier of a postgres's security group: `pg_<postgres>`.
pub fn postgres_group(postgres: &str) -> String {
    prefixed_ident("pg_", postgres)
}

/// The Terraform identifier of the security group of a postgres's bootstrap Job.
pub fn bootstrap_group(postgres: &str) -> String {
    prefixed_ident("bootstrap_", postgres)
}

/// DNS out of `group` to the nodes (CoreDNS), over TCP and UDP.
fn dns_rules(file: &mut TfFile, group: &str) {
    for (protocol, description) in
        [("tcp", "Cluster DNS (CoreDNS on the nodes) over tcp"), ("udp", "Cluster DNS (CoreDNS on the nodes) over udp")]
    {
        rule(
            file,
            Rule {
                group,
                ingress: false,
                protocol,
                port: 53,
                peer: Peer::Group("runtime"),
                what: "dns",
                description: description.into(),
            },
        );
    }
}

/// The rules of a bootstrap Job's group: DNS to the nodes, HTTPS to the VPC endpoints
/// (Secrets Manager, where the master secret is), and the database's port, mirrored by
/// ingress rules on the endpoints' and the database's groups.
fn bootstrap_rules(file: &mut TfFile, db: &crate::ir::Postgres) {
    let me = bootstrap_group(&db.name);
    dns_rules(file, &me);
    flow(
        file,
        Flow { from: &me, to: "endpoints", protocol: "tcp", port: 443, what: None },
        &format!("Bootstrap of {} to Secrets Manager (its master secret) through the VPC endpoint", db.name),
        &format!("HTTPS from the bootstrap Job of {}", db.name),
    );
    flow(
        file,
        Flow { from: &me, to: &postgres_group(&db.name), protocol: "tcp", port: db.port, what: None },
        &format!("Bootstrap of {} creates its users on {}", db.name, db.port),
        &format!("postgres {} on {} from its bootstrap Job (creates the services' users)", db.name, db.port),
    );
}

/// The address an `egress` entry names when it is an IPv4 literal (then the rule is that
/// `/32`); `None` for a host name (then the rule is `0.0.0.0/0` on the port).
pub fn egress_ip(entry: &Egress) -> Option<Ipv4Addr> {
    entry.host.parse().ok()
}

/// Adds the security groups and their rules to `network.tf.json`.
pub fn emit(file: &mut TfFile, ctx: &Ctx<'_>) {
    let res = &ctx.env.resources;
    let group_name = |suffix: &str| ctx.name(suffix, 255);
    group(file, "ingress", &group_name("ingress"), "Ingress segment: HTTPS in, routed service ports out to the pods");
    group(
        file,
        "runtime",
        &group_name("runtime"),
        "Runtime segment: EKS nodes (and pods without a security group policy)",
    );
    group(file, "endpoints", &group_name("endpoints"), "VPC interface endpoints: HTTPS from the nodes");
    group(file, "cluster", &group_name("cluster"), "EKS control plane ENIs");
    for db in &res.databases {
        let name = names::postgres_security_group_name(ctx.project, &ctx.env.name, &db.name);
        let description = format!("Postgres {}: its port from the services that connect to it", db.name);
        group(file, &postgres_group(&db.name), &name, &description);
    }
    for db in res.databases.iter().filter(|d| res.connectors(&d.name).next().is_some()) {
        let name = names::bootstrap_security_group_name(ctx.project, &ctx.env.name, &db.name);
        let description =
            format!("Pods of the bootstrap Job of postgres {}: the database and Secrets Manager", db.name);
        group(file, &bootstrap_group(&db.name), &name, &description);
    }
    for svc in &res.services {
        let name = names::service_security_group_name(ctx.project, &ctx.env.name, &svc.name);
        let description =
            ["Pods of service ", &svc.name, " (security group for pods): its declared flows only"].concat();
        group(file, &service_group(&svc.name), &name, &description);
    }
    if ctx.env.telemetry.is_some() {
        let name = names::collector_security_group_name(ctx.project, &ctx.env.name);
        let description = "Pods of the OpenTelemetry Collector: OTLP from the services, its backends out";
        group(file, COLLECTOR_GROUP, &name, description);
    }

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
            description: format!("HTTPS from {https_what} to the load balancer").into(),
        },
    );
    let runtime_cidr = ctx.network.segment(SegmentRole::Runtime).cidr.map(|c| c.to_string());
    let runtime_cidr = runtime_cidr.unwrap_or_else(|| ctx.cidr.to_string());

    // Load balancer to pods: out to the runtime subnets on each routed port (pods have
    // their addresses there), in on each service's group from the load balancer's only.
    let mut routed: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for r in res.ingress().into_iter().flat_map(|i| &i.routes) {
        routed.entry(r.service.as_str()).or_default().insert(r.port);
    }
    for port in routed.values().flatten().copied().collect::<BTreeSet<u16>>() {
        rule(
            file,
            Rule {
                group: "ingress",
                ingress: false,
                protocol: "tcp",
                port,
                peer: Peer::Cidr(runtime_cidr.clone()),
                what: "pods",
                description: format!("Routed service port {port}: load balancer to the pods in the runtime subnets")
                    .into(),
            },
        );
    }
    // Services by name (the first of a name, like `Resources::service`): a fleet's
    // routes and connections look thousands of them up.
    let services: HashMap<&str, &Service> = res.services.iter().rev().map(|s| (s.name.as_str(), s)).collect();
    for (svc, ports) in &routed {
        if !services.contains_key(svc) {
            continue;
        }
        let group = service_group(svc);
        for &port in ports {
            rule(
                file,
                Rule {
                    group: &group,
                    ingress: true,
                    protocol: "tcp",
                    port,
                    peer: Peer::Group("ingress"),
                    what: "ingress",
                    description: ["Routed port ", &decimal(port), ": load balancer to ", svc].concat().into(),
                },
            );
        }
    }

    for svc in &res.services {
        service_rules(file, ctx, svc, &services);
    }
    if let Some(telemetry) = &ctx.env.telemetry {
        collector_rules(file, ctx, telemetry);
    }
    for db in res.databases.iter().filter(|d| res.connectors(&d.name).next().is_some()) {
        bootstrap_rules(file, db);
    }

    // The nodes' own needs: cluster DNS, VPC endpoints and S3 (image layers) over HTTPS.
    for protocol in ["tcp", "udp"] {
        let description = format!("Cluster DNS (CoreDNS) over {protocol} between nodes");
        let within = Flow { from: "runtime", to: "runtime", protocol, port: 53, what: Some("dns") };
        flow(file, within, &description, &description);
        rule(
            file,
            Rule {
                group: "runtime",
                ingress: true,
                protocol,
                port: 53,
                peer: Peer::Cidr(runtime_cidr.clone()),
                what: "pod_dns",
                description: format!("Cluster DNS (CoreDNS) over {protocol} from pods with their own security group")
                    .into(),
            },
        );
    }
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
    // Kubelet probes: nodes out to the pods on the services' ports (each service's group
    // admits them from the nodes on its own port), and on the collector's health port.
    let collector_health = ctx.env.telemetry.as_ref().map(|_| Telemetry::HEALTH_PORT);
    for port in res.services.iter().map(|s| s.port).chain(collector_health).collect::<BTreeSet<u16>>() {
        rule(
            file,
            Rule {
                group: "runtime",
                ingress: false,
                protocol: "tcp",
                port,
                peer: Peer::Cidr(runtime_cidr.clone()),
                what: "probes",
                description: format!("Kubelet probes to pods on port {port}").into(),
            },
        );
    }

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
}

/// The rules of one service's group: DNS, kubelet probes, its `connects` (to services and
/// databases, each mirrored by an ingress rule on the peer's group) and its `egress`.
fn service_rules(file: &mut TfFile, ctx: &Ctx<'_>, svc: &Service, services: &HashMap<&str, &Service>) {
    let res = &ctx.env.resources;
    let me = service_group(&svc.name);
    dns_rules(file, &me);
    rule(
        file,
        Rule {
            group: &me,
            ingress: true,
            protocol: "tcp",
            port: svc.port,
            peer: Peer::Group("runtime"),
            what: "probes",
            description: ["Kubelet probes from the nodes on ", &decimal(svc.port)].concat().into(),
        },
    );
    // A service with an IAM role (it connects to a postgres) exchanges its service account
    // token for credentials at STS, through the VPC endpoint.
    if res.has_role(svc) {
        flow(
            file,
            Flow { from: &me, to: "endpoints", protocol: "tcp", port: 443, what: None },
            &[&svc.name, " to STS (its IAM role) through the VPC endpoint"].concat(),
            &["HTTPS from ", &svc.name, " (STS, its IAM role)"].concat(),
        );
    }
    // A service that connects to a bucket reaches S3 through the gateway endpoint.
    if res.reaches_storage(svc) {
        let buckets: Vec<&str> = svc.buckets().filter(|b| res.bucket(b).is_some()).collect();
        rule(
            file,
            Rule {
                group: &me,
                ingress: false,
                protocol: "tcp",
                port: 443,
                peer: Peer::PrefixList("aws_vpc_endpoint.s3.prefix_list_id"),
                what: "s3",
                description: format!(
                    "{} to S3 through the gateway endpoint (buckets {})",
                    svc.name,
                    buckets.join(", ")
                )
                .into(),
            },
        );
    }
    let mut seen = BTreeSet::new();
    for conn in &svc.connects {
        let (to, port, what) = match conn {
            Connection::Service(name) => match services.get(name.as_str()) {
                Some(callee) => (service_group(&callee.name), callee.port, ["service ", &callee.name].concat()),
                None => continue,
            },
            Connection::Postgres(name) => match res.database(name) {
                Some(db) => (postgres_group(&db.name), db.port, ["postgres ", &db.name].concat()),
                None => continue,
            },
            // S3, by its prefix list (above).
            Connection::Bucket(_) => continue,
        };
        if !seen.insert((to.clone(), port)) {
            continue;
        }
        let port_text = decimal(port);
        flow(
            file,
            Flow { from: &me, to: &to, protocol: "tcp", port, what: None },
            &[&svc.name, " connects to ", &what, " on ", &port_text].concat(),
            &[&what, " on ", &port_text, " from ", &svc.name, " (a declared connection)"].concat(),
        );
    }
    egress_rules(file, &me, &svc.egress);
}

/// `n` in decimal digits, for the descriptions made once per service and rule (without
/// the formatting machinery: thousands per fleet).
fn decimal(n: u16) -> String {
    let mut text = String::with_capacity(5);
    crate::emit::push_decimal(&mut text, u64::from(n));
    text
}

/// The collector's group: DNS, kubelet probes on its health port, OTLP in from each
/// service's group (each service's egress to it is here too) and its backends out.
fn collector_rules(file: &mut TfFile, ctx: &Ctx<'_>, telemetry: &Telemetry) {
    let me = COLLECTOR_GROUP;
    dns_rules(file, me);
    rule(
        file,
        Rule {
            group: me,
            ingress: true,
            protocol: "tcp",
            port: Telemetry::HEALTH_PORT,
            peer: Peer::Group("runtime"),
            what: "probes",
            description: format!("Kubelet probes from the nodes on {}", Telemetry::HEALTH_PORT).into(),
        },
    );
    for svc in &ctx.env.resources.services {
        let from = service_group(&svc.name);
        for port in [Telemetry::OTLP_GRPC_PORT, Telemetry::OTLP_HTTP_PORT] {
            let port_text = decimal(port);
            flow(
                file,
                Flow { from: &from, to: me, protocol: "tcp", port, what: None },
                &[&svc.name, " sends telemetry (OTLP) to the collector on ", &port_text].concat(),
                &["OTLP on ", &port_text, " from ", &svc.name].concat(),
            );
        }
    }
    let backends: Vec<Egress> = telemetry.destinations().into_iter().cloned().collect();
    egress_rules(file, me, &backends);
}

/// Declared egress of `group`: an IP entry is exactly that /32; a host name is any address
/// on the port here (the name itself is enforced on the egress path, outside security groups).
fn egress_rules(file: &mut TfFile, me: &str, egress: &[Egress]) {
    let mut hosts: BTreeMap<u16, BTreeSet<&str>> = BTreeMap::new();
    let mut ips: BTreeSet<(Ipv4Addr, u16)> = BTreeSet::new();
    for eg in egress {
        match egress_ip(eg) {
            Some(ip) => {
                ips.insert((ip, eg.port));
            }
            None => {
                hosts.entry(eg.port).or_default().insert(eg.host.as_str());
            }
        }
    }
    for (port, names) in hosts {
        let shown: Vec<&str> = names.into_iter().collect();
        rule(
            file,
            Rule {
                group: me,
                ingress: false,
                protocol: "tcp",
                port,
                peer: Peer::Cidr("0.0.0.0/0".into()),
                what: "egress",
                description: format!("Declared egress on {port} ({})", shown.join(", ")).into(),
            },
        );
    }
    for (ip, port) in ips {
        let what = format!("egress_{}", ip.to_string().replace('.', "_"));
        rule(
            file,
            Rule {
                group: me,
                ingress: false,
                protocol: "tcp",
                port,
                peer: Peer::Cidr(format!("{ip}/32")),
                what: &what,
                description: format!("Declared egress to {ip} on {port}").into(),
            },
        );
    }
}
