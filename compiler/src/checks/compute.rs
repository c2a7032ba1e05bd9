//! Compute (E501, E504, W501): pinned images where it matters, one artifact
//! repository per service across cloud environments, production redundancy.

use std::borrow::Cow;

use foldhash::HashMap;

use super::authorized;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::image;
use crate::model::schema::Capability;
use crate::model::values::Val;
use crate::model::{report_once, Model};
use crate::source::Span;

pub fn run(model: &Model, sink: &mut Diagnostics) {
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        let pinned_tier = matches!(env.tier, Some(Tier::Staging | Tier::Production));
        for (_, svc) in env.of_kind("service") {
            if pinned_tier {
                unpinned_image(&env.name, svc, &mut local);
            }
            if env.tier == Some(Tier::Production) && authorized(model, Capability::Sizing) {
                single_replica(&env.name, svc, &mut local);
            }
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
    repository_drift(model, sink);
}

/// E501: an image not pinned by digest in a staging or production environment.
fn unpinned_image(env: &str, svc: &crate::model::Resource, sink: &mut Diagnostics) {
    let Some(f) = svc.body.field("image") else { return };
    let Val::Str(reference) = &f.value else { return };
    let (name, _, digest) = image::split(reference);
    if digest.is_some_and(image::is_sha256_digest) {
        return;
    }
    let why = match digest {
        Some(_) => "the digest is not `sha256:` and 64 lowercase hex digits",
        None => "no `@sha256:` digest",
    };
    sink.push(
        Diagnostic::new(
            Code::E501,
            f.value_span,
            format!("image of service `{}` is not pinned by digest in environment `{env}`", svc.name),
            why,
        )
        .with_note("a tag can be moved; only a digest names one immutable artifact")
        .with_help(format!("write `\"{}@sha256:<64 hex digits>\"`", name)),
    );
}

/// W501: a production service with fewer than 2 minimum replicas.
fn single_replica(env: &str, svc: &crate::model::Resource, sink: &mut Diagnostics) {
    let (min, span) = match svc.body.field("replicas") {
        Some(f) => match f.value {
            Val::Range(min, _) => (min, f.value_span),
            _ => return,
        },
        None => (1, svc.head()),
    };
    if min < 2 {
        sink.push(
            Diagnostic::new(
                Code::W501,
                span,
                format!("service `{}` runs {min} replica at minimum in production environment `{env}`", svc.name),
                "fewer than 2",
            )
            .with_note("a single replica makes every deploy and node failure an outage")
            .with_help("set `replicas = 2..N` (or more) in the production environment"),
        );
    }
}

/// Where a service's image names a repository: `(environment, repository, span)`.
type RepositoryUse<'a> = (&'a str, Cow<'a, str>, Span);

/// E504: across cloud environments, a service uses different image repositories.
fn repository_drift(model: &Model, sink: &mut Diagnostics) {
    // Services in the order they are first met (the diagnostics are sorted at the end):
    // a hash map finds each, where a fleet's ordered map compared thousands of names.
    let mut index: HashMap<&str, usize> = HashMap::default();
    let mut by_service: Vec<(&str, Vec<RepositoryUse>)> = Vec::new();
    for env in model.environments.iter().filter(|e| e.tier.is_some_and(|t| t != Tier::Local)) {
        for (_, svc) in env.of_kind("service") {
            let Some(f) = svc.body.field("image") else { continue };
            let Val::Str(reference) = &f.value else { continue };
            let at = *index.entry(&svc.name).or_insert_with(|| {
                by_service.push((&svc.name, Vec::new()));
                by_service.len() - 1
            });
            by_service[at].1.push((&env.name, image::repository(reference), f.value_span));
        }
    }
    for (service, uses) in by_service {
        let (first_env, first_repo, first_span) = &uses[0];
        let mut reported = Vec::new();
        for (env, repo, span) in &uses[1..] {
            if repo != first_repo && !reported.contains(repo) {
                reported.push(repo.clone());
                sink.push(
                    Diagnostic::new(
                        Code::E504,
                        *span,
                        format!("service `{service}` uses image repository `{repo}` in `{env}` but `{first_repo}` in `{first_env}`"),
                        "another repository",
                    )
                    .with_label(*first_span, format!("the repository in `{first_env}`"))
                    .with_note("one artifact is promoted through every environment unchanged; only its tag or digest may differ")
                    .with_help(format!("use `{first_repo}` in every environment")),
                );
            }
        }
    }
}
