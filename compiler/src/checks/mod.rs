//! Governance checks (to be written).
use crate::diag::Diagnostics;
use crate::model::Model;
use crate::Options;

pub fn run(model: &Model, options: &Options, sink: &mut Diagnostics) {
    let _ = (model, options, sink);
}
