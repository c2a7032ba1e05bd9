//! The vendored AWS Load Balancer Controller and each environment's platform tree, read
//! back: what the Ingress and the Terraform side rely on must be what the manifest holds.

use std::collections::BTreeMap;

use serde_json::Value;

use super::platform::{self, INGRESS_CLASS, VENDOR_DIR};
use super::{emit, fixture};
use crate::emit::terraform::edge::{CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT};
use crate::emit::{names, versions};
use crate::ir::{self, Tier};

fn docs(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| {
            let yaml: serde_norway::Value = serde::Deserialize::deserialize(doc).expect("YAML parses");
            serde_norway::from_value(yaml).expect("YAML converts to JSON")
        })
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn find<'a>(all: &'a [Value], kind: &str, name: &str) -> &'a Value {
    all.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the vendored manifest"))
}

fn tree(program: &ir::Program) -> BTreeMap<String, String> {
    emit(program).expect("the fixture emits")
}

#[test]
fn the_vendored_manifest_is_upstream_unchanged_and_pinned() {
    let files = tree(&fixture::zenthea());
    let manifest = &files[&format!("{VENDOR_DIR}/aws-load-balancer-controller.yaml")];
    assert!(manifest.ends_with(versions::AWS_LOAD_BALANCER_CONTROLLER_MANIFEST), "only a comment header is added");
    let all = docs(manifest);
    let deployment = find(&all, "Deployment", "aws-load-balancer-controller");
    assert_eq!(deployment["metadata"]["namespace"], CONTROLLER_NAMESPACE);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], CONTROLLER_SERVICE_ACCOUNT, "the Pod Identity association's account");
    let container = &pod["containers"][0];
    assert_eq!(container["name"], "controller", "the platform patch edits containers/0");
    assert!(container["args"].is_array(), "the platform patch replaces an existing args list");
    assert!(container["securityContext"].is_object() && container["securityContext"]["capabilities"].is_null());
    assert!(container["imagePullPolicy"].is_null() && container["readinessProbe"].is_null(), "the patch adds them");
    assert!(pod["securityContext"].is_object() && pod["securityContext"]["seccompProfile"].is_null());
    assert_eq!(
        container["image"],
        format!("{}:{}", versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE, versions::AWS_LOAD_BALANCER_CONTROLLER_VERSION)
    );
    let account = find(&all, "ServiceAccount", CONTROLLER_SERVICE_ACCOUNT);
    assert_eq!(account["metadata"]["namespace"], CONTROLLER_NAMESPACE);
    // The webhook certificate comes from cert-manager (the EKS add-on Terraform installs).
    let certificate = find(&all, "Certificate", "aws-load-balancer-serving-cert");
    let secret = &certificate["spec"]["secretName"];
    assert_eq!(pod["volumes"][0]["secret"]["secretName"], *secret);
    // The controller's CRDs are all there, intact.
    let crds: Vec<&str> = all
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        crds,
        [
            "albtargetcontrolconfigs.elbv2.k8s.aws",
            "globalaccelerators.aga.k8s.aws",
            "ingressclassparams.elbv2.k8s.aws",
            "targetgroupbindings.elbv2.k8s.aws"
        ]
    );
}

#[test]
fn every_cloud_environment_with_an_ingress_gets_a_patched_platform_tree() {
    let program = fixture::zenthea();
    let files = tree(&program);
    let with_tree: Vec<&str> = files
        .keys()
        .filter_map(|p| p.strip_prefix("kubernetes/platform/")?.strip_suffix("/kustomization.yaml"))
        .collect();
    let mut expected: Vec<&str> = program
        .environments
        .iter()
        .filter(|e| e.tier != Tier::Local && e.resources.ingress().is_some())
        .map(|e| e.name.as_str())
        .collect();
    expected.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(with_tree, expected);
    for env in platform::environments(&program) {
        let kustomization = &docs(&files[&format!("kubernetes/platform/{}/kustomization.yaml", env.name)])[0];
        assert_eq!(kustomization["resources"][0], "../../vendor/aws-load-balancer-controller");
        let patch = &kustomization["patches"][0];
        assert_eq!(patch["target"]["name"], "aws-load-balancer-controller");
        assert_eq!(patch["target"]["namespace"], CONTROLLER_NAMESPACE);
        let ops = &docs(patch["patch"].as_str().expect("inline patch"))[0];
        let args: Vec<&str> = ops[0]["value"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
        let cluster = names::cluster_name(&program.project, &env.name);
        assert!(args.contains(&format!("--cluster-name={cluster}").as_str()), "{args:?}");
        assert!(
            args.contains(&format!("--aws-vpc-tags=Name={}", names::aws_prefix(&program.project, &env.name)).as_str())
        );
        assert!(args.contains(&format!("--ingress-class={INGRESS_CLASS}").as_str()));
        let region = env.aws.as_ref().and_then(|a| a.region.as_deref()).expect("cloud region");
        assert!(args.contains(&format!("--aws-region={region}").as_str()));
        for off in [
            "--enable-shield=false",
            "--enable-waf=false",
            "--enable-wafv2=false",
            "--enable-backend-security-group=false",
        ] {
            assert!(args.contains(&off), "the IAM policy leaves these out: {off}");
        }
        // The image comes through the environment's ECR pull-through cache of ECR Public.
        let image = &kustomization["images"][0];
        assert_eq!(image["name"], versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE);
        let account = env.aws.as_ref().and_then(|a| a.account.as_deref()).expect("cloud account");
        let cache = names::ecr_public_cache_prefix(&program.project, &env.name);
        assert_eq!(
            image["newName"],
            format!("{account}.dkr.ecr.{region}.amazonaws.com/{cache}/eks/aws-load-balancer-controller")
        );
        // The Ingress names the class and the load balancer Terraform looks up.
        let ingress = docs(&files[&format!("kubernetes/overlays/{}/ingresses.yaml", env.name)]).remove(0);
        assert_eq!(ingress["spec"]["ingressClassName"], INGRESS_CLASS);
        assert_eq!(
            ingress["metadata"]["annotations"]["alb.ingress.kubernetes.io/load-balancer-name"],
            names::load_balancer_name(&program.project, &env.name)
        );
    }
    let class = &docs(&files[&format!("{VENDOR_DIR}/ingressclasses.yaml")])[0];
    assert_eq!(class["metadata"]["name"], INGRESS_CLASS);
    assert_eq!(class["spec"]["controller"], "ingress.k8s.aws/alb");
}

#[test]
fn without_a_cloud_ingress_nothing_is_vendored() {
    let mut program = fixture::zenthea();
    for env in &mut program.environments {
        env.resources.ingresses.clear();
    }
    let files = tree(&program);
    assert!(files.keys().all(|p| !p.starts_with("kubernetes/platform/") && !p.starts_with("kubernetes/vendor/")));
}

#[test]
fn load_balancer_names_fit_elastic_load_balancing() {
    let long = names::load_balancer_name("a-very-long-project-name-for-a-platform-team", "integration_testing");
    assert!(long.len() <= names::LOAD_BALANCER_MAX, "{long}");
    assert!(long.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    assert!(!long.starts_with('-') && !long.ends_with('-'));
    assert_eq!(names::load_balancer_name("zenthea", "production"), "zenthea-production");
    let cache = names::ecr_public_cache_prefix("a-very-long-project-name-for-a-platform-team", "integration_testing");
    assert!(cache.len() <= names::ECR_CACHE_PREFIX_MAX && cache.len() >= 2, "{cache}");
    assert!(cache.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{cache}");
}

/// `kubectl kustomize` renders each platform tree (when kubectl is on PATH).
#[test]
fn kubectl_renders_the_platform_trees() {
    if std::process::Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        return;
    }
    let program = fixture::zenthea();
    let files = tree(&program);
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in &files {
        let target = dir.path().join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, text).expect("write");
    }
    for env in platform::environments(&program) {
        let out = std::process::Command::new("kubectl")
            .arg("kustomize")
            .arg(dir.path().join(format!("kubernetes/platform/{}", env.name)))
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let all = docs(&String::from_utf8(out.stdout).expect("utf-8"));
        let deployment = find(&all, "Deployment", "aws-load-balancer-controller");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["securityContext"]["capabilities"]["drop"][0], "ALL");
        assert_eq!(container["imagePullPolicy"], "Always");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let cluster = names::cluster_name(&program.project, &env.name);
        assert_eq!(container["args"][0], format!("--cluster-name={cluster}"));
        assert!(all.iter().any(|d| d["kind"] == "IngressClass"));
    }
}
