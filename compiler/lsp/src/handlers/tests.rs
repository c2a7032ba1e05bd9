//! Handler tests on an in-memory project with non-ASCII text before names.

use std::path::PathBuf;

use govc::Sources;

use super::*;

const PROJECT: &str = "project p {\n  phase = \"concept\"\n  environments = [local]\n}\n";
const LOCAL: &str = "## “Local” 😀\nenvironment local {\n  tier = local\n  network core { }\n  service web { }\n  ingress edge { route \"/é😀\" -> web }\n}\n";

fn root() -> PathBuf {
    PathBuf::from("/work/p")
}

fn analysis(local: &str) -> Analysis {
    let mut sources = Sources::with_stdlib();
    sources.add("project.gov", PROJECT);
    sources.add("envs/local.gov", local);
    query::analyze(sources)
}

fn pos(line: u32, character: u32) -> Position {
    Position { line, character }
}

#[test]
fn definition_and_references_use_utf16_columns() {
    let a = analysis(LOCAL);
    let file = file_id(&a, "envs/local.gov").expect("file");
    // `-> web` on line 5: `  ingress edge { route "/é😀" -> ` is 33 UTF-16 units.
    let Some(GotoDefinitionResponse::Array(locations)) = definition(&a, &root(), file, pos(5, 34)) else {
        panic!("a definition");
    };
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0].uri.path(), "/work/p/envs/local.gov");
    assert_eq!(locations[0].range.start, pos(4, 10));
    let refs = references(&a, &root(), file, pos(4, 11), false);
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].range, Range { start: pos(5, 33), end: pos(5, 36) });
    assert_eq!(references(&a, &root(), file, pos(4, 11), true).len(), 2);
}

#[test]
fn a_phase_defined_in_the_stdlib_has_no_location() {
    let a = analysis(LOCAL);
    let file = file_id(&a, "project.gov").expect("file");
    assert!(definition(&a, &root(), file, pos(1, 12)).is_none(), "the stdlib is not a file to open");
    let h = hover(&a, file, pos(1, 12)).expect("hover on a phase");
    let HoverContents::Markup(m) = h.contents else { panic!("markdown") };
    assert!(m.value.contains("Modelling only"), "{}", m.value);
}

#[test]
fn formatting_replaces_the_whole_document_or_nothing() {
    fn trim(text: &str) -> Result<String, String> {
        if text.contains('{') && !text.contains('}') {
            return Err("unclosed block".into());
        }
        Ok(text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n") + "\n")
    }
    let edits = formatting("a = 1   \nb = \"é😀\"  ", trim).expect("formats");
    assert_eq!(edits.len(), 1);
    assert_eq!(edits[0].range, Range { start: pos(0, 0), end: pos(1, 11) });
    assert_eq!(edits[0].new_text, "a = 1\nb = \"é😀\"\n");
    assert_eq!(formatting("a = 1\n", trim), Some(Vec::new()), "already formatted: no edit");
    assert_eq!(formatting("x {\n", trim), None, "unparsable: left alone");
}

#[test]
fn code_actions_carry_each_fix_as_a_workspace_edit() {
    let a = analysis(&LOCAL.replace("service web { }", "service web { image = \"x:dev\" }"));
    let file = file_id(&a, "envs/local.gov").expect("file");
    let d = a.diagnostics.iter().find(|d| d.code == govc::Code::E204).expect("port is missing");
    let range = span_range(&a.sources, d.span());
    let actions = code_actions(&a, &root(), file, range);
    assert_eq!(actions.len(), 1);
    let CodeActionOrCommand::CodeAction(action) = &actions[0] else { panic!("an action") };
    assert_eq!(action.title, "add `port = 8080`");
    assert_eq!(action.is_preferred, Some(true));
    let changes = action.edit.as_ref().and_then(|e| e.changes.as_ref()).expect("changes");
    let edits = &changes[&Url::parse("file:///work/p/envs/local.gov").expect("url")];
    assert_eq!(edits[0].new_text, "  port = 8080");
    assert_eq!(edits[0].range.start, pos(4, 31));
    let elsewhere = Range { start: pos(0, 0), end: pos(0, 1) };
    assert!(code_actions(&a, &root(), file, elsewhere).is_empty(), "only where asked");
}

#[test]
fn symbols_nest_and_folds_cover_blocks_and_comments() {
    let a = analysis(&format!("# one\n# two\n{LOCAL}"));
    let file = file_id(&a, "envs/local.gov").expect("file");
    let symbols = document_symbols(&a, file);
    assert_eq!(symbols.len(), 1);
    assert_eq!(symbols[0].kind, SymbolKind::NAMESPACE);
    let children: Vec<&str> = symbols[0].children.as_ref().expect("children").iter().map(|c| c.name.as_str()).collect();
    assert_eq!(children, ["core", "web", "edge"]);
    let folds = folding_ranges(&a, file);
    let spans: Vec<(u32, u32, Option<FoldingRangeKind>)> =
        folds.into_iter().map(|f| (f.start_line, f.end_line, f.kind)).collect();
    assert_eq!(spans, [(0, 2, Some(FoldingRangeKind::Comment)), (3, 8, Some(FoldingRangeKind::Region))]);
}

#[test]
fn completion_items_map_kinds_and_docs() {
    let a = analysis(&LOCAL.replace("  tier = local\n", "  tier = local\n  \n"));
    let file = file_id(&a, "envs/local.gov").expect("file");
    let items = completion(&a, file, pos(3, 2));
    let tier = items.iter().find(|i| i.label == "tier").expect("tier");
    assert_eq!(tier.kind, Some(CompletionItemKind::FIELD));
    let Some(Documentation::MarkupContent(doc)) = &tier.documentation else { panic!("docs") };
    assert!(doc.value.contains("What the environment is for"));
    let service = items.iter().find(|i| i.label == "service").expect("service");
    assert_eq!(service.kind, Some(CompletionItemKind::CLASS));
}

#[test]
fn the_built_in_formatter_is_govc_fmt() {
    let formatter = crate::FORMATTER.expect("formatting is offered");
    let edits = formatting("project p {\n    phase   =   \"concept\"\n}\n", formatter).expect("formats");
    assert_eq!(edits[0].new_text, "project p {\n  phase = \"concept\"\n}\n");
    assert_eq!(formatting("project p {\n", formatter), None, "a syntax error: left alone");
}
