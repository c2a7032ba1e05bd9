//! The root's plumbing: `backend.tf.json` (the environment's own S3 state),
//! `providers.tf.json` (pinned AWS provider, account guard, default tags) and
//! `outputs.tf.json` (only the apply-time values nothing else can know).

use super::json::{Map, Value};

use super::json::{lit, lits, obj, reference, refs, TfFile};
use super::Ctx;

/// The provider constraint: from 5.100 (what the validation mirror holds, so
/// `terraform init` there selects 5.100.0) up to, not including, 7.0, so that the
/// 6.x line can be adopted without a change to govc.
pub const AWS_PROVIDER_VERSION: &str = ">= 5.100, < 7.0";

/// The Terraform constraint: 1.10 is the first release whose S3 backend locks the
/// state with a lock file in the bucket (`use_lockfile`).
pub const TERRAFORM_VERSION: &str = ">= 1.10";

/// `terraform.backend.s3`: one backend per environment, encrypted, locked by a
/// lock file beside the state in the bucket (S3 native locking, no DynamoDB table).
pub fn backend(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let state = ctx.env.state.as_ref().ok_or_else(|| format!("environment `{}` has no `state` block", ctx.env.name))?;
    let bucket =
        state.bucket.as_ref().ok_or_else(|| format!("environment `{}` has no `state.bucket`", ctx.env.name))?;
    let region = state.region.as_deref().unwrap_or(&ctx.region);
    let mut file = TfFile::new(&ctx.header("The Terraform state backend of this environment."));
    let s3 = obj([
        ("bucket", lit(bucket)),
        ("encrypt", Value::Bool(true)),
        ("key", lit(&state.key)),
        ("region", lit(region)),
        ("use_lockfile", Value::Bool(true)),
    ]);
    file.top("terraform", obj([("backend", obj([("s3", s3)]))]));
    Ok(file)
}

/// The tags every resource carries through the provider's `default_tags`.
pub fn default_tags(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    vec![
        ("environment".to_string(), ctx.env.name.clone()),
        ("managed-by".to_string(), "govc".to_string()),
        ("project".to_string(), ctx.project.to_string()),
        ("tier".to_string(), ctx.env.tier.as_str().to_string()),
    ]
}

/// `required_version`, `required_providers` and `provider.aws`.
pub fn providers(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(&ctx.header("Provider pinning, account guard and default tags."));
    let aws = obj([("source", lit("hashicorp/aws")), ("version", lit(AWS_PROVIDER_VERSION))]);
    file.top(
        "terraform",
        obj([("required_providers", obj([("aws", aws)])), ("required_version", lit(TERRAFORM_VERSION))]),
    );
    let tags: Map = default_tags(ctx).into_iter().map(|(k, v)| (k, lit(v))).collect();
    let provider = obj([
        ("allowed_account_ids", lits([&ctx.account])),
        ("default_tags", obj([("tags", Value::Object(tags))])),
        ("region", lit(&ctx.region)),
    ]);
    file.top("provider", obj([("aws", provider)]));
    Ok(file)
}

/// `outputs.tf.json`: certificate validation records and the NAT's public address.
pub fn outputs(ctx: &Ctx<'_>) -> Result<TfFile, String> {
    let mut file = TfFile::new(
        &ctx.header("Only apply-time values that cannot be static: everything else is found by deterministic name."),
    );
    if ctx.env.resources.ingress().is_some_and(|i| i.host.is_some()) {
        file.output(
            "certificate_validation_records",
            reference("aws_acm_certificate.ingress.domain_validation_options"),
            "DNS records that validate the ingress certificate: the host's DNS zone is outside govc, create them there",
        );
    }
    if !ctx.env.resources.services.is_empty() {
        file.output_with(
            "security_group_policies",
            "The SecurityGroupPolicy of each service (a v1 List for kubectl apply -f): attaches its security group, an id known after apply, to its pods",
            |list| super::compute::security_group_policies(ctx, list),
        );
    }
    let nats = super::network::nat_zones(ctx);
    if nats > 0 {
        let ips = (0..nats).map(|i| format!("aws_eip.nat_{}.public_ip", super::zone_letter(i)));
        file.output(
            "nat_public_ips",
            refs(ips),
            "The public addresses of service egress (NAT): partners that allowlist callers need them",
        );
    }
    Ok(file)
}
