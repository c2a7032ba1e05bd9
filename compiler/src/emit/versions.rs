//! Pinned versions and images, as data, in one place. Each section says what uses the
//! pins and how to upgrade them.

// --- Workload identity and database credentials (issue 14) ---------------------------
//
// The bootstrap Job of a cloud postgres (`kustomize/bootstrap.rs`) runs two images: the
// AWS CLI (finds and reads the RDS-managed master secret with the Job's Pod Identity
// role) and the PostgreSQL client of the database's major version (creates the
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
