//! `govc.lock.json`: every file a build wrote, with its sha256, the govc version and
//! a digest of the sources.
//!
//! The lock is how a build knows which files it owns: it deletes only files the
//! previous lock lists, never a file it did not write. The source digest hashes
//! the project files' contents only (sorted), so renaming or moving files does not
//! change it.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::source::{Origin, Sources};

/// The lock file's name, at the root of the output directory.
pub const LOCK_FILE: &str = "govc.lock.json";

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Hashes into `hasher` what `reader` holds, read a block at a time (a file on disk,
/// hashed for the lock without being held): how many bytes it read.
pub fn hash_read(mut reader: impl std::io::Read, hasher: &mut Sha256) -> std::io::Result<u64> {
    let mut block = vec![0u8; 64 * 1024];
    let mut read = 0;
    loop {
        match reader.read(&mut block) {
            Ok(0) => return Ok(read),
            Ok(n) => {
                hasher.update(&block[..n]);
                read += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `bytes` as lowercase hexadecimal, two digits a byte (digests in names, labels and
/// annotations; without the formatting machinery, which fleets call a million times).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// The digest of the project's sources: the sha256 of their sorted content digests.
/// Line endings are normalized first (`\r\n` → `\n`), so a checkout with CRLF
/// line endings has the digest of the committed files.
pub fn source_digest(sources: &Sources) -> String {
    let mut digests: Vec<String> = sources
        .iter()
        .filter(|(_, f)| f.origin == Origin::Project)
        .map(|(_, f)| {
            if f.text.contains('\r') {
                sha256_hex(f.text.replace("\r\n", "\n").as_bytes())
            } else {
                sha256_hex(f.text.as_bytes())
            }
        })
        .collect();
    digests.sort();
    sha256_hex(digests.join("\n").as_bytes())
}

/// Renders the lock for `files` (which must not include the lock itself).
pub fn render(files: &BTreeMap<String, String>, sources: &Sources) -> String {
    // Hashing is most of the cost of a lock: the files are hashed side by side.
    let texts: Vec<&String> = files.values().collect();
    let digests = crate::par::map(&texts, |text| sha256_hex(text.as_bytes()));
    render_hashed(files.keys().map(String::as_str).zip(digests.iter().map(String::as_str)), sources)
}

/// Renders the lock from each file's path and hex sha256 (already computed, by
/// [`crate::emit::emit_hashed`]), in path order.
pub fn render_hashed<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>, sources: &Sources) -> String {
    render_with_source_digest(files, &source_digest(sources))
}

/// [`render_hashed`], the sources' digest ([`source_digest`]) already computed.
pub fn render_with_source_digest<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>, digest: &str) -> String {
    let listed: serde_json::Map<String, Value> =
        files.into_iter().map(|(path, digest)| (path.to_string(), json!(digest))).collect();
    let lock = json!({
        "//": "written by govc build: the files govc owns in this directory; do not edit",
        "govc_version": env!("CARGO_PKG_VERSION"),
        "source_digest": format!("sha256:{digest}"),
        "files": listed,
    });
    let mut out = serde_json::to_string_pretty(&lock).expect("a JSON value always serializes");
    out.push('\n');
    out
}

/// Whether a path listed in a lock may be owned: relative, `/`-separated, every
/// segment a plain name (no empty, `.` or `..` segment, no `\`, no NUL, no drive).
/// A lock is input like any other file on disk; a path that fails this is never
/// read or removed.
pub fn is_owned_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0', ':'])
        && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// The files a lock lists, `path → sha256`; `None` when the text is not a lock.
pub fn parse(text: &str) -> Option<BTreeMap<String, String>> {
    let value: Value = serde_json::from_str(text).ok()?;
    let files = value.get("files")?.as_object()?;
    Some(files.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_read_a_block_at_a_time_is_the_digest_of_the_whole() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        for bytes in [&bytes[..], b""] {
            let mut hasher = Sha256::new();
            assert_eq!(hash_read(bytes, &mut hasher).expect("read"), bytes.len() as u64);
            assert_eq!(hex(&hasher.finalize()), sha256_hex(bytes));
        }
    }

    #[test]
    fn sha256_hex_is_the_standard_digest() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn round_trips_and_ignores_file_names() {
        let mut a = Sources::new();
        a.add("project.gov", "x");
        a.add("envs/a.gov", "y");
        let mut b = Sources::new();
        b.add("renamed.gov", "y");
        b.add("project.gov", "x");
        assert_eq!(source_digest(&a), source_digest(&b));
        let mut crlf = Sources::new();
        crlf.add("project.gov", "x\r\ny\r\n");
        let mut lf = Sources::new();
        lf.add("project.gov", "x\ny\n");
        assert_eq!(source_digest(&crlf), source_digest(&lf));
        let files = BTreeMap::from([("terraform/prod/backend.tf.json".to_string(), "{}\n".to_string())]);
        let lock = render(&files, &a);
        let parsed = parse(&lock).expect("a lock");
        assert_eq!(parsed["terraform/prod/backend.tf.json"], sha256_hex(b"{}\n"));
        assert!(parse("not json").is_none());
    }

    #[test]
    fn only_plain_relative_paths_may_be_owned() {
        for ok in ["govc.lock.json", "terraform/prod/backend.tf.json", "a/.b/c..d"] {
            assert!(is_owned_path(ok), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\\..\\b", "C:/x", "a\0b", "a/"] {
            assert!(!is_owned_path(bad), "{bad:?}");
        }
    }
}
