//! Container image references: `[registry/]path[:tag][@sha256:<64 hex>]`
//! (LANGUAGE.md "Images"), shared by the checks (E501, E504) and the IR.

use crate::ir::Image;

/// Is `digest` `sha256:` followed by 64 lowercase hex digits?
pub fn is_sha256_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Splits an image reference. The registry is the first path component when it looks
/// like a host (has a `.` or `:`, or is `localhost`); otherwise it is `docker.io`.
pub fn parse(reference: &str) -> Image {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest.to_string())),
        None => (reference, None),
    };
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(rest[last_slash + i + 1..].to_string())),
        None => (rest, None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let repository = if has_registry { name.to_string() } else { format!("docker.io/{name}") };
    Image { reference: reference.to_string(), repository, name: name.to_string(), tag, digest }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_registry_path_tag_and_digest() {
        let hex = "a".repeat(64);
        let it = parse(&format!("registry.example.com:5000/team/api:1.2@sha256:{hex}"));
        assert_eq!(it.repository, "registry.example.com:5000/team/api");
        assert_eq!(it.tag.as_deref(), Some("1.2"));
        assert!(is_sha256_digest(it.digest.as_deref().unwrap_or_default()));
        assert_eq!(parse("nginx:1.27").repository, "docker.io/nginx");
        assert_eq!(parse("team/api").repository, "docker.io/team/api");
        assert!(!is_sha256_digest("sha256:ABC"));
    }
}
