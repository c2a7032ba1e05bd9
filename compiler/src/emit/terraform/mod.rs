//! Terraform JSON for AWS: one root `terraform/<env>/` per environment whose tier is
//! not `local` (a local environment gets nothing).
//!
//! Files: `backend`, `providers`, `network`, `firewall` (when a service declares
//! `egress`), `postgres` (when the environment has one), `ingress` (when it has one),
//! `compute`, `storage` (when it has a bucket: [`storage`]), `secrets` (when it has any),
//! `identity` (when a service connects to a postgres or a bucket: IAM roles for service
//! accounts, see [`identity`]) and `outputs`, each `.tf.json` with a `"//"`
//! header. No data source calls AWS, so every root plans offline; the account id is
//! known statically from `aws.account`.
//!
//! Egress is enforced by host. An environment whose services declare `egress` gets an
//! AWS Network Firewall (`firewall.rs`) with one endpoint per zone in subnets carved from
//! the network's spare quarter ([`crate::carve::firewall_subnets`]). The way out is
//! runtime → NAT gateway (ingress segment) → firewall endpoint of the zone → internet
//! gateway; the internet gateway's edge route table sends each ingress subnet's CIDR back
//! through the endpoint of its zone, so both directions cross the same endpoint
//! (`network.rs`). The stateful rule group passes exactly the declared pairs: a host by
//! TLS SNI or HTTP `Host` on its port, an address (`/32`) on its port; everything else is
//! dropped, and logged to CloudWatch. [`readback::verify`] reads the emitted files back
//! and proves both the allowed (host, port) set and the routes. An environment without
//! egress has no firewall, no NAT and no route out of the runtime, and its files are
//! byte-identical to what they were before the firewall existed. Cost and design:
//! `docs/decisions.md`.
//!
//! The static wiring contract with the Kubernetes emitter (names, not apply-time values):
//! - cluster name `<prefix>` where `<prefix>` is [`prefix`] (`names::env_prefix(project, env, 40)`);
//! - security groups named `<prefix>-ingress` (for the ALB controller's
//!   `alb.ingress.kubernetes.io/security-groups` annotation, with `target-type: ip` and
//!   `manage-backend-security-group-rules: "false"`), `<prefix>-runtime` (nodes and pods
//!   no security group policy selects), `<prefix>-endpoints`, `<prefix>-cluster`,
//!   `<prefix>-pg-<postgres>` per database and `<prefix>-svc-<service>` per service
//!   (`names::{service,postgres}_security_group_name`);
//! - each service's pods carry the labels of `names::pod_selector`: the
//!   `SecurityGroupPolicy` of the output `security_group_policies` selects them by those
//!   labels and attaches the service's group (EKS security groups for pods, `strict`
//!   mode); the `vpc-cni` add-on enforces the Kubernetes NetworkPolicies
//!   (`enableNetworkPolicy`). A flow passes only if both layers allow it (see
//!   [`security`] and `docs/decisions.md`);
//! - ingress subnets tagged `kubernetes.io/role/elb = 1` (public ingress) or
//!   `kubernetes.io/role/internal-elb = 1`; runtime and ingress subnets tagged
//!   `kubernetes.io/cluster/<prefix> = shared`;
//! - each postgres reachable as `ir::Postgres::host` (a CNAME in the private zone
//!   `<env>.<project>.internal`), port `ir::Postgres::port`, database `ir::Postgres::database`;
//! - each secret is the Secrets Manager secret named exactly `ir::Secret::path`; the
//!   External Secrets operator runs as service account `external-secrets/external-secrets`
//!   with an EKS Pod Identity role that may read only those secrets;
//! - a service that connects to a postgres runs as ServiceAccount `<namespace>/<service>`
//!   annotated with its IAM role `<prefix>-svc-<service>` (IAM roles for service accounts,
//!   [`identity`]), which may only `rds-db:connect` as `ir::database_user` on the instances
//!   of its databases; each such postgres's bootstrap Job runs as `<pg>-bootstrap` with
//!   role `<prefix>-bootstrap-<pg>`, which may only read that instance's master secret;
//! - each bucket is the S3 bucket named exactly `ir::Bucket::bucket_name` (the `name`
//!   attribute a service reads); a service that connects to it reaches S3 through the
//!   `s3` gateway endpoint (its group allows 443 to the S3 prefix list) with its own role;
//! - the certificate for the ingress host is found by the ALB controller by host name;
//! - the controller runs as `kube-system/aws-load-balancer-controller` with the Pod
//!   Identity role `<prefix>-lbc` ([`edge`]) and names the load balancer
//!   `names::load_balancer_name`, which `data "aws_lb"` reads for the host's alias.
//!
//! Outputs (the only apply-time values): `certificate_validation_records` (for a host
//! whose zone is not declared), `load_balancer` (its name, and its DNS name once
//! `load_balancer_ready`), `nat_public_ips` (when a service declares
//! `egress`: partners allowlist it) and `security_group_policies` (a `v1` `List` of one
//! `SecurityGroupPolicy` per service: group ids exist only after apply; applied with
//! `terraform output -json security_group_policies | kubectl apply -f -` before the
//! overlay, see `docs/decisions.md`).

mod compute;
pub mod edge;
#[cfg(test)]
mod edge_tests;
mod firewall;
#[cfg(test)]
mod firewall_tests;
mod iam;
pub(crate) mod identity;
mod ingress;
mod json;
mod network;
mod postgres;
pub mod readback;
mod root;
mod secrets;
mod security;
pub(crate) mod storage;
#[cfg(test)]
pub(crate) mod tests;

use std::collections::BTreeMap;

use crate::emit::names;
use crate::emit::out::{self, Files, Out};
use crate::ir;

pub use crate::emit::names::{aws_prefix as prefix, cluster_name, security_group_name, AWS_PREFIX_MAX as PREFIX_MAX};
pub use compute::{CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SERVICE_ACCOUNT};

/// The namespace of the External Secrets operator, whose service account has the
/// Pod Identity role that reads the environment's secrets.
pub const EXTERNAL_SECRETS_NAMESPACE: &str = "external-secrets";

/// The External Secrets operator's service account.
pub const EXTERNAL_SECRETS_SERVICE_ACCOUNT: &str = "external-secrets";

/// What every concern's emitter needs about one cloud environment.
pub(crate) struct Ctx<'a> {
    /// The project name.
    pub project: &'a str,
    /// The environment being rendered.
    pub env: &'a ir::Environment,
    /// [`prefix`] of the project and environment.
    pub prefix: String,
    /// `aws.account`: known statically, so key policies need no data source.
    pub account: String,
    /// `aws.region`.
    pub region: String,
    /// The environment's only network.
    pub network: &'a ir::Network,
    /// Its CIDR.
    pub cidr: ipnet::Ipv4Net,
}

impl Ctx<'_> {
    /// The header comment of a file.
    pub fn header(&self, what: &str) -> String {
        format!("generated by govc from project {}, environment {}; do not edit. {what}", self.project, self.env.name)
    }

    /// The availability zone of zone index `i`: `<region>a`, `b`, ...
    pub fn zone(&self, i: usize) -> String {
        format!("{}{}", self.region, zone_letter(i))
    }

    /// `<prefix>-<suffix>` shortened to `max`.
    pub fn name(&self, suffix: &str, max: usize) -> String {
        names::shortened([&self.prefix, "-", suffix].concat(), max)
    }

    /// The ARN of the account root, for key policies.
    pub fn account_root(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account)
    }

    /// Whether some service declares `egress`, or the environment's telemetry exports to
    /// a backend (the collector's egress).
    pub fn has_egress(&self) -> bool {
        self.env.resources.services.iter().any(|s| !s.egress.is_empty())
            || self.env.telemetry.as_ref().is_some_and(|t| t.backends().next().is_some())
    }

    /// Whether the ingress segment is public.
    pub fn public_ingress(&self) -> bool {
        self.network.segment(ir::SegmentRole::Ingress).exposure == ir::Exposure::Public
    }

    /// Terraform identifiers of the subnets of a segment, in zone order.
    pub fn subnet_ids(&self, role: ir::SegmentRole) -> Vec<String> {
        let segment = self.network.segment(role);
        (0..segment.subnets.len()).map(|i| format!("aws_subnet.{}.id", subnet_ident(role, i))).collect()
    }
}

/// The letter of zone index `i` (`a` for 0).
pub(crate) fn zone_letter(i: usize) -> char {
    char::from(b'a' + u8::try_from(i % 26).expect("i % 26 fits in a byte"))
}

/// The Terraform name of the subnet of `role` in zone `i`: `runtime_a`.
pub(crate) fn subnet_ident(role: ir::SegmentRole, i: usize) -> String {
    format!("{}_{}", role.as_str(), zone_letter(i))
}

/// Renders `terraform/<env>/*.tf.json` for every cloud environment.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    for env in program.environments.iter().filter(|e| is_emitted(e)) {
        files.extend(environment_files(program, env)?);
    }
    Ok(files)
}

/// Whether `env` has a Terraform root: every environment but `tier = local` ones.
pub fn is_emitted(env: &ir::Environment) -> bool {
    env.tier != ir::Tier::Local
}

/// The files of one cloud environment's root, `terraform/<env>/*.tf.json`.
pub fn environment_files(program: &ir::Program, env: &ir::Environment) -> Result<Vec<(String, String)>, String> {
    let ctx = context(program, env)?;
    out::collect(|out| files(&ctx).into_iter().try_for_each(|file| write(&ctx, file, out)))
}

/// One file of a cloud environment's root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum File {
    Backend,
    Providers,
    Network,
    Compute,
    Outputs,
    Firewall,
    Postgres,
    Ingress,
    Storage,
    Secrets,
    Identity,
}

impl File {
    /// The file's name in the root.
    pub fn name(self) -> &'static str {
        match self {
            File::Backend => "backend.tf.json",
            File::Providers => "providers.tf.json",
            File::Network => "network.tf.json",
            File::Compute => "compute.tf.json",
            File::Outputs => "outputs.tf.json",
            File::Firewall => "firewall.tf.json",
            File::Postgres => "postgres.tf.json",
            File::Ingress => "ingress.tf.json",
            File::Storage => "storage.tf.json",
            File::Secrets => "secrets.tf.json",
            File::Identity => "identity.tf.json",
        }
    }
}

/// The files of `env`'s root, each rendered on its own by [`environment_file`]: a
/// fleet's roots are megabytes, which the cores share a file at a time and which are
/// never all held at once.
pub fn environment_parts(program: &ir::Program, env: &ir::Environment) -> Result<Vec<File>, String> {
    Ok(files(&context(program, env)?))
}

/// Writes `file` of `env`'s root into `out`.
pub fn write_environment_file(
    program: &ir::Program,
    env: &ir::Environment,
    file: File,
    out: &mut dyn Files,
) -> Result<(), String> {
    write(&context(program, env)?, file, out)
}

fn context<'a>(program: &'a ir::Program, env: &'a ir::Environment) -> Result<Ctx<'a>, String> {
    let missing = |what: &str| format!("environment `{}` has no {what}; the Terraform emitter needs it", env.name);
    let aws = env.aws.as_ref().ok_or_else(|| missing("`aws` block"))?;
    let account = aws.account.clone().ok_or_else(|| missing("`aws.account`"))?;
    let region = aws.region.clone().ok_or_else(|| missing("`aws.region`"))?;
    let network = match env.resources.networks.as_slice() {
        [one] => one,
        [] => return Err(missing("network")),
        _ => return Err(format!("environment `{}` has several networks; one per environment is supported", env.name)),
    };
    let cidr = network.cidr.ok_or_else(|| missing("network `cidr`"))?;
    if network.segments.iter().any(|s| s.subnets.is_empty()) {
        return Err(missing("carved subnets"));
    }
    Ok(Ctx {
        project: &program.project,
        env,
        prefix: prefix(&program.project, &env.name),
        account,
        region,
        network,
        cidr,
    })
}

/// The files of the root of `ctx`'s environment.
fn files(ctx: &Ctx<'_>) -> Vec<File> {
    let res = &ctx.env.resources;
    let mut files = vec![File::Backend, File::Providers, File::Network, File::Compute, File::Outputs];
    let optional = [
        (File::Firewall, firewall::needed(ctx)),
        (File::Postgres, !res.databases.is_empty()),
        (File::Ingress, res.ingress().is_some()),
        (File::Storage, storage::needed(ctx)),
        (File::Secrets, res.has_stored_secrets()),
        (File::Identity, identity::needed(ctx)),
    ];
    files.extend(optional.into_iter().filter(|(_, needed)| *needed).map(|(file, _)| file));
    files
}

/// Writes `file` of the root of `ctx`'s environment into `files`, a piece at a time.
fn write(ctx: &Ctx<'_>, file: File, files: &mut dyn Files) -> Result<(), String> {
    let tf = match file {
        File::Backend => root::backend(ctx)?,
        File::Providers => root::providers(ctx)?,
        File::Network => network::emit(ctx)?,
        File::Compute => compute::emit(ctx)?,
        File::Outputs => root::outputs(ctx)?,
        File::Firewall => firewall::emit(ctx)?,
        File::Postgres => postgres::emit(ctx)?,
        File::Ingress => {
            let ingress = ctx.env.resources.ingress().ok_or("an ingress file needs an ingress")?;
            ingress::emit(ctx, ingress)?
        }
        File::Storage => storage::emit(ctx)?,
        File::Secrets => secrets::emit(ctx)?,
        File::Identity => identity::emit(ctx)?,
    };
    let mut out = Out::open(files, format!("terraform/{}/{}", ctx.env.name, file.name()));
    tf.write(&mut out, files);
    out.close(files);
    Ok(())
}
