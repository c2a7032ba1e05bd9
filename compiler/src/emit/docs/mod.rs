//! `docs/<env>.md`: the human view of each environment, rendered with a tera
//! template embedded in the binary (`environment.md.tera`): a Mermaid diagram of
//! the topology and flows, tables of services, databases, the ingress, secrets
//! (paths, never values) and egress, the phase and what it authorizes, and the
//! rules proven for the environment.
//!
//! The pages are part of the output tree, hence of the lock and of
//! `govc build --check`: a reviewer reads the human view of a change in the same
//! pull request as the change. GitHub renders the Mermaid block.

use std::collections::BTreeMap;

use foldhash::HashMap;

use serde::Serialize;
use serde_json::{json, Value};

use crate::diag::Code;
use crate::emit::push_all;
use crate::envdiff;
use crate::ir::{self, Connection, EnvValue, Environment, Program, Tier};

const TEMPLATE: &str = include_str!("environment.md.tera");

/// Renders `docs/<env>.md` for every environment.
pub fn emit(program: &Program) -> Result<BTreeMap<String, String>, String> {
    program.environments.iter().map(|env| page(program, env)).collect()
}

/// `docs/<env>.md`: the page of one environment.
pub fn page(program: &Program, env: &Environment) -> Result<(String, String), String> {
    let tera = template()?;
    let context = context(program, env)?;
    let text = tera.render("environment.md", &context).map_err(|e| format!("docs of `{}`: {e:?}", env.name))?;
    Ok((format!("docs/{}.md", env.name), tidy(&text)))
}

/// The page template, parsed once per process (the pages are rendered side by side).
fn template() -> Result<&'static tera::Tera, String> {
    static TERA: std::sync::OnceLock<Result<tera::Tera, String>> = std::sync::OnceLock::new();
    TERA.get_or_init(|| {
        let mut tera = tera::Tera::default();
        tera.add_raw_template("environment.md", TEMPLATE).map_err(|e| format!("the docs template: {e}"))?;
        Ok(tera)
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// One page's text: no trailing spaces, at most one blank line in a row, one final
/// newline (the template's `{% %}` tags leave blank lines behind).
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank < 2 {
            out.push_str(line);
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The ingress; its routes are the rows of their table.
#[derive(Serialize)]
struct IngressView<'a> {
    name: &'a str,
    host: &'a Option<String>,
    tls: &'static str,
    zone: &'a Option<String>,
    load_balancer: Option<String>,
    exposure: &'static str,
    routes: String,
}

/// Appends one row of a Markdown table: `| a | b |` and a newline.
fn push_row(out: &mut String, cells: &[&str]) {
    for cell in cells {
        out.push_str("| ");
        out.push_str(cell);
        out.push(' ');
    }
    out.push_str("|\n");
}

/// The rows of the services table. A fleet has thousands of services: the rows are
/// written here, cell by cell into one string, not looked up by the template.
fn service_rows(services: &[ir::Service]) -> String {
    let mut out = String::with_capacity(services.len() * 96);
    for s in services {
        push_all(&mut out, ["| `", &s.name, "` | "]);
        match &s.image {
            Some(image) => {
                out.push('`');
                push_cell(&mut out, &image.reference);
                out.push('`');
            }
            None => out.push_str("not set yet"),
        }
        out.push_str(" | ");
        crate::emit::push_decimal(&mut out, u64::from(s.port));
        out.push_str(" | ");
        envdiff::push_replicas(&mut out, s.replicas);
        out.push_str(" | ");
        envdiff::push_cpu(&mut out, s.cpu_millis);
        out.push_str(" | ");
        envdiff::push_memory(&mut out, s.memory_bytes);
        out.push_str(" | ");
        if s.connects.is_empty() {
            out.push('—');
        }
        for (i, c) in s.connects.iter().enumerate() {
            let (name, what) = match c {
                Connection::Postgres(d) => (d, "` (postgres)"),
                Connection::Service(t) => (t, "`"),
                Connection::Bucket(b) => (b, "` (bucket)"),
            };
            push_all(&mut out, [if i == 0 { "`" } else { ", `" }, name.as_str(), what]);
        }
        out.push_str(" |\n");
    }
    out
}

/// The rows of the routes table.
fn route_rows(routes: &[ir::Route]) -> String {
    let mut out = String::with_capacity(routes.len() * 48);
    for route in routes {
        let (path, service) = (["`", &cell(&route.path), "`"].concat(), ["`", route.service.as_str(), "`"].concat());
        push_row(&mut out, &[&path, &service, &route.port.to_string()]);
    }
    out
}

/// The template's context. The tables a fleet has thousands of rows in (services, routes)
/// are written here, whole; the rest is built as a JSON value first (tera copies it).
fn context(program: &Program, env: &Environment) -> Result<tera::Context, String> {
    let r = &env.resources;
    let databases: Vec<Value> = r
        .databases
        .iter()
        .map(|d| {
            json!({
                "name": d.name,
                "version": d.version,
                "class": d.class.as_deref().map_or_else(|| "not set yet".to_string(), |c| format!("`{c}`")),
                "storage": format!("{} GiB", d.storage_gib),
                "backups": format!("{} days", d.backup_retention_days),
                "deletion_protection": yes_no(d.deletion_protection),
                "multi_az": yes_no(d.multi_az),
                "replicas": d.replicas,
                "host": if env.tier == Tier::Local { format!("{}.{}.svc.cluster.local", d.name, env.namespace) } else { d.host.clone() },
                "port": d.port,
            })
        })
        .collect();
    let ingress = r.ingress().map(|i| {
        let exposure = r
            .network(&i.network)
            .map(|n| n.segment(ir::SegmentRole::Ingress).exposure)
            .map_or("private", |e| if e == ir::Exposure::Public { "public" } else { "private" });
        IngressView {
            name: &i.name,
            host: &i.host,
            tls: "managed certificate",
            zone: &i.zone,
            load_balancer: (env.tier != Tier::Local)
                .then(|| crate::emit::names::load_balancer_name(&program.project, &env.name)),
            exposure,
            routes: route_rows(&i.routes),
        }
    });
    // The services that read each secret, in their order, each once: one pass over the
    // variables, not one per secret.
    let mut readers: foldhash::HashMap<&str, Vec<&str>> = foldhash::HashMap::default();
    for svc in &r.services {
        for v in &svc.env {
            if let EnvValue::Secret { secret, .. } = &v.value {
                let names = readers.entry(secret.as_str()).or_default();
                if names.last() != Some(&svc.name.as_str()) {
                    names.push(&svc.name);
                }
            }
        }
    }
    let secrets: Vec<Value> = r
        .secrets
        .iter()
        .map(|s| {
            let readers = readers.get(s.name.as_str()).map_or(&[][..], Vec::as_slice);
            json!({ "name": s.name, "path": s.path.as_deref().map(cell), "readers": list(readers.iter().map(|name| format!("`{name}`"))) })
        })
        .collect();
    let egress: Vec<Value> = r
        .services
        .iter()
        .flat_map(|s| s.egress.iter().map(move |e| (s, e)))
        .map(|(s, e)| json!({ "service": s.name, "host": e.host, "port": e.port, "enforcement": egress_enforcement(env, e) }))
        .collect();
    let telemetry = env.telemetry.as_ref().map(|t| {
        let backends: Vec<Value> = t
            .backends()
            .map(|(signal, e)| {
                json!({ "signal": signal, "host": e.host, "port": e.port, "enforcement": egress_enforcement(env, e) })
            })
            .collect();
        json!({
            "name": ir::Telemetry::COLLECTOR,
            "endpoint": crate::emit::kustomize::telemetry::endpoint(env),
            "image": crate::emit::versions::OTEL_COLLECTOR_IMAGE,
            "backends": backends,
        })
    });
    let capabilities = if program.capabilities.is_empty() {
        "nothing yet".to_string()
    } else {
        program.capabilities.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    };
    let rest = json!({
        "project": program.project,
        "env": {
            "name": env.name,
            "doc": env.doc,
            "tier": env.tier.as_str(),
            "stack": env.stack,
            "mirrors": env.mirrors,
            "namespace": env.namespace,
            "local": env.tier == Tier::Local,
            "aws": env.aws.as_ref().map(|a| json!({ "account": a.account, "region": a.region })),
            "state": env.state.as_ref().map(|s| json!({ "bucket": s.bucket, "key": s.key })),
            "ci": env.ci.as_ref().and_then(|c| c.role.as_deref()).map(cell),
        },
        "diagram": diagram(env),
        "databases": databases,
        "secrets": secrets,
        "egress": egress,
        "deploy": deployment(program, env),
        "telemetry": telemetry,
        "phase": program.phase,
        "capabilities": capabilities,
        "rules": rules(env).into_iter().map(|c| json!({ "code": c.as_str(), "title": c.title() })).collect::<Vec<_>>(),
    });
    let mut context = tera::Context::from_value(rest).map_err(|e| e.to_string())?;
    context.insert("services", &service_rows(&r.services));
    context.insert("ingress", &ingress);
    Ok(context)
}

/// What a cloud environment needs before its first apply, and the order of the applies:
/// derived from what the environment holds, so the page never asks for a step the output
/// does not need. `None` for `tier = local` (no Terraform).
fn deployment(program: &Program, env: &Environment) -> Option<Value> {
    if env.tier == Tier::Local {
        return None;
    }
    let r = &env.resources;
    let aws = env.aws.as_ref();
    let region = aws.and_then(|a| a.region.as_deref()).unwrap_or("<region>");
    let tf = format!("terraform -chdir=terraform/{}", env.name);
    let mut by_hand = vec![format!(
        "the AWS account `{}`, and credentials that may apply in it",
        aws.and_then(|a| a.account.as_deref()).unwrap_or("<account>")
    )];
    if let Some(bucket) = env.state.as_ref().and_then(|s| s.bucket.as_deref()) {
        by_hand.push(format!("the S3 bucket `{}` for the Terraform state, with versioning on", cell(bucket)));
    }
    match r.ingress() {
        Some(i) if i.zone.is_some() => by_hand.push(format!(
            "the Route 53 hosted zone `{}`, which holds `{}`",
            i.zone.as_deref().unwrap_or_default(),
            i.host.as_deref().unwrap_or_default()
        )),
        Some(i) => by_hand.push(format!(
            "the DNS records of `{}` (outputs `certificate_validation_records` and `load_balancer`), in its zone",
            i.host.as_deref().unwrap_or("the host")
        )),
        None => {}
    }
    by_hand.push(match env.ci.as_ref().and_then(|c| c.role.as_deref()) {
        Some(role) => format!(
            "the CI role `{}` and a runner that assumes it inside the VPC (the cluster's endpoint is private)",
            cell(role)
        ),
        None => "a runner inside the VPC; no `ci` role is declared, so only the identity that created the cluster (the one that applied Terraform) may use its API".into(),
    });
    let mut steps = vec![format!(
        "`{tf} init && {tf} apply`: the network, the cluster and its add-ons, the roles, the image caches, the databases and the secrets' containers"
    )];
    let stored: Vec<&str> = r.secrets.iter().filter_map(|s| s.path.as_deref()).collect();
    if !stored.is_empty() {
        steps.push(format!(
            "set each secret's value in Secrets Manager ({}), never in a file",
            list(stored.iter().map(|p| format!("`{}`", cell(p))))
        ));
    }
    if crate::emit::registries::upstreams(env).iter().any(|u| u.needs_credentials()) {
        steps.push(format!(
            "set `{}` to a GitHub token that may read public packages (`{{\"username\": ..., \"accessToken\": ...}}`): the image cache of `ghcr.io` pulls with it",
            crate::emit::registries::credentials_secret_name(
                &program.project,
                &env.name,
                crate::emit::registries::Upstream::GitHub
            )
        ));
    }
    steps.push(format!(
        "from the runner: `aws eks update-kubeconfig --region {region} --name {}`",
        crate::emit::names::cluster_name(&program.project, &env.name)
    ));
    if crate::emit::kustomize::platform::has_tree(env) {
        steps.push(format!(
            "`kubectl apply --server-side -k kubernetes/platform/{}`: the cluster's controllers and their CRDs",
            env.name
        ));
    }
    steps.push(format!("`kubectl create namespace {}` (the first time)", env.namespace));
    steps.push(format!(
        "`{tf} output -json security_group_policies | kubectl apply -f -`: each pod's security group, before its pods start"
    ));
    steps.push(format!("`kubectl apply -k kubernetes/overlays/{}`: the application", env.name));
    if r.ingress().is_some_and(|i| i.zone.is_some()) {
        steps.push(format!(
            "`{tf} apply -var load_balancer_ready=true`, once the load balancer exists: the host's alias"
        ));
    }
    Some(json!({ "by_hand": by_hand, "steps": steps }))
}

/// How an egress entry is enforced: the words of `govc graph`, so the two never disagree.
fn egress_enforcement(env: &Environment, egress: &ir::Egress) -> &'static str {
    crate::checks::graph::egress_enforcement(Some(env.tier), &egress.host)
}

/// The governance rules that hold for this environment (a build happens only when
/// every rule holds): each family's rules, less those whose condition cannot apply
/// to it (tier, mirroring).
pub fn rules(env: &Environment) -> Vec<Code> {
    let cloud = env.tier != Tier::Local;
    let production = env.tier == Tier::Production;
    let pinned = matches!(env.tier, Tier::Staging | Tier::Production);
    Code::ALL
        .iter()
        .copied()
        .filter(|code| {
            let s = code.as_str();
            let family = s.as_bytes()[1];
            (b'3'..=b'8').contains(&family)
        })
        .filter(|code| match code {
            Code::E407 | Code::E504 | Code::W801 => cloud,
            Code::E501 => pinned,
            Code::W501 | Code::E601 | Code::E804 => production,
            // The opted-out form of E804: a finding, never a rule that holds.
            Code::W803 => false,
            // Refusals of `govc promote`, not rules that hold for an environment.
            Code::E805 | Code::E806 | Code::E807 => false,
            Code::E801 | Code::E802 => env.mirrors.is_some(),
            Code::E415 => cloud && env.telemetry.is_some(),
            Code::E416 | Code::E418 => env.telemetry.is_some(),
            Code::W607 => env.telemetry.is_none(),
            Code::E417 => env.mirrors.is_some(),
            _ => true,
        })
        .collect()
}

/// A Mermaid flowchart: the ingress, services and databases in their segments, and
/// every flow (routes, connects, egress) as a labelled edge.
fn diagram(env: &Environment) -> String {
    let r = &env.resources;
    // A fleet's diagram has a few lines per service: written piece by piece.
    let mut out = String::with_capacity(64 + r.services.len() * 160);
    out.push_str("flowchart LR\n");
    let exposure =
        r.ingress().and_then(|i| r.network(&i.network)).map(|n| n.segment(ir::SegmentRole::Ingress).exposure);
    if let Some(i) = r.ingress() {
        let clients = if exposure == Some(ir::Exposure::Public) { "internet" } else { "private clients" };
        push_all(
            &mut out,
            ["  clients((\"", clients, "\"))\n", "  subgraph ingress_segment[\"ingress segment\"]\n    "],
        );
        push_id(&mut out, "ing", &i.name);
        push_all(&mut out, ["[\"ingress ", &i.name]);
        if let Some(host) = i.host.as_deref() {
            out.push_str("<br/>");
            push_label(&mut out, host);
        }
        out.push_str("\"]\n  end\n");
    }
    if !r.services.is_empty() {
        out.push_str("  subgraph runtime_segment[\"runtime segment\"]\n");
        for s in &r.services {
            out.push_str("    ");
            push_id(&mut out, "svc", &s.name);
            push_all(&mut out, ["[\"service ", &s.name, "<br/>:"]);
            crate::emit::push_decimal(&mut out, u64::from(s.port));
            out.push_str("\"]\n");
        }
        out.push_str("  end\n");
    }
    if !r.databases.is_empty() {
        out.push_str("  subgraph persistence_segment[\"persistence segment\"]\n");
        for d in &r.databases {
            out.push_str("    ");
            push_id(&mut out, "db", &d.name);
            push_all(&mut out, ["[(\"postgres ", &d.name, "\")]\n"]);
        }
        out.push_str("  end\n");
    }
    if !r.buckets.is_empty() {
        out.push_str("  subgraph storage[\"S3 (VPC gateway endpoint)\"]\n");
        for b in &r.buckets {
            out.push_str("    ");
            push_id(&mut out, "s3", &b.name);
            push_all(&mut out, ["[(\"bucket ", &b.name, "\")]\n"]);
        }
        out.push_str("  end\n");
    }
    if let Some(i) = r.ingress() {
        out.push_str("  clients -- \"https\" --> ");
        push_id(&mut out, "ing", &i.name);
        out.push('\n');
        for rt in &i.routes {
            out.push_str("  ");
            push_id(&mut out, "ing", &i.name);
            out.push_str(" -- \"");
            push_label(&mut out, &rt.path);
            out.push_str(" :");
            crate::emit::push_decimal(&mut out, u64::from(rt.port));
            out.push_str("\" --> ");
            push_id(&mut out, "svc", &rt.service);
            out.push('\n');
        }
    }
    let mut destinations: Vec<&str> = Vec::new();
    // Service ports by name (the first of a name, like `Resources::service`), looked up
    // once per connection.
    let ports: HashMap<&str, u16> = r.services.iter().rev().map(|s| (s.name.as_str(), s.port)).collect();
    for s in &r.services {
        for c in &s.connects {
            let (port, kind, to) = match c {
                Connection::Postgres(d) => (r.database(d).map_or(5432, |db| db.port), "db", d),
                Connection::Service(t) => (ports.get(t.as_str()).copied().unwrap_or(0), "svc", t),
                Connection::Bucket(b) => (443, "s3", b),
            };
            out.push_str("  ");
            push_id(&mut out, "svc", &s.name);
            out.push_str(" -- \":");
            crate::emit::push_decimal(&mut out, u64::from(port));
            out.push_str("\" --> ");
            push_id(&mut out, kind, to);
            out.push('\n');
        }
        for e in &s.egress {
            let n = match destinations.iter().position(|d| *d == e.host) {
                Some(n) => n,
                None => {
                    destinations.push(&e.host);
                    out.push_str("  ext_");
                    crate::emit::push_decimal(&mut out, (destinations.len() - 1) as u64);
                    out.push_str("([\"");
                    push_label(&mut out, &e.host);
                    out.push_str("\"])\n");
                    destinations.len() - 1
                }
            };
            out.push_str("  ");
            push_id(&mut out, "svc", &s.name);
            out.push_str(" -. \"egress :");
            crate::emit::push_decimal(&mut out, u64::from(e.port));
            out.push_str("\" .-> ext_");
            crate::emit::push_decimal(&mut out, n as u64);
            out.push('\n');
        }
    }
    out
}

/// Appends the Mermaid node id `<kind>_<name>`, the name's `-` made `_`.
fn push_id(out: &mut String, kind: &str, name: &str) {
    out.push_str(kind);
    out.push('_');
    for (i, part) in name.split('-').enumerate() {
        if i > 0 {
            out.push('_');
        }
        out.push_str(part);
    }
}

/// Appends `text` as the text of a Mermaid label: quotes and angle brackets as entities.
fn push_label(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['"', '<', '>']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'"' => "#quot;",
            b'<' => "#lt;",
            _ => "#gt;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// Text inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// Appends [`cell`] of `text`.
fn push_cell(out: &mut String, text: &str) {
    for (i, part) in text.split('|').enumerate() {
        if i > 0 {
            out.push_str("\\|");
        }
        out.push_str(part);
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `a, b` or `—` when empty.
fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        "—".to_string()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{compile, Options, Sources};

    /// A Mermaid label's text, by its definition.
    fn label(text: &str) -> String {
        text.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;")
    }

    proptest::proptest! {
        /// A label appended is the label made whole, entities for quotes and brackets.
        #[test]
        fn a_label_is_appended_as_it_is_made(text in "[a-z\"<>#; -]{0,12}") {
            let mut out = String::from("[");
            push_label(&mut out, &text);
            proptest::prop_assert_eq!(out, format!("[{}", label(&text)));
        }

        /// A cell appended is the cell made whole, pipes escaped.
        #[test]
        fn a_cell_is_appended_as_it_is_made(text in "[a-z|`\\\\ ]{0,12}") {
            let mut out = String::from("| ");
            push_cell(&mut out, &text);
            proptest::prop_assert_eq!(out, format!("| {}", cell(&text)));
        }
    }

    fn build(dir: &str) -> BTreeMap<String, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir);
        let mut sources = Sources::with_stdlib();
        for (path, text) in crate::emit::flow_tests::project(&root) {
            sources.add(path, text);
        }
        let c = compile(&sources, &Options { emit: true });
        assert!(c.diagnostics.iter().all(|d| !d.is_error()), "{:#?}", c.diagnostics);
        emit(c.program.as_ref().expect("a program")).expect("docs render")
    }

    #[test]
    fn the_reference_system_documents_each_environment() {
        let docs = build("envs");
        assert_eq!(docs.keys().collect::<Vec<_>>(), ["docs/local.md", "docs/production.md", "docs/staging.md"]);
        insta::assert_snapshot!("production", docs["docs/production.md"]);
        insta::assert_snapshot!("local", docs["docs/local.md"]);
    }

    #[test]
    fn pages_hold_paths_never_values_and_every_flow() {
        let docs = build("envs");
        let page = &docs["docs/production.md"];
        assert!(page.contains("| `stripe-key` | `zenthea/production/stripe-key` | `worker` |"), "{page}");
        assert!(page.contains("svc_worker -. \"egress :443\" .-> ext_0"), "{page}");
        assert!(page.contains("ing_edge -- \"/api :8080\" --> svc_api"), "{page}");
        assert!(page.contains("svc_api -- \":5432\" --> db_main"), "{page}");
        assert!(page.contains("| E601 |"), "production proves E601");
        assert!(!docs["docs/local.md"].contains("| E601 |"), "E601 does not apply to a local environment");
        assert!(!page.contains("\n\n\n"), "at most one blank line in a row");
        for (path, text) in &docs {
            assert!(text.ends_with("|\n") || text.ends_with(".\n"), "{path} ends cleanly");
        }
    }

    /// The deploy steps name only trees and roots the build writes, the platform tree
    /// before the overlay, and no step for what the environment lacks.
    #[test]
    fn deploy_steps_name_what_the_output_holds_in_order() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let envs = crate::emit::flow_tests::project(&root.join("envs"));
        let (program, _) = crate::emit::flow_tests::compile(envs).expect("envs/ builds");
        let mut files = crate::emit::kustomize::emit(&program).expect("kustomize");
        files.extend(crate::emit::terraform::emit(&program).expect("terraform"));
        let docs = emit(&program).expect("docs");
        assert!(!docs["docs/local.md"].contains("## Deploying"), "no Terraform in a local environment");
        for env in program.environments.iter().filter(|e| e.tier != Tier::Local) {
            let page = &docs[&format!("docs/{}.md", env.name)];
            let section = page.split("## Deploying").nth(1).expect("a deploy section");
            let section = section.split("\n## ").next().expect("section");
            let mut trees = Vec::new();
            for dir in section.split(" -k ").skip(1).map(|t| t.split('`').next().expect("path")) {
                assert!(
                    files.keys().any(|p| p.starts_with(&format!("{dir}/"))),
                    "{}: {dir} is not in the output",
                    env.name
                );
                trees.push(dir.to_string());
            }
            assert_eq!(
                trees,
                [format!("kubernetes/platform/{}", env.name), format!("kubernetes/overlays/{}", env.name)],
                "the platform before the application"
            );
            assert!(files.contains_key(&format!("terraform/{}/backend.tf.json", env.name)));
            assert!(
                section.contains("ecr-pullthroughcache/"),
                "envs/ has secrets: the operator's image needs the token"
            );
        }
        // Without secrets or an ingress, no platform tree and no token step.
        let mut bare = program.clone();
        for env in &mut bare.environments {
            env.resources.secrets.clear();
            env.resources.ingresses.clear();
        }
        let docs = emit(&bare).expect("docs");
        let page = &docs["docs/production.md"];
        assert!(!page.contains("kubernetes/platform/") && !page.contains("ecr-pullthroughcache/"), "{page}");
        assert!(!page.contains("load_balancer_ready"), "{page}");
    }

    #[test]
    fn labels_and_cells_escape_what_would_break_them() {
        assert_eq!(label("a\"<b>"), "a#quot;#lt;b#gt;");
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(tidy("a  \n\n\n\nb\n\n"), "a\n\nb\n");
    }
}
