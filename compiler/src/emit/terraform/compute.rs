//! `compute.tf.json`: the EKS cluster `<prefix>` (private endpoint only, secrets
//! envelope-encrypted, all control plane logs to a KMS-encrypted log group) and one
//! managed node group in the runtime subnets whose launch template attaches the runtime
//! security group, requires IMDSv2 (hop limit 1: pods get AWS credentials from EKS Pod
//! Identity or IAM roles for service accounts, never from the node) and encrypts the root volume.
//!
//! Node sizing rule (deterministic): every node offers [`NODE_CPU_MILLIS`] and
//! [`NODE_MEMORY_BYTES`] to services (a 2 vCPU / 8 GiB instance less system reserve and
//! daemons). `min` = the nodes needed for every service at its minimum replicas, at
//! least one per zone; `max` = the nodes needed at maximum replicas, plus one for
//! rolling updates; `desired` = `min`; and enough nodes that no node carries more than
//! [`BRANCH_ENIS_PER_NODE`] service pods (each has its own branch network interface).
//! Every tier uses [`INSTANCE_TYPE`]: security groups for pods need a Nitro type with
//! trunk interfaces, which no `t` type has.
//!
//! Enforcement of the proven flows: the `vpc-cni` add-on runs with
//! [`VPC_CNI_CONFIGURATION`]: Kubernetes NetworkPolicies enforced (`enableNetworkPolicy`),
//! security groups for pods on (`ENABLE_POD_ENI`) in `strict` mode (every packet of a pod
//! with its own group, same node or not, internet or not, passes that group), TCP early
//! demux off so that kubelet probes reach pods on branch interfaces. The cluster role has
//! `AmazonEKSVPCResourceController` (the controller that creates those interfaces). The
//! output `security_group_policies` is the `SecurityGroupPolicy` per service that attaches
//! its group (an id, known after apply) to its pods.
//!
//! Add-ons ([`ADDONS`]): EKS add-ons `coredns`, `eks-pod-identity-agent`, `kube-proxy`,
//! `metrics-server` (the HPAs' resource metrics) and `vpc-cni`, each at the
//! `addon_version` pinned in [`crate::emit::versions`] for the environment's Kubernetes
//! version, created and updated with `OVERWRITE` (govc owns their configuration: a
//! field edited in the cluster is put back). No EBS CSI driver: nothing govc emits for
//! a cloud tier mounts a volume (databases are RDS; the in-cluster Postgres with its
//! volume claim exists for `tier = local` only), so the driver and its role would be
//! privilege without a use; the kind that first needs a volume adds it.
//!
//! Node autoscaling: the Cluster Autoscaler (its manifest is in the overlay, see
//! `kustomize/cluster.rs`) with a Pod Identity role for
//! `kube-system/cluster-autoscaler` that may describe Auto Scaling groups and change
//! only those tagged `k8s.io/cluster-autoscaler/<cluster> = owned`, the tag EKS puts on
//! the managed node group's group (and that the node group carries too). Karpenter and
//! EKS Auto Mode were not taken: Auto Mode has no security groups for pods, which the
//! proven flows rely on, and Karpenter needs an SQS interruption queue, an instance
//! profile and its own CRDs for no gain with one node group.
//!
//! When the environment has secrets, a Pod Identity role for the External Secrets
//! operator (`external-secrets/external-secrets`) that reads only those secrets.
//! With an ingress, the AWS Load Balancer Controller's Pod Identity role and the
//! `cert-manager` add-on; with `ci { role }`, the CI role's access entry ([`super::edge`]).

use super::json::Value;

use super::iam;
use super::json::{lit, lits, obj, reference, refs, tags, ObjectWriter, TfFile};
use super::network::LOG_RETENTION_DAYS;
use super::Ctx;
use crate::emit::{names, versions};
use crate::ir::SegmentRole;

/// The EKS add-ons of every cluster, by name.
pub const ADDONS: [&str; 5] = ["coredns", "eks-pod-identity-agent", "kube-proxy", "metrics-server", "vpc-cni"];

/// The Cluster Autoscaler's namespace and service account (its Pod Identity association).
pub const CLUSTER_AUTOSCALER_NAMESPACE: &str = "kube-system";
/// See [`CLUSTER_AUTOSCALER_NAMESPACE`].
pub const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT: &str = "cluster-autoscaler";

/// The pinned versions of the environment's Kubernetes version.
pub(super) fn kubernetes(ctx: &Ctx<'_>) -> Result<&'static versions::KubernetesVersion, String> {
    versions::kubernetes(&ctx.env.kubernetes_version).ok_or_else(|| {
        format!(
            "environment `{}`: Kubernetes version {} has no pinned add-ons",
            ctx.env.name, ctx.env.kubernetes_version
        )
    })
}

/// The `addon_version` of `addon` on the environment's Kubernetes version.
pub fn addon_version(k8s: &versions::KubernetesVersion, addon: &str) -> Option<&'static str> {
    match addon {
        "coredns" => Some(k8s.coredns),
        "eks-pod-identity-agent" => Some(versions::ADDON_POD_IDENTITY_AGENT),
        "kube-proxy" => Some(k8s.kube_proxy),
        "metrics-server" => Some(versions::ADDON_METRICS_SERVER),
        "vpc-cni" => Some(versions::ADDON_VPC_CNI),
        _ => None,
    }
}

/// CPU a node offers to services, millicores.
pub const NODE_CPU_MILLIS: u64 = 1500;

/// Memory a node offers to services, bytes (6 GiB).
pub const NODE_MEMORY_BYTES: u64 = 6 << 30;

/// The instance type of every node: Nitro with trunk interfaces (security groups for pods).
pub const INSTANCE_TYPE: &str = "m6i.large";

/// Branch network interfaces an [`INSTANCE_TYPE`] node offers: at most this many pods
/// with their own security group per node (`limits.go` of the VPC resource controller).
pub const BRANCH_ENIS_PER_NODE: u64 = 9;

/// The `vpc-cni` add-on's `configuration_values` (see the module doc).
pub const VPC_CNI_CONFIGURATION: &str = r#"{"enableNetworkPolicy":"true","env":{"ENABLE_POD_ENI":"true","POD_SECURITY_GROUP_ENFORCING_MODE":"strict"},"init":{"env":{"DISABLE_TCP_EARLY_DEMUX":"true"}}}"#;

/// Node group scaling: `(min, desired, max)`.
#[derive(Debug, PartialEq, Eq)]
pub struct NodeCount {
    /// Fewest nodes.
    pub min: u64,
    /// Nodes at creation.
    pub desired: u64,
    /// Most nodes.
    pub max: u64,
}

/// Applies the sizing rule of the module doc.
pub fn node_count(ctx: &Ctx<'_>) -> NodeCount {
    let services = &ctx.env.resources.services;
    let need = |replicas: fn(&crate::ir::Service) -> u32| {
        let cpu: u64 = services.iter().map(|s| u64::from(replicas(s)) * u64::from(s.cpu_millis)).sum();
        let mem: u64 = services.iter().map(|s| u64::from(replicas(s)) * s.memory_bytes).sum();
        let pods: u64 = services.iter().map(|s| u64::from(replicas(s))).sum();
        cpu.div_ceil(NODE_CPU_MILLIS).max(mem.div_ceil(NODE_MEMORY_BYTES)).max(pods.div_ceil(BRANCH_ENIS_PER_NODE))
    };
    let min = need(|s| s.replicas.min).max(u64::from(ctx.network.zones)).max(1);
    let max = need(|s| s.replicas.max).max(min) + 1;
    NodeCount { min, desired: min, max }
}

/// Renders `compute.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let k8s = kubernetes(ctx)?;
    let mut file = TfFile::new(&ctx.header("The EKS cluster and its nodes, in the runtime segment."));
    cluster(&mut file, ctx, k8s);
    nodes(&mut file, ctx);
    addons(&mut file, ctx, k8s)?;
    cluster_autoscaler(&mut file, ctx);
    if ctx.env.resources.has_stored_secrets() {
        external_secrets(&mut file, ctx);
    }
    if ctx.env.resources.ingress().is_some() {
        super::edge::load_balancer_controller(&mut file, ctx)?;
    }
    super::edge::pull_through_caches(&mut file, ctx);
    if let Some(role) = ctx.env.ci.as_ref().and_then(|c| c.role.as_deref()) {
        super::edge::ci_access(&mut file, ctx, role);
    }
    Ok(file)
}

fn cluster(file: &mut TfFile, ctx: &Ctx<'_>, k8s: &versions::KubernetesVersion) {
    iam::kms_key(file, ctx, "eks", "eks", "EKS secrets envelope encryption", &[]);
    let log_group = format!("/aws/eks/{}/cluster", ctx.prefix);
    file.resource(
        "aws_cloudwatch_log_group",
        "eks",
        obj([
            ("kms_key_id", reference("aws_kms_key.logs.arn")),
            ("name", lit(&log_group)),
            ("retention_in_days", Value::from(LOG_RETENTION_DAYS)),
            ("tags", tags(&log_group, &[])),
        ]),
    );
    let mut deps = iam::service_role(
        file,
        ctx,
        "eks_cluster",
        "eks-cluster",
        "eks.amazonaws.com",
        &["sts:AssumeRole", "sts:TagSession"],
        &["AmazonEKSClusterPolicy", "AmazonEKSVPCResourceController"],
    );
    deps.push("aws_cloudwatch_log_group.eks".to_string());
    let encryption =
        obj([("provider", obj([("key_arn", reference("aws_kms_key.eks.arn"))])), ("resources", lits(["secrets"]))]);
    let vpc = obj([
        ("endpoint_private_access", Value::Bool(true)),
        ("endpoint_public_access", Value::Bool(false)),
        ("security_group_ids", refs(["aws_security_group.cluster.id"])),
        ("subnet_ids", refs(ctx.subnet_ids(SegmentRole::Runtime))),
    ]);
    file.resource(
        "aws_eks_cluster",
        "main",
        obj([
            (
                "access_config",
                obj([
                    ("authentication_mode", lit("API")),
                    ("bootstrap_cluster_creator_admin_permissions", Value::Bool(true)),
                ]),
            ),
            ("depends_on", Value::Array(deps.iter().map(|d| Value::String(d.clone())).collect())),
            ("enabled_cluster_log_types", lits(["api", "audit", "authenticator", "controllerManager", "scheduler"])),
            ("encryption_config", encryption),
            ("name", lit(&ctx.prefix)),
            ("role_arn", reference("aws_iam_role.eks_cluster.arn")),
            ("tags", tags(&ctx.prefix, &[])),
            ("version", lit(k8s.version)),
            ("vpc_config", vpc),
        ]),
    );
}

fn nodes(file: &mut TfFile, ctx: &Ctx<'_>) {
    let deps = iam::service_role(
        file,
        ctx,
        "eks_nodes",
        "eks-nodes",
        "ec2.amazonaws.com",
        &["sts:AssumeRole"],
        &["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"],
    );
    let name = ctx.name("nodes", 128);
    // default_tags do not reach instances and volumes an Auto Scaling group launches.
    let mut instance_tags = super::root::default_tags(ctx);
    instance_tags.sort();
    let tag_spec = |ty: &str| obj([("resource_type", lit(ty)), ("tags", tags(&name, &instance_tags))]);
    file.resource(
        "aws_launch_template",
        "nodes",
        obj([
            (
                "block_device_mappings",
                Value::Array(vec![obj([
                    ("device_name", lit("/dev/xvda")),
                    (
                        "ebs",
                        obj([
                            ("delete_on_termination", lit("true")),
                            ("encrypted", lit("true")),
                            ("volume_size", Value::from(50)),
                            ("volume_type", lit("gp3")),
                        ]),
                    ),
                ])]),
            ),
            ("description", lit(format!("Nodes of {}: runtime security group, IMDSv2 only", ctx.prefix))),
            (
                "metadata_options",
                obj([
                    ("http_endpoint", lit("enabled")),
                    ("http_put_response_hop_limit", Value::from(1)),
                    ("http_tokens", lit("required")),
                ]),
            ),
            ("name", lit(&name)),
            ("tag_specifications", Value::Array(vec![tag_spec("instance"), tag_spec("volume")])),
            ("tags", tags(&name, &[])),
            ("update_default_version", Value::Bool(true)),
            ("vpc_security_group_ids", refs(["aws_security_group.runtime.id"])),
        ]),
    );
    let count = node_count(ctx);
    let instance = INSTANCE_TYPE;
    file.resource(
        "aws_eks_node_group",
        "main",
        obj([
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("depends_on", Value::Array(deps.into_iter().map(Value::String).collect())),
            ("instance_types", lits([instance])),
            (
                "launch_template",
                obj([
                    ("id", reference("aws_launch_template.nodes.id")),
                    ("version", reference("aws_launch_template.nodes.latest_version")),
                ]),
            ),
            ("node_group_name", lit(&name)),
            ("node_role_arn", reference("aws_iam_role.eks_nodes.arn")),
            (
                "scaling_config",
                obj([
                    ("desired_size", Value::from(count.desired)),
                    ("max_size", Value::from(count.max)),
                    ("min_size", Value::from(count.min)),
                ]),
            ),
            ("subnet_ids", refs(ctx.subnet_ids(SegmentRole::Runtime))),
            // The Cluster Autoscaler's discovery tags (EKS also puts them on the group's
            // Auto Scaling group, which is what the autoscaler reads).
            (
                "tags",
                tags(
                    &name,
                    &[
                        (autoscaler_owner_tag(ctx), "owned".to_string()),
                        ("k8s.io/cluster-autoscaler/enabled".to_string(), "true".to_string()),
                    ],
                ),
            ),
            ("update_config", obj([("max_unavailable", Value::from(1))])),
        ]),
    );
}

fn addons(file: &mut TfFile, ctx: &Ctx<'_>, k8s: &versions::KubernetesVersion) -> Result<(), String> {
    for addon in ADDONS {
        let version = addon_version(k8s, addon).ok_or_else(|| format!("add-on {addon} has no pinned version"))?;
        let mut body = obj([
            ("addon_name", lit(addon)),
            ("addon_version", lit(version)),
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("resolve_conflicts_on_create", lit("OVERWRITE")),
            ("resolve_conflicts_on_update", lit("OVERWRITE")),
            ("tags", tags(&ctx.name(addon, 255), &[])),
        ]);
        if addon == "vpc-cni" {
            super::json::set(&mut body, "configuration_values", lit(VPC_CNI_CONFIGURATION));
        }
        if matches!(addon, "coredns" | "metrics-server") {
            // Deployments: they need nodes to schedule on before the add-on reports healthy.
            super::json::set(&mut body, "depends_on", Value::Array(vec![lit("aws_eks_node_group.main")]));
        }
        file.resource("aws_eks_addon", &super::json::ident(addon), body);
    }
    Ok(())
}

/// The tag EKS puts on a managed node group's Auto Scaling group, which the Cluster
/// Autoscaler discovers and its role is limited to.
pub fn autoscaler_owner_tag(ctx: &Ctx<'_>) -> String {
    format!("k8s.io/cluster-autoscaler/{}", ctx.prefix)
}

fn cluster_autoscaler(file: &mut TfFile, ctx: &Ctx<'_>) {
    iam::pod_identity_role(
        file,
        ctx,
        "cluster_autoscaler",
        "cluster-autoscaler",
        CLUSTER_AUTOSCALER_NAMESPACE,
        CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
    );
    let owned = obj([
        ("test", lit("StringEquals")),
        ("values", lits(["owned"])),
        ("variable", lit(format!("aws:ResourceTag/{}", autoscaler_owner_tag(ctx)))),
    ]);
    let mut scale = iam::allow(
        "ScaleOwnNodeGroup",
        &["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
        vec![lit("*")],
    );
    super::json::set(&mut scale, "condition", Value::Array(vec![owned]));
    iam::inline_policy(
        file,
        "cluster_autoscaler",
        "cluster_autoscaler",
        vec![
            // The Describe actions have no resource-level permissions: `*` is their only form.
            iam::allow(
                "DescribeScalingState",
                &[
                    "autoscaling:DescribeAutoScalingGroups",
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeLaunchConfigurations",
                    "autoscaling:DescribeScalingActivities",
                    "autoscaling:DescribeTags",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplateVersions",
                    "ec2:GetInstanceTypesFromInstanceRequirements",
                ],
                vec![lit("*")],
            ),
            iam::allow(
                "DescribeOwnNodeGroup",
                &["eks:DescribeNodegroup"],
                vec![reference("aws_eks_node_group.main.arn")],
            ),
            scale,
        ],
    );
}

fn external_secrets(file: &mut TfFile, ctx: &Ctx<'_>) {
    iam::pod_identity_role(
        file,
        ctx,
        "external_secrets",
        "external-secrets",
        super::EXTERNAL_SECRETS_NAMESPACE,
        super::EXTERNAL_SECRETS_SERVICE_ACCOUNT,
    );
    let secrets: Vec<Value> = ctx
        .env
        .resources
        .secrets
        .iter()
        .filter(|s| s.path.is_some())
        .map(|s| reference(format!("aws_secretsmanager_secret.{}.arn", super::json::ident(&s.name))))
        .collect();
    iam::inline_policy(
        file,
        "external_secrets",
        "external_secrets",
        vec![
            iam::allow(
                "ReadDeclaredSecrets",
                &["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                secrets,
            ),
            iam::allow("DecryptDeclaredSecrets", &["kms:Decrypt"], vec![reference("aws_kms_key.secrets.arn")]),
        ],
    );
}

/// The `SecurityGroupPolicy` (`vpcresources.k8s.aws/v1beta1`) of every service (and of
/// every database bootstrap Job, [`super::identity`], and of the OpenTelemetry Collector), as a
/// `v1` `List` that `kubectl apply -f` takes: each selects the service's pods by the
/// labels the Kubernetes emitter gives them ([`names::pod_selector`]) and attaches the
/// service's security group, whose id exists only after apply (hence an output, not a
/// file of the Kustomize tree). Written as the entries of the output's value, `list`.
pub fn security_group_policies(ctx: &Ctx<'_>, list: &mut ObjectWriter) {
    let res = &ctx.env.resources;
    let services = res.services.iter().map(|svc| (svc.name.clone(), super::security::service_group(&svc.name)));
    let bootstraps = res
        .databases
        .iter()
        .filter(|d| res.connectors(&d.name).next().is_some())
        .map(|d| (names::bootstrap_name(&d.name), super::security::bootstrap_group(&d.name)));
    let collector = ctx
        .env
        .telemetry
        .as_ref()
        .map(|_| (crate::ir::Telemetry::COLLECTOR.to_string(), super::security::COLLECTOR_GROUP.to_string()));
    // Written straight to text, keys in order: an item per service.
    list.lit("apiVersion", "v1")
        .array("items", |items| {
            for (pods, group) in services.chain(bootstraps).chain(collector) {
                let mut labels = names::pod_selector(ctx.project, &pods);
                labels.sort_unstable_by_key(|(key, _)| *key);
                items.object(|item| {
                    item.lit("apiVersion", "vpcresources.k8s.aws/v1beta1")
                        .lit("kind", "SecurityGroupPolicy")
                        .object("metadata", |m| {
                            m.object("labels", |l| {
                                l.lit("app.kubernetes.io/managed-by", "govc")
                                    .lit("app.kubernetes.io/part-of", ctx.project);
                            })
                            .lit("name", &names::shorten(&pods, 253))
                            .lit("namespace", &ctx.env.namespace);
                        })
                        .object("spec", |spec| {
                            spec.object("podSelector", |selector| {
                                selector.object("matchLabels", |m| {
                                    for (key, value) in &labels {
                                        m.lit(key, value);
                                    }
                                });
                            })
                            .object("securityGroups", |groups| {
                                groups.array("groupIds", |ids| {
                                    ids.reference(&["aws_security_group.", &group, ".id"]);
                                });
                            });
                        });
                });
            }
        })
        .lit("kind", "List");
}
