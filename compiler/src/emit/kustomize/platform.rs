//! The cluster's platform components that only manifests can install: the AWS Load
//! Balancer Controller, which serves the cloud Ingress.
//!
//! `kubernetes/vendor/aws-load-balancer-controller/` holds the upstream release manifest,
//! unchanged (CRDs, RBAC, webhooks, the cert-manager `Certificate`/`Issuer` of the
//! webhook's serving certificate, the Deployment), plus the `alb` IngressClass the
//! Ingress names. `kubernetes/platform/<env>/` is one Kustomization per cloud environment
//! with an ingress: the vendored tree, patched with the environment's cluster, region and
//! VPC (found by its `Name` tag: pods cannot read the instance metadata, hop limit 1) and
//! with the add-ons govc does not use turned off. It is its own tree, not part of the
//! application overlay, because the overlay sets the application's namespace on
//! everything it holds and the controller lives in `kube-system`.
//!
//! Applied after `terraform apply` (which installs the `cert-manager` add-on and the
//! controller's Pod Identity role) and before the overlay:
//! `kubectl apply -k kubernetes/platform/<env>`.

use super::object;
use super::yaml::{self, map, Yaml};
use crate::emit::{names, versions};
use crate::ir::{self, Tier};

/// Where the vendored controller lives in the output.
pub const VENDOR_DIR: &str = "kubernetes/vendor/aws-load-balancer-controller";

/// The upstream manifest's file name in [`VENDOR_DIR`].
const MANIFEST_FILE: &str = "aws-load-balancer-controller.yaml";

/// The IngressClass the cloud Ingress names (`ingressClassName: alb`).
pub const INGRESS_CLASS: &str = "alb";

/// The environments that get a platform tree: cloud tiers with an ingress.
pub fn environments(program: &ir::Program) -> impl Iterator<Item = &ir::Environment> {
    program.environments.iter().filter(|e| e.tier != Tier::Local && e.resources.ingress().is_some())
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
    let envs: Vec<&ir::Environment> = environments(program).collect();
    if envs.is_empty() {
        return Vec::new();
    }
    let mut files = vec![
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
    ];
    for env in envs {
        files.push((format!("kubernetes/platform/{}/kustomization.yaml", env.name), kustomization(program, env)));
    }
    files
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
    let patch = map([
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
    ]);
    let mut text = object::kustomization(
        vec![format!("../../vendor/{}", VENDOR_DIR.trim_start_matches("kubernetes/vendor/"))],
        vec![patch],
    );
    if let Some(image) = cached_image(program, env) {
        let images = map([(
            "images",
            Yaml::Seq(vec![map([
                ("name", versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE.into()),
                ("newName", image.into()),
            ])]),
        )]);
        text.push_str(&yaml::to_embedded(&images));
        text.push('\n');
    }
    text
}

/// The controller's image in the account's ECR pull-through cache of ECR Public
/// (Terraform creates the rule): `<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/eks/...`.
pub fn cached_image(program: &ir::Program, env: &ir::Environment) -> Option<String> {
    let aws = env.aws.as_ref()?;
    let (account, region) = (aws.account.as_deref()?, aws.region.as_deref()?);
    names::through_ecr_public_cache(
        &program.project,
        &env.name,
        account,
        region,
        versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE,
    )
}
