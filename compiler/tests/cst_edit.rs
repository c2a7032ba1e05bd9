//! The minimal edits of the lossless tree (`govc::syntax::{TextEdit, apply_edits}`
//! and `Block::{set_field, insert_field, insert_entry}`, `Field::replace_value`):
//! only the bytes they must touch change, and editing a formatted file leaves it
//! formatted.

use govc::syntax::apply_edits;
use govc::syntax::cst::SyntaxTree;

/// Sets `field` of the block at `path` (kind, label pairs from the top) and checks
/// that a formatted input stays formatted.
fn set(text: &str, path: &[(&str, &str)], field: &str, value: &str) -> String {
    let tree = SyntaxTree::parse(text);
    let (kind, label) = path[0];
    let mut block = tree.item(kind, Some(label)).expect("the item");
    for (kind, label) in &path[1..] {
        block = block.block(kind, if label.is_empty() { None } else { Some(label) }).expect("the block");
    }
    let edit = block.set_field(field, value).expect("an edit");
    let out = apply_edits(text, &[edit]);
    if govc::fmt::format(text).as_deref() == Ok(text) {
        assert_eq!(govc::fmt::format(&out).as_deref(), Ok(out.as_str()), "the edit left {out:?} unformatted");
    }
    out
}

#[test]
fn replacing_a_value_touches_only_the_value() {
    let text = "## Doc.\nenvironment p {\n  service api {\n    image = \"a\"  # pinned later\n    port = 1\n  }\n}\n";
    assert_eq!(
        set(text, &[("environment", "p"), ("service", "api")], "image", "\"b\""),
        "## Doc.\nenvironment p {\n  service api {\n    image = \"b\"  # pinned later\n    port = 1\n  }\n}\n"
    );
}

#[test]
fn a_field_is_added_after_the_last_entry_and_its_comment() {
    let text = "environment p {\n  service api {\n    port = 1  # http\n\n    # the end\n  }\n}\n";
    assert_eq!(
        set(text, &[("environment", "p"), ("service", "api")], "image", "\"b\""),
        "environment p {\n  service api {\n    port = 1  # http\n    image = \"b\"\n\n    # the end\n  }\n}\n"
    );
}

#[test]
fn one_line_blocks_stay_on_one_line() {
    let text = "environment p {\n  service api { port = 1 }\n  secret s { }\n}\n";
    let out = set(text, &[("environment", "p"), ("service", "api")], "image", "\"b\"");
    assert_eq!(out, "environment p {\n  service api { port = 1  image = \"b\" }\n  secret s { }\n}\n");
    let out = set(&out, &[("environment", "p"), ("secret", "s")], "path", "\"x\"");
    assert_eq!(out, "environment p {\n  service api { port = 1  image = \"b\" }\n  secret s { path = \"x\" }\n}\n");
}

#[test]
fn a_closer_on_the_last_entry_line_moves_to_its_own_line() {
    let text = "environment p {\n  tier = staging }\n";
    assert_eq!(
        set(text, &[("environment", "p")], "stack", "app"),
        "environment p {\n  tier = staging\n  stack = app\n}\n"
    );
}

#[test]
fn an_entry_of_several_lines_is_indented_with_the_block() {
    let text = "environment p {\n  tier = staging\n}\n";
    let tree = SyntaxTree::parse(text);
    let edit =
        tree.item("environment", Some("p")).expect("p").insert_entry("service w {\n  port = 1\n}").expect("edit");
    assert_eq!(apply_edits(text, &[edit]), "environment p {\n  tier = staging\n  service w {\n    port = 1\n  }\n}\n");
    // An empty multi-line block.
    let text = "stack app {\n}\n";
    let tree = SyntaxTree::parse(text);
    let edit = tree.item("stack", Some("app")).expect("app").insert_field("a", "1").expect("edit");
    assert_eq!(apply_edits(text, &[edit]), "stack app {\n  a = 1\n}\n");
}

#[test]
fn a_block_left_open_is_not_edited() {
    let text = "environment p {\n  tier = staging\n";
    let tree = SyntaxTree::parse(text);
    assert!(tree.item("environment", Some("p")).expect("p").insert_field("a", "1").is_none());
}

#[test]
fn several_edits_apply_in_any_order() {
    let text = "a x { b = 1  c = 2 }\n";
    let tree = SyntaxTree::parse(text);
    let block = tree.item("a", Some("x")).expect("x");
    let edits =
        [block.field("c").expect("c").replace_value("3"), block.field("b").expect("b").replace_value("\"one\"")];
    assert_eq!(apply_edits(text, &edits), "a x { b = \"one\"  c = 3 }\n");
}
