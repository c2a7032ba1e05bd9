//! Parser tests: every construct, every syntax diagnostic, recovery and robustness.

use super::*;
use crate::diag::Diagnostic;
use ast::Number;

fn parse(text: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut sources = Sources::new();
    sources.add("test.gov", text);
    let mut diags = Diagnostics::new();
    let file = parse_file(&sources, FileId(0), &mut diags);
    (file, diags.into_sorted())
}

/// Parses `text`, asserting it has no diagnostics.
fn parse_ok(text: &str) -> ast::File {
    let (file, diags) = parse(text);
    assert!(diags.is_empty(), "unexpected diagnostics: {diags:#?}");
    file
}

/// Parses `text`, asserting exactly one diagnostic with `code` whose primary span covers `at`
/// (`before|at` locates `at` right after the first `before`).
fn parse_one(text: &str, code: Code, at: &str) -> (ast::File, Diagnostic) {
    let (file, mut diags) = parse(text);
    assert_eq!(diags.len(), 1, "expected one diagnostic for {text:?}, got {diags:#?}");
    let diag = diags.remove(0);
    assert_eq!(diag.code, code, "{diag:#?}");
    let (before, at) = at.split_once('|').unwrap_or(("", at));
    let start = text.find(&format!("{before}{at}")).expect("`at` occurs in the text") + before.len();
    assert_eq!(diag.span().range(), start..start + at.len(), "{diag:#?}");
    assert!(diag.help.is_some(), "every diagnostic has help: {diag:#?}");
    assert!(!diag.message.ends_with('.') && !diag.message.starts_with(|c: char| c.is_uppercase()), "{diag:#?}");
    (file, diag)
}

/// The value of the first field of the first block.
fn value_of(text: &str) -> ValueKind {
    let file = parse_ok(&format!("x {{ v = {text} }}"));
    match &file.items[0].entries[0] {
        Entry::Field(field) => field.value.kind.clone(),
        other => panic!("not a field: {other:?}"),
    }
}

fn names(path: &ValueKind) -> Vec<&str> {
    match path {
        ValueKind::Path(idents) => idents.iter().map(|i| i.name.as_str()).collect(),
        other => panic!("not a path: {other:?}"),
    }
}

const LANGUAGE_EXAMPLE: &str = r#"project zenthea {
  phase = "build"                                   # the governance phase in force
  environments = [local, staging, production]       # the promotion order
}

stack app {                    # the shape, shared by every environment using it
  network core { }
  postgres main { version = 16 }
  secret db-password { }
  service api {
    port = 8080
    connects = [main]
    env {
      LOG_LEVEL = "info"
      DATABASE_HOST = main.host
      DATABASE_PASSWORD = db-password
    }
  }
  ingress edge {
    route "/" -> api
  }
}

environment production {
  tier = production            # local | dev | staging | production
  stack = app
  mirrors = staging            # optional: this environment's topology must equal staging's
  aws { account = "111111111111"  region = "eu-west-1" }
  state { bucket = "zenthea-tfstate-production" }

  network core { cidr = 10.30.0.0/16  zones = 3 }
  postgres main {
    class = "db.m6g.large"
    storage = 200GiB
    backup_retention = 14d
    deletion_protection = true
    multi_az = true
  }
  secret db-password { path = "zenthea/production/db-password" }
  service api {
    image = "registry.example.com/zenthea/api@sha256:<64 hex>"
    replicas = 3..12
    cpu = 500m
    memory = 1GiB
    env { LOG_LEVEL = "warn" }
  }
  ingress edge { host = "api.zenthea.example" }
}
"#;

#[test]
fn language_example_parses() {
    let file = parse_ok(LANGUAGE_EXAMPLE);
    let heads: Vec<_> = file.items.iter().map(|b| (b.kind.name.as_str(), b.label.as_ref().map(|l| l.text()))).collect();
    assert_eq!(heads, [("project", Some("zenthea")), ("stack", Some("app")), ("environment", Some("production"))]);
    let stack = &file.items[1];
    assert_eq!(stack.entries.len(), 5);
    let Entry::Block(service) = &stack.entries[3] else { panic!("service is a block") };
    let at = LANGUAGE_EXAMPLE.find("service api").expect("in the example");
    assert_eq!(service.head_span(), Span::new(FileId(0), at, at + 11));
    assert_eq!(&LANGUAGE_EXAMPLE[service.span.range()][..13], "service api {");
    assert!(LANGUAGE_EXAMPLE[service.span.range()].ends_with('}'));
    let Entry::Block(env) = &service.entries[2] else { panic!("env is a block") };
    let Entry::Field(host) = &env.entries[1] else { panic!("a field") };
    assert_eq!(names(&host.value.kind), ["main", "host"]);
    let production = &file.items[2];
    assert_eq!(production.entries.len(), 10);
}

#[test]
fn stdlib_parses() {
    for (path, text) in crate::stdlib::FILES {
        let (file, diags) = parse(text);
        assert!(diags.is_empty(), "{path}: {diags:#?}");
        assert!(!file.items.is_empty(), "{path}");
    }
}

#[test]
fn big_file_parses() {
    let text = synthetic_fleet(1_000);
    let file = parse_ok(&text);
    assert_eq!(file.items.len(), 2);
    assert_eq!(file.items[1].entries.len(), 1_000);
}

/// A valid file's tree holds no spare room: every body, list and path is a vector of
/// exactly its items (the fast path collects them on scratch stacks). A fleet holds
/// hundreds of thousands of them, and a vector grown a push at a time keeps room for
/// four entries where most bodies have two or three.
#[test]
fn a_valid_tree_holds_no_spare_room() {
    fn value(v: &ast::Value) {
        match &v.kind {
            ValueKind::Path(path) => assert_eq!(path.capacity(), path.len(), "path at {:?}", v.span),
            ValueKind::List(items) => {
                assert_eq!(items.capacity(), items.len(), "list at {:?}", v.span);
                items.iter().for_each(value);
            }
            _ => {}
        }
    }
    fn block(b: &ast::Block) {
        assert_eq!(b.entries.capacity(), b.entries.len(), "block `{}`", b.kind.name);
        for entry in &b.entries {
            match entry {
                Entry::Field(field) => value(&field.value),
                Entry::Block(inner) => block(inner),
                Entry::Route(_) => {}
            }
        }
    }
    let mut text = synthetic_fleet(50);
    text.push_str(
        "x { nested { deeper { a = [[p.q.r, s], [], [t]] } b = 1 } c = [u] }
",
    );
    let file = parse_ok(&text);
    assert_eq!(file.items.len(), 3);
    file.items.iter().for_each(block);
}

/// A file like `fleet_gov.py`'s output: `n` services of ten lines each.
fn synthetic_fleet(n: usize) -> String {
    let mut text = String::from(
        "project fleet {\n  phase = \"wire\"\n  environments = [dev, staging, production]\n}\nstack fleet {\n",
    );
    for i in 0..n {
        text.push_str(&format!(
            "  ## Service {i}.\n  service svc-{i} {{\n    port = 8080\n    replicas = 1..{}\n    cpu = 0.5\n    memory = 512MiB\n    connects = [main, svc-0]\n    env {{ LOG_LEVEL = \"info\"  DB_HOST = main.host }}\n    image = \"registry.example.com/svc-{i}@sha256:abc\"\n  }}\n",
            i % 9 + 2
        ));
    }
    text.push_str("}\n");
    text
}

/// Parses the fleet generated by `fleet_gov.py` when `GOVC_FLEET_DIR` names it, and
/// prints the time taken (run with `cargo test --release -- --nocapture`).
#[test]
fn fleet_parses_and_timing() {
    let Some(dir) = std::env::var_os("GOVC_FLEET_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let mut paths = vec![dir.join("project.gov")];
    let mut envs: Vec<_> =
        std::fs::read_dir(dir.join("envs")).expect("envs/ exists").map(|e| e.expect("entry").path()).collect();
    envs.sort();
    paths.extend(envs);
    let mut sources = Sources::new();
    for path in &paths {
        sources.add(path.display().to_string(), std::fs::read_to_string(path).expect("readable"));
    }
    let lines: usize = sources.iter().map(|(_, source)| source.text.lines().count()).sum();
    let mut times = Vec::new();
    for _ in 0..20 {
        let start = std::time::Instant::now();
        let mut diags = Diagnostics::new();
        for (id, _) in sources.iter() {
            let file = parse_file(&sources, id, &mut diags);
            assert!(!file.items.is_empty());
        }
        times.push(start.elapsed());
        assert!(diags.is_empty(), "{:#?}", diags.into_sorted());
    }
    times.sort();
    let (min, median) = (times[0], times[times.len() / 2]);
    println!("parsed {} files, {lines} lines: min {min:?}, median {median:?}", paths.len());
}

#[test]
fn values() {
    assert_eq!(value_of("\"a\\\"b\\\\c\\nd\\te\\u{1F600}\""), ValueKind::Str("a\"b\\c\nd\te\u{1F600}".into()));
    assert_eq!(value_of("1_000"), ValueKind::Int(1000));
    assert_eq!(value_of("0.5"), ValueKind::Decimal(Number { mantissa: 5, scale: 1 }));
    assert_eq!(value_of("100GiB"), ValueKind::Quantity { number: Number::integer(100), unit: "GiB".into() });
    assert_eq!(
        value_of("0.5GiB"),
        ValueKind::Quantity { number: Number { mantissa: 5, scale: 1 }, unit: "GiB".into() }
    );
    assert_eq!(value_of("1.5h"), ValueKind::Quantity { number: Number { mantissa: 15, scale: 1 }, unit: "h".into() });
    assert_eq!(value_of("250m"), ValueKind::Quantity { number: Number::integer(250), unit: "m".into() });
    assert_eq!(value_of("5min"), ValueKind::Quantity { number: Number::integer(5), unit: "min".into() });
    assert_eq!(value_of("10.30.0.0/16"), ValueKind::Cidr { addr: 0x0a1e_0000, prefix: 16 });
    assert_eq!(value_of("0.0.0.0/0"), ValueKind::Cidr { addr: 0, prefix: 0 });
    assert_eq!(value_of("3..12"), ValueKind::Range { min: 3, max: 12 });
    assert_eq!(value_of("3 .. 12"), ValueKind::Range { min: 3, max: 12 });
    assert_eq!(names(&value_of("true")), ["true"]);
    assert_eq!(names(&value_of("main.host")), ["main", "host"]);
    assert_eq!(names(&value_of("db-password")), ["db-password"]);
    assert_eq!(value_of("9223372036854775807"), ValueKind::Int(i64::MAX as u64));
}

#[test]
fn lists() {
    let list = |text| match value_of(text) {
        ValueKind::List(items) => items.into_iter().map(|v| v.kind).collect::<Vec<_>>(),
        other => panic!("not a list: {other:?}"),
    };
    assert_eq!(list("[]"), []);
    assert_eq!(list("[1, 2, 3]"), [ValueKind::Int(1), ValueKind::Int(2), ValueKind::Int(3)]);
    assert_eq!(list("[\n  1\n  2,\n  3,\n]"), [ValueKind::Int(1), ValueKind::Int(2), ValueKind::Int(3)]);
    assert_eq!(list("[[1], []]").len(), 2);
    assert_eq!(list("[a.b, \"s\", 1..2]").len(), 3);
    assert_eq!(list("[\n  ## first\n  a,\n  ## last\n]").len(), 1);
}

#[test]
fn entries_need_no_separator() {
    let file = parse_ok("x { a = 1  b = 2; c = 3, d = e f { } g = [1] }");
    let names: Vec<_> = file.items[0]
        .entries
        .iter()
        .map(|e| match e {
            Entry::Field(f) => f.name.name.as_str(),
            Entry::Block(b) => b.kind.name.as_str(),
            Entry::Route(_) => "route",
        })
        .collect();
    assert_eq!(names, ["a", "b", "c", "d", "f", "g"]);
}

#[test]
fn routes() {
    let text = "ingress edge {\n  route \"/\" -> api\n  route \"/admin\" -> admin:9090\n  route = 1\n}";
    let file = parse_ok(text);
    let entries = &file.items[0].entries;
    let Entry::Route(plain) = &entries[0] else { panic!("a route") };
    assert_eq!((plain.path.value.as_str(), plain.target.name.as_str(), plain.port), ("/", "api", None));
    assert_eq!(&text[plain.span.range()], "route \"/\" -> api");
    let Entry::Route(ported) = &entries[1] else { panic!("a route") };
    assert_eq!(ported.target.name, "admin");
    assert_eq!(ported.port.map(|p| p.0), Some(9090));
    assert_eq!(&text[ported.port.expect("a port").1.range()], "9090");
    assert!(matches!(&entries[2], Entry::Field(f) if f.name.name == "route"));
}

#[test]
fn arrow_after_ident() {
    let file = parse_ok("x { route \"/\"->api-v2 }");
    let Entry::Route(route) = &file.items[0].entries[0] else { panic!("a route") };
    assert_eq!(route.target.name, "api-v2");
}

#[test]
fn doc_comments_attach() {
    let text = "## The project.\n## Second line.\nproject p {\n  ## A field.\n  phase = \"x\"\n  # plain\n  ## A block.\n  env { }\n  ## A route.\n  route \"/\" -> a\n  ## Dangling.\n}\n## Dangling at end.\n";
    let file = parse_ok(text);
    let project = &file.items[0];
    assert_eq!(project.doc.as_deref(), Some("The project.\nSecond line."));
    assert_eq!(&text[project.span.range()][..9], "project p");
    let docs: Vec<_> = project
        .entries
        .iter()
        .map(|e| match e {
            Entry::Field(it) => it.doc.clone(),
            Entry::Block(it) => it.doc.clone(),
            Entry::Route(it) => it.doc.clone(),
        })
        .collect();
    assert_eq!(docs, [Some("A field.".into()), Some("A block.".into()), Some("A route.".into())]);
}

#[test]
fn block_labels() {
    let file = parse_ok("phase \"build\" { }\nnetwork core { }\naws { }");
    assert!(matches!(&file.items[0].label, Some(BlockLabel::Str(s)) if s.value == "build"));
    assert!(matches!(&file.items[1].label, Some(BlockLabel::Name(n)) if n.name == "core"));
    assert!(file.items[2].label.is_none());
}

#[test]
fn comments_and_empty() {
    assert!(parse_ok("").items.is_empty());
    assert!(parse_ok("# only a comment\n## and a doc\n").items.is_empty());
    assert_eq!(parse_ok("x { } # trailing").items.len(), 1);
}

// ---- E101 ----

#[test]
fn e101_unexpected_token() {
    let (file, diag) = parse_one("x { a = = 1 }\ny { b = 2 }", Code::E101, "= |=");
    assert_eq!(file.items.len(), 2);
    assert_eq!(diag.message, "unexpected `=`, expected a value");
    parse_ok("x { a = 1 }\ny { b = 2 }");
}

#[test]
fn e101_missing_value_before_brace() {
    let (file, diag) = parse_one("x { a = }", Code::E101, "= |}");
    assert_eq!(file.items.len(), 1);
    assert!(diag.message.contains("expected a value"), "{diag:#?}");
}

#[test]
fn e101_bad_characters() {
    let (file, diag) = parse_one("x { a = 1 @@@ b = 2 }", Code::E101, "@@@");
    assert_eq!(diag.message, "unexpected characters `@@@`");
    assert_eq!(file.items[0].entries.len(), 2);
    // A bad character where a value belongs: still one diagnostic.
    let (file, _) = parse_one("x { a = $ b = 2 }", Code::E101, "$");
    assert_eq!(file.items[0].entries.len(), 2);
    parse_one("x { a = 1 } %\ny { }", Code::E101, "%");
}

#[test]
fn e101_unclosed_string() {
    let (file, diag) = parse_one("x { a = \"abc\n b = 2 }", Code::E101, "\"abc");
    assert_eq!(diag.message, "unclosed string");
    assert_eq!(file.items[0].entries.len(), 2);
    parse_one("x { a = \"abc", Code::E101, "\"abc");
    // The string swallows the closing brace: still one mistake.
    let (file, _) = parse_one("x { env { A = \"abc }\n}\ny { b = 1 }", Code::E101, "\"abc }");
    assert_eq!(file.items.len(), 1, "`y` is parsed inside `x`");
}

#[test]
fn e101_unclosed_block_keeps_fields() {
    let text = "service api {\n  port = 8080\n  env { A = \"b\" }\n";
    let (file, diag) = parse_one(text, Code::E101, "api |{");
    assert_eq!(diag.message, "unclosed block `service api`");
    assert_eq!(diag.help.as_deref(), Some("add `}`"));
    let block = &file.items[0];
    assert_eq!(block.entries.len(), 2);
    assert_eq!(block.span.end as usize, text.len());
    let (_, diag) = parse_one("a { b {\n c = 1\n", Code::E101, "b |{");
    assert_eq!(diag.message, "unclosed block `b`");
    let (_, diag) = parse_one("x { v = [1, 2\n", Code::E101, "[");
    assert_eq!(diag.message, "unclosed list");
}

#[test]
fn e101_stray_brace() {
    let (file, diag) = parse_one("x { }\n}\ny { a = 1 }", Code::E101, "\n|}");
    assert_eq!(diag.message, "unexpected `}`");
    assert_eq!(file.items.len(), 2);
    parse_one("x { } }}\ny { }", Code::E101, "} |}}");
}

#[test]
fn e101_top_level_field() {
    let (file, _) = parse_one("a = 1\nx { }", Code::E101, "=");
    assert_eq!(file.items.len(), 1);
}

#[test]
fn e101_invalid_utf8() {
    let mut sources = Sources::new();
    sources.add_bytes("bad.gov", b"x { a = \"\xff\" }".to_vec());
    let mut diags = Diagnostics::new();
    let file = parse_file(&sources, FileId(0), &mut diags);
    assert!(file.items.is_empty());
    let diags = diags.into_sorted();
    assert_eq!(diags.len(), 1);
    assert_eq!(
        (diags[0].code, diags[0].message.as_str(), diags[0].span().start),
        (Code::E101, "file is not valid UTF-8", 9)
    );
}

#[test]
fn e101_in_list_recovers() {
    let (file, _) = parse_one("x { v = [1, =, 2]  w = 3 }", Code::E101, ", |=");
    let entries = &file.items[0].entries;
    assert_eq!(entries.len(), 2);
    assert!(matches!(&entries[0], Entry::Field(f) if f.value.kind == ValueKind::Invalid));
}

#[test]
fn e101_messages_list_what_was_expected() {
    let (_, diag) = parse_one("x { a = 1.. }", Code::E101, "}");
    assert_eq!(diag.message, "unexpected `}`, expected a number");
    let (_, diag) = parse_one("x { v = [1, 2 }", Code::E101, "}");
    assert_eq!(diag.message, "unexpected `}`, expected `]` or a value");
    let (_, diag) = parse_one("x { = 1 }", Code::E101, "=");
    assert_eq!(diag.message, "unexpected `=`, expected a field name");
    let (_, diag) = parse_one("\"x\" { }", Code::E101, "\"x\"");
    assert_eq!(diag.message, "unexpected `\"x\"`, expected a block");
}

#[test]
fn e101_missing_arrow() {
    let (_, diag) = parse_one("x { route \"/\" api }", Code::E101, "api");
    assert!(diag.message.contains("`->`"), "{diag:#?}");
}

// ---- E102 ----

#[test]
fn e102_literals() {
    let (file, diag) = parse_one("x { a = 5Gib }", Code::E102, "Gib");
    assert!(diag.help.as_deref().is_some_and(|h| h.contains("`GiB`")));
    assert!(matches!(&file.items[0].entries[0], Entry::Field(f) if f.value.kind == ValueKind::Invalid));
    parse_ok("x { a = 5GiB }");

    let (_, diag) = parse_one("x { a = 10.30.1.0/16 }", Code::E102, "10.30.1.0/16");
    assert_eq!(diag.message, "`10.30.1.0/16` has host bits set");
    assert_eq!(diag.help.as_deref(), Some("write `10.30.0.0/16`"));
    parse_one("x { a = 10.300.0.0/16 }", Code::E102, "10.300.0.0/16");
    parse_one("x { a = 10.0.0.0/33 }", Code::E102, "10.0.0.0/33");
    parse_one("x { a = 10.0.0.0 }", Code::E102, "10.0.0.0");
    parse_ok("x { a = 10.0.0.0/8 }");

    parse_one("x { a = 9223372036854775808 }", Code::E102, "9223372036854775808");
    parse_one("x { a = 99999999999999999999999..3 }", Code::E102, "99999999999999999999999");
}

#[test]
fn e102_escapes_keep_the_string() {
    let (file, diag) = parse_one("x { a = \"a\\qb\" }", Code::E102, "\\q");
    assert!(diag.message.contains("unknown escape"));
    assert!(matches!(&file.items[0].entries[0], Entry::Field(f) if f.value.kind == ValueKind::Str("a\\qb".into())));
    parse_one("x { a = \"\\u{110000}\" }", Code::E102, "\\u{110000}");
    parse_one("x { a = \"\\u{zz}\" }", Code::E102, "\\u{zz}");
    parse_ok("x { a = \"\\u{10FFFF}\" }");
}

// ---- E103 ----

fn nested(open: &str, close: &str, depth: usize) -> String {
    let mut text = String::from("x { v = ");
    for _ in 0..depth {
        text.push_str(open);
    }
    for _ in 0..depth {
        text.push_str(close);
    }
    text.push_str(" w = 1 }");
    text
}

#[test]
fn e103_nesting_limit() {
    // The block `x` is one level, so 63 lists reach the limit exactly.
    parse_ok(&nested("[", "]", MAX_NESTING - 1));
    let text = nested("[", "]", MAX_NESTING);
    let (file, diag) = parse(&text);
    assert_eq!(diag.len(), 1, "{diag:#?}");
    assert_eq!((diag[0].code, diag[0].span().start), (Code::E103, 8 + MAX_NESTING as u32 - 1));
    assert_eq!(file.items[0].entries.len(), 2);

    let mut blocks = String::new();
    for _ in 0..MAX_NESTING {
        blocks.push_str("a { ");
    }
    blocks.push_str(&"} ".repeat(MAX_NESTING));
    parse_ok(&blocks);
    let text = format!("b {{ {blocks} }}");
    let (_, diags) = parse(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let innermost = text.rfind('{').expect("has braces");
    assert_eq!((diags[0].code, diags[0].span().range()), (Code::E103, innermost..innermost + 1));
}

#[test]
fn e103_deep_input_does_not_overflow() {
    for text in
        ["[".repeat(100_000), "{".repeat(100_000), format!("x {{ v = {}", "[".repeat(100_000)), "a { ".repeat(100_000)]
    {
        let (_, diags) = parse(&text);
        assert!(diags.iter().any(|d| d.code == Code::E103), "{diags:#?}");
        assert!(diags.len() <= 2, "{diags:#?}");
    }
    let (_, diags) = parse(&"a { ".repeat(100_000));
    assert_eq!(diags.len(), 1, "{diags:#?}");
}

#[test]
fn e103_file_too_large() {
    let text = "# padding\n".repeat(MAX_FILE_BYTES / 10 + 1);
    let (file, diags) = parse(&text);
    assert!(file.items.is_empty());
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].code, Code::E103);
}

// ---- recovery ----

#[test]
fn three_mistakes_three_diagnostics() {
    let text = r#"
project p { phase = "x"  environments = [a b] }
stack s {
  service api { port = = 8080  image = "i" }
  postgres main { version = 16 }
}
environment a {
  tier = dev
  network core { cidr = 10.0.1.0/16  zones = 2 }
}
environment b {
  tier = @ dev
  stack = s
}
ingress edge { route "/" -> api }
"#;
    let (file, diags) = parse(text);
    assert_eq!(diags.len(), 3, "{diags:#?}");
    let codes: Vec<_> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::E101, Code::E102, Code::E101]);
    assert_eq!(file.items.len(), 5);
    let Entry::Block(api) = &file.items[1].entries[0] else { panic!("a block") };
    assert_eq!(api.entries.len(), 2, "the broken field is kept as an invalid value, `image` too");
    assert_eq!(file.items[1].entries.len(), 2);
    assert_eq!(file.items[2].entries.len(), 2);
    assert_eq!(file.items[3].entries.len(), 2);
    assert_eq!(file.items[4].entries.len(), 1);
}

#[test]
fn garbage_block_head_recovers() {
    let (file, _) = parse_one("service api extra { port = 1 }\nx { }", Code::E101, "extra");
    assert_eq!(file.items.len(), 2);
}

// ---- the fast path ----

mod fast_path {
    use super::super::both_parsers;

    /// The fast path builds chumsky's tree wherever it parses, and parses every
    /// valid file chumsky parses (except those holding an already reported token).
    pub(super) fn agree(text: &str) {
        let (fast, slow, reported) = both_parsers(text);
        match fast {
            Some(fast) => assert_eq!(Some(fast), slow, "the parsers disagree on {text:?}"),
            None => assert!(reported || slow.is_none(), "the fast path gave up on a valid file: {text:?}"),
        }
    }

    /// Every `.gov` file of the repository, valid or broken (`tests/cases` holds
    /// a case for each syntax error), and each of its prefixes at every line.
    #[test]
    fn the_parsers_agree_on_every_gov_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut stack = vec![root.clone()];
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("a readable directory") {
                let path = entry.expect("an entry").path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if path.is_dir() && !name.starts_with('.') && !matches!(name, "target" | "node_modules" | "generated") {
                    stack.push(path);
                } else if name.ends_with(".gov") {
                    let Ok(text) = std::fs::read_to_string(&path) else { continue };
                    agree(&text);
                    for (at, _) in text.match_indices('\n') {
                        agree(&text[..at]);
                    }
                    files += 1;
                }
            }
        }
        assert!(files >= 150, "found only {files} .gov files under {}", root.display());
        agree(&super::synthetic_fleet(50));
        agree(super::LANGUAGE_EXAMPLE);
    }

    /// Each construct, and the places where the two grammars could part.
    #[test]
    fn the_parsers_agree_on_each_construct() {
        for text in [
            "",
            "## only a doc",
            "x { }",
            "x y { } ## trailing",
            "x \"label\" { ; , a = 1 ; b = 2,, c { } }",
            "x { route \"/\" -> api route \"/a\" -> api:8080 }",
            "x { route = 1 }",
            "x { route \"/\" { } }",
            "x { route \"/\" = api }",
            "x { route \"/\" -> api: }",
            "x { route \"/\" -> 5 }",
            "x { v = [a, b c, [1..3], \"s\", 0.5, 1GiB, 10.0.0.0/16, a.b.c] }",
            "x { v = [## doc\n a ## doc\n] }",
            "x { v = 1.. }",
            "x { v = 1..a }",
            "x { v = a. }",
            "x { v = a..b }",
            "x { ## doc\n ## two\n a = 1 ## dropped\n }",
            "x { a = }",
            "x { = 1 }",
            "a = 1",
            "x { a = 1 } ;",
            "x { a { b { c = [[[]]] } } }",
            "x { v = 99999999999999999999 }",
            "x { v = 1..99999999999999999999 }",
            "x { a = 1",
            "x { a = \"open }",
        ] {
            agree(text);
        }
    }

    /// The fast path lexes a window of tokens at a time: a string, a route (read
    /// two tokens ahead), a doc comment and a closing brace each fall across the
    /// window's edge at every offset, the nesting limit is where balancing puts it,
    /// and a valid file of any length takes the fast path.
    #[test]
    fn the_fast_path_reads_across_its_window() {
        let mut text = String::new();
        for i in 0..700 {
            text.push_str(&format!(
                "## block {i}\nx b{i} {{\n  route \"/p{i}\" -> s{i}:80\n  ## field\n  h = \"v{i}\"\n  l = [\"a\", b.c, {i}]\n"
            ));
            text.push_str(&"  k = 1\n".repeat(i % 7));
            text.push_str("}\n");
        }
        let (fast, slow, reported) = super::super::both_parsers(&text);
        assert!(!reported && fast.is_some(), "a valid file of 700 blocks takes the fast path");
        assert_eq!(fast, slow);
        for depth in [63, 64, 65] {
            let nested = format!("x {{ v = {}{} }}", "[".repeat(depth - 1), "]".repeat(depth - 1));
            let (fast, slow, reported) = super::super::both_parsers(&nested);
            assert_eq!(fast.is_some(), depth <= 64, "nesting {depth}");
            assert_eq!(reported, depth > 64, "nesting {depth}");
            if depth <= 64 {
                assert_eq!(fast, slow);
            }
        }
    }
}

// ---- robustness ----

mod props {
    use super::*;
    use proptest::arbitrary::any;
    use proptest::prelude::{proptest, ProptestConfig};

    fn check_spans(text_len: usize, file: &ast::File, diags: &[Diagnostic]) {
        for diag in diags {
            for label in &diag.labels {
                assert!(label.span.start <= label.span.end && label.span.end as usize <= text_len, "{diag:#?}");
            }
        }
        fn value(v: &Value, len: usize) {
            assert!(v.span.start <= v.span.end && v.span.end as usize <= len);
            if let ValueKind::List(items) = &v.kind {
                items.iter().for_each(|it| value(it, len));
            }
        }
        fn block(b: &Block, len: usize) {
            assert!(b.span.start <= b.span.end && b.span.end as usize <= len, "{b:#?}");
            assert!(b.kind.span.start >= b.span.start);
            for entry in &b.entries {
                let s = entry.span();
                assert!(s.start <= s.end && s.end as usize <= len);
                match entry {
                    Entry::Block(it) => block(it, len),
                    Entry::Field(it) => value(&it.value, len),
                    Entry::Route(_) => {}
                }
            }
        }
        file.items.iter().for_each(|b| block(b, text_len));
    }

    fn run(text: &str) {
        let (file, diags) = parse(text);
        check_spans(text.len(), &file, &diags);
        super::fast_path::agree(text);
    }

    const SEED: &str = "## doc\nproject p { phase = \"x\"  environments = [a, b,] }\nstack s {\n  service api { port = 8080 replicas = 1..3 cpu = 0.5 memory = 1GiB env { K = main.host } }\n  ingress e { route \"/\" -> api:80 }\n  network n { cidr = 10.0.0.0/16 }\n}\n";

    /// Pieces that mutations insert: tokens and near-tokens.
    const PIECES: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "=",
        ",",
        ";",
        ".",
        "..",
        "->",
        ":",
        "\"",
        "\\",
        "#",
        "##",
        "1",
        "1.",
        "0.5x",
        "10.0.0.0/",
        "a",
        "-",
        "\n",
        "é",
        "\u{0}",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut sources = Sources::new();
            let len = bytes.len();
            sources.add_bytes("a.gov", bytes);
            let mut diags = Diagnostics::new();
            let file = parse_file(&sources, FileId(0), &mut diags);
            check_spans(len, &file, &diags.into_sorted());
        }

        #[test]
        fn arbitrary_strings(text in "\\PC{0,300}") {
            run(&text);
        }

        #[test]
        fn token_soup(pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..80)) {
            run(&pieces.join(" "));
            run(&pieces.concat());
        }

        #[test]
        fn mutated_valid_input(edits in proptest::collection::vec((0usize..SEED.len(), 0usize..3, proptest::sample::select(PIECES)), 1..6)) {
            let mut text = SEED.to_string();
            for (at, op, piece) in edits {
                let mut at = at.min(text.len());
                while !text.is_char_boundary(at) { at -= 1; }
                match op {
                    0 => { let mut end = (at + piece.len()).min(text.len()); while !text.is_char_boundary(end) { end += 1; } text.replace_range(at..end, ""); }
                    1 => text.insert_str(at, piece),
                    _ => { let mut end = (at + 8).min(text.len()); while !text.is_char_boundary(end) { end += 1; } let dup = text[at..end].to_string(); text.insert_str(at, &dup); }
                }
            }
            run(&text);
        }
    }
}
