//! The model to the emitters' IR: defaults applied, references turned into names,
//! quantities into base units, segment CIDRs carved. Only called without errors.

use foldhash::HashMap;

use ipnet::Ipv4Net;

use super::body::Body;
use super::env::{EdgeKind, Environment, Resource};
use super::image;
use super::lower::StackDecl;
use super::schema::{Capability, Schema};
use super::values::{EnvVal, Val};
use super::Model;
use crate::carve;
use crate::ir;

/// Builds the IR. The model must be free of errors; missing values fall back to
/// defaults rather than failing.
pub fn to_ir(model: &Model) -> ir::Program {
    let project = model.project.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    let phase = model.project.as_ref().and_then(|p| p.phase.as_ref()).map(|(p, _)| p.clone()).unwrap_or_default();
    let listed: Vec<&str> = model
        .project
        .as_ref()
        .and_then(|p| p.environments.as_ref())
        .map(|(refs, _)| refs.iter().map(|r| r.name.as_str()).collect())
        .unwrap_or_default();
    let mut order: Vec<&Environment> = listed.iter().filter_map(|n| model.environment(n)).collect();
    let mut unlisted: Vec<&Environment> =
        model.environments.iter().filter(|e| !listed.contains(&e.name.as_str())).collect();
    unlisted.sort_by(|a, b| a.name.cmp(&b.name));
    order.extend(unlisted);

    // The stacks' views and the environments are lowered side by side.
    let parts: Vec<Part> =
        model.stacks.iter().map(Part::Stack).chain(order.into_iter().map(Part::Environment)).collect();
    let mut stacks = Vec::new();
    let mut environments = Vec::new();
    for lowered in crate::par::map(&parts, |part| match part {
        Part::Stack(s) => Lowered::Stack(stack(model, &project, s)),
        Part::Environment(env) => Lowered::Environment(Box::new(environment(model, &project, env))),
    }) {
        match lowered {
            Lowered::Stack(s) => stacks.push(s),
            Lowered::Environment(env) => environments.push(*env),
        }
    }
    stacks.sort_by(|a, b| a.name.cmp(&b.name));
    let capabilities = model.authorized.map_or_else(Vec::new, |caps| {
        Capability::ALL.into_iter().filter(|c| caps.contains(*c)).map(|c| c.as_str().to_string()).collect()
    });
    ir::Program { project, phase, capabilities, stacks, environments }
}

/// What [`to_ir`] lowers: a stack's own view or an environment.
enum Part<'m> {
    Stack(&'m StackDecl),
    Environment(&'m Environment),
}

enum Lowered {
    Stack(ir::Stack),
    Environment(Box<ir::Environment>),
}

/// The IR of stack `s`'s own view: its resources resolved without an environment.
fn stack(model: &Model, project: &str, s: &StackDecl) -> ir::Stack {
    let mut view = Environment {
        name: String::new(),
        name_span: s.head_span,
        head_span: s.head_span,
        span: s.head_span,
        doc: None,
        tier: None,
        stack: None,
        mirrors: None,
        body: Body::default(),
        resources: s.resources.iter().map(Resource::from_stack).collect(),
        reserved: Default::default(),
        listed: false,
        unresolved: false,
        stack_missing: false,
    };
    let elsewhere = super::env::Elsewhere::new(&[]);
    super::env::resolve(&mut view, &model.schema, &elsewhere, &mut crate::diag::Diagnostics::new());
    let ctx = Ctx { schema: &model.schema, project, env: None, index: index_of(&view) };
    ir::Stack { name: s.name.clone(), doc: s.doc.clone(), resources: ctx.resources(&view) }
}

/// The IR of environment `env`.
fn environment(model: &Model, project: &str, env: &Environment) -> ir::Environment {
    let ctx = Ctx { schema: &model.schema, project, env: Some(env), index: index_of(env) };
    let aws = env.body.block("aws").map(|b| ir::Aws {
        account: b.body.str("account").map(str::to_string),
        region: b.body.str("region").map(str::to_string),
    });
    let state = env.body.block("state").map(|b| ir::State {
        bucket: b.body.str("bucket").map(str::to_string),
        key: b.body.str("key").map_or_else(|| format!("{}.tfstate", env.name), str::to_string),
        region: b.body.str("region").or(aws.as_ref().and_then(|a| a.region.as_deref())).map(str::to_string),
    });
    ir::Environment {
        name: env.name.clone(),
        doc: env.doc.clone(),
        tier: env.tier.unwrap_or(ir::Tier::Local),
        namespace: crate::emit::names::namespace(project, &env.name),
        stack: env.stack.map(|i| model.stacks[i].name.clone()),
        mirrors: env.mirrors.map(|i| model.environments[i].name.clone()),
        aws,
        state,
        kubernetes_version: env
            .body
            .block("kubernetes")
            .and_then(|b| b.body.str("version"))
            .unwrap_or(crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION)
            .to_string(),
        ci: env.body.block("ci").map(|b| ir::Ci { role: b.body.str("role").map(str::to_string) }),
        telemetry: env.body.block("telemetry").map(|b| {
            let endpoint = |signal: &str| {
                let entry = b.body.str(signal)?;
                let (host, port) = crate::checks::network::parse_egress(entry).ok()?;
                Some(ir::Egress { host: host.to_string(), port })
            };
            ir::Telemetry { traces: endpoint("traces"), metrics: endpoint("metrics"), logs: endpoint("logs") }
        }),
        resources: ctx.resources(env),
    }
}

/// `lifecycle { abort_uploads }` when not written (the stdlib's default).
pub const DEFAULT_ABORT_UPLOADS_DAYS: u32 = 7;

/// The account a bucket name carries: the environment's `aws.account` in a cloud tier,
/// none in a local one (or an environment without a tier).
pub fn bucket_account(env: &Environment) -> Option<&str> {
    if env.tier.is_none_or(|t| t == ir::Tier::Local) {
        return None;
    }
    env.body.block("aws").and_then(|b| b.body.str("account"))
}

struct Ctx<'a> {
    schema: &'a Schema,
    project: &'a str,
    /// `None` for a stack's own view.
    env: Option<&'a Environment>,
    /// Resource name → index in the environment (or stack view).
    index: HashMap<String, usize>,
}

fn index_of(env: &Environment) -> HashMap<String, usize> {
    env.resources.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect()
}

impl Ctx<'_> {
    fn lookup<'e>(&self, env: &'e Environment, name: &str) -> Option<&'e Resource> {
        self.index.get(name).map(|i| &env.resources[*i])
    }

    /// A field's value, or the stdlib default.
    fn get<'b>(&'b self, res: &'b Resource, field: &str) -> Option<&'b Val> {
        res.body.value(field).or_else(|| self.schema.kind(&res.kind)?.field(field)?.default.as_ref())
    }

    fn int(&self, res: &Resource, field: &str) -> u64 {
        match self.get(res, field) {
            Some(Val::Int(n) | Val::Bytes(n) | Val::Seconds(n) | Val::Millicores(n)) => *n,
            _ => 0,
        }
    }

    fn bool(&self, res: &Resource, field: &str) -> bool {
        matches!(self.get(res, field), Some(Val::Bool(true)))
    }

    fn string(&self, res: &Resource, field: &str) -> Option<String> {
        match self.get(res, field) {
            Some(Val::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn network_name(&self, env: &Environment, res: &Resource) -> String {
        res.network().map(|i| env.resources[i].name.clone()).unwrap_or_default()
    }

    fn namespace(&self) -> String {
        match self.env {
            Some(env) => crate::emit::names::namespace(self.project, &env.name),
            None => self.project.to_string(),
        }
    }

    /// The value of `resource.attribute` in this environment.
    /// In a stack's view, attributes that depend on the environment (host names,
    /// URLs) are empty; the others (ports, database names) are known.
    fn attribute(&self, res: &Resource, attr: &str) -> String {
        let Some(env) = self.env else {
            return match (res.kind.as_str(), attr) {
                ("postgres", "port") => "5432".into(),
                ("postgres", "database") => res.name.replace('-', "_"),
                ("service", "port") => self.int(res, "port").to_string(),
                _ => String::new(),
            };
        };
        match (res.kind.as_str(), attr) {
            ("postgres", "host") => format!("{}.{}.{}.internal", res.name, env.name, self.project),
            ("postgres", "port") => "5432".into(),
            ("postgres", "database") => res.name.replace('-', "_"),
            ("service", "host") => format!("{}.{}.svc.cluster.local", res.name, self.namespace()),
            ("service", "port") => self.int(res, "port").to_string(),
            ("bucket", "name") => self.bucket_name(env, res),
            ("bucket", "arn") => format!("arn:aws:s3:::{}", self.bucket_name(env, res)),
            ("service", "url") => {
                format!("http://{}.{}.svc.cluster.local:{}", res.name, self.namespace(), self.int(res, "port"))
            }
            _ => String::new(),
        }
    }

    fn resources(&self, env: &Environment) -> ir::Resources {
        let mut out = ir::Resources::default();
        for res in &env.resources {
            match res.kind.as_str() {
                "network" => out.networks.push(self.network(res)),
                "postgres" => out.databases.push(self.postgres(env, res)),
                "service" => out.services.push(self.service(env, res)),
                "ingress" => out.ingresses.push(self.ingress(env, res)),
                "bucket" => out.buckets.push(self.bucket(env, res)),
                "secret" => out.secrets.push(ir::Secret {
                    name: res.name.clone(),
                    doc: res.doc.clone(),
                    path: self.string(res, "path"),
                    from_stack: res.from_stack,
                }),
                _ => {}
            }
        }
        // Declaration order for stack resources, then the environment's own by name.
        // (A stable sort: the stack's resources keep their order.)
        fn order<T>(items: &mut [T], key: impl Fn(&T) -> (bool, &str)) {
            fn rank((from_stack, name): (bool, &str)) -> (bool, &str) {
                (!from_stack, if from_stack { "" } else { name })
            }
            items.sort_by(|a, b| rank(key(a)).cmp(&rank(key(b))));
        }
        order(&mut out.networks, |n| (n.from_stack, &n.name));
        order(&mut out.databases, |n| (n.from_stack, &n.name));
        order(&mut out.services, |n| (n.from_stack, &n.name));
        order(&mut out.ingresses, |n| (n.from_stack, &n.name));
        order(&mut out.secrets, |n| (n.from_stack, &n.name));
        order(&mut out.buckets, |n| (n.from_stack, &n.name));
        out
    }

    fn network(&self, res: &Resource) -> ir::Network {
        let cidr = match res.body.value("cidr") {
            Some(Val::Cidr(c)) => Some(*c),
            _ => None,
        };
        let zones = self.int(res, "zones").clamp(1, 6) as u8;
        let segments = ir::SegmentRole::ALL
            .iter()
            .enumerate()
            .map(|(i, role)| {
                let block = res.body.block(role.as_str());
                let written = block.and_then(|b| match b.body.value("cidr") {
                    Some(Val::Cidr(c)) => Some(*c),
                    _ => None,
                });
                let seg_cidr: Option<Ipv4Net> = written.or_else(|| cidr.and_then(|c| carve::segment_block(c, i)));
                let exposure = match block.and_then(|b| b.body.value("exposure")) {
                    Some(Val::Enum(e)) if e == "public" => ir::Exposure::Public,
                    _ => ir::Exposure::Private,
                };
                ir::Segment {
                    role: *role,
                    cidr: seg_cidr,
                    exposure,
                    subnets: seg_cidr.and_then(|c| carve::zone_subnets(c, zones)).unwrap_or_default(),
                }
            })
            .collect();
        ir::Network { name: res.name.clone(), doc: res.doc.clone(), cidr, zones, segments, from_stack: res.from_stack }
    }

    fn postgres(&self, env: &Environment, res: &Resource) -> ir::Postgres {
        ir::Postgres {
            name: res.name.clone(),
            doc: res.doc.clone(),
            version: self.int(res, "version") as u8,
            class: self.string(res, "class"),
            storage_gib: (self.int(res, "storage") >> 30) as u32,
            backup_retention_days: (self.int(res, "backup_retention") / 86_400) as u32,
            deletion_protection: self.bool(res, "deletion_protection"),
            multi_az: self.bool(res, "multi_az"),
            replicas: self.int(res, "replicas") as u8,
            network: self.network_name(env, res),
            host: self.attribute(res, "host"),
            database: self.attribute(res, "database"),
            port: 5432,
            from_stack: res.from_stack,
        }
    }

    fn service(&self, env: &Environment, res: &Resource) -> ir::Service {
        let replicas = match self.get(res, "replicas") {
            Some(Val::Range(min, max)) => ir::Replicas { min: *min as u32, max: *max as u32 },
            _ => ir::Replicas { min: 1, max: 1 },
        };
        let connects = res
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Connects)
            .filter_map(|e| {
                let target = &env.resources[e.target];
                match target.kind.as_str() {
                    "postgres" => Some(ir::Connection::Postgres(target.name.clone())),
                    "service" => Some(ir::Connection::Service(target.name.clone())),
                    "bucket" => Some(ir::Connection::Bucket(target.name.clone())),
                    _ => None,
                }
            })
            .collect();
        let egress = match res.body.value("egress") {
            Some(Val::Strings(items)) => items
                .iter()
                .filter_map(|(s, _)| {
                    let (host, port) = s.rsplit_once(':')?;
                    Some(ir::Egress { host: host.to_string(), port: port.parse().ok()? })
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut env_vars: Vec<ir::EnvVar> = res
            .body
            .env()
            .iter()
            .filter_map(|entry| {
                let value = match &entry.value {
                    EnvVal::Literal(s) => ir::EnvValue::Literal(s.clone()),
                    EnvVal::Ref(r) => {
                        let target = self.lookup(env, &r.name)?;
                        match &r.attr {
                            None => {
                                ir::EnvValue::Secret { secret: target.name.clone(), path: self.string(target, "path") }
                            }
                            Some((attr, _)) => ir::EnvValue::Attribute {
                                resource: target.name.clone(),
                                attribute: attr.clone(),
                                // The user is the referring service's own.
                                value: if target.kind == "postgres" && attr == "user" {
                                    ir::database_user(&res.name)
                                } else {
                                    self.attribute(target, attr)
                                },
                            },
                        }
                    }
                    EnvVal::Invalid => return None,
                };
                Some(ir::EnvVar { key: entry.key.clone(), value })
            })
            .collect();
        env_vars.sort_by(|a, b| a.key.cmp(&b.key));
        ir::Service {
            name: res.name.clone(),
            doc: res.doc.clone(),
            image: self.string(res, "image").map(|i| image::parse(&i)),
            port: self.int(res, "port") as u16,
            replicas,
            cpu_millis: self.int(res, "cpu") as u32,
            memory_bytes: self.int(res, "memory"),
            protocol: match self.get(res, "protocol") {
                Some(Val::Enum(p)) if p == "grpc" => ir::Protocol::Grpc,
                Some(Val::Enum(p)) if p == "tcp" => ir::Protocol::Tcp,
                _ => ir::Protocol::Http,
            },
            health: self.string(res, "health").unwrap_or_else(|| "/healthz".into()),
            connects,
            egress,
            env: env_vars,
            network: self.network_name(env, res),
            from_stack: res.from_stack,
        }
    }

    /// The S3 name of a bucket in `env` ([`crate::emit::names::bucket_name`]): with the
    /// account in a cloud tier, without it in a local one.
    fn bucket_name(&self, env: &Environment, res: &Resource) -> String {
        crate::emit::names::bucket_name(self.project, &env.name, &res.name, bucket_account(env))
    }

    fn bucket(&self, env: &Environment, res: &Resource) -> ir::Bucket {
        let days = |v: Option<&Val>| match v {
            Some(Val::Seconds(s)) => Some((*s / 86_400) as u32),
            _ => None,
        };
        let lock = res.body.block("lock").map(|b| ir::Lock {
            mode: match b.body.value("mode") {
                Some(Val::Enum(m)) if m == "compliance" => ir::LockMode::Compliance,
                _ => ir::LockMode::Governance,
            },
            retention_days: days(b.body.value("retention")),
        });
        let lifecycle = res.body.block("lifecycle");
        ir::Bucket {
            name: res.name.clone(),
            doc: res.doc.clone(),
            evidence: self.bool(res, "evidence"),
            lock,
            noncurrent_days: days(lifecycle.and_then(|b| b.body.value("noncurrent"))),
            abort_uploads_days: days(lifecycle.and_then(|b| b.body.value("abort_uploads")))
                .unwrap_or(DEFAULT_ABORT_UPLOADS_DAYS),
            bucket_name: if self.env.is_some() { self.bucket_name(env, res) } else { String::new() },
            from_stack: res.from_stack,
        }
    }

    fn ingress(&self, env: &Environment, res: &Resource) -> ir::Ingress {
        let mut routes: Vec<ir::Route> = res
            .body
            .routes
            .iter()
            .filter_map(|route| {
                let target = self.lookup(env, &route.target.name)?;
                let port = route.port.map_or_else(|| self.int(target, "port"), |(p, _)| p) as u16;
                Some(ir::Route { path: route.path.clone(), service: target.name.clone(), port })
            })
            .collect();
        routes.sort_by(|a, b| a.path.cmp(&b.path));
        ir::Ingress {
            name: res.name.clone(),
            doc: res.doc.clone(),
            host: self.string(res, "host"),
            zone: self.string(res, "zone"),
            tls: ir::Tls::Managed,
            routes,
            network: self.network_name(env, res),
            from_stack: res.from_stack,
        }
    }
}
