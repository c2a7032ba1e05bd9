//! The cluster's platform components that only manifests can install: the AWS Load
//! Balancer Controller, which serves the cloud Ingress, and the External Secrets
//! Operator, which turns the ExternalSecrets into Secrets.
//!
//! `kubernetes/vendor/` holds each upstream release:
//! - `aws-load-balancer-controller/`: the release manifest, unchanged (CRDs, RBAC,
//!   webhooks, the cert-manager `Certificate`/`Issuer` of the webhook's serving
//!   certificate, the Deployment), plus the `alb` IngressClass the Ingress names;
//! - `external-secrets/`: the release's CRD bundle, unchanged, the controller's objects
//!   of its Helm chart rendered without the webhook and the cert controller (see the
//!   vendor README), and its `external-secrets` namespace (restricted pod security).
//!
//! `kubernetes/platform/<env>/` is one Kustomization per cloud environment that needs
//! either: the controller (an ingress), patched with the environment's cluster, region
//! and VPC (found by its `Name` tag: pods cannot read the instance metadata, whose hop
//! limit is 1) and with the add-ons govc does not use turned off; the operator (secrets); every
//! image through the environment's ECR pull-through caches (`registries`). It is its
//! own tree, not part of the application overlay, because the overlay sets the
//! application's namespace on everything it holds.
//!
//! Applied after `terraform apply` (which installs the `cert-manager` add-on and the
//! components' Pod Identity roles) and before the overlay, server side (the CRDs are
//! larger than client-side apply's annotation):
//! `kubectl apply --server-side -k kubernetes/platform/<env>`.

use super::object;
use super::yaml::{self, map, Yaml};
use crate::emit::terraform::EXTERNAL_SECRETS_NAMESPACE;
use crate::emit::{names, registries, versions};
use crate::ir::{self, Tier};

/// Where the vendored load balancer controller lives in the output.
pub const VENDOR_DIR: &str = "kubernetes/vendor/aws-load-balancer-controller";

/// Where the vendored External Secrets Operator lives in the output.
pub const EXTERNAL_SECRETS_DIR: &str = "kubernetes/vendor/external-secrets";

/// The upstream manifest's file name in [`VENDOR_DIR`].
const MANIFEST_FILE: &str = "aws-load-balancer-controller.yaml";

/// The file names of the operator's CRD bundle and controller in [`EXTERNAL_SECRETS_DIR`].
const CRDS_FILE: &str = "crds.yaml";
const CONTROLLER_FILE: &str = "controller.yaml";

/// The IngressClass the cloud Ingress names (`ingressClassName: alb`).
pub const INGRESS_CLASS: &str = "alb";

/// Whether `path` is a vendored upstream file (its text is upstream's, not govc's).
pub fn is_vendored_upstream(path: &str) -> bool {
    path == format!("{VENDOR_DIR}/{MANIFEST_FILE}")
        || path == format!("{EXTERNAL_SECRETS_DIR}/{CRDS_FILE}")
        || path == format!("{EXTERNAL_SECRETS_DIR}/{CONTROLLER_FILE}")
}

/// Whether `env` runs the load balancer controller: a cloud tier with an ingress.
fn has_controller(env: &ir::Environment) -> bool {
    env.tier != Tier::Local && env.resources.ingress().is_some()
}

/// Whether `env` runs the External Secrets Operator: a cloud tier with secrets in the
/// store (the condition of the operator's role in `compute.tf.json` and of the
/// `ClusterSecretStore` in the overlay).
pub fn has_external_secrets(env: &ir::Environment) -> bool {
    env.tier != Tier::Local && env.resources.has_stored_secrets()
}

/// Whether `env` gets a platform tree: it runs the controller or the operator.
pub fn has_tree(env: &ir::Environment) -> bool {
    has_controller(env) || has_external_secrets(env)
}

/// The environments that get a platform tree.
pub fn environments(program: &ir::Program) -> impl Iterator<Item = &ir::Environment> {
    program.environments.iter().filter(|e| has_tree(e))
}

/// The controller's arguments for one environment.
pub fn controller_args(program: &ir::Program, env: &ir::Environment) -> Vec<String> {
    let prefix = names::aws_prefix(&program.project, &env.name);
    let mut args = vec![format!("--cluster-name={}", names::cluster_name(&program.project, &env.name))];
    args.push(format!("--ingress-class={INGRESS_CLASS}"));
    if let Some(region) = env.aws.as_ref().and_then(|a| a.region.as_deref()) {
        args.push(format!("--aws-region={region}"));
    }
    args.extend([
        format!("--aws-vpc-tags=Name={prefix}"),
        "--enable-backend-security-group=false".to_string(),
        "--enable-shield=false".to_string(),
        "--enable-waf=false".to_string(),
        "--enable-wafv2=false".to_string(),
    ]);
    args
}

/// `kubernetes/vendor/**` and `kubernetes/platform/<env>/kustomization.yaml`, when some
/// environment needs them.
pub fn emit(program: &ir::Program) -> Vec<(String, String)> {
    let mut files = Vec::new();
    if program.environments.iter().any(has_controller) {
        files.extend([
            (
                format!("{VENDOR_DIR}/{MANIFEST_FILE}"),
                format!(
                    "# AWS Load Balancer Controller {}: the upstream release manifest, unchanged (Apache License 2.0).\n\
                     # Vendored by govc; environments patch it in kubernetes/platform/<env>/.\n{}",
                    versions::AWS_LOAD_BALANCER_CONTROLLER_VERSION,
                    versions::AWS_LOAD_BALANCER_CONTROLLER_MANIFEST
                ),
            ),
            (format!("{VENDOR_DIR}/ingressclasses.yaml"), yaml::to_document(&ingress_class())),
            (
                format!("{VENDOR_DIR}/kustomization.yaml"),
                object::kustomization(vec![MANIFEST_FILE.to_string(), "ingressclasses.yaml".to_string()], Vec::new()),
            ),
        ]);
    }
    if program.environments.iter().any(has_external_secrets) {
        files.extend([
            (format!("{EXTERNAL_SECRETS_DIR}/{CRDS_FILE}"), versions::EXTERNAL_SECRETS_CRDS.to_string()),
            (format!("{EXTERNAL_SECRETS_DIR}/{CONTROLLER_FILE}"), versions::EXTERNAL_SECRETS_CONTROLLER.to_string()),
            (format!("{EXTERNAL_SECRETS_DIR}/namespaces.yaml"), yaml::to_document(&external_secrets_namespace())),
            (
                format!("{EXTERNAL_SECRETS_DIR}/kustomization.yaml"),
                object::kustomization(
                    vec!["namespaces.yaml".to_string(), CRDS_FILE.to_string(), CONTROLLER_FILE.to_string()],
                    Vec::new(),
                ),
            ),
        ]);
    }
    for env in environments(program) {
        files.push((format!("kubernetes/platform/{}/kustomization.yaml", env.name), kustomization(program, env)));
    }
    files
}

/// The operator's namespace: restricted pod security (the rendered Deployment meets it).
fn external_secrets_namespace() -> Yaml {
    let level = || Yaml::from("restricted");
    map([
        ("apiVersion", "v1".into()),
        ("kind", "Namespace".into()),
        (
            "metadata",
            map([
                ("name", EXTERNAL_SECRETS_NAMESPACE.into()),
                (
                    "labels",
                    map([
                        ("app.kubernetes.io/name", "external-secrets".into()),
                        ("pod-security.kubernetes.io/enforce", level()),
                        ("pod-security.kubernetes.io/audit", level()),
                        ("pod-security.kubernetes.io/warn", level()),
                    ]),
                ),
            ]),
        ),
    ])
}

fn ingress_class() -> Yaml {
    map([
        ("apiVersion", "networking.k8s.io/v1".into()),
        ("kind", "IngressClass".into()),
        (
            "metadata",
            map([
                ("name", INGRESS_CLASS.into()),
                ("labels", map([("app.kubernetes.io/name", "aws-load-balancer-controller".into())])),
            ]),
        ),
        ("spec", map([("controller", "ingress.k8s.aws/alb".into())])),
    ])
}

fn kustomization(program: &ir::Program, env: &ir::Environment) -> String {
    let mut resources = Vec::new();
    let mut patches = Vec::new();
    let mut images = Vec::new();
    if has_controller(env) {
        resources.push(format!("../../vendor/{}", VENDOR_DIR.trim_start_matches("kubernetes/vendor/")));
        patches.push(controller_patch(program, env));
        images.push(versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE);
    }
    if has_external_secrets(env) {
        resources.push(format!("../../vendor/{}", EXTERNAL_SECRETS_DIR.trim_start_matches("kubernetes/vendor/")));
        images.push(versions::EXTERNAL_SECRETS_IMAGE);
    }
    let mut text = object::kustomization(resources, patches);
    let images: Vec<Yaml> = images
        .into_iter()
        .filter_map(|image| {
            let name = image.rsplit_once(':').map_or(image, |(name, _)| name);
            let cached = cached_image(program, env, image)?;
            let new_name = cached.rsplit_once(':').map_or(cached.as_str(), |(name, _)| name).to_string();
            Some(map([("name", name.into()), ("newName", new_name.into())]))
        })
        .collect();
    if !images.is_empty() {
        text.push_str(&yaml::to_embedded(&map([("images", Yaml::Seq(images))])));
        text.push('\n');
    }
    text
}

/// The patch of the vendored controller's Deployment for `env`.
fn controller_patch(program: &ir::Program, env: &ir::Environment) -> Yaml {
    let container = "/spec/template/spec/containers/0";
    let ops = Yaml::Seq(vec![
        map([
            ("op", "replace".into()),
            ("path", format!("{container}/args").into()),
            ("value", controller_args(program, env).into()),
        ]),
        map([
            ("op", "add".into()),
            ("path", format!("{container}/securityContext/capabilities").into()),
            ("value", map([("drop", vec!["ALL"].into())])),
        ]),
        // Pinned by tag: pull on every start, as govc's own tag-pinned images (`Always`).
        map([
            ("op", "add".into()),
            ("path", format!("{container}/imagePullPolicy").into()),
            ("value", "Always".into()),
        ]),
        // The upstream Helm chart's default readiness probe; the plain manifest has none.
        map([
            ("op", "add".into()),
            ("path", format!("{container}/readinessProbe").into()),
            (
                "value",
                map([
                    ("failureThreshold", 2u32.into()),
                    (
                        "httpGet",
                        map([("path", "/readyz".into()), ("port", 61779u32.into()), ("scheme", "HTTP".into())]),
                    ),
                    ("initialDelaySeconds", 10u32.into()),
                    ("successThreshold", 1u32.into()),
                    ("timeoutSeconds", 10u32.into()),
                ]),
            ),
        ]),
        map([
            ("op", "add".into()),
            ("path", "/spec/template/spec/securityContext/seccompProfile".into()),
            ("value", map([("type", "RuntimeDefault".into())])),
        ]),
    ]);
    map([
        (
            "target",
            map([
                ("group", "apps".into()),
                ("version", "v1".into()),
                ("kind", "Deployment".into()),
                ("name", "aws-load-balancer-controller".into()),
                ("namespace", super::super::terraform::edge::CONTROLLER_NAMESPACE.into()),
            ]),
        ),
        ("patch", yaml::to_embedded(&ops).into()),
    ])
}

/// `image` (as upstream names it, with or without its tag) in the account's ECR
/// pull-through cache of its registry, which Terraform creates: the name Kubernetes
/// pulls in `env`'s cluster.
pub fn cached_image(program: &ir::Program, env: &ir::Environment, image: &str) -> Option<String> {
    let aws = env.aws.as_ref()?;
    let (account, region) = (aws.account.as_deref()?, aws.region.as_deref()?);
    registries::through_cache(&program.project, &env.name, account, region, image)
}
