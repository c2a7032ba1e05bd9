//! The checked program: what emitters read.
//!
//! Built from the model only when every check passed, so everything here is
//! resolved, typed and defaulted: references are names known to exist in the same
//! environment, quantities are in base units, segment CIDRs are carved.
//! Emitters never see the AST or spans. Every list is in a deterministic order
//! (declaration order in the stack, then the environment's own resources by name).

use ipnet::Ipv4Net;

/// The whole program.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    /// The project name (a DNS-1123 label).
    pub project: String,
    /// The phase in force.
    pub phase: String,
    /// What the phase in force authorizes (cumulatively), in the stdlib's order.
    pub capabilities: Vec<String>,
    /// Every stack, by name.
    pub stacks: Vec<Stack>,
    /// Every environment: the promotion order of `project.environments` first, then any
    /// environment that is defined but not listed, by name.
    pub environments: Vec<Environment>,
}

impl Program {
    pub fn stack(&self, name: &str) -> Option<&Stack> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

/// A stack's own view: its resources with the stack's field values and the stdlib
/// defaults, before any environment refines them. Fields that the stack leaves to
/// the environments (an image, a host, a CIDR) are `None` here.
#[derive(Clone, Debug, PartialEq)]
pub struct Stack {
    pub name: String,
    pub doc: Option<String>,
    pub resources: Resources,
}

/// The resources of a stack or an environment, by kind.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Resources {
    pub networks: Vec<Network>,
    pub databases: Vec<Postgres>,
    pub services: Vec<Service>,
    /// At most one per environment (E401); a stack may hold one too.
    pub ingresses: Vec<Ingress>,
    pub secrets: Vec<Secret>,
    pub buckets: Vec<Bucket>,
}

/// The database user of a service that connects to a postgres: the service name with
/// `-` turned into `_` (the `user` attribute of a postgres, as the service reads it).
pub fn database_user(service: &str) -> String {
    service.replace('-', "_")
}

impl Resources {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn database(&self, name: &str) -> Option<&Postgres> {
        self.databases.iter().find(|s| s.name == name)
    }

    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|s| s.name == name)
    }

    pub fn ingress(&self) -> Option<&Ingress> {
        self.ingresses.first()
    }

    pub fn bucket(&self, name: &str) -> Option<&Bucket> {
        self.buckets.iter().find(|b| b.name == name)
    }

    /// Whether some secret has a path in the store: what the secrets root, the External
    /// Secrets Operator's role, its platform tree and the `ClusterSecretStore` exist for.
    pub fn has_stored_secrets(&self) -> bool {
        self.secrets.iter().any(|s| s.path.is_some())
    }

    /// Whether `svc` has an AWS role in a cloud environment: it connects to a postgres of
    /// these resources (its role may log in as its database user there) or to a bucket
    /// (its role may use that bucket and its key).
    pub fn has_role(&self, svc: &Service) -> bool {
        svc.databases().any(|d| self.database(d).is_some()) || self.reaches_storage(svc)
    }

    /// Whether `svc` connects to a bucket of these resources (S3, through the VPC's
    /// gateway endpoint in the cloud, MinIO in a local cluster).
    pub fn reaches_storage(&self, svc: &Service) -> bool {
        svc.buckets().any(|b| self.bucket(b).is_some())
    }

    /// The services that connect to the bucket `bucket`, in declaration order.
    pub fn bucket_users<'a>(&'a self, bucket: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        self.services.iter().filter(move |s| s.buckets().any(|b| b == bucket))
    }

    /// The services that connect to the postgres `db`, in declaration order (none when
    /// the resources have no such postgres).
    pub fn connectors<'a>(&'a self, db: &'a str) -> impl Iterator<Item = &'a Service> + 'a {
        let exists = self.database(db).is_some();
        self.services
            .iter()
            .filter(move |s| exists && s.connects.iter().any(|c| matches!(c, Connection::Postgres(d) if d == db)))
    }
}

impl Service {
    /// The postgres names this service connects to, each once, in declaration order.
    pub fn databases(&self) -> impl Iterator<Item = &str> {
        first_of_each(&self.connects, |c| match c {
            Connection::Postgres(db) => Some(db.as_str()),
            _ => None,
        })
    }

    /// The bucket names this service connects to, each once, in declaration order.
    pub fn buckets(&self) -> impl Iterator<Item = &str> {
        first_of_each(&self.connects, |c| match c {
            Connection::Bucket(b) => Some(b.as_str()),
            _ => None,
        })
    }
}

/// The names `pick` takes from `connects`, each at its first place. A short list (nearly
/// every service's) is searched before each place; a long one is remembered in a set.
fn first_of_each<'a>(
    connects: &'a [Connection],
    pick: impl Fn(&'a Connection) -> Option<&'a str>,
) -> impl Iterator<Item = &'a str> {
    let mut seen: Option<foldhash::HashSet<&Connection>> = (connects.len() > 16).then(Default::default);
    connects.iter().enumerate().filter_map(move |(i, c)| {
        let name = pick(c)?;
        let first = match &mut seen {
            Some(seen) => seen.insert(c),
            None => !connects[..i].contains(c),
        };
        first.then_some(name)
    })
}

/// The tier of an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Local,
    Dev,
    Staging,
    Production,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Local => "local",
            Tier::Dev => "dev",
            Tier::Staging => "staging",
            Tier::Production => "production",
        }
    }
}

/// One isolated deployment target.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    pub name: String,
    pub doc: Option<String>,
    pub tier: Tier,
    /// The Kubernetes namespace: `<project>-<env>`, shortened to 63 characters
    /// ([`crate::emit::names::namespace`]).
    pub namespace: String,
    pub stack: Option<String>,
    pub mirrors: Option<String>,
    /// Absent for `tier = local`, and before the phase authorizes `provider`.
    pub aws: Option<Aws>,
    pub state: Option<State>,
    /// The EKS cluster's Kubernetes `major.minor` version: `kubernetes { version }`, or
    /// [`crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION`]. Used by cloud tiers only.
    pub kubernetes_version: String,
    /// `ci { role = ... }`: the IAM role that applies the manifests (an EKS access entry).
    pub ci: Option<Ci>,
    /// `telemetry { ... }`: the environment's OpenTelemetry Collector and its backends.
    pub telemetry: Option<Telemetry>,
    /// After the stack/environment merge: every resource of the stack (refined) plus
    /// the environment's own (`from_stack = false`).
    pub resources: Resources,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aws {
    pub account: Option<String>,
    pub region: Option<String>,
}

/// The continuous-delivery identity of an environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ci {
    /// The ARN of the IAM role the CI runner assumes.
    pub role: Option<String>,
}

/// The environment's OpenTelemetry Collector: one backend (an OTLP/gRPC endpoint,
/// `host:port`) per signal it exports; a signal without one is not collected.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Telemetry {
    pub traces: Option<Egress>,
    pub metrics: Option<Egress>,
    pub logs: Option<Egress>,
}

impl Telemetry {
    /// The name of the collector's Deployment, Service, ConfigMap, ServiceAccount and pods
    /// (a service of an environment with telemetry may not take it: E418).
    pub const COLLECTOR: &'static str = "otel-collector";
    /// OTLP over gRPC, where services send (and the collector's Service listens).
    pub const OTLP_GRPC_PORT: u16 = 4317;
    /// OTLP over HTTP.
    pub const OTLP_HTTP_PORT: u16 = 4318;
    /// The collector's `health_check` extension: its readiness and liveness probes.
    pub const HEALTH_PORT: u16 = 13133;

    /// The declared backends: `(signal, endpoint)` in the order traces, metrics, logs.
    pub fn backends(&self) -> impl Iterator<Item = (&'static str, &Egress)> {
        [("traces", &self.traces), ("metrics", &self.metrics), ("logs", &self.logs)]
            .into_iter()
            .filter_map(|(signal, e)| e.as_ref().map(|e| (signal, e)))
    }

    /// The distinct backend endpoints, in order of first declaration.
    pub fn destinations(&self) -> Vec<&Egress> {
        let mut out: Vec<&Egress> = Vec::new();
        for (_, e) in self.backends() {
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }
}

/// The environment's Terraform state backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub bucket: Option<String>,
    /// Defaults to `<env>.tfstate`.
    pub key: String,
    /// Defaults to the environment's AWS region.
    pub region: Option<String>,
}

/// The role of a network segment, in boundary order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SegmentRole {
    Ingress,
    Runtime,
    Persistence,
}

impl SegmentRole {
    pub const ALL: [SegmentRole; 3] = [SegmentRole::Ingress, SegmentRole::Runtime, SegmentRole::Persistence];

    pub fn as_str(self) -> &'static str {
        match self {
            SegmentRole::Ingress => "ingress",
            SegmentRole::Runtime => "runtime",
            SegmentRole::Persistence => "persistence",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exposure {
    Public,
    Private,
}

/// A network with its three segments.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub name: String,
    pub doc: Option<String>,
    /// `None` before `addressing` is authorized, or for a local environment that
    /// does not give one.
    pub cidr: Option<Ipv4Net>,
    pub zones: u8,
    /// Always three, in the order ingress, runtime, persistence.
    pub segments: Vec<Segment>,
    pub from_stack: bool,
}

impl Network {
    pub fn segment(&self, role: SegmentRole) -> &Segment {
        self.segments.iter().find(|s| s.role == role).expect("a network always has its three segments")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub role: SegmentRole,
    /// Written or carved (LANGUAGE.md "Carving"); `None` when the network has no CIDR.
    pub cidr: Option<Ipv4Net>,
    pub exposure: Exposure,
    /// One subnet per zone, carved from `cidr`: `zones` entries, or none without a CIDR.
    pub subnets: Vec<Ipv4Net>,
}

/// A container image reference: `[registry/]path[:tag][@sha256:<hex>]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// As written.
    pub reference: String,
    /// Registry and path, without tag and digest; the registry defaults to `docker.io`.
    pub repository: String,
    /// The name as written without tag and digest (no `docker.io/` added).
    pub name: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>`.
    pub digest: Option<String>,
}

/// Replica bounds: `min..max` (`3` is `3..3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replicas {
    pub min: u32,
    pub max: u32,
}

/// A stateless, long-lived service in the runtime segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Service {
    pub name: String,
    pub doc: Option<String>,
    pub image: Option<Image>,
    pub port: u16,
    pub replicas: Replicas,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    /// The protocol it speaks on its port.
    pub protocol: Protocol,
    /// The HTTP path of the readiness and liveness probes (`Protocol::Http` only).
    pub health: String,
    /// What this service connects to, in declaration order.
    pub connects: Vec<Connection>,
    pub egress: Vec<Egress>,
    /// Environment variables, sorted by key.
    pub env: Vec<EnvVar>,
    pub network: String,
    pub from_stack: bool,
}

/// What a service speaks on its port (`protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// HTTP/1.1 (or HTTP/2 negotiated): probed by an HTTP GET of `health`.
    #[default]
    Http,
    /// gRPC (HTTP/2): probed with the gRPC health checking protocol.
    Grpc,
    /// Plain TCP: probed by opening a connection; no route reaches it.
    Tcp,
}

impl Protocol {
    /// As written in `.gov`: `http`, `grpc`, `tcp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Grpc => "grpc",
            Protocol::Tcp => "tcp",
        }
    }
}

/// A target of `connects`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Connection {
    Postgres(String),
    Service(String),
    Bucket(String),
}

/// `egress = ["api.stripe.com:443"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Egress {
    pub host: String,
    pub port: u16,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub key: String,
    pub value: EnvValue,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvValue {
    /// A literal string: goes to a ConfigMap.
    Literal(String),
    /// A reference to a `secret` resource: goes to the secret store, never a value.
    Secret { secret: String, path: Option<String> },
    /// A resolved attribute of another resource (`main.host`): its value is known
    /// statically and goes to the ConfigMap like a literal.
    Attribute { resource: String, attribute: String, value: String },
}

/// Managed PostgreSQL in the persistence segment.
#[derive(Clone, Debug, PartialEq)]
pub struct Postgres {
    pub name: String,
    pub doc: Option<String>,
    pub version: u8,
    pub class: Option<String>,
    pub storage_gib: u32,
    pub backup_retention_days: u32,
    pub deletion_protection: bool,
    pub multi_az: bool,
    /// Read-only replicas.
    pub replicas: u8,
    pub network: String,
    /// `<postgres>.<env>.<project>.internal`: a private DNS name.
    pub host: String,
    /// The postgres name with `-` turned into `_`.
    pub database: String,
    pub port: u16,
    pub from_stack: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    Managed,
}

/// The single entry point of an environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingress {
    pub name: String,
    pub doc: Option<String>,
    pub host: Option<String>,
    /// The id of the Route 53 hosted zone holding `host`, when declared.
    pub zone: Option<String>,
    pub tls: Tls,
    /// Sorted by path.
    pub routes: Vec<Route>,
    pub network: String,
    pub from_stack: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub path: String,
    pub service: String,
    /// The target port: the one written, or the service's port.
    pub port: u16,
}

/// A reference to a value held by the secret store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secret {
    pub name: String,
    pub doc: Option<String>,
    /// The secret store path; `None` before `secrets` is authorized.
    pub path: Option<String>,
    pub from_stack: bool,
}

/// An S3 object store (MinIO in a local cluster). Always versioned, encrypted with its
/// own KMS key, private (every public access block on, no public principal, TLS only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub name: String,
    pub doc: Option<String>,
    /// Holds evidence: Object Lock at creation, write-once access for services.
    pub evidence: bool,
    /// `lock { mode retention }`, when written.
    pub lock: Option<Lock>,
    /// `lifecycle { noncurrent }`: expire noncurrent versions after these days.
    pub noncurrent_days: Option<u32>,
    /// `lifecycle { abort_uploads }`: abort incomplete multipart uploads after these days.
    pub abort_uploads_days: u32,
    /// The S3 bucket's name ([`crate::emit::names::bucket_name`]): the `name` attribute.
    pub bucket_name: String,
    pub from_stack: bool,
}

impl Bucket {
    /// Whether Object Lock is enabled at creation: with `lock`, and always for evidence.
    pub fn object_lock(&self) -> bool {
        self.evidence || self.lock.is_some()
    }

    /// `arn:aws:s3:::<name>`.
    pub fn arn(&self) -> String {
        format!("arn:aws:s3:::{}", self.bucket_name)
    }
}

/// S3 Object Lock's default retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lock {
    pub mode: LockMode,
    /// The default retention in whole days; `None`: no default retention rule.
    pub retention_days: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockMode {
    /// May be bypassed with `s3:BypassGovernanceRetention` (granted to no service).
    Governance,
    /// Nobody can shorten or remove a retention, the account root included.
    Compliance,
}

impl LockMode {
    /// As S3 writes it: `COMPLIANCE`, `GOVERNANCE`.
    pub fn as_s3(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{first_of_each, Connection};

    /// Short lists are searched and long ones remembered in a set: both give each name
    /// once, at its first place, in order.
    #[test]
    fn a_service_names_each_database_once_however_long_its_list() {
        for len in [0, 3, 16, 17, 200] {
            let connects: Vec<Connection> = (0..len)
                .map(|i| match i % 3 {
                    0 => Connection::Postgres(format!("db-{}", i % 7)),
                    1 => Connection::Service(format!("db-{}", i % 5)),
                    _ => Connection::Bucket(format!("b-{}", i % 4)),
                })
                .collect();
            let databases: Vec<&str> = first_of_each(&connects, |c| match c {
                Connection::Postgres(db) => Some(db.as_str()),
                _ => None,
            })
            .collect();
            let mut expected: Vec<&str> = Vec::new();
            for c in &connects {
                if let Connection::Postgres(db) = c {
                    if !expected.contains(&db.as_str()) {
                        expected.push(db);
                    }
                }
            }
            assert_eq!(databases, expected, "{len} connections");
        }
    }
}
