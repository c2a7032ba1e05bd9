//! `storage.tf.json`: one S3 bucket per `bucket`, private and encrypted by construction.
//!
//! Per bucket (Terraform name `ident(<bucket>)`, S3 name `ir::Bucket::bucket_name`):
//! - `aws_kms_key.s3_<bucket>` (+ alias `alias/<prefix>-s3-<bucket>`, rotation on, the
//!   account root administers it: [`iam::kms_key`]); SSE-KMS with that key and S3 Bucket
//!   Keys (`aws_s3_bucket_server_side_encryption_configuration`);
//! - `aws_s3_bucket` with `object_lock_enabled` when Object Lock applies (evidence or
//!   `lock`: it can only be enabled at creation here), never `force_destroy`;
//! - versioning `Enabled` (always; Object Lock requires it);
//! - `aws_s3_bucket_object_lock_configuration` with the default retention (`mode`, `days`)
//!   when `lock.retention` is set; without it Object Lock is on but nothing is retained
//!   unless a writer asks (legal holds are possible either way);
//! - `aws_s3_bucket_public_access_block` with all four settings on and
//!   `aws_s3_bucket_ownership_controls` `BucketOwnerEnforced` (ACLs disabled);
//! - `aws_s3_bucket_policy`: deny every request without TLS (`aws:SecureTransport` false)
//!   and every request below TLS 1.2; it grants nothing to anyone (access comes only from
//!   the services' own IAM roles, `identity.rs`), so it has no public principal to grant;
//! - `aws_s3_bucket_lifecycle_configuration`: abort incomplete multipart uploads after
//!   `lifecycle.abort_uploads` days, and expire noncurrent versions after
//!   `lifecycle.noncurrent` days when set (S3 keeps a locked version until its retention
//!   ends whatever the rule says).
//!
//! No server access logging: it needs a second bucket per bucket; requests are audited
//! by CloudTrail (outside govc), a reasoned checkov allowance.

use super::json::Value;

use super::iam;
use super::json::{ident, lit, lits, obj, reference_of, tags, template, Part, TfFile};
use super::Ctx;
use crate::ir::Bucket;

/// Terraform name of a bucket's resources.
pub fn bucket_ident(bucket: &str) -> String {
    ident(bucket)
}

/// Terraform name of a bucket's KMS key.
pub fn key_ident(bucket: &str) -> String {
    format!("s3_{}", ident(bucket))
}

/// Whether the environment needs `storage.tf.json`.
pub fn needed(ctx: &Ctx<'_>) -> bool {
    !ctx.env.resources.buckets.is_empty()
}

/// Renders `storage.tf.json`.
pub fn emit(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header(
        "Object storage: per bucket a KMS key, the bucket (versioned, SSE-KMS, public access blocked, owner-enforced, TLS only, Object Lock where declared) and its lifecycle.",
    ));
    for b in &ctx.env.resources.buckets {
        if let Some(why) = crate::emit::names::bucket_name_problem(&b.bucket_name) {
            return Err(format!("bucket `{}`: `{}` is not a valid S3 name: {why}", b.name, b.bucket_name));
        }
        bucket(&mut file, ctx, b);
    }
    Ok(file)
}

fn bucket(file: &mut TfFile, ctx: &Ctx<'_>, b: &Bucket) {
    let id = bucket_ident(&b.name);
    let key = key_ident(&b.name);
    let what = if b.evidence { "evidence bucket" } else { "bucket" };
    iam::kms_key(file, ctx, &key, &format!("s3-{}", b.name), &format!("{what} {} (SSE-KMS)", b.name), &[]);
    let this = |attr: &str| reference_of(&["aws_s3_bucket.", &id, ".", attr]);
    file.resource(
        "aws_s3_bucket",
        &id,
        obj([
            ("bucket", lit(&b.bucket_name)),
            ("force_destroy", Value::Bool(false)),
            ("object_lock_enabled", Value::Bool(b.object_lock())),
            ("tags", tags(&b.bucket_name, &[("Evidence".to_string(), b.evidence.to_string())])),
        ]),
    );
    file.resource(
        "aws_s3_bucket_versioning",
        &id,
        obj([
            ("bucket", this("id")),
            ("versioning_configuration", Value::Array(vec![obj([("status", lit("Enabled"))])])),
        ]),
    );
    if let Some(lock) = b.lock {
        if let Some(days) = lock.retention_days {
            file.resource(
                "aws_s3_bucket_object_lock_configuration",
                &id,
                obj([
                    ("bucket", this("id")),
                    ("depends_on", lits([format!("aws_s3_bucket_versioning.{id}")])),
                    (
                        "rule",
                        Value::Array(vec![obj([(
                            "default_retention",
                            Value::Array(vec![obj([("days", Value::from(days)), ("mode", lit(lock.mode.as_s3()))])]),
                        )])]),
                    ),
                ]),
            );
        }
    }
    file.resource(
        "aws_s3_bucket_server_side_encryption_configuration",
        &id,
        obj([
            ("bucket", this("id")),
            (
                "rule",
                Value::Array(vec![obj([
                    (
                        "apply_server_side_encryption_by_default",
                        Value::Array(vec![obj([
                            ("kms_master_key_id", reference_of(&["aws_kms_key.", &key, ".arn"])),
                            ("sse_algorithm", lit("aws:kms")),
                        ])]),
                    ),
                    ("bucket_key_enabled", Value::Bool(true)),
                ])]),
            ),
        ]),
    );
    file.resource(
        "aws_s3_bucket_public_access_block",
        &id,
        obj([
            ("block_public_acls", Value::Bool(true)),
            ("block_public_policy", Value::Bool(true)),
            ("bucket", this("id")),
            ("ignore_public_acls", Value::Bool(true)),
            ("restrict_public_buckets", Value::Bool(true)),
        ]),
    );
    file.resource(
        "aws_s3_bucket_ownership_controls",
        &id,
        obj([
            ("bucket", this("id")),
            ("rule", Value::Array(vec![obj([("object_ownership", lit("BucketOwnerEnforced"))])])),
        ]),
    );
    let doc = format!("bucket_{id}");
    file.data("aws_iam_policy_document", &doc, obj([("statement", Value::Array(policy_statements(&id)))]));
    file.resource(
        "aws_s3_bucket_policy",
        &id,
        obj([
            ("bucket", this("id")),
            ("depends_on", lits([format!("aws_s3_bucket_public_access_block.{id}")])),
            ("policy", reference_of(&["data.aws_iam_policy_document.", &doc, ".json"])),
        ]),
    );
    let mut rules = vec![obj([
        (
            "abort_incomplete_multipart_upload",
            Value::Array(vec![obj([("days_after_initiation", Value::from(b.abort_uploads_days))])]),
        ),
        ("filter", Value::Array(vec![obj([("prefix", lit(""))])])),
        ("id", lit("abort-incomplete-uploads")),
        ("status", lit("Enabled")),
    ])];
    if let Some(days) = b.noncurrent_days {
        rules.push(obj([
            ("filter", Value::Array(vec![obj([("prefix", lit(""))])])),
            ("id", lit("expire-noncurrent-versions")),
            ("noncurrent_version_expiration", Value::Array(vec![obj([("noncurrent_days", Value::from(days))])])),
            ("status", lit("Enabled")),
        ]));
    }
    file.resource(
        "aws_s3_bucket_lifecycle_configuration",
        &id,
        obj([
            ("bucket", this("id")),
            ("depends_on", lits([format!("aws_s3_bucket_versioning.{id}")])),
            ("rule", Value::Array(rules)),
        ]),
    );
}

/// The bucket policy: two denials for every principal, no grant.
fn policy_statements(id: &str) -> Vec<Value> {
    let resources = || {
        Value::Array(vec![
            reference_of(&["aws_s3_bucket.", id, ".arn"]),
            template(&[Part::Ref(&format!("aws_s3_bucket.{id}.arn")), Part::Lit("/*")]),
        ])
    };
    let anyone = || Value::Array(vec![obj([("identifiers", lits(["*"])), ("type", lit("*"))])]);
    let deny = |sid: &str, test: &str, variable: &str, value: &str| {
        obj([
            ("actions", lits(["s3:*"])),
            (
                "condition",
                Value::Array(vec![obj([("test", lit(test)), ("values", lits([value])), ("variable", lit(variable))])]),
            ),
            ("effect", lit("Deny")),
            ("principals", anyone()),
            ("resources", resources()),
            ("sid", lit(sid)),
        ])
    };
    vec![
        deny("DenyWithoutTls", "Bool", "aws:SecureTransport", "false"),
        deny("DenyBelowTls12", "NumericLessThan", "s3:TlsVersion", "1.2"),
    ]
}
