//! Reads emitted Terraform back and proves that the egress path enforces exactly the
//! program's egress entries (used by the tests on `envs/`, the examples and fleet-N).
//!
//! [`verify`] checks, for every cloud environment:
//! - the (host, port) pairs passed by the firewall's rule group equal the union of the
//!   environment's egress entries, nothing more, nothing less; every other pass rule is an
//!   error except HTTPS to the public ingress; the drops come last in strict order, and the
//!   policy drops what no rule passed;
//! - routing: runtime tables default to a NAT gateway; every ingress (NAT) subnet's table
//!   defaults to the firewall endpoint of its own zone; the internet gateway's edge table
//!   sends each ingress subnet's CIDR back through that same endpoint; only the firewall
//!   subnets' table routes to the internet gateway; persistence has no route at all;
//! - an environment without egress has no firewall, no NAT and no way out of the runtime.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::ir;

/// What [`verify`] found in one environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvReport {
    /// The (host, port) pairs that the firewall passes (empty without a firewall).
    pub allowed: BTreeSet<(String, u16)>,
    /// The Suricata rules of the rule group.
    pub rules: usize,
    /// Routes checked.
    pub routes: usize,
}

/// The declared egress of an environment, its services' and its collector's (the
/// `telemetry` backends): (lowercased host, port).
pub fn declared(env: &ir::Environment) -> BTreeSet<(String, u16)> {
    let services = env.resources.services.iter().flat_map(|s| &s.egress);
    let collector = env.telemetry.iter().flat_map(|t| t.destinations());
    services.chain(collector).map(|e| (e.host.to_ascii_lowercase(), e.port)).collect()
}

/// Verifies every cloud environment of `program` against its emitted `files`.
pub fn verify(program: &ir::Program, files: &BTreeMap<String, String>) -> Result<BTreeMap<String, EnvReport>, String> {
    let mut out = BTreeMap::new();
    for env in program.environments.iter().filter(|e| e.tier != ir::Tier::Local) {
        let root = |file: &str| -> Result<Option<Value>, String> {
            let Some(text) = files.get(&format!("terraform/{}/{file}", env.name)) else { return Ok(None) };
            serde_json::from_str(text).map(Some).map_err(|e| format!("{}/{file}: {e}", env.name))
        };
        let network = root("network.tf.json")?.ok_or_else(|| format!("{}: no network.tf.json", env.name))?;
        let firewall = root("firewall.tf.json")?;
        let report =
            verify_env(env, &network, firewall.as_ref()).map_err(|e| format!("environment {}: {e}", env.name))?;
        out.insert(env.name.clone(), report);
    }
    Ok(out)
}

fn verify_env(env: &ir::Environment, network: &Value, firewall: Option<&Value>) -> Result<EnvReport, String> {
    let declared = declared(env);
    let mut report = EnvReport::default();
    match (declared.is_empty(), firewall) {
        (true, None) => {}
        (true, Some(_)) => return Err("a firewall without declared egress".into()),
        (false, None) => return Err("declared egress without a firewall".into()),
        (false, Some(fw)) => {
            let ingress = &env.resources.networks[0].segment(ir::SegmentRole::Ingress);
            let (allowed, rules) = allowed(fw, env, ingress)?;
            if allowed != declared {
                let more: Vec<_> = allowed.difference(&declared).collect();
                let less: Vec<_> = declared.difference(&allowed).collect();
                return Err(format!("the firewall passes {more:?} beyond the program and misses {less:?}"));
            }
            report.allowed = allowed;
            report.rules = rules;
        }
    }
    report.routes = routes(network, firewall.is_some())?;
    Ok(report)
}

/// One Suricata rule: `action proto src sport -> dst dport (options)`.
struct Rule<'a> {
    action: &'a str,
    proto: &'a str,
    src: &'a str,
    dst: &'a str,
    dport: &'a str,
    options: Vec<(&'a str, &'a str)>,
}

fn parse_rule(line: &str) -> Result<Rule<'_>, String> {
    let (head, opts) = line.split_once(" (").ok_or_else(|| format!("no options in `{line}`"))?;
    let opts = opts.strip_suffix(')').ok_or_else(|| format!("unterminated `{line}`"))?;
    let words: Vec<&str> = head.split(' ').collect();
    let [action, proto, src, _sport, "->", dst, dport] = words.as_slice() else {
        return Err(format!("not a one-way rule header: `{head}`"));
    };
    let options = opts
        .split(';')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| o.split_once(':').map_or((o, ""), |(k, v)| (k.trim(), v.trim())))
        .collect();
    Ok(Rule { action, proto, src, dst, dport, options })
}

impl Rule<'_> {
    fn has(&self, key: &str) -> bool {
        self.options.iter().any(|(k, _)| *k == key)
    }

    /// The exact content of sticky buffer `buffer` (anchored at both ends).
    fn exact(&self, buffer: &str) -> Result<String, String> {
        let at = self.options.iter().position(|(k, _)| *k == buffer).ok_or("no sticky buffer")?;
        let content = self.options.get(at + 1).filter(|(k, _)| *k == "content").ok_or("no content")?;
        let rest: Vec<&str> = self.options[at + 2..].iter().map(|(k, _)| *k).take_while(|k| *k != "flow").collect();
        if !(rest.contains(&"startswith") && rest.contains(&"endswith")) {
            return Err(format!("`{buffer}` content is not anchored at both ends"));
        }
        Ok(content.1.trim_matches('"').to_ascii_lowercase())
    }
}

fn port(p: &str) -> Result<u16, String> {
    p.parse().map_err(|_| format!("pass rule on port `{p}`, not one port"))
}

/// The (host, port) pairs passed by the rule group, and its rule count.
fn allowed(
    fw: &Value,
    env: &ir::Environment,
    ingress: &ir::Segment,
) -> Result<(BTreeSet<(String, u16)>, usize), String> {
    let res = &fw["resource"];
    let groups = res["aws_networkfirewall_rule_group"].as_object().ok_or("no rule group")?;
    let [(_, group)] = groups.iter().collect::<Vec<_>>()[..] else { return Err("not exactly one rule group".into()) };
    let body = &group["rule_group"][0];
    if group["type"] != "STATEFUL" || body["stateful_rule_options"][0]["rule_order"] != "STRICT_ORDER" {
        return Err("the rule group is not stateful in strict order".into());
    }
    let mut vars: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for set in body["rule_variables"][0]["ip_sets"].as_array().into_iter().flatten() {
        let def = set["ip_set"][0]["definition"].as_array().ok_or("ip set without definition")?;
        vars.insert(set["key"].as_str().unwrap_or(""), def.iter().filter_map(Value::as_str).collect());
    }
    let cidr = env.resources.networks[0].cidr.map(|c| c.to_string()).unwrap_or_default();
    if vars.get("HOME_NET") != Some(&BTreeSet::from([cidr.as_str()])) {
        return Err(format!("HOME_NET is {:?}, not the VPC {cidr}", vars.get("HOME_NET")));
    }
    policy(res)?;
    let text = body["rules_source"][0]["rules_string"].as_str().ok_or("no rules_string")?;
    let rules = text.lines().map(parse_rule).collect::<Result<Vec<_>, _>>()?;
    let (mut tls, mut http, mut tcp) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let first_drop = rules.iter().position(|r| r.action == "drop").ok_or("no drop rules")?;
    for (n, r) in rules.iter().enumerate() {
        let to_server = r.options.iter().any(|(k, v)| *k == "flow" && v.contains("to_server"));
        match (r.action, r.proto) {
            ("pass", _) if n > first_drop => return Err("a pass rule after the drops".into()),
            ("pass", "tls" | "http") if r.src == "$HOME_NET" && r.dst == "any" && to_server => {
                let (buffer, set) = if r.proto == "tls" { ("tls.sni", &mut tls) } else { ("http.host", &mut http) };
                set.insert((r.exact(buffer)?, port(r.dport)?));
            }
            ("pass", "tcp") if r.src == "$HOME_NET" && to_server => {
                let addr: std::net::Ipv4Addr = r.dst.parse().map_err(|_| format!("tcp pass to `{}`", r.dst))?;
                tcp.insert((addr.to_string(), port(r.dport)?));
            }
            ("pass", "tcp") if r.dst == "$INGRESS_NET" && r.dport == "443" => {
                let subnets: BTreeSet<String> = ingress.subnets.iter().map(ToString::to_string).collect();
                let var: BTreeSet<String> =
                    vars.get("INGRESS_NET").into_iter().flatten().map(|s| s.to_string()).collect();
                if ingress.exposure != ir::Exposure::Public || var != subnets {
                    return Err("HTTPS passed to something other than the public ingress subnets".into());
                }
            }
            ("drop", "tcp" | "udp" | "icmp") if r.src == "$HOME_NET" && r.dst == "any" && !r.has("content") => {}
            _ => return Err(format!("unexpected rule: {} {} {} -> {} {}", r.action, r.proto, r.src, r.dst, r.dport)),
        }
    }
    let drops: BTreeSet<&str> = rules[first_drop..].iter().map(|r| r.proto).collect();
    if drops != BTreeSet::from(["icmp", "tcp", "udp"]) {
        return Err(format!("the drops cover {drops:?}, not tcp, udp and icmp"));
    }
    if tls != http {
        return Err(format!("TLS SNI and HTTP Host rules differ: {tls:?} vs {http:?}"));
    }
    Ok((tls.into_iter().chain(tcp).collect(), rules.len()))
}

/// The policy forwards stateless traffic to the stateful engine, in strict order, and
/// drops established traffic that no rule passed.
fn policy(res: &Value) -> Result<(), String> {
    let policies = res["aws_networkfirewall_firewall_policy"].as_object().ok_or("no firewall policy")?;
    let [(_, p)] = policies.iter().collect::<Vec<_>>()[..] else { return Err("not exactly one policy".into()) };
    let p = &p["firewall_policy"][0];
    let strings = |v: &Value| -> BTreeSet<String> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect()
    };
    let forward = BTreeSet::from(["aws:forward_to_sfe".to_string()]);
    if strings(&p["stateless_default_actions"]) != forward
        || strings(&p["stateless_fragment_default_actions"]) != forward
    {
        return Err("stateless traffic is not all forwarded to the stateful engine".into());
    }
    if !strings(&p["stateful_default_actions"]).contains("aws:drop_established")
        || p["stateful_engine_options"][0]["rule_order"] != "STRICT_ORDER"
    {
        return Err("the policy does not drop what no rule passed (strict order, aws:drop_established)".into());
    }
    let refs = p["stateful_rule_group_reference"].as_array().ok_or("no rule group reference")?;
    if refs.len() != 1 || refs[0]["resource_arn"] != "${aws_networkfirewall_rule_group.egress.arn}" {
        return Err("the policy does not reference the rule group".into());
    }
    Ok(())
}

/// The routing checks of the module doc; returns how many routes were checked.
fn routes(network: &Value, firewall: bool) -> Result<usize, String> {
    let res = &network["resource"];
    let empty = serde_json::Map::new();
    let objects = |ty: &str| res[ty].as_object().unwrap_or(&empty);
    let target = |s: &Value| s.as_str().map(|s| s.trim_start_matches("${").trim_end_matches('}').to_string());
    // table -> [(destination, target)]
    let mut tables: BTreeMap<String, Vec<(String, String)>> =
        objects("aws_route_table").keys().map(|k| (k.clone(), Vec::new())).collect();
    for route in objects("aws_route").values() {
        let table = target(&route["route_table_id"]).ok_or("route without table")?;
        let table = table.trim_start_matches("aws_route_table.").trim_end_matches(".id").to_string();
        let to = ["gateway_id", "nat_gateway_id", "vpc_endpoint_id"]
            .iter()
            .find_map(|k| target(&route[*k]))
            .ok_or("route without a known target")?;
        let dest = route["destination_cidr_block"].as_str().ok_or("route without destination")?.to_string();
        tables.get_mut(&table).ok_or_else(|| format!("route in unknown table {table}"))?.push((dest, to));
    }
    let mut table_of: BTreeMap<String, String> = BTreeMap::new();
    let mut edge = None;
    for assoc in objects("aws_route_table_association").values() {
        let table = target(&assoc["route_table_id"]).ok_or("association without table")?;
        let table = table.trim_start_matches("aws_route_table.").trim_end_matches(".id").to_string();
        match (target(&assoc["subnet_id"]), target(&assoc["gateway_id"])) {
            (Some(subnet), None) => {
                let subnet = subnet.trim_start_matches("aws_subnet.").trim_end_matches(".id").to_string();
                table_of.insert(subnet, table);
            }
            (None, Some(gw)) if gw == "aws_internet_gateway.main.id" => edge = Some(table),
            _ => return Err("an association with neither one subnet nor the internet gateway".into()),
        }
    }
    let subnets = objects("aws_subnet");
    let zone = |subnet: &str| subnets.get(subnet).and_then(|s| s["availability_zone"].as_str()).unwrap_or("?");
    let endpoint = |subnet: &str| format!("local.firewall_endpoints[\"{}\"]", zone(subnet));
    let igw = "aws_internet_gateway.main.id";
    let nat_subnets: BTreeSet<String> = objects("aws_nat_gateway")
        .values()
        .filter_map(|n| target(&n["subnet_id"]))
        .map(|s| s.trim_start_matches("aws_subnet.").trim_end_matches(".id").to_string())
        .collect();
    for subnet in subnets.keys() {
        let table = table_of.get(subnet).ok_or_else(|| format!("subnet {subnet} has no route table"))?;
        let routes = &tables[table];
        let default: Vec<&String> = routes.iter().filter(|(d, _)| d == "0.0.0.0/0").map(|(_, t)| t).collect();
        let expect = |want: &str| -> Result<(), String> {
            if routes.len() != 1 || default != [want] {
                return Err(format!(
                    "subnet {subnet} (table {table}) routes {routes:?}, expected only 0.0.0.0/0 -> {want}"
                ));
            }
            Ok(())
        };
        match subnet.split('_').next().unwrap_or("") {
            "persistence" if !routes.is_empty() => {
                return Err(format!("persistence subnet {subnet} routes {routes:?}"))
            }
            "persistence" => {}
            "runtime" if nat_subnets.is_empty() && routes.is_empty() => {}
            "runtime" => {
                let [nat] = default[..] else { return Err(format!("runtime subnet {subnet} routes {routes:?}")) };
                if routes.len() != 1 || !nat.starts_with("aws_nat_gateway.") {
                    return Err(format!("runtime subnet {subnet} routes {routes:?}, not only to a NAT gateway"));
                }
            }
            "ingress" if firewall => expect(&endpoint(subnet))?,
            "ingress" if !routes.is_empty() => expect(igw)?,
            "ingress" => {}
            "firewall" if firewall => expect(igw)?,
            _ => return Err(format!("unexpected subnet {subnet}")),
        }
    }
    let to_igw: BTreeSet<&String> =
        tables.iter().filter(|(_, r)| r.iter().any(|(_, t)| t == igw)).map(|(name, _)| name).collect();
    if firewall {
        if nat_subnets.iter().any(|s| !s.starts_with("ingress_")) || nat_subnets.is_empty() {
            return Err(format!("NAT gateways in {nat_subnets:?}, not in the ingress segment"));
        }
        if to_igw != BTreeSet::from([&"firewall".to_string()]) {
            return Err(format!("tables {to_igw:?} route to the internet gateway; only the firewall's may"));
        }
        let edge = edge.ok_or("no edge route table on the internet gateway")?;
        let want: BTreeSet<(String, String)> = subnets
            .iter()
            .filter(|(k, _)| k.starts_with("ingress_"))
            .map(|(k, s)| (s["cidr_block"].as_str().unwrap_or("").to_string(), endpoint(k)))
            .collect();
        let got: BTreeSet<(String, String)> = tables[&edge].iter().cloned().collect();
        if got != want {
            return Err(format!("the edge table routes {got:?}, expected {want:?}"));
        }
    } else if edge.is_some() {
        return Err("an edge route table without a firewall".into());
    }
    Ok(tables.values().map(Vec::len).sum())
}
