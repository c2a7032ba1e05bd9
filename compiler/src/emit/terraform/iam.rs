//! Shared building blocks: customer-managed KMS keys with explicit key policies and
//! IAM roles for AWS services. Policies are `aws_iam_policy_document` data sources,
//! computed locally, so plans stay offline.

use serde_json::Value;

use super::json::{lit, lits, obj, reference, tags, template, Part, TfFile};
use super::Ctx;

/// A statement of a key policy granting a service principal use of the key.
pub struct ServiceGrant {
    /// The statement id.
    pub sid: &'static str,
    /// The service principal, e.g. `logs.eu-west-1.amazonaws.com`.
    pub service: String,
    /// Actions granted.
    pub actions: &'static [&'static str],
    /// An optional `(test, variable, value)` condition.
    pub condition: Option<(&'static str, &'static str, String)>,
}

/// Adds `aws_kms_key.<ident>` (rotation on, explicit policy) and `aws_kms_alias.<ident>`
/// named `alias/<prefix>-<alias>`. The account root administers the key (the AWS
/// default key policy, made explicit); `grants` add service principals.
pub fn kms_key(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, alias: &str, purpose: &str, grants: &[ServiceGrant]) {
    let mut statements = vec![obj([
        ("actions", lits(["kms:*"])),
        ("effect", lit("Allow")),
        ("principals", Value::Array(vec![obj([("identifiers", lits([ctx.account_root()])), ("type", lit("AWS"))])])),
        ("resources", lits(["*"])),
        ("sid", lit("AccountRootAdministers")),
    ])];
    for grant in grants {
        let mut st = obj([
            ("actions", lits(grant.actions)),
            ("effect", lit("Allow")),
            (
                "principals",
                Value::Array(vec![obj([("identifiers", lits([&grant.service])), ("type", lit("Service"))])]),
            ),
            ("resources", lits(["*"])),
            ("sid", lit(grant.sid)),
        ]);
        if let Some((test, variable, value)) = &grant.condition {
            let cond = obj([("test", lit(test)), ("values", lits([value])), ("variable", lit(variable))]);
            super::json::set(&mut st, "condition", Value::Array(vec![cond]));
        }
        statements.push(st);
    }
    let doc_name = format!("kms_{ident}");
    file.data("aws_iam_policy_document", &doc_name, obj([("statement", Value::Array(statements))]));
    let name = ctx.name(alias, 256);
    file.resource(
        "aws_kms_key",
        ident,
        obj([
            ("deletion_window_in_days", Value::from(30)),
            ("description", lit(format!("{name}: {purpose}"))),
            ("enable_key_rotation", Value::Bool(true)),
            ("policy", reference(format!("data.aws_iam_policy_document.{doc_name}.json"))),
            ("tags", tags(&name, &[])),
        ]),
    );
    file.resource(
        "aws_kms_alias",
        ident,
        obj([
            ("name", lit(format!("alias/{name}"))),
            ("target_key_id", reference(format!("aws_kms_key.{ident}.key_id"))),
        ]),
    );
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>`, assumable by `service`, with the
/// AWS managed policies attached (`aws_iam_role_policy_attachment.<ident>_<n>`).
/// Returns the attachment addresses, for `depends_on`.
pub fn service_role(
    file: &mut TfFile,
    ctx: &Ctx<'_>,
    ident: &str,
    suffix: &str,
    service: &str,
    actions: &[&str],
    managed: &[&str],
) -> Vec<String> {
    let doc_name = format!("assume_{ident}");
    let statement = obj([
        ("actions", lits(actions)),
        ("effect", lit("Allow")),
        ("principals", Value::Array(vec![obj([("identifiers", lits([service])), ("type", lit("Service"))])])),
    ]);
    file.data("aws_iam_policy_document", &doc_name, obj([("statement", Value::Array(vec![statement]))]));
    let name = ctx.name(suffix, 64);
    file.resource(
        "aws_iam_role",
        ident,
        obj([
            ("assume_role_policy", reference(format!("data.aws_iam_policy_document.{doc_name}.json"))),
            ("name", lit(&name)),
            ("tags", tags(&name, &[])),
        ]),
    );
    managed
        .iter()
        .enumerate()
        .map(|(n, policy)| {
            let att = format!("{ident}_{n}");
            file.resource(
                "aws_iam_role_policy_attachment",
                &att,
                obj([
                    ("policy_arn", lit(format!("arn:aws:iam::aws:policy/{policy}"))),
                    ("role", reference(format!("aws_iam_role.{ident}.name"))),
                ]),
            );
            format!("aws_iam_role_policy_attachment.{att}")
        })
        .collect()
}

/// An inline policy statement allowing `actions` on resources given as references.
pub fn allow(sid: &str, actions: &[&str], resources: Vec<Value>) -> Value {
    obj([
        ("actions", lits(actions)),
        ("effect", lit("Allow")),
        ("resources", Value::Array(resources)),
        ("sid", lit(sid)),
    ])
}

/// Adds an inline policy `aws_iam_role_policy.<ident>` on role `aws_iam_role.<role>`.
pub fn inline_policy(file: &mut TfFile, ident: &str, role: &str, statements: Vec<Value>) {
    let doc_name = format!("policy_{ident}");
    file.data("aws_iam_policy_document", &doc_name, obj([("statement", Value::Array(statements))]));
    file.resource(
        "aws_iam_role_policy",
        ident,
        obj([
            ("name", lit(ident)),
            ("policy", reference(format!("data.aws_iam_policy_document.{doc_name}.json"))),
            ("role", reference(format!("aws_iam_role.{role}.id"))),
        ]),
    );
}

/// `${<expr>}:*`: every stream of a log group.
pub fn log_streams(log_group: &str) -> Value {
    template(&[Part::Ref(&format!("aws_cloudwatch_log_group.{log_group}.arn")), Part::Lit(":*")])
}

/// The session tags EKS Pod Identity puts on every session it assumes, and that the
/// trust policy of [`pod_identity_role`] requires: `(tag, value)`.
pub fn pod_identity_tags(ctx: &Ctx<'_>, namespace: &str, service_account: &str) -> [(&'static str, String); 3] {
    [
        ("eks-cluster-name", ctx.prefix.clone()),
        ("kubernetes-namespace", namespace.to_string()),
        ("kubernetes-service-account", service_account.to_string()),
    ]
}

/// The ARN of the environment's EKS cluster, known statically (`<prefix>` in the account
/// and region): the `aws:SourceArn` of a Pod Identity session.
pub fn cluster_arn(ctx: &Ctx<'_>) -> String {
    format!("arn:aws:eks:{}:{}:cluster/{}", ctx.region, ctx.account, ctx.prefix)
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>` that EKS Pod Identity may assume
/// (`sts:AssumeRole`, `sts:TagSession`) for exactly one service account of one namespace
/// of this environment's cluster: the source account and cluster ARN and the session tags
/// EKS sets (cluster, namespace, service account) are conditions of the trust. Also adds
/// the `aws_eks_pod_identity_association.<ident>` of that service account to the role.
pub fn pod_identity_role(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, suffix: &str, namespace: &str, sa: &str) {
    let doc_name = format!("assume_{ident}");
    let cond = |test: &str, variable: &str, value: &str| {
        obj([("test", lit(test)), ("values", lits([value])), ("variable", lit(variable))])
    };
    let mut conditions = vec![
        cond("ArnEquals", "aws:SourceArn", &cluster_arn(ctx)),
        cond("StringEquals", "aws:SourceAccount", &ctx.account),
    ];
    for (tag, value) in pod_identity_tags(ctx, namespace, sa) {
        conditions.push(cond("StringEquals", &format!("aws:RequestTag/{tag}"), &value));
    }
    let statement = obj([
        ("actions", lits(["sts:AssumeRole", "sts:TagSession"])),
        ("condition", Value::Array(conditions)),
        ("effect", lit("Allow")),
        (
            "principals",
            Value::Array(vec![obj([("identifiers", lits(["pods.eks.amazonaws.com"])), ("type", lit("Service"))])]),
        ),
        ("sid", lit("EksPodIdentity")),
    ]);
    file.data("aws_iam_policy_document", &doc_name, obj([("statement", Value::Array(vec![statement]))]));
    let name = ctx.name(suffix, 64);
    file.resource(
        "aws_iam_role",
        ident,
        obj([
            ("assume_role_policy", reference(format!("data.aws_iam_policy_document.{doc_name}.json"))),
            ("name", lit(&name)),
            ("tags", tags(&name, &[])),
        ]),
    );
    file.resource(
        "aws_eks_pod_identity_association",
        ident,
        obj([
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("namespace", lit(namespace)),
            ("role_arn", reference(format!("aws_iam_role.{ident}.arn"))),
            ("service_account", lit(sa)),
            ("tags", tags(&name, &[])),
        ]),
    );
}
