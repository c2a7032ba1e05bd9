//! Tests of the egress firewall: the read-back proof ([`super::readback`]) on `envs/`,
//! every buildable example and synthetic programs (addresses, several ports, a private
//! ingress, one zone), tampered outputs that the proof must reject, and a snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::readback::{self, verify};
use super::tests::zenthea;
use super::{emit, firewall};
use crate::ir::*;
use crate::{compile, Options, Sources};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.gov` file under `dir`, with paths relative to it (what `govc build` reads).
fn load(dir: &Path) -> Sources {
    fn walk(root: &Path, dir: &Path, sources: &mut Sources) {
        let mut entries: Vec<_> =
            std::fs::read_dir(dir).expect("readable dir").map(|e| e.expect("entry").path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, sources);
            } else if path.extension().is_some_and(|e| e == "gov") {
                let rel = path.strip_prefix(root).expect("under root").to_string_lossy().replace('\\', "/");
                sources.add(rel, std::fs::read_to_string(&path).expect("readable file"));
            }
        }
    }
    let mut sources = Sources::with_stdlib();
    walk(dir, dir, &mut sources);
    sources
}

fn pairs(items: &[(&str, u16)]) -> BTreeSet<(String, u16)> {
    items.iter().map(|(h, p)| (h.to_string(), *p)).collect()
}

#[test]
fn envs_and_every_buildable_example_enforce_exactly_their_egress() {
    let mut dirs = vec![repo().join("envs")];
    let mut examples: Vec<PathBuf> =
        std::fs::read_dir(repo().join("examples")).expect("examples").map(|e| e.expect("entry").path()).collect();
    examples.sort();
    dirs.extend(examples);
    let mut built = Vec::new();
    for dir in &dirs {
        let out = compile(&load(dir), &Options { emit: true });
        let failed = out.has_errors();
        let Some(program) = out.program.filter(|_| !failed) else {
            // Only a project whose phase does not authorize `iac` may fail to build.
            assert!(out.diagnostics.iter().all(|d| !d.is_error() || d.code.as_str() == "E702"), "{}", dir.display());
            continue;
        };
        let reports = verify(&program, &out.files).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
            assert_eq!(reports[&env.name].allowed, readback::declared(env), "{} {}", dir.display(), env.name);
        }
        built.push((dir.file_name().expect("name").to_string_lossy().to_string(), reports));
    }
    let names: Vec<&str> = built.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["envs", "phased-ladder", "portarium", "three-envs"], "the buildable projects");
    let envs = &built[0].1;
    for env in ["production", "staging"] {
        assert_eq!(envs[env].allowed, pairs(&[("api.stripe.com", 443)]), "{env}");
        assert!(envs[env].routes > 0);
    }
}

/// The zenthea fixture with richer egress: addresses, several ports, one entry declared by
/// two services, a host written in capitals.
fn rich() -> Program {
    let mut program = zenthea();
    for env in &mut program.environments {
        let services = &mut env.resources.services;
        services[2].egress = vec![
            Egress { host: "api.stripe.com".into(), port: 443 },
            Egress { host: "203.0.113.7".into(), port: 8443 },
            Egress { host: "Hooks.Example.COM".into(), port: 8443 },
        ];
        services[1].egress = vec![Egress { host: "api.stripe.com".into(), port: 443 }];
    }
    program
}

#[test]
fn addresses_ports_and_shared_entries_are_exact() {
    let program = rich();
    let files = emit(&program).expect("emits");
    let reports = verify(&program, &files).expect("verifies");
    let want = pairs(&[("203.0.113.7", 8443), ("api.stripe.com", 443), ("hooks.example.com", 8443)]);
    assert_eq!(reports["production"].allowed, want);
    assert_eq!(reports["staging"].allowed, want);
    // two rules per host, one per address, HTTPS to the load balancer, three drops
    assert_eq!(reports["production"].rules, 2 * 2 + 1 + 1 + 3);
    let fw: serde_json::Value = serde_json::from_str(&files["terraform/production/firewall.tf.json"]).expect("json");
    let rules = fw["resource"]["aws_networkfirewall_rule_group"]["egress"]["rule_group"][0]["rules_source"][0]
        ["rules_string"]
        .as_str()
        .expect("rules");
    assert!(rules.contains("pass tcp $HOME_NET any -> 203.0.113.7 8443 (flow:to_server; "), "{rules}");
    assert!(rules.contains("drop tcp $HOME_NET any -> any ![443,8443] "), "{rules}");
    assert!(rules.contains("declared by api worker"), "{rules}");
}

#[test]
fn private_ingress_and_one_zone_still_route_through_the_firewall() {
    let mut program = rich();
    for env in &mut program.environments {
        let cidr = env.resources.networks[0].cidr.expect("cidr");
        let mut net = env.resources.networks[0].clone();
        net.zones = 1;
        for (i, seg) in net.segments.iter_mut().enumerate() {
            seg.exposure = Exposure::Private;
            seg.subnets =
                crate::carve::zone_subnets(crate::carve::segment_block(cidr, i).expect("block"), 1).expect("fits");
        }
        env.resources.networks = vec![net];
    }
    let files = emit(&program).expect("emits");
    let reports = verify(&program, &files).expect("verifies");
    assert_eq!(reports["production"].allowed.len(), 3);
    let fw = &files["terraform/production/firewall.tf.json"];
    assert!(!fw.contains("INGRESS_NET"), "no HTTPS pass rule without a public ingress");
    assert_eq!(fw.matches("\"subnet_id\": \"${aws_subnet.firewall_").count(), 1, "one endpoint, one zone");
}

#[test]
fn environments_without_egress_get_no_firewall() {
    let mut program = zenthea();
    for env in &mut program.environments {
        env.resources.services.iter_mut().for_each(|s| s.egress.clear());
    }
    let files = emit(&program).expect("emits");
    assert!(files.keys().all(|k| !k.ends_with("firewall.tf.json")));
    assert!(files.values().all(|t| !t.contains("networkfirewall") && !t.contains("firewall_")));
    let reports = verify(&program, &files).expect("verifies");
    assert!(reports.values().all(|r| r.allowed.is_empty()));
}

/// Applies `edit` to one file of the production root and expects [`verify`] to fail with
/// a message containing `why`.
fn rejects(file: &str, edit: impl Fn(&mut serde_json::Value), why: &str) {
    let program = rich();
    let mut files = emit(&program).expect("emits");
    let path = format!("terraform/production/{file}");
    let mut doc: serde_json::Value = serde_json::from_str(&files[&path]).expect("json");
    edit(&mut doc);
    files.insert(path, doc.to_string());
    let err = verify(&program, &files).expect_err("the tampered output must be rejected");
    assert!(err.contains(why), "{err}");
}

fn rules_mut(doc: &mut serde_json::Value) -> &mut serde_json::Value {
    &mut doc["resource"]["aws_networkfirewall_rule_group"]["egress"]["rule_group"][0]["rules_source"][0]["rules_string"]
}

fn edit_rules(doc: &mut serde_json::Value, f: impl Fn(&str) -> String) {
    let text = rules_mut(doc).as_str().expect("rules").to_string();
    *rules_mut(doc) = serde_json::Value::String(f(&text));
}

#[test]
fn the_proof_rejects_tampered_outputs() {
    let extra = "pass tls $HOME_NET any -> any 443 (tls.sni; content:\"evil.example\"; nocase; startswith; endswith; flow:to_server, established; msg:\"x\"; sid:99; rev:1;)\npass http $HOME_NET any -> any 443 (http.host; content:\"evil.example\"; startswith; endswith; flow:to_server, established; msg:\"x\"; sid:98; rev:1;)\n";
    rejects("firewall.tf.json", |d| edit_rules(d, |t| format!("{extra}{t}")), "beyond the program");
    rejects("firewall.tf.json", |d| edit_rules(d, |t| t.lines().skip(1).collect::<Vec<_>>().join("\n")), "misses");
    rejects("firewall.tf.json", |d| edit_rules(d, |t| t.lines().skip(2).collect::<Vec<_>>().join("\n")), "differ");
    rejects(
        "firewall.tf.json",
        |d| edit_rules(d, |t| t.replacen("-> 203.0.113.7 8443", "-> 203.0.113.7 any", 1)),
        "not one port",
    );
    rejects("firewall.tf.json", |d| edit_rules(d, |t| t.replacen("startswith; endswith; ", "", 1)), "not anchored");
    rejects("firewall.tf.json", |d| edit_rules(d, |t| t.replace("drop udp", "alert udp")), "unexpected rule");
    rejects(
        "firewall.tf.json",
        |d| {
            d["resource"]["aws_networkfirewall_firewall_policy"]["egress"]["firewall_policy"][0]
                ["stateful_default_actions"] = serde_json::json!(["aws:alert_established"])
        },
        "does not drop",
    );
    rejects(
        "firewall.tf.json",
        |d| {
            d["resource"]["aws_networkfirewall_rule_group"]["egress"]["rule_group"][0]["rule_variables"][0]["ip_sets"]
                [0]["ip_set"][0]["definition"] = serde_json::json!(["0.0.0.0/0"])
        },
        "HOME_NET",
    );
    rejects(
        "network.tf.json",
        |d| d["resource"]["aws_route"]["runtime_a_default"] = serde_json::json!({"destination_cidr_block": "0.0.0.0/0", "gateway_id": "${aws_internet_gateway.main.id}", "route_table_id": "${aws_route_table.runtime_a.id}"}),
        "not only to a NAT gateway",
    );
    rejects(
        "network.tf.json",
        |d| {
            d["resource"]["aws_route"]["ingress_b_default"]["vpc_endpoint_id"] =
                serde_json::json!("${local.firewall_endpoints[\"eu-west-1a\"]}")
        },
        "ingress_b",
    );
    rejects(
        "network.tf.json",
        |d| {
            d["resource"]["aws_route"]["edge_ingress_c"]["vpc_endpoint_id"] =
                serde_json::json!("${local.firewall_endpoints[\"eu-west-1a\"]}")
        },
        "the edge table",
    );
    rejects(
        "network.tf.json",
        |d| d["resource"]["aws_route"]["persistence_default"] = serde_json::json!({"destination_cidr_block": "0.0.0.0/0", "nat_gateway_id": "${aws_nat_gateway.a.id}", "route_table_id": "${aws_route_table.persistence.id}"}),
        "persistence subnet",
    );
    rejects(
        "network.tf.json",
        |d| {
            d["resource"]["aws_route"]["ingress_a_default"]["gateway_id"] =
                serde_json::json!("${aws_internet_gateway.main.id}");
            d["resource"]["aws_route"]["ingress_a_default"].as_object_mut().expect("route").remove("vpc_endpoint_id");
        },
        "ingress_a",
    );
}

#[test]
fn endpoints_are_keyed_by_zone_and_subnets_come_from_the_spare_block() {
    let program = zenthea();
    let files = emit(&program).expect("emits");
    let net: serde_json::Value = serde_json::from_str(&files["terraform/production/network.tf.json"]).expect("json");
    let subnets = &net["resource"]["aws_subnet"];
    for (i, cidr) in ["10.40.192.0/28", "10.40.192.16/28", "10.40.192.32/28"].iter().enumerate() {
        let s = &subnets[firewall::subnet(i)];
        assert_eq!(s["cidr_block"], *cidr);
        assert_eq!(s["availability_zone"], format!("eu-west-1{}", super::zone_letter(i)));
    }
    let fw: serde_json::Value = serde_json::from_str(&files["terraform/production/firewall.tf.json"]).expect("json");
    assert_eq!(
        fw["locals"]["firewall_endpoints"],
        "${ {for s in aws_networkfirewall_firewall.egress.firewall_status[0].sync_states : s.availability_zone => s.attachment[0].endpoint_id} }"
    );
    let log_types: BTreeMap<&str, &str> = fw["resource"]["aws_networkfirewall_logging_configuration"]["egress"]
        ["logging_configuration"][0]["log_destination_config"]
        .as_array()
        .expect("destinations")
        .iter()
        .map(|d| (d["log_type"].as_str().expect("type"), d["log_destination"]["logGroup"].as_str().expect("group")))
        .collect();
    assert_eq!(
        log_types,
        BTreeMap::from([
            ("ALERT", "${aws_cloudwatch_log_group.firewall_alert.name}"),
            ("FLOW", "${aws_cloudwatch_log_group.firewall_flow.name}")
        ])
    );
    for group in ["firewall_alert", "firewall_flow"] {
        assert_eq!(fw["resource"]["aws_cloudwatch_log_group"][group]["kms_key_id"], "${aws_kms_key.logs.arn}");
    }
}

#[test]
fn snapshot_of_the_firewall() {
    let files = emit(&rich()).expect("emits");
    insta::assert_snapshot!("firewall_staging", files["terraform/staging/firewall.tf.json"]);
}
