//! `identity.tf.json`: workload identity, least privilege, through IAM roles for service
//! accounts (IRSA): the cluster's IAM OIDC provider `aws_iam_openid_connect_provider.eks`
//! and one role per workload that has something to be granted.
//!
//! Why not EKS Pod Identity: every service pod has its own security group in `strict`
//! mode (`compute.rs`, `docs/decisions.md`), and such a pod cannot reach the node-local
//! Pod Identity agent (169.254.170.23 on the node; aws/amazon-vpc-resource-controller-k8s
//! issue 618). IRSA needs no node-local agent: the SDK exchanges the projected service
//! account token for credentials at STS, through the `sts` VPC endpoint on 443, which the
//! workload's security group and NetworkPolicy allow (and nothing else on the endpoints).
//! Platform operators without a pod security group (External Secrets) keep Pod Identity.
//!
//! - Every service that `connects` to a postgres gets its own role `<prefix>-svc-<service>`
//!   (`aws_iam_role.svc_<service>`) that only the token of the service's own
//!   ServiceAccount (`<namespace>/<service>`, annotated `eks.amazonaws.com/role-arn` by the
//!   overlay) may assume ([`iam::workload_role`]), with one inline policy: per database it
//!   connects to, `rds-db:connect` as its own database user ([`crate::ir::database_user`])
//!   on the writer and every read replica, by their `resource_id`. Nothing else: services
//!   read their secrets through the External Secrets operator, whose own role reads the
//!   environment's secrets. Per bucket it connects to ([`bucket_statements`]): list that
//!   bucket, read and write its objects (no delete of any kind on an evidence bucket,
//!   never a retention or legal hold change, never a governance bypass), and use that
//!   bucket's KMS key. A service with no grant (no postgres, no bucket) gets no role: its
//!   pods have no AWS credentials at all.
//! - Every postgres that some service connects to gets a bootstrap role
//!   `<prefix>-bootstrap-<postgres>` for the ServiceAccount `<postgres>-bootstrap` of the
//!   Job that creates those users (Kustomize overlay): it may find the RDS-managed master
//!   secret of that instance (`secretsmanager:ListSecrets`, which IAM cannot scope to a
//!   resource, returns names and tags, never values), read exactly that secret, and
//!   decrypt with exactly that database's key. Nothing else.
//!
//! [`crate::emit::identity_tests`] reads these back and compares them with the program.

use super::iam;
use super::json::{
    ident, lit, lits, obj, prefixed_ident, reference, reference_of, tags, template, Part, TfFile, Value,
};
use super::Ctx;
use crate::emit::names;
use crate::ir::{self, Postgres};

/// Whether the environment needs `identity.tf.json`: some service connects to a postgres.
pub fn needed(ctx: &Ctx<'_>) -> bool {
    let res = &ctx.env.resources;
    res.services.iter().any(|s| res.has_role(s))
}

/// The Terraform identifier of a service's role (and its Pod Identity association).
pub fn service_role(service: &str) -> String {
    prefixed_ident("svc_", service)
}

/// The Terraform identifier of a postgres's bootstrap role.
pub fn bootstrap_role(postgres: &str) -> String {
    prefixed_ident("bootstrap_", postgres)
}

/// The instances of a postgres: the writer, then its replicas (Terraform identifiers).
pub fn instances(db: &Postgres) -> Vec<String> {
    let id = ident(&db.name);
    let mut out = vec![id.clone()];
    out.extend((1..=db.replicas).map(|n| format!("{id}_replica_{n}")));
    out
}

/// `UpperCamel` of a name, for statement ids (letters and digits only).
fn sid_part(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// What a service that connects to a bucket may do on S3: list the bucket, read and write
/// its objects and their versions (and clean up its own multipart uploads); on a bucket
/// that is not evidence also delete an object (a delete marker: versions stay). Never
/// `s3:DeleteObjectVersion`, `s3:BypassGovernanceRetention`, `s3:PutObjectRetention`,
/// `s3:PutObjectLegalHold` or any bucket configuration; on an evidence bucket no delete at
/// all (write-once). KMS: encrypt, decrypt and data keys with that bucket's key only.
pub fn bucket_statements(bucket: &ir::Bucket) -> Vec<Value> {
    let id = super::storage::bucket_ident(&bucket.name);
    let sid = sid_part(&bucket.name);
    let arn = reference_of(&["aws_s3_bucket.", &id, ".arn"]);
    let objects = template(&[Part::Ref(&format!("aws_s3_bucket.{id}.arn")), Part::Lit("/*")]);
    vec![
        iam::allow(&format!("List{sid}"), BUCKET_ACTIONS, vec![arn]),
        iam::allow(
            &format!("Objects{sid}"),
            if bucket.evidence { EVIDENCE_OBJECT_ACTIONS } else { OBJECT_ACTIONS },
            vec![objects],
        ),
        iam::allow(
            &format!("Key{sid}"),
            KEY_ACTIONS,
            vec![reference(format!("aws_kms_key.{}.arn", super::storage::key_ident(&bucket.name)))],
        ),
    ]
}

/// On the bucket itself.
pub const BUCKET_ACTIONS: &[&str] = &["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"];

/// On the objects of a bucket that is not evidence.
pub const OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// On the objects of an evidence bucket: write-once (no delete of any kind), and the
/// object's retention and legal hold may be read, never changed.
pub const EVIDENCE_OBJECT_ACTIONS: &[&str] = &[
    "s3:AbortMultipartUpload",
    "s3:GetObject",
    "s3:GetObjectLegalHold",
    "s3:GetObjectRetention",
    "s3:GetObjectVersion",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
];

/// On the bucket's KMS key (S3 asks for data keys and decrypts on the caller's behalf).
pub const KEY_ACTIONS: &[&str] = &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/// Renders `identity.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header(
        "Workload identity (IAM roles for service accounts): one role per service holding what it declares, one per database bootstrap.",
    ));
    let res = &ctx.env.resources;
    let namespace = &ctx.env.namespace;
    file.resource(
        "aws_iam_openid_connect_provider",
        "eks",
        obj([
            ("client_id_list", lits(["sts.amazonaws.com"])),
            ("tags", tags(&ctx.name("eks-oidc", 255), &[])),
            ("url", reference("aws_eks_cluster.main.identity[0].oidc[0].issuer")),
        ]),
    );
    let prefix = format!("arn:aws:rds-db:{}:{}:dbuser:", ctx.region, ctx.account);
    for svc in &res.services {
        let mut statements = Vec::new();
        for db_name in svc.databases() {
            // Like the security groups, a connection to a database the environment lacks
            // grants nothing (the checks report it before emission).
            let Some(db) = res.database(db_name) else { continue };
            let user = ir::database_user(&svc.name);
            let users = instances(db)
                .iter()
                .map(|i| {
                    template(&[
                        Part::Lit(&prefix),
                        Part::Ref(&["aws_db_instance.", i, ".resource_id"].concat()),
                        Part::Lit(&["/", &user].concat()),
                    ])
                })
                .collect();
            statements.push(iam::allow(&["Connect", &sid_part(&db.name)].concat(), &["rds-db:connect"], users));
        }
        for name in svc.buckets() {
            let Some(bucket) = res.bucket(name) else { continue };
            statements.extend(bucket_statements(bucket));
        }
        if statements.is_empty() {
            continue;
        }
        let role = service_role(&svc.name);
        iam::workload_role(&mut file, ctx, &role, &["svc-", &svc.name].concat(), namespace, &svc.name);
        iam::inline_policy(&mut file, &role, &role, statements);
    }
    for db in &res.databases {
        if res.connectors(&db.name).next().is_none() {
            continue;
        }
        let id = ident(&db.name);
        let role = bootstrap_role(&db.name);
        let sa = names::bootstrap_name(&db.name);
        iam::workload_role(&mut file, ctx, &role, &format!("bootstrap-{}", db.name), namespace, &sa);
        let secret = reference_of(&["aws_db_instance.", &id, ".master_user_secret[0].secret_arn"]);
        iam::inline_policy(
            &mut file,
            &role,
            &role,
            vec![
                // ListSecrets has no resource-level permission; it returns metadata only.
                iam::allow("FindMasterSecret", &["secretsmanager:ListSecrets"], vec![lit("*")]),
                iam::allow(
                    "ReadMasterSecret",
                    &["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                    vec![secret],
                ),
                iam::allow(
                    "DecryptMasterSecret",
                    &["kms:Decrypt"],
                    vec![reference_of(&["aws_kms_key.db_", &id, ".arn"])],
                ),
            ],
        );
    }
    Ok(file)
}
