//! Typed values: an AST value checked against a field's type (E203), its range
//! (E209) and units.
//!
//! A value that fails becomes [`Val::Invalid`]: it still counts as present (no
//! E204 for it), and rules that read values skip it.

use ipnet::Ipv4Net;

use super::schema::{Capability, FieldSchema, FieldType};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::syntax::ast::{self, Number, ValueKind};

/// A reference as written: `main` or `main.host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub name_span: Span,
    pub attr: Option<(String, Span)>,
    pub span: Span,
}

/// One `KEY = value` entry of `env { }`.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvEntry {
    pub key: String,
    pub key_span: Span,
    pub value: EnvVal,
    /// The value as written.
    pub value_span: Span,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EnvVal {
    Literal(String),
    Ref(Reference),
    Invalid,
}

/// A typed value, in base units.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Str(String),
    Int(u64),
    Bool(bool),
    Bytes(u64),
    Seconds(u64),
    Millicores(u64),
    Cidr(Ipv4Net),
    Range(u64, u64),
    Enum(String),
    Ref(Reference),
    Refs(Vec<Reference>),
    Strings(Vec<(String, Span)>),
    Env(Vec<EnvEntry>),
    Caps(Vec<(Capability, Span)>),
    /// Already reported; counts as present, never read.
    Invalid,
}

impl Val {
    /// The number a bound compares, for numeric types.
    fn magnitude(&self) -> Option<u64> {
        match self {
            Val::Int(n) | Val::Bytes(n) | Val::Seconds(n) | Val::Millicores(n) => Some(*n),
            _ => None,
        }
    }
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];
const DURATION_UNITS: &[(&str, u64)] = &[("s", 1), ("min", 60), ("h", 3600), ("d", 86_400)];

/// `` `a`, `b` or `c` ``.
pub fn backticked(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Whether a value holds a part already reported as invalid.
fn has_invalid(value: &ast::Value) -> bool {
    match &value.kind {
        ValueKind::Invalid => true,
        ValueKind::List(items) => items.iter().any(has_invalid),
        _ => false,
    }
}

fn mismatch(value: &ast::Value, ty: &FieldType, sink: &mut Diagnostics) -> Val {
    if has_invalid(value) {
        return Val::Invalid;
    }
    let found = found(value);
    let mut d = Diagnostic::new(
        Code::E203,
        value.span,
        format!("expected {}, found {found}", ty.describe()),
        format!("expected {}", short(ty)),
    );
    d = match (ty, &value.kind) {
        (FieldType::Enum(values), ValueKind::Str(s)) if values.contains(s) => {
            d.with_help(format!("enum values are bare words: write `{s}` without quotes"))
        }
        (FieldType::Size | FieldType::Duration, ValueKind::Int(n)) => {
            let unit = if *ty == FieldType::Size { "GiB" } else { "d" };
            d.with_help(format!("add a unit: `{n}{unit}`"))
        }
        (FieldType::Refs(_), ValueKind::Path(_)) => d.with_help("write the references as a list: `[name]`"),
        (FieldType::Strings, ValueKind::Str(s)) => d.with_help(format!("write a list: `[\"{s}\"]`")),
        (FieldType::String, ValueKind::Path(p)) => {
            let text: Vec<&str> = p.iter().map(|i| i.name.as_str()).collect();
            d.with_help(format!("quote it: `\"{}\"`", text.join(".")))
        }
        _ => d.with_help(format!("write {}", ty.describe())),
    };
    sink.push(d);
    Val::Invalid
}

/// What a value is, for "found ...".
fn found(value: &ast::Value) -> &'static str {
    match &value.kind {
        ValueKind::Str(_) => "a string",
        ValueKind::Int(_) => "an integer",
        ValueKind::Decimal(_) => "a decimal number",
        ValueKind::Quantity { .. } => "a quantity",
        ValueKind::Cidr { .. } => "a CIDR block",
        ValueKind::Range { .. } => "a range",
        ValueKind::Path(p) if p.len() == 1 => "a bare word",
        ValueKind::Path(_) => "a reference",
        ValueKind::List(_) => "a list",
        ValueKind::Invalid => "an invalid value",
    }
}

/// Whether `s` could be written as a bare name (`db`, `audit-key`).
fn is_name(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// E203 for a word written in quotes where a bare word is meant; the fix drops them.
fn quoted_word(item: &ast::Value, word: &str, want: &str, plural: &str) -> Diagnostic {
    Diagnostic::new(Code::E203, item.span, format!("expected {want}, found a string"), format!("expected {want}"))
        .with_help(format!("{plural} are bare words: write `{word}` without quotes"))
        .with_replacement("remove the quotes", item.span, word)
}

fn short(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::String => "a string",
        FieldType::Int => "an integer",
        FieldType::Bool => "a boolean",
        FieldType::Size => "a size",
        FieldType::Duration => "a duration",
        FieldType::Cpu => "a CPU amount",
        FieldType::Cidr => "a CIDR block",
        FieldType::Range => "a range",
        FieldType::Enum(_) => "an enum value",
        FieldType::Ref(_) => "a reference",
        FieldType::Refs(_) => "a list of references",
        FieldType::Strings => "a list of strings",
        FieldType::Env => "an env block",
        FieldType::Route => "a route",
        FieldType::Capabilities => "a list of capabilities",
    }
}

fn reference(path: &[ast::Ident], span: Span) -> Option<Reference> {
    match path {
        [name] => Some(Reference { name: name.name.clone(), name_span: name.span, attr: None, span }),
        [name, attr] => Some(Reference {
            name: name.name.clone(),
            name_span: name.span,
            attr: Some((attr.name.clone(), attr.span)),
            span,
        }),
        _ => None,
    }
}

fn quantity(
    value: &ast::Value,
    number: Number,
    unit: &str,
    units: &[(&str, u64)],
    ty: &FieldType,
    sink: &mut Diagnostics,
) -> Option<u64> {
    let Some((_, factor)) = units.iter().find(|(u, _)| *u == unit) else {
        let names: Vec<String> = units.iter().map(|(u, _)| u.to_string()).collect();
        sink.push(
            Diagnostic::new(Code::E203, value.span, format!("`{unit}` is not a unit of {}", short(ty)), "wrong unit")
                .with_help(format!("write {}; units: {}", ty.describe(), names.join(", "))),
        );
        return None;
    };
    let exact = number.times_exact(*factor);
    if exact.is_none() {
        sink.push(
            Diagnostic::new(Code::E203, value.span, "quantity is not a whole number of base units", "not exact")
                .with_help("use a smaller unit so that the value is exact"),
        );
    }
    exact
}

/// Checks a literal against a type (no bounds): E203 on mismatch, giving `Invalid`.
pub fn literal(value: &ast::Value, ty: &FieldType, sink: &mut Diagnostics) -> Val {
    match (ty, &value.kind) {
        (_, ValueKind::Invalid) => Val::Invalid,
        (FieldType::String, ValueKind::Str(s)) => Val::Str(s.clone()),
        (FieldType::Int, ValueKind::Int(n)) => Val::Int(*n),
        (FieldType::Bool, ValueKind::Path(p)) if p.len() == 1 && (p[0].name == "true" || p[0].name == "false") => {
            Val::Bool(p[0].name == "true")
        }
        (FieldType::Size, ValueKind::Quantity { number, unit }) => {
            quantity(value, *number, unit, SIZE_UNITS, ty, sink).map_or(Val::Invalid, Val::Bytes)
        }
        (FieldType::Duration, ValueKind::Quantity { number, unit }) => {
            quantity(value, *number, unit, DURATION_UNITS, ty, sink).map_or(Val::Invalid, Val::Seconds)
        }
        (FieldType::Cpu, ValueKind::Quantity { number, unit }) => {
            quantity(value, *number, unit, &[("m", 1)], ty, sink).map_or(Val::Invalid, Val::Millicores)
        }
        (FieldType::Cpu, ValueKind::Int(n)) => Val::Millicores(n.saturating_mul(1000)),
        (FieldType::Cpu, ValueKind::Decimal(number)) => match number.times_exact(1000) {
            Some(m) => Val::Millicores(m),
            None => {
                sink.push(
                    Diagnostic::new(Code::E203, value.span, "CPU amount is finer than a millicore", "not exact")
                        .with_help("write millicores, like `250m`"),
                );
                Val::Invalid
            }
        },
        (FieldType::Cidr, ValueKind::Cidr { addr, prefix }) => {
            Ipv4Net::new(std::net::Ipv4Addr::from(*addr), *prefix).map_or(Val::Invalid, Val::Cidr)
        }
        (FieldType::Range, ValueKind::Range { min, max }) => Val::Range(*min, *max),
        (FieldType::Range, ValueKind::Int(n)) => Val::Range(*n, *n),
        (FieldType::Enum(values), ValueKind::Path(p)) if p.len() == 1 => {
            if values.contains(&p[0].name) {
                Val::Enum(p[0].name.clone())
            } else {
                let mut d = Diagnostic::new(
                    Code::E203,
                    value.span,
                    format!("unknown value `{}`", p[0].name),
                    format!("expected {}", backticked(values)),
                );
                d = match super::suggest::closest(&p[0].name, values.iter().map(String::as_str)) {
                    Some(s) => d
                        .with_help(format!("did you mean `{s}`? allowed: {}", backticked(values)))
                        .with_replacement(format!("replace with `{s}`"), value.span, s),
                    None => d.with_help(format!("write one of {}", backticked(values))),
                };
                sink.push(d);
                Val::Invalid
            }
        }
        // `after = one`: reported, and read as the string meant, so that rules about
        // the value (the ladder's order, E703) do not follow from the quotes alone.
        (FieldType::String, ValueKind::Path(p)) => {
            mismatch(value, ty, sink);
            Val::Str(p.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("."))
        }
        (FieldType::Ref(_), ValueKind::Path(p)) => match reference(p, value.span) {
            Some(r) => Val::Ref(r),
            None => mismatch(value, ty, sink),
        },
        (FieldType::Refs(_), ValueKind::List(items)) => {
            let mut refs = Vec::with_capacity(items.len());
            let mut ok = true;
            for item in items {
                match &item.kind {
                    ValueKind::Path(p) => match reference(p, item.span) {
                        Some(r) => refs.push(r),
                        None => ok &= matches!(mismatch(item, ty, sink), Val::Ref(_)),
                    },
                    ValueKind::Invalid => ok = false,
                    // `["db"]`: reported, and read as the reference meant, so that the
                    // name still counts as used (no W601 or W802 follows).
                    ValueKind::Str(s) if is_name(s) => {
                        sink.push(quoted_word(item, s, "a reference", "names"));
                        refs.push(Reference { name: s.clone(), name_span: item.span, attr: None, span: item.span });
                    }
                    _ => {
                        let kinds = match ty {
                            FieldType::Refs(kinds) => kinds.clone(),
                            _ => Vec::new(),
                        };
                        mismatch(item, &FieldType::Ref(kinds), sink);
                        ok = false;
                    }
                }
            }
            if ok {
                Val::Refs(refs)
            } else {
                Val::Invalid
            }
        }
        (FieldType::Strings, ValueKind::List(items)) => {
            let mut out = Vec::new();
            for item in items {
                match &item.kind {
                    ValueKind::Str(s) => out.push((s.clone(), item.span)),
                    _ => return mismatch(item, &FieldType::String, sink),
                }
            }
            Val::Strings(out)
        }
        (FieldType::Capabilities, ValueKind::List(items)) => {
            let mut caps = Vec::new();
            for item in items {
                let word = match &item.kind {
                    ValueKind::Path(p) if p.len() == 1 => &p[0].name,
                    // `["model"]`: reported, and read as meant, so that the ladder
                    // still authorizes it (no E701 per construct follows).
                    ValueKind::Str(s) if Capability::parse(s).is_some() => {
                        sink.push(quoted_word(item, s, "a capability", "capabilities"));
                        s
                    }
                    ValueKind::Invalid => continue,
                    _ => {
                        let names: Vec<String> = Capability::ALL.iter().map(|c| c.as_str().to_string()).collect();
                        sink.push(
                            Diagnostic::new(
                                Code::E203,
                                item.span,
                                format!("expected a capability, found {}", found(item)),
                                "expected a capability",
                            )
                            .with_help(format!("capabilities are bare words: {}", backticked(&names))),
                        );
                        continue;
                    }
                };
                match Capability::parse(word) {
                    Some(c) => caps.push((c, item.span)),
                    None => {
                        let names: Vec<String> = Capability::ALL.iter().map(|c| c.as_str().to_string()).collect();
                        let mut d = Diagnostic::new(
                            Code::E703,
                            item.span,
                            format!("unknown capability `{word}`"),
                            "not a capability",
                        );
                        d = match super::suggest::closest(word, names.iter().map(String::as_str)) {
                            Some(s) => super::suggest::did_you_mean(d, item.span, s),
                            None => d.with_help(format!("capabilities are {}", backticked(&names))),
                        };
                        sink.push(d);
                    }
                }
            }
            Val::Caps(caps)
        }
        _ => mismatch(value, ty, sink),
    }
}

/// Checks a field's value against its schema: type, bounds and unit (E203, E209).
pub fn check_field(value: &ast::Value, field: &FieldSchema, sink: &mut Diagnostics) -> Val {
    let val = literal(value, &field.ty, sink);
    let out_of_range = |sink: &mut Diagnostics, what: String| {
        let range = match (&field.min, &field.max) {
            (Some(lo), Some(hi)) => format!("from {} to {}", display(lo, field), display(hi, field)),
            (Some(lo), None) => format!("at least {}", display(lo, field)),
            (None, Some(hi)) => format!("at most {}", display(hi, field)),
            (None, None) => String::new(),
        };
        sink.push(
            Diagnostic::new(Code::E209, value.span, format!("`{}` is outside the allowed range", field.name), what)
                .with_help(format!("`{}` must be {range}", field.name)),
        );
        Val::Invalid
    };
    let lo = field.min.as_ref().and_then(Val::magnitude);
    let hi = field.max.as_ref().and_then(Val::magnitude);
    if let Val::Range(min, max) = val {
        if min > max {
            sink.push(
                Diagnostic::new(Code::E209, value.span, format!("range `{min}..{max}` is empty"), "min is above max")
                    .with_help(format!("write `{max}..{min}`")),
            );
            return Val::Invalid;
        }
        if lo.is_some_and(|lo| min < lo) || hi.is_some_and(|hi| max > hi) {
            return out_of_range(sink, format!("`{min}..{max}` is out of range"));
        }
        return val;
    }
    if let (Val::Cidr(net), Some((lo, hi))) = (&val, field.prefix) {
        let len = net.prefix_len();
        if len < lo || len > hi {
            let why = if len < lo { "larger" } else { "smaller" };
            sink.push(
                Diagnostic::new(
                    Code::E209,
                    value.span,
                    format!("`{}` prefix /{len} is outside the allowed range", field.name),
                    format!("/{len} is {why} than AWS allows"),
                )
                .with_help(format!("`{}` must be a block from /{lo} to /{hi}, like `10.0.0.0/16`", field.name)),
            );
            return Val::Invalid;
        }
    }
    if let (Val::Str(s), Some(format)) = (&val, field.format) {
        if let Err(problem) = format.check(s) {
            sink.push(format_problem(value.span, field.name, format.what(), &format.accepted(), problem));
            return Val::Invalid;
        }
    }
    let Some(n) = val.magnitude() else { return val };
    if lo.is_some_and(|lo| n < lo) || hi.is_some_and(|hi| n > hi) {
        let shown = display(&val, field);
        return out_of_range(sink, format!("{shown} is out of range"));
    }
    if let Some((step, unit)) = &field.unit {
        if n % step != 0 {
            sink.push(
                Diagnostic::new(
                    Code::E209,
                    value.span,
                    format!("`{}` must be a whole number of {unit}", field.name),
                    format!("not a whole number of {unit}"),
                )
                .with_help(format!("round it to whole {unit}")),
            );
            return Val::Invalid;
        }
    }
    val
}

/// E209 for a string that does not have its field's form: `what` it must be, what is
/// `accepted`, and the value meant as a replacement when it can be told. The value
/// itself is not repeated (it may hold a credential, E502).
pub fn format_problem(
    span: Span,
    field: &str,
    what: &str,
    accepted: &str,
    problem: super::formats::Problem,
) -> Diagnostic {
    let d = Diagnostic::new(Code::E209, span, format!("`{field}` is not {what}"), problem.why);
    match problem.fix {
        // A fix always has its field's form: no quote or backslash to escape.
        Some(fix) => d.with_help(format!("did you mean `\"{fix}\"`? {accepted}")).with_replacement(
            format!("write `\"{fix}\"`"),
            span,
            format!("\"{fix}\""),
        ),
        None => d.with_help(accepted),
    }
}

/// A value as people write it: sizes in the largest exact binary unit, durations in
/// the largest exact unit.
pub fn display(val: &Val, field: &FieldSchema) -> String {
    let _ = field;
    let pick = |n: u64, units: &[(&str, u64)]| {
        units
            .iter()
            .rev()
            .find(|(_, f)| n % f == 0 && n >= *f)
            .map(|(u, f)| format!("{}{u}", n / f))
            .unwrap_or_else(|| format!("{n}{}", units[0].0))
    };
    match val {
        Val::Int(n) => n.to_string(),
        Val::Bytes(n) => pick(*n, &SIZE_UNITS[..5]),
        Val::Seconds(n) => pick(*n, DURATION_UNITS),
        Val::Millicores(n) if n % 1000 == 0 => (n / 1000).to_string(),
        Val::Millicores(n) => format!("{n}m"),
        Val::Range(a, b) => format!("{a}..{b}"),
        Val::Str(s) => format!("{s:?}"),
        Val::Bool(b) => b.to_string(),
        Val::Enum(e) => e.clone(),
        Val::Cidr(c) => c.to_string(),
        _ => "…".to_string(),
    }
}
