//! Resource and item schemas, read from the stdlib's `kinds.gov`.
//!
//! The type checker never hard-codes a field: it looks the field up here to learn
//! its type, default, allowed range, the capability that authorizes it and whether
//! it is required. Adding a field to a kind is an edit of `stdlib/kinds.gov`.

use std::fmt;

use super::formats::Format;
use super::values::{self, Val};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::syntax::ast::{self, Entry, ValueKind};

/// A governance capability (LANGUAGE.md section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    Model,
    Addressing,
    Sizing,
    Replication,
    Provider,
    Secrets,
    Wiring,
    Iac,
    /// Object stores (`bucket`): a ladder may withhold them (seed 004 allows only Postgres).
    Storage,
    Observability,
}

impl Capability {
    pub const ALL: [Capability; 10] = [
        Capability::Model,
        Capability::Addressing,
        Capability::Sizing,
        Capability::Replication,
        Capability::Provider,
        Capability::Secrets,
        Capability::Wiring,
        Capability::Iac,
        Capability::Storage,
        Capability::Observability,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Model => "model",
            Capability::Addressing => "addressing",
            Capability::Sizing => "sizing",
            Capability::Replication => "replication",
            Capability::Provider => "provider",
            Capability::Secrets => "secrets",
            Capability::Wiring => "wiring",
            Capability::Iac => "iac",
            Capability::Storage => "storage",
            Capability::Observability => "observability",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapSet(u16);

impl CapSet {
    pub fn all() -> CapSet {
        CapSet(u16::MAX)
    }

    pub fn insert(&mut self, cap: Capability) {
        self.0 |= cap.bit();
    }

    pub fn contains(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }

    pub fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }
}

/// The type of a field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldType {
    String,
    Int,
    Bool,
    /// Bytes: `512MiB`.
    Size,
    /// Seconds: `14d`.
    Duration,
    /// Millicores: `250m` or a number of cores.
    Cpu,
    Cidr,
    /// `3..12` or `3`.
    Range,
    Enum(Vec<String>),
    /// A reference to one of these kinds (item kinds like `stack` or resource kinds).
    Ref(Vec<String>),
    /// A list of references.
    Refs(Vec<String>),
    /// A list of strings.
    Strings,
    /// A block of `KEY = value` environment variables.
    Env,
    /// `route "PATH" -> SERVICE[:PORT]` entries.
    Route,
    /// A list of capability names.
    Capabilities,
}

impl FieldType {
    /// How a value of this type is described to people: "a duration like `14d`".
    pub fn describe(&self) -> String {
        match self {
            FieldType::String => "a string like `\"...\"`".into(),
            FieldType::Int => "an integer like `8080`".into(),
            FieldType::Bool => "`true` or `false`".into(),
            FieldType::Size => "a size like `512MiB` or `100GiB`".into(),
            FieldType::Duration => "a duration like `14d`".into(),
            FieldType::Cpu => "a CPU amount like `250m` or `2`".into(),
            FieldType::Cidr => "a CIDR block like `10.30.0.0/16`".into(),
            FieldType::Range => "a range like `3..12` or a count like `3`".into(),
            FieldType::Enum(values) => format!("one of {}", values::backticked(values)),
            FieldType::Ref(kinds) => format!("a reference to a {}", kinds.join(" or ")),
            FieldType::Refs(kinds) => format!("a list of references to {}, like `[main]`", kinds.join(" or ")),
            FieldType::Strings => "a list of strings like `[\"api.example.com:443\"]`".into(),
            FieldType::Env => "a block of `KEY = value` entries".into(),
            FieldType::Route => "a route like `route \"/\" -> api`".into(),
            FieldType::Capabilities => "a list of capabilities like `[model, sizing]`".into(),
        }
    }
}

/// Where a field is required, once its capability is authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    No,
    /// In every environment.
    Always,
    /// In every environment whose tier is not `local`.
    Cloud,
}

/// A field of a kind or block.
#[derive(Clone, Debug)]
pub struct FieldSchema {
    /// Interned ([`interned`]): every lowered field holds its name.
    pub name: &'static str,
    pub doc: Option<String>,
    pub ty: FieldType,
    pub default: Option<Val>,
    pub min: Option<Val>,
    pub max: Option<Val>,
    /// Values must be whole multiples of this (in base units).
    pub unit: Option<(u64, String)>,
    pub capability: Capability,
    pub required: Required,
    pub repeated: bool,
    /// A string field's accepted form (`format = host`), checked as E209.
    pub format: Option<Format>,
    /// A CIDR field's allowed prefix lengths (`prefix = 16..28`), checked as E209.
    pub prefix: Option<(u8, u8)>,
}

/// A kind, or a nested block of one: its fields, blocks and attributes.
#[derive(Clone, Debug, Default)]
pub struct BlockSchema {
    pub name: String,
    pub doc: Option<String>,
    /// The capability the block (or the whole resource) needs.
    pub capability: Option<Capability>,
    pub required: Option<Required>,
    /// Refused in a `tier = local` environment (E202).
    pub cloud_only: bool,
    pub fields: Vec<FieldSchema>,
    pub blocks: Vec<BlockSchema>,
    /// `(name, doc)` of the attributes references may read.
    pub attributes: Vec<(String, Option<String>)>,
}

impl BlockSchema {
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn block(&self, name: &str) -> Option<&BlockSchema> {
        self.blocks.iter().find(|b| b.name == name)
    }

    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|(n, _)| n == name)
    }

    /// Every name that may be written in this block, for suggestions.
    pub fn member_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name).chain(self.blocks.iter().map(|b| b.name.as_str()))
    }

    /// The capability of the resource or block itself (`model` unless declared).
    pub fn own_capability(&self) -> Capability {
        self.capability.unwrap_or(Capability::Model)
    }
}

/// Every item and resource kind.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    /// `project`, `phase`, `stack`, `environment`.
    pub items: Vec<BlockSchema>,
    /// `network`, `postgres`, `service`, `ingress`, `secret`.
    pub kinds: Vec<BlockSchema>,
}

impl Schema {
    pub fn item(&self, name: &str) -> Option<&BlockSchema> {
        self.items.iter().find(|k| k.name == name)
    }

    pub fn kind(&self, name: &str) -> Option<&BlockSchema> {
        self.kinds.iter().find(|k| k.name == name)
    }

    /// Reads the schema from the stdlib's `item` and `kind` declarations. Mistakes in
    /// the stdlib itself are reported as E901: they are bugs in govc.
    pub fn load(files: &[&ast::File], sink: &mut Diagnostics) -> Schema {
        let mut schema = Schema::default();
        for file in files {
            for item in &file.items {
                let target = match item.kind.name.as_str() {
                    "item" => &mut schema.items,
                    "kind" => &mut schema.kinds,
                    _ => continue,
                };
                target.push(block_schema(item, sink));
            }
        }
        schema
    }
}

fn stdlib_bug(span: crate::Span, message: String) -> Diagnostic {
    Diagnostic::new(Code::E901, span, format!("invalid stdlib schema: {message}"), "here")
        .with_note("this is a bug in govc's stdlib")
}

fn block_schema(block: &ast::Block, sink: &mut Diagnostics) -> BlockSchema {
    let mut it = BlockSchema {
        name: block.label.as_ref().map(|l| l.text().to_string()).unwrap_or_else(|| block.kind.name.clone()),
        doc: block.doc.clone(),
        ..BlockSchema::default()
    };
    if block.kind.name == "block" {
        it.name = block.label.as_ref().map(|l| l.text().to_string()).unwrap_or_default();
    }
    for entry in &block.entries {
        match entry {
            Entry::Field(field) => match field.name.name.as_str() {
                "capability" => it.capability = capability_of(&field.value, sink),
                "required" => it.required = Some(required_of(&field.value)),
                "cloud_only" => it.cloud_only = matches!(word(&field.value), Some("true")),
                other => sink.push(stdlib_bug(field.span, format!("unknown schema key `{other}`"))),
            },
            Entry::Block(inner) => match inner.kind.name.as_str() {
                "field" => {
                    if let Some(field) = field_schema(inner, sink) {
                        it.fields.push(field);
                    }
                }
                "block" => it.blocks.push(block_schema(inner, sink)),
                "attribute" => {
                    let name = inner.label.as_ref().map(|l| l.text().to_string()).unwrap_or_default();
                    it.attributes.push((name, inner.doc.clone()));
                }
                other => sink.push(stdlib_bug(inner.span, format!("unknown schema block `{other}`"))),
            },
            Entry::Route(route) => sink.push(stdlib_bug(route.span, "unexpected route".into())),
        }
    }
    it
}

fn word(value: &ast::Value) -> Option<&str> {
    match &value.kind {
        ValueKind::Path(path) if path.len() == 1 => Some(&path[0].name),
        _ => None,
    }
}

fn words(value: &ast::Value) -> Vec<String> {
    match &value.kind {
        ValueKind::List(items) => items.iter().filter_map(word).map(str::to_string).collect(),
        _ => word(value).map(|w| vec![w.to_string()]).unwrap_or_default(),
    }
}

fn capability_of(value: &ast::Value, sink: &mut Diagnostics) -> Option<Capability> {
    let it = word(value).and_then(Capability::parse);
    if it.is_none() {
        sink.push(stdlib_bug(value.span, "unknown capability".into()));
    }
    it
}

fn required_of(value: &ast::Value) -> Required {
    match word(value) {
        Some("true") => Required::Always,
        Some("cloud") => Required::Cloud,
        _ => Required::No,
    }
}

fn field_schema(block: &ast::Block, sink: &mut Diagnostics) -> Option<FieldSchema> {
    let name = interned(block.label.as_ref()?.text());
    let get = |key: &str| {
        block.entries.iter().find_map(|e| match e {
            Entry::Field(f) if f.name.name == key => Some(&f.value),
            _ => None,
        })
    };
    let kinds = get("kinds").map(words).unwrap_or_default();
    let ty = match get("type").and_then(word) {
        Some("string") => FieldType::String,
        Some("int") => FieldType::Int,
        Some("bool") => FieldType::Bool,
        Some("size") => FieldType::Size,
        Some("duration") => FieldType::Duration,
        Some("cpu") => FieldType::Cpu,
        Some("cidr") => FieldType::Cidr,
        Some("range") => FieldType::Range,
        Some("enum") => FieldType::Enum(get("values").map(words).unwrap_or_default()),
        Some("ref") => FieldType::Ref(kinds),
        Some("refs") => FieldType::Refs(kinds),
        Some("strings") => FieldType::Strings,
        Some("env") => FieldType::Env,
        Some("route") => FieldType::Route,
        Some("capabilities") => FieldType::Capabilities,
        _ => {
            sink.push(stdlib_bug(block.span, format!("field `{name}` has no valid `type`")));
            return None;
        }
    };
    // Defaults and bounds are written in the field's own type and checked like user values.
    let mut scratch = Diagnostics::new();
    let typed = |value: Option<&ast::Value>, scratch: &mut Diagnostics| {
        value.map(|v| values::literal(v, &ty, scratch)).filter(|v| !matches!(v, Val::Invalid))
    };
    let default = typed(get("default"), &mut scratch);
    let bound_ty = if ty == FieldType::Range { FieldType::Int } else { ty.clone() };
    let min = get("min").map(|v| values::literal(v, &bound_ty, &mut scratch));
    let max = get("max").map(|v| values::literal(v, &bound_ty, &mut scratch));
    let unit = get("unit").and_then(|v| {
        let text = match &v.kind {
            ValueKind::Quantity { number, unit } if number.as_integer() == Some(1) => unit.clone(),
            _ => return None,
        };
        match values::literal(v, &ty, &mut scratch) {
            Val::Bytes(n) | Val::Seconds(n) => Some((n, text)),
            _ => None,
        }
    });
    let format = get("format").and_then(|v| {
        let it = word(v).and_then(Format::parse);
        if it.is_none() || ty != FieldType::String {
            sink.push(stdlib_bug(v.span, format!("field `{name}`: `format` is one of the known forms, on a string")));
        }
        it
    });
    let prefix = get("prefix").and_then(|v| match values::literal(v, &FieldType::Range, &mut scratch) {
        Val::Range(lo, hi) if lo <= hi && hi <= 32 && ty == FieldType::Cidr => Some((lo as u8, hi as u8)),
        _ => {
            sink.push(stdlib_bug(v.span, format!("field `{name}`: `prefix` is a range within 0..32, on a CIDR")));
            None
        }
    });
    for d in scratch.into_sorted() {
        sink.push(stdlib_bug(d.span(), format!("field `{name}`: {}", d.message)));
    }
    Some(FieldSchema {
        name,
        doc: block.doc.clone(),
        ty,
        default,
        min,
        max,
        unit,
        capability: get("capability").and_then(|v| capability_of(v, sink)).unwrap_or(Capability::Model),
        required: get("required").map(required_of).unwrap_or(Required::No),
        repeated: matches!(get("repeated").and_then(word), Some("true")),
        format,
        prefix,
    })
}

/// `name` for the rest of the process. Field names are the stdlib's, few and fixed;
/// every lowered field holds its name (a fleet has hundreds of thousands), which is
/// then neither a string of its own nor a second place to read when fields are looked
/// up by name.
fn interned(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = names.get(name) {
        return known;
    }
    let name: &'static str = Box::leak(name.into());
    names.insert(name);
    name
}

#[cfg(test)]
mod tests {
    use super::interned;

    /// A name is kept once, however many schemas are loaded (the language server loads
    /// one per analysis): the same text gives the same string.
    #[test]
    fn a_name_is_kept_once() {
        let first = interned("a_field_of_this_test");
        let again = interned(&String::from("a_field_of_this_test"));
        assert!(std::ptr::eq(first, again));
        assert_eq!(again, "a_field_of_this_test");
        assert!(!std::ptr::eq(first, interned("another_field_of_this_test")));
    }
}
