//! Telemetry (E406 and E408 on its endpoints, E415–E418, W607): the environment's
//! OpenTelemetry Collector exports to well-formed public backends, a cloud tier's
//! collector exports somewhere, govc alone sets the services' `OTEL_*` wiring, the
//! collector's name is its own, a mirror collects what its target collects, and without
//! a collector a service's own OTLP endpoint is one its `egress` lets it reach.

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::{Telemetry, Tier};
use crate::model::body::BlockVal;
use crate::model::values::{EnvVal, Val};
use crate::model::{report_once, Environment, Model};

use super::network::{not_public, parse_egress};

/// The signals of a `telemetry` block, in the order of its fields.
pub const SIGNALS: [&str; 3] = ["traces", "metrics", "logs"];

/// The variables govc sets on every service of an environment with telemetry, and the
/// per-signal endpoints that would override the first one (E416).
pub const OTEL_VARIABLES: [&str; 7] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

pub fn run(model: &Model, sink: &mut Diagnostics) {
    if !super::authorized(model, crate::model::schema::Capability::Observability) {
        return;
    }
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        if let Some(block) = env.body.block("telemetry") {
            endpoints(block, &mut local);
            no_backend(env, block, &mut local);
            otel_variables(env, &mut local);
            collector_name(env, &mut local);
        } else {
            unreachable_endpoint(env, &mut local);
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
    for env in &model.environments {
        if let Some(target) = env.mirrors {
            mirror_differs(env, &model.environments[target], sink);
        }
    }
}

/// The signals a `telemetry` block declares a backend for.
fn signals(block: &BlockVal) -> Vec<&'static str> {
    SIGNALS.into_iter().filter(|s| matches!(block.body.value(s), Some(Val::Str(_)))).collect()
}

/// E406 and E408: a backend endpoint is an egress entry of the collector, held to the
/// same form (`host:port`) and the same destinations (the public internet).
fn endpoints(block: &BlockVal, sink: &mut Diagnostics) {
    for signal in SIGNALS {
        let Some(field) = block.body.field(signal) else { continue };
        let Val::Str(entry) = &field.value else { continue };
        match parse_egress(entry) {
            Err(why) => sink.push(
                Diagnostic::new(Code::E406, field.value_span, format!("malformed {signal} endpoint `{entry}`"), why)
                    .with_note("a telemetry backend is an egress destination of the collector: one host and one port")
                    .with_help(format!("write `{signal} = \"otlp.example.com:4317\"` (OTLP over gRPC)")),
            ),
            Ok((host, _)) => {
                if let Some(what) = not_public(host) {
                    sink.push(
                        Diagnostic::new(
                            Code::E408,
                            field.value_span,
                            format!("{signal} endpoint `{entry}` leaves for {what}, not the public internet"),
                            "not a public destination",
                        )
                        .with_note("the collector reaches its backends through the egress path out of the VPC")
                        .with_help("name the backend's public OTLP endpoint (`\"otlp.example.com:4317\"`)"),
                    );
                }
            }
        }
    }
}

/// E415: a collector of a cloud tier that exports nothing.
fn no_backend(env: &Environment, block: &BlockVal, sink: &mut Diagnostics) {
    if env.tier.is_none_or(|t| t == Tier::Local) || !signals(block).is_empty() {
        return;
    }
    // A field whose value is invalid was already reported.
    if SIGNALS.iter().any(|s| block.body.field(s).is_some()) {
        return;
    }
    sink.push(
        Diagnostic::new(
            Code::E415,
            block.head,
            format!("the telemetry of environment `{}` declares no backend", env.name),
            "exports nothing",
        )
        .with_note(
            "services would send their telemetry to a collector that drops it; only `tier = local` prints it instead",
        )
        .with_help(
            "declare at least one of `traces`, `metrics` and `logs` as `\"host:port\"` of an OTLP/gRPC endpoint",
        ),
    );
}

/// E416: a service's own `env` sets a variable govc sets for the collector.
fn otel_variables(env: &Environment, sink: &mut Diagnostics) {
    for (_, svc) in env.of_kind("service") {
        for entry in svc.body.env() {
            if !OTEL_VARIABLES.contains(&entry.key.as_str()) {
                continue;
            }
            sink.push(
                Diagnostic::new(
                    Code::E416,
                    entry.key_span,
                    format!("service `{}` sets `{}`, which the environment's telemetry sets", svc.name, entry.key),
                    "set by govc",
                )
                .with_note(format!(
                    "in environment `{}` every service sends OTLP to the collector (`OTEL_EXPORTER_OTLP_ENDPOINT`) as `OTEL_SERVICE_NAME` = its name, with `OTEL_RESOURCE_ATTRIBUTES` naming the environment; the NetworkPolicies allow no other OTLP destination",
                    env.name
                ))
                .with_help(format!("remove `{}` from the service's `env`", entry.key)),
            );
        }
    }
}

/// E418: a resource that would take the collector's name in the namespace.
fn collector_name(env: &Environment, sink: &mut Diagnostics) {
    let Some((_, res)) = env.resource(Telemetry::COLLECTOR) else { return };
    if !matches!(res.kind.as_str(), "service" | "postgres") {
        return;
    }
    sink.push(
        Diagnostic::new(
            Code::E418,
            res.head(),
            format!("{} `{}` takes the name of the environment's OpenTelemetry Collector", res.kind, res.name),
            "name reserved by `telemetry`",
        )
        .with_note(format!(
            "environment `{}` declares `telemetry`: its collector's Deployment, Service and ConfigMap are named `{}`",
            env.name,
            Telemetry::COLLECTOR
        ))
        .with_help("rename the resource"),
    );
}

/// E417: `mirrors = X` but the environment collects other signals than X (or has
/// telemetry where X has none, or the reverse). Backends may differ.
fn mirror_differs(env: &Environment, target: &Environment, sink: &mut Diagnostics) {
    let mine = env.body.block("telemetry").map(signals);
    let theirs = target.body.block("telemetry").map(signals);
    if mine == theirs {
        return;
    }
    let describe = |s: &Option<Vec<&str>>| match s {
        None => "no telemetry".to_string(),
        Some(v) if v.is_empty() => "a collector without backends".to_string(),
        Some(v) => format!("a collector exporting {}", v.join(", ")),
    };
    let span = env
        .body
        .block("telemetry")
        .map_or_else(|| env.body.field("mirrors").map_or(env.head_span, |f| f.value_span), |b| b.head);
    let target_span = target.body.block("telemetry").map_or(target.head_span, |b| b.head);
    sink.push(
        Diagnostic::new(
            Code::E417,
            span,
            format!("environment `{}` mirrors `{}` but its telemetry differs", env.name, target.name),
            format!("{} here", describe(&mine)),
        )
        .with_label(target_span, format!("{} in `{}`", describe(&theirs), target.name))
        .with_note("the collector and its pipelines are part of the topology a mirror rehearses; only the backends' addresses may differ")
        .with_help(format!("declare `telemetry` with the same signals in `{}` and `{}`", env.name, target.name)),
    );
}

/// The `host:port` of an OTLP endpoint URL (`http[s]://host:port[/path]`); `None` when it
/// names no port (the SDK's default then depends on the protocol) or is not a URL.
pub fn endpoint_destination(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (host, port) = authority.rsplit_once(':')?;
    Some((host.to_ascii_lowercase(), port.parse().ok()?))
}

/// W607: without telemetry, a service that names its own OTLP endpoint (a literal
/// `http[s]://host:port` URL) whose `host:port` is not among its `egress` entries: the
/// NetworkPolicies and firewall would drop its telemetry.
fn unreachable_endpoint(env: &Environment, sink: &mut Diagnostics) {
    for (_, svc) in env.of_kind("service") {
        let egress: Vec<(String, u16)> = match svc.body.value("egress") {
            Some(Val::Strings(entries)) => entries
                .iter()
                .filter_map(|(e, _)| parse_egress(e).ok().map(|(h, p)| (h.to_ascii_lowercase(), p)))
                .collect(),
            _ => Vec::new(),
        };
        for entry in svc.body.env() {
            if !entry.key.starts_with("OTEL_EXPORTER_OTLP_") || !entry.key.ends_with("ENDPOINT") {
                continue;
            }
            let EnvVal::Literal(url) = &entry.value else { continue };
            let Some((host, port)) = endpoint_destination(url) else { continue };
            if egress.contains(&(host.clone(), port)) {
                continue;
            }
            sink.push(
                Diagnostic::new(
                    Code::W607,
                    entry.value_span,
                    format!("service `{}` sends telemetry to `{host}:{port}`, which its `egress` does not allow", svc.name),
                    "not a declared destination",
                )
                .with_note(format!(
                    "environment `{}` has no `telemetry`, and egress is deny-by-default: this traffic would be dropped",
                    env.name
                ))
                .with_help(format!(
                    "declare `telemetry {{ ... }}` in the environment (govc then wires the service to its collector), or add `\"{host}:{port}\"` to the service's `egress`"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::endpoint_destination;

    #[test]
    fn otlp_urls() {
        assert_eq!(endpoint_destination("https://otlp.example.com:4317"), Some(("otlp.example.com".into(), 4317)));
        assert_eq!(endpoint_destination("http://Collector:4318/v1/traces"), Some(("collector".into(), 4318)));
        assert_eq!(endpoint_destination("https://otlp.example.com"), None);
        assert_eq!(endpoint_destination("otlp.example.com:4317"), None);
    }
}
