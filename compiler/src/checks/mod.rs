//! Governance checks (E3xx–E8xx and their warnings) over the merged, resolved model.
//!
//! Each file holds one family of rules, one function per rule, named for what it
//! flags. Checks only read the model; they skip values that are `Invalid` (already
//! reported) and rules whose condition reads a field the phase does not authorize.
//! A rule about a stack's text found in several environments is reported once.

mod compute;
pub mod graph;
mod isolation;
pub(crate) mod network;
mod parity;
mod persistence;
mod promotion;
pub mod secrets;
mod storage;
pub(crate) mod telemetry;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::ir::Tier;
use crate::model::schema::{CapSet, Capability};
use crate::model::Model;
use crate::source::Span;
use crate::Options;

/// A check of the model, into a sink of its own.
type Check = fn(&Model, &mut Diagnostics);

/// The checks that read the whole model, in the order they report, each with its cost
/// at fleet scale (fleet-40k, in tens of milliseconds): the pool starts the costly ones
/// first, so that no core waits on the last long check while the other is idle.
const CHECKS: [(Check, u32); 12] = [
    (isolation::state_shared, 0),
    (isolation::production_account_shared, 0),
    (isolation::secret_path_shared, 0),
    (isolation::host_shared, 0),
    (isolation::literal_references, 25),
    (network::run, 11),
    (compute::run, 22),
    (persistence::run, 15),
    (storage::run, 1),
    (parity::run, 4),
    (telemetry::run, 4),
    (promotion::run, 20),
];

/// Runs every check.
pub fn run(model: &Model, options: &Options, sink: &mut Diagnostics) {
    // Checks only read the model: they run side by side, each into its own sink,
    // reported in the order of [`CHECKS`] (the order of a sequential run).
    let mut costly_first: Vec<usize> = (0..CHECKS.len()).collect();
    costly_first.sort_by_key(|&i| std::cmp::Reverse(CHECKS[i].1));
    let found = crate::par::map_each(&costly_first, |&i| {
        let mut local = Diagnostics::new();
        (CHECKS[i].0)(model, &mut local);
        local
    });
    let mut in_order: Vec<(usize, Diagnostics)> = costly_first.into_iter().zip(found).collect();
    in_order.sort_unstable_by_key(|(i, _)| *i);
    for (_, local) in in_order {
        sink.extend(local.into_reported());
    }
    if options.emit {
        build_without_iac(model, sink);
        network::one_network_to_build(model, sink);
    }
}

/// E704: `govc build` of cloud environments in a phase that authorizes `iac` but not
/// what their Terraform needs (`provider`, `addressing`).
fn cloud_without_provider(model: &Model, caps: CapSet, phase: &str, span: Span, sink: &mut Diagnostics) {
    let missing: Vec<Capability> =
        [Capability::Provider, Capability::Addressing].into_iter().filter(|c| !caps.contains(*c)).collect();
    let cloud: Vec<String> = model
        .environments
        .iter()
        .filter(|e| e.tier.is_some_and(|t| t != Tier::Local))
        .map(|e| format!("`{}`", e.name))
        .collect();
    if missing.is_empty() || cloud.is_empty() {
        return;
    }
    let names: Vec<String> = missing.iter().map(|c| format!("`{c}`")).collect();
    sink.push(
        Diagnostic::new(
            Code::E704,
            span,
            format!(
                "phase `{phase}` authorizes `iac` but not {}: cloud environments cannot be emitted",
                names.join(" or ")
            ),
            "the phase in force",
        )
        .with_note(format!("cloud environments: {}", cloud.join(", ")))
        .with_help(format!("authorize {} in this phase or an earlier one", names.join(" and "))),
    );
}

/// Whether the phase in force authorizes `cap` (rules reading such a field wait).
pub(crate) fn authorized(model: &Model, cap: Capability) -> bool {
    model.authorized.is_some_and(|caps| caps.contains(cap))
}

/// E702: `govc build` in a phase without `iac` (and E704 when `iac` comes too early).
fn build_without_iac(model: &Model, sink: &mut Diagnostics) {
    let (Some(caps), Some(span)) = (model.authorized, model.phase_span()) else { return };
    let phase = model.project.as_ref().and_then(|p| p.phase.as_ref()).map(|(p, _)| p.as_str()).unwrap_or_default();
    if caps.contains(Capability::Iac) {
        cloud_without_provider(model, caps, phase, span, sink);
        return;
    }
    let mut d = Diagnostic::new(
        Code::E702,
        span,
        format!("phase `{phase}` does not authorize `iac`: nothing may be emitted"),
        "the phase in force",
    )
    .with_note("`govc check` passes in this phase; only `govc build` needs `iac`");
    d = match model.ladder.first_authorizing(Capability::Iac) {
        Some(first) => d.with_help(format!(
            "run `govc check` until the project reaches phase `{first}`, the first that authorizes `iac`"
        )),
        None => d.with_help(
            "no phase of this ladder authorizes `iac`; add it to the phase where infrastructure code may be written",
        ),
    };
    sink.push(d);
}
