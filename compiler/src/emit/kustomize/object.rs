//! One Kubernetes object as a YAML tree, plus the shared pieces: the Namespace, the
//! `kustomization.yaml` of a base, quantities and the pod security settings.

use super::yaml::{self, map, Yaml};
use crate::emit::out::{Files, Out};
use crate::ir;

/// The UID and GID every container runs as: high, so it never maps to a host user.
pub const RUN_AS: i64 = 10001;

thread_local! {
    /// Where [`exact_text`] writes an object before copying it out.
    static SCRATCH: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(4096));
}

/// The text `write` writes, in a string of exactly its length: written into the thread's
/// scratch buffer, then copied, since a fleet's overlay or base holds thousands of
/// objects' texts (400 bytes to a few KiB each) at once, and a string grown a piece at
/// a time would be copied at each doubling and kept with room to spare.
fn exact_text(write: impl FnOnce(&mut String)) -> String {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.clear();
            write(&mut scratch);
            String::from(scratch.as_str())
        }
        // Written from inside another object's writer: a buffer of its own.
        Err(_) => {
            let mut text = String::with_capacity(1024);
            write(&mut text);
            text.into_boxed_str().into_string()
        }
    })
}

/// A complete Kubernetes object: `apiVersion`, `kind`, `metadata`, then the rest.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// `apps/v1`, `v1`, ...
    pub api_version: &'static str,
    /// `Deployment`, ...
    pub kind: &'static str,
    /// `metadata.name`.
    pub name: String,
    /// The whole object, `apiVersion` and `kind` included.
    pub body: Body,
}

/// An object's contents: a tree, or the text of its document, for the objects a fleet has
/// thousands of that an overlay writes whole, finds equal to its base's or patches as
/// their inputs tell (an environment's own policies, autoscalers and Ingress paths; its
/// Services; a service's ServiceAccount, ConfigMap and Deployment): no tree is built
/// for them. An overlay compares two texts as text ([`super::patch`]); a text is read
/// back into a tree only to be compared with a tree or changed.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Tree(Yaml),
    /// One document, `---` first, as [`yaml::push_map_document`] writes it.
    Text(String),
}

impl Object {
    /// Builds an object from its metadata (without `name`) and the fields after it.
    pub fn new(
        api_version: &'static str,
        kind: &'static str,
        name: &str,
        metadata: Vec<(&'static str, Yaml)>,
        rest: Vec<(&'static str, Yaml)>,
    ) -> Object {
        // Sized once: a fleet builds tens of thousands of objects.
        let mut meta = Vec::with_capacity(1 + metadata.len());
        meta.push(("name".into(), Yaml::text(name)));
        meta.extend(metadata.into_iter().map(|(k, v)| (k.into(), v)));
        let mut body = Vec::with_capacity(3 + rest.len());
        body.extend([
            ("apiVersion".into(), Yaml::from(api_version)),
            ("kind".into(), Yaml::from(kind)),
            ("metadata".into(), Yaml::Map(meta)),
        ]);
        body.extend(rest.into_iter().map(|(k, v)| (k.into(), v)));
        Object { api_version, kind, name: name.to_string(), body: Body::Tree(Yaml::Map(body)) }
    }

    /// The object `name` written straight to text: `apiVersion`, `kind`, `metadata` with
    /// `name` and what `metadata` writes into it, then what `rest` writes after it.
    pub fn written(
        api_version: &'static str,
        kind: &'static str,
        name: String,
        metadata: impl FnOnce(&mut yaml::MapWriter),
        rest: impl FnOnce(&mut yaml::MapWriter),
    ) -> Object {
        let write = |text: &mut String| {
            yaml::push_map_document(text, |doc| {
                doc.str("apiVersion", api_version).str("kind", kind).map("metadata", |m| {
                    m.str("name", &name);
                    metadata(m);
                });
                rest(doc);
            });
        };
        let text = exact_text(write);
        Object { api_version, kind, name, body: Body::Text(text) }
    }

    /// The object's tree (read back from its text when it was written as text).
    pub fn tree(&self) -> Result<std::borrow::Cow<'_, Yaml>, String> {
        match &self.body {
            Body::Tree(tree) => Ok(std::borrow::Cow::Borrowed(tree)),
            Body::Text(text) => yaml::read_document(text)
                .map(std::borrow::Cow::Owned)
                .ok_or_else(|| format!("the text of {} `{}` does not read back", self.kind, self.name)),
        }
    }

    /// The object's tree, to change it (an object written as text becomes a tree).
    pub fn tree_mut(&mut self) -> Result<&mut Yaml, String> {
        if let Body::Text(_) = &self.body {
            self.body = Body::Tree(self.tree()?.into_owned());
        }
        match &mut self.body {
            Body::Tree(tree) => Ok(tree),
            Body::Text(_) => unreachable!("made a tree above"),
        }
    }

    /// The object as the text of its document, in a string of exactly its length: what
    /// a base keeps of each of its objects (thousands, for the whole emit), written once.
    /// The tree is read back only for an overlay that must diff it with a tree.
    pub fn into_text(self) -> Object {
        let text = match self.body {
            Body::Tree(tree) => exact_text(|text| yaml::push_document(text, &tree)),
            Body::Text(text) => text.into_boxed_str().into_string(),
        };
        Object { body: Body::Text(text), ..self }
    }

    /// The object's `apiVersion`, kind and name without its contents: what a base keeps of
    /// an object it can build again ([`super::Base::object`]), which an overlay patches or
    /// deletes by those alone. Its text is empty: it is never written.
    pub fn without_text(self) -> Object {
        Object { body: Body::Text(String::new()), ..self }
    }

    /// Appends the object's document (`---` first) to a stream.
    pub fn push_document(&self, out: &mut String) {
        match &self.body {
            Body::Tree(tree) => yaml::push_document(out, tree),
            Body::Text(text) => out.push_str(text),
        }
    }

    /// The object as one YAML document.
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        self.push_document(&mut out);
        out
    }

    /// Gives the object another name (`metadata.name` too).
    pub fn rename(&mut self, name: String) -> Result<(), String> {
        if let Yaml::Map(body) = self.tree_mut()? {
            for (key, value) in body.iter_mut() {
                if key != "metadata" {
                    continue;
                }
                if let Yaml::Map(meta) = value {
                    for (k, v) in meta.iter_mut() {
                        if k == "name" {
                            *v = Yaml::text(&name);
                        }
                    }
                }
            }
        }
        self.name = name;
        Ok(())
    }

    /// The identity an overlay matches on.
    pub fn key(&self) -> (&'static str, &str) {
        (self.kind, &self.name)
    }

    /// `{group?, version, kind, name}`, a Kustomize patch target: the first `n` of four
    /// entries, borrowed (an overlay writes a target for each of its thousands of patches).
    pub fn target_pairs(&self) -> ([(&'static str, &str); 4], usize) {
        let (kind, name) = (("kind", self.kind), ("name", self.name.as_str()));
        match self.api_version.split_once('/') {
            Some((group, version)) => ([("group", group), ("version", version), kind, name], 4),
            None => ([("version", self.api_version), kind, name, ("", "")], 3),
        }
    }
}

/// The file holding every object of `kind` in a directory: the kind in lowercase, made
/// plural like the API's resource names (`-y` after a consonant → `-ies`, `-s` → `-ses`,
/// otherwise `+s`): `deployments.yaml`, `networkpolicies.yaml`, `ingresses.yaml`.
pub fn kind_file(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    let plural = if let Some(stem) = lower.strip_suffix('y').filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u'])) {
        format!("{stem}ies")
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    };
    format!("{plural}.yaml")
}

/// Objects written as they come into one multi-document file per kind under `dir`,
/// files in the order their kind first appears, documents in the objects' order.
pub struct ByKind {
    dir: String,
    files: Vec<(&'static str, Out)>,
}

impl ByKind {
    pub fn new(dir: String) -> ByKind {
        ByKind { dir, files: Vec::new() }
    }

    /// Appends `obj`'s document to the file of its kind.
    pub fn add(&mut self, obj: &Object, files: &mut dyn Files) {
        let index = match self.files.iter().position(|(kind, _)| *kind == obj.kind) {
            Some(i) => i,
            None => {
                let path = format!("{}/{}", self.dir, kind_file(obj.kind));
                self.files.push((obj.kind, Out::open(files, path)));
                self.files.len() - 1
            }
        };
        let out = &mut self.files[index].1;
        obj.push_document(&mut out.text);
        out.spill(files);
    }

    /// Ends the files: their names in `dir`, in order.
    pub fn close(self, files: &mut dyn Files) -> Vec<String> {
        self.files
            .into_iter()
            .map(|(kind, out)| {
                out.close(files);
                kind_file(kind)
            })
            .collect()
    }
}

/// The environment's Namespace, enforcing the `restricted` Pod Security Standard.
pub fn namespace(project: &str, env: &ir::Environment) -> Object {
    let labels = yaml::map([
        ("app.kubernetes.io/part-of", Yaml::text(project)),
        ("app.kubernetes.io/managed-by", "govc".into()),
        ("pod-security.kubernetes.io/enforce", "restricted".into()),
        ("pod-security.kubernetes.io/warn", "restricted".into()),
    ]);
    Object::new("v1", "Namespace", &env.namespace, vec![("labels", labels)], vec![])
}

/// The `kustomization.yaml` listing `resources` (and `patches`, if any) of a base.
pub fn kustomization(resources: Vec<String>, patches: Vec<Yaml>) -> String {
    let mut body = vec![
        ("apiVersion", Yaml::from("kustomize.config.k8s.io/v1beta1")),
        ("kind", Yaml::from("Kustomization")),
        ("resources", Yaml::from(resources)),
    ];
    if !patches.is_empty() {
        body.push(("patches", Yaml::Seq(patches)));
    }
    yaml::to_document(&Yaml::Map(body.into_iter().map(|(k, v)| (k.into(), v)).collect()))
}

/// CPU as millicores: `250m`.
pub fn cpu(millis: u32) -> Yaml {
    let mut text = String::with_capacity(11);
    crate::emit::push_decimal(&mut text, u64::from(millis));
    text.push('m');
    Yaml::from(text)
}

/// Memory in the largest binary unit that is exact: `1Gi`, `256Mi`, `1536Ki`, or bytes.
pub fn memory(bytes: u64) -> Yaml {
    const UNITS: [(u64, &str); 4] = [(1 << 40, "Ti"), (1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")];
    let mut text = String::with_capacity(22);
    crate::emit::push_decimal(&mut text, bytes);
    for (size, unit) in UNITS {
        if bytes >= size && bytes % size == 0 {
            text.clear();
            crate::emit::push_decimal(&mut text, bytes / size);
            text.push_str(unit);
            break;
        }
    }
    Yaml::from(text)
}

/// Requests equal to limits (Guaranteed QoS), from the declared cpu and memory.
pub fn resources(cpu_millis: u32, memory_bytes: u64) -> Yaml {
    let amounts = || map([("cpu", cpu(cpu_millis)), ("memory", memory(memory_bytes))]);
    map([("requests", amounts()), ("limits", amounts())])
}

/// The pod security context: non-root, a high UID/GID, fsGroup, seccomp RuntimeDefault.
/// Made once: every workload has it.
pub fn pod_security_context() -> &'static Yaml {
    static CONTEXT: std::sync::LazyLock<Yaml> = std::sync::LazyLock::new(|| {
        map([
            ("runAsNonRoot", true.into()),
            ("runAsUser", RUN_AS.into()),
            ("runAsGroup", RUN_AS.into()),
            ("fsGroup", RUN_AS.into()),
            ("seccompProfile", map([("type", "RuntimeDefault".into())])),
        ])
    });
    &CONTEXT
}

/// The container security context: read-only root, no escalation, no capabilities.
/// Made once: every container has it.
pub fn container_security_context() -> &'static Yaml {
    static CONTEXT: std::sync::LazyLock<Yaml> = std::sync::LazyLock::new(|| {
        map([
            ("allowPrivilegeEscalation", false.into()),
            ("readOnlyRootFilesystem", true.into()),
            ("privileged", false.into()),
            ("runAsNonRoot", true.into()),
            ("capabilities", map([("drop", vec!["ALL"].into())])),
        ])
    });
    &CONTEXT
}

/// An `emptyDir` volume named `name`.
pub fn empty_dir(name: &str) -> Yaml {
    map([("name", Yaml::text(name)), ("emptyDir", Yaml::Map(vec![]))])
}

/// A volume mount of `name` at `path`.
pub fn mount(name: &str, path: &str) -> Yaml {
    map([("name", Yaml::text(name)), ("mountPath", Yaml::text(path))])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_files_are_lowercase_plurals() {
        let names: Vec<String> =
            ["Deployment", "NetworkPolicy", "Ingress", "Namespace", "ServiceAccount", "Gateway", "ExternalSecret"]
                .into_iter()
                .map(kind_file)
                .collect();
        assert_eq!(
            names,
            [
                "deployments.yaml",
                "networkpolicies.yaml",
                "ingresses.yaml",
                "namespaces.yaml",
                "serviceaccounts.yaml",
                "gateways.yaml",
                "externalsecrets.yaml"
            ]
        );
    }

    #[test]
    fn memory_uses_the_largest_exact_unit() {
        assert_eq!(memory(256 << 20), Yaml::from("256Mi"));
        assert_eq!(memory(1 << 30), Yaml::from("1Gi"));
        assert_eq!(memory(1536 << 20), Yaml::from("1536Mi"));
        assert_eq!(memory(1000), Yaml::from("1000"));
        assert_eq!(cpu(250), Yaml::from("250m"));
    }

    /// A written object keeps a string of exactly its text (an overlay holds thousands),
    /// and an object written from inside another's writer is written whole too.
    #[test]
    fn a_written_object_holds_exactly_its_text() {
        let mut inner = None;
        let outer = Object::written(
            "v1",
            "ConfigMap",
            "outer".to_string(),
            |m| {
                m.str("namespace", "a");
            },
            |doc| {
                let obj = Object::written("v1", "ConfigMap", "inner".to_string(), |_| {}, |_| {});
                doc.str("note", "x");
                inner = Some(obj);
            },
        );
        let text = |obj: &Object| match &obj.body {
            Body::Text(text) => text.clone(),
            Body::Tree(_) => panic!("written as text"),
        };
        assert_eq!(
            text(&outer),
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: outer\n  namespace: a\nnote: x\n"
        );
        let inner = inner.expect("written");
        assert_eq!(text(&inner), "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: inner\n");
        if let Body::Text(t) = &outer.body {
            assert_eq!(t.capacity(), t.len(), "no room to spare");
        }
    }
}
