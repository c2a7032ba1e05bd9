//! A hand-built, realistic [`ir::Program`] for the emitter's tests: project `zenthea`,
//! stack `app` (web, api, worker, postgres `main`, ingress `edge`) and the environments
//! `local`, `staging` and `production`; plus a small program whose environment has no stack.

use ipnet::Ipv4Net;

use crate::ir::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().expect("a valid CIDR in the fixture")
}

/// A network carved as LANGUAGE.md says: four equal blocks, each split per zone.
pub fn network(cidr: Option<&str>, zones: u8, public: bool, from_stack: bool) -> Network {
    let cidr = cidr.map(net);
    let blocks: Vec<Ipv4Net> =
        cidr.map(|c| c.subnets(c.prefix_len() + 2).expect("carvable").collect()).unwrap_or_default();
    let segments = SegmentRole::ALL
        .iter()
        .enumerate()
        .map(|(i, role)| {
            let seg = blocks.get(i).copied();
            let bits = u8::try_from((u32::from(zones)).next_power_of_two().trailing_zeros()).expect("small");
            let subnets = seg
                .map(|s| s.subnets(s.prefix_len() + bits).expect("carvable").take(usize::from(zones)).collect())
                .unwrap_or_default();
            let exposure = if *role == SegmentRole::Ingress && public { Exposure::Public } else { Exposure::Private };
            Segment { role: *role, cidr: seg, exposure, subnets }
        })
        .collect();
    Network { name: "core".into(), doc: None, cidr, zones, segments, from_stack }
}

fn image(reference: &str) -> Image {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (reference, None),
    };
    let (name, tag) = match rest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, Some(t.to_string())),
        _ => (rest, None),
    };
    let repository = if name.split('/').next().is_some_and(|h| h.contains('.')) {
        name.to_string()
    } else {
        format!("docker.io/{name}")
    };
    Image { reference: reference.into(), repository, name: name.into(), tag, digest }
}

/// A service with the stdlib defaults.
pub fn service(name: &str, port: u16) -> Service {
    Service {
        name: name.into(),
        doc: None,
        image: None,
        port,
        replicas: Replicas { min: 1, max: 1 },
        cpu_millis: 250,
        memory_bytes: 256 << 20,
        protocol: Default::default(),
        health: "/healthz".into(),
        connects: vec![],
        egress: vec![],
        env: vec![],
        network: "core".into(),
        from_stack: true,
    }
}

fn postgres(env: &str, from_stack: bool) -> Postgres {
    Postgres {
        name: "main".into(),
        doc: None,
        version: 16,
        class: None,
        storage_gib: 20,
        backup_retention_days: 7,
        deletion_protection: false,
        multi_az: false,
        replicas: 0,
        network: "core".into(),
        host: format!("main.{env}.zenthea.internal"),
        database: "main".into(),
        port: 5432,
        from_stack,
    }
}

fn var(key: &str, value: EnvValue) -> EnvVar {
    EnvVar { key: key.into(), value }
}

/// The stack's resources (as the stack sees them) or an environment's merged view.
fn resources(env: Option<&str>) -> Resources {
    let envname = env.unwrap_or("app");
    let mut web = service("web", 8080);
    web.connects = vec![Connection::Service("api".into())];
    web.env = vec![
        var(
            "API_URL",
            EnvValue::Attribute {
                resource: "api".into(),
                attribute: "url".into(),
                value: format!("http://api.zenthea-{envname}.svc.cluster.local:8080"),
            },
        ),
        var("LOG_LEVEL", EnvValue::Literal("info".into())),
    ];
    let mut api = service("api", 8080);
    api.health = "/api/health".into();
    api.connects = vec![Connection::Postgres("main".into())];
    api.env = vec![
        var(
            "DATABASE_HOST",
            EnvValue::Attribute {
                resource: "main".into(),
                attribute: "host".into(),
                value: format!("main.{envname}.zenthea.internal"),
            },
        ),
        var("DATABASE_PASSWORD", EnvValue::Secret { secret: "db-password".into(), path: None }),
        var("GREETING", EnvValue::Literal("yes: it's \"quoted\" # not a comment".into())),
        var("LOG_LEVEL", EnvValue::Literal("info".into())),
    ];
    let mut worker = service("worker", 9090);
    worker.egress = vec![Egress { host: "api.stripe.com".into(), port: 443 }];
    worker.env = vec![var("STRIPE_KEY", EnvValue::Secret { secret: "stripe-key".into(), path: None })];
    let mut res = Resources {
        networks: vec![network(None, 2, true, true)],
        databases: vec![postgres(envname, true)],
        buckets: vec![],
        services: vec![web, api, worker],
        ingresses: vec![Ingress {
            name: "edge".into(),
            doc: None,
            host: None,
            zone: None,
            tls: Tls::Managed,
            routes: vec![
                Route { path: "/".into(), service: "web".into(), port: 8080 },
                Route { path: "/api".into(), service: "api".into(), port: 8080 },
            ],
            network: "core".into(),
            from_stack: true,
        }],
        secrets: vec![
            Secret { name: "db-password".into(), doc: None, path: None, from_stack: true },
            Secret { name: "stripe-key".into(), doc: None, path: None, from_stack: true },
        ],
    };
    if let Some(env) = env {
        for s in &mut res.secrets {
            s.path = Some(format!("zenthea/{env}/{}", s.name));
        }
    }
    res
}

fn environment(name: &str, tier: Tier, cidr: Option<&str>, host: &str, pinned: bool) -> Environment {
    let mut res = resources(Some(name));
    res.networks = vec![network(cidr, 2, true, true)];
    res.ingresses[0].host = Some(host.into());
    for svc in &mut res.services {
        let reference = if pinned {
            format!(
                "registry.example.com/zenthea/{}@sha256:{}",
                svc.name,
                format!("{:x}", svc.port).repeat(16).chars().take(64).collect::<String>()
            )
        } else {
            format!("zenthea/{}:dev", svc.name)
        };
        svc.image = Some(image(&reference));
    }
    let aws =
        (tier != Tier::Local).then(|| Aws { account: Some("111111111111".into()), region: Some("eu-west-1".into()) });
    Environment {
        name: name.into(),
        doc: None,
        tier,
        namespace: format!("zenthea-{name}"),
        stack: Some("app".into()),
        mirrors: None,
        aws,
        state: None,
        kubernetes_version: crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION.into(),
        ci: None,
        telemetry: None,
        resources: res,
    }
}

/// The realistic program: `local`, `staging`, `production` on stack `app`.
pub fn zenthea() -> Program {
    let local = environment("local", Tier::Local, None, "zenthea.localhost", false);
    let mut staging = environment("staging", Tier::Staging, Some("10.20.0.0/16"), "staging.zenthea.example", true);
    staging.resources.services[1].replicas = Replicas { min: 2, max: 4 };
    let mut production = environment("production", Tier::Production, Some("10.30.0.0/16"), "zenthea.example", true);
    production.mirrors = Some("staging".into());
    {
        let svcs = &mut production.resources.services;
        svcs[0].replicas = Replicas { min: 2, max: 2 };
        svcs[1].replicas = Replicas { min: 3, max: 12 };
        svcs[1].cpu_millis = 500;
        svcs[1].memory_bytes = 1 << 30;
        svcs[1].env[3].value = EnvValue::Literal("warn".into());
    }
    production.resources.databases[0].multi_az = true;
    Program {
        project: "zenthea".into(),
        phase: "build".into(),
        capabilities: Vec::new(),
        stacks: vec![Stack { name: "app".into(), doc: None, resources: resources(None) }],
        environments: vec![local, staging, production],
    }
}

/// A small program: one environment without a stack, one service behind a private ingress.
pub fn no_stack() -> Program {
    let mut svc = service("hello", 8080);
    svc.image = Some(image(&format!("registry.example.com/hello@sha256:{}", "ab".repeat(32))));
    svc.from_stack = false;
    let resources = Resources {
        networks: vec![network(Some("10.9.0.0/20"), 1, false, false)],
        databases: vec![],
        buckets: vec![],
        services: vec![svc],
        ingresses: vec![Ingress {
            name: "front".into(),
            doc: None,
            host: Some("hello.internal.example".into()),
            zone: None,
            tls: Tls::Managed,
            routes: vec![Route { path: "/".into(), service: "hello".into(), port: 8080 }],
            network: "core".into(),
            from_stack: false,
        }],
        secrets: vec![],
    };
    Program {
        project: "demo".into(),
        phase: "build".into(),
        capabilities: Vec::new(),
        stacks: vec![],
        environments: vec![Environment {
            name: "sandbox".into(),
            doc: None,
            tier: Tier::Dev,
            namespace: "demo-sandbox".into(),
            stack: None,
            mirrors: None,
            aws: Some(Aws { account: Some("222222222222".into()), region: Some("eu-west-1".into()) }),
            state: None,
            kubernetes_version: crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION.into(),
            ci: None,
            telemetry: None,
            resources,
        }],
    }
}

/// The zenthea program bent to reach the other overlay paths: the stack autoscales `api`
/// (2..4) and `local` pins it to 1 (delete patches), `staging` adds an environment-only
/// service, and a second stack `jobs` backs an environment `batch` (`base/<stack>/`).
pub fn variants() -> Program {
    let mut program = zenthea();
    program.stacks[0].resources.services[1].replicas = Replicas { min: 2, max: 4 };
    let mut debug = service("debug", 8081);
    debug.from_stack = false;
    debug.image = Some(image(&format!("registry.example.com/zenthea/debug@sha256:{}", "cd".repeat(32))));
    program.environments[1].resources.services.push(debug);
    let cron = || {
        let mut s = service("cron", 8080);
        s.egress = vec![
            Egress { host: "hooks.slack.com".into(), port: 443 },
            Egress { host: "203.0.113.7".into(), port: 8443 },
        ];
        s
    };
    let stack =
        Resources { networks: vec![network(None, 2, false, true)], services: vec![cron()], ..Resources::default() };
    program.stacks.push(Stack { name: "jobs".into(), doc: None, resources: stack });
    let mut svc = cron();
    svc.image = Some(image("registry.example.com/zenthea/cron:1.4.2"));
    let resources = Resources {
        networks: vec![network(Some("10.40.0.0/16"), 2, false, true)],
        services: vec![svc],
        ..Resources::default()
    };
    program.environments.push(Environment {
        name: "batch".into(),
        doc: None,
        tier: Tier::Dev,
        namespace: "zenthea-batch".into(),
        stack: Some("jobs".into()),
        mirrors: None,
        aws: Some(Aws { account: Some("111111111111".into()), region: Some("eu-west-1".into()) }),
        state: None,
        kubernetes_version: crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION.into(),
        ci: None,
        telemetry: None,
        resources,
    });
    program
}

/// The zenthea program with a `grpc` service `temporal` (routed at `/temporal`) and a
/// `tcp` service `broker` (no route) that `web` connects to, in the stack and every
/// environment: the protocol paths of probes, Services and Ingresses.
pub fn protocols() -> Program {
    let mut program = zenthea();
    let add = |res: &mut Resources, pinned: Option<&str>, from_stack: bool| {
        for (name, port, protocol) in [("temporal", 7233, Protocol::Grpc), ("broker", 5672, Protocol::Tcp)] {
            let mut s = service(name, port);
            s.protocol = protocol;
            s.from_stack = from_stack;
            s.image = pinned.map(|p| image(&format!("{p}/{name}@sha256:{}", "ef".repeat(32))));
            res.services.push(s);
        }
        res.services[0].connects.push(Connection::Service("temporal".into()));
        res.services[0].connects.push(Connection::Service("broker".into()));
        if let Some(ing) = res.ingresses.first_mut() {
            ing.routes.push(Route { path: "/temporal".into(), service: "temporal".into(), port: 7233 });
        }
    };
    for stack in &mut program.stacks {
        add(&mut stack.resources, None, true);
    }
    for env in &mut program.environments {
        add(&mut env.resources, Some("registry.example.com/zenthea"), true);
    }
    program
}
