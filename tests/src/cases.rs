//! The case runner: every `.gov` file under `tests/cases/` (or every directory there
//! holding a `project.gov`) is compiled in memory, and its diagnostics are compared
//! with the expectations written in the case itself.
//!
//! An expectation is a comment line under the line it is about:
//! - `#   ^^^^ error[E206]: unknown name `x`` — the primary span starts at the first
//!   caret's column of the line above and has as many characters as there are carets;
//! - `#@ error[E204]: message` — the primary span starts somewhere on the line above;
//! - `#! error[E210]: message` — anywhere, or a diagnostic without a location.
//!
//! Every expectation must be met and every diagnostic expected. A single-file case
//! is compiled as the project's `project.gov`; a case whose first line is
//! `# govc: build` is compiled as `govc build` would (emitting, so build-only rules run). The runner also compiles every
//! project under `examples/`, which must be clean, and checks that the order in
//! which files are added never changes the result. Ends with `N passed, N failed`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use govc::{compile, Diagnostic, Options, Sources};

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ lives in the workspace").to_path_buf();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut cases = Vec::new();
    collect_cases(&root.join("tests/cases"), &mut cases);
    cases.sort();
    let mut passed = 0;
    let mut failed = 0;
    let mut run = |name: String, result: Result<(), String>| {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            return;
        }
        match result {
            Ok(()) => {
                passed += 1;
                println!("case {name} ... ok");
            }
            Err(why) => {
                failed += 1;
                println!("case {name} ... FAILED\n{why}");
            }
        }
    };
    for case in &cases {
        let name = case.strip_prefix(&root).unwrap_or(case).display().to_string();
        run(name, check_case(case));
    }
    let mut examples: Vec<PathBuf> = fs::read_dir(root.join("examples"))
        .map(|it| it.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.join("project.gov").exists()).collect())
        .unwrap_or_default();
    examples.sort();
    for example in &examples {
        let name = example.strip_prefix(&root).unwrap_or(example).display().to_string();
        run(name, check_clean(example));
    }
    println!("\n{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn collect_cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.join("project.gov").exists() {
                out.push(path);
            } else {
                collect_cases(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "gov") {
            out.push(path);
        }
    }
}

/// The case's files: `(path relative to the project, text)`.
fn case_files(case: &Path) -> Vec<(String, String)> {
    if case.is_file() {
        return vec![("project.gov".to_string(), fs::read_to_string(case).unwrap_or_default())];
    }
    let mut files = Vec::new();
    let mut stack = vec![case.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "gov") {
                let rel = path.strip_prefix(case).unwrap_or(&path).to_string_lossy().replace('\\', "/");
                files.push((rel, fs::read_to_string(&path).unwrap_or_default()));
            }
        }
    }
    files.sort();
    files
}

fn sources(files: &[(String, String)]) -> Sources {
    let mut sources = Sources::with_stdlib();
    for (path, text) in files {
        sources.add(path.clone(), text.clone());
    }
    sources
}

#[derive(Debug, Clone, PartialEq)]
enum Anchor {
    /// (path, 0-based line, character column, length in characters)
    Exact(String, usize, usize, usize),
    Line(String, usize),
    Anywhere,
}

#[derive(Debug, Clone)]
struct Expectation {
    anchor: Anchor,
    severity: String,
    code: String,
    message: String,
}

fn parse_expectations(path: &str, text: &str) -> Result<Vec<Expectation>, String> {
    let mut out = Vec::new();
    let mut code_line: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let rest = if let Some(rest) = trimmed.strip_prefix("#!") {
            Some((Anchor::Anywhere, rest.to_string()))
        } else if let Some(rest) = trimmed.strip_prefix("#@") {
            Some((Anchor::Line(path.to_string(), code_line.unwrap_or(0)), rest.to_string()))
        } else if trimmed.starts_with('#') && trimmed[1..].trim_start().starts_with('^') {
            let col = line.chars().position(|c| c == '^').expect("a caret was found");
            let len = line.chars().skip(col).take_while(|c| *c == '^').count();
            let after: String = line.chars().skip(col + len).collect();
            Some((Anchor::Exact(path.to_string(), code_line.unwrap_or(0), col, len), after))
        } else {
            None
        };
        let Some((anchor, rest)) = rest else {
            code_line = Some(n);
            continue;
        };
        let rest = rest.trim();
        let (head, message) =
            rest.split_once(": ").ok_or_else(|| format!("{path}:{}: malformed expectation `{rest}`", n + 1))?;
        let (severity, code) = head
            .strip_suffix(']')
            .and_then(|h| h.split_once('['))
            .ok_or_else(|| format!("{path}:{}: expected `error[CODE]: message`", n + 1))?;
        out.push(Expectation {
            anchor,
            severity: severity.to_string(),
            code: code.to_string(),
            message: message.to_string(),
        });
    }
    Ok(out)
}

fn describe(d: &Diagnostic, sources: &Sources) -> String {
    let span = d.labels.first().map(|l| l.span);
    let at = match span {
        Some(span) => {
            let file = sources.get(span.file);
            let (line, col) = file.line_col(span.start as usize);
            format!("{}:{line}:{col}", file.path)
        }
        None => "<no location>".to_string(),
    };
    format!("{at}: {}[{}]: {}", d.severity.as_str(), d.code, d.message)
}

fn matches(e: &Expectation, d: &Diagnostic, sources: &Sources) -> bool {
    if e.code != d.code.as_str() || e.severity != d.severity.as_str() || e.message != d.message {
        return false;
    }
    let Some(label) = d.labels.first() else { return e.anchor == Anchor::Anywhere };
    let file = sources.get(label.span.file);
    let (line, col) = file.line_col(label.span.start as usize);
    let (end_line, end_col) = file.line_col(label.span.end as usize);
    match &e.anchor {
        Anchor::Anywhere => true,
        Anchor::Line(path, l) => *path == file.path && *l + 1 == line,
        Anchor::Exact(path, l, c, len) => {
            *path == file.path && *l + 1 == line && *c + 1 == col && (end_line != line || end_col - col == *len)
        }
    }
}

fn check_case(case: &Path) -> Result<(), String> {
    let files = case_files(case);
    let mut expectations = Vec::new();
    for (path, text) in &files {
        expectations.extend(parse_expectations(path, text)?);
    }
    let srcs = sources(&files);
    let build = files.iter().any(|(path, text)| path == "project.gov" && text.starts_with("# govc: build"));
    let options = Options { emit: build };
    let result = compile(&srcs, &options);
    let mut unmatched: Vec<&Diagnostic> = Vec::new();
    let mut open: Vec<Expectation> = expectations.clone();
    for d in &result.diagnostics {
        match open.iter().position(|e| matches(e, d, &srcs)) {
            Some(i) => {
                open.remove(i);
            }
            None => unmatched.push(d),
        }
    }
    let mut problems = Vec::new();
    for d in unmatched {
        problems.push(format!("  unexpected {}", describe(d, &srcs)));
    }
    for e in open {
        problems.push(format!("  expected but not reported: {:?} {}[{}]: {}", e.anchor, e.severity, e.code, e.message));
    }
    problems.extend(check_fixes(&files, &srcs, &result.diagnostics, &options));
    // The order in which files are added must not matter.
    let mut reversed = files.clone();
    reversed.reverse();
    let again = compile(&sources(&reversed), &options);
    if again.diagnostics != result.diagnostics {
        problems.push("  the diagnostics depend on the order in which files were added".to_string());
    }
    // A build renders beside the checks, from the IR of a model they may yet refuse:
    // whatever they find, the build reports exactly what a check for a build does (the
    // checks of what can be built among them). No emitter trips on what the checks
    // would have stopped, and nothing of the rendering leaks into the report.
    if !build && result.diagnostics.iter().any(Diagnostic::is_error) {
        let for_build = Options { emit: true };
        let built = compile(&srcs, &for_build);
        let checked = govc::analyze(&srcs, &for_build).1.into_sorted();
        if built.diagnostics != checked || !built.files.is_empty() {
            problems.push(format!(
                "  a build reports otherwise than its check:\n{}",
                built.diagnostics.iter().map(|d| format!("    {}", describe(d, &srcs))).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Every "did you mean" carries a fix, and every fix works: applied to the
/// files, it removes its diagnostic (no diagnostic with that code starts where
/// the fix's edits start), introduces no syntax error anywhere, and no name,
/// shape or type error (E201–E203, E205–E209) where it edited: a fix that
/// trades its error for another at the same place fails. Errors that a now
/// valid name rightly brings (a phase that demands more, a field that needs a
/// capability) are allowed.
fn check_fixes(files: &[(String, String)], srcs: &Sources, diags: &[Diagnostic], options: &Options) -> Vec<String> {
    let mut problems = Vec::new();
    let syntax = |d: &Diagnostic| d.code.as_str().starts_with("E1");
    let local = |d: &Diagnostic| {
        let code = d.code.as_str();
        code.starts_with("E20") && code != "E204"
    };
    let syntax_before = diags.iter().filter(|d| syntax(d)).count();
    for d in diags {
        if d.help.as_deref().is_some_and(|h| h.contains("did you mean")) && d.fixes.is_empty() {
            problems.push(format!("  a \"did you mean\" without a fix: {}", describe(d, srcs)));
        }
        for fix in &d.fixes {
            let mut fixed = files.to_vec();
            let mut edits = fix.edits.clone();
            edits.sort_by_key(|e| std::cmp::Reverse(e.span.start));
            for edit in &edits {
                let path = &srcs.get(edit.span.file).path;
                let Some((_, text)) = fixed.iter_mut().find(|(p, _)| p == path) else {
                    problems.push(format!("  a fix edits `{path}`, not a file of the case: {}", describe(d, srcs)));
                    continue;
                };
                text.replace_range(edit.span.range(), &edit.text);
            }
            let fixed_sources = sources(&fixed);
            let again = compile(&fixed_sources, options);
            let at_edit = |a: &Diagnostic| {
                edits.iter().any(|e| {
                    a.span().file == e.span.file
                        && (e.span.start..=e.span.start + e.text.len() as u32).contains(&a.span().start)
                })
            };
            let broken: Vec<String> = again
                .diagnostics
                .iter()
                .filter(|a| (a.code == d.code && at_edit(a)) || (local(a) && at_edit(a)))
                .map(|a| format!("    then {}", describe(a, &fixed_sources)))
                .collect();
            let new_syntax = again.diagnostics.iter().filter(|d| syntax(d)).count() > syntax_before;
            if !broken.is_empty() || new_syntax {
                problems.push(format!(
                    "  the fix `{}` does not resolve {}{}\n{}",
                    fix.message,
                    describe(d, srcs),
                    if new_syntax { " (it brings a syntax error)" } else { "" },
                    broken.join("\n")
                ));
            }
        }
    }
    problems
}

/// An example checks clean; building it either succeeds cleanly or, in a phase
/// without `iac`, is refused with E702 alone.
fn check_clean(project: &Path) -> Result<(), String> {
    let files = case_files(project);
    let srcs = sources(&files);
    let show =
        |diags: &[Diagnostic]| diags.iter().map(|d| format!("  {}", describe(d, &srcs))).collect::<Vec<_>>().join("\n");
    let checked = compile(&srcs, &Options::default());
    if !checked.diagnostics.is_empty() {
        return Err(show(&checked.diagnostics));
    }
    let built = compile(&srcs, &Options { emit: true });
    let refused = built.diagnostics.len() == 1 && built.diagnostics[0].code == govc::Code::E702;
    if built.diagnostics.is_empty() || refused {
        Ok(())
    } else {
        Err(show(&built.diagnostics))
    }
}
