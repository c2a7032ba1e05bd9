//! The standard library, embedded: the resource kinds and the default phase ladder
//! as `.gov` files from the repository's `stdlib/` directory.

/// `(path relative to stdlib/, contents)`, in path order.
pub const FILES: &[(&str, &str)] =
    &[("kinds.gov", include_str!("../../stdlib/kinds.gov")), ("phases.gov", include_str!("../../stdlib/phases.gov"))];
