//! Diagnostics: the model ([`Diagnostic`]), the stable codes ([`Code`]) and their
//! rendering for people (ariadne), editors (JSON lines) and CI (SARIF).

mod codes;
mod diagnostic;
pub mod redact;
pub mod render;

pub use codes::{Code, Severity};
pub use diagnostic::{Diagnostic, Diagnostics, Edit, Fix, Label};
