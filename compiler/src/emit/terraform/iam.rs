//! Shared building blocks: customer-managed KMS keys with explicit key policies and
//! IAM roles for AWS services. Policies are `aws_iam_policy_document` data sources,
//! computed locally, so plans stay offline.

use super::json::Value;

use super::json::{lit, lits, obj, reference, reference_of, tags, template, Part, TfFile};
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
            ("policy", reference_of(&["data.aws_iam_policy_document.", &doc_name, ".json"])),
            ("tags", tags(&name, &[])),
        ]),
    );
    file.resource(
        "aws_kms_alias",
        ident,
        obj([
            ("name", lit(format!("alias/{name}"))),
            ("target_key_id", reference_of(&["aws_kms_key.", ident, ".key_id"])),
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
    let statement = obj([
        ("actions", lits(actions)),
        ("effect", lit("Allow")),
        ("principals", Value::Array(vec![obj([("identifiers", lits([service])), ("type", lit("Service"))])])),
    ]);
    role(file, ctx, ident, suffix, statement);
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
                    ("role", reference_of(&["aws_iam_role.", ident, ".name"])),
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
    let doc_name = ["policy_", ident].concat();
    file.data_with("aws_iam_policy_document", &doc_name, |doc| {
        doc.array("statement", |items| {
            for statement in &statements {
                items.value(statement);
            }
        });
    });
    file.resource_with("aws_iam_role_policy", ident, |policy| {
        policy
            .lit("name", ident)
            .reference("policy", &["data.aws_iam_policy_document.", &doc_name, ".json"])
            .reference("role", &["aws_iam_role.", role, ".id"]);
    });
}

/// `${<expr>}:*`: every stream of a log group.
pub fn log_streams(log_group: &str) -> Value {
    template(&[Part::Ref(&format!("aws_cloudwatch_log_group.{log_group}.arn")), Part::Lit(":*")])
}

/// The issuer of the cluster's IAM OIDC provider (`aws_iam_openid_connect_provider.eks`
/// of `identity.tf.json`, IAM roles for service accounts) without its scheme: the
/// prefix of the condition keys of its tokens' claims.
const OIDC_ISSUER: &str = "replace(aws_iam_openid_connect_provider.eks.url, \"https://\", \"\")";

/// The expression of that provider's ARN.
const OIDC_PROVIDER_ARN: &str = "aws_iam_openid_connect_provider.eks.arn";

/// `<issuer host and path>:<claim>`, the condition key of a claim of the cluster's
/// service account tokens (the issuer is known after apply).
pub fn oidc_claim(claim: &str) -> Value {
    template(&[Part::Ref(OIDC_ISSUER), Part::Lit(&[":", claim].concat())])
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>` that only the service account
/// `<namespace>/<sa>` of this environment's cluster may assume, through IAM roles for
/// service accounts: `sts:AssumeRoleWithWebIdentity` from the cluster's OIDC provider,
/// the token's `sub` exactly `system:serviceaccount:<namespace>:<sa>` and its `aud`
/// exactly `sts.amazonaws.com`. Returns the role's name (the ServiceAccount's
/// `eks.amazonaws.com/role-arn` annotation names it).
pub fn workload_role(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, suffix: &str, namespace: &str, sa: &str) -> String {
    let subject = ["system:serviceaccount:", namespace, ":", sa].concat();
    let doc_name = ["assume_", ident].concat();
    // Written straight to text, as the tree of `role`'s statement would be: a fleet has
    // a role per service.
    file.data_with("aws_iam_policy_document", &doc_name, |doc| {
        doc.array("statement", |statements| {
            statements.object(|st| {
                st.array("actions", |actions| {
                    actions.lit("sts:AssumeRoleWithWebIdentity");
                })
                .array("condition", |conditions| {
                    for (claim, value) in [("aud", "sts.amazonaws.com"), ("sub", subject.as_str())] {
                        conditions.object(|c| {
                            c.lit("test", "StringEquals")
                                .array("values", |values| {
                                    values.lit(value);
                                })
                                .value("variable", &oidc_claim(claim));
                        });
                    }
                })
                .lit("effect", "Allow")
                .array("principals", |principals| {
                    principals.object(|p| {
                        p.array("identifiers", |ids| {
                            ids.reference(&[OIDC_PROVIDER_ARN]);
                        })
                        .lit("type", "Federated");
                    });
                })
                .lit("sid", "ServiceAccount");
            });
        });
    });
    role_trusting(file, ctx, ident, suffix, &doc_name)
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>` whose trust policy is the one
/// `statement` (`data.aws_iam_policy_document.assume_<ident>`). Returns the role's name.
fn role(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, suffix: &str, statement: Value) -> String {
    let doc_name = ["assume_", ident].concat();
    file.data("aws_iam_policy_document", &doc_name, obj([("statement", Value::Array(vec![statement]))]));
    role_trusting(file, ctx, ident, suffix, &doc_name)
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>` whose trust policy is the
/// policy document `doc_name`. Returns the role's name.
fn role_trusting(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, suffix: &str, doc_name: &str) -> String {
    let name = ctx.name(suffix, 64);
    file.resource_with("aws_iam_role", ident, |role| {
        role.reference("assume_role_policy", &["data.aws_iam_policy_document.", doc_name, ".json"])
            .lit("name", &name)
            .object("tags", |tags| {
                tags.lit("Name", &name);
            });
    });
    name
}

/// Adds `aws_iam_role.<ident>` named `<prefix>-<suffix>`, assumable by EKS Pod Identity
/// only, and `aws_eks_pod_identity_association.<ident>` giving it to the service account
/// `<namespace>/<sa>` of the cluster. For operators without a security group of their
/// own (a pod with one cannot reach the node's Pod Identity agent: [`workload_role`]).
pub fn pod_identity_role(file: &mut TfFile, ctx: &Ctx<'_>, ident: &str, suffix: &str, namespace: &str, sa: &str) {
    service_role(file, ctx, ident, suffix, "pods.eks.amazonaws.com", &["sts:AssumeRole", "sts:TagSession"], &[]);
    file.resource(
        "aws_eks_pod_identity_association",
        ident,
        obj([
            ("cluster_name", reference("aws_eks_cluster.main.name")),
            ("namespace", lit(namespace)),
            ("role_arn", reference_of(&["aws_iam_role.", ident, ".arn"])),
            ("service_account", lit(sa)),
            ("tags", tags(&ctx.name(suffix, 255), &[])),
        ]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider `identity.tf.json` declares.
    const OIDC_PROVIDER: &str = "aws_iam_openid_connect_provider.eks";

    #[test]
    fn the_provider_expressions_name_the_provider() {
        assert_eq!(OIDC_ISSUER, format!("replace({OIDC_PROVIDER}.url, \"https://\", \"\")"));
        assert_eq!(OIDC_PROVIDER_ARN, format!("{OIDC_PROVIDER}.arn"));
    }
}
