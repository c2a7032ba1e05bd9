//! `firewall.tf.json`: the AWS Network Firewall that enforces declared egress by host,
//! emitted only when a service of the environment declares `egress` or its `telemetry`
//! exports to a backend (the collector's egress; the others pay nothing and their files
//! do not change).
//!
//! The path out is runtime → NAT gateway (ingress segment) → firewall endpoint of the
//! zone → internet gateway, and back the same way (routing is [`super::network`]'s). The
//! NAT hides which pod sent a packet, so the firewall enforces the environment's union
//! of egress entries; per-service narrowing is the NetworkPolicy's job.
//!
//! One STATEFUL rule group in STRICT_ORDER, Suricata rules ([`rules`]):
//! - a hostname entry `host:port` is two pass rules, `tls` matching the TLS SNI and
//!   `http` matching the HTTP `Host` header, both exactly `host` (lowercased, anchored
//!   with `startswith; endswith`) and only on destination port `port`;
//! - an address entry `a.b.c.d:port` is one `tcp` pass rule to exactly that address and
//!   port;
//! - with a public ingress, HTTPS from anywhere to the ingress subnets is passed: the
//!   load balancer shares the ingress subnets with the NAT, so its traffic crosses the
//!   firewall too;
//! - then drops: TCP from the VPC to any undeclared port (from the first SYN), and all
//!   UDP and ICMP from the VPC (a NAT gateway forwards nothing else).
//!
//! Sources are `$HOME_NET`, set to the VPC CIDR (after the NAT, egress comes from the NAT
//! gateways' private addresses); destinations are `any` rather than `$EXTERNAL_NET`, since
//! only traffic that leaves the VPC crosses the firewall.
//!
//! Suricata rules rather than a `rules_source_list` domain list: a domain list matches a
//! host on every port, so `api.stripe.com:443` plus `10.9.8.7:5432` would also allow
//! `api.stripe.com:5432`; these rules allow exactly the declared (host, port) pairs. The
//! policy's stateful default is `aws:drop_established` + `aws:alert_established`: the TCP
//! handshake may pass (the host is only known from the TLS ClientHello or the HTTP
//! request), every established packet that no pass rule matched is dropped and logged, so
//! plain TCP, or TLS naming another host, to a declared port is dropped too. Stateless
//! traffic, fragments included, is forwarded to the stateful engine.
//!
//! Firewall, policy and rule group are encrypted with their own customer-managed KMS key;
//! the firewall has deletion protection; ALERT and FLOW logs go to two CloudWatch log
//! groups encrypted with the `logs` key and kept [`super::network::LOG_RETENTION_DAYS`].
//! The per-zone endpoint ids are `local.firewall_endpoints`, keyed by availability zone,
//! read from `firewall_status[0].sync_states`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use super::json::Value;

use super::iam;
use super::json::{lit, lits, obj, reference, reference_of, tags, TfFile};
use super::network::LOG_RETENTION_DAYS;
use super::{zone_letter, Ctx};
use crate::carve;
use crate::ir::SegmentRole;

/// The Terraform expression of the firewall endpoint (a VPC endpoint id) of zone `i`.
pub fn endpoint(ctx: &Ctx<'_>, i: usize) -> String {
    format!("local.firewall_endpoints[\"{}\"]", ctx.zone(i))
}

/// Whether the environment gets a Network Firewall: some service declares `egress`, or
/// the collector exports to a backend.
pub fn needed(ctx: &Ctx<'_>) -> bool {
    ctx.has_egress()
}

/// The firewall subnets, one per zone ([`carve::firewall_subnets`]).
pub fn subnets(ctx: &Ctx<'_>) -> Result<Vec<ipnet::Ipv4Net>, String> {
    let zones = ctx.network.segment(SegmentRole::Ingress).subnets.len();
    let zones = u8::try_from(zones).map_err(|_| format!("environment `{}` has too many zones", ctx.env.name))?;
    carve::firewall_subnets(ctx.cidr, zones).ok_or_else(|| {
        format!("network `{}` of environment `{}` has no room for the firewall subnets", ctx.network.name, ctx.env.name)
    })
}

/// The Terraform name of the firewall subnet of zone `i`: `firewall_a`.
pub fn subnet(i: usize) -> String {
    format!("firewall_{}", zone_letter(i))
}

/// One declared egress destination, with the services that declare it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Destination {
    /// A DNS name, lowercased, or an IPv4 address.
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// The address, when the host is one.
    pub fn address(&self) -> Option<Ipv4Addr> {
        self.host.parse().ok()
    }
}

/// Every declared egress destination of the environment, with the services declaring it.
pub fn destinations<'a>(ctx: &Ctx<'a>) -> BTreeMap<Destination, BTreeSet<&'a str>> {
    let mut out: BTreeMap<Destination, BTreeSet<&'a str>> = BTreeMap::new();
    for svc in &ctx.env.resources.services {
        for e in &svc.egress {
            let dest = Destination { host: e.host.to_ascii_lowercase(), port: e.port };
            out.entry(dest).or_default().insert(&svc.name);
        }
    }
    // The collector's backends are its egress.
    for e in ctx.env.telemetry.iter().flat_map(|t| t.destinations()) {
        let dest = Destination { host: e.host.to_ascii_lowercase(), port: e.port };
        out.entry(dest).or_default().insert(crate::ir::Telemetry::COLLECTOR);
    }
    out
}

/// The Suricata rules of the rule group (see the module doc), one per line.
pub fn rules(ctx: &Ctx<'_>) -> Result<String, String> {
    let mut lines = Vec::new();
    let mut sid = 0u32;
    let mut rule = |head: String, options: &str, msg: &str| {
        sid += 1;
        lines.push(format!("{head} ({options}msg:\"{msg}\"; sid:{sid}; rev:1;)"));
    };
    let dests = destinations(ctx);
    for (dest, services) in &dests {
        if !dest.host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') {
            return Err(format!("egress host `{}` cannot be written in a firewall rule", dest.host));
        }
        let by: Vec<&str> = services.iter().copied().collect();
        let msg = format!("egress {}:{} declared by {}", dest.host, dest.port, by.join(" "));
        let (host, port) = (&dest.host, dest.port);
        match dest.address() {
            Some(addr) => rule(format!("pass tcp $HOME_NET any -> {addr} {port}"), "flow:to_server; ", &msg),
            None => {
                let tls =
                    format!("tls.sni; content:\"{host}\"; nocase; startswith; endswith; flow:to_server, established; ");
                rule(format!("pass tls $HOME_NET any -> any {port}"), &tls, &msg);
                let http =
                    format!("http.host; content:\"{host}\"; startswith; endswith; flow:to_server, established; ");
                rule(format!("pass http $HOME_NET any -> any {port}"), &http, &msg);
            }
        }
    }
    if ctx.public_ingress() {
        rule("pass tcp any any -> $INGRESS_NET 443".into(), "flow:to_server; ", "HTTPS to the public load balancer");
    }
    let ports: BTreeSet<u16> = dests.keys().map(|d| d.port).collect();
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    let undeclared = match ports.as_slice() {
        [one] => format!("!{one}"),
        many => format!("![{}]", many.join(",")),
    };
    rule(format!("drop tcp $HOME_NET any -> any {undeclared}"), "flow:to_server; ", "egress to an undeclared port");
    rule("drop udp $HOME_NET any -> any any".into(), "", "UDP egress");
    rule("drop icmp $HOME_NET any -> any any".into(), "", "ICMP egress");
    Ok(lines.join("\n"))
}

/// The rule group's capacity: fixed at creation, so rounded up generously (each of these
/// rules costs one unit).
fn capacity(rules: &str) -> usize {
    (rules.lines().count() * 2).div_ceil(1000).max(1) * 1000
}

/// Renders `firewall.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header(
        "AWS Network Firewall: the declared egress hosts and ports, nothing else (see govc's Terraform emitter docs).",
    ));
    iam::kms_key(&mut file, ctx, "firewall", "firewall", "AWS Network Firewall (firewall, policy, rule group)", &[]);
    let kms =
        || Value::Array(vec![obj([("key_id", reference("aws_kms_key.firewall.arn")), ("type", lit("CUSTOMER_KMS"))])]);

    let rules = rules(ctx)?;
    let mut ip_sets = vec![ip_set("HOME_NET", vec![ctx.cidr.to_string()])];
    if ctx.public_ingress() {
        let ingress = ctx.network.segment(SegmentRole::Ingress).subnets.iter().map(ToString::to_string).collect();
        ip_sets.push(ip_set("INGRESS_NET", ingress));
    }
    let group_name = ctx.name("egress", 128);
    file.resource(
        "aws_networkfirewall_rule_group",
        "egress",
        obj([
            ("capacity", Value::from(capacity(&rules))),
            ("description", lit("Declared egress (TLS SNI, HTTP Host, addresses) on declared ports; drop the rest")),
            ("encryption_configuration", kms()),
            ("name", lit(&group_name)),
            (
                "rule_group",
                Value::Array(vec![obj([
                    ("rule_variables", Value::Array(vec![obj([("ip_sets", Value::Array(ip_sets))])])),
                    ("rules_source", Value::Array(vec![obj([("rules_string", lit(&rules))])])),
                    ("stateful_rule_options", Value::Array(vec![obj([("rule_order", lit("STRICT_ORDER"))])])),
                ])]),
            ),
            ("tags", tags(&group_name, &[])),
            ("type", lit("STATEFUL")),
        ]),
    );

    let policy_name = ctx.name("egress-policy", 128);
    let policy = obj([
        ("stateful_default_actions", lits(["aws:drop_established", "aws:alert_established"])),
        (
            "stateful_engine_options",
            Value::Array(vec![obj([("rule_order", lit("STRICT_ORDER")), ("stream_exception_policy", lit("DROP"))])]),
        ),
        (
            "stateful_rule_group_reference",
            Value::Array(vec![obj([
                ("priority", Value::from(1)),
                ("resource_arn", reference("aws_networkfirewall_rule_group.egress.arn")),
            ])]),
        ),
        ("stateless_default_actions", lits(["aws:forward_to_sfe"])),
        ("stateless_fragment_default_actions", lits(["aws:forward_to_sfe"])),
    ]);
    file.resource(
        "aws_networkfirewall_firewall_policy",
        "egress",
        obj([
            ("description", lit("Stateless traffic to the stateful engine; strict order; drop what no rule passes")),
            ("encryption_configuration", kms()),
            ("firewall_policy", Value::Array(vec![policy])),
            ("name", lit(&policy_name)),
            ("tags", tags(&policy_name, &[])),
        ]),
    );

    let zones = subnets(ctx)?.len();
    let mappings = (0..zones).map(|i| obj([("subnet_id", reference(format!("aws_subnet.{}.id", subnet(i))))]));
    let name = ctx.name("egress", 128);
    file.resource(
        "aws_networkfirewall_firewall",
        "egress",
        obj([
            ("delete_protection", Value::Bool(true)),
            ("description", lit("Egress allowlist: runtime -> NAT -> this firewall -> internet gateway")),
            ("encryption_configuration", kms()),
            ("firewall_policy_arn", reference("aws_networkfirewall_firewall_policy.egress.arn")),
            ("name", lit(&name)),
            ("subnet_mapping", Value::Array(mappings.collect())),
            ("tags", tags(&name, &[])),
            ("vpc_id", reference("aws_vpc.main.id")),
        ]),
    );
    file.top(
        "locals",
        obj([(
            "firewall_endpoints",
            Value::String(
                "${ {for s in aws_networkfirewall_firewall.egress.firewall_status[0].sync_states : \
                 s.availability_zone => s.attachment[0].endpoint_id} }"
                    .to_string(),
            ),
        )]),
    );

    let mut destinations = Vec::new();
    for kind in ["alert", "flow"] {
        let group = format!("firewall_{kind}");
        let log_name = format!("/govc/{}/network-firewall/{kind}", ctx.prefix);
        file.resource(
            "aws_cloudwatch_log_group",
            &group,
            obj([
                ("kms_key_id", reference("aws_kms_key.logs.arn")),
                ("name", lit(&log_name)),
                ("retention_in_days", Value::from(LOG_RETENTION_DAYS)),
                ("tags", tags(&log_name, &[])),
            ]),
        );
        destinations.push(obj([
            ("log_destination", obj([("logGroup", reference_of(&["aws_cloudwatch_log_group.", &group, ".name"]))])),
            ("log_destination_type", lit("CloudWatchLogs")),
            ("log_type", lit(kind.to_ascii_uppercase())),
        ]));
    }
    file.resource(
        "aws_networkfirewall_logging_configuration",
        "egress",
        obj([
            ("firewall_arn", reference("aws_networkfirewall_firewall.egress.arn")),
            (
                "logging_configuration",
                Value::Array(vec![obj([("log_destination_config", Value::Array(destinations))])]),
            ),
        ]),
    );
    Ok(file)
}

fn ip_set(key: &str, definition: Vec<String>) -> Value {
    obj([("ip_set", Value::Array(vec![obj([("definition", lits(definition))])])), ("key", lit(key))])
}

/// The firewall subnets' resources for `network.tf.json`: one subnet per zone.
pub fn subnet_resources(file: &mut TfFile, ctx: &Ctx<'_>) -> Result<(), String> {
    for (i, cidr) in subnets(ctx)?.iter().enumerate() {
        let name = ctx.name(&format!("firewall-{}", zone_letter(i)), 255);
        file.resource(
            "aws_subnet",
            &subnet(i),
            obj([
                ("availability_zone", lit(ctx.zone(i))),
                ("cidr_block", lit(cidr.to_string())),
                ("map_public_ip_on_launch", Value::Bool(false)),
                ("tags", tags(&name, &[])),
                ("vpc_id", reference("aws_vpc.main.id")),
            ]),
        );
    }
    Ok(())
}

/// The routing of the firewall path for `network.tf.json` (see the module doc of
/// [`super::network`]): per-zone ingress tables to the zone's endpoint, the firewall
/// subnets' table to the internet gateway, and the internet gateway's edge table sending
/// each ingress subnet's return traffic back through the endpoint of its zone.
pub fn routes(file: &mut TfFile, ctx: &Ctx<'_>) -> Result<(), String> {
    let zones = subnets(ctx)?.len();
    let mut route = |ident: &str, table: &str, destination: String, key: &'static str, target: String| {
        file.resource(
            "aws_route",
            ident,
            obj([
                ("destination_cidr_block", lit(destination)),
                (key, reference(target)),
                ("route_table_id", reference_of(&["aws_route_table.", table, ".id"])),
            ]),
        );
    };
    route("firewall_default", "firewall", "0.0.0.0/0".into(), "gateway_id", "aws_internet_gateway.main.id".into());
    let ingress = &ctx.network.segment(SegmentRole::Ingress).subnets;
    for (i, cidr) in ingress.iter().enumerate() {
        let letter = zone_letter(i);
        let zone = i.min(zones - 1);
        route(
            &format!("ingress_{letter}_default"),
            &format!("ingress_{letter}"),
            "0.0.0.0/0".into(),
            "vpc_endpoint_id",
            endpoint(ctx, zone),
        );
        route(&format!("edge_ingress_{letter}"), "edge", cidr.to_string(), "vpc_endpoint_id", endpoint(ctx, zone));
    }
    file.resource(
        "aws_route_table_association",
        "edge",
        obj([
            ("gateway_id", reference("aws_internet_gateway.main.id")),
            ("route_table_id", reference("aws_route_table.edge.id")),
        ]),
    );
    for i in 0..zones {
        file.resource(
            "aws_route_table_association",
            &subnet(i),
            obj([
                ("route_table_id", reference("aws_route_table.firewall.id")),
                ("subnet_id", reference(format!("aws_subnet.{}.id", subnet(i)))),
            ]),
        );
    }
    Ok(())
}
