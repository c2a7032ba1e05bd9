//! NetworkPolicies: deny all ingress and egress in the namespace, then one allow per
//! flow the program declares, and nothing else. Flows between pods get two policies
//! (egress on the caller, ingress on the callee); flows that leave the cluster (cloud
//! Postgres, declared `egress`) are egress on the caller to an `ipBlock`.
//!
//! Policies that name CIDRs or the ingress controller depend on the environment and only
//! exist in overlays; the base holds the deny, DNS and service → service policies.
//! NetworkPolicy matches addresses, not DNS names: an `egress = ["api.stripe.com:443"]`
//! entry allows the port to any address outside the network's CIDR and the private ranges;
//! an `egress = ["203.0.113.7:443"]` entry allows exactly `203.0.113.7/32` on 443.
//!
//! On EKS these policies are enforced by the VPC CNI (`enableNetworkPolicy`, see the
//! Terraform `compute` module) alongside each service's own security group; a flow passes
//! only if both layers allow it.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::object::Object;
use super::yaml::{map, Yaml};
use super::{selector, View};
use crate::emit::names;
use crate::ir::{self, Connection, SegmentRole};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// The annotation naming the flow a policy allows, for reviewers.
pub const FLOW_ANNOTATION: &str = "govc/flow";

/// Every policy of `view`.
pub fn objects(view: &View) -> Vec<Object> {
    let mut out = vec![default_deny(view), dns(view)];
    for svc in &view.resources.services {
        for conn in &svc.connects {
            match conn {
                Connection::Service(to) => {
                    if let Some(callee) = view.service(to) {
                        out.extend(pod_to_pod(view, &svc.name, &callee.name, callee.port, "TCP"));
                    }
                }
                Connection::Postgres(pg) => out.extend(to_postgres(view, svc, pg)),
                // One policy per service, below, whatever the number of its buckets.
                Connection::Bucket(_) => {}
            }
        }
        if view.env.is_some() && view.resources.reaches_storage(svc) {
            out.extend(to_storage(view, svc));
        }
        if view.env.is_some() {
            for eg in &svc.egress {
                out.push(egress(view, svc, eg));
            }
        }
    }
    if view.env.is_some() {
        out.extend(from_ingress_controller(view));
    }
    if let Some(telemetry) = super::telemetry::of(view) {
        out.extend(collector(view, telemetry));
    }
    for pg in super::bootstrap::databases(view) {
        out.extend(bootstrap(view, pg));
    }
    if super::storage::needed(view) {
        let job = super::storage::job_label();
        out.extend(pod_to_pod(view, &job, super::storage::NAME, super::storage::PORT, "TCP"));
    }
    if view.env.is_some() && !view.is_local() {
        for svc in view.resources.services.iter().filter(|s| view.resources.has_role(s)) {
            out.extend(to_aws_endpoints(view, svc));
        }
    }
    disambiguate(&mut out);
    out
}

/// Policy names are made of resource names, which may themselves hold `-to-`: the policy
/// of `a` → `b-to-c` and that of `a-to-b` → `c` are both `allow-a-to-b-to-c`, and two
/// objects of one name would make the overlay unbuildable (or, patched, one flow would
/// replace the other). Each policy whose name another one shares gets the short hash of
/// its own text appended: every flow keeps a policy of its own, and names that are
/// already unique do not change.
fn disambiguate(policies: &mut [Object]) {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in policies.iter() {
        *seen.entry(p.name.as_str()).or_default() += 1;
    }
    let shared: BTreeSet<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(name, _)| name.to_string()).collect();
    if shared.is_empty() {
        return;
    }
    for p in policies.iter_mut().filter(|p| shared.contains(&p.name)) {
        let text = super::yaml::to_document(&p.body);
        let hash = crate::lock::hex(&Sha256::digest(text.as_bytes())[..4]);
        let name = names::shortened(format!("{}-{hash}", p.name), 253);
        p.rename(name);
    }
}

/// A service with an IAM role (it connects to a postgres, `identity.tf.json`) gets its
/// credentials from STS: egress to the runtime subnets on 443, where the VPC endpoints
/// have their addresses (their security group admits only the groups that need them).
fn to_aws_endpoints(view: &View, svc: &ir::Service) -> Option<Object> {
    let net = view.resources.network(&svc.network)?;
    let to = net
        .segment(SegmentRole::Runtime)
        .subnets
        .iter()
        .map(|s| map([("ipBlock", map([("cidr", s.to_string().into())]))]));
    let rule = map([("to", Yaml::Seq(to.collect())), ("ports", ports("TCP", &[443]))]);
    Some(policy(
        view,
        &format!("allow-{}-to-aws-endpoints", svc.name),
        &format!("{} -> sts (VPC endpoint):443", svc.name),
        pods_of(view, &svc.name),
        &["Egress"],
        vec![("egress", Yaml::Seq(vec![rule]))],
    ))
}

/// A service that connects to a bucket. Local: to the in-cluster MinIO's pods on its port
/// ([`super::storage`]). Cloud: S3 through the VPC's gateway endpoint, whose addresses are
/// public S3 addresses of the region that a NetworkPolicy cannot name (the S3 prefix list
/// is known to the security group only): any address outside the network and the private
/// ranges on 443. The service's security group narrows it to the S3 prefix list, and a
/// service that connects to no bucket gets neither rule.
fn to_storage(view: &View, svc: &ir::Service) -> Vec<Object> {
    if view.is_local() {
        return pod_to_pod(view, &svc.name, super::storage::NAME, super::storage::PORT, "TCP");
    }
    let network = view.resources.network(&svc.network).and_then(|n| n.cidr);
    let block = map([("cidr", "0.0.0.0/0".into()), ("except", Yaml::from(internal_ranges(network)))]);
    let rule = map([("to", Yaml::Seq(vec![map([("ipBlock", block)])])), ("ports", ports("TCP", &[443]))]);
    vec![policy(
        view,
        &format!("allow-{}-to-s3", svc.name),
        &format!("{} -> s3 (VPC gateway endpoint):443", svc.name),
        pods_of(view, &svc.name),
        &["Egress"],
        vec![("egress", Yaml::Seq(vec![rule]))],
    )]
}

/// The bootstrap Job of a cloud postgres ([`super::bootstrap`]): egress to the persistence
/// subnets on the database's port, and to the runtime subnets on 443, where the VPC
/// endpoint of Secrets Manager has its addresses (its security group admits only the
/// endpoints' group there).
fn bootstrap(view: &View, pg: &ir::Postgres) -> Vec<Object> {
    let Some(net) = view.resources.network(&pg.network) else { return Vec::new() };
    let name = names::bootstrap_name(&pg.name);
    let blocks = |role: SegmentRole| -> Yaml {
        Yaml::Seq(
            net.segment(role)
                .subnets
                .iter()
                .map(|s| map([("ipBlock", map([("cidr", s.to_string().into())]))]))
                .collect(),
        )
    };
    let to_db = map([("to", blocks(SegmentRole::Persistence)), ("ports", ports("TCP", &[pg.port]))]);
    let to_endpoints = map([("to", blocks(SegmentRole::Runtime)), ("ports", ports("TCP", &[443]))]);
    vec![
        policy(
            view,
            &format!("allow-{name}-to-{}", pg.name),
            &format!("{name} -> {}:{}", pg.name, pg.port),
            pods_of(view, &name),
            &["Egress"],
            vec![("egress", Yaml::Seq(vec![to_db]))],
        ),
        policy(
            view,
            &format!("allow-{name}-to-aws-endpoints"),
            &format!("{name} -> secretsmanager (VPC endpoint):443"),
            pods_of(view, &name),
            &["Egress"],
            vec![("egress", Yaml::Seq(vec![to_endpoints]))],
        ),
    ]
}

fn policy(
    view: &View,
    name: &str,
    flow: &str,
    pods: Yaml,
    types: &[&'static str],
    rules: Vec<(&'static str, Yaml)>,
) -> Object {
    let name = names::shorten(name, 253);
    let metadata = vec![
        (
            "labels",
            map([
                ("app.kubernetes.io/part-of", Yaml::text(view.project)),
                ("app.kubernetes.io/managed-by", "govc".into()),
            ]),
        ),
        ("annotations", map([(FLOW_ANNOTATION, Yaml::text(flow))])),
    ];
    let mut spec = vec![("podSelector".into(), pods), ("policyTypes".into(), Yaml::from(types.to_vec()))];
    spec.extend(rules.into_iter().map(|(k, v)| (k.into(), v)));
    Object::new("networking.k8s.io/v1", "NetworkPolicy", &name, metadata, vec![("spec", Yaml::Map(spec))])
}

fn pods_of(view: &View, name: &str) -> Yaml {
    map([("matchLabels", selector(view.project, name))])
}

fn ports(protocol: &str, ports: &[u16]) -> Yaml {
    Yaml::Seq(ports.iter().map(|p| map([("protocol", Yaml::text(protocol)), ("port", (*p).into())])).collect())
}

fn default_deny(view: &View) -> Object {
    policy(view, "default-deny", "deny all", Yaml::Map(vec![]), &["Ingress", "Egress"], vec![])
}

fn dns(view: &View) -> Object {
    let to = map([
        ("namespaceSelector", map([("matchLabels", map([("kubernetes.io/metadata.name", "kube-system".into())]))])),
        ("podSelector", map([("matchLabels", map([("k8s-app", "kube-dns".into())]))])),
    ]);
    let all = vec![
        map([("protocol", "UDP".into()), ("port", 53u16.into())]),
        map([("protocol", "TCP".into()), ("port", 53u16.into())]),
    ];
    let rule = map([("to", Yaml::Seq(vec![to])), ("ports", Yaml::Seq(all))]);
    policy(
        view,
        "allow-dns",
        "* -> kube-dns:53",
        Yaml::Map(vec![]),
        &["Egress"],
        vec![("egress", Yaml::Seq(vec![rule]))],
    )
}

/// Egress on `from` and ingress on `to`, on `port`.
fn pod_to_pod(view: &View, from: &str, to: &str, port: u16, protocol: &str) -> Vec<Object> {
    let flow = format!("{from} -> {to}:{port}");
    let egress =
        map([("to", Yaml::Seq(vec![map([("podSelector", pods_of(view, to))])])), ("ports", ports(protocol, &[port]))]);
    let ingress = map([
        ("from", Yaml::Seq(vec![map([("podSelector", pods_of(view, from))])])),
        ("ports", ports(protocol, &[port])),
    ]);
    vec![
        policy(
            view,
            &format!("allow-{from}-to-{to}-egress"),
            &flow,
            pods_of(view, from),
            &["Egress"],
            vec![("egress", Yaml::Seq(vec![egress]))],
        ),
        policy(
            view,
            &format!("allow-{from}-to-{to}-ingress"),
            &flow,
            pods_of(view, to),
            &["Ingress"],
            vec![("ingress", Yaml::Seq(vec![ingress]))],
        ),
    ]
}

/// Local: to the in-cluster Postgres pods. Cloud: to the persistence subnets (where the
/// RDS instance and its replicas take their addresses), on the database's port, only for
/// a service that connects to it. A NetworkPolicy matches addresses, and an RDS address
/// is assigned at apply time and changes on failover, so the database itself is named by
/// its security group, which admits only the security groups of its connecting services.
fn to_postgres(view: &View, svc: &ir::Service, pg_name: &str) -> Vec<Object> {
    let Some(pg) = view.database(pg_name) else {
        return Vec::new();
    };
    if view.env.is_none() {
        return Vec::new();
    }
    if view.is_local() {
        return pod_to_pod(view, &svc.name, &pg.name, pg.port, "TCP");
    }
    let subnets = view.resources.network(&pg.network).map(|n| n.segment(SegmentRole::Persistence).subnets.clone());
    let subnets = subnets.unwrap_or_default();
    if subnets.is_empty() {
        return Vec::new();
    }
    let to = subnets.iter().map(|s| map([("ipBlock", map([("cidr", s.to_string().into())]))])).collect();
    let rule = map([("to", Yaml::Seq(to)), ("ports", ports("TCP", &[pg.port]))]);
    let flow = format!("{} -> {}:{}", svc.name, pg.name, pg.port);
    vec![policy(
        view,
        &format!("allow-{}-to-{}", svc.name, pg.name),
        &flow,
        pods_of(view, &svc.name),
        &["Egress"],
        vec![("egress", Yaml::Seq(vec![rule]))],
    )]
}

/// The private IPv4 ranges (RFC 1918).
const PRIVATE: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// What a declared `egress` may never reach: the network's CIDR and every private range,
/// so the policy cannot be used to reach pods, nodes or peered networks (a local cluster
/// has no known network CIDR at all). The network CIDR is listed only when no private
/// range already covers it.
fn internal_ranges(network: Option<Ipv4Net>) -> Vec<String> {
    let private: Vec<Ipv4Net> = PRIVATE.iter().map(|s| s.parse().expect("a valid constant CIDR")).collect();
    let mut out: Vec<String> = private.iter().map(ToString::to_string).collect();
    if let Some(net) = network {
        if !private.iter().any(|p| p.contains(&net)) {
            out.insert(0, net.to_string());
        }
    }
    out
}

/// An IP entry: exactly that `/32`. A host name: any address outside the service's network
/// and the private ranges, on the declared port.
fn egress(view: &View, svc: &ir::Service, eg: &ir::Egress) -> Object {
    egress_of(view, &svc.name, &svc.network, eg)
}

/// The egress policy of the pods of `name` (in `network`) to one declared destination.
fn egress_of(view: &View, name: &str, network: &str, eg: &ir::Egress) -> Object {
    let block = match eg.host.parse::<Ipv4Addr>() {
        Ok(ip) => map([("cidr", format!("{ip}/32").into())]),
        Err(_) => {
            let network = view.resources.network(network).and_then(|n| n.cidr);
            map([("cidr", "0.0.0.0/0".into()), ("except", Yaml::from(internal_ranges(network)))])
        }
    };
    let rule = map([("to", Yaml::Seq(vec![map([("ipBlock", block)])])), ("ports", ports("TCP", &[eg.port]))]);
    let host: String =
        eg.host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let policy_name = format!("allow-{name}-egress-{}-{}", host.trim_matches('-'), eg.port);
    let flow = format!("{name} -> {}:{}", eg.host, eg.port);
    policy(view, &policy_name, &flow, pods_of(view, name), &["Egress"], vec![("egress", Yaml::Seq(vec![rule]))])
}

/// The environment's OpenTelemetry Collector: each service out to it on OTLP (gRPC and
/// HTTP), the collector in from exactly the environment's services on those ports, and
/// the collector out to each declared backend like a declared `egress` entry.
fn collector(view: &View, telemetry: &ir::Telemetry) -> Vec<Object> {
    let name = ir::Telemetry::COLLECTOR;
    let otlp = [ir::Telemetry::OTLP_GRPC_PORT, ir::Telemetry::OTLP_HTTP_PORT];
    let shown = format!("{name}:{},{}", otlp[0], otlp[1]);
    let mut out = Vec::new();
    for svc in &view.resources.services {
        let rule =
            map([("to", Yaml::Seq(vec![map([("podSelector", pods_of(view, name))])])), ("ports", ports("TCP", &otlp))]);
        out.push(policy(
            view,
            &format!("allow-{}-to-{name}-egress", svc.name),
            &format!("{} -> {shown}", svc.name),
            pods_of(view, &svc.name),
            &["Egress"],
            vec![("egress", Yaml::Seq(vec![rule]))],
        ));
    }
    if !view.resources.services.is_empty() {
        let from = view.resources.services.iter().map(|s| map([("podSelector", pods_of(view, &s.name))])).collect();
        let rule = map([("from", Yaml::Seq(from)), ("ports", ports("TCP", &otlp))]);
        out.push(policy(
            view,
            &format!("allow-services-to-{name}-ingress"),
            &format!("services -> {shown}"),
            pods_of(view, name),
            &["Ingress"],
            vec![("ingress", Yaml::Seq(vec![rule]))],
        ));
    }
    // The collector runs in the runtime segment of the environment's (only) network.
    let network = view.resources.networks.first().map_or("", |n| n.name.as_str());
    for eg in telemetry.destinations() {
        out.push(egress_of(view, name, network, eg));
    }
    out
}

/// Ingress controller → each routed service on its route ports. Cloud: from the ingress
/// segment's CIDR (ALB IP targets see the load balancer's addresses). Local: from the
/// `ingress-nginx` namespace.
fn from_ingress_controller(view: &View) -> Vec<Object> {
    let Some(ing) = view.resources.ingress() else {
        return Vec::new();
    };
    let peer = if view.is_local() {
        map([(
            "namespaceSelector",
            map([("matchLabels", map([("kubernetes.io/metadata.name", "ingress-nginx".into())]))]),
        )])
    } else {
        let cidr = view.resources.network(&ing.network).and_then(|n| n.segment(SegmentRole::Ingress).cidr);
        let Some(cidr) = cidr else { return Vec::new() };
        map([("ipBlock", map([("cidr", cidr.to_string().into())]))])
    };
    let mut targets: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for r in &ing.routes {
        targets.entry(r.service.as_str()).or_default().insert(r.port);
    }
    targets
        .into_iter()
        .map(|(svc, route_ports)| {
            let route_ports: Vec<u16> = route_ports.into_iter().collect();
            let rule = map([("from", Yaml::Seq(vec![peer.clone()])), ("ports", ports("TCP", &route_ports))]);
            let shown: Vec<String> = route_ports.iter().map(u16::to_string).collect();
            let flow = format!("ingress -> {svc}:{}", shown.join(","));
            policy(
                view,
                &format!("allow-ingress-to-{svc}"),
                &flow,
                pods_of(view, svc),
                &["Ingress"],
                vec![("ingress", Yaml::Seq(vec![rule]))],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn egress_excludes_the_network_and_private_ranges() {
        let inside = internal_ranges(Some("10.30.0.0/16".parse().expect("cidr")));
        assert_eq!(inside, PRIVATE.to_vec());
        let outside = internal_ranges(Some("100.64.0.0/16".parse().expect("cidr")));
        assert_eq!(outside[0], "100.64.0.0/16");
        assert_eq!(internal_ranges(None).len(), 3);
    }
}
