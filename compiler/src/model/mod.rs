//! The model (to be written).
use crate::diag::Diagnostics;
use crate::source::Sources;
use crate::{ir, syntax::ast};

pub struct Model {}

pub fn build(sources: &Sources, files: &[ast::File], sink: &mut Diagnostics) -> Model {
    let _ = (sources, files, sink);
    Model {}
}

pub fn to_ir(model: &Model) -> ir::Program {
    let _ = model;
    ir::Program { project: String::new(), phase: String::new(), stacks: Vec::new(), environments: Vec::new() }
}
