//! The differences between two environments after the merge (`govc diff A B`):
//! topology (resources and flows), values (sizes, replicas, versions, hosts, ...)
//! and images, read from the checked [`ir::Program`].
//!
//! Every environment is first flattened into [`Facts`]: its resources with their
//! values as displayed strings, and its flows as sentences. Two environments are
//! then compared key by key, so a field added to the IR shows up here by adding
//! one line to [`facts`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ir::{self, Connection, EnvValue, Environment};

/// A resource, as `(kind, name)`.
pub type ResourceKey = (&'static str, String);

/// One environment, flattened for comparison.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// Every resource with its values, field → displayed value.
    pub resources: BTreeMap<ResourceKey, BTreeMap<String, String>>,
    /// Every flow: `route /api → api:8080`, `api connects to postgres main`, ...
    pub flows: BTreeSet<String>,
    /// Every service's image reference, by service name.
    pub images: BTreeMap<String, ir::Image>,
}

/// What differs between environments `a` and `b`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EnvDiff {
    pub a: String,
    pub b: String,
    pub topology: Topology,
    /// Values of resources present in both, that differ.
    pub values: Vec<ValueChange>,
    /// Every service present in both, with its two images.
    pub images: Vec<ImageChange>,
}

/// Resources and flows present on one side only.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Topology {
    pub only_in_a: Vec<String>,
    pub only_in_b: Vec<String>,
    /// Resources and flows the two environments share.
    pub shared: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ValueChange {
    pub kind: &'static str,
    pub resource: String,
    pub field: String,
    /// `None` when the field has no value on that side.
    pub a: Option<String>,
    pub b: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageChange {
    pub service: String,
    pub a: Option<String>,
    pub b: Option<String>,
    /// Both sides run the same repository at the same digest: one artifact.
    pub same_artifact: bool,
}

impl EnvDiff {
    /// Whether the two environments are the same in everything compared here.
    pub fn is_empty(&self) -> bool {
        self.topology.only_in_a.is_empty()
            && self.topology.only_in_b.is_empty()
            && self.values.is_empty()
            && self.images.iter().all(|i| i.a == i.b)
    }
}

/// Compares two environments of one program.
pub fn diff(a: &Environment, b: &Environment) -> EnvDiff {
    let (fa, fb) = (facts(a), facts(b));
    let describe = |key: &ResourceKey| resource_title(key.0, &key.1);
    let mut topology = Topology::default();
    for key in fa.resources.keys() {
        if fb.resources.contains_key(key) {
            topology.shared += 1;
        } else {
            topology.only_in_a.push(describe(key));
        }
    }
    topology.only_in_b.extend(fb.resources.keys().filter(|k| !fa.resources.contains_key(*k)).map(describe));
    topology.only_in_a.extend(fa.flows.difference(&fb.flows).cloned());
    topology.only_in_b.extend(fb.flows.difference(&fa.flows).cloned());
    topology.shared += fa.flows.intersection(&fb.flows).count();

    let mut values = Vec::new();
    for (key, va) in &fa.resources {
        let Some(vb) = fb.resources.get(key) else { continue };
        let fields: BTreeSet<&String> = va.keys().chain(vb.keys()).collect();
        for field in fields {
            let (x, y) = (va.get(field), vb.get(field));
            if x != y {
                values.push(ValueChange {
                    kind: key.0,
                    resource: key.1.clone(),
                    field: field.clone(),
                    a: x.cloned(),
                    b: y.cloned(),
                });
            }
        }
    }
    let images = fa
        .images
        .iter()
        .filter_map(|(service, ia)| {
            let ib = fb.images.get(service)?;
            Some(ImageChange {
                service: service.clone(),
                a: Some(ia.reference.clone()),
                b: Some(ib.reference.clone()),
                same_artifact: ia.digest.is_some() && ia.digest == ib.digest && ia.repository == ib.repository,
            })
        })
        .collect();
    EnvDiff { a: a.name.clone(), b: b.name.clone(), topology, values, images }
}

/// Flattens an environment. Images are compared in their own section, not as values.
pub fn facts(env: &Environment) -> Facts {
    let f = str::to_string;
    let mut out = Facts::default();
    let mut put = |kind: &'static str, name: &str, fields: Vec<(String, Option<String>)>| {
        let values = fields.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        out.resources.insert((kind, name.to_string()), values);
    };
    let r = &env.resources;
    // Keyed without its name, so that two environments' own settings compare.
    put(
        "environment",
        "",
        vec![
            (f("tier"), Some(env.tier.as_str().to_string())),
            (f("account"), env.aws.as_ref().and_then(|a| a.account.clone())),
            (f("region"), env.aws.as_ref().and_then(|a| a.region.clone())),
            (f("state bucket"), env.state.as_ref().and_then(|s| s.bucket.clone())),
            // A cloud environment's EKS version (defaulted): an upgrade shows between tiers.
            (f("kubernetes version"), env.aws.as_ref().map(|_| env.kubernetes_version.clone())),
        ],
    );
    for n in &r.networks {
        put(
            "network",
            &n.name,
            vec![(f("cidr"), n.cidr.map(|c| c.to_string())), (f("zones"), Some(n.zones.to_string()))]
                .into_iter()
                .chain(n.segments.iter().map(|s| {
                    let exposure = match s.exposure {
                        ir::Exposure::Public => "public",
                        ir::Exposure::Private => "private",
                    };
                    (f(segment_field(s.role)), Some(format!("{} {exposure}", display_cidr(s.cidr))))
                }))
                .collect(),
        );
    }
    for d in &r.databases {
        put(
            "postgres",
            &d.name,
            vec![
                (f("version"), Some(d.version.to_string())),
                (f("class"), d.class.clone()),
                (f("storage"), Some(format!("{}GiB", d.storage_gib))),
                (f("backup retention"), Some(format!("{}d", d.backup_retention_days))),
                (f("deletion protection"), Some(d.deletion_protection.to_string())),
                (f("multi-AZ"), Some(d.multi_az.to_string())),
                (f("read replicas"), Some(d.replicas.to_string())),
            ],
        );
    }
    for s in &r.services {
        let mut fields = vec![
            (f("port"), Some(s.port.to_string())),
            (f("replicas"), Some(replicas(s.replicas))),
            (f("cpu"), Some(cpu(s.cpu_millis))),
            (f("memory"), Some(memory(s.memory_bytes))),
            (f("protocol"), Some(s.protocol.as_str().to_string())),
            (f("health"), Some(s.health.clone())),
        ];
        fields.extend(s.env.iter().filter_map(|v| match &v.value {
            EnvValue::Literal(text) => Some((format!("env {}", v.key), Some(format!("{text:?}")))),
            EnvValue::Attribute { value, .. } => Some((format!("env {}", v.key), Some(format!("{value:?}")))),
            EnvValue::Secret { .. } => None,
        }));
        put("service", &s.name, fields);
        if let Some(image) = &s.image {
            out.images.insert(s.name.clone(), image.clone());
        }
    }
    for b in &r.buckets {
        let lock = b.lock.map(|l| {
            let mode = if l.mode == ir::LockMode::Compliance { "compliance" } else { "governance" };
            (mode, l.retention_days.map_or_else(|| "none".to_string(), |d| format!("{d}d")))
        });
        put(
            "bucket",
            &b.name,
            vec![
                (f("evidence"), Some(b.evidence.to_string())),
                (f("lock mode"), lock.as_ref().map(|l| l.0.to_string())),
                (f("lock retention"), lock.map(|l| l.1)),
                (f("noncurrent expiry"), b.noncurrent_days.map(|d| format!("{d}d"))),
                (f("abort uploads"), Some(format!("{}d", b.abort_uploads_days))),
            ],
        );
    }
    for i in &r.ingresses {
        put("ingress", &i.name, vec![(f("host"), i.host.clone())]);
    }
    for s in &r.secrets {
        put("secret", &s.name, vec![(f("path"), s.path.clone())]);
    }
    // The collector is topology; its backends' addresses are values (they may differ
    // between a mirror and its target), which signals it exports are flows.
    if let Some(t) = &env.telemetry {
        let backends =
            t.backends().map(|(signal, e)| (format!("{signal} backend"), Some(format!("{}:{}", e.host, e.port))));
        put("telemetry collector", ir::Telemetry::COLLECTOR, backends.collect());
    }
    out.flows = flows(env);
    out
}

/// The flows of an environment as sentences (topology: no ports or hosts that the
/// language treats as values, except egress destinations, which are the flow).
pub fn flows(env: &Environment) -> BTreeSet<String> {
    let r = &env.resources;
    let mut flows = BTreeSet::new();
    for i in &r.ingresses {
        for route in &i.routes {
            flows.insert(format!("ingress `{}` routes {} to service `{}`", i.name, route.path, route.service));
        }
    }
    for s in &r.services {
        for c in &s.connects {
            flows.insert(match c {
                Connection::Postgres(d) => format!("service `{}` connects to postgres `{d}`", s.name),
                Connection::Service(t) => format!("service `{}` connects to service `{t}`", s.name),
                Connection::Bucket(b) => format!("service `{}` connects to bucket `{b}`", s.name),
            });
        }
        for e in &s.egress {
            flows.insert(format!("service `{}` egress to {}:{}", s.name, e.host, e.port));
        }
        if env.telemetry.is_some() {
            flows.insert(format!("service `{}` sends telemetry to the collector", s.name));
        }
        for v in &s.env {
            match &v.value {
                EnvValue::Secret { secret, .. } => {
                    flows.insert(format!("service `{}` reads secret `{secret}` as {}", s.name, v.key));
                }
                EnvValue::Attribute { resource, attribute, .. } => {
                    flows.insert(format!("service `{}` reads `{resource}.{attribute}` as {}", s.name, v.key));
                }
                EnvValue::Literal(_) => {}
            }
        }
    }
    for (signal, _) in env.telemetry.iter().flat_map(|t| t.backends()) {
        flows.insert(format!("the collector exports {signal}"));
    }
    flows
}

/// `service `api``, or `environment` for the environment's own settings.
fn resource_title(kind: &str, name: &str) -> String {
    if name.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} `{name}`")
    }
}

fn segment_field(role: ir::SegmentRole) -> &'static str {
    match role {
        ir::SegmentRole::Ingress => "ingress segment",
        ir::SegmentRole::Runtime => "runtime segment",
        ir::SegmentRole::Persistence => "persistence segment",
    }
}

fn display_cidr(cidr: Option<ipnet::Ipv4Net>) -> String {
    cidr.map_or_else(|| "(no cidr)".to_string(), |c| c.to_string())
}

/// `3..12`, or `2` when fixed.
pub fn replicas(r: ir::Replicas) -> String {
    written(|out| push_replicas(out, r))
}

/// Appends [`replicas`] to `out`.
pub fn push_replicas(out: &mut String, r: ir::Replicas) {
    crate::emit::push_decimal(out, u64::from(r.min));
    if r.min != r.max {
        out.push_str("..");
        crate::emit::push_decimal(out, u64::from(r.max));
    }
}

/// `250m`, or whole cores as `2`.
pub fn cpu(millis: u32) -> String {
    written(|out| push_cpu(out, millis))
}

/// Appends [`cpu`] to `out`.
pub fn push_cpu(out: &mut String, millis: u32) {
    if millis % 1000 == 0 {
        crate::emit::push_decimal(out, u64::from(millis / 1000));
    } else {
        crate::emit::push_decimal(out, u64::from(millis));
        out.push('m');
    }
}

/// The largest binary unit that divides the size: `512MiB`, `1GiB`.
pub fn memory(bytes: u64) -> String {
    written(|out| push_memory(out, bytes))
}

/// Appends [`memory`] to `out`.
pub fn push_memory(out: &mut String, bytes: u64) {
    for (unit, size) in [("TiB", 1u64 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes % size == 0 {
            crate::emit::push_decimal(out, bytes / size);
            out.push_str(unit);
            return;
        }
    }
    crate::emit::push_decimal(out, bytes);
    out.push('B');
}

/// The text `push` appends to an empty string.
fn written(push: impl FnOnce(&mut String)) -> String {
    let mut out = String::new();
    push(&mut out);
    out
}

/// The diff as text for people.
pub fn render_text(d: &EnvDiff) -> String {
    let mut out = format!("govc diff {} {}\n", d.a, d.b);
    out += "\ntopology:";
    if d.topology.only_in_a.is_empty() && d.topology.only_in_b.is_empty() {
        out += &format!(" the same ({} resources and flows)\n", d.topology.shared);
    } else {
        out += &format!(" {} shared\n", d.topology.shared);
        for t in &d.topology.only_in_a {
            out += &format!("  - {t} (only in {})\n", d.a);
        }
        for t in &d.topology.only_in_b {
            out += &format!("  + {t} (only in {})\n", d.b);
        }
    }
    out += "\nvalues:";
    if d.values.is_empty() {
        out += " the same\n";
    } else {
        out += "\n";
        let mut last: Option<(&str, &str)> = None;
        for v in &d.values {
            if last != Some((v.kind, v.resource.as_str())) {
                out += &format!("  {}\n", resource_title(v.kind, &v.resource));
                last = Some((v.kind, v.resource.as_str()));
            }
            let side = |x: &Option<String>| x.clone().unwrap_or_else(|| "(none)".to_string());
            out += &format!("    {:<20} {} → {}\n", v.field, side(&v.a), side(&v.b));
        }
    }
    out += "\nimages:";
    if d.images.is_empty() {
        out += " none\n";
    } else {
        out += "\n";
        for i in &d.images {
            let word = if i.same_artifact {
                "same artifact"
            } else if i.a == i.b {
                "same reference, not pinned"
            } else {
                "differs"
            };
            out += &format!("  service `{}`: {word}\n", i.service);
            if i.a != i.b || !i.same_artifact {
                out += &format!("    {}: {}\n", d.a, i.a.as_deref().unwrap_or("(none)"));
                out += &format!("    {}: {}\n", d.b, i.b.as_deref().unwrap_or("(none)"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile, Options, Sources};
    use proptest::prelude::*;

    proptest! {
        /// The quantities read as their definitions say, written with the formatting
        /// machinery: a count or a range, cores or millicores, the largest unit that
        /// divides a size.
        #[test]
        fn quantities_are_written_as_defined(min in 0u32..50, extra in 0u32..3, millis in 0u32..5000, k in 0u32..41, n in 1u64..4096) {
            let max = if extra == 0 { min } else { min + extra };
            let range = if min == max { min.to_string() } else { format!("{min}..{max}") };
            prop_assert_eq!(replicas(ir::Replicas { min, max }), range);
            let cores = if millis % 1000 == 0 { (millis / 1000).to_string() } else { format!("{millis}m") };
            prop_assert_eq!(cpu(millis), cores);
            let bytes = n << k;
            let units = [("TiB", 1u64 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
            let size = units
                .iter()
                .find(|(_, size)| bytes >= *size && bytes % size == 0)
                .map_or_else(|| format!("{bytes}B"), |(unit, size)| format!("{}{unit}", bytes / size));
            prop_assert_eq!(memory(bytes), size);
        }
    }

    fn program(text: &str) -> ir::Program {
        let mut sources = Sources::with_stdlib();
        sources.add("project.gov", text);
        let c = compile(&sources, &Options { emit: true });
        assert!(c.diagnostics.iter().all(|d| !d.is_error()), "{:#?}", c.diagnostics);
        c.program.expect("a program")
    }

    const TWO: &str = r#"
project shop {
  phase = "wire"
  environments = [staging, production]
}
stack app {
  network core { }
  postgres main { }
  service api { port = 8080  connects = [main]  env { LOG = "info" } }
  ingress edge { route "/" -> api }
}
environment staging {
  tier = staging
  stack = app
  aws { account = "222222222222"  region = "eu-west-1" }
  state { bucket = "shop-state-staging" }
  network core { cidr = 10.20.0.0/16 }
  postgres main { class = "db.t4g.small" }
  service api { image = "r.example/shop/api@sha256:1111111111111111111111111111111111111111111111111111111111111111" }
  ingress edge { host = "staging.shop.example" }
}
environment production {
  tier = production
  stack = app
  aws { account = "111111111111"  region = "eu-west-1" }
  state { bucket = "shop-state-production" }
  kubernetes { version = "1.34" }
  network core { cidr = 10.30.0.0/16  zones = 3 }
  postgres main { class = "db.m6g.large"  deletion_protection = true  backup_retention = 14d  multi_az = true }
  service api {
    image = "r.example/shop/api@sha256:1111111111111111111111111111111111111111111111111111111111111111"
    replicas = 2..4
    env { LOG = "warn" }
  }
  ingress edge { host = "shop.example" route "/admin" -> api }
}
"#;

    #[test]
    fn values_topology_and_images_are_compared_after_the_merge() {
        let p = program(TWO);
        let d = diff(&p.environments[0], &p.environments[1]);
        assert_eq!(d.topology.only_in_a, Vec::<String>::new());
        assert_eq!(d.topology.only_in_b, ["ingress `edge` routes /admin to service `api`"]);
        let changed: Vec<(&str, &str, Option<&str>, Option<&str>)> =
            d.values.iter().map(|v| (v.resource.as_str(), v.field.as_str(), v.a.as_deref(), v.b.as_deref())).collect();
        assert!(changed.contains(&("api", "replicas", Some("1"), Some("2..4"))), "{changed:?}");
        assert!(changed.contains(&("api", "env LOG", Some("\"info\""), Some("\"warn\""))), "{changed:?}");
        assert!(changed.contains(&("main", "class", Some("db.t4g.small"), Some("db.m6g.large"))), "{changed:?}");
        assert!(changed.contains(&("core", "zones", Some("2"), Some("3"))), "{changed:?}");
        let default = Some(crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION);
        assert!(changed.contains(&("", "kubernetes version", default, Some("1.34"))), "{changed:?}");
        assert!(changed.contains(&("edge", "host", Some("staging.shop.example"), Some("shop.example"))));
        assert!(!changed.iter().any(|c| c.1 == "port"), "ports are equal: {changed:?}");
        assert_eq!(d.images.len(), 1);
        assert!(d.images[0].same_artifact);
        let text = render_text(&d);
        assert!(text.contains("+ ingress `edge` routes /admin to service `api` (only in production)"), "{text}");
        assert!(text.contains("service `api`: same artifact"), "{text}");
    }

    #[test]
    fn telemetry_signals_are_topology_and_backends_are_values() {
        let text = TWO
            .replacen(
                "  ingress edge { host = \"staging.shop.example\" }\n",
                "  ingress edge { host = \"staging.shop.example\" }\n  telemetry { traces = \"otlp.staging.example:4317\" }\n",
                1,
            )
            .replacen(
                "  ingress edge { host = \"shop.example\" route \"/admin\" -> api }\n",
                "  ingress edge { host = \"shop.example\" route \"/admin\" -> api }\n  telemetry {\n    traces = \"otlp.example:4317\"\n    logs = \"otlp.example:4317\"\n  }\n",
                1,
            );
        let p = program(&text);
        let d = diff(&p.environments[0], &p.environments[1]);
        assert!(d.topology.only_in_b.contains(&"the collector exports logs".to_string()), "{:?}", d.topology);
        assert!(!d.topology.only_in_b.iter().any(|t| t.contains("exports traces")));
        let changed: Vec<(&str, &str, Option<&str>, Option<&str>)> =
            d.values.iter().map(|v| (v.resource.as_str(), v.field.as_str(), v.a.as_deref(), v.b.as_deref())).collect();
        assert!(
            changed.contains(&(
                "otel-collector",
                "traces backend",
                Some("otlp.staging.example:4317"),
                Some("otlp.example:4317")
            )),
            "{changed:?}"
        );
    }

    #[test]
    fn an_environment_is_the_same_as_itself() {
        let p = program(TWO);
        let d = diff(&p.environments[1], &p.environments[1]);
        assert!(d.is_empty(), "{d:#?}");
        assert!(render_text(&d).contains("topology: the same"));
    }
}
