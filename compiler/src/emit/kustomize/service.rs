//! The objects of one `service`: ServiceAccount, ConfigMap, Deployment, Service,
//! HorizontalPodAutoscaler (max > min), PodDisruptionBudget (min ≥ 2) and, in an
//! environment, the ExternalSecret that materializes its secret references.
//! Never a Secret with a value: the External Secrets operator creates `<service>-secrets`.

use std::borrow::Cow;

use super::object::{self, Object};
use super::patch::{diff_at, diff_optional};
use super::yaml::{map, map_of, MapWriter, Yaml};
use super::{labels, write_labels, write_selector, View, CLOUD_SECRET_STORE, LOCAL_SECRET_STORE};
use crate::emit::names;
use crate::ir::{self, EnvValue};
use sha2::{Digest, Sha256};

/// CPU utilization the autoscaler aims for.
const CPU_TARGET_PERCENT: i64 = 70;

/// `<service>-config`: the ConfigMap of non-secret env values.
pub fn config_map_name(svc: &str) -> String {
    [svc, "-config"].concat()
}

/// `<service>-secrets`: the Secret the ExternalSecret creates (deterministic).
pub fn secret_name(svc: &str) -> String {
    [svc, "-secrets"].concat()
}

/// The image a container names: the service's own name, a placeholder that the
/// overlay's `images:` entry replaces with the repository and pins by digest (or tag).
/// One placeholder per service, so two services built from one repository can be
/// pinned to different digests.
pub fn image_name(svc: &ir::Service) -> String {
    svc.name.clone()
}

/// The objects of a service, the three built from its [`Inputs`] not built yet: an
/// overlay compares the inputs with its base's first.
pub(crate) struct Parts<'a> {
    pub inputs: Inputs<'a>,
    /// The objects in order: ServiceAccount, ConfigMap, ExternalSecret, Deployment,
    /// Service, HorizontalPodAutoscaler, PodDisruptionBudget (those the service has).
    pub pieces: Vec<Piece>,
}

/// One of a service's objects: built from its inputs, or built already.
pub(crate) enum Piece {
    Built(Built),
    Object(Object),
}

/// The objects built from a service's [`Inputs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Built {
    Account,
    Config,
    Workload,
}

impl Built {
    #[cfg(test)]
    pub const ALL: [Built; 3] = [Built::Account, Built::Config, Built::Workload];

    /// Its place among the three, `0..3`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The `kind` of the object.
    pub fn kind(self) -> &'static str {
        match self {
            Built::Account => "ServiceAccount",
            Built::Config => "ConfigMap",
            Built::Workload => "Deployment",
        }
    }
}

/// [`Parts`] of `svc` in `view`.
pub(crate) fn parts<'a>(view: &View<'a>, svc: &'a ir::Service) -> Parts<'a> {
    let inputs = Inputs::of(view, svc);
    let mut pieces = Vec::with_capacity(7);
    pieces.push(Piece::Built(Built::Account));
    if inputs.digest.is_some() {
        pieces.push(Piece::Built(Built::Config));
    }
    if view.env.is_some() && has_secrets(svc) {
        pieces.push(Piece::Object(external_secret(view, svc)));
    }
    pieces.push(Piece::Built(Built::Workload));
    pieces.push(Piece::Object(service(view, svc)));
    if svc.replicas.max > svc.replicas.min {
        pieces.push(Piece::Object(autoscaler(view, svc)));
    }
    if svc.replicas.min >= 2 {
        pieces.push(Piece::Object(disruption_budget(view, svc)));
    }
    Parts { inputs, pieces }
}

/// All that a service's ServiceAccount, ConfigMap and Deployment are built from: the
/// service's fields and what its view adds to them (the role, the config values, the
/// pull policy, the local storage credentials). The builders read nothing else, so
/// two services whose inputs agree everywhere but in the role, the config values and
/// the replica count have objects that differ only there: an overlay writes that
/// difference from the inputs ([`Inputs::diff`]) and builds neither object.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Inputs<'a> {
    project: &'a str,
    name: &'a str,
    /// What the ServiceAccount is annotated with: the IAM role of a cloud environment's
    /// service that connects to a postgres.
    role_arn: Option<String>,
    /// The ConfigMap's data (a map; none when empty) and its digest, which the pod
    /// template carries.
    config: Yaml,
    digest: Option<String>,
    /// `spec.replicas`, when fixed (an autoscaler owns it otherwise).
    replicas: Option<i64>,
    /// The rest of the Deployment.
    pod: Pod<'a>,
}

/// What a service's Deployment is built from besides its replica count and its
/// ConfigMap's digest (whose presence also tells whether the container reads it).
#[derive(Clone, Debug, PartialEq)]
struct Pod<'a> {
    image: String,
    pull_policy: &'static str,
    port: u16,
    protocol: ir::Protocol,
    health: &'a str,
    cpu_millis: u32,
    memory_bytes: u64,
    /// The container's `env:`, each read from a Secret: variable, Secret, key.
    secret_vars: Vec<(&'a str, Cow<'a, str>, &'a str)>,
}

impl<'a> Inputs<'a> {
    /// The inputs of `svc` in `view`.
    pub fn of(view: &View<'a>, svc: &'a ir::Service) -> Inputs<'a> {
        // In a cloud environment a service that connects to a postgres has its own IAM
        // role (Terraform `identity.tf.json`), assumed with its ServiceAccount's token.
        let role_arn = view
            .env
            .filter(|_| !view.is_local() && view.resources.has_role(svc))
            .map(|env| role_arn(env, &names::role_name(view.project, &env.name, &format!("svc-{}", svc.name))));
        let config = config_values(view, svc);
        let digest = (!config.is_empty()).then(|| config_digest(&config));
        let mut secret_vars: Vec<(&'a str, Cow<'a, str>, &'a str)> = svc
            .env
            .iter()
            .filter_map(|var| match &var.value {
                EnvValue::Secret { secret, .. } => {
                    Some((var.key.as_str(), Cow::Owned(secret_name(&svc.name)), secret.as_str()))
                }
                _ => None,
            })
            .collect();
        if view.is_local() && view.resources.reaches_storage(svc) {
            for (var, key) in super::storage::CREDENTIALS {
                if !svc.env.iter().any(|v| v.key == var) {
                    secret_vars.push((var, Cow::Borrowed(super::storage::NAME), key));
                }
            }
        }
        let pod = Pod {
            image: image_name(svc),
            pull_policy: pull_policy(view, svc),
            port: svc.port,
            protocol: svc.protocol,
            health: &svc.health,
            cpu_millis: svc.cpu_millis,
            memory_bytes: svc.memory_bytes,
            secret_vars,
        };
        let replicas = (svc.replicas.min == svc.replicas.max).then(|| i64::from(svc.replicas.min));
        Inputs { project: view.project, name: &svc.name, role_arn, config: map_of(config), digest, replicas, pod }
    }

    /// The service's name.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The image the container names.
    pub fn image(&self) -> &str {
        &self.pod.image
    }

    /// Makes the container name `image` (the base's, which the overlay pins).
    pub fn set_image(&mut self, image: String) {
        self.pod.image = image;
    }

    /// The name of the object of `kind`; `None` for a ConfigMap without data.
    pub fn object_name(&self, kind: Built) -> Option<Cow<'a, str>> {
        match kind {
            Built::Config if self.digest.is_none() => None,
            Built::Config => Some(Cow::Owned(config_map_name(self.name))),
            Built::Account | Built::Workload => Some(Cow::Borrowed(self.name)),
        }
    }

    /// The object of `kind`.
    pub fn build(&self, kind: Built) -> Object {
        match kind {
            Built::Account => service_account(self),
            Built::Config => config_map(self),
            Built::Workload => deployment(self),
        }
    }

    /// Appends the operations that turn `base`'s object of `kind` into this one's, the
    /// diff of the two objects, without building either: `false` (and nothing
    /// appended) when the inputs differ beyond what an environment usually changes,
    /// and the objects must be built and diffed.
    ///
    /// The objects differ only in the fields the inputs compared here leave out; the
    /// diff of two objects writes nothing for an equal field and walks keys in their
    /// order, so it is the diff of those fields alone, kept at their paths and in their
    /// order: the ServiceAccount's annotations, the ConfigMap's data, the Deployment's
    /// replicas and the pod template's annotations.
    pub fn diff(&self, base: &Inputs, kind: Built, ops: &mut String) -> bool {
        if (self.project, self.name) != (base.project, base.name) {
            return false;
        }
        match kind {
            Built::Account => {
                diff_optional(ANNOTATIONS, base.annotations().as_ref(), self.annotations().as_ref(), ops);
            }
            Built::Config if self.digest.is_some() && base.digest.is_some() => {
                diff_at(&["data"], &base.config, &self.config, ops)
            }
            Built::Config => return false,
            Built::Workload if self.pod == base.pod && self.digest.is_some() == base.digest.is_some() => {
                let replicas = |inputs: &Inputs| inputs.replicas.map(Yaml::Int);
                let template = |ops: &mut String| {
                    let (from, to) = (base.template_annotations(), self.template_annotations());
                    diff_optional(TEMPLATE_ANNOTATIONS, from.as_ref(), to.as_ref(), ops);
                };
                // `spec` holds `replicas` (when fixed) before `template`; a diff of the
                // two maps walks the base's keys, then adds the environment's new ones.
                match (base.replicas, self.replicas) {
                    (None, Some(_)) => {
                        template(ops);
                        diff_optional(REPLICAS, None, replicas(self).as_ref(), ops);
                    }
                    _ => {
                        diff_optional(REPLICAS, replicas(base).as_ref(), replicas(self).as_ref(), ops);
                        template(ops);
                    }
                }
            }
            Built::Workload => return false,
        }
        true
    }

    /// The ServiceAccount's annotations.
    fn annotations(&self) -> Option<Yaml> {
        self.role_arn.as_ref().map(|arn| map([(names::ROLE_ARN_ANNOTATION, arn.into())]))
    }

    /// The pod template's annotations: the digest of the ConfigMap. A ConfigMap change
    /// alone does not restart pods; a digest of it in the template does, through a
    /// normal rolling update.
    fn template_annotations(&self) -> Option<Yaml> {
        self.digest.as_ref().map(|digest| map([(CONFIG_DIGEST_ANNOTATION, digest.into())]))
    }

    fn write_labels(&self, m: &mut MapWriter) {
        write_labels(m, self.project, self.name, "service");
    }
}

fn meta(view: &View, svc: &ir::Service) -> Vec<(&'static str, Yaml)> {
    vec![("labels", labels(view.project, &svc.name, "service"))]
}

/// The ServiceAccount, written as text like the ConfigMap and the Deployment: a base
/// holds a fleet's thousands as text ([`Object::into_text`]), and an overlay reads one
/// back into a tree only when its inputs do not tell the patch ([`Inputs::diff`]).
fn service_account(inputs: &Inputs) -> Object {
    let metadata = |m: &mut MapWriter| {
        inputs.write_labels(m);
        // The annotations `Inputs::diff` patches: the same value, from the same place.
        if let Some(annotations) = inputs.annotations() {
            m.value("annotations", &annotations);
        }
    };
    let rest = |doc: &mut MapWriter| {
        doc.bool("automountServiceAccountToken", false);
    };
    Object::written("v1", "ServiceAccount", inputs.name.to_string(), metadata, rest)
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

fn config_map(inputs: &Inputs) -> Object {
    let data = |doc: &mut MapWriter| {
        // The keys are the program's variables: written as a tree's keys, quoted if need be.
        doc.value("data", &inputs.config);
    };
    Object::written("v1", "ConfigMap", config_map_name(inputs.name), |m| inputs.write_labels(m), data)
}

/// The secret store path of a secret reference: the secret's `path`, else the one the
/// reference carries, else `<project>/<env>/<secret>` (before `secrets` is authorized).
fn secret_path(view: &View, secret: &str, path: Option<&String>) -> String {
    view.secret(secret)
        .and_then(|s| s.path.clone())
        .or_else(|| path.cloned())
        .unwrap_or_else(|| format!("{}/{}/{secret}", view.project, view.env.map_or("", |e| e.name.as_str())))
}

/// `external-secrets.io/v1` ExternalSecret: one data entry per referenced secret, whose
/// `secretKey` is the secret's name and `remoteRef.key` its store path.
fn external_secret(view: &View, svc: &ir::Service) -> Object {
    let mut data: Vec<(String, Yaml)> = Vec::new();
    // Each secret once, however many variables read it.
    let mut seen = foldhash::HashSet::default();
    for var in &svc.env {
        if let EnvValue::Secret { secret, path } = &var.value {
            if !seen.insert(secret.as_str()) {
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
fn write_probe_action(probe: &mut MapWriter, pod: &Pod) {
    let port_name = pod.protocol.as_str();
    match pod.protocol {
        ir::Protocol::Http => probe.map("httpGet", |get| {
            get.str("path", pod.health).str("port", port_name);
        }),
        ir::Protocol::Grpc => probe.map("grpc", |grpc| {
            grpc.int("port", pod.port.into());
        }),
        ir::Protocol::Tcp => probe.map("tcpSocket", |tcp| {
            tcp.str("port", port_name);
        }),
    };
}

/// The service's container.
fn write_container(c: &mut MapWriter, inputs: &Inputs) {
    let pod = &inputs.pod;
    c.str("name", inputs.name).str("image", &pod.image).str("imagePullPolicy", pod.pull_policy).seq("ports", |ports| {
        ports.map(|port| {
            port.str("name", pod.protocol.as_str()).int("containerPort", pod.port.into()).str("protocol", "TCP");
        });
    });
    // A service with config values reads its ConfigMap.
    if inputs.digest.is_some() {
        c.seq("envFrom", |from| {
            from.map(|source| {
                source.map("configMapRef", |config| {
                    config.str("name", &config_map_name(inputs.name));
                });
            });
        });
    }
    if !pod.secret_vars.is_empty() {
        c.seq("env", |vars| {
            for (var, secret, key) in &pod.secret_vars {
                vars.map(|v| {
                    v.str("name", var).map("valueFrom", |from| {
                        from.map("secretKeyRef", |r| {
                            r.str("name", secret).str("key", key);
                        });
                    });
                });
            }
        });
    }
    c.value("resources", &object::resources(pod.cpu_millis, pod.memory_bytes));
    c.map("readinessProbe", |probe| {
        write_probe_action(probe, pod);
        probe.int("periodSeconds", 10);
    });
    c.map("livenessProbe", |probe| {
        write_probe_action(probe, pod);
        probe.int("initialDelaySeconds", 10).int("periodSeconds", 20);
    });
    c.value("securityContext", object::container_security_context());
    c.seq("volumeMounts", |mounts| {
        mounts.value(&object::mount("tmp", "/tmp"));
    });
}

/// Where [`Inputs::diff`] finds what an environment usually changes: the
/// ServiceAccount's annotations, the Deployment's replicas and its pod template's
/// annotations (each the only entry of its map but `replicas`, before `template`).
const ANNOTATIONS: &[&str] = &["metadata", "annotations"];
const REPLICAS: &[&str] = &["spec", "replicas"];
const TEMPLATE_ANNOTATIONS: &[&str] = &["spec", "template", "metadata", "annotations"];

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
fn write_zone_spread(spread: &mut MapWriter, inputs: &Inputs) {
    spread
        .int("maxSkew", 1)
        .str("topologyKey", "topology.kubernetes.io/zone")
        .str("whenUnsatisfiable", "ScheduleAnyway")
        .map("labelSelector", |selector| write_selector(selector, "matchLabels", inputs.project, inputs.name));
}

/// The Deployment. `replicas` is set only when fixed; with an autoscaler it owns it.
fn deployment(inputs: &Inputs) -> Object {
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            if let Some(replicas) = inputs.replicas {
                spec.int("replicas", replicas);
            }
            spec.int("revisionHistoryLimit", 5)
                .map("selector", |selector| write_selector(selector, "matchLabels", inputs.project, inputs.name))
                .map("template", |template| {
                    template.map("metadata", |meta| {
                        inputs.write_labels(meta);
                        if let Some(annotations) = inputs.template_annotations() {
                            meta.value("annotations", &annotations);
                        }
                    });
                    template.map("spec", |pod| {
                        pod.str("serviceAccountName", inputs.name)
                            .bool("automountServiceAccountToken", false)
                            .value("securityContext", object::pod_security_context())
                            .seq("topologySpreadConstraints", |spreads| {
                                spreads.map(|spread| write_zone_spread(spread, inputs));
                            })
                            .seq("containers", |containers| {
                                containers.map(|c| write_container(c, inputs));
                            })
                            .seq("volumes", |volumes| {
                                volumes.value(&object::empty_dir("tmp"));
                            });
                    });
                });
        });
    };
    Object::written("apps/v1", "Deployment", inputs.name.to_string(), |m| inputs.write_labels(m), spec)
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::emit::kustomize::patch::diff_objects;

    /// Inputs of service `web` from a few choices of each field: pairs of them share
    /// much and differ a little, like a base and an environment.
    fn inputs() -> impl Strategy<Value = Inputs<'static>> {
        let role = prop::option::of(prop::sample::select(vec!["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]));
        let config = prop::collection::btree_map(
            prop::sample::select(vec!["DB_HOST", "LOG_LEVEL", "A/B", "x~y"]),
            prop::sample::select(vec!["db.dev", "db.prod", "debug", "true", "two\nlines"]),
            0..4,
        );
        let replicas = prop::option::of(1i64..4);
        let policy = prop::sample::select(vec!["IfNotPresent", "Always"]);
        let secret = prop::option::of(prop::sample::select(vec!["token", "key"]));
        (role, config, replicas, policy, secret, 100u32..102).prop_map(
            |(role, config, replicas, pull_policy, secret, cpu_millis)| {
                let config: Vec<(String, Yaml)> = config.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
                let digest = (!config.is_empty()).then(|| config_digest(&config));
                let secret_vars = secret.map(|key| ("TOKEN", Cow::Borrowed("web-secrets"), key)).into_iter().collect();
                let pod = Pod {
                    image: "web".to_string(),
                    pull_policy,
                    port: 8080,
                    protocol: ir::Protocol::Http,
                    health: "/healthz",
                    cpu_millis,
                    memory_bytes: 1 << 28,
                    secret_vars,
                };
                Inputs {
                    project: "shop",
                    name: "web",
                    role_arn: role.map(str::to_string),
                    config: map_of(config),
                    digest,
                    replicas,
                    pod,
                }
            },
        )
    }

    proptest! {
        /// What the inputs tell is what the diff of the objects built from them gives.
        #[test]
        fn the_inputs_tell_the_objects_diff(base in inputs(), env in inputs()) {
            for kind in Built::ALL {
                if base.object_name(kind).is_none() || env.object_name(kind).is_none() {
                    continue;
                }
                let mut told = String::new();
                if !env.diff(&base, kind, &mut told) {
                    prop_assert_eq!(&told, "", "nothing is written when the inputs cannot tell");
                    continue;
                }
                let mut diffed = String::new();
                diff_objects(&base.build(kind), &env.build(kind), &mut diffed).expect("diffs");
                prop_assert_eq!(told, diffed, "{:?}", kind);
            }
        }
    }

    /// What an environment usually changes is told without building anything; a change
    /// elsewhere in the Deployment is not.
    #[test]
    fn the_usual_changes_are_told() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let base = inputs().new_tree(&mut runner).expect("inputs").current();
        let mut env = base.clone();
        env.role_arn = Some("arn:aws:iam::2:role/web".to_string());
        env.replicas = Some(base.replicas.unwrap_or(1) + 1);
        env.config = map_of([("DB_HOST".to_string(), "db.staging".into())]);
        env.digest = Some("d".repeat(64));
        let mut base = base;
        base.config = map_of([("DB_HOST".to_string(), "db.base".into())]);
        base.digest = Some("b".repeat(64));
        env.pod = base.pod.clone();
        for kind in Built::ALL {
            let mut ops = String::new();
            assert!(env.diff(&base, kind, &mut ops), "{kind:?}");
            assert!(!ops.is_empty(), "{kind:?}");
        }
        env.pod.cpu_millis += 1;
        assert!(!env.diff(&base, Built::Workload, &mut String::new()));
    }
}
