//! Deterministic names shared by the emitters, so that Terraform and Kubernetes
//! find each other's objects by name alone.
//!
//! Where a derived name would exceed a provider's limit it is shortened
//! deterministically: truncated, then suffixed with 8 hex digits of its sha256.

use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// `name` if it fits in `max` bytes, otherwise its first bytes plus `-` and a short hash
/// of the whole name. Never ends with `-` or `.` before the hash, so that a shortened
/// DNS subdomain (a NetworkPolicy named after an egress host) stays one.
pub fn shorten(name: &str, max: usize) -> String {
    shortened(name.to_string(), max)
}

/// [`shorten`] of a name already made: kept as it is when it fits (most do), never
/// copied.
pub fn shortened(name: String, max: usize) -> String {
    if name.len() <= max {
        return name;
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash = crate::lock::hex(&digest[..4]);
    let keep = max.saturating_sub(hash.len() + 1);
    let head = name[..keep].trim_end_matches(['-', '.']);
    format!("{head}-{hash}")
}

/// `<project>-<env>`: the Kubernetes namespace, the EKS cluster name and the prefix of
/// every AWS name (shortened to `max`).
pub fn env_prefix(project: &str, env: &str, max: usize) -> String {
    shortened([project, "-", env].concat(), max)
}

/// The characters of a Kubernetes namespace (a DNS-1123 label).
pub const NAMESPACE_MAX: usize = 63;

/// `<project>-<env>` shortened to [`NAMESPACE_MAX`]: the Kubernetes namespace of an
/// environment. The IR holds it (`ir::Environment::namespace`), so the Kustomize
/// overlay, `service.host`, the docs and the SecurityGroupPolicies Terraform emits all
/// read this one name.
pub fn namespace(project: &str, env: &str) -> String {
    env_prefix(project, env, NAMESPACE_MAX)
}

/// The characters of a StatefulSet's name: its pods carry the label
/// `controller-revision-hash: <name>-<10 characters>`, a label value of at most 63.
pub const STATEFUL_SET_MAX: usize = 52;

/// The longest `<project>-<env>` prefix of AWS names: every derived name
/// (`<prefix>-svc-<service>`, IAM roles `<prefix>-eks-cluster`, RDS identifiers
/// `<prefix>-<db>`) must stay within the AWS limits (64 for IAM role names, 63 for
/// RDS identifiers).
pub const AWS_PREFIX_MAX: usize = 40;

/// `<project>-<env>` shortened to [`AWS_PREFIX_MAX`]: the EKS cluster name and the
/// prefix of every AWS name in the environment's Terraform root.
pub fn aws_prefix(project: &str, env: &str) -> String {
    env_prefix(project, env, AWS_PREFIX_MAX)
}

/// [`aws_prefix`] followed by `parts`, one string built in place (names of this kind
/// are made thousands of times per fleet: a role and a security group per service).
fn after_prefix<const N: usize>(project: &str, env: &str, parts: [&str; N]) -> String {
    let mut name = aws_prefix(project, env);
    crate::emit::push_all(&mut name, parts);
    name
}

/// The EKS cluster of an environment.
pub fn cluster_name(project: &str, env: &str) -> String {
    aws_prefix(project, env)
}

/// The name of a segment's security group, `<prefix>-<segment>`, for the `ingress`
/// and `runtime` segments (databases have one group each, [`postgres_security_group_name`]).
/// Terraform creates it; the Kubernetes Ingress names the ingress one in its ALB annotation.
pub fn security_group_name(project: &str, env: &str, role: crate::ir::SegmentRole) -> String {
    shortened(after_prefix(project, env, ["-", role.as_str()]), 255)
}

/// The security group of a service's pods (EKS security groups for pods),
/// `<prefix>-svc-<service>`, within the 255 bytes of a group name.
pub fn service_security_group_name(project: &str, env: &str, service: &str) -> String {
    shortened(after_prefix(project, env, ["-svc-", service]), 255)
}

/// The security group of the environment's OpenTelemetry Collector, `<prefix>-otel-collector`.
pub fn collector_security_group_name(project: &str, env: &str) -> String {
    shortened(after_prefix(project, env, ["-", crate::ir::Telemetry::COLLECTOR]), 255)
}

/// The security group of one postgres, `<prefix>-pg-<postgres>`.
pub fn postgres_security_group_name(project: &str, env: &str, postgres: &str) -> String {
    shortened(after_prefix(project, env, ["-pg-", postgres]), 255)
}

/// The master user of every RDS postgres (its password is managed by RDS in Secrets
/// Manager; only the bootstrap Job reads it).
pub const DB_MASTER_USER: &str = "govc_admin";

/// The RDS identifier of a postgres's writer instance, `<prefix>-<postgres>` (63 at most).
pub fn db_identifier(project: &str, env: &str, postgres: &str) -> String {
    shortened(after_prefix(project, env, ["-", postgres]), 63)
}

/// The IAM role `<prefix>-<suffix>` (64 at most) of a workload: `svc-<service>` or
/// `bootstrap-<postgres>`; its ServiceAccount's `eks.amazonaws.com/role-arn` names it.
pub fn role_name(project: &str, env: &str, suffix: &str) -> String {
    shortened(after_prefix(project, env, ["-", suffix]), 64)
}

/// The annotation of a ServiceAccount that names its IAM role (IAM roles for service accounts).
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// The name of the workload that creates a postgres's IAM-authenticated users: its
/// Job's pods, ServiceAccount and ConfigMap, `<postgres>-bootstrap`.
pub fn bootstrap_name(postgres: &str) -> String {
    shorten(&crate::model::lower::bootstrap_name(postgres), 63)
}

/// The security group of a postgres's bootstrap Job, `<prefix>-bootstrap-<postgres>`.
pub fn bootstrap_security_group_name(project: &str, env: &str, postgres: &str) -> String {
    shortened(after_prefix(project, env, ["-bootstrap-", postgres]), 255)
}

/// `<project>-<name>` shortened to the 63 characters of a label value: the
/// `app.kubernetes.io/instance` label of the pods of `name`.
pub fn instance_label(project: &str, name: &str) -> String {
    shortened([project, "-", name].concat(), 63)
}

/// The labels that select the pods of `name`: the Kubernetes Deployment, its
/// NetworkPolicies and the SecurityGroupPolicy that Terraform emits all use these.
pub fn pod_selector<'a>(project: &str, name: &'a str) -> [(&'static str, Cow<'a, str>); 2] {
    [
        ("app.kubernetes.io/name", Cow::Borrowed(name)),
        ("app.kubernetes.io/instance", Cow::Owned(instance_label(project, name))),
    ]
}

/// The characters of an Elastic Load Balancing load balancer's name.
pub const LOAD_BALANCER_MAX: usize = 32;

/// The name of the environment's application load balancer, `<project>-<env>` shortened
/// to [`LOAD_BALANCER_MAX`], letters, digits and `-` only: the Ingress gives it to the
/// AWS Load Balancer Controller (`alb.ingress.kubernetes.io/load-balancer-name`) and
/// Terraform finds the load balancer by it for the DNS alias.
pub fn load_balancer_name(project: &str, env: &str) -> String {
    let plain: String =
        format!("{project}-{env}").chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let short = shorten(&plain, LOAD_BALANCER_MAX);
    short.trim_matches('-').to_string()
}

/// The most characters of an S3 bucket name.
pub const BUCKET_NAME_MAX: usize = 63;

/// The S3 name of bucket `bucket` of environment `env`: `<project>-<env>-<bucket>-<account>`
/// when the account is known (cloud: S3 names are global, the account id keeps them
/// unique), `<project>-<env>-<bucket>` otherwise (a local MinIO), lowercased with `_`
/// turned into `-`. Never shortened: [`bucket_name_problem`] reports a name that does not
/// fit (E607), so the name a program reads is the name S3 holds.
pub fn bucket_name(project: &str, env: &str, bucket: &str, account: Option<&str>) -> String {
    let mut parts = vec![project, env, bucket];
    parts.extend(account);
    parts.join("-").to_ascii_lowercase().replace('_', "-")
}

/// Why `name` is not a valid S3 (general purpose) bucket name, if it is not: 3 to 63
/// characters, lowercase letters, digits, `.` and `-`, starting and ending with a letter
/// or digit, no reserved prefix (`xn--`, `sthree-`, `amzn-s3-demo-`) or suffix
/// (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`, `--table-s3`).
pub fn bucket_name_problem(name: &str) -> Option<String> {
    if name.len() > BUCKET_NAME_MAX {
        return Some(format!(
            "it has {} characters, {} more than the {BUCKET_NAME_MAX} S3 allows",
            name.len(),
            name.len() - BUCKET_NAME_MAX
        ));
    }
    if name.len() < 3 {
        return Some("S3 names have at least 3 characters".into());
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.')) {
        return Some(format!("`{c}` is not allowed in an S3 name"));
    }
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge(name.chars().next()) || !edge(name.chars().last()) {
        return Some("an S3 name starts and ends with a letter or digit".into());
    }
    if let Some(p) = ["xn--", "sthree-", "amzn-s3-demo-"].into_iter().find(|p| name.starts_with(p)) {
        return Some(format!("S3 reserves the prefix `{p}`"));
    }
    if let Some(x) = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].into_iter().find(|x| name.ends_with(x)) {
        return Some(format!("S3 reserves the suffix `{x}`"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_fit_a_dns_label() {
        assert_eq!(namespace("zenthea", "production"), "zenthea-production");
        let long = namespace(&"p".repeat(63), &"e".repeat(63));
        assert_eq!(long.len(), NAMESPACE_MAX);
        assert!(
            long.starts_with('p') && long.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
        assert_ne!(long, namespace(&"p".repeat(63), &"e".repeat(62)));
    }

    #[test]
    fn a_shortened_subdomain_has_no_empty_label() {
        let name = format!("allow-api-egress-{}.example.com-443", "a".repeat(26));
        // Cut right after the dot: the kept head would end with it.
        let max = name.find('.').expect("a dot") + 1 + 9;
        let short = shorten(&name, max);
        assert!(!short.contains(".-") && short.len() < max, "{short}");
        assert_eq!(short, shorten(&name, max));
    }

    #[test]
    fn short_names_are_kept() {
        assert_eq!(shorten("zenthea-production", 63), "zenthea-production");
    }

    #[test]
    fn long_names_are_truncated_with_a_stable_hash() {
        let long = "a".repeat(40) + "-" + &"b".repeat(40);
        let short = shorten(&long, 32);
        assert_eq!(short.len(), 32);
        assert_eq!(short, shorten(&long, 32));
        assert_ne!(short, shorten(&(long.clone() + "c"), 32));
    }

    #[test]
    fn bucket_names_follow_the_s3_rules() {
        assert_eq!(
            bucket_name("p", "prod", "Evidence_Store", Some("111111111111")),
            "p-prod-evidence-store-111111111111"
        );
        assert_eq!(bucket_name("p", "local", "evidence", None), "p-local-evidence");
        assert_eq!(bucket_name_problem("p-prod-evidence-111111111111"), None);
        let long = format!("p-{}-111111111111", "a".repeat(50));
        assert!(bucket_name_problem(&long).is_some_and(|w| w.contains("65 characters")));
        assert!(bucket_name_problem("p-local-x-s3alias").is_some_and(|w| w.contains("-s3alias")));
        assert!(bucket_name_problem("xn--p-local").is_some_and(|w| w.contains("xn--")));
        assert!(bucket_name_problem("p-local-").is_some());
        assert!(bucket_name_problem("ab").is_some());
    }
}
