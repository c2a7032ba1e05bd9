//! The egress read-back proof (`govc::emit::terraform::readback`) on the fleet-100
//! project that `fleet-gov 100 DIR` writes, as it is (no egress: no firewall and no way
//! out) and with two egress entries per service (a host and an address, 200 in all).

use std::collections::BTreeSet;

use govc::emit::terraform::readback;
use govc::{compile, Options, Sources};

fn build(files: Vec<(String, String)>) -> (govc::ir::Program, std::collections::BTreeMap<String, String>) {
    let mut sources = Sources::with_stdlib();
    for (path, text) in files {
        sources.add(path, text);
    }
    let out = compile(&sources, &Options { emit: true });
    let errors: Vec<_> = out.diagnostics.iter().filter(|d| d.is_error()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    (out.program.expect("a program"), out.files)
}

#[test]
fn fleet_100_without_egress_has_no_firewall_and_no_way_out() {
    let (program, files) = build(govc_bench::fleet(100));
    let reports = readback::verify(&program, &files).expect("verifies");
    assert_eq!(reports.keys().collect::<Vec<_>>(), ["dev", "production", "staging"]);
    assert!(reports.values().all(|r| r.allowed.is_empty()));
    assert!(files.keys().all(|k| !k.ends_with("firewall.tf.json")));
}

#[test]
fn fleet_100_with_egress_allows_exactly_its_entries() {
    let mut files = govc_bench::fleet(100);
    let mut want = BTreeSet::new();
    for i in 0..100 {
        let host = format!("api-{i}.partner{}.example.com", i % 7);
        let addr = format!("52.95.{}.{}", i / 50, i % 50 + 1);
        let port = 8000 + u16::try_from(i % 3).expect("small");
        want.insert((host.clone(), 443));
        want.insert((addr.clone(), port));
        let head = format!("  service svc-{i} {{\n    port = 8080\n");
        let with = format!("{head}    egress = [\"{host}:443\", \"{addr}:{port}\"]\n");
        let stack = &mut files[0].1;
        assert!(stack.contains(&head), "the fleet's service shape changed");
        *stack = stack.replacen(&head, &with, 1);
    }
    let (program, files) = build(files);
    let reports = readback::verify(&program, &files).expect("verifies");
    for (env, report) in &reports {
        assert_eq!(report.allowed, want, "{env}");
        // hosts twice (TLS, HTTP), addresses once, 3 drops; a private ingress gets no HTTPS pass
        assert_eq!(report.rules, 100 * 2 + 100 + 3, "{env}");
    }
}
