//! A tiny typed builder for Terraform JSON: literals versus references.
//!
//! Every string that comes from the program goes through [`lit`], which escapes
//! Terraform template syntax (`${` → `$${`, `%{` → `%%{`); only [`reference`] and
//! [`template`] produce `${...}` on purpose. [`TfFile`] collects blocks and renders a
//! file with a `"//"` header, keys sorted (serde_json's default `Map` is a `BTreeMap`).

use serde_json::{Map, Value};

/// Escapes a literal for a Terraform template string: `${` → `$${`, `%{` → `%%{`.
/// JSON string escaping (quotes, backslashes, newlines) is serde_json's job.
pub fn escape(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

/// A literal string from the program (or from govc itself), escaped.
pub fn lit(s: impl AsRef<str>) -> Value {
    Value::String(escape(s.as_ref()))
}

/// A Terraform expression meant as such: `reference("aws_vpc.main.id")` is `"${aws_vpc.main.id}"`.
pub fn reference(expr: impl AsRef<str>) -> Value {
    Value::String(format!("${{{}}}", expr.as_ref()))
}

/// One piece of a [`template`]: an escaped literal or a Terraform expression.
pub enum Part<'a> {
    /// Literal text, escaped.
    Lit(&'a str),
    /// An expression, interpolated as `${expr}`.
    Ref(&'a str),
}

/// A string template mixing literals and references, e.g. `${aws_x.y.arn}:*`.
pub fn template(parts: &[Part<'_>]) -> Value {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Lit(s) => out.push_str(&escape(s)),
            Part::Ref(e) => {
                out.push_str("${");
                out.push_str(e);
                out.push('}');
            }
        }
    }
    Value::String(out)
}

/// A list of escaped literals.
pub fn lits<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(lit).collect())
}

/// A list of references.
pub fn refs<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Value {
    Value::Array(items.into_iter().map(reference).collect())
}

/// Builds a JSON object from `(key, value)` pairs; keys are govc's own (not escaped).
pub fn obj<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A tags map `{Name = <name>}` plus extra pairs, all values escaped literals.
pub fn tags(name: &str, extra: &[(String, String)]) -> Value {
    let mut map = Map::new();
    map.insert("Name".to_string(), lit(name));
    for (k, v) in extra {
        map.insert(escape(k), lit(v));
    }
    Value::Object(map)
}

/// Turns a program name into a Terraform identifier (letters, digits, `_`, `-`;
/// starting with a letter or `_`).
pub fn ident(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

/// One `.tf.json` file being built: resources, data sources, outputs, top-level blocks.
#[derive(Default)]
pub struct TfFile {
    root: Map<String, Value>,
}

impl TfFile {
    /// An empty file whose `"//"` comment is `header`.
    pub fn new(header: &str) -> Self {
        let mut root = Map::new();
        root.insert("//".to_string(), Value::String(header.to_string()));
        TfFile { root }
    }

    fn nested(&mut self, path: &[&str]) -> &mut Map<String, Value> {
        let mut map = &mut self.root;
        for key in path {
            let entry = map.entry(key.to_string()).or_insert_with(|| Value::Object(Map::new()));
            map = entry.as_object_mut().expect("builder blocks are objects");
        }
        map
    }

    /// Adds `resource.<ty>.<name> = body`.
    pub fn resource(&mut self, ty: &str, name: &str, body: Value) {
        self.nested(&["resource", ty]).insert(name.to_string(), body);
    }

    /// Adds `data.<ty>.<name> = body`.
    pub fn data(&mut self, ty: &str, name: &str, body: Value) {
        self.nested(&["data", ty]).insert(name.to_string(), body);
    }

    /// Adds `output.<name>` with its value and a description saying why it exists.
    pub fn output(&mut self, name: &str, value: Value, description: &str) {
        let body = obj([("description", lit(description)), ("value", value)]);
        self.nested(&["output"]).insert(name.to_string(), body);
    }

    /// Sets a top-level key (`terraform`, `provider`).
    pub fn top(&mut self, key: &str, value: Value) {
        self.root.insert(key.to_string(), value);
    }

    /// Renders pretty JSON with a trailing newline.
    pub fn render(self) -> Result<String, String> {
        let mut text = serde_json::to_string_pretty(&Value::Object(self.root)).map_err(|e| e.to_string())?;
        text.push('\n');
        Ok(text)
    }
}

/// Adds `(key, value)` to an object value (used to extend a body built with [`obj`]).
pub fn set(body: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = body {
        map.insert(key.to_string(), value);
    }
}
