//! Pinned versions of what govc installs besides the program's own workloads, as data in
//! one place. Each section says how to upgrade it.

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
