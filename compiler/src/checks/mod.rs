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

/// Runs every check.
pub fn run(model: &Model, options: &Options, sink: &mut Diagnostics) {
    // Checks only read the model: two halves of similar cost run side by side, each
    // into its own sink, reported in this order (the order of a sequential run).
    let (first, second) = crate::par::join(
        || {
            let mut sink = Diagnostics::new();
            isolation::state_shared(model, &mut sink);
            isolation::production_account_shared(model, &mut sink);
            isolation::secret_path_shared(model, &mut sink);
            isolation::host_shared(model, &mut sink);
            isolation::literal_references(model, &mut sink);
            network::run(model, &mut sink);
            sink
        },
        || {
            let mut sink = Diagnostics::new();
            compute::run(model, &mut sink);
            persistence::run(model, &mut sink);
            storage::run(model, &mut sink);
            parity::run(model, &mut sink);
            telemetry::run(model, &mut sink);
            promotion::run(model, &mut sink);
            sink
        },
    );
    sink.extend(first.into_reported());
    sink.extend(second.into_reported());
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
