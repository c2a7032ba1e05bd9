//! The cluster-wide objects of a cloud environment's overlay (each cloud environment
//! has its own EKS cluster, so its overlay is also its cluster's):
//!
//! - the `ClusterSecretStore` [`CLOUD_SECRET_STORE`] its ExternalSecrets read, for AWS
//!   Secrets Manager in the environment's region, authenticated by the operator's own
//!   EKS Pod Identity (no `auth` block: the role `compute.tf.json` associates with
//!   `external-secrets/external-secrets` reads only this environment's secrets), and
//!   usable from the environment's namespace only (`spec.conditions`);
//! - the Cluster Autoscaler in `kube-system` (ServiceAccount, RBAC, Deployment), the
//!   node autoscaling of the managed node group; its AWS permissions come from the Pod
//!   Identity role of `compute.tf.json`, limited to that group by tag.
//!
//! The overlay's `namespace:` would move these objects into the environment's
//! namespace (Kustomize treats a custom kind such as `ClusterSecretStore` as
//! namespaced), so [`transformers`] puts them back: they run after the built-in ones.

use super::object::{self, Object};
use super::yaml::{map, Yaml};
use super::{View, CLOUD_SECRET_STORE};
use crate::emit::terraform::{CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT};
use crate::emit::{names, registries, versions};

/// The label that marks the objects [`transformers`] returns to `kube-system`.
pub const SYSTEM_LABEL: &str = "govc/cluster-addon";

/// The Cluster Autoscaler's metrics and health port.
const AUTOSCALER_PORT: i64 = 8085;

/// The cluster-wide objects of `view`'s environment (none for a base or `tier = local`).
pub fn objects(view: &View) -> Result<Vec<Object>, String> {
    let Some(env) = view.env.filter(|_| !view.is_local()) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    if has_store(view) {
        out.push(secret_store(view, env)?);
    }
    out.extend(cluster_autoscaler(view, env)?);
    Ok(out)
}

/// True when the environment's ExternalSecrets need the AWS store (the same condition
/// as the operator's role in `compute.tf.json`).
pub fn has_store(view: &View) -> bool {
    !view.is_local() && view.env.is_some() && view.resources.has_stored_secrets()
}

fn region(env: &crate::ir::Environment) -> Result<&str, String> {
    env.aws
        .as_ref()
        .and_then(|a| a.region.as_deref())
        .ok_or_else(|| format!("environment `{}` has no AWS region", env.name))
}

fn addon_labels(view: &View, name: &str) -> Yaml {
    map([
        ("app.kubernetes.io/name", Yaml::text(name)),
        ("app.kubernetes.io/part-of", Yaml::text(view.project)),
        ("app.kubernetes.io/managed-by", "govc".into()),
    ])
}

fn secret_store(view: &View, env: &crate::ir::Environment) -> Result<Object, String> {
    let aws = map([("service", "SecretsManager".into()), ("region", Yaml::text(region(env)?))]);
    Ok(Object::new(
        "external-secrets.io/v1",
        "ClusterSecretStore",
        CLOUD_SECRET_STORE,
        vec![("labels", addon_labels(view, CLOUD_SECRET_STORE))],
        vec![(
            "spec",
            map([
                ("provider", map([("aws", aws)])),
                ("conditions", Yaml::Seq(vec![map([("namespaces", Yaml::Seq(vec![Yaml::text(&env.namespace)]))])])),
            ]),
        )],
    ))
}

fn system_meta(view: &View) -> Vec<(&'static str, Yaml)> {
    let mut labels = addon_labels(view, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT);
    if let Yaml::Map(entries) = &mut labels {
        entries.push((SYSTEM_LABEL.into(), "kube-system".into()));
    }
    vec![("namespace", CLUSTER_AUTOSCALER_NAMESPACE.into()), ("labels", labels)]
}

fn rule(groups: &[&'static str], resources: &[&'static str], verbs: &[&'static str], names: &[&'static str]) -> Yaml {
    let mut entries =
        vec![("apiGroups".into(), groups.to_vec().into()), ("resources".into(), resources.to_vec().into())];
    if !names.is_empty() {
        entries.push(("resourceNames".into(), names.to_vec().into()));
    }
    entries.push(("verbs".into(), verbs.to_vec().into()));
    Yaml::Map(entries)
}

/// The upstream `cluster-autoscaler-autodiscover.yaml` example, reduced to what the
/// AWS provider with one managed node group needs, and hardened like govc's services.
fn cluster_autoscaler(view: &View, env: &crate::ir::Environment) -> Result<Vec<Object>, String> {
    const NAME: &str = CLUSTER_AUTOSCALER_SERVICE_ACCOUNT;
    let k8s = versions::kubernetes(&env.kubernetes_version)
        .ok_or_else(|| format!("environment `{}`: no pinned Cluster Autoscaler", env.name))?;
    let cluster = names::cluster_name(view.project, &env.name);
    // On registry.k8s.io: pulled through the environment's cache (registries.rs).
    let upstream = format!("{}:{}", versions::CLUSTER_AUTOSCALER_IMAGE, k8s.cluster_autoscaler);
    let image = match env.aws.as_ref().and_then(|a| a.account.as_deref()) {
        Some(account) => registries::through_cache(view.project, &env.name, account, region(env)?, &upstream),
        None => None,
    }
    .unwrap_or(upstream);
    let subject = || {
        Yaml::Seq(vec![map([
            ("kind", "ServiceAccount".into()),
            ("name", NAME.into()),
            ("namespace", CLUSTER_AUTOSCALER_NAMESPACE.into()),
        ])])
    };
    let role_ref = |kind: &str| {
        map([("apiGroup", "rbac.authorization.k8s.io".into()), ("kind", Yaml::text(kind)), ("name", NAME.into())])
    };
    let read = &["get", "list", "watch"];
    let cluster_rules = vec![
        rule(&[""], &["events", "endpoints"], &["create", "patch"], &[]),
        rule(&[""], &["pods/eviction"], &["create"], &[]),
        rule(&[""], &["pods/status"], &["update"], &[]),
        rule(&[""], &["endpoints"], &["get", "update"], &[NAME]),
        rule(&[""], &["nodes"], &["get", "list", "update", "watch"], &[]),
        rule(
            &[""],
            &[
                "namespaces",
                "pods",
                "services",
                "replicationcontrollers",
                "persistentvolumeclaims",
                "persistentvolumes",
            ],
            read,
            &[],
        ),
        rule(&["apps"], &["daemonsets", "replicasets", "statefulsets"], read, &[]),
        rule(&["batch"], &["jobs", "cronjobs"], read, &[]),
        rule(&["policy"], &["poddisruptionbudgets"], read, &[]),
        rule(
            &["storage.k8s.io"],
            &["storageclasses", "csinodes", "csidrivers", "csistoragecapacities", "volumeattachments"],
            read,
            &[],
        ),
        rule(&["resource.k8s.io"], &["resourceclaims", "resourceslices", "deviceclasses"], read, &[]),
        rule(&["coordination.k8s.io"], &["leases"], &["create"], &[]),
        rule(&["coordination.k8s.io"], &["leases"], &["get", "update"], &[NAME]),
    ];
    let ns_rules = vec![
        rule(&[""], &["configmaps"], &["create", "list", "watch"], &[]),
        rule(
            &[""],
            &["configmaps"],
            &["delete", "get", "update", "watch"],
            &["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
        ),
    ];
    let args: Vec<String> = vec![
        "--cloud-provider=aws".into(),
        format!(
            "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}"
        ),
        "--balance-similar-node-groups".into(),
        "--expander=least-waste".into(),
        "--skip-nodes-with-system-pods=false".into(),
        "--stderrthreshold=info".into(),
        "--v=2".into(),
    ];
    let probe = || {
        map([
            ("httpGet", map([("path", "/health-check".into()), ("port", AUTOSCALER_PORT.into())])),
            ("periodSeconds", 20i64.into()),
        ])
    };
    let container = map([
        ("name", NAME.into()),
        ("image", image.into()),
        ("imagePullPolicy", "Always".into()),
        ("command", vec!["./cluster-autoscaler"].into()),
        ("args", Yaml::Seq(args.into_iter().map(Yaml::from).collect())),
        // Pods cannot reach the instance metadata (hop limit 1): the region is given.
        ("env", Yaml::Seq(vec![map([("name", "AWS_REGION".into()), ("value", Yaml::text(region(env)?))])])),
        ("ports", Yaml::Seq(vec![map([("name", "http".into()), ("containerPort", AUTOSCALER_PORT.into())])])),
        ("livenessProbe", probe()),
        ("readinessProbe", probe()),
        ("resources", object::resources(100, 600 << 20)),
        ("securityContext", object::container_security_context().clone()),
    ]);
    let selector = map([("app.kubernetes.io/name", NAME.into())]);
    let pod = map([
        ("metadata", map([("labels", addon_labels(view, NAME))])),
        (
            "spec",
            map([
                ("serviceAccountName", NAME.into()),
                ("priorityClassName", "system-cluster-critical".into()),
                ("securityContext", object::pod_security_context().clone()),
                ("containers", Yaml::Seq(vec![container])),
            ]),
        ),
    ]);
    let rbac = "rbac.authorization.k8s.io/v1";
    Ok(vec![
        Object::new("v1", "ServiceAccount", NAME, system_meta(view), vec![]),
        Object::new(
            rbac,
            "ClusterRole",
            NAME,
            vec![("labels", addon_labels(view, NAME))],
            vec![("rules", Yaml::Seq(cluster_rules))],
        ),
        Object::new(
            rbac,
            "ClusterRoleBinding",
            NAME,
            vec![("labels", addon_labels(view, NAME))],
            vec![("roleRef", role_ref("ClusterRole")), ("subjects", subject())],
        ),
        Object::new(rbac, "Role", NAME, system_meta(view), vec![("rules", Yaml::Seq(ns_rules))]),
        Object::new(
            rbac,
            "RoleBinding",
            NAME,
            system_meta(view),
            vec![("roleRef", role_ref("Role")), ("subjects", subject())],
        ),
        Object::new(
            "apps/v1",
            "Deployment",
            NAME,
            system_meta(view),
            vec![(
                "spec",
                map([("replicas", 1i64.into()), ("selector", map([("matchLabels", selector)])), ("template", pod)]),
            )],
        ),
    ])
}

/// The overlay's `transformers:` entries (inline configurations, run after the
/// built-in `namespace:`): the `ClusterSecretStore` loses the namespace Kustomize gave
/// it, the Cluster Autoscaler's objects go back to `kube-system`.
pub fn transformers(view: &View) -> Vec<Yaml> {
    if view.is_local() || view.env.is_none() {
        return Vec::new();
    }
    let patch = |name: &str, target: Yaml, op: Yaml| {
        let config = map([
            ("apiVersion", "builtin".into()),
            ("kind", "PatchTransformer".into()),
            ("metadata", map([("name", Yaml::text(name))])),
            ("target", target),
            ("patch", super::yaml::to_embedded(&Yaml::Seq(vec![op])).into()),
        ]);
        Yaml::from(super::yaml::to_embedded(&config))
    };
    let mut out = Vec::new();
    if has_store(view) {
        out.push(patch(
            "cluster-secret-store",
            map([("group", "external-secrets.io".into()), ("kind", "ClusterSecretStore".into())]),
            map([("op", "remove".into()), ("path", "/metadata/namespace".into())]),
        ));
    }
    out.push(patch(
        "cluster-addons-namespace",
        map([("labelSelector", format!("{SYSTEM_LABEL}=kube-system").into())]),
        map([
            ("op", "replace".into()),
            ("path", "/metadata/namespace".into()),
            ("value", CLUSTER_AUTOSCALER_NAMESPACE.into()),
        ]),
    ));
    out
}
