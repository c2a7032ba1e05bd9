//! The governance ladder: which phases exist, what each authorizes (cumulatively
//! along `after`), and what the project's phase allows (E703, E701).

use foldhash::{HashMap, HashMapExt};

use super::body::Body;
use super::lower::{Declarations, PhaseDecl};
use super::schema::{CapSet, Capability};
use super::suggest::closest;
use super::values::{EnvVal, Val};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{Origin, Span};

/// A validated ladder, root first.
#[derive(Clone, Debug, Default)]
pub struct Ladder {
    /// `(name, cumulative capabilities)` in chain order.
    pub chain: Vec<(String, CapSet)>,
    /// Whether the project defined its own ladder.
    pub own: bool,
    pub valid: bool,
}

impl Ladder {
    /// The first phase (in chain order) that authorizes `cap`.
    pub fn first_authorizing(&self, cap: Capability) -> Option<&str> {
        self.chain.iter().find(|(_, caps)| caps.contains(cap)).map(|(n, _)| n.as_str())
    }

    pub fn get(&self, name: &str) -> Option<CapSet> {
        self.chain.iter().find(|(n, _)| n == name).map(|(_, c)| *c)
    }
}

/// Builds the ladder from the project's phases, or the stdlib's when it defines none.
pub fn ladder(decls: &Declarations, sink: &mut Diagnostics) -> Ladder {
    let own = decls.phases.iter().any(|p| p.origin == Origin::Project);
    let origin = if own { Origin::Project } else { Origin::Stdlib };
    let phases: Vec<&PhaseDecl> = decls.phases.iter().filter(|p| p.origin == origin).collect();
    let mut valid = true;
    let mut by_name: HashMap<&str, &PhaseDecl> = HashMap::new();
    let mut by_after: HashMap<&str, &PhaseDecl> = HashMap::new();
    let mut root: Option<&PhaseDecl> = None;
    for phase in &phases {
        if phase.name.is_empty() {
            valid = false;
            continue;
        }
        if let Some(first) = by_name.get(phase.name.as_str()) {
            sink.push(
                Diagnostic::new(
                    Code::E703,
                    phase.head_span,
                    format!("phase `{}` is defined twice", phase.name),
                    "defined again here",
                )
                .with_label(first.head_span, "first defined here")
                .with_help("a ladder is a single chain: give each phase one definition"),
            );
            valid = false;
            continue;
        }
        by_name.insert(&phase.name, phase);
    }
    for phase in &phases {
        if by_name.get(phase.name.as_str()).is_none_or(|p| !std::ptr::eq(*p, *phase)) {
            continue;
        }
        match &phase.after {
            None => match root {
                Some(first) => {
                    sink.push(
                        Diagnostic::new(
                            Code::E703,
                            phase.head_span,
                            "the ladder has two first phases",
                            format!("`{}` has no `after`", phase.name),
                        )
                        .with_label(first.head_span, format!("`{}` has no `after` either", first.name))
                        .with_help(format!(
                            "add `after = \"...\"` to phase `{}` so the phases form one chain",
                            phase.name
                        )),
                    );
                    valid = false;
                }
                None => root = Some(phase),
            },
            Some((after, span)) => {
                if !by_name.contains_key(after.as_str()) {
                    let d = Diagnostic::new(Code::E703, *span, format!("unknown phase `{after}`"), "no such phase");
                    sink.push(match closest(after, by_name.keys().copied()) {
                        Some(s) => super::suggest::did_you_mean_quoted(d, *span, s),
                        None => d.with_help("`after` names another phase of this ladder"),
                    });
                    valid = false;
                } else if let Some(first) = by_after.get(after.as_str()) {
                    sink.push(
                        Diagnostic::new(
                            Code::E703,
                            *span,
                            format!("two phases follow `{after}`"),
                            format!("`{}` follows `{after}`", phase.name),
                        )
                        .with_label(first.head_span, format!("`{}` follows `{after}` too", first.name))
                        .with_help("a ladder is a single chain: each phase has at most one successor"),
                    );
                    valid = false;
                } else {
                    by_after.insert(after, phase);
                }
            }
        }
    }
    // Walk the chain from the root; phases not reached are in a cycle.
    let mut chain = Vec::new();
    let mut caps = CapSet::default();
    let mut current = root;
    while let Some(phase) = current {
        for (cap, _) in &phase.authorizes {
            caps.insert(*cap);
        }
        chain.push((phase.name.clone(), caps));
        current = by_after.get(phase.name.as_str()).copied();
        if chain.len() > phases.len() {
            break;
        }
    }
    if valid && chain.len() < by_name.len() {
        let stray =
            phases.iter().find(|p| !chain.iter().any(|(n, _)| *n == p.name)).expect("a phase outside the chain");
        sink.push(
            Diagnostic::new(
                Code::E703,
                stray.head_span,
                format!("phase `{}` is part of a cycle", stray.name),
                "its `after` chain never reaches a first phase",
            )
            .with_help("the ladder must be a single chain starting at a phase without `after`"),
        );
        valid = false;
    }
    if !phases.is_empty() && root.is_none() && valid {
        valid = false;
    }
    Ladder { chain, own, valid }
}

/// The capabilities the project's phase authorizes, `None` when it is unknown or the
/// ladder is invalid (then E701, E702 and the capability part of E204 wait).
pub fn authorized(ladder: &Ladder, decls: &Declarations, sink: &mut Diagnostics) -> Option<CapSet> {
    let (name, span) = decls.project.as_ref()?.phase.as_ref()?;
    if !ladder.valid {
        return None;
    }
    let caps = ladder.get(name);
    if caps.is_none() {
        let names: Vec<&str> = ladder.chain.iter().map(|(n, _)| n.as_str()).collect();
        let d = Diagnostic::new(Code::E703, *span, format!("unknown phase `{name}`"), "no such phase in the ladder");
        sink.push(match closest(name, names.iter().copied()) {
            Some(s) => super::suggest::did_you_mean_quoted(d, *span, s),
            None => d.with_help(format!(
                "the phases are {}",
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" → ")
            )),
        });
    }
    caps
}

/// Reports every construct whose capability the phase does not authorize (E701).
pub struct Authorization<'a> {
    pub ladder: &'a Ladder,
    pub caps: CapSet,
    pub phase: &'a str,
    pub phase_span: Span,
}

impl Authorization<'_> {
    fn report(&self, cap: Capability, span: Span, what: &str, sink: &mut Diagnostics) {
        if self.caps.contains(cap) {
            return;
        }
        let mut d = Diagnostic::new(
            Code::E701,
            span,
            format!("{what} needs the `{cap}` capability, which phase `{}` does not authorize", self.phase),
            format!("needs `{cap}`"),
        )
        .with_label(self.phase_span, "the phase in force");
        d = match self.ladder.first_authorizing(cap) {
            Some(first) => d.with_help(format!(
                "remove it until the project reaches phase `{first}`, the first that authorizes `{cap}`"
            )),
            None => {
                d.with_help(format!("no phase of this ladder authorizes `{cap}`: remove it, or add `{cap}` to a phase"))
            }
        };
        sink.push(d);
    }

    /// Checks a whole declaration: the kind's own capability, then each field and block.
    pub fn declaration(
        &self,
        kind: &str,
        name: &str,
        cap: Capability,
        head: Span,
        body: &Body,
        sink: &mut Diagnostics,
    ) {
        if !self.caps.contains(cap) {
            self.report(cap, head, &format!("{kind} `{name}`"), sink);
            return;
        }
        self.body(body, sink);
    }

    /// Checks each field, block and env entry of a body.
    pub fn body(&self, body: &Body, sink: &mut Diagnostics) {
        for field in &body.fields {
            if !self.caps.contains(field.capability) {
                self.report(field.capability, field.span, &format!("`{}`", field.name), sink);
                continue;
            }
            if let Val::Env(entries) = &field.value {
                for entry in entries {
                    let cap = match &entry.value {
                        EnvVal::Ref(r) if r.attr.is_some() => Capability::Wiring,
                        EnvVal::Ref(_) => Capability::Secrets,
                        _ => Capability::Model,
                    };
                    if self.caps.contains(cap) {
                        continue;
                    }
                    let what = match cap {
                        Capability::Wiring => format!("`{}`, a reference to another resource's attribute,", entry.key),
                        Capability::Secrets => format!("`{}`, a secret reference,", entry.key),
                        _ => format!("`{}`", entry.key),
                    };
                    self.report(cap, entry.span, &what, sink);
                }
            }
        }
        for block in &body.blocks {
            if !self.caps.contains(block.capability) {
                self.report(block.capability, block.head, &format!("`{} {{ }}`", block.name), sink);
                continue;
            }
            self.body(&block.body, sink);
        }
    }
}
