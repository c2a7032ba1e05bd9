//! The environment's single Ingress. Cloud tiers use the AWS Load Balancer Controller
//! (`alb`, IP targets, HTTPS only, the certificate discovered by host, the security group
//! Terraform names `<prefix>-ingress`); `tier = local` uses ingress-nginx with a TLS
//! Secret that the developer's local certificate tool provides.

use super::object::Object;
use super::yaml::{map, Yaml};
use super::{labels, View};
use crate::emit::names;
use crate::ir::{self, Exposure, SegmentRole};

/// The TLS policy the ALB listener negotiates (TLS 1.3 and 1.2 only).
pub const SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/// `<ingress>-tls`: the Secret a local environment's certificate tool must create.
pub fn local_tls_secret(ingress: &str) -> String {
    format!("{ingress}-tls")
}

/// The Ingress of `view`'s environment, if it declares one.
pub fn objects(view: &View) -> Vec<Object> {
    let (Some(env), Some(ing)) = (view.env, view.resources.ingress()) else {
        return Vec::new();
    };
    let mut metadata = vec![("labels", labels(view.project, &ing.name, "ingress"))];
    let mut spec = Vec::new();
    if view.is_local() {
        spec.push(("ingressClassName", Yaml::from("nginx")));
    } else {
        metadata.push(("annotations", alb_annotations(view, env, ing)));
        spec.push(("ingressClassName", Yaml::from("alb")));
    }
    if let Some(host) = &ing.host {
        let mut tls = vec![("hosts".into(), Yaml::from(vec![host.as_str()]))];
        if view.is_local() {
            tls.push(("secretName".into(), local_tls_secret(&ing.name).into()));
        }
        spec.push(("tls", Yaml::Seq(vec![Yaml::Map(tls)])));
    }
    let mut rule = Vec::new();
    if let Some(host) = &ing.host {
        rule.push(("host".into(), Yaml::from(host)));
    }
    rule.push(("http".into(), map([("paths", Yaml::Seq(paths(view, ing)))])));
    spec.push(("rules", Yaml::Seq(vec![Yaml::Map(rule)])));
    let spec = Yaml::Map(spec.into_iter().map(|(k, v)| (k.into(), v)).collect());
    vec![Object::new("networking.k8s.io/v1", "Ingress", &ing.name, metadata, vec![("spec", spec)])]
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
fn paths(view: &View, ing: &ir::Ingress) -> Vec<Yaml> {
    let mut routes: Vec<&ir::Route> = ing.routes.iter().collect();
    routes.sort_by(|a, b| b.path.len().cmp(&a.path.len()).then_with(|| a.path.cmp(&b.path)));
    routes
        .into_iter()
        .map(|r| {
            let named = view.service(&r.service).is_some_and(|s| s.port == r.port);
            let port = if named { map([("name", "http".into())]) } else { map([("number", r.port.into())]) };
            map([
                ("path", (&r.path).into()),
                ("pathType", "Prefix".into()),
                ("backend", map([("service", map([("name", (&r.service).into()), ("port", port)]))])),
            ])
        })
        .collect()
}
