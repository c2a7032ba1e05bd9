//! The path from the internet to the services and from CI to the cluster, on the AWS side.
//!
//! - **AWS Load Balancer Controller** (when the environment has an ingress): a Pod
//!   Identity role `<prefix>-lbc` for `kube-system/aws-load-balancer-controller` holding
//!   the upstream IAM policy of the vendored release, tightened ([`controller_policy`]),
//!   and the EKS community add-on `cert-manager`, which issues the controller webhook's
//!   serving certificate. The controller itself is the vendored upstream manifest in the
//!   Kustomize tree (`kubernetes/platform/<env>/`), its image pulled through an ECR
//!   pull-through cache of ECR Public (`registries::cache_prefix`).
//! - **DNS** (in `ingress.tf.json`, [`dns`]): with the ingress's `zone`, the certificate's
//!   validation record, `aws_acm_certificate_validation`, and an alias A record to the
//!   load balancer the controller creates under a fixed name; the alias needs that load
//!   balancer to exist, so it is created by a second apply with
//!   `-var load_balancer_ready=true` (the variable gates a `data "aws_lb"` by name, so the
//!   default plan reads nothing from AWS and stays offline).
//! - **CI access** (`ci { role }`): an EKS access entry for the role with
//!   `AmazonEKSClusterAdminPolicy` on the cluster ([`ci_access`]).

use serde_json::Map;

use super::json::Value;

use super::iam;
use super::json::{lit, obj, reference, reference_of, tags, TfFile};
use super::Ctx;
use crate::emit::{names, registries, versions};
use crate::ir::Ingress;

/// The controller's namespace and service account (the upstream manifest's).
pub const CONTROLLER_NAMESPACE: &str = "kube-system";
/// See [`CONTROLLER_NAMESPACE`].
pub const CONTROLLER_SERVICE_ACCOUNT: &str = "aws-load-balancer-controller";

/// The tag the controller puts on everything it creates, valued with the cluster name.
const CLUSTER_TAG: &str = "elbv2.k8s.aws/cluster";

/// Actions of the upstream policy that govc's controller never calls: WAF, WAF v2 and
/// Shield are turned off by its flags (`--enable-waf=false`, `--enable-wafv2=false`,
/// `--enable-shield=false`), Cognito authentication and IAM server certificates are
/// annotations govc never writes (certificates come from ACM).
const DROPPED_ACTION_PREFIXES: [&str; 7] = [
    "waf-regional:",
    "wafv2:",
    "shield:",
    "cognito-idp:",
    "iam:ListServerCertificates",
    "iam:GetServerCertificate",
    "elasticloadbalancing:SetWebAcl",
];

/// The access policy of the CI role: cluster-admin, because the CI applies the
/// controller's CRDs, cluster roles and webhook configurations, which no narrower EKS
/// access policy (`AmazonEKSAdminPolicy` is namespaced `admin`) may create.
pub const CI_ACCESS_POLICY: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/// The variable that gates the DNS alias until the controller has created the load balancer.
pub const LOAD_BALANCER_READY: &str = "load_balancer_ready";

/// The upstream IAM policy, tightened for one cluster:
/// - actions govc's controller never calls are dropped ([`DROPPED_ACTION_PREFIXES`]);
/// - the statement that lets the controller add and remove rules on *any* security group
///   is dropped: govc names the load balancer's group itself and the controller runs
///   with `--enable-backend-security-group=false`, so it only changes groups it created
///   and tagged (the following statements);
/// - every "the `elbv2.k8s.aws/cluster` tag is present" condition (`Null: false`) becomes
///   "the tag equals this cluster's name" (`StringEquals`), so one cluster's controller
///   cannot change another cluster's load balancers, target groups or groups;
/// - resource ARNs name the environment's region and account instead of `*`.
///
/// What stays broad, and why: the `Describe*`/`Get*` reads on `*` (EC2, ELB and ACM list
/// operations do not support resource-level permissions); `ec2:CreateSecurityGroup`,
/// `elasticloadbalancing:CreateListener`/`CreateRule`/`DeleteListener`/`DeleteRule`,
/// `ModifyListener`, `ModifyRule`, `SetRulePriorities` and the listener certificate
/// actions on `*` (upstream leaves them unconditioned: listeners and rules carry no
/// cluster tag condition key at creation); `iam:CreateServiceLinkedRole` for
/// `elasticloadbalancing.amazonaws.com` only (upstream's own condition).
pub fn controller_policy(cluster: &str, region: &str, account: &str) -> Result<serde_json::Value, String> {
    let upstream: serde_json::Value = serde_json::from_str(versions::AWS_LOAD_BALANCER_CONTROLLER_IAM_POLICY)
        .map_err(|e| format!("vendored IAM policy: {e}"))?;
    let statements = upstream
        .get("Statement")
        .and_then(serde_json::Value::as_array)
        .ok_or("vendored IAM policy has no Statement list")?;
    let mut out = Vec::new();
    for statement in statements {
        let mut st = statement.as_object().cloned().ok_or("vendored IAM policy: a statement is not an object")?;
        let actions: Vec<String> = match st.get("Action") {
            Some(serde_json::Value::String(a)) => vec![a.clone()],
            Some(serde_json::Value::Array(a)) => {
                a.iter().filter_map(serde_json::Value::as_str).map(str::to_string).collect()
            }
            _ => return Err("vendored IAM policy: a statement has no Action".into()),
        };
        let kept: Vec<String> =
            actions.into_iter().filter(|a| !DROPPED_ACTION_PREFIXES.iter().any(|p| a.starts_with(p))).collect();
        if kept.is_empty() || any_security_group(&kept, &st) {
            continue;
        }
        st.insert("Action".into(), serde_json::Value::Array(kept.into_iter().map(serde_json::Value::String).collect()));
        if let Some(resource) = st.get_mut("Resource") {
            scope_resources(resource, region, account);
        }
        if let Some(serde_json::Value::Object(condition)) = st.get_mut("Condition") {
            scope_condition(condition, cluster);
        }
        out.push(serde_json::Value::Object(st));
    }
    Ok(serde_json::json!({"Statement": out, "Version": "2012-10-17"}))
}

/// The upstream statement granting rule changes on every security group: only
/// `Authorize`/`RevokeSecurityGroupIngress`, on `*`, without a condition.
fn any_security_group(actions: &[String], st: &Map<String, serde_json::Value>) -> bool {
    st.get("Condition").is_none()
        && st.get("Resource").and_then(serde_json::Value::as_str) == Some("*")
        && actions.iter().all(|a| a == "ec2:AuthorizeSecurityGroupIngress" || a == "ec2:RevokeSecurityGroupIngress")
}

fn scope_resources(resource: &mut serde_json::Value, region: &str, account: &str) {
    let scope = |s: &str| {
        ["ec2", "elasticloadbalancing"].iter().fold(s.to_string(), |acc, service| {
            acc.replace(&format!("arn:aws:{service}:*:*:"), &format!("arn:aws:{service}:{region}:{account}:"))
        })
    };
    match resource {
        serde_json::Value::String(s) => *s = scope(s),
        serde_json::Value::Array(items) => {
            for item in items {
                if let serde_json::Value::String(s) = item {
                    *s = scope(s);
                }
            }
        }
        _ => {}
    }
}

fn scope_condition(condition: &mut Map<String, serde_json::Value>, cluster: &str) {
    let mut equals = Vec::new();
    if let Some(serde_json::Value::Object(null)) = condition.get_mut("Null") {
        for key in [format!("aws:RequestTag/{CLUSTER_TAG}"), format!("aws:ResourceTag/{CLUSTER_TAG}")] {
            if null.get(&key).and_then(serde_json::Value::as_str) == Some("false") {
                null.remove(&key);
                equals.push(key);
            }
        }
        if null.is_empty() {
            condition.remove("Null");
        }
    }
    if equals.is_empty() {
        return;
    }
    let entry = condition.entry("StringEquals").or_insert_with(|| serde_json::Value::Object(Map::new()));
    if let serde_json::Value::Object(map) = entry {
        for key in equals {
            map.insert(key, serde_json::Value::String(super::json::escape(cluster)));
        }
    }
}

/// The controller's role, policy and Pod Identity association, and the `cert-manager`
/// add-on its webhook certificate needs.
pub(crate) fn load_balancer_controller(file: &mut TfFile, ctx: &Ctx<'_>) -> Result<(), String> {
    iam::pod_identity_role(
        file,
        ctx,
        "aws_load_balancer_controller",
        "lbc",
        CONTROLLER_NAMESPACE,
        CONTROLLER_SERVICE_ACCOUNT,
    );
    let policy = controller_policy(&ctx.prefix, &ctx.region, &ctx.account)?;
    let text = serde_json::to_string(&policy).map_err(|e| e.to_string())?;
    file.resource(
        "aws_iam_role_policy",
        "aws_load_balancer_controller",
        obj([
            ("name", lit("aws-load-balancer-controller")),
            ("policy", lit(text)),
            ("role", reference("aws_iam_role.aws_load_balancer_controller.id")),
        ]),
    );
    let mut addon = obj([
        ("addon_name", lit("cert-manager")),
        ("cluster_name", reference("aws_eks_cluster.main.name")),
        // Its pods need nodes before the add-on reports healthy.
        ("depends_on", Value::Array(vec![lit("aws_eks_node_group.main")])),
        ("resolve_conflicts_on_create", lit("OVERWRITE")),
        ("resolve_conflicts_on_update", lit("OVERWRITE")),
        ("tags", tags(&ctx.name("cert-manager", 255), &[])),
    ]);
    if let Some(version) = versions::CERT_MANAGER_ADDON_VERSION {
        super::json::set(&mut addon, "addon_version", lit(version));
    }
    file.resource("aws_eks_addon", "cert_manager", addon);
    Ok(())
}

/// The account's ECR pull-through cache of each public registry the environment's
/// platform images come from (`registries::upstreams`), for this environment. The
/// registries are on the internet, which a private cluster cannot reach: the account's
/// ECR fetches an image on its first pull (server side) and the nodes pull it through the
/// `ecr.*` endpoints. The nodes may create and fill only the caches' repositories. A
/// registry that needs credentials (GitHub's) gets an empty Secrets Manager secret of the
/// name ECR requires, encrypted with the AWS-managed key (ECR reads it with its
/// service-linked role, which a customer key's policy would have to name): its value, a GitHub
/// token that may read public packages, is set by hand, like every secret's.
pub(crate) fn pull_through_caches(file: &mut TfFile, ctx: &Ctx<'_>) {
    let upstreams = registries::upstreams(ctx.env);
    if upstreams.is_empty() {
        return;
    }
    let mut repositories = Vec::new();
    for upstream in upstreams {
        let cache = registries::cache_prefix(ctx.project, &ctx.env.name, upstream);
        let mut rule = obj([("ecr_repository_prefix", lit(&cache)), ("upstream_registry_url", lit(upstream.host()))]);
        if upstream.needs_credentials() {
            let secret = format!("{}_cache", upstream.ident());
            let name = registries::credentials_secret_name(ctx.project, &ctx.env.name, upstream);
            file.resource(
                "aws_secretsmanager_secret",
                &secret,
                obj([
                    (
                        "description",
                        lit(format!(
                            "Credentials of the ECR pull-through cache of {}: {{\"username\", \"accessToken\"}}, set by hand.",
                            upstream.host()
                        )),
                    ),
                    ("name", lit(&name)),
                    ("tags", tags(&name, &[])),
                ]),
            );
            super::json::set(
                &mut rule,
                "credential_arn",
                reference_of(&["aws_secretsmanager_secret.", &secret, ".arn"]),
            );
        }
        file.resource("aws_ecr_pull_through_cache_rule", upstream.ident(), rule);
        repositories.push(lit(format!("arn:aws:ecr:{}:{}:repository/{cache}/*", ctx.region, ctx.account)));
    }
    iam::inline_policy(
        file,
        "eks_nodes_pull_through",
        "eks_nodes",
        vec![iam::allow("PullThroughCaches", &["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"], repositories)],
    );
}

/// The CI role's EKS access entry and its cluster-wide access policy.
pub(crate) fn ci_access(file: &mut TfFile, ctx: &Ctx<'_>, role: &str) {
    file.resource(
        "aws_eks_access_entry",
        "ci",
        obj([
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("principal_arn", lit(role)),
            ("tags", tags(&ctx.name("ci", 255), &[])),
            ("type", lit("STANDARD")),
        ]),
    );
    file.resource(
        "aws_eks_access_policy_association",
        "ci",
        obj([
            ("access_scope", obj([("type", lit("cluster"))])),
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("depends_on", Value::Array(vec![lit("aws_eks_access_entry.ci")])),
            ("policy_arn", lit(CI_ACCESS_POLICY)),
            ("principal_arn", reference("aws_eks_access_entry.ci.principal_arn")),
        ]),
    );
}

/// With a hosted zone: the certificate's validation record, the validation, and (once
/// `load_balancer_ready`) the alias of the host to the load balancer. Without one: the
/// outputs an operator needs to create them by hand. Either way the output
/// `load_balancer` names the load balancer and, once ready, its DNS name.
pub(crate) fn dns(file: &mut TfFile, ctx: &Ctx<'_>, ingress: &Ingress, host: &str) {
    let lb_name = names::load_balancer_name(ctx.project, &ctx.env.name);
    file.top(
        "variable",
        obj([(
            LOAD_BALANCER_READY,
            obj([
                ("default", Value::Bool(false)),
                (
                    "description",
                    lit(format!(
                        "Set to true once the AWS Load Balancer Controller has created the load balancer `{lb_name}` \
                         (after the Kubernetes manifests are applied): Terraform then reads it to alias the ingress host"
                    )),
                ),
                ("type", lit("bool")),
            ]),
        )]),
    );
    let gate = format!("var.{LOAD_BALANCER_READY} ? 1 : 0");
    file.data("aws_lb", "ingress", obj([("count", reference(&gate)), ("name", lit(&lb_name))]));
    if let Some(zone) = &ingress.zone {
        let option =
            |field: &str| reference_of(&["tolist(aws_acm_certificate.ingress.domain_validation_options)[0].", field]);
        file.resource(
            "aws_route53_record",
            "certificate_validation",
            obj([
                ("allow_overwrite", Value::Bool(true)),
                ("name", option("resource_record_name")),
                ("records", Value::Array(vec![option("resource_record_value")])),
                ("ttl", Value::from(300)),
                ("type", option("resource_record_type")),
                ("zone_id", lit(zone)),
            ]),
        );
        file.resource(
            "aws_acm_certificate_validation",
            "ingress",
            obj([
                ("certificate_arn", reference("aws_acm_certificate.ingress.arn")),
                (
                    "validation_record_fqdns",
                    Value::Array(vec![reference("aws_route53_record.certificate_validation.fqdn")]),
                ),
            ]),
        );
        file.resource(
            "aws_route53_record",
            "ingress",
            obj([
                (
                    "alias",
                    obj([
                        ("evaluate_target_health", Value::Bool(true)),
                        ("name", reference("data.aws_lb.ingress[0].dns_name")),
                        ("zone_id", reference("data.aws_lb.ingress[0].zone_id")),
                    ]),
                ),
                ("count", reference(&gate)),
                ("name", lit(host)),
                ("type", lit("A")),
                ("zone_id", lit(zone)),
            ]),
        );
    }
    file.output(
        "load_balancer",
        obj([
            ("dns_name", reference_of(&["var.", LOAD_BALANCER_READY, " ? data.aws_lb.ingress[0].dns_name : null"])),
            ("host", lit(host)),
            ("name", lit(&lb_name)),
            ("zone_id", reference_of(&["var.", LOAD_BALANCER_READY, " ? data.aws_lb.ingress[0].zone_id : null"])),
        ]),
        if ingress.zone.is_some() {
            "The load balancer the AWS Load Balancer Controller creates for the ingress; the host's alias record is in the hosted zone once load_balancer_ready is true"
        } else {
            "The load balancer the AWS Load Balancer Controller creates for the ingress: no hosted zone is declared, so alias (or CNAME) the host to dns_name by hand"
        },
    );
}
