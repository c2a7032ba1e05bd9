//! Lowered bodies: the fields, nested blocks and routes of one declaration, typed
//! against its schema, and the stack/environment merge of two bodies.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::schema::{BlockSchema, Capability, FieldType};
use super::suggest::closest;
use super::values::{self, EnvEntry, EnvVal, Reference, Val};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::syntax::ast::{self, Entry, ValueKind};

/// A typed field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldVal {
    /// The schema's name of the field ([`super::schema::FieldSchema::name`]).
    pub name: &'static str,
    pub value: Val,
    /// The whole `name = value`.
    pub span: Span,
    pub value_span: Span,
    pub capability: Capability,
}

/// A nested block such as `aws { }` or a network segment.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockVal {
    pub name: String,
    pub span: Span,
    pub head: Span,
    pub capability: Capability,
    pub body: Body,
}

/// `route "PATH" -> SERVICE[:PORT]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RouteVal {
    pub path: String,
    pub path_span: Span,
    pub target: Reference,
    pub port: Option<(u64, Span)>,
    pub span: Span,
}

/// The typed contents of a declaration or block.
///
/// Fields are shared: every environment using a stack holds the stack's fields it
/// does not refine, not copies of them (a fleet's stack has thousands of services).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Body {
    pub fields: Vec<Arc<FieldVal>>,
    pub blocks: Vec<BlockVal>,
    pub routes: Vec<RouteVal>,
}

impl Body {
    pub fn field(&self, name: &str) -> Option<&FieldVal> {
        self.fields.iter().find(|f| f.name == name).map(|f| &**f)
    }

    pub fn value(&self, name: &str) -> Option<&Val> {
        self.field(name).map(|f| &f.value)
    }

    pub fn block(&self, name: &str) -> Option<&BlockVal> {
        self.blocks.iter().find(|b| b.name == name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn env(&self) -> &[EnvEntry] {
        match self.value("env") {
            Some(Val::Env(entries)) => entries,
            _ => &[],
        }
    }

    pub fn refs(&self, name: &str) -> &[Reference] {
        match self.value(name) {
            Some(Val::Refs(refs)) => refs,
            _ => &[],
        }
    }

    /// Merges `over` (an environment's refinement) onto `self` (the stack's):
    /// fields are replaced, blocks merge field by field, `env` merges key by key,
    /// routes merge by path.
    pub fn merge(&mut self, over: &Body) {
        for field in &over.fields {
            match self.fields.iter_mut().find(|f| f.name == field.name) {
                Some(base) => match &field.value {
                    // The stack's field is copied only when an environment changes it.
                    Val::Env(entries) if matches!(base.value, Val::Env(_)) => {
                        let base = Arc::make_mut(base);
                        if let Val::Env(base_entries) = &mut base.value {
                            merge_env(base_entries, entries);
                        }
                        base.span = field.span;
                    }
                    _ => *base = field.clone(),
                },
                None => self.fields.push(field.clone()),
            }
        }
        for block in &over.blocks {
            match self.blocks.iter_mut().find(|b| b.name == block.name) {
                Some(base) => base.body.merge(&block.body),
                None => self.blocks.push(block.clone()),
            }
        }
        if over.routes.is_empty() {
            return;
        }
        let mut at: HashMap<String, usize> =
            self.routes.iter().enumerate().rev().map(|(i, r)| (r.path.clone(), i)).collect();
        for route in &over.routes {
            match at.get(&route.path) {
                Some(&i) => self.routes[i] = route.clone(),
                None => {
                    at.insert(route.path.clone(), self.routes.len());
                    self.routes.push(route.clone());
                }
            }
        }
    }
}

/// Merges an environment's `env` entries onto the stack's, key by key: a key of both
/// takes the environment's entry where the stack's stood, a new key comes after. Keys
/// are unique on each side (E205), and are found through a map: a service may have
/// hundreds of variables.
fn merge_env(base: &mut Vec<EnvEntry>, over: &[EnvEntry]) {
    let at: HashMap<&str, usize> = base.iter().enumerate().map(|(i, e)| (e.key.as_str(), i)).collect();
    let slots: Vec<Option<usize>> = over.iter().map(|e| at.get(e.key.as_str()).copied()).collect();
    for (entry, slot) in over.iter().zip(slots) {
        match slot {
            Some(i) => base[i] = entry.clone(),
            None => base.push(entry.clone()),
        }
    }
}

/// What a body belongs to, as messages name it: "`project`", "`env`", "service
/// `api`" (written out only in a diagnostic).
#[derive(Clone, Copy, Debug)]
pub struct What<'a> {
    pub kind: &'a str,
    pub name: Option<&'a str>,
}

impl<'a> What<'a> {
    /// An unnamed block or item: "`env`".
    pub fn of(kind: &'a str) -> What<'a> {
        What { kind, name: None }
    }

    /// A named one: "service `api`".
    pub fn named(kind: &'a str, name: &'a str) -> What<'a> {
        What { kind, name: Some(name) }
    }
}

impl std::fmt::Display for What<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(name) => write!(f, "{} `{name}`", self.kind),
            None => write!(f, "`{}`", self.kind),
        }
    }
}

/// Lowers the entries of a block against its schema. Labelled blocks (resources)
/// are the caller's business and are skipped here; `extra` receives them.
pub fn lower_body<'a>(
    entries: &'a [Entry],
    schema: &BlockSchema,
    what: What,
    sink: &mut Diagnostics,
    extra: &mut dyn FnMut(&'a ast::Block, &mut Diagnostics),
) -> Body {
    let mut body = Body::default();
    // Fields and routes are found by name through maps: an ingress of a fleet has
    // thousands of routes.
    let mut seen: HashMap<&str, Span> = HashMap::new();
    let mut route_paths: HashMap<&'a str, Span> = HashMap::new();
    let mut duplicate = |name: &'a str, span: Span, sink: &mut Diagnostics| {
        if let Some(first) = seen.get(name) {
            sink.push(
                Diagnostic::new(Code::E205, span, format!("duplicate field `{name}` in {what}"), "written again here")
                    .with_label(*first, "first written here")
                    .with_help(format!("remove one of the two `{name}` entries")),
            );
            return true;
        }
        seen.insert(name, span);
        false
    };
    for entry in entries {
        match entry {
            Entry::Field(field) => {
                let name = field.name.name.as_str();
                let Some(schema_field) = schema.field(name) else {
                    if schema.block(name).is_some() {
                        sink.push(
                            Diagnostic::new(
                                Code::E203,
                                field.span,
                                format!("`{name}` is a block, not a value"),
                                "expected a block",
                            )
                            .with_help(format!("write `{name} {{ ... }}`")),
                        );
                    } else if let Some(d) = deprecated_field(field, what) {
                        sink.push(d);
                    } else {
                        sink.push(unknown_field(&field.name, schema, what));
                    }
                    continue;
                };
                if duplicate(name, field.name.span, sink) {
                    continue;
                }
                let value = match schema_field.ty {
                    FieldType::Env | FieldType::Route => {
                        let shape = if schema_field.ty == FieldType::Env {
                            "env { KEY = \"value\" }"
                        } else {
                            "route \"/\" -> api"
                        };
                        sink.push(
                            Diagnostic::new(
                                Code::E203,
                                field.span,
                                format!("`{name}` is not written with `=`"),
                                "unexpected `=`",
                            )
                            .with_help(format!("write `{shape}`")),
                        );
                        continue;
                    }
                    _ => values::check_field(&field.value, schema_field, sink),
                };
                body.fields.push(Arc::new(FieldVal {
                    name: schema_field.name,
                    value,
                    span: field.span,
                    value_span: field.value.span,
                    capability: schema_field.capability,
                }));
            }
            Entry::Block(block) if block.label.is_some() => extra(block, sink),
            Entry::Block(block) => {
                let name = block.kind.name.as_str();
                if let Some(inner) = schema.block(name) {
                    if duplicate(name, block.kind.span, sink) {
                        continue;
                    }
                    let inner_what = What::of(name);
                    let inner_body = lower_body(&block.entries, inner, inner_what, sink, &mut |b, sink| {
                        sink.push(unexpected_block(b, inner_what));
                    });
                    body.blocks.push(BlockVal {
                        name: name.to_string(),
                        span: block.span,
                        head: block.kind.span,
                        capability: inner.own_capability(),
                        body: inner_body,
                    });
                } else if let Some(field) = schema.field(name).filter(|f| f.ty == FieldType::Env) {
                    if duplicate(name, block.kind.span, sink) {
                        continue;
                    }
                    body.fields.push(Arc::new(FieldVal {
                        name: field.name,
                        value: Val::Env(lower_env(block, sink)),
                        span: block.span,
                        value_span: block.span,
                        capability: field.capability,
                    }));
                } else {
                    sink.push(unknown_field(&block.kind, schema, what));
                }
            }
            Entry::Route(route) => {
                if !schema.field("route").is_some_and(|f| f.ty == FieldType::Route) {
                    sink.push(
                        Diagnostic::new(Code::E202, route.span, format!("{what} has no routes"), "unexpected `route`")
                            .with_help("routes belong in an `ingress` block"),
                    );
                    continue;
                }
                if let Some(first) = route_paths.get(route.path.value.as_str()) {
                    sink.push(
                        Diagnostic::new(
                            Code::E205,
                            route.span,
                            format!("duplicate route `{}`", route.path.value),
                            "written again here",
                        )
                        .with_label(*first, "first written here")
                        .with_help("each path may be routed once; remove one of them"),
                    );
                    continue;
                }
                route_paths.insert(&route.path.value, route.span);
                if let Err(problem) = super::formats::route_path(&route.path.value) {
                    sink.push(values::format_problem(
                        route.path.span,
                        "route",
                        "a route path",
                        super::formats::ROUTE_PATH_ACCEPTED,
                        problem,
                    ));
                }
                body.routes.push(RouteVal {
                    path: route.path.value.clone(),
                    path_span: route.path.span,
                    target: Reference {
                        name: route.target.name.clone(),
                        name_span: route.target.span,
                        attr: None,
                        span: route.target.span,
                    },
                    port: route.port,
                    span: route.span,
                });
            }
        }
    }
    body
}

fn lower_env(block: &ast::Block, sink: &mut Diagnostics) -> Vec<EnvEntry> {
    let mut entries: Vec<EnvEntry> = Vec::with_capacity(block.entries.len());
    // Where each key was first written: searched among the entries so far in a short
    // block (nearly every one), remembered in a map in a long one (a service may have
    // hundreds of variables).
    let mut first_of: Option<HashMap<&str, Span>> = (block.entries.len() > 16).then(HashMap::default);
    for entry in &block.entries {
        let field = match entry {
            Entry::Field(field) => field,
            other => {
                sink.push(
                    Diagnostic::new(
                        Code::E202,
                        other.span(),
                        "`env` holds only `KEY = value` entries",
                        "unexpected here",
                    )
                    .with_help("write `KEY = \"value\"`, `KEY = secret-name` or `KEY = resource.attribute`"),
                );
                continue;
            }
        };
        let first = match &first_of {
            Some(first_of) => first_of.get(field.name.name.as_str()).copied(),
            None => entries.iter().find(|e| e.key == field.name.name).map(|e| e.key_span),
        };
        if let Some(first) = first {
            sink.push(
                Diagnostic::new(
                    Code::E205,
                    field.name.span,
                    format!("duplicate env key `{}`", field.name.name),
                    "written again here",
                )
                .with_label(first, "first written here")
                .with_help("remove one of the two entries"),
            );
            continue;
        }
        let value = match &field.value.kind {
            ValueKind::Str(s) => EnvVal::Literal(s.clone()),
            ValueKind::Path(path) if path.len() <= 2 => EnvVal::Ref(Reference {
                name: path[0].name.clone(),
                name_span: path[0].span,
                attr: path.get(1).map(|a| (a.name.clone(), a.span)),
                span: field.value.span,
            }),
            ValueKind::Invalid => EnvVal::Invalid,
            _ => {
                sink.push(
                    Diagnostic::new(
                        Code::E203,
                        field.value.span,
                        "expected a string or a reference",
                        "not an env value",
                    )
                    .with_help(
                        "env values are strings (`\"8080\"`), secrets (`db-password`) or attributes (`main.host`)",
                    ),
                );
                EnvVal::Invalid
            }
        };
        if let Some(first_of) = &mut first_of {
            first_of.insert(&field.name.name, field.name.span);
        }
        entries.push(EnvEntry {
            key: field.name.name.clone(),
            key_span: field.name.span,
            value,
            value_span: field.value.span,
            span: field.span,
        });
    }
    entries
}

/// Fields the specification still accepts but whose purpose is gone:
/// `(block, field, why, help)`. They are out of the schema (no completion, no
/// value in the model); written, they are W201 with a fix that removes them,
/// not E202, so a program written against the specification still builds.
const DEPRECATED_FIELDS: &[(&str, &str, &str, &str)] = &[(
    "state",
    "lock_table",
    "Terraform >= 1.10 locks the state with a lock file beside it in the bucket; the DynamoDB table is not used",
    "remove it: state locks with a lock file in the bucket (use_lockfile)",
)];

fn deprecated_field(field: &ast::Field, what: What) -> Option<Diagnostic> {
    let (_, name, why, help) = DEPRECATED_FIELDS
        .iter()
        .find(|(block, f, _, _)| what.name.is_none() && *block == what.kind && *f == field.name.name)?;
    Some(
        Diagnostic::new(
            Code::W201,
            field.name.span,
            format!("`{name}` in {what} is deprecated and ignored"),
            "deprecated field",
        )
        .with_note(*why)
        .with_help(*help)
        .with_replacement(format!("remove `{name}`"), field.span, ""),
    )
}

fn unknown_field(name: &ast::Ident, schema: &BlockSchema, what: What) -> Diagnostic {
    let d = Diagnostic::new(Code::E202, name.span, format!("unknown field `{}` in {what}", name.name), "unknown field");
    match closest(&name.name, schema.member_names()) {
        Some(s) => super::suggest::did_you_mean(d, name.span, s),
        None => {
            let names: Vec<String> = schema.member_names().map(str::to_string).collect();
            if names.is_empty() {
                d.with_help(format!("{what} takes no fields"))
            } else {
                d.with_help(format!("the fields of {what} are {}", values::backticked(&names)))
            }
        }
    }
}

/// A labelled block where none may be.
pub fn unexpected_block(block: &ast::Block, what: What) -> Diagnostic {
    Diagnostic::new(
        Code::E201,
        block.head_span(),
        format!("unexpected block `{}` in {what}", block.kind.name),
        "not allowed here",
    )
    .with_help("resources are declared directly in a `stack` or an `environment`")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{Body, FieldVal};
    use crate::model::schema::Capability;
    use crate::model::values::{EnvEntry, EnvVal, Val};
    use crate::source::{FileId, Span};

    fn field(name: &'static str, value: Val, at: usize) -> Arc<FieldVal> {
        let span = Span::new(FileId(0), at, at + 1);
        Arc::new(FieldVal { name, value, span, value_span: span, capability: Capability::Model })
    }

    fn env(entries: &[(&str, &str)], at: usize) -> Val {
        let span = Span::new(FileId(0), at, at + 1);
        Val::Env(
            entries
                .iter()
                .map(|(key, value)| EnvEntry {
                    key: key.to_string(),
                    key_span: span,
                    value: EnvVal::Literal(value.to_string()),
                    value_span: span,
                    span,
                })
                .collect(),
        )
    }

    #[test]
    fn an_environment_shares_the_fields_it_does_not_change() {
        let stack = Body {
            fields: vec![field("port", Val::Int(8080), 0), field("env", env(&[("A", "1"), ("B", "2")], 1), 1)],
            ..Body::default()
        };
        let over = Body {
            fields: vec![field("env", env(&[("B", "3"), ("C", "4")], 9), 9), field("replicas", Val::Int(2), 10)],
            ..Body::default()
        };
        let mut merged = stack.clone();
        merged.merge(&over);
        // `port` is the stack's field itself; `replicas` is the environment's.
        assert!(Arc::ptr_eq(&merged.fields[0], &stack.fields[0]));
        assert!(Arc::ptr_eq(&merged.fields[2], &over.fields[1]));
        // `env` merged key by key into a copy: the stack's own is unchanged.
        let pairs = |v: &Val| match v {
            Val::Env(entries) => entries
                .iter()
                .map(|e| match &e.value {
                    EnvVal::Literal(s) => format!("{}={s}", e.key),
                    _ => e.key.clone(),
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        assert_eq!(pairs(&merged.fields[1].value), ["A=1", "B=3", "C=4"]);
        assert_eq!(merged.fields[1].span, over.fields[0].span);
        assert_eq!(stack.fields[1].value, env(&[("A", "1"), ("B", "2")], 1));
    }
}
