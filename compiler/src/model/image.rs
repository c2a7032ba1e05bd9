//! Container image references: `[registry/]path[:tag][@sha256:<64 hex>]`
//! (LANGUAGE.md "Images"), shared by the checks (E501, E504) and the IR.

use std::borrow::Cow;

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
    let (name, tag, digest) = split(reference);
    Image {
        reference: reference.to_string(),
        repository: canonical_repository(name).into_owned(),
        name: name.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    }
}

/// The name, tag and digest of an image reference, as [`parse`] reads them (the
/// checks need no more, and read thousands of references on every edit).
pub fn split(reference: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (reference, None),
    };
    // A tag is a `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The canonical repository of an image reference: [`parse`]'s `repository`.
pub fn repository(reference: &str) -> Cow<'_, str> {
    canonical_repository(split(reference).0)
}

/// The Docker Hub host names that all mean `docker.io`.
const DOCKER_HUB: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"];

/// The repository an image name denotes, in the one spelling that compares equal
/// (as the Docker reference grammar normalizes it): the registry, lowercased, is the
/// first component when it looks like a host (has a `.` or `:`, or is `localhost`),
/// otherwise `docker.io`; Docker Hub's other host names are `docker.io`; and a
/// one-component Docker Hub path is an official image, under `library/`. So
/// `nginx`, `docker.io/nginx`, `index.docker.io/library/nginx` and
/// `docker.io/library/nginx` are one repository.
pub fn canonical_repository(name: &str) -> Cow<'_, str> {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest)) if first.contains('.') || first.contains(':') || first == "localhost" => (first, rest),
        _ => ("docker.io", name),
    };
    let hub = DOCKER_HUB.iter().any(|h| h.eq_ignore_ascii_case(registry));
    if hub {
        let library = if path.contains('/') { "" } else { "library/" };
        Cow::Owned(format!("docker.io/{library}{path}"))
    } else if registry.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(format!("{}/{path}", registry.to_ascii_lowercase()))
    } else {
        // Already canonical: the name itself (no copy; the checks read thousands).
        Cow::Borrowed(name)
    }
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
        assert_eq!(parse("nginx:1.27").repository, "docker.io/library/nginx");
        assert_eq!(parse("team/api").repository, "docker.io/team/api");
        assert!(!is_sha256_digest("sha256:ABC"));
    }

    #[test]
    fn split_and_repository_agree_with_parse() {
        let hex = "a".repeat(64);
        for r in [
            format!("registry.example.com:5000/team/api:1.2@sha256:{hex}"),
            "nginx:1.27".to_string(),
            "localhost:5000/api".to_string(),
            "a@b@c".to_string(),
            "team/api@sha256:x".to_string(),
            String::new(),
        ] {
            let it = parse(&r);
            let (name, tag, digest) = split(&r);
            assert_eq!((name, tag, digest), (it.name.as_str(), it.tag.as_deref(), it.digest.as_deref()), "{r}");
            assert_eq!(repository(&r), it.repository, "{r}");
        }
    }

    #[test]
    fn docker_hub_spellings_are_one_repository() {
        for name in ["nginx", "docker.io/nginx", "docker.io/library/nginx", "index.docker.io/library/nginx:1.27"] {
            assert_eq!(parse(name).repository, "docker.io/library/nginx", "{name}");
        }
        assert_eq!(parse("Registry.Example.com/team/api").repository, "registry.example.com/team/api");
        assert_eq!(parse("localhost:5000/api").repository, "localhost:5000/api");
        assert_ne!(parse("docker.io/nginx").repository, parse("docker.io/bitnami/nginx").repository);
        assert_ne!(parse("nginx").repository, parse("quay.io/nginx").repository);
    }
}
