//! Terraform JSON for AWS: one root per environment whose tier is not `local`.

use std::collections::BTreeMap;

use crate::ir;

/// Renders `terraform/<env>/*.tf.json` for every cloud environment.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, String> {
    let _ = program;
    Ok(BTreeMap::new())
}
