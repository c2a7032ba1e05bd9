//! One environment's overlay: the objects the environment adds (one file per kind) and
//! `kustomization.yaml`, whose `patches:` hold inline only what differs from the base
//! (RFC 6902 JSON patches, computed by diffing the base object with the environment's),
//! plus `$patch: delete` patches for base objects the environment does not have. Images
//! are pinned with `images:`.

use std::collections::BTreeMap;

use foldhash::HashMap;

use super::object::{self, Body, Object};
use super::patch::diff_objects;
use super::service::image_name;
use super::yaml::{self, map, Field, Lines, Node, Yaml};
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
                    diff_objects(&base_objects[i], &obj, &mut ops)?;
                    if !ops.is_empty() {
                        push_patch(&mut patches, &obj.target(), &ops);
                    }
                }
                None => add_document(&mut added, &obj),
            }
        }
        Ok(())
    })?;
    // The cluster's own objects (other namespaces, cluster-scoped) are never diffed
    // with the base: a service may share a name with one of them.
    for obj in super::cluster::objects(view)? {
        add_document(&mut added, &obj);
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

/// Appends the document of `obj` to the file of its kind among `added` (one file per
/// kind, in the order kinds first appear).
fn add_document(added: &mut Vec<(&'static str, String)>, obj: &Object) {
    let index = match added.iter().position(|(k, _)| *k == obj.kind) {
        Some(i) => i,
        None => {
            added.push((obj.kind, String::new()));
            added.len() - 1
        }
    };
    obj.push_document(&mut added[index].1);
}

/// Rewrites the image of `svc`'s Deployment (among its objects, `chunk`) to the name the
/// base uses, and records in `images` the `images:` entry (by name) that pins it:
/// `newName` when the repository differs, then `digest`, or `newTag` for an image
/// without a digest.
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
    let base_name = base_deployments.get(svc.name.as_str()).and_then(|b| container_image(b));
    let base_name = base_name.unwrap_or_else(|| image_name(svc));
    // The same placeholder on both sides (the usual case) leaves the object as it is.
    if container_image(obj).as_deref() != Some(base_name.as_str()) {
        set_container_image(obj.tree_mut()?, &base_name);
    }
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

/// The image of the first container of a Deployment.
fn container_image(deployment: &Object) -> Option<String> {
    match &deployment.body {
        Body::Tree(body) => {
            let containers = body.get("spec")?.get("template")?.get("spec")?.get("containers")?;
            match containers {
                Yaml::Seq(items) => items.first()?.get_str("image").map(str::to_string),
                _ => None,
            }
        }
        Body::Text(text) => {
            let lines = Lines::new(text)?;
            let pod = Node::document(&lines)?.get("spec")?.get("template")?.get("spec")?;
            let first = pod.get("containers")?.items()?.into_iter().next()?;
            match first.get("image")?.value()? {
                Yaml::Str(image) => Some(image.into_owned()),
                _ => None,
            }
        }
    }
}

fn set_container_image(body: &mut Yaml, image: &str) {
    if let Some(first) = containers_mut(body).and_then(|c| c.first_mut()) {
        first.set("image", Yaml::text(image));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Deployment's first container image is found in its text as in its tree.
    #[test]
    fn a_container_image_is_found_in_text_and_tree() {
        let written = Object::written(
            "apps/v1",
            "Deployment",
            "web".to_string(),
            |_| {},
            |doc| {
                doc.map("spec", |spec| {
                    spec.int("replicas", 2).map("template", |template| {
                        template.map("spec", |pod| {
                            pod.seq("containers", |containers| {
                                containers.map(|c| {
                                    c.str("name", "web").str("image", "registry.example.com/web:1");
                                });
                                containers.map(|c| {
                                    c.str("name", "sidecar").str("image", "other");
                                });
                            });
                        });
                    });
                });
            },
        );
        let tree = Object { body: Body::Tree(written.tree().expect("reads back").into_owned()), ..written.clone() };
        assert_eq!(container_image(&written).as_deref(), Some("registry.example.com/web:1"));
        assert_eq!(container_image(&tree), container_image(&written));
        let mut renamed = written.clone();
        set_container_image(renamed.tree_mut().expect("a tree"), "web");
        assert_eq!(container_image(&renamed).as_deref(), Some("web"));
    }
}
