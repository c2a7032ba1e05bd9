//! Emitters: the checked [`ir::Program`] to files in memory: Terraform roots,
//! Kustomize trees, the local environments' Docker Compose files and the
//! environments' documentation pages.
//!
//! Emitters read the IR, never the AST or the model; they do no IO. The CLI writes
//! what they return. Paths are relative to the output directory, `/`-separated.

pub mod compose;
pub mod docs;
pub mod kustomize;
pub mod names;
pub mod registries;
pub mod terraform;
pub mod versions;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod identity_tests;

use std::collections::BTreeMap;

use crate::diag::{Code, Diagnostic};
use crate::ir;

/// Renders every output file of the program: Terraform roots, Kustomize trees, Compose
/// files and documentation pages.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, Box<Diagnostic>> {
    // The backends are independent: Kustomize (the larger) beside Terraform and the docs.
    let (kustomize, (terraform, docs)) =
        crate::par::join(|| kustomize::emit(program), || (terraform::emit(program), docs::emit(program)));
    let mut files = terraform.map_err(internal)?;
    files.extend(kustomize.map_err(internal)?);
    files.extend(docs.map_err(internal)?);
    files.extend(compose::emit(program).map_err(internal)?);
    Ok(files)
}

fn internal(message: String) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::global(Code::E901, format!("internal error while emitting: {message}"))
            .with_note("this is a bug in govc; please report it with the sources that caused it"),
    )
}
