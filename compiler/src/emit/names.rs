//! Deterministic names shared by the emitters, so that Terraform and Kubernetes
//! find each other's objects by name alone.
//!
//! Where a derived name would exceed a provider's limit it is shortened
//! deterministically: truncated, then suffixed with 8 hex digits of its sha256.

use sha2::{Digest, Sha256};

/// `name` if it fits in `max` bytes, otherwise its first bytes plus `-` and a short hash
/// of the whole name. Never ends with `-` before the hash.
pub fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let digest = Sha256::digest(name.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max.saturating_sub(hash.len() + 1);
    let head = name[..keep].trim_end_matches('-');
    format!("{head}-{hash}")
}

/// `<project>-<env>`: the Kubernetes namespace, the EKS cluster name and the prefix of
/// every AWS name (shortened to `max`).
pub fn env_prefix(project: &str, env: &str, max: usize) -> String {
    shorten(&format!("{project}-{env}"), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_kept() {
        assert_eq!(shorten("zenthea-production", 63), "zenthea-production");
    }

    #[test]
    fn long_names_are_truncated_with_a_stable_hash() {
        let long = "a".repeat(40) + "-" + &"b".repeat(40);
        let short = shorten(&long, 32);
        assert_eq!(short.len(), 32);
        assert_eq!(short, shorten(&long, 32));
        assert_ne!(short, shorten(&(long.clone() + "c"), 32));
    }
}
