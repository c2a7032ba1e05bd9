//! The OpenTelemetry Collector of an environment that declares `telemetry { }` (overlays
//! only: it is environment-level, like the ingress). Objects, all named
//! [`ir::Telemetry::COLLECTOR`]:
//! - ServiceAccount (no token mounted: the collector calls no Kubernetes API);
//! - ConfigMap holding `collector.yaml`: receiver `otlp` (gRPC 4317, HTTP 4318);
//!   processors `memory_limiter` then `batch`; one `otlp/<signal>` exporter per declared
//!   backend, over TLS; one pipeline per declared signal and none for the others. A
//!   `tier = local` environment without any backend gets the `debug` exporter on all three
//!   pipelines instead (E415 refuses that elsewhere). The `health_check` extension
//!   listens on 13133;
//! - Deployment: hardened like the services (non-root, read-only root filesystem, no
//!   capabilities, seccomp `RuntimeDefault`, requests = limits), probes on the health
//!   check port, a digest of the configuration in the pod template (a change rolls the
//!   pods), two replicas spread across zones and a PodDisruptionBudget in production,
//!   one elsewhere;
//! - Service: ClusterIP, `otlp-grpc` 4317 and `otlp-http` 4318.
//!
//! Every service gets `OTEL_EXPORTER_OTLP_ENDPOINT` (this Service, OTLP over HTTP),
//! `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`
//! ([`service_variables`]). The flows (services → collector on 4317 and 4318, collector →
//! each backend) are [`super::netpol`]'s; the image is [`versions::OTEL_COLLECTOR_IMAGE`],
//! through the environment's ECR pull-through cache in cloud tiers.

use crate::lock::sha256_hex;

use super::object::{self, Object};
use super::yaml::{self, map, Yaml};
use super::{labels, selector, View};
use crate::emit::versions;
use crate::ir::{self, Telemetry};

/// Where the configuration is mounted.
const CONFIG_DIR: &str = "/conf";
/// CPU per collector replica, in millicores.
const CPU_MILLIS: u32 = 250;
/// Memory per collector replica; the `memory_limiter` keeps the heap below 80 % of it.
const MEMORY_BYTES: u64 = 512 << 20;

/// The environment's telemetry, when the view is an environment that declares it.
pub fn of<'a>(view: &View<'a>) -> Option<&'a Telemetry> {
    view.env.and_then(|e| e.telemetry.as_ref())
}

/// `http://otel-collector.<namespace>.svc.cluster.local:4318`: where services send OTLP.
pub fn endpoint(env: &ir::Environment) -> String {
    format!("http://{}.{}.svc.cluster.local:{}", Telemetry::COLLECTOR, env.namespace, Telemetry::OTLP_HTTP_PORT)
}

/// The variables every service of an environment with telemetry gets (E416 refuses a
/// service's own value for any of them), sorted by key; `endpoint` is where the collector
/// is reached: [`endpoint`] in the cluster, its Compose host in the Compose file.
pub fn service_variables(
    project: &str,
    env: &ir::Environment,
    svc: &ir::Service,
    endpoint: &str,
) -> Vec<(String, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), endpoint.to_string()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into()),
        ("OTEL_RESOURCE_ATTRIBUTES".into(), format!("deployment.environment={},service.namespace={project}", env.name)),
        ("OTEL_SERVICE_NAME".into(), svc.name.clone()),
    ]
}

/// The collector's configuration, as `collector.yaml` holds it.
pub fn config(env: &ir::Environment, telemetry: &Telemetry) -> String {
    let listen = |port: u16| map([("endpoint", format!("0.0.0.0:{port}").into())]);
    let mut exporters: Vec<(String, Yaml)> = Vec::new();
    let mut pipelines: Vec<(String, Yaml)> = Vec::new();
    let pipeline = |exporter: &str| {
        map([
            ("receivers", vec!["otlp"].into()),
            ("processors", vec!["memory_limiter", "batch"].into()),
            ("exporters", Yaml::Seq(vec![Yaml::text(exporter)])),
        ])
    };
    let backends: Vec<(&str, &ir::Egress)> = telemetry.backends().collect();
    if backends.is_empty() && env.tier == ir::Tier::Local {
        exporters.push(("debug".into(), map([("verbosity", "basic".into())])));
        for signal in ["traces", "metrics", "logs"] {
            pipelines.push((signal.into(), pipeline("debug")));
        }
    }
    for (signal, backend) in backends {
        let name = format!("otlp/{signal}");
        exporters.push((
            name.clone(),
            map([
                ("endpoint", format!("{}:{}", backend.host, backend.port).into()),
                ("tls", map([("insecure", false.into())])),
            ]),
        ));
        pipelines.push((signal.into(), pipeline(&name)));
    }
    let config = map([
        ("extensions", map([("health_check", listen(Telemetry::HEALTH_PORT))])),
        (
            "receivers",
            map([(
                "otlp",
                map([(
                    "protocols",
                    map([("grpc", listen(Telemetry::OTLP_GRPC_PORT)), ("http", listen(Telemetry::OTLP_HTTP_PORT))]),
                )]),
            )]),
        ),
        (
            "processors",
            map([
                (
                    "memory_limiter",
                    map([
                        ("check_interval", "1s".into()),
                        ("limit_percentage", 80i64.into()),
                        ("spike_limit_percentage", 20i64.into()),
                    ]),
                ),
                ("batch", Yaml::Map(vec![])),
            ]),
        ),
        ("exporters", yaml::map_of(exporters)),
        ("service", map([("extensions", vec!["health_check"].into()), ("pipelines", yaml::map_of(pipelines))])),
    ]);
    let mut text = yaml::to_embedded(&config);
    text.push('\n');
    text
}

/// The image: through the environment's ECR pull-through cache of ECR Public in a cloud
/// tier (the cluster is private), straight from ECR Public in a local one.
pub fn image(view: &View, env: &ir::Environment) -> String {
    let upstream = versions::OTEL_COLLECTOR_IMAGE.to_string();
    if view.is_local() {
        return upstream;
    }
    let Some((Some(account), Some(region))) = env.aws.as_ref().map(|a| (a.account.as_deref(), a.region.as_deref()))
    else {
        return upstream;
    };
    crate::emit::registries::through_cache(view.project, &env.name, account, region, &upstream).unwrap_or(upstream)
}

/// Replicas of the collector: two in production (with a PodDisruptionBudget), one elsewhere.
fn replicas(env: &ir::Environment) -> u32 {
    if env.tier == ir::Tier::Production {
        2
    } else {
        1
    }
}

/// Every object of the collector of `view`'s environment; none without `telemetry`.
pub fn objects(view: &View) -> Vec<Object> {
    let (Some(env), Some(telemetry)) = (view.env, of(view)) else { return Vec::new() };
    let name = Telemetry::COLLECTOR;
    let meta = || vec![("labels", labels(view.project, name, "telemetry"))];
    let config = config(env, telemetry);
    let health = |extra: Vec<(&'static str, Yaml)>| {
        let mut p = vec![("httpGet".into(), map([("path", "/".into()), ("port", "health".into())]))];
        p.extend(extra.into_iter().map(|(k, v)| (k.into(), v)));
        Yaml::Map(p)
    };
    let port = |name: &str, port: u16| {
        map([("name", Yaml::text(name)), ("containerPort", port.into()), ("protocol", "TCP".into())])
    };
    let container = map([
        ("name", name.into()),
        ("image", image(view, env).into()),
        ("imagePullPolicy", if view.is_local() { "IfNotPresent" } else { "Always" }.into()),
        ("args", Yaml::Seq(vec![format!("--config={CONFIG_DIR}/collector.yaml").into()])),
        (
            "ports",
            Yaml::Seq(vec![
                port("otlp-grpc", Telemetry::OTLP_GRPC_PORT),
                port("otlp-http", Telemetry::OTLP_HTTP_PORT),
                port("health", Telemetry::HEALTH_PORT),
            ]),
        ),
        ("env", Yaml::Seq(vec![map([("name", "GOMEMLIMIT".into()), ("value", "400MiB".into())])])),
        ("resources", object::resources(CPU_MILLIS, MEMORY_BYTES)),
        ("readinessProbe", health(vec![("periodSeconds", 10i64.into())])),
        ("livenessProbe", health(vec![("initialDelaySeconds", 10i64.into()), ("periodSeconds", 20i64.into())])),
        ("securityContext", object::container_security_context().clone()),
        (
            "volumeMounts",
            Yaml::Seq(vec![
                map([("name", "config".into()), ("mountPath", CONFIG_DIR.into()), ("readOnly", true.into())]),
                object::mount("tmp", "/tmp"),
            ]),
        ),
    ]);
    let pod = map([
        ("serviceAccountName", name.into()),
        ("automountServiceAccountToken", false.into()),
        ("securityContext", object::pod_security_context().clone()),
        (
            "topologySpreadConstraints",
            Yaml::Seq(vec![map([
                ("maxSkew", 1i64.into()),
                ("topologyKey", "topology.kubernetes.io/zone".into()),
                ("whenUnsatisfiable", "ScheduleAnyway".into()),
                ("labelSelector", map([("matchLabels", selector(view.project, name))])),
            ])]),
        ),
        ("containers", Yaml::Seq(vec![container])),
        (
            "volumes",
            Yaml::Seq(vec![
                map([("name", "config".into()), ("configMap", map([("name", name.into())]))]),
                object::empty_dir("tmp"),
            ]),
        ),
    ]);
    let template_meta = map([
        ("labels", labels(view.project, name, "telemetry")),
        ("annotations", map([(super::service::CONFIG_DIGEST_ANNOTATION, sha256_hex(config.as_bytes()).into())])),
    ]);
    let count = replicas(env);
    let deployment = map([
        ("replicas", count.into()),
        ("revisionHistoryLimit", 5i64.into()),
        ("selector", map([("matchLabels", selector(view.project, name))])),
        ("template", map([("metadata", template_meta), ("spec", pod)])),
    ]);
    let service_port = |port_name: &str, port: u16, app: &str| {
        map([
            ("name", Yaml::text(port_name)),
            ("port", port.into()),
            ("targetPort", Yaml::text(port_name)),
            ("protocol", "TCP".into()),
            ("appProtocol", Yaml::text(app)),
        ])
    };
    let service = map([
        ("type", "ClusterIP".into()),
        ("selector", selector(view.project, name)),
        (
            "ports",
            Yaml::Seq(vec![
                service_port("otlp-grpc", Telemetry::OTLP_GRPC_PORT, "grpc"),
                service_port("otlp-http", Telemetry::OTLP_HTTP_PORT, "http"),
            ]),
        ),
    ]);
    let mut out = vec![
        Object::new("v1", "ServiceAccount", name, meta(), vec![("automountServiceAccountToken", false.into())]),
        Object::new("v1", "ConfigMap", name, meta(), vec![("data", map([("collector.yaml", config.into())]))]),
        Object::new("apps/v1", "Deployment", name, meta(), vec![("spec", deployment)]),
        Object::new("v1", "Service", name, meta(), vec![("spec", service)]),
    ];
    if count >= 2 {
        let spec =
            map([("maxUnavailable", 1i64.into()), ("selector", map([("matchLabels", selector(view.project, name))]))]);
        out.push(Object::new("policy/v1", "PodDisruptionBudget", name, meta(), vec![("spec", spec)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    const PROJECT: &str = r#"project shop {
  phase = "wire"
  environments = [local, production]
}
stack app {
  network core { }
  service api { port = 8080 }
}
environment local {
  tier = local
  stack = app
  service api {
    image = "registry.example.com/api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
  }
  telemetry { }
}
environment production {
  tier = production
  stack = app
  aws { account = "333333333333"  region = "eu-west-1" }
  state { bucket = "shop-state-production" }
  network core { cidr = 10.3.0.0/16 }
  service api {
    image = "registry.example.com/api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    replicas = 2
  }
  telemetry {
    traces = "otlp.traces.example.com:4317"
    logs = "203.0.113.60:4317"
  }
}
"#;

    fn build() -> BTreeMap<String, String> {
        let mut sources = crate::Sources::with_stdlib();
        sources.add("project.gov", PROJECT);
        let out = crate::compile(&sources, &crate::Options { emit: true });
        assert!(!out.has_errors(), "the project builds");
        out.files
    }

    fn documents(text: &str) -> Vec<serde_json::Value> {
        serde_norway::Deserializer::from_str(text)
            .map(|doc| {
                let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("YAML");
                serde_norway::from_value(yaml).expect("JSON")
            })
            .collect()
    }

    fn object(files: &BTreeMap<String, String>, env: &str, file: &str, name: &str) -> serde_json::Value {
        let text = &files[&format!("kubernetes/overlays/{env}/{file}")];
        documents(text).into_iter().find(|d| d["metadata"]["name"] == name).unwrap_or_else(|| panic!("{file}: {name}"))
    }

    fn config(files: &BTreeMap<String, String>, env: &str) -> serde_json::Value {
        let cm = object(files, env, "configmaps.yaml", "otel-collector");
        let text = cm["data"]["collector.yaml"].as_str().expect("collector.yaml");
        documents(text).remove(0)
    }

    #[test]
    fn pipelines_only_for_declared_backends_over_tls() {
        let files = build();
        let c = config(&files, "production");
        let pipelines = c["service"]["pipelines"].as_object().expect("pipelines");
        assert_eq!(pipelines.keys().collect::<Vec<_>>(), ["logs", "traces"], "no metrics pipeline without a backend");
        assert_eq!(c["exporters"]["otlp/traces"]["endpoint"], "otlp.traces.example.com:4317");
        assert_eq!(c["exporters"]["otlp/logs"]["endpoint"], "203.0.113.60:4317");
        assert_eq!(c["exporters"]["otlp/traces"]["tls"]["insecure"], false);
        assert!(c["exporters"].get("debug").is_none());
        assert_eq!(pipelines["traces"]["processors"], serde_json::json!(["memory_limiter", "batch"]));
        assert_eq!(pipelines["logs"]["exporters"], serde_json::json!(["otlp/logs"]));
        assert_eq!(c["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"], "0.0.0.0:4317");
        assert_eq!(c["receivers"]["otlp"]["protocols"]["http"]["endpoint"], "0.0.0.0:4318");
        assert_eq!(c["extensions"]["health_check"]["endpoint"], "0.0.0.0:13133");
    }

    #[test]
    fn a_local_collector_without_backends_prints() {
        let c = config(&build(), "local");
        assert_eq!(c["exporters"].as_object().expect("exporters").keys().collect::<Vec<_>>(), ["debug"]);
        for signal in ["traces", "metrics", "logs"] {
            assert_eq!(c["service"]["pipelines"][signal]["exporters"], serde_json::json!(["debug"]));
        }
    }

    #[test]
    fn the_collector_is_hardened_probed_and_pulled_through_the_cache() {
        let files = build();
        let d = object(&files, "production", "deployments.yaml", "otel-collector");
        assert_eq!(d["spec"]["replicas"], 2);
        let spread = &d["spec"]["template"]["spec"]["topologySpreadConstraints"][0];
        assert_eq!(spread["topologyKey"], "topology.kubernetes.io/zone");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["automountServiceAccountToken"], false);
        let c = &pod["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(c["resources"]["limits"], c["resources"]["requests"]);
        for probe in ["readinessProbe", "livenessProbe"] {
            assert_eq!(c[probe]["httpGet"]["port"], "health", "{probe}");
        }
        let health = c["ports"].as_array().expect("ports").iter().find(|p| p["name"] == "health").expect("health");
        assert_eq!(health["containerPort"], 13133);
        let image = c["image"].as_str().expect("image");
        let upstream = crate::emit::versions::OTEL_COLLECTOR_IMAGE.strip_prefix("public.ecr.aws/").expect("ECR Public");
        assert_eq!(
            image,
            format!("333333333333.dkr.ecr.eu-west-1.amazonaws.com/shop-production-ecr-public/{upstream}"),
            "a private cluster pulls it through the ECR Public cache"
        );
        // The cache exists in that environment's Terraform.
        assert!(files["terraform/production/compute.tf.json"].contains("aws_ecr_pull_through_cache_rule"));
        let local = object(&files, "local", "deployments.yaml", "otel-collector");
        assert_eq!(
            local["spec"]["template"]["spec"]["containers"][0]["image"],
            crate::emit::versions::OTEL_COLLECTOR_IMAGE
        );
        assert!(files["kubernetes/overlays/production/poddisruptionbudgets.yaml"].contains("name: otel-collector"));
        let svc = object(&files, "production", "services.yaml", "otel-collector");
        let ports: Vec<i64> =
            svc["spec"]["ports"].as_array().expect("ports").iter().filter_map(|p| p["port"].as_i64()).collect();
        assert_eq!(ports, [4317, 4318]);
    }

    #[test]
    fn every_service_is_wired_to_the_collector() {
        let files = build();
        let cm = object(&files, "production", "configmaps.yaml", "api-config");
        let data = &cm["data"];
        assert_eq!(data["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector.shop-production.svc.cluster.local:4318");
        assert_eq!(data["OTEL_EXPORTER_OTLP_PROTOCOL"], "http/protobuf");
        assert_eq!(data["OTEL_SERVICE_NAME"], "api");
        assert_eq!(data["OTEL_RESOURCE_ATTRIBUTES"], "deployment.environment=production,service.namespace=shop");
        // The base (the stack's view) knows no environment: the wiring is the overlay's.
        assert!(!files.iter().any(|(p, t)| p.starts_with("kubernetes/base/") && t.contains("OTEL_")));
    }
}
