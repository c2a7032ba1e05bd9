//! One environment's overlay: the objects the environment adds (one file per kind) and
//! `kustomization.yaml`, whose `patches:` hold inline only what differs from the base
//! (RFC 6902 JSON patches, computed by diffing the base object with the environment's),
//! plus `$patch: delete` patches for base objects the environment does not have. Images
//! are pinned with `images:`.

use std::collections::BTreeMap;

use foldhash::HashMap;

use super::object::{ByKind, Object};
use super::patch::diff_objects;
use super::service::{image_name, Built, Inputs, Parts, Piece};
use super::yaml::{self, map, Field, Yaml};
use super::{each_object, Base, BaseService, Chunk, View};
use crate::emit::out::{Files, Out, PIECE};
use crate::ir;

/// Writes every file of the overlay into `files`, under `dir`. `base` is the base
/// directory relative to the overlay and the base, when the environment has a stack.
///
/// The environment's objects are built a service at a time and diffed, written or
/// dropped at once: only the base's objects stay alive for the whole overlay. A
/// service's ServiceAccount, ConfigMap and Deployment are not built at all when their
/// inputs tell the difference with the base's ([`Inputs::diff`]).
pub fn overlay(view: &View, base: Option<(String, &Base)>, dir: String, files: &mut dyn Files) -> Result<(), String> {
    let env = view.env.ok_or("an overlay needs an environment")?;
    let base_objects: &[Object] = base.as_ref().map_or(&[], |(_, b)| &b.objects);
    let base_services = base.as_ref().map(|(_, b)| &b.services);
    let mut diff = Diff::new(base.as_ref().map(|(_, b)| *b), ByKind::new(dir.clone()), files);
    let mut images = BTreeMap::new();
    each_object(view, &mut |chunk| match chunk {
        Chunk::Objects(objects) => objects.into_iter().try_for_each(|obj| diff.object(&obj)),
        Chunk::Service(svc, parts) => {
            let Parts { mut inputs, pieces } = *parts;
            let base = base_services.and_then(|services| services.get(svc.name.as_str()));
            pin_image(view, svc, base, &mut inputs, &mut images)?;
            for piece in pieces {
                match piece {
                    Piece::Built(kind) => diff.built(kind, &inputs, base)?,
                    Piece::Object(obj) => diff.object(&obj)?,
                }
            }
            Ok(())
        }
    })?;
    // The cluster's own objects (other namespaces, cluster-scoped) are never diffed
    // with the base: a service may share a name with one of them.
    for obj in super::cluster::objects(view)? {
        diff.added.add(&obj, diff.files);
    }
    let Diff { by_key, matched, added, mut patches, files, .. } = diff;
    let mut resources: Vec<String> = base.as_ref().map(|(dir, _)| dir.clone()).into_iter().collect();
    resources.extend(added.close(files));
    // A base object is kept when some object of the environment has its key.
    for b in base_objects.iter().filter(|b| !by_key.get(&b.key()).is_some_and(|&i| matched[i])) {
        let delete = map([
            ("apiVersion", b.api_version.into()),
            ("kind", b.kind.into()),
            ("metadata", map([("name", (&b.name).into())])),
            ("$patch", "delete".into()),
        ]);
        push_item(&mut patches, b, Field::Text(&yaml::to_embedded(&delete)));
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
    let mut out = Out::open(files, format!("{dir}/kustomization.yaml"));
    yaml::push_document(&mut out.text, &k);
    // `patches:` is the last key: its items, already written, follow the rest.
    if !patches.is_empty() {
        out.text.push_str("patches:\n");
        for piece in patches.pieces() {
            out.text.push_str(piece);
            out.spill(files);
        }
    }
    out.close(files);
    Ok(())
}

/// The items of `patches:` as they are written, in pieces of about [`PIECE`] bytes: a
/// fleet's overlay has thousands of patches (tens of megabytes at fleet-40k), which
/// are neither grown and copied as one string nor copied again into the file.
#[derive(Default)]
struct Patches {
    full: Vec<String>,
    last: String,
}

impl Patches {
    /// Where the next item is written.
    fn next(&mut self) -> &mut String {
        if self.last.len() >= PIECE {
            self.full.push(std::mem::replace(&mut self.last, String::with_capacity(PIECE + PIECE / 4)));
        }
        &mut self.last
    }

    fn is_empty(&self) -> bool {
        self.full.is_empty() && self.last.is_empty()
    }

    /// The text written, in order.
    fn pieces(&self) -> impl Iterator<Item = &str> {
        self.full.iter().map(String::as_str).chain([self.last.as_str()])
    }
}

/// The overlay as its objects are compared with the base's: which base objects were
/// matched by key, the items of `patches:` written so far, and the added objects,
/// written as they come into one multi-document file per kind.
struct Diff<'b, 'f> {
    base: Option<&'b Base<'b>>,
    /// Fleets have thousands of objects: matched by key through a map, not scans.
    by_key: HashMap<(&'b str, &'b str), usize>,
    matched: Vec<bool>,
    added: ByKind,
    files: &'f mut dyn Files,
    patches: Patches,
    /// One object's operations.
    ops: String,
}

impl<'b, 'f> Diff<'b, 'f> {
    fn new(base: Option<&'b Base<'b>>, added: ByKind, files: &'f mut dyn Files) -> Diff<'b, 'f> {
        let objects: &[Object] = base.map_or(&[], |b| &b.objects);
        Diff {
            base,
            by_key: objects.iter().enumerate().map(|(i, b)| (b.key(), i)).collect(),
            matched: vec![false; objects.len()],
            added,
            files,
            patches: Patches::default(),
            ops: String::new(),
        }
    }

    /// An object of the environment: patches the base object of its key, or is added.
    fn object(&mut self, obj: &Object) -> Result<(), String> {
        // A key is found only among a base's objects.
        let Some((base, &i)) = self.base.zip(self.by_key.get(&obj.key())) else {
            self.added.add(obj, self.files);
            return Ok(());
        };
        self.matched[i] = true;
        self.ops.clear();
        diff_objects(&base.object(i), obj, &mut self.ops)?;
        if !self.ops.is_empty() {
            push_patch(&mut self.patches, obj, &self.ops);
        }
        Ok(())
    }

    /// The object of `kind` built from a service's `inputs`. When the base object of its
    /// key was built from the base service's inputs, the two inputs may tell the patch
    /// without building the object.
    fn built(&mut self, kind: Built, inputs: &Inputs, base: Option<&BaseService>) -> Result<(), String> {
        let Some(name) = inputs.object_name(kind) else { return Ok(()) };
        let at = self.by_key.get(&(kind.kind(), &*name)).copied();
        let told = match (at, base) {
            (Some(i), Some(base)) if base.at[kind.index()] == Some(i) => {
                self.ops.clear();
                inputs.diff(&base.inputs, kind, &mut self.ops).then_some(i)
            }
            _ => None,
        };
        let (Some(i), Some(base)) = (told, self.base) else { return self.object(&inputs.build(kind)) };
        self.matched[i] = true;
        if !self.ops.is_empty() {
            push_patch(&mut self.patches, &base.objects[i], &self.ops);
        }
        Ok(())
    }
}

/// Appends the item of `patches:` that applies the operations `ops` to the object
/// `target`: the text [`push_item`] writes for them as a [`Field::Text`], without the
/// search for the style of the text and the copy a line at a time. The operations are
/// written at the indentation of that text ([`super::patch::INDENT`]), by a writer whose
/// output is always a literal block's: its first line is an item's, it writes no line
/// of spaces alone and no character that needs an escape outside a double-quoted
/// scalar, and it ends with one line break (hence `|-`).
fn push_patch(patches: &mut Patches, target: &Object, ops: &str) {
    debug_assert!(ops.ends_with('\n') && !ops.ends_with("\n\n"), "operations end with one line break");
    let out = patches.next();
    push_target(out, target);
    out.push_str("    patch: |-\n");
    out.push_str(ops);
}

/// Appends the item of `patches:` whose `patch` is `patch` (the text of an embedded
/// document).
fn push_item(patches: &mut Patches, target: &Object, patch: Field) {
    let (pairs, n) = target.target_pairs();
    yaml::push_map_item(patches.next(), &[("target", Field::Texts(&pairs[..n])), ("patch", patch)], 2);
}

/// Appends the first line of an item of `patches:` and its `target` ([`Object::target_pairs`]).
fn push_target(out: &mut String, target: &Object) {
    let (pairs, n) = target.target_pairs();
    yaml::push_map_item(out, &[("target", Field::Texts(&pairs[..n]))], 2);
}

/// Makes `svc`'s container (its `inputs`) name the image the base uses, and records in
/// `images` the `images:` entry (by name) that pins it: `newName` when the repository
/// differs, then `digest`, or `newTag` for an image without a digest.
fn pin_image(
    view: &View,
    svc: &ir::Service,
    base: Option<&BaseService>,
    inputs: &mut Inputs,
    images: &mut BTreeMap<String, Yaml>,
) -> Result<(), String> {
    let Some(image) = &svc.image else { return Ok(()) };
    let base_name = base.map_or_else(|| image_name(svc), |b| b.inputs.image().to_string());
    // The same placeholder on both sides (the usual case) leaves the inputs as they are.
    if inputs.image() != base_name {
        inputs.set_image(base_name.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::kustomize::patch;

    /// Items written across many pieces come back whole, in order, and each piece but
    /// the last holds at least [`PIECE`] bytes (no piece is copied into a larger one).
    #[test]
    fn patches_are_kept_in_pieces_and_read_back_in_order() {
        let mut patches = Patches::default();
        assert!(patches.is_empty());
        let mut expected = String::new();
        for i in 0..20_000 {
            let item = format!("  - target:\n      kind: Deployment\n      name: svc-{i}\n");
            patches.next().push_str(&item);
            expected.push_str(&item);
        }
        assert!(!patches.is_empty());
        let pieces: Vec<&str> = patches.pieces().collect();
        assert!(pieces.len() > 3, "{} pieces", pieces.len());
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.len() >= PIECE));
        assert_eq!(pieces.concat(), expected);
    }

    /// The operations as written go into `patches:` as they are: the same item as the
    /// one that takes them as a text and finds their style, for values in every style
    /// the writer has (plain, double-quoted, literal blocks with empty lines, kept or
    /// stripped line breaks, nested collections).
    #[test]
    fn operations_go_into_the_patches_as_a_literal_block_would_take_them() {
        let values: Vec<Yaml> = vec![
            "plain".into(),
            "two\nlines".into(),
            "kept\n\nwith an empty line\n".into(),
            "  leading spaces\nthen".into(),
            "tab\there".into(),
            "quote \" and back\\slash: é".into(),
            "".into(),
            "true".into(),
            42i64.into(),
            Yaml::Seq(vec!["a".into(), "b\nc".into(), Yaml::Map(vec![])]),
            yaml::map([("k", "v\n\nw".into()), ("n", yaml::map([("deep", "x".into())]))]),
        ];
        let target = Object::new("apps/v1", "Deployment", "web", vec![], vec![]);
        for from in &values {
            for to in &values {
                let mut ops = String::new();
                patch::diff_at(&["data", "x~/y"], from, to, &mut ops);
                if ops.is_empty() {
                    continue;
                }
                let (mut direct, mut as_text) = (Patches::default(), Patches::default());
                push_patch(&mut direct, &target, &ops);
                let text = patch::flush_left(&ops);
                push_item(&mut as_text, &target, Field::Text(text.strip_suffix('\n').unwrap_or(&text)));
                assert_eq!(direct.last, as_text.last, "{from:?} -> {to:?}");
            }
        }
    }
}
