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

use super::json::{lit, obj, prefixed_ident, reference, tags, write_fields, Later, Scalar, TfFile};
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

/// Where the groups and rules of `network.tf.json` go: each group into the file as it
/// comes, each rule into the records the file renders when it is written.
struct Root<'f> {
    file: &'f mut TfFile,
    rules: Rules,
}

/// The security group rules of `network.tf.json`, kept as records and written when the
/// file is ([`Later`]): a fleet's file has thousands (9,000 at fleet-1000), whose texts
/// would otherwise be held, megabytes of them, from the first until the file is written.
#[derive(Default)]
struct Rules {
    /// Each rule's key, description, group, peer and protocol, one after another.
    text: String,
    rules: Vec<Record>,
}

/// One rule of [`Rules`].
struct Record {
    /// Where its texts start in [`Rules::text`].
    at: usize,
    /// The lengths of its key, description, group, peer and protocol.
    lengths: [usize; 5],
    ingress: bool,
    peer: PeerKind,
    port: u16,
}

#[derive(Clone, Copy)]
enum PeerKind {
    Group,
    Cidr,
    PrefixList,
}

const INGRESS_RULE: [&str; 2] = ["resource", "aws_vpc_security_group_ingress_rule"];
const EGRESS_RULE: [&str; 2] = ["resource", "aws_vpc_security_group_egress_rule"];

impl Rules {
    /// Rule `r`, named `<group>_<dir>_<what>_<protocol>_<port>`.
    fn add(&mut self, r: Rule<'_>) {
        let (peer, peer_kind) = match &r.peer {
            Peer::Group(g) => (*g, PeerKind::Group),
            Peer::Cidr(c) => (c.as_str(), PeerKind::Cidr),
            Peer::PrefixList(p) => (*p, PeerKind::PrefixList),
        };
        let text = &mut self.text;
        let at = text.len();
        for part in [r.group, "_", if r.ingress { "in" } else { "out" }, "_", r.what, "_", r.protocol, "_"] {
            text.push_str(part);
        }
        crate::emit::push_decimal(text, u64::from(r.port));
        let lengths = [text.len() - at, r.description.len(), r.group.len(), peer.len(), r.protocol.len()];
        for part in [&*r.description, r.group, peer, r.protocol] {
            text.push_str(part);
        }
        self.rules.push(Record { at, lengths, ingress: r.ingress, peer: peer_kind, port: r.port });
    }

    /// The texts of `rule`: its key, description, group, peer and protocol.
    fn texts(&self, rule: &Record) -> [&str; 5] {
        let mut at = rule.at;
        rule.lengths.map(|n| {
            let part = &self.text[at..at + n];
            at += n;
            part
        })
    }
}

impl Later for Rules {
    fn len(&self) -> usize {
        self.rules.len()
    }

    fn place(&self, id: usize) -> (&[&'static str], &str) {
        let rule = &self.rules[id];
        let path: &[&'static str] = if rule.ingress { &INGRESS_RULE } else { &EGRESS_RULE };
        (path, self.texts(rule)[0])
    }

    fn write(&self, id: usize, out: &mut String, depth: usize) {
        let rule = &self.rules[id];
        let [_, description, group, peer, protocol] = self.texts(rule);
        let peer = match rule.peer {
            PeerKind::Group => ("referenced_security_group_id", Scalar::Attr("aws_security_group", peer, "id")),
            PeerKind::Cidr => ("cidr_ipv4", Scalar::Lit(peer)),
            PeerKind::PrefixList => ("prefix_list_id", Scalar::Ref(peer)),
        };
        let port = u64::from(rule.port);
        write_fields(
            out,
            &mut [
                ("description", Scalar::Lit(description)),
                ("from_port", Scalar::Int(port)),
                ("ip_protocol", Scalar::Lit(protocol)),
                ("security_group_id", Scalar::Attr("aws_security_group", group, "id")),
                ("to_port", Scalar::Int(port)),
                peer,
            ],
            depth,
        );
    }
}

fn rule(root: &mut Root<'_>, r: Rule<'_>) {
    root.rules.add(r);
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
fn flow(root: &mut Root<'_>, f: Flow<'_>, out_description: &str, in_description: &str) {
    let Flow { from, to, protocol, port, what } = f;
    rule(
        root,
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
        root,
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

fn group(root: &mut Root<'_>, ident: &str, name: &str, description: &str) {
    root.file.resource(
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
fn dns_rules(root: &mut Root<'_>, group: &str) {
    for (protocol, description) in
        [("tcp", "Cluster DNS (CoreDNS on the nodes) over tcp"), ("udp", "Cluster DNS (CoreDNS on the nodes) over udp")]
    {
        rule(
            root,
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
fn bootstrap_rules(root: &mut Root<'_>, db: &crate::ir::Postgres) {
    let me = bootstrap_group(&db.name);
    dns_rules(root, &me);
    flow(
        root,
        Flow { from: &me, to: "endpoints", protocol: "tcp", port: 443, what: None },
        &format!("Bootstrap of {} to Secrets Manager (its master secret) through the VPC endpoint", db.name),
        &format!("HTTPS from the bootstrap Job of {}", db.name),
    );
    flow(
        root,
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

/// Adds the security groups and their rules to `network.tf.json` (the rules are written when
/// the file is: [`Rules`]).
pub fn emit(file: &mut TfFile, ctx: &Ctx<'_>) {
    let root = &mut Root { file, rules: Rules::default() };
    let res = &ctx.env.resources;
    let group_name = |suffix: &str| ctx.name(suffix, 255);
    group(root, "ingress", &group_name("ingress"), "Ingress segment: HTTPS in, routed service ports out to the pods");
    group(
        root,
        "runtime",
        &group_name("runtime"),
        "Runtime segment: EKS nodes (and pods without a security group policy)",
    );
    group(root, "endpoints", &group_name("endpoints"), "VPC interface endpoints: HTTPS from the nodes");
    group(root, "cluster", &group_name("cluster"), "EKS control plane ENIs");
    for db in &res.databases {
        let name = names::postgres_security_group_name(ctx.project, &ctx.env.name, &db.name);
        let description = format!("Postgres {}: its port from the services that connect to it", db.name);
        group(root, &postgres_group(&db.name), &name, &description);
    }
    for db in res.databases.iter().filter(|d| res.connectors(&d.name).next().is_some()) {
        let name = names::bootstrap_security_group_name(ctx.project, &ctx.env.name, &db.name);
        let description =
            format!("Pods of the bootstrap Job of postgres {}: the database and Secrets Manager", db.name);
        group(root, &bootstrap_group(&db.name), &name, &description);
    }
    for svc in &res.services {
        let name = names::service_security_group_name(ctx.project, &ctx.env.name, &svc.name);
        let description =
            ["Pods of service ", &svc.name, " (security group for pods): its declared flows only"].concat();
        group(root, &service_group(&svc.name), &name, &description);
    }
    if ctx.env.telemetry.is_some() {
        let name = names::collector_security_group_name(ctx.project, &ctx.env.name);
        let description = "Pods of the OpenTelemetry Collector: OTLP from the services, its backends out";
        group(root, COLLECTOR_GROUP, &name, description);
    }

    let https_from = if ctx.public_ingress() { "0.0.0.0/0".to_string() } else { ctx.cidr.to_string() };
    let https_what = if ctx.public_ingress() { "the internet" } else { "the VPC" };
    rule(
        root,
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
            root,
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
                root,
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
        service_rules(root, ctx, svc, &services);
    }
    if let Some(telemetry) = &ctx.env.telemetry {
        collector_rules(root, ctx, telemetry);
    }
    for db in res.databases.iter().filter(|d| res.connectors(&d.name).next().is_some()) {
        bootstrap_rules(root, db);
    }

    // The nodes' own needs: cluster DNS, VPC endpoints and S3 (image layers) over HTTPS.
    for protocol in ["tcp", "udp"] {
        let description = format!("Cluster DNS (CoreDNS) over {protocol} between nodes");
        let within = Flow { from: "runtime", to: "runtime", protocol, port: 53, what: Some("dns") };
        flow(root, within, &description, &description);
        rule(
            root,
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
        root,
        Flow { from: "runtime", to: "endpoints", protocol: "tcp", port: 443, what: None },
        "HTTPS to the VPC interface endpoints",
        "HTTPS from the runtime to the VPC interface endpoints",
    );
    rule(
        root,
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
            root,
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
        root,
        Flow { from: "runtime", to: "cluster", protocol: "tcp", port: 443, what: None },
        "Nodes and pods to the Kubernetes API",
        "Kubernetes API from the nodes and pods",
    );
    for port in CONTROL_PLANE_TO_NODES {
        let description = format!("Control plane to kubelet and webhooks on {port}");
        flow(
            root,
            Flow { from: "cluster", to: "runtime", protocol: "tcp", port, what: None },
            &description,
            &description,
        );
    }
    root.file.add_later(Box::new(std::mem::take(&mut root.rules)));
}

/// The rules of one service's group: DNS, kubelet probes, its `connects` (to services and
/// databases, each mirrored by an ingress rule on the peer's group) and its `egress`.
fn service_rules(root: &mut Root<'_>, ctx: &Ctx<'_>, svc: &Service, services: &HashMap<&str, &Service>) {
    let res = &ctx.env.resources;
    let me = service_group(&svc.name);
    dns_rules(root, &me);
    rule(
        root,
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
            root,
            Flow { from: &me, to: "endpoints", protocol: "tcp", port: 443, what: None },
            &[&svc.name, " to STS (its IAM role) through the VPC endpoint"].concat(),
            &["HTTPS from ", &svc.name, " (STS, its IAM role)"].concat(),
        );
    }
    // A service that connects to a bucket reaches S3 through the gateway endpoint.
    if res.reaches_storage(svc) {
        let buckets: Vec<&str> = svc.buckets().filter(|b| res.bucket(b).is_some()).collect();
        rule(
            root,
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
            root,
            Flow { from: &me, to: &to, protocol: "tcp", port, what: None },
            &[&svc.name, " connects to ", &what, " on ", &port_text].concat(),
            &[&what, " on ", &port_text, " from ", &svc.name, " (a declared connection)"].concat(),
        );
    }
    egress_rules(root, &me, &svc.egress);
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
fn collector_rules(root: &mut Root<'_>, ctx: &Ctx<'_>, telemetry: &Telemetry) {
    let me = COLLECTOR_GROUP;
    dns_rules(root, me);
    rule(
        root,
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
                root,
                Flow { from: &from, to: me, protocol: "tcp", port, what: None },
                &[&svc.name, " sends telemetry (OTLP) to the collector on ", &port_text].concat(),
                &["OTLP on ", &port_text, " from ", &svc.name].concat(),
            );
        }
    }
    let backends: Vec<Egress> = telemetry.destinations().into_iter().cloned().collect();
    egress_rules(root, me, &backends);
}

/// Declared egress of `group`: an IP entry is exactly that /32; a host name is any address
/// on the port here (the name itself is enforced on the egress path, outside security groups).
fn egress_rules(root: &mut Root<'_>, me: &str, egress: &[Egress]) {
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
            root,
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
            root,
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
