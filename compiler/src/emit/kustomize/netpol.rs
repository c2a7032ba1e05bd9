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
use super::yaml::{MapWriter, SeqWriter};
use super::View;
use crate::emit::names;
use crate::ir::{self, Connection, SegmentRole};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// The annotation naming the flow a policy allows, for reviewers.
pub const FLOW_ANNOTATION: &str = "govc/flow";

/// Every policy of `view`.
pub fn objects(view: &View) -> Result<Vec<Object>, String> {
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
    disambiguate(&mut out)?;
    Ok(out)
}

/// Policy names are made of resource names, which may themselves hold `-to-`: the policy
/// of `a` → `b-to-c` and that of `a-to-b` → `c` are both `allow-a-to-b-to-c`, and two
/// objects of one name would make the overlay unbuildable (or, patched, one flow would
/// replace the other). Each policy whose name another one shares gets the short hash of
/// its own text appended: every flow keeps a policy of its own, and names that are
/// already unique do not change.
fn disambiguate(policies: &mut [Object]) -> Result<(), String> {
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for p in policies.iter() {
        *seen.entry(p.name.as_str()).or_default() += 1;
    }
    let shared: BTreeSet<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(name, _)| name.to_string()).collect();
    if shared.is_empty() {
        return Ok(());
    }
    for p in policies.iter_mut().filter(|p| shared.contains(&p.name)) {
        let hash = crate::lock::hex(&Sha256::digest(p.to_document().as_bytes())[..4]);
        let name = names::shortened(format!("{}-{hash}", p.name), 253);
        p.rename(name)?;
    }
    Ok(())
}

/// A service with an IAM role (it connects to a postgres, `identity.tf.json`) gets its
/// credentials from STS: egress to the runtime subnets on 443, where the VPC endpoints
/// have their addresses (their security group admits only the groups that need them).
fn to_aws_endpoints(view: &View, svc: &ir::Service) -> Option<Object> {
    let net = view.resources.network(&svc.network)?;
    Some(allow(
        view,
        Flow {
            name: &["allow-", &svc.name, "-to-aws-endpoints"].concat(),
            shown: &[&svc.name, " -> sts (VPC endpoint):443"].concat(),
            pods: &svc.name,
            direction: Egress,
            ports: &[("TCP", 443)],
        },
        |to| blocks(to, &net.segment(SegmentRole::Runtime).subnets),
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
    vec![allow(
        view,
        Flow {
            name: &["allow-", &svc.name, "-to-s3"].concat(),
            shown: &[&svc.name, " -> s3 (VPC gateway endpoint):443"].concat(),
            pods: &svc.name,
            direction: Egress,
            ports: &[("TCP", 443)],
        },
        |to| outside(to, network),
    )]
}

/// The bootstrap Job of a cloud postgres ([`super::bootstrap`]): egress to the persistence
/// subnets on the database's port, and to the runtime subnets on 443, where the VPC
/// endpoint of Secrets Manager has its addresses (its security group admits only the
/// endpoints' group there).
fn bootstrap(view: &View, pg: &ir::Postgres) -> Vec<Object> {
    let Some(net) = view.resources.network(&pg.network) else { return Vec::new() };
    let name = names::bootstrap_name(&pg.name);
    let mut port = String::new();
    crate::emit::push_decimal(&mut port, u64::from(pg.port));
    vec![
        allow(
            view,
            Flow {
                name: &["allow-", &name, "-to-", &pg.name].concat(),
                shown: &[&name, " -> ", &pg.name, ":", &port].concat(),
                pods: &name,
                direction: Egress,
                ports: &[("TCP", pg.port)],
            },
            |to| blocks(to, &net.segment(SegmentRole::Persistence).subnets),
        ),
        allow(
            view,
            Flow {
                name: &["allow-", &name, "-to-aws-endpoints"].concat(),
                shown: &[&name, " -> secretsmanager (VPC endpoint):443"].concat(),
                pods: &name,
                direction: Egress,
                ports: &[("TCP", 443)],
            },
            |to| blocks(to, &net.segment(SegmentRole::Runtime).subnets),
        ),
    ]
}

/// Which way a policy's one rule lets traffic pass, seen from the pods it selects.
#[derive(Clone, Copy)]
enum Direction {
    /// Out of the pods, `to` the peers.
    Egress,
    /// Into the pods, `from` the peers.
    Ingress,
}
use Direction::{Egress, Ingress};

/// A policy that allows one flow.
struct Flow<'a> {
    /// The policy's name (shortened to the 253 characters a name may hold).
    name: &'a str,
    /// The flow as reviewers read it, in the [`FLOW_ANNOTATION`].
    shown: &'a str,
    /// The name of the pods it selects ([`selector`]).
    pods: &'a str,
    direction: Direction,
    /// `(protocol, port)` of the rule.
    ports: &'a [(&'a str, u16)],
}

/// The policy of `flow`, whose peers `peers` writes (the items of `to` or `from`).
/// Written straight to text: an environment has thousands, and most are its own.
fn allow(view: &View, flow: Flow, peers: impl FnOnce(&mut SeqWriter)) -> Object {
    let (ty, rules, side) = match flow.direction {
        Egress => ("Egress", "egress", "to"),
        Ingress => ("Ingress", "ingress", "from"),
    };
    policy(view, flow.name, flow.shown, Some(flow.pods), &[ty], |spec| {
        spec.seq(rules, |rules| {
            rules.map(|rule| {
                rule.seq(side, peers);
                rule.seq("ports", |items| {
                    for &(protocol, port) in flow.ports {
                        items.map(|p| {
                            p.str("protocol", protocol).int("port", i64::from(port));
                        });
                    }
                });
            });
        });
    })
}

/// A NetworkPolicy selecting the pods of `pods` (every pod when `None`), of `types`,
/// whose rules `rules` writes into its spec.
fn policy(
    view: &View,
    name: &str,
    flow: &str,
    pods: Option<&str>,
    types: &[&str],
    rules: impl FnOnce(&mut MapWriter),
) -> Object {
    let metadata = |m: &mut MapWriter| {
        m.map("labels", |labels| {
            labels.str("app.kubernetes.io/part-of", view.project).str("app.kubernetes.io/managed-by", "govc");
        })
        .map("annotations", |a| {
            a.str(FLOW_ANNOTATION, flow);
        });
    };
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            spec.map("podSelector", |selector| {
                if let Some(pods) = pods {
                    match_labels(selector, view, pods);
                }
            })
            .seq("policyTypes", |items| {
                for ty in types {
                    items.str(ty);
                }
            });
            rules(spec);
        });
    };
    Object::written("networking.k8s.io/v1", "NetworkPolicy", names::shorten(name, 253), metadata, spec)
}

/// `matchLabels:` selecting the pods of `name` ([`selector`]).
fn match_labels(m: &mut MapWriter, view: &View, name: &str) {
    m.map("matchLabels", |labels| {
        for (key, value) in names::pod_selector(view.project, name) {
            labels.str(key, &value);
        }
    });
}

/// A peer: the pods of `name`.
fn pods(peers: &mut SeqWriter, view: &View, name: &str) {
    peers.map(|peer| {
        peer.map("podSelector", |selector| match_labels(selector, view, name));
    });
}

/// A peer: the pods of the namespace `namespace`, and of those only the ones labelled
/// `pod_label` when given.
fn namespace(peers: &mut SeqWriter, namespace: &str, pod_label: Option<(&'static str, &str)>) {
    peers.map(|peer| {
        peer.map("namespaceSelector", |selector| {
            selector.map("matchLabels", |labels| {
                labels.str("kubernetes.io/metadata.name", namespace);
            });
        });
        if let Some((key, value)) = pod_label {
            peer.map("podSelector", |selector| {
                selector.map("matchLabels", |labels| {
                    labels.str(key, value);
                });
            });
        }
    });
}

/// Peers: one `ipBlock` per subnet.
fn blocks(peers: &mut SeqWriter, subnets: &[Ipv4Net]) {
    let mut cidr = String::with_capacity(18);
    for subnet in subnets {
        cidr.clear();
        crate::emit::push_cidr(&mut cidr, subnet);
        block(peers, &cidr);
    }
}

/// A peer: the addresses of `cidr`.
fn block(peers: &mut SeqWriter, cidr: &str) {
    peers.map(|peer| {
        peer.map("ipBlock", |b| {
            b.str("cidr", cidr);
        });
    });
}

/// A peer: any address outside `network` and the private ranges ([`internal_ranges`]).
fn outside(peers: &mut SeqWriter, network: Option<Ipv4Net>) {
    peers.map(|peer| {
        peer.map("ipBlock", |b| {
            b.str("cidr", "0.0.0.0/0").seq("except", |except| {
                for range in internal_ranges(network) {
                    except.str(&range);
                }
            });
        });
    });
}

fn default_deny(view: &View) -> Object {
    policy(view, "default-deny", "deny all", None, &["Ingress", "Egress"], |_| {})
}

fn dns(view: &View) -> Object {
    policy(view, "allow-dns", "* -> kube-dns:53", None, &["Egress"], |spec| {
        spec.seq("egress", |rules| {
            rules.map(|rule| {
                rule.seq("to", |to| namespace(to, "kube-system", Some(("k8s-app", "kube-dns")))).seq(
                    "ports",
                    |ports| {
                        for protocol in ["UDP", "TCP"] {
                            ports.map(|p| {
                                p.str("protocol", protocol).int("port", 53);
                            });
                        }
                    },
                );
            });
        });
    })
}

/// Egress on `from` and ingress on `to`, on `port`.
fn pod_to_pod(view: &View, from: &str, to: &str, port: u16, protocol: &str) -> Vec<Object> {
    let mut shown = String::with_capacity(from.len() + to.len() + 10);
    for part in [from, " -> ", to, ":"] {
        shown.push_str(part);
    }
    crate::emit::push_decimal(&mut shown, u64::from(port));
    let ports = [(protocol, port)];
    // Out of the caller to the callee's pods, into the callee from the caller's.
    [(Egress, "-egress", from, to), (Ingress, "-ingress", to, from)]
        .into_iter()
        .map(|(direction, suffix, selected, peer)| {
            let name = ["allow-", from, "-to-", to, suffix].concat();
            let flow = Flow { name: &name, shown: &shown, pods: selected, direction, ports: &ports };
            allow(view, flow, |peers| pods(peers, view, peer))
        })
        .collect()
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
    let Some(subnets) = view.resources.network(&pg.network).map(|n| &n.segment(SegmentRole::Persistence).subnets)
    else {
        return Vec::new();
    };
    if subnets.is_empty() {
        return Vec::new();
    }
    let mut port = String::new();
    crate::emit::push_decimal(&mut port, u64::from(pg.port));
    vec![allow(
        view,
        Flow {
            name: &["allow-", &svc.name, "-to-", &pg.name].concat(),
            shown: &[&svc.name, " -> ", &pg.name, ":", &port].concat(),
            pods: &svc.name,
            direction: Egress,
            ports: &[("TCP", pg.port)],
        },
        |to| blocks(to, subnets),
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
    let host: String =
        eg.host.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    let policy_name = format!("allow-{name}-egress-{}-{}", host.trim_matches('-'), eg.port);
    let shown = format!("{name} -> {}:{}", eg.host, eg.port);
    let flow = Flow { name: &policy_name, shown: &shown, pods: name, direction: Egress, ports: &[("TCP", eg.port)] };
    allow(view, flow, |to| match eg.host.parse::<Ipv4Addr>() {
        Ok(ip) => block(to, &format!("{ip}/32")),
        Err(_) => outside(to, view.resources.network(network).and_then(|n| n.cidr)),
    })
}

/// The environment's OpenTelemetry Collector: each service out to it on OTLP (gRPC and
/// HTTP), the collector in from exactly the environment's services on those ports, and
/// the collector out to each declared backend like a declared `egress` entry.
fn collector(view: &View, telemetry: &ir::Telemetry) -> Vec<Object> {
    let name = ir::Telemetry::COLLECTOR;
    let otlp = [("TCP", ir::Telemetry::OTLP_GRPC_PORT), ("TCP", ir::Telemetry::OTLP_HTTP_PORT)];
    let shown = format!("{name}:{},{}", otlp[0].1, otlp[1].1);
    let mut out = Vec::new();
    for svc in &view.resources.services {
        out.push(allow(
            view,
            Flow {
                name: &["allow-", &svc.name, "-to-", name, "-egress"].concat(),
                shown: &[&svc.name, " -> ", &shown].concat(),
                pods: &svc.name,
                direction: Egress,
                ports: &otlp,
            },
            |to| pods(to, view, name),
        ));
    }
    if !view.resources.services.is_empty() {
        out.push(allow(
            view,
            Flow {
                name: &["allow-services-to-", name, "-ingress"].concat(),
                shown: &["services -> ", &shown].concat(),
                pods: name,
                direction: Ingress,
                ports: &otlp,
            },
            |from| {
                for svc in &view.resources.services {
                    pods(from, view, &svc.name);
                }
            },
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
    let cidr = if view.is_local() {
        None
    } else {
        match view.resources.network(&ing.network).and_then(|n| n.segment(SegmentRole::Ingress).cidr) {
            Some(cidr) => Some(cidr.to_string()),
            None => return Vec::new(),
        }
    };
    let mut targets: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for r in &ing.routes {
        targets.entry(r.service.as_str()).or_default().insert(r.port);
    }
    targets
        .into_iter()
        .map(|(svc, route_ports)| {
            let ports: Vec<(&str, u16)> = route_ports.iter().map(|&p| ("TCP", p)).collect();
            let shown: Vec<String> = route_ports.iter().map(u16::to_string).collect();
            let flow = Flow {
                name: &["allow-ingress-to-", svc].concat(),
                shown: &["ingress -> ", svc, ":", &shown.join(",")].concat(),
                pods: svc,
                direction: Ingress,
                ports: &ports,
            };
            allow(view, flow, |from| match &cidr {
                Some(cidr) => block(from, cidr),
                None => namespace(from, "ingress-nginx", None),
            })
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
