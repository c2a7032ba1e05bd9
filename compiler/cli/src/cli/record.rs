//! Records of the digests of the files a build found unchanged, kept on the files
//! themselves, so that the next build compares them with what it renders without
//! hashing them again.
//!
//! A rebuild finds nearly every file the same, and the lock must list each file's
//! sha256: hashing them was the largest single cost of a rebuild (34 MB at fleet-1000,
//! 15 % of its CPU). A build that writes, once it has read a file whole, found it the
//! same as what it rendered and hashed it, records the digest on the file: an extended
//! attribute (`user.govc.sha256`) holding the digest with the file's size and
//! modification time as they were. The next build trusts the record only while the file
//! still has that size and time, and only for a file whose every byte it finds the same
//! as what it renders; at the first difference it hashes the bytes that were the same,
//! read back from the file, and goes on as without a record (`tree::Incoming`).
//!
//! What keeps a record true of its file:
//! - it lives on the file (its inode): a file replaced by another (an editor's save, a
//!   checkout, a copy) has none, and copies that keep attributes keep the record with
//!   the bytes it describes;
//! - a file written to changes its modification time, and a record is made only of a
//!   file last modified at least [`SETTLED`] before the build read it, so that a change
//!   made since then cannot share its time (file times advance by a clock tick, a few
//!   milliseconds at most); the time is read again after the file was read whole, and a
//!   file that moved is not recorded, nor taken for the same when it had a record (the
//!   build reports that it changed while it was read);
//! - `build --check` trusts no record: the check of record, the one CI runs, hashes
//!   every file.
//!
//! A file whose bytes were changed in place and whose time was then set back by hand
//! keeps its record: the build would list the recorded digest, and `build --check`
//! would report the lock stale. Removing the attribute (`setfattr -x
//! user.govc.sha256`) or the file makes the next build hash it again.
//!
//! A file system without extended attributes, a read-only file and any other failure
//! leave the file without a record: records only ever save time.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The extended attribute that holds a file's record.
#[cfg(target_os = "linux")]
const NAME: &str = "user.govc.sha256";

/// How long before a build reads a file it must have been last modified for the build
/// to record it: longer than any file system's clock tick, by far.
pub(crate) const SETTLED: Duration = Duration::from_secs(1);

/// What a record holds of its file besides the digest: its size and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    len: u64,
    /// Since the epoch.
    modified: Duration,
}

impl Stamp {
    /// The stamp of a file from its metadata; none for a time before the epoch.
    pub(crate) fn of(meta: &fs::Metadata) -> Option<Stamp> {
        let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
        Some(Stamp { len: meta.len(), modified })
    }

    /// Whether the file was last modified at least [`SETTLED`] before `now`.
    pub(crate) fn settled(&self, now: SystemTime) -> bool {
        now.duration_since(UNIX_EPOCH).is_ok_and(|now| now.saturating_sub(self.modified) >= SETTLED)
    }

    /// The attribute's value: `1 <size> <seconds>.<nanoseconds> <sha256>` (a version,
    /// then the stamp and the digest in hexadecimal).
    fn value(&self, digest: &[u8; 32]) -> String {
        format!(
            "1 {} {}.{:09} {}",
            self.len,
            self.modified.as_secs(),
            self.modified.subsec_nanos(),
            govc::lock::hex(digest)
        )
    }

    /// The digest of a record's value, when the record is of this stamp.
    fn read(&self, value: &[u8]) -> Option<[u8; 32]> {
        let value = std::str::from_utf8(value).ok()?;
        let mut fields = value.split(' ');
        let (version, len, modified, hex) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        if version != "1" || fields.next().is_some() {
            return None;
        }
        let (secs, nanos) = modified.split_once('.')?;
        let stamp = Stamp {
            len: len.parse().ok()?,
            modified: Duration::new(secs.parse().ok()?, nanos.parse().ok().filter(|n| *n < 1_000_000_000)?),
        };
        (stamp == *self && nanos.len() == 9).then(|| from_hex(hex)).flatten()
    }
}

/// Thirty-two bytes from sixty-four lowercase hexadecimal digits.
fn from_hex(hex: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(bytes)
}

/// What a build finds of a file's record as it opens the file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    /// The file's stamp then.
    pub(crate) stamp: Stamp,
    /// The digest recorded for it, if its record is of that stamp.
    pub(crate) recorded: Option<[u8; 32]>,
    /// Whether it had settled then: a record may be made of it.
    settled: bool,
}

impl Found {
    /// Records `digest` on `file`, read whole since it was found, unless it had a record
    /// or had not settled (see [`write`]).
    pub(crate) fn record(&self, file: &fs::File, digest: &[u8; 32]) {
        if self.recorded.is_none() && self.settled {
            write(file, self.stamp, digest);
        }
    }
}

/// The record of `file`, just opened (`meta` its metadata); none for a time before the
/// epoch.
pub(crate) fn find(file: &fs::File, meta: &fs::Metadata) -> Option<Found> {
    let stamp = Stamp::of(meta)?;
    Some(Found { stamp, recorded: read(file, stamp), settled: stamp.settled(SystemTime::now()) })
}

/// The digest recorded on `file` when its record is of `stamp`, the file's stamp now.
pub(crate) fn read(file: &fs::File, stamp: Stamp) -> Option<[u8; 32]> {
    #[cfg(target_os = "linux")]
    {
        let mut value = [0u8; 128];
        let n = rustix::fs::fgetxattr(file, NAME, &mut value[..]).ok()?;
        stamp.read(value.get(..n)?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, stamp);
        None
    }
}

/// Records `digest` on `file`, read whole since its stamp was `stamp`, if it still has
/// that stamp (nothing wrote to it meanwhile).
pub(crate) fn write(file: &fs::File, stamp: Stamp, digest: &[u8; 32]) {
    if file.metadata().ok().and_then(|meta| Stamp::of(&meta)) != Some(stamp) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // A file system without user attributes, a file not writable: no record.
        let _ = rustix::fs::fsetxattr(file, NAME, stamp.value(digest).as_bytes(), rustix::fs::XattrFlags::empty());
    }
    #[cfg(not(target_os = "linux"))]
    let _ = digest;
}

/// Whether files in `dir` take user attributes (for the tests, which say so when not).
#[cfg(test)]
pub(crate) fn supported(dir: &std::path::Path) -> bool {
    let probe = dir.join(".probe");
    let supported = fs::write(&probe, "").is_ok() && {
        #[cfg(target_os = "linux")]
        let set = rustix::fs::setxattr(&probe, "user.govc.probe", b"", rustix::fs::XattrFlags::empty()).is_ok();
        #[cfg(not(target_os = "linux"))]
        let set = false;
        set
    };
    let _ = fs::remove_file(&probe);
    if !supported {
        eprintln!("note: no user attributes in {}: records not tested", dir.display());
    }
    supported
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp { len: 1234, modified: Duration::new(1_700_000_000, 5) }
    }

    /// A record reads back as its digest for its own stamp only; any other value, or
    /// another size or time, is no record.
    #[test]
    fn a_record_is_of_one_size_and_time() {
        let digest: [u8; 32] = std::array::from_fn(|i| i as u8 * 7);
        let value = stamp().value(&digest);
        assert_eq!(value, format!("1 1234 1700000000.000000005 {}", govc::lock::hex(&digest)));
        assert_eq!(stamp().read(value.as_bytes()), Some(digest));
        let other_len = Stamp { len: 1235, ..stamp() };
        let other_time = Stamp { modified: Duration::new(1_700_000_000, 6), ..stamp() };
        assert_eq!(other_len.read(value.as_bytes()), None);
        assert_eq!(other_time.read(value.as_bytes()), None);
        for bad in [
            String::new(),
            value.replacen('1', "2", 1),
            format!("{value} "),
            value.replace(".000000005", ".5"),
            value.replace(".000000005", ".1000000000"),
            value[..value.len() - 1].to_string(),
            value.to_uppercase(),
        ] {
            assert_eq!(stamp().read(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn a_file_is_settled_a_second_after_it_was_modified() {
        let modified = UNIX_EPOCH + stamp().modified;
        assert!(!stamp().settled(modified));
        assert!(!stamp().settled(modified + SETTLED - Duration::from_nanos(1)));
        assert!(stamp().settled(modified + SETTLED));
        assert!(!stamp().settled(modified - Duration::from_secs(5)), "a time in the future");
    }

    /// On a file system with user attributes (skipped without): a record written on a
    /// file is read back while the file keeps its stamp, and a file that moved since it
    /// was read is not recorded.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_record_is_kept_on_the_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("f");
        fs::write(&path, "text\n").expect("written");
        let file = fs::File::open(&path).expect("opened");
        let now = Stamp::of(&file.metadata().expect("metadata")).expect("a time after the epoch");
        let digest = [9u8; 32];
        if !supported(dir.path()) {
            return;
        }
        write(&file, now, &digest);
        assert_eq!(read(&file, now), Some(digest));
        let moved = Stamp { len: now.len + 1, ..now };
        assert_eq!(read(&file, moved), None);
        let other = dir.path().join("g");
        fs::write(&other, "text\n").expect("written");
        let other = fs::File::open(&other).expect("opened");
        write(&other, moved, &digest);
        assert_eq!(read(&other, now), None, "recorded though its stamp was not the one read");
    }
}
