//! One environment's overlay: the objects the environment adds (one file per kind) and
//! `kustomization.yaml`, whose `patches:` hold inline only what differs from the base
//! (RFC 6902 JSON patches, computed by diffing the base object with the environment's),
//! plus `$patch: delete` patches for base objects the environment does not have. Images
//! are pinned with `images:`.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::fmt::Write as _;

use super::object::{self, Object};
use super::service::image_name;
use super::yaml::{self, map, Field, Yaml};
use super::{each_object, View};
use crate::ir;

/// `(path inside the overlay, contents)` for every file of the overlay. `base` is the
/// base directory relative to the overlay and its objects, when the environment has a stack.
///
/// The environment's objects are built a service at a time and diffed, written or
/// dropped at once: only the base's trees stay alive for the whole overlay.
pub fn overlay(view: &View, base: Option<(String, &[Object])>) -> Result<Vec<(String, String)>, String> {
    let env = view.env.ok_or("an overlay needs an environment")?;
    let base_objects: &[Object] = base.as_ref().map_or(&[], |(_, objs)| objs);
    // Fleets have thousands of objects: match them by key through maps, not scans.
    let base_by_key: HashMap<(&str, &str), usize> =
        base_objects.iter().enumerate().map(|(i, b)| (b.key(), i)).collect();
    let base_deployments: HashMap<&str, &Object> =
        base_objects.iter().filter(|b| b.kind == "Deployment").map(|b| (b.name.as_str(), b)).collect();
    let mut matched = vec![false; base_objects.len()];
    let mut images = BTreeMap::new();
    // The added objects, one multi-document file per kind in the order kinds first appear.
    let mut added: Vec<(&'static str, String)> = Vec::new();
    // The items of `patches:`, written as they are found; and one object's operations.
    let mut patches = String::new();
    let mut ops = String::new();
    each_object(view, &mut |mut chunk, svc| {
        if let Some(svc) = svc {
            pin_image(view, svc, &base_deployments, &mut chunk, &mut images)?;
        }
        for obj in chunk {
            match base_by_key.get(&obj.key()) {
                Some(&i) => {
                    matched[i] = true;
                    ops.clear();
                    diff(&mut Vec::with_capacity(8), &base_objects[i].body, &obj.body, &mut ops);
                    if !ops.is_empty() {
                        push_patch(&mut patches, &obj.target(), &ops);
                    }
                }
                None => add_document(&mut added, obj.kind, &obj.body),
            }
        }
        Ok(())
    })?;
    // The cluster's own objects (other namespaces, cluster-scoped) are never diffed
    // with the base: a service may share a name with one of them.
    for obj in super::cluster::objects(view)? {
        add_document(&mut added, obj.kind, &obj.body);
    }
    let mut files: Vec<(String, String)> =
        added.into_iter().map(|(kind, text)| (object::kind_file(kind), text)).collect();
    let mut resources: Vec<String> = base.as_ref().map(|(dir, _)| dir.clone()).into_iter().collect();
    resources.extend(files.iter().map(|(name, _)| name.clone()));
    // A base object is kept when some object of the environment has its key.
    for b in base_objects.iter().filter(|b| !base_by_key.get(&b.key()).is_some_and(|&i| matched[i])) {
        let delete = map([
            ("apiVersion", b.api_version.into()),
            ("kind", b.kind.into()),
            ("metadata", map([("name", (&b.name).into())])),
            ("$patch", "delete".into()),
        ]);
        push_patch(&mut patches, &b.target(), &yaml::to_embedded(&delete));
    }

    let mut k = vec![
        ("apiVersion", Yaml::from("kustomize.config.k8s.io/v1beta1")),
        ("kind", "Kustomization".into()),
        ("namespace", (&env.namespace).into()),
        ("resources", resources.into()),
        (
            "labels",
            Yaml::Seq(vec![map([
                ("pairs", map([("environment", (&env.name).into()), ("tier", env.tier.as_str().into())])),
                ("includeSelectors", false.into()),
            ])]),
        ),
    ];
    let transformers = super::cluster::transformers(view);
    if !transformers.is_empty() {
        k.push(("transformers", Yaml::Seq(transformers)));
    }
    if !images.is_empty() {
        k.push(("images", Yaml::Seq(images.into_values().collect())));
    }
    let k = Yaml::Map(k.into_iter().map(|(a, b)| (a.into(), b)).collect());
    let mut text = yaml::to_document(&k);
    // `patches:` is the last key: its items, already written, follow the rest.
    if !patches.is_empty() {
        text.reserve_exact(patches.len() + "patches:\n".len());
        text.push_str("patches:\n");
        text.push_str(&patches);
    }
    files.push(("kustomization.yaml".to_string(), text));
    Ok(files)
}

/// Appends the item of `patches:` that applies `patch` (the text of an embedded
/// document, ending with a newline or not) to `target`.
fn push_patch(patches: &mut String, target: &Yaml, patch: &str) {
    let patch = patch.strip_suffix('\n').unwrap_or(patch);
    yaml::push_map_item(patches, &[("target", Field::Value(target)), ("patch", Field::Text(patch))], 2);
}

/// Rewrites the image of `svc`'s Deployment (among its objects, `chunk`) to the name the
/// base uses, and records in `images` the `images:` entry (by name) that pins it:
/// `newName` when the repository differs, then `digest`, or `newTag` for an image
/// without a digest.
/// Appends `body` to the file of its `kind` among `added` (one file per kind, in the
/// order kinds first appear).
fn add_document(added: &mut Vec<(&'static str, String)>, kind: &'static str, body: &Yaml) {
    let index = match added.iter().position(|(k, _)| *k == kind) {
        Some(i) => i,
        None => {
            added.push((kind, String::new()));
            added.len() - 1
        }
    };
    yaml::push_document(&mut added[index].1, body);
}

fn pin_image(
    view: &View,
    svc: &ir::Service,
    base_deployments: &HashMap<&str, &Object>,
    chunk: &mut [Object],
    images: &mut BTreeMap<String, Yaml>,
) -> Result<(), String> {
    let Some(image) = &svc.image else { return Ok(()) };
    let Some(obj) = chunk.iter_mut().rfind(|o| o.kind == "Deployment" && o.name == svc.name) else {
        return Ok(());
    };
    let base_name = base_deployments
        .get(svc.name.as_str())
        .and_then(|b| container_image(&b.body).map(str::to_string))
        .unwrap_or_else(|| image_name(svc));
    set_container_image(&mut obj.body, &base_name);
    let mut entry = vec![("name".into(), Yaml::from(&base_name))];
    if image.name != base_name {
        entry.push(("newName".into(), Yaml::from(&image.name)));
    }
    match (&image.digest, &image.tag) {
        (Some(digest), _) => entry.push(("digest".into(), digest.into())),
        (None, Some(tag)) => entry.push(("newTag".into(), tag.into())),
        (None, None) => {}
    }
    let entry = Yaml::Map(entry);
    match images.get(&base_name) {
        Some(existing) if *existing != entry => Err(format!(
            "services of environment `{}` share the base image `{base_name}` but pin different images",
            view.env.map_or("", |e| e.name.as_str())
        )),
        _ => {
            images.insert(base_name, entry);
            Ok(())
        }
    }
}

fn containers_mut(body: &mut Yaml) -> Option<&mut Vec<Yaml>> {
    let spec = child_mut(body, "spec")?;
    let template = child_mut(spec, "template")?;
    let pod = child_mut(template, "spec")?;
    match child_mut(pod, "containers")? {
        Yaml::Seq(items) => Some(items),
        _ => None,
    }
}

fn child_mut<'a>(value: &'a mut Yaml, key: &str) -> Option<&'a mut Yaml> {
    match value {
        Yaml::Map(entries) => entries.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn container_image(body: &Yaml) -> Option<&str> {
    let containers = body.get("spec")?.get("template")?.get("spec")?.get("containers")?;
    match containers {
        Yaml::Seq(items) => items.first()?.get_str("image"),
        _ => None,
    }
}

fn set_container_image(body: &mut Yaml, image: &str) {
    if let Some(first) = containers_mut(body).and_then(|c| c.first_mut()) {
        first.set("image", Yaml::text(image));
    }
}

/// Appends the RFC 6902 operations turning `from` into `to`, as the items of a YAML
/// sequence (the text of an embedded document). Maps are diffed by key;
/// sequences of equal length element by element; anything else is replaced whole.
/// Collections are walked, not compared whole first (a deep comparison at every level
/// would cost the tree's size times its depth on every object of a fleet), and `path`
/// is a stack of the keys and indexes walked, written as a JSON pointer only for an
/// operation.
fn diff<'a>(path: &mut Vec<Segment<'a>>, from: &'a Yaml, to: &'a Yaml, ops: &mut String) {
    match (from, to) {
        (Yaml::Map(a), Yaml::Map(b)) => {
            // Both sides are built by the same functions, so keys are usually at the same
            // index: try it first, and skip the search for added keys when all lined up.
            let mut aligned = a.len() == b.len();
            for (i, (key, old)) in a.iter().enumerate() {
                let found = match b.get(i) {
                    Some((k, v)) if same_key(k, key) => Some(v),
                    _ => {
                        aligned = false;
                        b.iter().find(|(k, _)| k == key).map(|(_, v)| v)
                    }
                };
                path.push(Segment::Key(key));
                match found {
                    Some(new) => diff(path, old, new, ops),
                    None => push_op(ops, "remove", path, None),
                }
                path.pop();
            }
            if aligned {
                return;
            }
            for (key, new) in b {
                if !a.iter().any(|(k, _)| k == key) {
                    path.push(Segment::Key(key));
                    push_op(ops, "add", path, Some(new));
                    path.pop();
                }
            }
        }
        (Yaml::Seq(a), Yaml::Seq(b)) if a.len() == b.len() => {
            for (i, (old, new)) in a.iter().zip(b).enumerate() {
                path.push(Segment::Index(i));
                diff(path, old, new, ops);
                path.pop();
            }
        }
        _ if from == to => {}
        _ => push_op(ops, "replace", path, Some(to)),
    }
}

/// Appends the operation `op` at `path`, with its value when it has one.
fn push_op(ops: &mut String, op: &str, path: &[Segment], value: Option<&Yaml>) {
    let pointer = pointer(path);
    let op = ("op", Field::Text(op));
    let at = ("path", Field::Text(&pointer));
    match value {
        Some(value) => yaml::push_map_item(ops, &[op, at, ("value", Field::Value(value))], 0),
        None => yaml::push_map_item(ops, &[op, at], 0),
    }
}

/// One step of a JSON pointer: a map key or a sequence index.
#[derive(Clone, Copy)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// The JSON pointer of `path`: `/spec/template/0`.
fn pointer(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => push_pointer(&mut out, key),
            Segment::Index(i) => {
                let _ = write!(out, "/{i}");
            }
        }
    }
    out
}

/// Key equality, first by address: both sides' keys are mostly the same literals.
fn same_key(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// Appends `/key` with JSON pointer escaping: `~` → `~0`, `/` → `~1`.
fn push_pointer(path: &mut String, key: &str) {
    path.push('/');
    // Runs between the two ASCII characters to escape are pushed whole.
    let mut start = 0;
    for (at, b) in key.bytes().enumerate() {
        let escaped = match b {
            b'~' => "~0",
            b'/' => "~1",
            _ => continue,
        };
        path.push_str(&key[start..at]);
        path.push_str(escaped);
        start = at + 1;
    }
    path.push_str(&key[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_emits_minimal_operations() {
        let a = map([("spec", map([("replicas", 1i64.into()), ("x/y", "a".into())])), ("l", vec!["a", "b"].into())]);
        let b = map([("spec", map([("x/y", "b".into()), ("new", true.into())])), ("l", vec!["a", "c", "d"].into())]);
        let mut ops = String::new();
        diff(&mut Vec::new(), &a, &b, &mut ops);
        assert_eq!(
            ops,
            "- op: remove\n  path: /spec/replicas\n- op: replace\n  path: \"/spec/x~1y\"\n  value: b\n- op: add\n  path: /spec/new\n  value: true\n- op: replace\n  path: /l\n  value:\n    - a\n    - c\n    - d\n"
        );
    }
}
