//! Diagnostics: conversion to the protocol, and the worker thread that re-checks
//! projects off the main loop.
//!
//! Every change sends the project's root to the worker. The worker waits for the
//! debounce delay, drains the queue (several changes to one project become one
//! run), analyzes a snapshot of each project's sources, and publishes only when the
//! project's generation has not moved meanwhile: a result for stale text is
//! dropped, and the next queued run replaces it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use govc::query::{analyze_reusing, Analysis};
use govc::source::Origin;
use govc::{Diagnostic, Severity};
use lsp_server::{Message, Notification};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{DiagnosticRelatedInformation, Location, NumberOrString, PublishDiagnosticsParams, Url};

use crate::position::span_range;
use crate::workspace::Workspace;

/// How long the worker waits for more changes before it re-checks.
pub const DEBOUNCE: Duration = Duration::from_millis(60);

/// The protocol form of one diagnostic (its primary label's range).
pub fn to_lsp(analysis: &Analysis, root: &Path, d: &Diagnostic) -> lsp_types::Diagnostic {
    let mut message = d.message.clone();
    for note in &d.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related = d
        .labels
        .iter()
        .skip(1)
        .filter(|l| analysis.sources.get(l.span.file).origin == Origin::Project)
        .filter_map(|l| {
            let uri = Url::from_file_path(root.join(&analysis.sources.get(l.span.file).path)).ok()?;
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range: span_range(&analysis.sources, l.span) },
                message: l.message.clone(),
            })
        })
        .collect::<Vec<_>>();
    lsp_types::Diagnostic {
        range: if d.labels.is_empty() { Default::default() } else { span_range(&analysis.sources, d.span()) },
        severity: Some(match d.severity {
            Severity::Error => lsp_types::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp_types::DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        source: Some("govc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// The diagnostics of every project file, by URI (files without any included).
/// Diagnostics without a location are shown on `project.gov`.
pub fn by_file(analysis: &Analysis, root: &Path) -> BTreeMap<Url, Vec<lsp_types::Diagnostic>> {
    let mut out: BTreeMap<Url, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    let uri = |path: &str| Url::from_file_path(root.join(path)).ok();
    for (_, file) in analysis.sources.iter().filter(|(_, f)| f.origin == Origin::Project) {
        if let Some(u) = uri(&file.path) {
            out.entry(u).or_default();
        }
    }
    for d in &analysis.diagnostics {
        let path = match d.labels.first() {
            Some(l) if analysis.sources.get(l.span.file).origin == Origin::Project => {
                analysis.sources.get(l.span.file).path.as_str()
            }
            Some(_) => continue,
            None => "project.gov",
        };
        if let Some(u) = uri(path).filter(|u| out.contains_key(u)) {
            out.entry(u).or_default().push(to_lsp(analysis, root, d));
        }
    }
    out
}

/// The worker: re-checks the projects whose roots it receives.
pub struct Worker {
    pub workspace: Arc<Mutex<Workspace>>,
    pub sender: Sender<Message>,
    /// Files that had diagnostics at the last publication, per project.
    published: HashMap<PathBuf, BTreeSet<Url>>,
}

impl Worker {
    pub fn new(workspace: Arc<Mutex<Workspace>>, sender: Sender<Message>) -> Worker {
        Worker { workspace, sender, published: HashMap::new() }
    }

    /// Runs until the queue's sender is dropped.
    pub fn run(mut self, queue: Receiver<PathBuf>) {
        while let Ok(first) = queue.recv() {
            std::thread::sleep(DEBOUNCE);
            let mut roots = BTreeSet::from([first]);
            roots.extend(queue.try_iter());
            for root in roots {
                self.check(&root);
            }
        }
    }

    /// Analyzes the project's current text and publishes unless it became stale.
    pub fn check(&mut self, root: &Path) {
        let (generation, cached, work) = {
            let ws = self.workspace.lock().expect("workspace lock");
            let cached = ws.current(root);
            let work = if cached.is_none() { Some((ws.sources(root), ws.latest(root))) } else { None };
            (ws.generation(root), cached, work)
        };
        let analysis = match (cached, work) {
            (Some(a), _) => a,
            (None, Some((sources, previous))) => Arc::new(analyze_reusing(sources, previous.as_deref())),
            (None, None) => return,
        };
        let replaced;
        let versions: HashMap<Url, i32> = {
            let mut ws = self.workspace.lock().expect("workspace lock");
            let current;
            (current, replaced) = ws.store(root, generation, analysis.clone());
            if !current {
                return; // Stale: a newer run is queued.
            }
            ws.documents.iter().filter_map(|(p, d)| Some((Url::from_file_path(p).ok()?, d.version))).collect()
        };
        // Dropping a large project's analysis takes milliseconds: not on the way to
        // publishing (and outside the lock).
        if let Some(old) = replaced {
            std::thread::spawn(move || drop(old));
        }
        let files = by_file(&analysis, root);
        let mut previous = self.published.remove(root).unwrap_or_default();
        let mut now = BTreeSet::new();
        for (uri, diagnostics) in files {
            let had = previous.remove(&uri);
            // Open documents always get their (maybe empty) list: a clean check is news too.
            if diagnostics.is_empty() && !had && !versions.contains_key(&uri) {
                continue;
            }
            if !diagnostics.is_empty() {
                now.insert(uri.clone());
            }
            let version = versions.get(&uri).copied();
            self.publish(uri, diagnostics, version);
        }
        // Files no longer in the project: clear what was shown for them.
        for gone in previous {
            let version = versions.get(&gone).copied();
            self.publish(gone, Vec::new(), version);
        }
        self.published.insert(root.to_path_buf(), now);
    }

    fn publish(&self, uri: Url, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) {
        let params = PublishDiagnosticsParams { uri, diagnostics, version };
        let _ =
            self.sender.send(Message::Notification(Notification::new(PublishDiagnostics::METHOD.to_string(), params)));
    }
}
