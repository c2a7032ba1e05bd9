//! Unit tests of the formatter.

use super::*;

fn fmt(text: &str) -> String {
    let out = format(text).unwrap_or_else(|d| panic!("syntax errors in {text:?}: {d:?}"));
    assert_eq!(format(&out).as_deref(), Ok(out.as_str()), "not idempotent on {text:?}");
    out
}

#[test]
fn a_one_line_block_stays_on_one_line_with_single_spaces() {
    assert_eq!(fmt("project x{phase=\"a\"}"), "project x { phase = \"a\" }\n");
}

#[test]
fn indents_by_two_and_puts_one_entry_a_line() {
    let text = "service api {\nport=8080; replicas = 2..4\n    env {   A = b }\n}\n";
    assert_eq!(fmt(text), "service api {\n  port = 8080\n  replicas = 2..4\n  env { A = b }\n}\n");
}

#[test]
fn keeps_at_most_one_blank_line_and_none_at_block_edges() {
    let text = "\n\nnetwork n {\n\n  a = 1\n\n\n\n  b = 2\n\n}\n\n\n\nnetwork m {\n  c = 3\n}\n\n";
    assert_eq!(fmt(text), "network n {\n  a = 1\n\n  b = 2\n}\n\nnetwork m {\n  c = 3\n}\n");
}

#[test]
fn keeps_comments_and_doc_comments_where_they_were() {
    let text = "# head\n\n## The api.\nservice api {   # opener\n  # own line\n    port = 8080    # trailing   \n  routes = [\n  a, # first\n b\n ]\n}\n";
    assert_eq!(
        fmt(text),
        "# head\n\n## The api.\nservice api {  # opener\n  # own line\n  port = 8080  # trailing\n  routes = [\n    a,  # first\n    b,\n  ]\n}\n"
    );
}

#[test]
fn lists_go_on_one_line_when_they_fit_and_one_element_a_line_otherwise() {
    assert_eq!(fmt("x y {\n  a = [ 1 ,2,[3 ,4] ]\n}\n"), "x y {\n  a = [1, 2, [3, 4]]\n}\n");
    let long =
        format!("x y {{\n  a = [{}]\n}}\n", (0..40).map(|i| format!("\"item{i}\"")).collect::<Vec<_>>().join(", "));
    let out = fmt(&long);
    assert!(out.contains("  a = [\n    \"item0\",\n    \"item1\",\n"), "{out}");
    assert!(out.ends_with("    \"item39\",\n  ]\n}\n"), "{out}");
}

#[test]
fn routes_paths_and_literals_are_printed_as_written() {
    let text = "app web {\nroute   \"/api\"->api : 8080\nsize=100GiB\ncidr =10.30.0.0/16\nref= a . b\n}\n";
    assert_eq!(
        fmt(text),
        "app web {\n  route \"/api\" -> api:8080\n  size = 100GiB\n  cidr = 10.30.0.0/16\n  ref = a.b\n}\n"
    );
}

#[test]
fn a_file_with_syntax_errors_is_refused_with_its_diagnostics() {
    let errors = format("service api {\n  port = \n").expect_err("a syntax error");
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|d| d.is_error()));
    assert!(format("service api { port = @ }\n").is_err());
}

#[test]
fn a_formatted_file_is_unchanged_and_empty_input_stays_empty() {
    let text = "service api {\n  port = 8080\n}\n";
    assert_eq!(fmt(text), text);
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n"), "");
}
