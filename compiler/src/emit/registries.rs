//! The images govc's own platform components run in a cloud cluster, and the ECR
//! pull-through caches they come through.
//!
//! A cloud cluster is private: its nodes reach no registry on the internet (no `egress`,
//! or a firewall that passes only the hosts the services declare). The platform's images
//! (the load balancer controller, the External Secrets operator, the Cluster Autoscaler,
//! the database bootstrap Jobs, the OpenTelemetry Collector) live on three public registries, so each environment gets
//! one ECR pull-through cache rule per registry it needs: the account's ECR fetches an
//! image on its first pull, server side, and the nodes pull it through the `ecr.*` VPC
//! endpoints. The application's images are the project's own (its registry, pinned by
//! digest from staging up) and are never rewritten.
//!
//! [`images`] is the one list of what runs; Terraform's rules ([`upstreams`]) and the
//! Kubernetes trees' rewritten names ([`through_cache`]) both derive from it, so a rule
//! exists exactly where an image needs it.

use std::collections::BTreeSet;

use super::{names, versions};
use crate::ir::{self, Tier};

/// A public registry the platform's images come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Upstream {
    /// Amazon ECR Public (`public.ecr.aws`): the load balancer controller, the AWS CLI,
    /// the PostgreSQL client, the OpenTelemetry Collector (ADOT).
    EcrPublic,
    /// The Kubernetes project's registry (`registry.k8s.io`): the Cluster Autoscaler.
    Kubernetes,
    /// GitHub Container Registry (`ghcr.io`): the External Secrets operator. ECR pulls
    /// from it only with credentials: a GitHub token in the Secrets Manager secret
    /// [`credentials_secret_name`], which Terraform creates empty.
    GitHub,
}

impl Upstream {
    /// The registry's host, as image references and ECR's `upstream_registry_url` name it.
    pub fn host(self) -> &'static str {
        match self {
            Upstream::EcrPublic => "public.ecr.aws",
            Upstream::Kubernetes => "registry.k8s.io",
            Upstream::GitHub => "ghcr.io",
        }
    }

    /// The Terraform name of the environment's cache rule for it.
    pub fn ident(self) -> &'static str {
        match self {
            Upstream::EcrPublic => "ecr_public",
            Upstream::Kubernetes => "k8s",
            Upstream::GitHub => "ghcr",
        }
    }

    /// Whether ECR needs credentials to pull from it.
    pub fn needs_credentials(self) -> bool {
        self == Upstream::GitHub
    }

    fn suffix(self) -> &'static str {
        match self {
            Upstream::EcrPublic => "ecr-public",
            Upstream::Kubernetes => "k8s",
            Upstream::GitHub => "ghcr",
        }
    }

    /// The registry of `image` and the repository under it, when it is one of these.
    pub fn of(image: &str) -> Option<(Upstream, &str)> {
        [Upstream::EcrPublic, Upstream::Kubernetes, Upstream::GitHub].into_iter().find_map(|up| {
            let repository = image.strip_prefix(up.host())?.strip_prefix('/')?;
            Some((up, repository))
        })
    }
}

/// The characters of an ECR pull-through cache rule's repository prefix.
pub const CACHE_PREFIX_MAX: usize = 30;

/// The repository prefix of the environment's cache of `upstream`,
/// `<project>-<env>-<registry>` shortened to [`CACHE_PREFIX_MAX`]: one rule per
/// environment and registry, so two environments of one account and region do not
/// collide.
pub fn cache_prefix(project: &str, env: &str, upstream: Upstream) -> String {
    let plain: String = format!("{project}-{env}-{}", upstream.suffix())
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    names::shorten(&plain, CACHE_PREFIX_MAX).trim_matches('-').to_string()
}

/// The name of the Secrets Manager secret holding the credentials ECR pulls from
/// `upstream` with: ECR requires the `ecr-pullthroughcache/` prefix.
pub fn credentials_secret_name(project: &str, env: &str, upstream: Upstream) -> String {
    format!("ecr-pullthroughcache/{}", cache_prefix(project, env, upstream))
}

/// `image` pulled through the environment's cache of its registry:
/// `<registry>/<repository>:<tag>` becomes
/// `<account>.dkr.ecr.<region>.amazonaws.com/<cache prefix>/<repository>:<tag>`. `None`
/// for an image of another registry.
pub fn through_cache(project: &str, env: &str, account: &str, region: &str, image: &str) -> Option<String> {
    let (upstream, repository) = Upstream::of(image)?;
    let prefix = cache_prefix(project, env, upstream);
    Some(format!("{account}.dkr.ecr.{region}.amazonaws.com/{prefix}/{repository}"))
}

/// Every image govc's platform components run in `env`'s cluster, as upstream names them
/// (none for `tier = local`, whose cluster is on the developer's network).
pub fn images(env: &ir::Environment) -> Vec<String> {
    if env.tier == Tier::Local {
        return Vec::new();
    }
    let res = &env.resources;
    let mut out = Vec::new();
    if res.ingress().is_some() {
        out.push(format!(
            "{}:{}",
            versions::AWS_LOAD_BALANCER_CONTROLLER_IMAGE,
            versions::AWS_LOAD_BALANCER_CONTROLLER_VERSION
        ));
    }
    if res.has_stored_secrets() {
        out.push(versions::EXTERNAL_SECRETS_IMAGE.to_string());
    }
    if env.telemetry.is_some() {
        out.push(versions::OTEL_COLLECTOR_IMAGE.to_string());
    }
    if let Some(k8s) = versions::kubernetes(&env.kubernetes_version) {
        out.push(format!("{}:{}", versions::CLUSTER_AUTOSCALER_IMAGE, k8s.cluster_autoscaler));
    }
    for db in res.databases.iter().filter(|d| res.connectors(&d.name).next().is_some()) {
        out.push(versions::AWS_CLI_IMAGE.to_string());
        out.push(versions::postgres_client_image(db.version));
    }
    out
}

/// The registries `env`'s cluster pulls platform images from: one cache rule each.
pub fn upstreams(env: &ir::Environment) -> BTreeSet<Upstream> {
    images(env).iter().filter_map(|i| Upstream::of(i).map(|(up, _)| up)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_prefixes_fit_ecr_and_differ_by_registry() {
        let (project, env) = ("a-very-long-project-name-for-a-platform-team", "integration_testing");
        let all = [Upstream::EcrPublic, Upstream::Kubernetes, Upstream::GitHub];
        let prefixes: BTreeSet<String> = all.iter().map(|&up| cache_prefix(project, env, up)).collect();
        assert_eq!(prefixes.len(), all.len(), "{prefixes:?}");
        for prefix in &prefixes {
            assert!(prefix.len() >= 2 && prefix.len() <= CACHE_PREFIX_MAX, "{prefix}");
            assert!(prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{prefix}");
        }
        assert_eq!(cache_prefix("zenthea", "production", Upstream::EcrPublic), "zenthea-production-ecr-public");
    }

    #[test]
    fn only_images_of_the_three_registries_are_rewritten() {
        let cached = |image| through_cache("p", "prod", "111111111111", "eu-west-1", image);
        assert_eq!(
            cached("ghcr.io/external-secrets/external-secrets:v2.9.0").as_deref(),
            Some("111111111111.dkr.ecr.eu-west-1.amazonaws.com/p-prod-ghcr/external-secrets/external-secrets:v2.9.0")
        );
        assert_eq!(
            cached("registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.0").as_deref(),
            Some("111111111111.dkr.ecr.eu-west-1.amazonaws.com/p-prod-k8s/autoscaling/cluster-autoscaler:v1.35.0")
        );
        assert_eq!(cached("ghcr.iox/a:b"), None);
        assert_eq!(cached("docker.io/library/postgres:16"), None);
        assert_eq!(cached("111111111111.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:00"), None);
    }
}
