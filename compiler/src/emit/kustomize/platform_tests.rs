//! The vendored AWS Load Balancer Controller and each environment's platform tree, read
//! back: what the Ingress and the Terraform side rely on must be what the manifest holds.

use std::collections::BTreeMap;

use serde_json::Value;

use super::platform::{self, EXTERNAL_SECRETS_DIR, INGRESS_CLASS, VENDOR_DIR};
use super::{emit, fixture};
use crate::emit::registries::{self, Upstream};
use crate::emit::terraform::edge::{CONTROLLER_NAMESPACE, CONTROLLER_SERVICE_ACCOUNT};
use crate::emit::terraform::{EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_SERVICE_ACCOUNT};
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
fn every_cloud_environment_with_an_ingress_or_secrets_gets_a_platform_tree() {
    let program = fixture::zenthea();
    let files = tree(&program);
    let with_tree: Vec<&str> = files
        .keys()
        .filter_map(|p| p.strip_prefix("kubernetes/platform/")?.strip_suffix("/kustomization.yaml"))
        .collect();
    let mut expected: Vec<&str> = program
        .environments
        .iter()
        .filter(|e| e.tier != Tier::Local && (e.resources.ingress().is_some() || !e.resources.secrets.is_empty()))
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
        let cache = registries::cache_prefix(&program.project, &env.name, Upstream::EcrPublic);
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
fn without_a_cloud_ingress_the_controller_is_not_vendored_and_without_secrets_nothing_is() {
    let mut program = fixture::zenthea();
    for env in &mut program.environments {
        env.resources.ingresses.clear();
    }
    let files = tree(&program);
    assert!(files.keys().all(|p| !p.starts_with(VENDOR_DIR)));
    for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
        let kustomization = &docs(&files[&format!("kubernetes/platform/{}/kustomization.yaml", env.name)])[0];
        assert_eq!(kustomization["resources"], serde_json::json!(["../../vendor/external-secrets"]));
        assert!(kustomization["patches"].is_null(), "no controller to patch");
    }
    for env in &mut program.environments {
        env.resources.secrets.clear();
    }
    let files = tree(&program);
    assert!(files.keys().all(|p| !p.starts_with("kubernetes/platform/") && !p.starts_with("kubernetes/vendor/")));
}

/// The External Secrets Operator: the release's CRD bundle byte for byte, a controller
/// whose RBAC, image and identity agree with the CRDs, the pins and the Pod Identity
/// association Terraform creates, and the API version the overlays' objects use.
#[test]
fn the_external_secrets_operator_is_vendored_pinned_and_consistent() {
    let program = fixture::zenthea();
    let files = tree(&program);
    let crds = &files[&format!("{EXTERNAL_SECRETS_DIR}/crds.yaml")];
    // sha256 of `deploy/crds/bundle.yaml` at tag v2.9.0 (commit 378bdb62).
    assert_eq!(
        crate::lock::sha256_hex(crds.as_bytes()),
        "08b08d88e9522436698d6c90510b530d491081fbf92015faa7a571bb8b50bc5b"
    );
    let crds = docs(crds);
    let served = |name: &str| -> Vec<String> {
        let crd = crds.iter().find(|d| d["metadata"]["name"] == name).unwrap_or_else(|| panic!("CRD {name}"));
        crd["spec"]["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .filter(|v| v["served"] == true)
            .filter_map(|v| v["name"].as_str().map(str::to_string))
            .collect()
    };
    // The overlays emit external-secrets.io/v1 objects: the CRDs must serve it.
    assert_eq!(served("externalsecrets.external-secrets.io"), ["v1"]);
    assert_eq!(served("clustersecretstores.external-secrets.io"), ["v1"]);
    for crd in &crds {
        assert!(crd["spec"]["conversion"]["strategy"] != "Webhook", "no webhook is installed to convert");
    }
    let controller = docs(&files[&format!("{EXTERNAL_SECRETS_DIR}/controller.yaml")]);
    let deployment = find(&controller, "Deployment", "external-secrets");
    assert_eq!(deployment["metadata"]["namespace"], EXTERNAL_SECRETS_NAMESPACE);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["image"], versions::EXTERNAL_SECRETS_IMAGE);
    assert!(versions::EXTERNAL_SECRETS_IMAGE.ends_with(&format!(":{}", versions::EXTERNAL_SECRETS_VERSION)));
    assert_eq!(container["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert!(container["readinessProbe"].is_object() && container["resources"]["limits"].is_object());
    // Its identity is the one Terraform's Pod Identity association names.
    assert_eq!(pod["serviceAccountName"], EXTERNAL_SECRETS_SERVICE_ACCOUNT);
    assert_eq!(
        find(&controller, "ServiceAccount", EXTERNAL_SECRETS_SERVICE_ACCOUNT)["metadata"]["namespace"],
        EXTERNAL_SECRETS_NAMESPACE
    );
    // Every resource the controller's ClusterRole names in the operator's groups is a CRD
    // of the bundle (a status or finalizers subresource of one).
    let kinds: std::collections::BTreeSet<String> =
        crds.iter().filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string)).collect();
    let role = find(&controller, "ClusterRole", "external-secrets-controller");
    for rule in role["rules"].as_array().expect("rules") {
        for group in rule["apiGroups"].as_array().expect("groups").iter().filter_map(Value::as_str) {
            if !group.ends_with("external-secrets.io") {
                continue;
            }
            for resource in rule["resources"].as_array().expect("resources").iter().filter_map(Value::as_str) {
                let plural = resource.split('/').next().expect("resource");
                assert!(kinds.contains(&format!("{plural}.{group}")), "{plural}.{group} is not in the bundle");
            }
        }
    }
    // The namespace enforces restricted pod security, which the Deployment meets.
    let namespace = &docs(&files[&format!("{EXTERNAL_SECRETS_DIR}/namespaces.yaml")])[0];
    assert_eq!(namespace["metadata"]["name"], EXTERNAL_SECRETS_NAMESPACE);
    assert_eq!(namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
    // Each environment with secrets pulls the image through its cache of ghcr.io.
    for env in program.environments.iter().filter(|e| platform::has_external_secrets(e)) {
        let kustomization = &docs(&files[&format!("kubernetes/platform/{}/kustomization.yaml", env.name)])[0];
        let resources = kustomization["resources"].as_array().expect("resources");
        assert!(resources.iter().any(|r| r == "../../vendor/external-secrets"), "{}", env.name);
        let image = kustomization["images"]
            .as_array()
            .expect("images")
            .iter()
            .find(|i| i["name"] == "ghcr.io/external-secrets/external-secrets")
            .expect("the operator's image");
        let cache = registries::cache_prefix(&program.project, &env.name, Upstream::GitHub);
        assert!(image["newName"]
            .as_str()
            .expect("newName")
            .ends_with(&format!("/{cache}/external-secrets/external-secrets")));
    }
}

#[test]
fn load_balancer_names_fit_elastic_load_balancing() {
    let long = names::load_balancer_name("a-very-long-project-name-for-a-platform-team", "integration_testing");
    assert!(long.len() <= names::LOAD_BALANCER_MAX, "{long}");
    assert!(long.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    assert!(!long.starts_with('-') && !long.ends_with('-'));
    assert_eq!(names::load_balancer_name("zenthea", "production"), "zenthea-production");
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
