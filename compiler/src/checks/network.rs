//! Network boundaries (E401–E406): one ingress, private by default, flows only
//! ingress → runtime → persistence (an ingress routes only to HTTP and gRPC services,
//! E419; `health` is for HTTP services only, W609), CIDRs that nest and do not overlap, segments
//! large enough for their zones, well-formed egress.

use foldhash::{HashMap, HashMapExt};

use ipnet::Ipv4Net;

use crate::carve;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::SegmentRole;
use crate::model::body::RouteVal;
use crate::model::values::Val;
use crate::model::{report_once, EdgeKind, Environment, Model, Resource};
use crate::source::Span;

pub fn run(model: &Model, sink: &mut Diagnostics) {
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        one_ingress(env, &mut local);
        flows(env, &mut local);
        let firewall = needs_firewall(env);
        for (_, net) in env.of_kind("network") {
            public_segment(net, &mut local);
            addressing(net, firewall.as_ref(), &mut local);
        }
        networks_overlap(env, &mut local);
        for (_, svc) in env.of_kind("service") {
            egress(svc, &mut local);
            ignored_health(svc, &mut local);
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
}

/// E401: more than one ingress in an environment.
fn one_ingress(env: &Environment, sink: &mut Diagnostics) {
    let ingresses: Vec<&Resource> = env.of_kind("ingress").map(|(_, r)| r).collect();
    let Some((first, rest)) = ingresses.split_first() else { return };
    for extra in rest {
        sink.push(
            Diagnostic::new(
                Code::E401,
                extra.head(),
                format!("environment `{}` has a second ingress `{}`", env.name, extra.name),
                "second ingress",
            )
            .with_label(first.head(), format!("the ingress `{}`", first.name))
            .with_note("all external traffic enters an environment through a single, controlled boundary")
            .with_help(format!("add the routes of `{}` to `{}` and remove it", extra.name, first.name)),
        );
    }
}

/// E402: a segment other than ingress marked public.
fn public_segment(net: &Resource, sink: &mut Diagnostics) {
    for role in [SegmentRole::Runtime, SegmentRole::Persistence] {
        let Some(block) = net.body.block(role.as_str()) else { continue };
        let Some(f) = block.body.field("exposure") else { continue };
        if f.value == Val::Enum("public".into()) {
            sink.push(
                Diagnostic::new(
                    Code::E402,
                    f.value_span,
                    format!("the {} segment of network `{}` is public", role.as_str(), net.name),
                    "only ingress may be public",
                )
                .with_note("everything is private by default; only the single entry point faces the outside")
                .with_help("remove `exposure = public` (segments are private by default)"),
            );
        }
    }
}

/// E403: flows that skip or reverse ingress → runtime → persistence.
fn flows(env: &Environment, sink: &mut Diagnostics) {
    for res in &env.resources {
        // An ingress of a fleet has thousands of routes, each checked once: by path
        // through a map (the first of a path, like the lowering keeps), never a scan.
        let mut routes: HashMap<&str, &RouteVal> = HashMap::with_capacity(res.body.routes.len());
        for route in &res.body.routes {
            routes.entry(route.path.as_str()).or_insert(route);
        }
        for edge in &res.edges {
            let target = &env.resources[edge.target];
            match (&edge.kind, res.kind.as_str(), target.kind.as_str()) {
                (EdgeKind::Route { path }, _, "postgres" | "secret" | "ingress" | "bucket") => sink.push(
                    Diagnostic::new(
                        Code::E403,
                        edge.span,
                        format!("route `{path}` goes from ingress `{}` to {} `{}`", res.name, target.kind, target.name),
                        format!("a {}, not a service", target.kind),
                    )
                    .with_note("traffic flows only ingress → runtime → persistence: an ingress routes to services")
                    .with_help("route to the service that serves this path; it may `connect` to the database"),
                ),
                (EdgeKind::Route { path }, _, "service") => {
                    if let Some(route) = routes.get(path.as_str()) {
                        route_port(env, route, path, target, sink);
                    }
                    if protocol(target) == "tcp" {
                        let mut d = Diagnostic::new(
                            Code::E419,
                            edge.span,
                            format!("route `{path}` goes from ingress `{}` to `tcp` service `{}`", res.name, target.name),
                            "a service that does not speak HTTP",
                        );
                        if let Some(f) = target.body.field("protocol") {
                            d = d.with_label(f.value_span, "declared here");
                        }
                        sink.push(
                            d.with_note("the ingress is an HTTP(S) load balancer: it forwards HTTP and gRPC requests by path, never raw TCP")
                                .with_help(format!(
                                    "remove the route (services reach `{}` with `connects`), or serve HTTP or gRPC and set `protocol` to match",
                                    target.name
                                )),
                        );
                    }
                }
                (EdgeKind::Connects, _, "ingress" | "secret") => sink.push(
                    Diagnostic::new(
                        Code::E403,
                        edge.span,
                        format!("{} `{}` connects to {} `{}`", res.kind, res.name, target.kind, target.name),
                        format!("a {}", target.kind),
                    )
                    .with_note(if target.kind == "secret" {
                        "secrets are not reached over the network: they reach a service as `env` entries from the secret store"
                    } else {
                        "traffic flows only ingress → runtime → persistence: nothing connects back to the ingress"
                    })
                    .with_help(if target.kind == "secret" {
                        format!("remove `{}` from `connects` and add `env {{ NAME = {} }}`", target.name, target.name)
                    } else {
                        format!("remove `{}` from `connects`", target.name)
                    }),
                ),
                _ => {}
            }
        }
    }
}

/// A service's `protocol`: `http` unless it says otherwise.
fn protocol(service: &Resource) -> &str {
    match service.body.value("protocol") {
        Some(Val::Enum(p)) => p,
        _ => "http",
    }
}

/// W609: `health` on a service that is not probed over HTTP, where it would be ignored.
fn ignored_health(svc: &Resource, sink: &mut Diagnostics) {
    let protocol = protocol(svc);
    let (Some(health), "grpc" | "tcp") = (svc.body.field("health"), protocol) else { return };
    let how = if protocol == "grpc" { "with the gRPC health checking protocol" } else { "by opening a TCP connection" };
    let mut d = Diagnostic::new(
        Code::W609,
        health.span,
        format!("service `{}` speaks `{protocol}`: its `health` path would be ignored", svc.name),
        "an HTTP path",
    );
    if let Some(f) = svc.body.field("protocol") {
        d = d.with_label(f.value_span, format!("probed {how}"));
    }
    sink.push(
        d.with_note(format!("a `{protocol}` service is probed {how}; only `protocol = http` uses `health`"))
            .with_help("remove `health`, or set `protocol = http` if the service answers HTTP on its port"),
    );
}

fn route_port(env: &Environment, route: &RouteVal, path: &str, service: &Resource, sink: &mut Diagnostics) {
    let Some((port, span)) = route.port else { return };
    let Some(Val::Int(exposed)) = service.body.value("port") else { return };
    if port != *exposed {
        let mut d = Diagnostic::new(
            Code::E403,
            span,
            format!("route `{path}` targets port {port}, but service `{}` listens on {exposed}", service.name),
            format!("not a port of `{}`", service.name),
        );
        if let Some(f) = service.body.field("port") {
            if env.owns(f.span) || !env.owns(span) {
                d = d.with_label(f.span, "the service's port");
            }
        }
        sink.push(d.with_help(format!("write `-> {}` or `-> {}:{exposed}`", service.name, service.name)));
    }
}

fn cidr_of(res: &Resource) -> Option<(Ipv4Net, Span)> {
    let f = res.body.field("cidr")?;
    match f.value {
        Val::Cidr(c) => Some((c, f.value_span)),
        _ => None,
    }
}

fn zones_of(res: &Resource) -> u8 {
    match res.body.value("zones") {
        Some(Val::Int(n)) => (*n).clamp(1, 6) as u8,
        _ => 2,
    }
}

/// Why a cloud environment gets an AWS Network Firewall, whose subnets are carved from
/// the spare block ([`carve::firewall_subnets`]): the first service that declares
/// `egress`, or else a `telemetry` block with a backend (the collector's egress).
/// `(what to point at, why)`.
fn needs_firewall(env: &Environment) -> Option<(Span, String, &'static str)> {
    if env.tier.is_none_or(|t| t == crate::ir::Tier::Local) {
        return None;
    }
    let svc = env
        .of_kind("service")
        .map(|(_, r)| r)
        .find(|svc| matches!(svc.body.value("egress"), Some(Val::Strings(items)) if !items.is_empty()));
    if let Some(svc) = svc {
        let why = format!("service `{}` declares `egress`, so the environment gets a Network Firewall", svc.name);
        return Some((svc.head(), why, "declares egress"));
    }
    let telemetry = env.body.block("telemetry")?;
    telemetry.body.fields.iter().any(|f| matches!(f.value, Val::Str(_))).then(|| {
        let why = "the environment's `telemetry` exports to backends, so it gets a Network Firewall".to_string();
        (telemetry.head, why, "exports telemetry")
    })
}

/// E404 and E405 within one network: segments inside the network, not overlapping,
/// and large enough for a subnet per zone; with `firewall` (a service that declares
/// egress), clear of the firewall subnets.
fn addressing(net: &Resource, firewall: Option<&(Span, String, &'static str)>, sink: &mut Diagnostics) {
    let network = cidr_of(net);
    let zones = zones_of(net);
    let mut segments: Vec<(SegmentRole, Ipv4Net, Span, bool)> = Vec::new();
    for (i, role) in SegmentRole::ALL.iter().enumerate() {
        let written = net.body.block(role.as_str()).and_then(|b| {
            let f = b.body.field("cidr")?;
            match f.value {
                Val::Cidr(c) => Some((c, f.value_span)),
                _ => None,
            }
        });
        match (written, network) {
            (Some((cidr, span)), Some((outer, outer_span))) if !outer.contains(&cidr) => {
                sink.push(
                    Diagnostic::new(
                        Code::E404,
                        span,
                        format!("the {} segment `{cidr}` is outside network `{}` (`{outer}`)", role.as_str(), net.name),
                        "outside the network",
                    )
                    .with_label(outer_span, "the network's CIDR")
                    .with_help(format!("pick a block inside `{outer}`, or leave `cidr` out to carve one")),
                );
            }
            (Some((cidr, span)), _) => segments.push((*role, cidr, span, true)),
            (None, Some((outer, outer_span))) => match carve::segment_block(outer, i) {
                Some(cidr) => segments.push((*role, cidr, outer_span, false)),
                None => {
                    sink.push(
                        Diagnostic::new(Code::E405, outer_span, format!("network `{}` (`{outer}`) is too small to carve its segments", net.name), "too small")
                            .with_note("unwritten segment CIDRs are carved as quarters of the network: ingress, runtime, persistence, spare")
                            .with_help("use a larger network (a /22 or larger leaves room for several zones)"),
                    );
                    return;
                }
            },
            (None, None) => {}
        }
    }
    for (n, (role, cidr, span, written)) in segments.iter().enumerate() {
        for (other_role, other, other_span, _) in &segments[..n] {
            if cidr.contains(&other.network()) || other.contains(&cidr.network()) {
                let d = Diagnostic::new(
                    Code::E404,
                    *span,
                    format!(
                        "the {} segment `{cidr}` overlaps the {} segment `{other}`",
                        role.as_str(),
                        other_role.as_str()
                    ),
                    "overlapping segment",
                );
                let d = if other_span != span {
                    d.with_label(*other_span, format!("the {} segment", other_role.as_str()))
                } else {
                    d
                };
                sink.push(d.with_help("give each segment its own block of the network"));
            }
        }
        if carve::zone_subnets(*cidr, zones).is_none() {
            let bits = carve::zone_bits(zones);
            let what = if *written { "" } else { " (carved)" };
            sink.push(
                Diagnostic::new(
                    Code::E405,
                    *span,
                    format!("the {} segment `{cidr}`{what} is too small for {zones} zones", role.as_str()),
                    "too small for its zones",
                )
                .with_note(format!(
                    "each zone needs its own subnet: {zones} zones split a segment into {} parts, here /{}, and the smallest subnet is /{}",
                    1u32 << bits,
                    cidr.prefix_len() + bits,
                    carve::MIN_SUBNET_PREFIX
                ))
                .with_help(format!("use a /{} or larger segment, or fewer zones", carve::MIN_SUBNET_PREFIX - bits)),
            );
        }
    }
    if let (Some(svc), Some((outer, _))) = (firewall, network) {
        // A segment too small for its zones is already E405; so would the spare block be.
        if segments.iter().all(|(_, cidr, ..)| carve::zone_subnets(*cidr, zones).is_some()) {
            firewall_room(svc, outer, zones, &segments, sink);
        }
    }
}

/// E404 for the Network Firewall subnets (the first `zones` /28s of the spare block,
/// [`carve::firewall_subnets`]): a written segment must leave them free.
fn firewall_room(
    (cause, why, label): &(Span, String, &'static str),
    outer: Ipv4Net,
    zones: u8,
    segments: &[(SegmentRole, Ipv4Net, Span, bool)],
    sink: &mut Diagnostics,
) {
    let spare = carve::segment_block(outer, carve::SPARE_BLOCK).map_or_else(String::new, |b| b.to_string());
    // Three disjoint segments that fit their zones leave a spare quarter at least as large
    // as the smallest of them, so `None` here always comes with an E404 or E405 already.
    let Some(subnets) = carve::firewall_subnets(outer, zones) else { return };
    for (role, cidr, span, _) in segments.iter().filter(|s| s.3) {
        let Some(hit) = subnets.iter().find(|s| cidr.contains(&s.network()) || s.contains(&cidr.network())) else {
            continue;
        };
        sink.push(
            Diagnostic::new(
                Code::E404,
                *span,
                format!("the {} segment `{cidr}` overlaps the firewall subnet `{hit}`", role.as_str()),
                "overlaps the firewall subnets",
            )
            .with_label(*cause, *label)
            .with_note(format!("{why}: its subnets are the first /28s of the network's spare quarter `{spare}`"))
            .with_help(format!("leave `{spare}` free: write a segment block outside it")),
        );
    }
}

/// E404: networks of one environment overlapping.
fn networks_overlap(env: &Environment, sink: &mut Diagnostics) {
    let nets: Vec<(&Resource, Ipv4Net, Span)> =
        env.of_kind("network").filter_map(|(_, r)| cidr_of(r).map(|(c, s)| (r, c, s))).collect();
    for (n, (net, cidr, span)) in nets.iter().enumerate() {
        for (other, other_cidr, other_span) in &nets[..n] {
            if cidr.contains(&other_cidr.network()) || other_cidr.contains(&cidr.network()) {
                sink.push(
                    Diagnostic::new(
                        Code::E404,
                        *span,
                        format!("network `{}` (`{cidr}`) overlaps network `{}` (`{other_cidr}`)", net.name, other.name),
                        "overlapping network",
                    )
                    .with_label(*other_span, format!("network `{}`", other.name))
                    .with_help("give each network of an environment its own address space"),
                );
            }
        }
    }
}

/// E407 (only when building): the Terraform backend emits one VPC per cloud environment.
pub fn one_network_to_build(model: &Model, sink: &mut Diagnostics) {
    for env in model.environments.iter().filter(|e| e.tier.is_some_and(|t| t != crate::ir::Tier::Local)) {
        let nets: Vec<&Resource> = env.of_kind("network").map(|(_, r)| r).collect();
        let Some((first, rest)) = nets.split_first() else { continue };
        for extra in rest {
            sink.push(
                Diagnostic::new(
                    Code::E407,
                    extra.head(),
                    format!(
                        "environment `{}` has a second network `{}`; one network per cloud environment can be built",
                        env.name, extra.name
                    ),
                    "second network",
                )
                .with_label(first.head(), format!("network `{}`", first.name))
                .with_note("each network becomes a VPC; the Terraform backend emits one per environment")
                .with_help(format!(
                    "keep one network in environment `{}` and separate traffic with its segments",
                    env.name
                )),
            );
        }
    }
}

/// E406: an egress entry that is not `host:port`.
fn egress(svc: &Resource, sink: &mut Diagnostics) {
    let Some(Val::Strings(entries)) = svc.body.value("egress") else { return };
    for (entry, span) in entries {
        match parse_egress(entry) {
            Err(why) => sink.push(
                Diagnostic::new(Code::E406, *span, format!("malformed egress entry `{entry}`"), why)
                    .with_note("egress is deny-by-default and allowlist-driven: each entry names one host and one port")
                    .with_help("write `\"host.example.com:443\"` or `\"203.0.113.10:443\"`"),
            ),
            Ok((host, _)) => {
                if let Some(what) = not_public(host) {
                    sink.push(
                        Diagnostic::new(
                            Code::E408,
                            *span,
                            format!("egress entry `{entry}` leaves for {what}, not the public internet"),
                            "not a public destination",
                        )
                        .with_note("egress opens a path out of the VPC; what is inside is reached with `connects`")
                        .with_help("name a public host (`\"api.example.com:443\"`) or use `connects` for a resource of the project"),
                    );
                }
            }
        }
    }
}

/// Why `host` (an egress entry's host, already well formed) is not on the public
/// internet, or `None` when it is: unspecified, loopback, link-local (the instance
/// metadata service), private (RFC 1918), shared (CGNAT), multicast, reserved and
/// broadcast addresses; `localhost` and the project's own internal names.
pub fn not_public(host: &str) -> Option<&'static str> {
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        let [a, b, ..] = ip.octets();
        return match () {
            _ if a == 0 => Some("an unspecified address"),
            _ if ip.is_loopback() => Some("a loopback address"),
            _ if ip.is_link_local() => Some("a link-local address (169.254.169.254 is the instance metadata service)"),
            _ if ip.is_private() => Some("a private address (RFC 1918)"),
            _ if a == 100 && (64..128).contains(&b) => Some("a shared address (CGNAT, RFC 6598)"),
            _ if ip.is_multicast() => Some("a multicast address"),
            _ if ip.is_broadcast() || a >= 240 => Some("a reserved address"),
            _ => None,
        };
    }
    let host = host.to_ascii_lowercase();
    let internal = |suffix: &str| host == suffix || host.ends_with(&format!(".{suffix}"));
    if internal("localhost") {
        Some("the local machine")
    } else if internal("internal") {
        Some("a private DNS name (`*.internal`)")
    } else if internal("cluster.local") {
        Some("a name inside the Kubernetes cluster (`*.cluster.local`)")
    } else {
        None
    }
}

/// Parses `host:port`, where host is a DNS name or one IPv4 address.
pub fn parse_egress(entry: &str) -> Result<(&str, u16), &'static str> {
    if entry.contains('*') {
        return Err("wildcards are refused");
    }
    if entry.contains('/') {
        return Err("CIDR blocks are refused");
    }
    let (host, port) = entry.rsplit_once(':').ok_or("no `:port`")?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or("port must be 1..65535")?;
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok((host, port));
    }
    let labels_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && !host.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if labels_ok {
        Ok((host, port))
    } else {
        Err("host must be a DNS name or an IPv4 address")
    }
}

#[cfg(test)]
mod tests {
    use super::parse_egress;

    #[test]
    fn egress_entries() {
        assert_eq!(parse_egress("api.stripe.com:443"), Ok(("api.stripe.com", 443)));
        assert_eq!(parse_egress("203.0.113.10:8443"), Ok(("203.0.113.10", 8443)));
        assert!(parse_egress("0.0.0.0/0:443").is_err());
        assert!(parse_egress("*:443").is_err());
        assert!(parse_egress("api.stripe.com").is_err());
        assert!(parse_egress("api.stripe.com:0").is_err());
        assert!(parse_egress("api.stripe.com:70000").is_err());
        assert!(parse_egress("999.1.1.1:80").is_err());
        assert!(parse_egress("bad_host:80").is_err());
    }

    #[test]
    fn public_destinations() {
        use super::not_public;
        for host in
            ["api.stripe.com", "52.95.110.1", "203.0.113.7", "100.128.0.1", "172.32.0.1", "internal.example.com"]
        {
            assert_eq!(not_public(host), None, "{host}");
        }
        for host in [
            "0.0.0.0",
            "127.0.0.1",
            "169.254.169.254",
            "10.0.0.5",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "localhost",
            "db.internal",
            "main.production.p.internal",
            "API.svc.cluster.local",
        ] {
            assert!(not_public(host).is_some(), "{host}");
        }
    }
}
