//! The environment's single Ingress. Cloud tiers use the AWS Load Balancer Controller
//! (`alb`, IP targets, HTTPS only, the certificate discovered by host, the security group
//! Terraform names `<prefix>-ingress`); `tier = local` uses ingress-nginx with a TLS
//! Secret that the developer's local certificate tool provides.

use super::object::Object;
use super::service::port_name;
use super::yaml::{map, MapWriter, SeqWriter, Yaml};
use super::{write_labels, View};
use crate::emit::names;
use crate::ir::{self, Exposure, SegmentRole};

/// The TLS policy the ALB listener negotiates (TLS 1.3 and 1.2 only).
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// `<ingress>-tls`: the Secret a local environment's certificate tool must create.
pub fn local_tls_secret(ingress: &str) -> String {
    format!("{ingress}-tls")
}

/// `<ingress>-grpc`: the local Ingress of the routes to gRPC services.
pub fn local_grpc_ingress(ingress: &str) -> String {
    format!("{ingress}-grpc")
}

/// The Ingress of `view`'s environment, if it declares one. A cloud tier has one: the
/// ALB reads the protocol of each target group from the Service's annotations. ingress-nginx
/// reads the backend protocol per Ingress, so a local tier has one Ingress per protocol
/// group: `<ingress>` for the HTTP routes and `<ingress>-grpc` (backend protocol `GRPC`)
/// for the gRPC ones, both on the same host and TLS Secret. A `tcp` service has no route.
pub fn objects(view: &View) -> Vec<Object> {
    let (Some(env), Some(ing)) = (view.env, view.resources.ingress()) else {
        return Vec::new();
    };
    let protocol = |r: &&ir::Route| view.service(&r.service).map_or(ir::Protocol::Http, |s| s.protocol);
    if !view.is_local() {
        let routes: Vec<&ir::Route> = ing.routes.iter().filter(|r| protocol(r) != ir::Protocol::Tcp).collect();
        return vec![ingress(view, ing, &ing.name, Some(alb_annotations(view, env, ing)), routes)];
    }
    let mut out = Vec::new();
    let http: Vec<&ir::Route> = ing.routes.iter().filter(|r| protocol(r) == ir::Protocol::Http).collect();
    let grpc: Vec<&ir::Route> = ing.routes.iter().filter(|r| protocol(r) == ir::Protocol::Grpc).collect();
    if !http.is_empty() {
        out.push(ingress(view, ing, &ing.name, None, http));
    }
    if !grpc.is_empty() {
        let annotations = map([("nginx.ingress.kubernetes.io/backend-protocol", "GRPC".into())]);
        out.push(ingress(view, ing, &local_grpc_ingress(&ing.name), Some(annotations), grpc));
    }
    out
}

/// One Ingress object named `name` for `routes` of `ing`, written as text: an
/// environment's own object, with a path per route (thousands in a fleet).
fn ingress(view: &View, ing: &ir::Ingress, name: &str, annotations: Option<Yaml>, routes: Vec<&ir::Route>) -> Object {
    let metadata = |m: &mut MapWriter| {
        write_labels(m, view.project, &ing.name, "ingress");
        if let Some(annotations) = &annotations {
            m.value("annotations", annotations);
        }
    };
    let spec = |doc: &mut MapWriter| {
        doc.map("spec", |spec| {
            spec.str("ingressClassName", if view.is_local() { "nginx" } else { "alb" });
            if let Some(host) = &ing.host {
                spec.seq("tls", |tls| {
                    tls.map(|tls| {
                        tls.seq("hosts", |hosts| {
                            hosts.str(host);
                        });
                        if view.is_local() {
                            tls.str("secretName", &local_tls_secret(&ing.name));
                        }
                    });
                });
            }
            spec.seq("rules", |rules| {
                rules.map(|rule| {
                    if let Some(host) = &ing.host {
                        rule.str("host", host);
                    }
                    rule.map("http", |http| {
                        http.seq("paths", |paths| write_paths(paths, view, routes));
                    });
                });
            });
        });
    };
    Object::written("networking.k8s.io/v1", "Ingress", name.to_string(), metadata, spec)
}

fn alb_annotations(view: &View, env: &ir::Environment, ing: &ir::Ingress) -> Yaml {
    let public = view
        .resources
        .network(&ing.network)
        .is_some_and(|n| n.segment(SegmentRole::Ingress).exposure == Exposure::Public);
    let security_group = names::security_group_name(view.project, &env.name, SegmentRole::Ingress);
    map([
        ("alb.ingress.kubernetes.io/scheme", if public { "internet-facing" } else { "internal" }.into()),
        ("alb.ingress.kubernetes.io/target-type", "ip".into()),
        ("alb.ingress.kubernetes.io/listen-ports", r#"[{"HTTPS":443}]"#.into()),
        ("alb.ingress.kubernetes.io/ssl-policy", SSL_POLICY.into()),
        ("alb.ingress.kubernetes.io/security-groups", security_group.into()),
        ("alb.ingress.kubernetes.io/load-balancer-name", names::load_balancer_name(view.project, &env.name).into()),
    ])
}

/// Routes, most specific first: the ALB evaluates paths in the order listed, so `/`
/// before `/api` would swallow every request.
fn write_paths(paths: &mut SeqWriter, view: &View, mut routes: Vec<&ir::Route>) {
    routes.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then_with(|| a.path.cmp(&b.path)));
    for r in routes {
        paths.map(|path| {
            path.str("path", &r.path).str("pathType", "Prefix").map("backend", |backend| {
                backend.map("service", |service| {
                    service.str("name", &r.service).map("port", |port| {
                        match view.service(&r.service).filter(|s| s.port == r.port) {
                            Some(svc) => port.str("name", port_name(svc)),
                            None => port.int("number", r.port.into()),
                        };
                    });
                });
            });
        });
    }
}
