//! Tests of the editor queries on a small three-file project.

use super::*;

const PROJECT: &str = r#"project shop {
  phase = "wire"
  environments = [local, staging]
}

## The shop.
stack shop {
  network core { }
  postgres orders { }
  secret db-pass { }
  service storefront {
    port = 8080
    connects = [orders]
    env { DB_HOST = orders.host  DB_PASS = db-pass }
  }
  ingress edge {
    route "/" -> storefront
  }
}
"#;

const LOCAL: &str = r#"environment local {
  tier = local
  stack = shop
  service storefront { image = "x/storefront:dev" }
  ingress edge { host = "shop.localhost" }
  secret db-pass { path = "local/db" }
  service worker {
    image = "x/worker:dev"
    port = 9000
    connects = [orders]
  }
}
"#;

const STAGING: &str = r#"## Staging: “é” before names.
environment staging {
  tier = staging
  stack = shop
  aws { account = "210987654321"  region = "us-east-1" }
  state { bucket = "b" }
  network core { cidr = 10.1.0.0/16 }
  postgres orders { class = "db.t4g.small" }
  service storefront {
    image = "x/storefront@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    replicas = 2
  }
  ingress edge { host = "staging.shop.example" }
  secret db-pass { path = "staging/db" }
  service worker {
    image = "x/worker@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    port = 9000
    connects = [orders]
  }
}
"#;

fn analysis() -> Analysis {
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", PROJECT);
    sources.add("envs/local.gov", LOCAL);
    sources.add("envs/staging.gov", STAGING);
    analyze(sources)
}

fn file(a: &Analysis, path: &str) -> FileId {
    a.sources.iter().find(|(_, f)| f.path == path).map(|(id, _)| id).expect("file exists")
}

/// The byte offset of the `nth` occurrence of `needle` in `path`, plus `delta`.
fn at(a: &Analysis, path: &str, needle: &str, nth: usize, delta: usize) -> (FileId, usize) {
    let id = file(a, path);
    let text = &a.sources.get(id).text;
    let start = text.match_indices(needle).nth(nth).map(|(i, _)| i).expect("needle present");
    (id, start + delta)
}

fn where_(a: &Analysis, spans: &[&Occurrence]) -> Vec<String> {
    let mut out: Vec<String> =
        spans.iter().map(|o| format!("{}:{}", a.sources.get(o.span.file).path, a.sources.slice(o.span))).collect();
    out.sort();
    out
}

#[test]
fn the_project_checks_clean_except_what_it_means_to_show() {
    let a = analysis();
    let errors: Vec<_> = a.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.message.clone()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn a_reference_leads_to_the_stack_declaration() {
    let a = analysis();
    let (f, o) = at(&a, "envs/local.gov", "orders]", 0, 1);
    let occ = a.index().at(f, o).expect("an occurrence");
    assert_eq!(occ.target, Target::Resource { scope: Scope::Stack("shop".into()), name: "orders".into() });
    let defs = a.index().definition(occ);
    assert_eq!(where_(&a, &defs), ["project.gov:orders"]);
}

#[test]
fn stack_and_refinements_lead_to_each_other() {
    let a = analysis();
    let (f, o) = at(&a, "project.gov", "storefront {", 0, 0);
    let occ = a.index().at(f, o).expect("the stack declaration");
    assert_eq!(occ.role, Role::Definition);
    assert_eq!(where_(&a, &a.index().definition(occ)), ["envs/local.gov:storefront", "envs/staging.gov:storefront"]);
    let (f, o) = at(&a, "envs/local.gov", "storefront", 0, 3);
    let occ = a.index().at(f, o).expect("a refinement");
    assert_eq!(occ.role, Role::Refinement);
    assert_eq!(where_(&a, &a.index().definition(occ)), ["project.gov:storefront"]);
}

#[test]
fn references_cover_routes_connects_env_and_refinements() {
    let a = analysis();
    let target = Target::Resource { scope: Scope::Stack("shop".into()), name: "orders".into() };
    let refs = a.index().references(&target, false);
    assert_eq!(
        where_(&a, &refs),
        ["envs/local.gov:orders", "envs/staging.gov:orders", "project.gov:orders", "project.gov:orders"]
    );
    let all = a.index().references(&target, true);
    assert_eq!(all.len(), 6, "declaration + refinement + 4 references");
    let storefront = Target::Resource { scope: Scope::Stack("shop".into()), name: "storefront".into() };
    assert_eq!(a.index().references(&storefront, false).len(), 1, "the route");
    let secret = Target::Resource { scope: Scope::Stack("shop".into()), name: "db-pass".into() };
    assert_eq!(a.index().references(&secret, false).len(), 1, "the env entry");
    assert_eq!(a.index().references(&secret, true).len(), 4, "and the declaration and two refinements");
}

#[test]
fn items_and_phases_are_names_too() {
    let a = analysis();
    let (f, o) = at(&a, "envs/staging.gov", "= shop", 0, 3);
    let occ = a.index().at(f, o).expect("stack = shop");
    assert_eq!(where_(&a, &a.index().definition(occ)), ["project.gov:shop"]);
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", PROJECT);
    sources.add("envs/local.gov", LOCAL);
    sources.add("envs/staging.gov", STAGING.replace("stack = shop\n", "stack = shop\n  mirrors = local\n"));
    let a = analyze(sources);
    let (f, o) = at(&a, "envs/staging.gov", "mirrors = local", 0, 11);
    let occ = a.index().at(f, o).expect("mirrors = local");
    assert_eq!(where_(&a, &a.index().definition(occ)), ["envs/local.gov:local"]);
    assert_eq!(a.index().references(&Target::Environment("local".into()), false).len(), 2);
    let (f, o) = at(&a, "project.gov", "\"wire\"", 0, 2);
    let occ = a.index().at(f, o).expect("phase = \"wire\"");
    assert_eq!(occ.target, Target::Phase("wire".into()));
    let defs = a.index().definition(occ);
    assert_eq!(defs.len(), 1);
    assert_eq!(a.sources.get(defs[0].span.file).origin, Origin::Stdlib);
}

#[test]
fn an_environment_only_resource_is_the_environments() {
    let a = analysis();
    let (f, o) = at(&a, "envs/local.gov", "worker", 0, 0);
    let occ = a.index().at(f, o).expect("worker");
    assert_eq!(occ.target, Target::Resource { scope: Scope::Environment("local".into()), name: "worker".into() });
    assert_eq!(occ.role, Role::Definition);
}

#[test]
fn hover_shows_field_docs_and_merged_values() {
    let a = analysis();
    let (f, o) = at(&a, "project.gov", "port = 8080", 0, 1);
    let (span, text) = hover(&a, f, o).expect("hover on a field");
    assert_eq!(a.sources.slice(span), "port");
    assert!(text.contains("The port the service listens on."), "{text}");
    assert!(text.contains("range: `1` to `65535`"), "{text}");
    assert!(text.contains("`staging`: `8080` (from the stack)"), "{text}");
    let (f, o) = at(&a, "envs/staging.gov", "replicas", 0, 2);
    let (_, text) = hover(&a, f, o).expect("hover on replicas");
    assert!(text.contains("default: `1`"), "{text}");
    assert!(text.contains("capability: `sizing`"), "{text}");
    assert!(text.contains("`staging`: `2` (set by the environment)"), "{text}");
}

#[test]
fn hover_on_a_stack_field_lists_every_environment() {
    let a = analysis();
    let (f, o) = at(&a, "project.gov", "service storefront", 0, 0);
    let (_, text) = hover(&a, f, o).expect("hover on a kind");
    assert!(text.contains("A stateless, long-lived service"), "{text}");
    let (f, o) = at(&a, "envs/local.gov", "image", 0, 0);
    let (_, text) = hover(&a, f, o).expect("hover on image");
    assert!(text.contains("`local`: `\"x/storefront:dev\"` (set by the environment)"), "{text}");
}

#[test]
fn hover_on_names_and_attributes() {
    let a = analysis();
    let (f, o) = at(&a, "project.gov", "orders.host", 0, 8);
    let (span, text) = hover(&a, f, o).expect("hover on an attribute");
    assert_eq!(a.sources.slice(span), "host");
    assert!(text.contains("private DNS name"), "{text}");
    let (f, o) = at(&a, "envs/staging.gov", "postgres orders", 0, 10);
    let (_, text) = hover(&a, f, o).expect("hover on a refinement");
    assert!(text.starts_with("refines postgres `orders` (declared in stack `shop`)"), "{text}");
    assert!(text.contains("- `class = \"db.t4g.small\"` (environment)"), "{text}");
    let (f, o) = at(&a, "envs/local.gov", "= shop", 0, 3);
    let (_, text) = hover(&a, f, o).expect("hover on a stack reference");
    assert!(text.contains("The shop."), "{text}");
}

fn labels(items: &[Completion]) -> Vec<&str> {
    items.iter().map(|c| c.label.as_str()).collect()
}

fn complete_after(text: &str, needle: &str) -> Vec<Completion> {
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", PROJECT);
    sources.add("envs/local.gov", LOCAL);
    sources.add("envs/staging.gov", text);
    let a = analyze(sources);
    let (f, o) = at(&a, "envs/staging.gov", needle, 0, needle.len());
    completions(&a, f, o)
}

#[test]
fn completion_offers_what_fits_the_context() {
    let enum_values = complete_after(&STAGING.replace("tier = staging", "tier = "), "tier = ");
    assert_eq!(labels(&enum_values), ["dev", "local", "production", "staging"]);
    let refs = complete_after(&STAGING.replace("replicas = 2", "connects = [orders, "), "connects = [orders, ");
    assert_eq!(labels(&refs), ["orders", "storefront", "worker"]);
    let stacks = complete_after(STAGING, "stack = ");
    assert_eq!(labels(&stacks), ["shop"]);
    let members = complete_after(&STAGING.replace("    replicas = 2\n", "    \n"), "b855\"\n    ");
    let members = labels(&members);
    assert!(["cpu", "connects", "image", "env"].iter().all(|m| members.contains(m)), "{members:?}");
    assert!(!members.contains(&"service"), "no resource kinds inside a resource: {members:?}");
    let kinds = complete_after(STAGING, "stack = shop\n  ");
    let kinds = labels(&kinds);
    assert!(kinds.contains(&"service") && kinds.contains(&"aws") && kinds.contains(&"tier"), "{kinds:?}");
    let attrs = complete_after(&STAGING.replace("replicas = 2", "replicas = 2\n    env { H = orders. }"), "orders.");
    assert_eq!(labels(&attrs), ["database", "host", "port", "user"]);
    let mirrors = complete_after(&STAGING.replace("stack = shop\n", "stack = shop\n  mirrors = \n"), "mirrors = ");
    assert_eq!(labels(&mirrors), ["local", "staging"]);
}

#[test]
fn completion_of_fields_carries_docs() {
    let items = complete_after(STAGING, "stack = shop\n  ");
    let tier = items.iter().find(|c| c.label == "tier").expect("tier offered");
    assert!(tier.doc.as_deref().is_some_and(|d| d.contains("What the environment is for")));
    assert_eq!(tier.kind, CompletionKind::Field);
}

#[test]
fn outline_and_folding() {
    let a = analysis();
    let f = file(&a, "envs/staging.gov");
    let outline = symbols(&a.files[f.0 as usize]);
    assert_eq!(outline.len(), 1);
    let children: Vec<&str> = outline[0].children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(children, ["aws", "state", "core", "orders", "storefront", "edge", "db-pass", "worker"]);
    let folds = folding_ranges(a.sources.get(f), &a.files[f.0 as usize]);
    assert_eq!(folds, [(1, 19), (8, 11), (14, 18)]);
    let f = file(&a, "project.gov");
    let folds = folding_ranges(a.sources.get(f), &a.files[f.0 as usize]);
    assert_eq!(folds, [(0, 3), (6, 18), (10, 14), (15, 17)]);
}

#[test]
fn a_missing_required_field_gets_an_insertion_fix() {
    let local = LOCAL.replace("    image = \"x/worker:dev\"\n", "");
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", PROJECT);
    sources.add("envs/local.gov", local.as_str());
    sources.add("envs/staging.gov", STAGING);
    let a = analyze(sources);
    let d = a.diagnostics.iter().find(|d| d.code == crate::Code::E204).expect("an E204");
    assert_eq!(d.fixes.len(), 1, "{d:?}");
    let edit = &d.fixes[0].edits[0];
    let mut fixed = local.clone();
    fixed.replace_range(edit.span.range(), &edit.text);
    assert!(
        fixed.contains("    connects = [orders]\n    image = \"registry.example.com/app@sha256:...\"\n  }"),
        "{fixed}"
    );
}

/// `sources` with `project.gov` and `envs/local.gov` replaced.
fn analyze_with(project: &str, local: &str) -> Analysis {
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", project);
    sources.add("envs/local.gov", local);
    sources.add("envs/staging.gov", STAGING);
    analyze(sources)
}

#[test]
fn did_you_mean_becomes_a_replacement_and_applying_them_checks_clean() {
    let project =
        PROJECT.replace("phase = \"wire\"", "phase = \"wrie\"").replace("connects = [orders]", "connects = [ordres]");
    let local = LOCAL.replace("tier = local", "tier = locl").replace("stack = shop", "stack = shpo");
    let a = analyze_with(&project, &local);
    let mut texts = BTreeMap::from([("project.gov", project.clone()), ("envs/local.gov", local.clone())]);
    let mut fixed = 0;
    // Apply from the end of each file backwards so earlier spans stay valid.
    let misspelled = |d: &&Diagnostic| d.help.as_deref().is_some_and(|h| h.starts_with("did you mean"));
    for d in a.diagnostics.iter().rev().filter(misspelled) {
        let fix = d.fixes.first().unwrap_or_else(|| panic!("a fix for {d:?}"));
        assert!(fix.message.starts_with("replace with `"), "{fix:?}");
        let edit = &fix.edits[0];
        let path = a.sources.get(edit.span.file).path.as_str();
        texts.get_mut(path).expect("a project file").replace_range(edit.span.range(), &edit.text);
        fixed += 1;
    }
    assert_eq!(fixed, 4, "{:#?}", a.diagnostics);
    assert_eq!(texts["project.gov"], PROJECT);
    assert_eq!(texts["envs/local.gov"], LOCAL);
}

#[test]
fn no_replacement_when_the_span_is_not_the_misspelled_name() {
    let project = PROJECT.replace("DB_HOST = orders.host", "DB_HOST = orders.hots");
    let a = analyze_with(&project, LOCAL);
    let d = a.diagnostics.iter().find(|d| d.message.contains("hots")).expect("the unknown attribute");
    for fix in &d.fixes {
        let edit = &fix.edits[0];
        let mut text = project.clone();
        text.replace_range(edit.span.range(), &edit.text);
        assert_eq!(text, PROJECT, "a fix must only swap `hots` for `host`: {fix:?}");
    }
}

#[test]
fn reusing_unchanged_trees_gives_the_same_analysis() {
    // A syntax error in a file that does not change, then an edit elsewhere.
    let broken = LOCAL.replace("  tier = local\n", "  tier = local\n  = oops\n");
    let before = analyze_with(PROJECT, &broken);
    assert!(before.diagnostics.iter().any(|d| d.code.as_str().starts_with("E1")), "a syntax error");
    let project = PROJECT.replace("port = 8080", "port = 8081");
    let fresh = analyze_with(&project, &broken);
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", project.as_str());
    sources.add("envs/local.gov", broken.as_str());
    sources.add("envs/staging.gov", STAGING);
    let reused = analyze_reusing(sources, Some(&before));
    assert_eq!(reused.diagnostics, fresh.diagnostics);
    assert_eq!(reused.files, fresh.files);
    assert_eq!(reused.syntax, fresh.syntax);
    let (f, offset) = at(&reused, "project.gov", "connects = [orders]", 0, 13);
    assert_eq!(reused.index().at(f, offset).map(|o| &o.target), fresh.index().at(f, offset).map(|o| &o.target));
    // A file added before others shifts the ids: nothing is reused wrongly.
    let mut sources = Sources::with_stdlib();
    sources.add("a.gov", "# nothing\n");
    sources.add("envs/local.gov", broken.as_str());
    sources.add("envs/staging.gov", STAGING);
    sources.add("project.gov", project.as_str());
    let shifted = analyze_reusing(sources.clone(), Some(&before));
    assert_eq!(shifted.diagnostics, analyze(sources).diagnostics);
}

/// The editor's re-check is a full check: over a sequence of random edits (errors
/// added and removed, resources renamed, stdlib-dependent fields changed, secrets
/// and other environments' names written as text, files added and removed), the
/// analysis reusing the previous one equals a from-scratch analysis, and its
/// diagnostics are those of `govc check` (the library's, editor fixes aside).
#[test]
fn reusing_matches_a_full_check_over_random_edits() {
    // Each edit toggles: `from` becomes `to`, or back when `to` is there.
    const EDITS: &[(&str, &str, &str)] = &[
        // Syntax errors, added and removed.
        ("envs/local.gov", "  tier = local\n", "  tier = local\n  = oops\n"),
        ("project.gov", "  postgres orders { }\n", "  postgres orders { \n"),
        ("envs/staging.gov", "replicas = 2", "replicas = = 2"),
        // Renamed resources: in one file (unresolved, did you mean), or the declaration.
        ("project.gov", "connects = [orders]", "connects = [ordrs]"),
        ("project.gov", "  service storefront {", "  service shopfront {"),
        ("envs/staging.gov", "service worker {", "service wrker {"),
        ("envs/local.gov", "secret db-pass", "secret db-password"),
        // Fields whose meaning comes from the stdlib: kinds, ranges, enums, phases.
        ("project.gov", "port = 8080", "port = 80800"),
        ("project.gov", "phase = \"wire\"", "phase = \"build\""),
        ("project.gov", "phase = \"wire\"", "phase = \"wir\""),
        ("envs/staging.gov", "tier = staging", "tier = production"),
        ("envs/staging.gov", "tier = staging", "tier = stagin"),
        ("envs/staging.gov", "class = \"db.t4g.small\"", "class = \"db.nope\""),
        ("envs/local.gov", "port = 9000", "prot = 9000"),
        (
            "envs/staging.gov",
            "@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n    replicas",
            "\"\n    replicas",
        ),
        // Secrets and other environments' names written as text.
        (
            "envs/local.gov",
            "image = \"x/worker:dev\"",
            "image = \"x/worker:dev\"\n    health = \"/h?token=fake-health-token\"",
        ),
        ("envs/local.gov", "host = \"shop.localhost\"", "host = \"staging.shop.example\""),
        (
            "envs/staging.gov",
            "  tier = staging\n",
            "  tier = staging\n  # old url: https://deploy:FakeCommentPw@git.example.com/app.git\n",
        ),
        // Secrets inside one block (a re-parse finds them again; the findings after
        // the block move): in a string, under a secret-named key, in a comment inside
        // a block and after its closing brace, in a route path and a doc comment.
        ("project.gov", "    port = 8080\n", "    port = 8080 # pw: https://u:FakeInlinePw@h.example/x\n"),
        ("project.gov", "DB_HOST = orders.host ", "DB_HOST = orders.host  API_TOKEN = \"fake-token-value-123\" "),
        ("project.gov", "  network core { }\n", "  network core { } # token=FakeAfterBracePw99\n"),
        ("project.gov", "route \"/\" -> storefront", "route \"/hook/xoxb-1234567890-abcdefghij\" -> storefront"),
        ("project.gov", "  service storefront {", "  ## key: AKIAIOSFODNN7EXAMPLE\n  service storefront {"),
        ("envs/local.gov", "    port = 9000\n", "    port = 9000\n    # password=FakeLocalPw1\n"),
        // Whole files added and removed (the ids of the files after them shift).
        ("a.gov", "", "environment extra {\n  tier = dev\n  stack = shop\n}\n"),
        ("envs/zz.gov", "", "stack other {\n  service storefront { port = 1 }\n}\n"),
    ];
    let mut files: BTreeMap<String, String> =
        [("project.gov", PROJECT), ("envs/local.gov", LOCAL), ("envs/staging.gov", STAGING)]
            .into_iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect();
    let sources_of = |files: &BTreeMap<String, String>| {
        let mut sources = Sources::with_stdlib();
        for (path, text) in files.iter().filter(|(_, t)| !t.is_empty()) {
            sources.add(path.as_str(), text.as_str());
        }
        sources
    };
    let without_fixes = |ds: &[Diagnostic]| -> Vec<Diagnostic> {
        ds.iter()
            .cloned()
            .map(|mut d| {
                d.fixes.clear();
                d
            })
            .collect()
    };
    let mut previous = analyze(sources_of(&files));
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut codes = BTreeSet::new();
    let mut suggested = 0;
    for step in 0..300 {
        // xorshift: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (path, from, to) = EDITS[(state % EDITS.len() as u64) as usize];
        let text = files.entry(path.to_string()).or_default();
        if from.is_empty() {
            *text = if text.is_empty() { to.to_string() } else { String::new() };
        } else if text.contains(from) && !text.contains(to) {
            *text = text.replacen(from, to, 1);
        } else if text.contains(to) {
            *text = text.replacen(to, from, 1);
        }
        let sources = sources_of(&files);
        let reused = analyze_reusing(sources.clone(), Some(&previous));
        let fresh = analyze(sources.clone());
        assert_eq!(reused.diagnostics, fresh.diagnostics, "step {step}: {path}");
        assert_eq!(reused.files, fresh.files, "step {step}");
        assert_eq!(reused.syntax, fresh.syntax, "step {step}");
        assert_eq!(reused.secrets, fresh.secrets, "step {step}");
        assert_eq!(reused.index().occurrences, fresh.index().occurrences, "step {step}");
        let check = crate::compile(&sources, &crate::Options::default()).diagnostics;
        assert_eq!(without_fixes(&reused.diagnostics), without_fixes(&check), "step {step}: as `govc check`");
        // Every "did you mean" of the library carries its replacement (the editor adds none).
        for d in check.iter().filter(|d| d.help.as_deref().is_some_and(|h| h.starts_with("did you mean"))) {
            assert!(!d.fixes.is_empty(), "step {step}: a did-you-mean without its fix: {d:?}");
            suggested += 1;
        }
        codes.extend(reused.diagnostics.iter().map(|d| d.code.as_str()));
        previous = reused;
    }
    // The edits did reach every family they mean to exercise.
    for code in ["E502", "E301"] {
        assert!(codes.contains(code), "no {code} in {codes:?}");
    }
    assert!(codes.iter().any(|c| c.starts_with("E1")), "no syntax error in {codes:?}");
    assert!(suggested > 0, "no did-you-mean");
}
