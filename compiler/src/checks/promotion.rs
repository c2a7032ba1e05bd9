//! Promotion (E804, W803): a production-tier environment runs only artifacts that
//! an earlier environment in the promotion order also runs — the same repository
//! at the same digest (seed 002: the same artifact across environments; seeds 000
//! and 003: promotion is explicit and in order). A project that sets
//! `immutable_promotion = false` gets the warning instead of the error.
//!
//! Quiet where another rule already describes the mistake, or nothing can be
//! promoted: a production environment that no environment precedes (E803 governs
//! the order), a service whose earlier image has another repository (E504), or one
//! that an earlier staging or production environment runs unpinned (E501).

use std::borrow::Cow;

use foldhash::{HashMap, HashSet};

use super::authorized;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::image;
use crate::model::schema::Capability;
use crate::model::values::Val;
use crate::model::{report_once, Environment, Model};

pub fn run(model: &Model, sink: &mut Diagnostics) {
    if !authorized(model, Capability::Provider) {
        return; // images are not written yet
    }
    let Some(project) = &model.project else { return };
    let Some((order, _)) = &project.environments else { return };
    let code = match project.immutable_promotion {
        Some((false, _)) => Code::W803,
        _ => Code::E804,
    };
    let mut earlier = Earlier::default();
    let mut per_env = Vec::new();
    for name in order {
        let Some(env) = model.environment(&name.name) else { continue };
        if env.tier == Some(Tier::Production) && !earlier.names.is_empty() {
            let mut local = Diagnostics::new();
            unpromoted_artifacts(env, &earlier, code, &mut local);
            per_env.push((env.name.clone(), env.span, local));
        }
        earlier.add(env);
    }
    report_once(per_env, sink);
}

/// What the environments before a production one run. Only looked up, never
/// walked: hash sets (a fleet's production has thousands of services).
#[derive(Default)]
struct Earlier<'a> {
    names: Vec<&'a str>,
    /// Pinned artifacts: `(repository, digest)`.
    artifacts: HashSet<(Cow<'a, str>, &'a str)>,
    /// The repositories of each service's images outside `tier = local`, pinned or
    /// not (what E504 compares).
    repositories: HashMap<&'a str, Vec<Cow<'a, str>>>,
    /// `(service, repository)` run unpinned where pinning is required (E501).
    unpinned: HashSet<(&'a str, Cow<'a, str>)>,
}

impl<'a> Earlier<'a> {
    fn add(&mut self, env: &'a Environment) {
        self.names.push(&env.name);
        let must_pin = matches!(env.tier, Some(Tier::Staging | Tier::Production));
        for (_, svc) in env.of_kind("service") {
            let Some(Val::Str(reference)) = svc.body.field("image").map(|f| &f.value) else { continue };
            let (name, _, digest) = image::split(reference);
            let repository = image::canonical_repository(name);
            if env.tier != Some(Tier::Local) {
                let known = self.repositories.entry(&svc.name).or_default();
                if !known.contains(&repository) {
                    known.push(repository.clone());
                }
            }
            match digest.filter(|d| image::is_sha256_digest(d)) {
                Some(digest) => {
                    self.artifacts.insert((repository, digest));
                }
                None if must_pin => {
                    self.unpinned.insert((&svc.name, repository));
                }
                None => {}
            }
        }
    }

    /// Whether an earlier environment's image of `service` has another repository.
    fn other_repository(&self, service: &str, repository: &str) -> bool {
        self.repositories.get(service).is_some_and(|known| known.iter().any(|r| r != repository))
    }
}

/// E804/W803: a production service whose pinned image no earlier environment runs.
fn unpromoted_artifacts(env: &Environment, earlier: &Earlier, code: Code, sink: &mut Diagnostics) {
    for (_, svc) in env.of_kind("service") {
        let Some(f) = svc.body.field("image") else { continue };
        let Val::Str(reference) = &f.value else { continue };
        let (name, _, digest) = image::split(reference);
        let Some(digest) = digest.filter(|d| image::is_sha256_digest(d)) else { continue };
        let repository = image::canonical_repository(name);
        if earlier.artifacts.contains(&(repository.clone(), digest))
            || earlier.other_repository(&svc.name, &repository)
            || earlier.unpinned.contains(&(svc.name.as_str(), repository.clone()))
        {
            continue;
        }
        let short = &digest[..digest.len().min("sha256:".len() + 12)];
        let names: Vec<String> = earlier.names.iter().map(|n| format!("`{n}`")).collect();
        let before = format!("environments before it in the promotion order: {}", names.join(", "));
        let mut d = Diagnostic::new(
            code,
            f.value_span,
            format!("service `{}` runs `{}@{short}…` in production, but no earlier environment runs it", svc.name, repository),
            "an artifact that was never promoted",
        )
        .with_note(before)
        .with_note("production runs only what an earlier environment in the promotion order has run: the same repository at the same digest");
        d = if code == Code::E804 {
            d.with_help("run this digest in an earlier environment first (for example staging), or promote the digest that environment runs")
        } else {
            d.with_help("the project opted out with `immutable_promotion = false`; remove that to make this an error")
        };
        sink.push(d);
    }
}
