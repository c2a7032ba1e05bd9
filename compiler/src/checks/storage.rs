//! Object stores (E605–E607, W605, W606): evidence in production is kept in
//! compliance-mode Object Lock with a retention window, a mirror never holds weaker
//! WORM guarantees than the environment it rehearses, and every bucket's S3 name is
//! valid. A bucket is never public: no field can say so (the stdlib has none), and a
//! route to one is E403 ([`super::network`]).

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::emit::names;
use crate::ir::Tier;
use crate::model::schema::Capability;
use crate::model::values::Val;
use crate::model::{bucket_account, report_once, Environment, Model, Resource};
use crate::source::Span;

pub fn run(model: &Model, sink: &mut Diagnostics) {
    // A bucket the phase does not authorize is already refused (E701).
    if !super::authorized(model, Capability::Storage) {
        return;
    }
    let project = model.project.as_ref().map(|p| p.name.as_str()).unwrap_or_default();
    let mut per_env = Vec::new();
    for env in &model.environments {
        let mut local = Diagnostics::new();
        for (_, bucket) in env.of_kind("bucket") {
            match env.tier {
                Some(Tier::Production) => evidence_in_production(env, bucket, &mut local),
                Some(Tier::Dev | Tier::Staging) => evidence_unlocked(env, bucket, &mut local),
                // A laptop's MinIO: retention would only get in the developer's way.
                Some(Tier::Local) | None => {}
            }
            lifecycle_under_retention(bucket, &mut local);
        }
        per_env.push((env.name.clone(), env.span, local));
    }
    report_once(per_env, sink);
    for env in &model.environments {
        for (_, bucket) in env.of_kind("bucket") {
            bucket_name(project, env, bucket, sink);
        }
        if let Some(target) = env.mirrors {
            weaker_than_mirrored(env, &model.environments[target], sink);
        }
    }
}

/// What a bucket's WORM settings are, as written (an invalid value reads as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Worm {
    evidence: Option<bool>,
    /// `None`: no `lock` block.
    lock: Option<LockSettings>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LockSettings {
    /// `Some(true)`: compliance; `Some(false)`: governance (written or the default);
    /// `None`: invalid.
    compliance: Option<bool>,
    /// Days; `None` when not written or invalid.
    retention: Option<u64>,
    retention_invalid: bool,
}

fn worm(bucket: &Resource) -> Worm {
    let evidence = match bucket.body.value("evidence") {
        Some(Val::Bool(b)) => Some(*b),
        None => Some(false),
        _ => None,
    };
    let lock = bucket.body.block("lock").map(|b| LockSettings {
        compliance: match b.body.value("mode") {
            Some(Val::Enum(m)) => Some(m == "compliance"),
            None => Some(false),
            _ => None,
        },
        retention: match b.body.value("retention") {
            Some(Val::Seconds(s)) => Some(s / 86_400),
            _ => None,
        },
        retention_invalid: matches!(b.body.value("retention"), Some(Val::Invalid)),
    });
    Worm { evidence, lock }
}

/// The span of `lock.<field>`'s value, else of the `lock` block's head, else the bucket's.
fn lock_span(bucket: &Resource, field: &str) -> Span {
    match bucket.body.block("lock") {
        Some(b) => b.body.field(field).map_or(b.head, |f| f.value_span),
        None => bucket.head(),
    }
}

/// E605: an evidence bucket in a production-tier environment without compliance-mode
/// Object Lock and a default retention window (seed 002, section 3).
fn evidence_in_production(env: &Environment, bucket: &Resource, sink: &mut Diagnostics) {
    let w = worm(bucket);
    if w.evidence != Some(true) {
        return;
    }
    let problem = |span: Span, what: &str, label: &str| {
        Diagnostic::new(
            Code::E605,
            span,
            format!("evidence bucket `{}` in production environment `{}` {what}", bucket.name, env.name),
            label.to_string(),
        )
        .with_note("evidence must be immutable for its retention window: only compliance-mode Object Lock guarantees it (seed 002, section 3)")
    };
    let Some(lock) = w.lock else {
        sink.push(
            problem(bucket.head(), "has no Object Lock", "no `lock`")
                .with_help("add `lock { mode = compliance  retention = 365d }` (the retention your evidence needs)"),
        );
        return;
    };
    if lock.compliance == Some(false) {
        sink.push(
            problem(lock_span(bucket, "mode"), "is locked in `governance` mode", "not `compliance`")
                .with_help("set `mode = compliance`: governance retention can be bypassed"),
        );
    }
    if lock.retention.is_none() && !lock.retention_invalid {
        sink.push(
            problem(lock_span(bucket, "retention"), "has no default retention window", "no `retention`")
                .with_help("add `retention = 365d` (whole days) to `lock`"),
        );
    }
}

/// W605: an evidence bucket without `lock` in a dev or staging environment: Object Lock is enabled at
/// creation, but nothing is retained by default, so the environment rehearses nothing.
fn evidence_unlocked(env: &Environment, bucket: &Resource, sink: &mut Diagnostics) {
    let w = worm(bucket);
    if w.evidence == Some(true) && w.lock.is_none() {
        sink.push(
            Diagnostic::new(
                Code::W605,
                bucket.head(),
                format!("evidence bucket `{}` in environment `{}` has no `lock`", bucket.name, env.name),
                "no default retention",
            )
            .with_note("Object Lock is enabled at creation, but no object version is retained unless a writer asks")
            .with_help(
                "add `lock { mode = governance  retention = 1d }` (or the production settings) to rehearse retention",
            ),
        );
    }
}

/// W606: `lifecycle.noncurrent` shorter than `lock.retention`: locked versions cannot
/// expire before their retention ends, so the rule deletes less than it says.
fn lifecycle_under_retention(bucket: &Resource, sink: &mut Diagnostics) {
    let Some(retention) = worm(bucket).lock.and_then(|l| l.retention) else { return };
    let Some(field) = bucket.body.block("lifecycle").and_then(|b| b.body.field("noncurrent")) else { return };
    let Val::Seconds(s) = field.value else { return };
    let noncurrent = s / 86_400;
    if noncurrent < retention {
        sink.push(
            Diagnostic::new(
                Code::W606,
                field.value_span,
                format!(
                    "bucket `{}` expires noncurrent versions after {noncurrent} days, but locks them for {retention}",
                    bucket.name
                ),
                "shorter than the lock's retention",
            )
            .with_note("S3 never deletes a locked version: it expires only once its retention has passed")
            .with_help(format!("set `noncurrent = {retention}d` or more, or remove it")),
        );
    }
}

/// E606: a mirror whose bucket is weaker than the mirrored environment's: not evidence,
/// no lock, governance instead of compliance, or a shorter retention.
fn weaker_than_mirrored(env: &Environment, target: &Environment, sink: &mut Diagnostics) {
    for (_, mine) in env.of_kind("bucket") {
        let Some((_, theirs)) = target.resource(&mine.name).filter(|(_, r)| r.kind == "bucket") else { continue };
        let (a, b) = (worm(mine), worm(theirs));
        let mut problems: Vec<(Span, String, String)> = Vec::new();
        if b.evidence == Some(true) && a.evidence == Some(false) {
            let span = mine.body.field("evidence").map_or(mine.head(), |f| f.value_span);
            problems.push((span, "is not marked evidence".into(), "set `evidence = true`".into()));
        }
        if let Some(their_lock) = b.lock {
            match a.lock {
                None => problems.push((
                    mine.head(),
                    "has no `lock`".into(),
                    format!("add the `lock` of `{}` (or a stricter one)", target.name),
                )),
                Some(my_lock) => {
                    if their_lock.compliance == Some(true) && my_lock.compliance == Some(false) {
                        problems.push((
                            lock_span(mine, "mode"),
                            "is locked in `governance` mode, where the mirrored one is `compliance`".into(),
                            "set `mode = compliance`".into(),
                        ));
                    }
                    if let Some(t) = their_lock.retention {
                        match my_lock.retention {
                            Some(m) if m < t => problems.push((
                                lock_span(mine, "retention"),
                                format!("retains for {m} days, the mirrored one for {t}"),
                                format!("set `retention = {t}d` or more"),
                            )),
                            None if !my_lock.retention_invalid => problems.push((
                                lock_span(mine, "retention"),
                                format!("has no retention, the mirrored one {t} days"),
                                format!("add `retention = {t}d` to `lock`"),
                            )),
                            _ => {}
                        }
                    }
                }
            }
        }
        for (span, what, fix) in problems {
            sink.push(
                Diagnostic::new(
                    Code::E606,
                    span,
                    format!(
                        "bucket `{}` in `{}` {what}: `{}` mirrors `{}`",
                        mine.name, env.name, env.name, target.name
                    ),
                    "weaker than the mirrored bucket",
                )
                .with_label(theirs.head(), format!("the bucket in `{}`", target.name))
                .with_note(
                    "a mirror rehearses the other environment: its WORM guarantees may be stricter, never weaker",
                )
                .with_help(fix),
            );
        }
    }
}

/// E607: the bucket's S3 name (`<project>-<env>-<bucket>[-<account>]`) is not valid, most
/// often too long. A cloud environment without an account yet is measured with 12 digits.
fn bucket_name(project: &str, env: &Environment, bucket: &Resource, sink: &mut Diagnostics) {
    let cloud = env.tier.is_some_and(|t| t != Tier::Local);
    let account = bucket_account(env).map(str::to_string).or_else(|| cloud.then(|| "0".repeat(12)));
    let name = names::bucket_name(project, &env.name, &bucket.name, account.as_deref());
    let Some(why) = names::bucket_name_problem(&name) else { return };
    let span = if env.owns(bucket.head()) { bucket.head() } else { env.head_span };
    let mut d = Diagnostic::new(
        Code::E607,
        span,
        format!("bucket `{}` of environment `{}` has no valid S3 name: {why}", bucket.name, env.name),
        "S3 name",
    )
    .with_note(format!(
        "its S3 name would be `{name}` (`<project>-<env>-<bucket>{}`)",
        if cloud { "-<account>" } else { "" }
    ));
    if span != bucket.head() {
        d = d.with_label(bucket.head(), "the bucket");
    }
    sink.push(d.with_help("shorten the bucket's name (or the environment's, or the project's)"));
}
