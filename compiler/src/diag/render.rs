//! Rendering of diagnostics (to be written).
