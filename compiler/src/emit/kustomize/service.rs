//! The objects of one `service`: ServiceAccount, ConfigMap, Deployment, Service,
//! HorizontalPodAutoscaler (max > min), PodDisruptionBudget (min ≥ 2) and, in an
//! environment, the ExternalSecret that materializes its secret references.
//! Never a Secret with a value: the External Secrets operator creates `<service>-secrets`.

use super::object::{self, Object};
use super::yaml::{map, map_of, MapWriter, Yaml};
use super::{labels, selector, write_labels, write_selector, View, CLOUD_SECRET_STORE, LOCAL_SECRET_STORE};
use crate::emit::names;
use crate::ir::{self, EnvValue};
use sha2::{Digest, Sha256};

/// CPU utilization the autoscaler aims for.
const CPU_TARGET_PERCENT: i64 = 70;

/// `<service>-config`: the ConfigMap of non-secret env values.
pub fn config_map_name(svc: &str) -> String {
    format!("{svc}-config")
}

/// `<service>-secrets`: the Secret the ExternalSecret creates (deterministic).
pub fn secret_name(svc: &str) -> String {
    format!("{svc}-secrets")
}

/// The image a container names: the service's own name, a placeholder that the
/// overlay's `images:` entry replaces with the repository and pins by digest (or tag).
/// One placeholder per service, so two services built from one repository can be
/// pinned to different digests.
pub fn image_name(svc: &ir::Service) -> String {
    svc.name.clone()
}

/// Every object of `svc` in `view`.
pub fn objects(view: &View, svc: &ir::Service) -> Vec<Object> {
    let mut out = Vec::with_capacity(7);
    out.push(service_account(view, svc));
    // The values are read once: the Deployment carries their digest.
    let config = config_values(view, svc);
    let digest = (!config.is_empty()).then(|| config_digest(&config));
    if !config.is_empty() {
        out.push(config_map(view, svc, config));
    }
    if view.env.is_some() && has_secrets(svc) {
        out.push(external_secret(view, svc));
    }
    out.push(deployment(view, svc, digest));
    out.push(service(view, svc));
    if svc.replicas.max > svc.replicas.min {
        out.push(autoscaler(view, svc));
    }
    if svc.replicas.min >= 2 {
        out.push(disruption_budget(view, svc));
    }
    out
}

fn meta(view: &View, svc: &ir::Service) -> Vec<(&'static str, Yaml)> {
    vec![("labels", labels(view.project, &svc.name, "service"))]
}

fn service_account(view: &View, svc: &ir::Service) -> Object {
    let mut metadata = meta(view, svc);
    // In a cloud environment a service that connects to a postgres has its own IAM role
    // (Terraform `identity.tf.json`), assumed with this ServiceAccount's token.
    if let Some(env) = view.env.filter(|_| !view.is_local() && view.resources.has_role(svc)) {
        let role = names::role_name(view.project, &env.name, &format!("svc-{}", svc.name));
        metadata.push(("annotations", map([(names::ROLE_ARN_ANNOTATION, role_arn(env, &role).into())])));
    }
    Object::new("v1", "ServiceAccount", &svc.name, metadata, vec![("automountServiceAccountToken", false.into())])
}

/// `arn:aws:iam::<account>:role/<name>`: the account is known statically (`aws.account`).
pub fn role_arn(env: &ir::Environment, role: &str) -> String {
    let account = env.aws.as_ref().and_then(|a| a.account.clone()).unwrap_or_default();
    format!("arn:aws:iam::{account}:role/{role}")
}

fn has_secrets(svc: &ir::Service) -> bool {
    svc.env.iter().any(|e| matches!(e.value, EnvValue::Secret { .. }))
}

/// Non-secret env values, by key. For `tier = local`, `<postgres>.host` points at the
/// in-cluster Postgres Service instead of the cloud's private DNS name.
fn config_values(view: &View, svc: &ir::Service) -> Vec<(String, Yaml)> {
    let mut out = Vec::new();
    for var in &svc.env {
        let value = match &var.value {
            EnvValue::Literal(s) => s.clone(),
            EnvValue::Attribute { resource, attribute, value } => match view.env {
                Some(env) if view.is_local() && attribute == "host" && view.database(resource).is_some() => {
                    format!("{resource}.{}.svc.cluster.local", env.namespace)
                }
                _ => value.clone(),
            },
            EnvValue::Secret { .. } => continue,
        };
        out.push((var.key.clone(), Yaml::from(value)));
    }
    // A local service that connects to a bucket: the in-cluster MinIO (a key the program
    // sets itself wins).
    if let Some(env) = view.env.filter(|_| view.is_local() && view.resources.reaches_storage(svc)) {
        for (key, value) in super::storage::service_values(env) {
            if !svc.env.iter().any(|v| v.key == key) {
                out.push((key, Yaml::from(value)));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
    }
    // The wiring to the environment's collector (E416 keeps a service from setting it).
    if let (Some(env), Some(_)) = (view.env, super::telemetry::of(view)) {
        let endpoint = super::telemetry::endpoint(env);
        for (key, value) in super::telemetry::service_variables(view.project, env, svc, &endpoint) {
            out.push((key, Yaml::from(value)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
    }
    out
}

fn config_map(view: &View, svc: &ir::Service, data: Vec<(String, Yaml)>) -> Object {
    Object::new("v1", "ConfigMap", &config_map_name(&svc.name), meta(view, svc), vec![("data", map_of(data))])
}

/// The secret store path of a secret reference: the secret's `path`, else the one the
/// reference carries, else `<project>/<env>/<secret>` (before `secrets` is authorized).
fn secret_path(view: &View, secret: &str, path: Option<&String>) -> String {
    view.resources
        .secret(secret)
        .and_then(|s| s.path.clone())
        .or_else(|| path.cloned())
        .unwrap_or_else(|| format!("{}/{}/{secret}", view.project, view.env.map_or("", |e| e.name.as_str())))
}

/// `external-secrets.io/v1` ExternalSecret: one data entry per referenced secret, whose
/// `secretKey` is the secret's name and `remoteRef.key` its store path.
fn external_secret(view: &View, svc: &ir::Service) -> Object {
    let mut data: Vec<(String, Yaml)> = Vec::new();
    for var in &svc.env {
        if let EnvValue::Secret { secret, path } = &var.value {
            if data.iter().any(|(name, _)| name == secret) {
                continue;
            }
            let entry = map([
                ("secretKey", secret.into()),
                ("remoteRef", map([("key", secret_path(view, secret, path.as_ref()).into())])),
            ]);
            data.push((secret.clone(), entry));
        }
    }
    data.sort_by(|a, b| a.0.cmp(&b.0));
    let spec = external_secret_spec(view, &secret_name(&svc.name), data.into_iter().map(|(_, v)| v).collect());
    Object::new(
        "external-secrets.io/v1",
        "ExternalSecret",
        &secret_name(&svc.name),
        meta(view, svc),
        vec![("spec", spec)],
    )
}

/// The spec of an ExternalSecret creating Secret `target` from `data`, from the
/// environment's ClusterSecretStore.
pub fn external_secret_spec(view: &View, target: &str, data: Vec<Yaml>) -> Yaml {
    let store = if view.is_local() { LOCAL_SECRET_STORE } else { CLOUD_SECRET_STORE };
    map([
        ("refreshInterval", "1h".into()),
        ("secretStoreRef", map([("kind", "ClusterSecretStore".into()), ("name", store.into())])),
        ("target", map([("name", Yaml::text(target)), ("creationPolicy", "Owner".into())])),
        ("data", Yaml::Seq(data)),
    ])
}

/// `IfNotPresent` for an image pinned by digest (immutable) and for `tier = local`
/// (images loaded into the local cluster are in no registry); `Always` for a tag in a
/// cloud tier, so a moved tag is not silently ignored on a node that has the old one.
fn pull_policy(view: &View, svc: &ir::Service) -> &'static str {
    let by_tag = svc.image.as_ref().is_some_and(|i| i.digest.is_none());
    if view.env.is_some() && !view.is_local() && by_tag {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// The name of the service's port in the container and the Service: its protocol
/// (`http`, `grpc`, `tcp`), which the probes and the Ingress backends name.
pub fn port_name(svc: &ir::Service) -> &'static str {
    svc.protocol.as_str()
}

/// How the kubelet probes the service, by protocol: an HTTP GET of `health`; the gRPC
/// health checking protocol (`grpc.health.v1.Health/Check`, whose probe takes a port
/// number, not a name); a TCP connection.
fn probe_action(svc: &ir::Service) -> (&'static str, Yaml) {
    match svc.protocol {
        ir::Protocol::Http => ("httpGet", map([("path", (&svc.health).into()), ("port", port_name(svc).into())])),
        ir::Protocol::Grpc => ("grpc", map([("port", svc.port.into())])),
        ir::Protocol::Tcp => ("tcpSocket", map([("port", port_name(svc).into())])),
    }
}

/// The service's container; `has_config`: it reads a ConfigMap.
fn container(view: &View, svc: &ir::Service, has_config: bool) -> Yaml {
    let probe = |extra: Vec<(&'static str, Yaml)>| {
        let (action, how) = probe_action(svc);
        let mut p = vec![(action.into(), how)];
        p.extend(extra.into_iter().map(|(k, v)| (k.into(), v)));
        Yaml::Map(p)
    };
    let mut c = Vec::with_capacity(11);
    c.extend([
        ("name", Yaml::from(&svc.name)),
        ("image", image_name(svc).into()),
        ("imagePullPolicy", pull_policy(view, svc).into()),
        (
            "ports",
            Yaml::Seq(vec![map([
                ("name", port_name(svc).into()),
                ("containerPort", svc.port.into()),
                ("protocol", "TCP".into()),
            ])]),
        ),
    ]);
    if has_config {
        c.push((
            "envFrom",
            Yaml::Seq(vec![map([("configMapRef", map([("name", config_map_name(&svc.name).into())]))])]),
        ));
    }
    let secrets: Vec<Yaml> = svc
        .env
        .iter()
        .filter_map(|var| match &var.value {
            EnvValue::Secret { secret, .. } => Some(map([
                ("name", (&var.key).into()),
                (
                    "valueFrom",
                    map([("secretKeyRef", map([("name", secret_name(&svc.name).into()), ("key", secret.into())]))]),
                ),
            ])),
            _ => None,
        })
        .collect();
    let mut secrets = secrets;
    if view.is_local() && view.resources.reaches_storage(svc) {
        for (var, key) in super::storage::CREDENTIALS {
            if svc.env.iter().any(|v| v.key == var) {
                continue;
            }
            secrets.push(map([
                ("name", var.into()),
                (
                    "valueFrom",
                    map([("secretKeyRef", map([("name", super::storage::NAME.into()), ("key", key.into())]))]),
                ),
            ]));
        }
    }
    if !secrets.is_empty() {
        c.push(("env", Yaml::Seq(secrets)));
    }
    c.push(("resources", object::resources(svc.cpu_millis, svc.memory_bytes)));
    c.push(("readinessProbe", probe(vec![("periodSeconds", 10i64.into())])));
    c.push(("livenessProbe", probe(vec![("initialDelaySeconds", 10i64.into()), ("periodSeconds", 20i64.into())])));
    c.push(("securityContext", object::container_security_context().clone()));
    c.push(("volumeMounts", Yaml::Seq(vec![object::mount("tmp", "/tmp")])));
    Yaml::Map(c.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// The pod template annotation holding the sha256 of the service's ConfigMap data.
pub const CONFIG_DIGEST_ANNOTATION: &str = "govc/config-sha256";

/// The sha256 of `KEY=value` lines, sorted by key as the IR gives them.
fn config_digest(config: &[(String, Yaml)]) -> String {
    let mut hasher = Sha256::new();
    // One buffer for every `len=text\0` piece; the hash is the same fed in any split.
    let mut piece = String::new();
    for (key, value) in config {
        let text = match value {
            Yaml::Str(s) => s,
            _ => "",
        };
        for part in [key.as_str(), text] {
            piece.clear();
            crate::emit::push_decimal(&mut piece, part.len() as u64);
            piece.push('=');
            piece.push_str(part);
            piece.push('\0');
            hasher.update(piece.as_bytes());
        }
    }
    crate::lock::hex(&hasher.finalize())
}

/// Spread replicas across zones when the scheduler can; never blocks scheduling.
fn zone_spread(view: &View, svc: &ir::Service) -> Yaml {
    map([
        ("maxSkew", 1i64.into()),
        ("topologyKey", "topology.kubernetes.io/zone".into()),
        ("whenUnsatisfiable", "ScheduleAnyway".into()),
        ("labelSelector", map([("matchLabels", selector(view.project, &svc.name))])),
    ])
}

/// The Deployment. `replicas` is set only when fixed; with an autoscaler it owns it.
/// `config_digest`: the [`config_digest`] of its ConfigMap, when it has one.
fn deployment(view: &View, svc: &ir::Service, config_digest: Option<String>) -> Object {
    let mut spec = Vec::new();
    if svc.replicas.min == svc.replicas.max {
        spec.push(("replicas", Yaml::from(svc.replicas.min)));
    }
    spec.push(("revisionHistoryLimit", 5i64.into()));
    spec.push(("selector", map([("matchLabels", selector(view.project, &svc.name))])));
    let pod = map([
        ("serviceAccountName", (&svc.name).into()),
        ("automountServiceAccountToken", false.into()),
        ("securityContext", object::pod_security_context().clone()),
        ("topologySpreadConstraints", Yaml::Seq(vec![zone_spread(view, svc)])),
        ("containers", Yaml::Seq(vec![container(view, svc, config_digest.is_some())])),
        ("volumes", Yaml::Seq(vec![object::empty_dir("tmp")])),
    ]);
    let mut template_meta = vec![("labels".into(), labels(view.project, &svc.name, "service"))];
    if let Some(digest) = config_digest {
        // A ConfigMap change alone does not restart pods; a digest of it in the
        // template does, through a normal rolling update.
        template_meta.push(("annotations".into(), map([(CONFIG_DIGEST_ANNOTATION, digest.into())])));
    }
    spec.push(("template", map([("metadata", Yaml::Map(template_meta)), ("spec", pod)])));
    let spec = Yaml::Map(spec.into_iter().map(|(k, v)| (k.into(), v)).collect());
    Object::new("apps/v1", "Deployment", &svc.name, meta(view, svc), vec![("spec", spec)])
}

/// The path the load balancer checks a gRPC target on: the gRPC health checking protocol.
pub const GRPC_HEALTH_PATH: &str = "/grpc.health.v1.Health/Check";

/// The annotations the AWS Load Balancer Controller reads per target group, so on the
/// Service (they take precedence over the Ingress's and are ignored elsewhere): the
/// health check path; for gRPC the target group's protocol version `GRPC` and the
/// health check's success code, the gRPC status `0` (OK). A `tcp` service has none:
/// no route reaches it (E419).
fn target_group_annotations(svc: &ir::Service) -> Option<Yaml> {
    match svc.protocol {
        ir::Protocol::Http => Some(map([("alb.ingress.kubernetes.io/healthcheck-path", (&svc.health).into())])),
        ir::Protocol::Grpc => Some(map([
            ("alb.ingress.kubernetes.io/backend-protocol-version", "GRPC".into()),
            ("alb.ingress.kubernetes.io/healthcheck-path", GRPC_HEALTH_PATH.into()),
            ("alb.ingress.kubernetes.io/success-codes", "0".into()),
        ])),
        ir::Protocol::Tcp => None,
    }
}

/// The port's `appProtocol`: the IANA name `http`, or `kubernetes.io/h2c` (HTTP/2 over
/// cleartext, which gRPC is) for gRPC; none for plain TCP.
pub fn app_protocol(svc: &ir::Service) -> Option<&'static str> {
    match svc.protocol {
        ir::Protocol::Http => Some("http"),
        ir::Protocol::Grpc => Some("kubernetes.io/h2c"),
        ir::Protocol::Tcp => None,
    }
}

/// ClusterIP Service on the service's port, named after its protocol, with the target
/// group annotations of [`target_group_annotations`]. Written as text: an environment's
/// is almost always its base's, which a comparison of the texts finds.
fn service(view: &View, svc: &ir::Service) -> Object {
    let metadata = |m: &mut MapWriter| {
        write_labels(m, view.project, &svc.name, "service");
        if let Some(annotations) = target_group_annotations(svc) {
            m.value("annotations", &annotations);
        }
    };
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            spec.str("type", "ClusterIP");
            write_selector(spec, "selector", view.project, &svc.name);
            spec.seq("ports", |ports| {
                ports.map(|port| {
                    port.str("name", port_name(svc))
                        .int("port", svc.port.into())
                        .str("targetPort", port_name(svc))
                        .str("protocol", "TCP");
                    if let Some(app) = app_protocol(svc) {
                        port.str("appProtocol", app);
                    }
                });
            });
        });
    };
    Object::written("v1", "Service", svc.name.clone(), metadata, spec)
}

/// The HorizontalPodAutoscaler of a service whose replicas may vary: an environment's
/// own object (a base rarely has one), written as text.
fn autoscaler(view: &View, svc: &ir::Service) -> Object {
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            spec.map("scaleTargetRef", |target| {
                target.str("apiVersion", "apps/v1").str("kind", "Deployment").str("name", &svc.name);
            })
            .int("minReplicas", svc.replicas.min.into())
            .int("maxReplicas", svc.replicas.max.into())
            .seq("metrics", |metrics| {
                metrics.map(|metric| {
                    metric.str("type", "Resource").map("resource", |resource| {
                        resource.str("name", "cpu").map("target", |target| {
                            target.str("type", "Utilization").int("averageUtilization", CPU_TARGET_PERCENT);
                        });
                    });
                });
            });
        });
    };
    let metadata = |m: &mut MapWriter| write_labels(m, view.project, &svc.name, "service");
    Object::written("autoscaling/v2", "HorizontalPodAutoscaler", svc.name.clone(), metadata, spec)
}

/// The PodDisruptionBudget of a service with two replicas or more, written as text.
fn disruption_budget(view: &View, svc: &ir::Service) -> Object {
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            spec.int("maxUnavailable", 1).map("selector", |selector| {
                write_selector(selector, "matchLabels", view.project, &svc.name);
            });
        });
    };
    let metadata = |m: &mut MapWriter| write_labels(m, view.project, &svc.name, "service");
    Object::written("policy/v1", "PodDisruptionBudget", svc.name.clone(), metadata, spec)
}
