//! Kubernetes Kustomize trees: `kubernetes/base/` from the stack and one overlay per environment.
//!
//! Every object is built twice from the same functions: once from the stack's own view
//! (the base) and once from the environment's merged view. The overlay then holds only
//! the difference: objects the environment adds, JSON patches for objects that differ,
//! delete patches for base objects it does not have, and the `images:` pins. Objects
//! that are environment-specific by nature (Namespace, Ingress, ExternalSecrets,
//! policies that name CIDRs, in-cluster Postgres) only ever appear in overlays.
//! See `README.md` beside this file for the contract with the Terraform side.

mod bootstrap;
pub(crate) mod cluster;
mod ingress;
mod netpol;
pub(crate) mod object;
mod overlay;
mod patch;
pub mod platform;
pub(crate) mod postgres;
pub(crate) mod service;
pub(crate) mod storage;
pub(crate) mod telemetry;
/// The small YAML writer, public so other emitters and tests can reuse it.
pub mod yaml;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod platform_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;

use foldhash::HashMap;

use crate::emit::out::{self, Files};
use crate::ir;
use object::Object;
use yaml::Yaml;

/// Name of the `ClusterSecretStore` that cloud tiers read secrets from (AWS Secrets Manager).
pub const CLOUD_SECRET_STORE: &str = "aws-secrets-manager";
/// Name of the `ClusterSecretStore` the developer provides for `tier = local`.
pub const LOCAL_SECRET_STORE: &str = "local";

/// What the object builders read: one resource view plus, for an overlay, its environment.
pub(crate) struct View<'a> {
    /// The project name (part of labels and names).
    pub project: &'a str,
    /// `None` for a base (the stack's own view).
    pub env: Option<&'a ir::Environment>,
    /// The resources: the stack's own, or the environment's merged ones.
    pub resources: &'a ir::Resources,
    /// Services and databases by name: fleets have thousands, looked up once per flow/route.
    services: HashMap<&'a str, &'a ir::Service>,
    databases: HashMap<&'a str, &'a ir::Postgres>,
    /// Secrets by name: a service may read hundreds.
    secrets: HashMap<&'a str, &'a ir::Secret>,
}

impl<'a> View<'a> {
    /// The view of `resources`, for the base (`env` = `None`) or an environment.
    pub fn new(project: &'a str, env: Option<&'a ir::Environment>, resources: &'a ir::Resources) -> View<'a> {
        // Reversed, so the first of a name wins, like `ir::Resources::service`.
        let services = resources.services.iter().rev().map(|s| (s.name.as_str(), s)).collect();
        let databases = resources.databases.iter().rev().map(|d| (d.name.as_str(), d)).collect();
        let secrets = resources.secrets.iter().rev().map(|s| (s.name.as_str(), s)).collect();
        View { project, env, resources, services, databases, secrets }
    }

    /// True for an environment of `tier = local`.
    pub fn is_local(&self) -> bool {
        self.env.is_some_and(|e| e.tier == ir::Tier::Local)
    }

    /// The service named `name` (first of that name, like `ir::Resources::service`).
    pub fn service(&self, name: &str) -> Option<&'a ir::Service> {
        self.services.get(name).copied()
    }

    /// The postgres named `name`.
    pub fn database(&self, name: &str) -> Option<&'a ir::Postgres> {
        self.databases.get(name).copied()
    }

    /// The secret named `name` (the first of that name).
    pub fn secret(&self, name: &str) -> Option<&'a ir::Secret> {
        self.secrets.get(name).copied()
    }
}

/// Renders `kubernetes/base/**`, `kubernetes/overlays/<env>/**` and the platform tree.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, String> {
    let (bases, base_files) = bases_and_files(program)?;
    let mut files: BTreeMap<String, String> = base_files.into_iter().collect();
    // Each overlay reads only its environment and its base: they are built side by side.
    for overlay in crate::par::map(&program.environments, |env| overlay_files(program, env, &bases)) {
        files.extend(overlay?);
    }
    files.extend(platform::emit(program));
    Ok(files)
}

/// The base objects of every stack, built once and read by every overlay.
pub struct Bases<'p> {
    stacks: BTreeMap<&'p str, Base<'p>>,
}

/// One stack's base: its directory, its objects in the order of [`objects`], and its
/// services by name. The objects a service's inputs build (its ServiceAccount, ConfigMap
/// and Deployment, most of a fleet's base) are written to the base's files as they are
/// built and kept without their text: an overlay whose inputs do not tell a patch
/// ([`service::Inputs::diff`]) builds the base's object again ([`Base::object`]).
struct Base<'p> {
    dir: String,
    objects: Vec<Object>,
    services: HashMap<&'p str, BaseService<'p>>,
    /// The objects kept without their text, by index: the service whose inputs build
    /// each, and which of its objects it is.
    built: HashMap<usize, (&'p str, service::Built)>,
}

impl Base<'_> {
    /// Object `i`, whole: built again from its service's inputs when it was kept without
    /// its text (an object is kept so only when its service's inputs are: [`base`]).
    fn object(&self, i: usize) -> Cow<'_, Object> {
        match self.built.get(&i).and_then(|&(svc, kind)| Some((self.services.get(svc)?, kind))) {
            Some((service, kind)) => Cow::Owned(service.inputs.build(kind)),
            None => Cow::Borrowed(&self.objects[i]),
        }
    }
}

/// A service of a base: its [`service::Inputs`], and where each object built from them
/// stands among the base's objects (by [`service::Built::index`]).
struct BaseService<'p> {
    inputs: service::Inputs<'p>,
    at: [Option<usize>; 3],
}

/// The bases of every stack (`kubernetes/base`, or `kubernetes/base/<stack>` when there
/// are several stacks): their files are written into `files` as their objects are built.
pub fn bases<'p>(program: &'p ir::Program, files: &mut dyn Files) -> Result<Bases<'p>, String> {
    let several = program.stacks.len() > 1;
    let mut stacks = BTreeMap::new();
    for stack in &program.stacks {
        let dir = if several { format!("kubernetes/base/{}", stack.name) } else { "kubernetes/base".to_string() };
        let view = View::new(&program.project, None, &stack.resources);
        stacks.insert(stack.name.as_str(), base(&view, dir, files)?);
    }
    Ok(Bases { stacks })
}

/// [`bases`], and the files they wrote: `(path, text)`.
pub fn bases_and_files(program: &ir::Program) -> Result<(Bases<'_>, Vec<(String, String)>), String> {
    let mut built = None;
    let files = out::collect(|files| {
        built = Some(bases(program, files)?);
        Ok(())
    })?;
    Ok((built.ok_or("the bases were not built")?, files))
}

/// The base of `view` (a stack's), its files written under `dir` into `files`: one per
/// kind, its objects in the order of [`objects`], and a `kustomization.yaml`.
fn base<'a>(view: &View<'a>, dir: String, files: &mut dyn Files) -> Result<Base<'a>, String> {
    let mut by_kind = object::ByKind::new(dir.clone());
    let mut objects = Vec::with_capacity(view.resources.services.len() * 8 + 8);
    let mut services = HashMap::default();
    let mut built = HashMap::default();
    each_object(view, &mut |chunk| {
        match chunk {
            Chunk::Objects(chunk) => {
                for obj in chunk {
                    by_kind.add(&obj, files);
                    objects.push(obj.into_text());
                }
            }
            Chunk::Service(_, parts) => {
                let service::Parts { inputs, pieces } = *parts;
                // The inputs kept are the first service's of a name (like
                // `Resources::service`): only its objects can be built again from them.
                let kept = !services.contains_key(inputs.name());
                let mut at = [None; 3];
                for piece in pieces {
                    let (obj, again) = match piece {
                        service::Piece::Built(kind) => {
                            at[kind.index()] = Some(objects.len());
                            (inputs.build(kind), kept.then_some(kind))
                        }
                        service::Piece::Object(obj) => (obj, None),
                    };
                    by_kind.add(&obj, files);
                    match again {
                        Some(kind) => {
                            built.insert(objects.len(), (inputs.name(), kind));
                            objects.push(obj.without_text());
                        }
                        None => objects.push(obj.into_text()),
                    }
                }
                services.entry(inputs.name()).or_insert(BaseService { inputs, at });
            }
        }
        Ok(())
    })?;
    let names = by_kind.close(files);
    files.whole(format!("{dir}/kustomization.yaml"), &object::kustomization(names, Vec::new()));
    Ok(Base { dir, objects, services, built })
}

/// Writes the files of `env`'s overlay, `kubernetes/overlays/<env>/**`, which patches
/// its stack's base.
pub fn write_overlay(
    program: &ir::Program,
    env: &ir::Environment,
    bases: &Bases,
    files: &mut dyn Files,
) -> Result<(), String> {
    let base = match &env.stack {
        Some(stack) => Some(
            bases
                .stacks
                .get(stack.as_str())
                .ok_or_else(|| format!("environment `{}` uses unknown stack `{stack}`", env.name))?,
        ),
        None => None,
    };
    let view = View::new(&program.project, Some(env), &env.resources);
    let base = base.map(|b| (relative_to_overlay(&b.dir), b));
    overlay::overlay(&view, base, format!("kubernetes/overlays/{}", env.name), files)
}

/// The files [`write_overlay`] writes: `(path, text)`.
pub fn overlay_files(
    program: &ir::Program,
    env: &ir::Environment,
    bases: &Bases,
) -> Result<Vec<(String, String)>, String> {
    out::collect(|files| write_overlay(program, env, bases, files))
}

/// `kubernetes/base[/<stack>]` as seen from `kubernetes/overlays/<env>`.
fn relative_to_overlay(base_dir: &str) -> String {
    format!("../../{}", base_dir.trim_start_matches("kubernetes/"))
}

/// Every object of a view, in a stable order (the order of a base's files), each held
/// as its text ([`Object::into_text`]).
#[cfg(test)]
fn objects(view: &View) -> Result<Vec<Object>, String> {
    let mut out = Vec::new();
    each_object(view, &mut |chunk| {
        match chunk {
            Chunk::Objects(objects) => out.extend(objects.into_iter().map(Object::into_text)),
            Chunk::Service(_, parts) => {
                let service::Parts { inputs, pieces } = *parts;
                out.extend(pieces.into_iter().map(|piece| match piece {
                    service::Piece::Built(kind) => inputs.build(kind),
                    service::Piece::Object(obj) => obj.into_text(),
                }));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// What [`each_object`] hands over: a few objects, or one service's parts.
enum Chunk<'a> {
    Objects(Vec<Object>),
    Service(&'a ir::Service, Box<service::Parts<'a>>),
}

/// What receives the objects of a view.
type ObjectSink<'a, 's> = dyn FnMut(Chunk<'a>) -> Result<(), String> + 's;

/// The objects of a view in the order of [`objects`], handed over a few at a time (a
/// service's objects together, with the service), so that an overlay never holds the
/// trees of a whole fleet at once. Stops at the first error `f` returns.
fn each_object<'a>(view: &View<'a>, f: &mut ObjectSink<'a, '_>) -> Result<(), String> {
    if let Some(env) = view.env {
        f(Chunk::Objects(vec![object::namespace(view.project, env)]))?;
    }
    for svc in &view.resources.services {
        f(Chunk::Service(svc, Box::new(service::parts(view, svc))))?;
    }
    if view.is_local() {
        for pg in &view.resources.databases {
            f(Chunk::Objects(postgres::objects(view, pg)))?;
        }
        if storage::needed(view) {
            f(Chunk::Objects(storage::objects(view)))?;
        }
    }
    for pg in bootstrap::databases(view) {
        f(Chunk::Objects(bootstrap::objects(view, pg)))?;
    }
    if view.env.is_some() {
        f(Chunk::Objects(ingress::objects(view)))?;
        f(Chunk::Objects(telemetry::objects(view)))?;
    }
    f(Chunk::Objects(netpol::objects(view)?))
}

/// The recommended labels of an object that belongs to `name`.
pub(crate) fn labels(project: &str, name: &str, component: &'static str) -> Yaml {
    Yaml::Map(
        label_pairs(project, name, component)
            .into_iter()
            .map(|(k, v)| (k.into(), Yaml::Str(v.into_owned().into())))
            .collect(),
    )
}

/// [`labels`], written into the map `m` as `labels:`.
pub(crate) fn write_labels(m: &mut yaml::MapWriter, project: &str, name: &str, component: &'static str) {
    m.map("labels", |labels| {
        for (key, value) in label_pairs(project, name, component) {
            labels.str(key, &value);
        }
    });
}

/// The pairs of [`labels`], in order.
fn label_pairs<'a>(project: &'a str, name: &'a str, component: &'static str) -> [(&'static str, Cow<'a, str>); 5] {
    [
        ("app.kubernetes.io/name", Cow::Borrowed(name)),
        ("app.kubernetes.io/instance", Cow::Owned(instance(project, name))),
        ("app.kubernetes.io/component", Cow::Borrowed(component)),
        ("app.kubernetes.io/part-of", Cow::Borrowed(project)),
        ("app.kubernetes.io/managed-by", Cow::Borrowed("govc")),
    ]
}

/// [`selector`], written into the map `m` under `key`.
pub(crate) fn write_selector(m: &mut yaml::MapWriter, key: &'static str, project: &str, name: &str) {
    m.map(key, |labels| {
        for (key, value) in crate::emit::names::pod_selector(project, name) {
            labels.str(key, &value);
        }
    });
}

/// `<project>-<name>`, shortened to the 63 characters a label value may hold.
fn instance(project: &str, name: &str) -> String {
    crate::emit::names::instance_label(project, name)
}

/// The stable labels that select the pods of `name` (never changes between environments);
/// the SecurityGroupPolicy Terraform emits selects the same ([`crate::emit::names::pod_selector`]).
pub(crate) fn selector(project: &str, name: &str) -> Yaml {
    Yaml::Map(
        crate::emit::names::pod_selector(project, name)
            .into_iter()
            .map(|(k, v)| (k.into(), Yaml::Str(v.into_owned().into())))
            .collect(),
    )
}
