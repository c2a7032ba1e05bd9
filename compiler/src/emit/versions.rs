//! Every pinned version govc emits, in one place, as data.
//!
//! Each section below belongs to one concern and says where its values come from and
//! how to move them. Nothing outside this module writes a version literal.
//!
//! # Upgrade path
//!
//! EKS supports a Kubernetes minor version for 14 months of standard support after
//! its EKS release, then 12 months of paid extended support. To move the default:
//!
//! 1. read the EKS release calendar (the "Amazon EKS Kubernetes release calendar" page
//!    of the EKS user guide) for the versions in standard support today;
//! 2. for each version kept in [`EKS_KUBERNETES_VERSIONS`], list the add-on versions
//!    EKS offers for it, per add-on:
//!    `aws eks describe-addon-versions --kubernetes-version 1.36 --addon-name kube-proxy
//!    --query 'addons[].addonVersions[].addonVersion'`
//!    (and `--addon-name` `vpc-cni`, `coredns`, `eks-pod-identity-agent`,
//!    `metrics-server`); the first entry is the newest;
//! 3. update the rows of [`EKS_KUBERNETES_VERSIONS`] and the constants below, move
//!    [`EKS_DEFAULT_KUBERNETES_VERSION`], regenerate `generated/` and run
//!    `scripts/validate` (its `--k8s-version` default follows the default version);
//! 4. an existing cluster moves one minor version at a time (EKS refuses to skip one),
//!    so keep the previous default accepted while environments upgrade.
//!
//! # Dates and the choice of default (written 2026-12-01, without network access)
//!
//! EKS releases (from memory of the calendar, to be confirmed on the page above):
//! 1.32 on 2025-01-23 (standard support to 2026-03-23, extended since), 1.33 on
//! 2025-05-29 (standard to 2026-07-29), 1.34 on 2025-10-02 (standard to about
//! 2026-12-02: one day left on 2026-12-01). Kubernetes 1.35 was released upstream on
//! 2025-12-17 and 1.36 in April 2026; EKS has followed upstream by one to two and a
//! half months lately (1.33: 5 weeks, 1.34: 5 weeks), so EKS 1.35 dates from early
//! 2026 (standard support to about March 2027) and EKS 1.36 from about June 2026
//! (standard support to about August 2027). The default is therefore **1.35**: in
//! standard support on 2026-12-01, and the newest version this machine has evidence
//! EKS released (checkov 3.3.30's CKV_AWS_339, which copies the EKS versions page,
//! lists 1.29 to 1.35; it flags 1.36 as unsupported only because it predates it).
//! 1.36 is accepted (it should be available, with a longer runway: prefer it once
//! `describe-addon-versions` confirms the pins below), and 1.34 so that a cluster on
//! it (extended support from about 2026-12-02) can be upgraded one minor at a time.
//! Next step: move the default to 1.36 before March 2027.
//!
//! # Known gap: add-on versions are unverified
//!
//! The add-on versions below follow EKS's naming (`v<upstream>-eksbuild.<n>`) and the
//! last versions known here; this machine has no AWS access, so neither the offline
//! plan nor the emulator checks that EKS offers them. Run step 2 above before the
//! first apply: `aws_eks_addon` fails at apply, never silently, on a version EKS does
//! not offer for the cluster's Kubernetes version.

// ---- Kubernetes and the EKS add-ons (cluster add-ons) ------------------------------------

/// The Kubernetes version of an environment that does not set `kubernetes { version }`.
pub const EKS_DEFAULT_KUBERNETES_VERSION: &str = "1.35";

/// What govc pins for one Kubernetes minor version: the add-ons whose versions follow
/// the cluster's (kube-proxy matches it exactly; CoreDNS and the Cluster Autoscaler
/// are released per minor version).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KubernetesVersion {
    /// `major.minor`, as `aws_eks_cluster.version` takes it.
    pub version: &'static str,
    /// The `kube-proxy` add-on's `addon_version`.
    pub kube_proxy: &'static str,
    /// The `coredns` add-on's `addon_version`.
    pub coredns: &'static str,
    /// The Cluster Autoscaler image tag (its minor version must equal the cluster's).
    pub cluster_autoscaler: &'static str,
}

/// The versions an environment may name, oldest first (see the module doc).
pub const EKS_KUBERNETES_VERSIONS: &[KubernetesVersion] = &[
    KubernetesVersion {
        version: "1.34",
        kube_proxy: "v1.34.1-eksbuild.2",
        coredns: "v1.12.3-eksbuild.1",
        cluster_autoscaler: "v1.34.1",
    },
    KubernetesVersion {
        version: "1.35",
        kube_proxy: "v1.35.0-eksbuild.2",
        coredns: "v1.12.4-eksbuild.1",
        cluster_autoscaler: "v1.35.0",
    },
    KubernetesVersion {
        version: "1.36",
        kube_proxy: "v1.36.0-eksbuild.2",
        coredns: "v1.13.1-eksbuild.1",
        cluster_autoscaler: "v1.36.0",
    },
];

/// The `vpc-cni` add-on's `addon_version` (one build serves every accepted version).
pub const ADDON_VPC_CNI: &str = "v1.20.4-eksbuild.2";

/// The `eks-pod-identity-agent` add-on's `addon_version`.
pub const ADDON_POD_IDENTITY_AGENT: &str = "v1.3.9-eksbuild.3";

/// The `metrics-server` add-on's `addon_version` (an EKS community add-on since 2025:
/// packaged and versioned by EKS, supported by the community).
pub const ADDON_METRICS_SERVER: &str = "v0.8.0-eksbuild.2";

/// The Cluster Autoscaler image (registry.k8s.io); the tag is per Kubernetes version
/// ([`KubernetesVersion::cluster_autoscaler`]). Pinned by tag only: its digest cannot
/// be read offline (a known gap, recorded in docs/decisions.md).
pub const CLUSTER_AUTOSCALER_IMAGE: &str = "registry.k8s.io/autoscaling/cluster-autoscaler";

/// The row of `version`, if govc accepts it.
pub fn kubernetes(version: &str) -> Option<&'static KubernetesVersion> {
    EKS_KUBERNETES_VERSIONS.iter().find(|v| v.version == version)
}

/// The accepted versions, for a help line: "`1.34`, `1.35` or `1.36`".
pub fn accepted_kubernetes_versions() -> String {
    let quoted: Vec<String> = EKS_KUBERNETES_VERSIONS.iter().map(|v| format!("`{}`", v.version)).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

// ---- Edge: the path from the internet to the services (AWS Load Balancer Controller) ----
//
// Upgrade: vendor the new release as `compiler/src/emit/vendor/aws-load-balancer-controller/`
// describes, change the version here, rebuild `generated/` and run `scripts/validate`.

/// The AWS Load Balancer Controller release whose manifest and IAM policy are vendored.
pub const AWS_LOAD_BALANCER_CONTROLLER_VERSION: &str = "v3.5.0";

/// Its image repository, as the upstream manifest names it. Pinned by tag only: the
/// digest cannot be verified offline (a known gap, see `docs/decisions.md`).
pub const AWS_LOAD_BALANCER_CONTROLLER_IMAGE: &str = "public.ecr.aws/eks/aws-load-balancer-controller";

/// The upstream manifest of [`AWS_LOAD_BALANCER_CONTROLLER_VERSION`], unchanged.
pub const AWS_LOAD_BALANCER_CONTROLLER_MANIFEST: &str = include_str!("vendor/aws-load-balancer-controller/v3.5.0.yaml");

/// The upstream IAM policy of [`AWS_LOAD_BALANCER_CONTROLLER_VERSION`], unchanged.
pub const AWS_LOAD_BALANCER_CONTROLLER_IAM_POLICY: &str =
    include_str!("vendor/aws-load-balancer-controller/iam_policy.json");

/// The EKS community add-on `cert-manager`, which issues the controller webhook's serving
/// certificate (the upstream manifest's `Certificate` and `Issuer`). `None`: EKS installs
/// its default version for the cluster's Kubernetes version; the add-on's version strings
/// (`vX.Y.Z-eksbuild.N`) can only be listed online (`aws eks describe-addon-versions
/// --addon-name cert-manager`), so none is pinned until one has been checked there.
pub const CERT_MANAGER_ADDON_VERSION: Option<&str> = None;

// ---- Secrets: the External Secrets Operator -------------------------------------------
//
// Upgrade: copy the new release's `deploy/crds/bundle.yaml` to
// `vendor/external-secrets/crds-v<X.Y.Z>.yaml` unchanged, render the controller's objects
// again as `vendor/external-secrets/README.md` describes (the chart's `rbac.yaml` moves with
// the CRDs), change the three constants here, rebuild `generated/` and run
// `scripts/validate`; the platform tests check the pins agree.

/// The External Secrets Operator release whose CRDs and controller are vendored.
pub const EXTERNAL_SECRETS_VERSION: &str = "v2.9.0";

/// Its controller image, pinned by tag (its digest cannot be read offline: a known gap,
/// like the load balancer controller's).
pub const EXTERNAL_SECRETS_IMAGE: &str = "ghcr.io/external-secrets/external-secrets:v2.9.0";

/// The release's CRD bundle (`deploy/crds/bundle.yaml`), unchanged.
pub const EXTERNAL_SECRETS_CRDS: &str = include_str!("vendor/external-secrets/crds-v2.9.0.yaml");

/// The controller's objects of the release's Helm chart, rendered (see the vendor README).
pub const EXTERNAL_SECRETS_CONTROLLER: &str = include_str!("vendor/external-secrets/controller-v2.9.0.yaml");

// --- Workload identity and database credentials (issue 14) ---------------------------
//
// The bootstrap Job of a cloud postgres (`kustomize/bootstrap.rs`) runs two images: the
// AWS CLI (finds and reads the RDS-managed master secret with the Job's IAM role) and the PostgreSQL client of the database's major version (creates the
// services' IAM-authenticated users). Upgrade: bump the tag here (the AWS CLI v2 keeps
// its command line stable; the client's minor must exist for every major below), run
// `scripts/test` and `scripts/validate`, and regenerate `generated/`. In a private
// cluster the images come through the account's ECR pull-through cache or a mirror,
// like every other image.

/// The AWS CLI v2 image of the bootstrap Job's first (init) container.
pub const AWS_CLI_IMAGE: &str = "public.ecr.aws/aws-cli/aws-cli:2.22.0";

/// The PostgreSQL client image for a database major version: `postgres:<minor>-alpine`
/// of the same major (the client speaks every older server version too).
pub fn postgres_client_image(major: u8) -> String {
    let minor = match major {
        14 => "14.15",
        15 => "15.10",
        16 => "16.6",
        _ => "17.2",
    };
    format!("public.ecr.aws/docker/library/postgres:{minor}-alpine")
}

// --- The local object store (issue 12) ---------------------------------------------
//
// A local environment with a `bucket` runs MinIO in the cluster (`kustomize/storage.rs`)
// and a Job that creates the buckets with the MinIO client. Provenance of the digests:
// the multi-architecture index digests that many independent public repositories pin for
// these release tags (MinIO publishes the same images on Docker Hub and quay.io); they
// could not be checked against a registry from this machine. Upgrade: pick a newer
// `RELEASE.*` tag pair, take its index digest (`docker buildx imagetools inspect
// quay.io/minio/minio:<tag>`), replace both here, and run `scripts/validate`.

/// The MinIO server of a local environment's object store, pinned by digest.
pub const MINIO_IMAGE: &str = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z@sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e";

/// The MinIO client of the Job that creates a local environment's buckets, pinned by digest.
pub const MINIO_CLIENT_IMAGE: &str = "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z@sha256:a7fe349ef4bd8521fb8497f55c6042871b2ae640607cf99d9bede5e9bdf11727";
/// The OpenTelemetry Collector of an environment's `telemetry { }` (`kustomize/telemetry.rs`):
/// the AWS Distro for OpenTelemetry (ADOT) Collector, a distribution of the upstream
/// collector with the components govc configures (`otlp` receiver, `memory_limiter` and
/// `batch` processors, `otlp` and `debug` exporters, `health_check` extension). Chosen over
/// `otel/opentelemetry-collector[-contrib]` because it is published on ECR Public: a private
/// EKS cluster pulls it through the environment's ECR pull-through cache without
/// credentials, while the upstream images are on Docker Hub and ghcr.io, whose
/// pull-through cache rules need registry credentials in Secrets Manager (a secret govc
/// does not hold). The `tier = local` cluster pulls it from ECR Public directly.
/// Pinned by tag only: no published digest of this tag could be verified offline (a
/// known gap, like the other platform images; see `docs/decisions.md`). Upgrade: bump
/// the tag, run `scripts/validate`, regenerate `generated/`.
pub const OTEL_COLLECTOR_IMAGE: &str = "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.1";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_accepted_and_every_row_is_consistent() {
        assert!(kubernetes(EKS_DEFAULT_KUBERNETES_VERSION).is_some());
        let mut previous: Option<(u32, u32)> = None;
        for row in EKS_KUBERNETES_VERSIONS {
            let (major, minor) = row.version.split_once('.').expect("major.minor");
            let key = (major.parse::<u32>().expect("a number"), minor.parse::<u32>().expect("a number"));
            assert!(previous.is_none_or(|p| p < key), "oldest first: {}", row.version);
            previous = Some(key);
            // kube-proxy and the Cluster Autoscaler follow the cluster's minor version.
            assert!(row.kube_proxy.starts_with(&format!("v{}.", row.version)), "{row:?}");
            assert!(row.cluster_autoscaler.starts_with(&format!("v{}.", row.version)), "{row:?}");
            for addon in [row.kube_proxy, row.coredns] {
                assert!(addon.contains("-eksbuild."), "{addon}");
            }
        }
        for addon in [ADDON_VPC_CNI, ADDON_POD_IDENTITY_AGENT, ADDON_METRICS_SERVER] {
            assert!(addon.starts_with('v') && addon.contains("-eksbuild."), "{addon}");
        }
        assert_eq!(accepted_kubernetes_versions(), "`1.34`, `1.35` or `1.36`");
    }

    #[test]
    fn the_stdlib_documents_the_default() {
        let kinds = include_str!("../../../stdlib/kinds.gov");
        assert!(
            kinds.contains(&format!("defaults to `{EKS_DEFAULT_KUBERNETES_VERSION}`")),
            "stdlib/kinds.gov must name the default Kubernetes version"
        );
        // scripts/validate checks manifests against the schemas of the cluster's version.
        let validate = include_str!("../../../scripts/validate");
        assert!(validate.contains(&format!("k8s_version=\"{EKS_DEFAULT_KUBERNETES_VERSION}.0\"")));
    }
}
