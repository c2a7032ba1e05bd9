//! Kubernetes Kustomize trees: `kubernetes/base/` from the stack and one overlay per environment.

use std::collections::BTreeMap;

use crate::ir;

/// Renders `kubernetes/base/**` and `kubernetes/overlays/<env>/**`.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, String> {
    let _ = program;
    Ok(BTreeMap::new())
}
