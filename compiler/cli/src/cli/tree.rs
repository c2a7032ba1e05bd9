//! The output directory on disk: what a build would change, and how it changes it
//! atomically.
//!
//! A build compares each file with the directory a piece at a time as it is rendered
//! ([`Early`], [`Incoming`]): a file found the same is not kept, and a file that differs
//! is written as it arrives into the new tree, in a staging directory beside the old one
//! ([`Staging`]), so no build holds a file whole (`build --check` keeps the texts that
//! differ, for its report). [`Plan`] then compares the rest with the directory (using the
//! previous `govc.lock.json` to know which files govc owns); [`apply`] completes the new
//! tree — unchanged and foreign files hard-linked, foreign directories recreated with
//! their modes — and swaps the two with one `rename`, so an interrupted build leaves the
//! previous tree whole.
//!
//! What a build never does, whatever is on disk:
//! - read or write through a symbolic link under the output directory (a link on
//!   a path govc owns or writes is refused with an error naming it; a foreign link
//!   elsewhere is kept as a link);
//! - trust the lock: a listed path that is absolute or leaves the directory is
//!   ignored (never read, never removed) and reported;
//! - remove or alter what it does not own: foreign files, foreign directories
//!   (empty ones included) and their modes survive exactly;
//! - leave its litter: staging directories of earlier builds that were killed are
//!   removed before a new one is made.
//!
//! An output directory that is a mount point cannot be swapped; there each file is
//! replaced atomically in place (temporary file + rename), the lock last.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use govc::lock;
use sha2::{Digest as _, Sha256};

use super::record::{self, Found, Stamp};

/// A rendered file as a build holds it.
#[derive(Debug)]
pub(crate) enum Rendered {
    /// Its text, not compared with the directory yet.
    Text(String),
    /// Compared when it was rendered: the same as in the directory (its text dropped).
    Same,
    /// Compared when it was rendered: not in the directory (`old` is `None`), or not
    /// the same as `old`.
    Differs { text: String, old: Option<String> },
    /// Compared when it was rendered, but the directory could not be read there.
    Unreadable(io::Error),
    /// Compared when it was rendered and not the same: written into the staging tree as
    /// it arrived (a build that writes). The directory held a file or a directory there
    /// when `replaces`.
    Written { replaces: bool },
    /// Not the same, and could not be written into the staging tree.
    Unwritable(io::Error),
    /// Compared when it was rendered and not the same, for `build --check`: what its
    /// report shows of the difference, made then (the texts are not kept). The
    /// directory held a file or a directory there when `replaces`.
    Stale { excerpt: String, replaces: bool },
    /// Rendered and not wanted (a build of other environments): neither kept nor
    /// compared.
    Unwanted,
}

/// What `build --check` shows of a file that differs, from its path, what the directory
/// holds there (empty for nothing) and the text rendered.
pub(crate) type Excerpt<'a> = dyn Fn(&str, &str, &str) -> String + Sync + 'a;

impl Rendered {
    /// The text, unless the file was found the same as in the directory.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Rendered::Text(text) | Rendered::Differs { text, .. } => Some(text),
            Rendered::Same
            | Rendered::Unreadable(_)
            | Rendered::Written { .. }
            | Rendered::Unwritable(_)
            | Rendered::Stale { .. }
            | Rendered::Unwanted => None,
        }
    }
}

/// Compares files with the directory as they are rendered, from any thread, under the
/// same rules as [`Plan`]: never through a link.
pub(crate) struct Early<'a> {
    dir: &'a Path,
    links: Mutex<LinkGuard<'a>>,
    /// Where the files that differ go as they arrive, for a build that writes; without
    /// it their texts are kept.
    staging: Option<OnceLock<Result<Staging, (io::ErrorKind, String)>>>,
    /// What is kept of a file that differs instead of its text, for `build --check`.
    excerpt: Option<&'a Excerpt<'a>>,
    /// Whether files carry records of their digests ([`record`]): trusted, and made of
    /// the files found the same (a build that writes).
    records: bool,
}

impl<'a> Early<'a> {
    /// Compares, and keeps the text of each file that differs.
    pub(crate) fn new(dir: &'a Path) -> Early<'a> {
        Early { dir, links: Mutex::new(LinkGuard::new(dir)), staging: None, excerpt: None, records: false }
    }

    /// Compares, and keeps of each file that differs only what `excerpt` makes of it
    /// once it is whole (`build --check`): a stale tree is reported without holding its
    /// texts, each file's difference found on the thread that rendered it.
    pub(crate) fn reporting(dir: &'a Path, excerpt: &'a Excerpt<'a>) -> Early<'a> {
        Early { excerpt: Some(excerpt), ..Early::new(dir) }
    }

    /// Compares, and writes each file that differs into a staging tree beside `dir`,
    /// made when the first one arrives (a rebuild that changes nothing makes none). An
    /// output directory that is a mount point is written in place ([`apply`]): there the
    /// texts are kept, as by [`Early::new`]. A file's record of its digest stands for
    /// hashing it while it is the same, and a file found the same is recorded
    /// ([`record`]).
    pub(crate) fn writing(dir: &'a Path) -> Early<'a> {
        let in_place = is_mount_point(dir).unwrap_or(true);
        Early { staging: (!in_place).then(OnceLock::new), records: true, ..Early::new(dir) }
    }

    /// The receiver of `path`, which compares it with the directory as it arrives. The
    /// link check holds the lock; the comparison does not, so the threads that render
    /// compare side by side.
    pub(crate) fn open(&self, path: &str) -> Incoming<'_> {
        let to = self.staging.as_ref().map(|staging| StagedAt { staging, beside: self.dir });
        match self.links.lock().unwrap_or_else(|e| e.into_inner()).check(path) {
            Ok(()) => Incoming { excerpt: self.excerpt, ..Incoming::at(&self.dir.join(path), path, to, self.records) },
            Err(e) => Incoming { arriving: Arriving::Failed(e), ..Incoming::nowhere() },
        }
    }

    /// The receiver of a file that is kept whole and compared later ([`Plan::new`]).
    pub(crate) fn keep() -> Incoming<'static> {
        Incoming { arriving: Arriving::Keep(String::new()), ..Incoming::nowhere() }
    }

    /// The receiver of a file that is not wanted: it drops every piece.
    pub(crate) fn unwanted() -> Incoming<'static> {
        Incoming { arriving: Arriving::Unwanted, ..Incoming::nowhere() }
    }

    /// The sha256 (hexadecimal) of `file`, a file of the directory carried over as it
    /// is: its record's digest when records are trusted and it has one, else read and
    /// hashed (and then recorded, like a file found the same).
    pub(crate) fn digest_of(&self, file: fs::File) -> io::Result<String> {
        let found = if self.records { record::find(&file, &file.metadata()?) } else { None };
        if let Some(recorded) = found.and_then(|found| found.recorded) {
            return Ok(lock::hex(&recorded));
        }
        let mut hasher = Sha256::new();
        lock::hash_read(&file, &mut hasher)?;
        let digest: [u8; 32] = hasher.finalize().into();
        if let Some(found) = found {
            found.record(&file, &digest);
        }
        Ok(lock::hex(&digest))
    }

    /// The output directory.
    pub(crate) fn dir(&self) -> &'a Path {
        self.dir
    }

    /// The staging tree the files that differ were written into, if one was made.
    pub(crate) fn into_staging(self) -> Option<Staging> {
        self.staging.and_then(OnceLock::into_inner).and_then(Result::ok)
    }
}

/// The directory beside the output directory where a build assembles the new tree
/// (`.<name>.govc-staging-<pid>-<random>/tree`); removed with what it holds when
/// dropped, so a build that stops half-way leaves nothing behind (and one that is
/// killed, a directory that the next build removes).
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    tree: PathBuf,
}

impl Staging {
    /// A new staging directory beside `dir`, once those of killed builds are removed.
    fn beside(dir: &Path) -> io::Result<Staging> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "generated".into());
        remove_stale_staging(&parent, &staging_prefix(&name));
        let staged = tempfile::Builder::new()
            .prefix(&format!("{}{}-", staging_prefix(&name), std::process::id()))
            .tempdir_in(&parent)?;
        let tree = staged.path().join("tree");
        fs::create_dir(&tree)?;
        Ok(Staging { dir: staged, tree })
    }
}

/// The staging tree a file that differs is written into, made beside the output
/// directory by the first such file.
pub(crate) struct StagedAt<'e> {
    staging: &'e OnceLock<Result<Staging, (io::ErrorKind, String)>>,
    beside: &'e Path,
}

impl StagedAt<'_> {
    /// Starts the file at `path` in the staging tree with the first `matched` bytes of
    /// `old` (the text so far, which they matched), then `then`.
    fn start(&self, path: &str, old: Option<&fs::File>, matched: u64, then: &str) -> io::Result<fs::File> {
        use std::io::{Read, Seek, Write};
        let staging = match self
            .staging
            .get_or_init(|| Staging::beside(self.beside).map_err(|e| (e.kind(), e.to_string())))
        {
            Ok(staging) => staging,
            Err((kind, e)) => return Err(io::Error::new(*kind, format!("could not make a staging directory: {e}"))),
        };
        let to = staging.tree.join(path);
        let within =
            |e: io::Error| io::Error::new(e.kind(), format!("`{path}` in {}: {e}", staging.dir.path().display()));
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(within)?;
        }
        let mut out = fs::OpenOptions::new().write(true).create_new(true).open(&to).map_err(within)?;
        if let (Some(mut old), true) = (old, matched > 0) {
            old.rewind().and_then(|()| io::copy(&mut old.take(matched), &mut out)).map_err(within)?;
        }
        out.write_all(then.as_bytes()).map_err(within)?;
        Ok(out)
    }
}

/// A rendered file arriving a piece at a time ([`govc::emit::out::Receive`]).
///
/// A rebuild finds almost every file the same: each piece is compared with the next
/// bytes of the file on disk as it comes, and nothing is kept. At the first difference
/// the text so far (which matched) is copied from the disk into the staging tree and the
/// rest follows it there; without a staging tree it is read back and the rest is kept,
/// and the old text is read whole at the end (the report shows it).
///
/// Each piece is hashed as it comes, unless the file on disk has a record of its digest
/// ([`record`]) and is the same so far: then the digest is the record's if the file
/// turns out the same, and at the first difference the bytes that were the same are
/// read back from the disk and hashed.
pub(crate) struct Incoming<'e> {
    arriving: Arriving,
    /// Its path below the output directory.
    path: String,
    /// Where it goes if it differs (a build that writes).
    to: Option<StagedAt<'e>>,
    /// What to keep of it if it differs (`build --check`).
    excerpt: Option<&'e Excerpt<'e>>,
    /// The record of the file on disk as it was opened, where records are trusted. Its
    /// digest stands while the text so far is the same as the file's first bytes (the
    /// text is not hashed meanwhile), and is dropped at the first difference.
    found: Option<Found>,
}

impl<'e> Incoming<'e> {
    /// A receiver in no state yet, that writes nowhere and makes no excerpt.
    fn nowhere() -> Incoming<'e> {
        Incoming { arriving: Arriving::Unwanted, path: String::new(), to: None, excerpt: None, found: None }
    }

    /// The receiver of the file at `at` (`path` below the output directory), compared
    /// with what is there, its record trusted and made when `records`. The caller has
    /// checked that no component of `at` is a link.
    fn at(at: &Path, path: &str, to: Option<StagedAt<'e>>, records: bool) -> Incoming<'e> {
        let to_path = to.as_ref().map(|to| (to, path));
        let mut found = None;
        let arriving = match fs::File::open(at) {
            Ok(file) => match file.metadata() {
                Ok(meta) if meta.is_dir() => differing(to_path, Old::Directory, 0, ""),
                Ok(meta) => {
                    found = if records { record::find(&file, &meta) } else { None };
                    Arriving::Matching { file, at: 0, len: meta.len() }
                }
                Err(e) => Arriving::Failed(e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
                differing(to_path, Old::Nothing, 0, "")
            }
            Err(e) if e.kind() == io::ErrorKind::IsADirectory => differing(to_path, Old::Directory, 0, ""),
            Err(e) => Arriving::Failed(e),
        };
        Incoming { arriving, path: path.to_string(), to, excerpt: None, found }
    }

    /// Where it goes if it differs, with its path.
    fn staged_at(&self) -> Option<(&StagedAt<'e>, &str)> {
        self.to.as_ref().map(|to| (to, self.path.as_str()))
    }
}

enum Arriving {
    /// Kept whole, not compared.
    Keep(String),
    /// The same as the first `at` bytes of `file`, which holds `len`.
    Matching { file: fs::File, at: u64, len: u64 },
    /// Not the same as what the directory holds there: the text so far.
    Differs { text: String, old: Old },
    /// Not the same: being written into the staging tree.
    Writing { out: fs::File, replaces: bool },
    /// The directory could not be read there.
    Failed(io::Error),
    /// The staging tree could not be written.
    Unwritable(io::Error),
    /// Not wanted: dropped as it arrives.
    Unwanted,
}

/// What the directory holds where a file differs.
enum Old {
    Nothing,
    Directory,
    File(fs::File),
}

/// The state of a file found to differ from `old` after `matched` bytes that were the
/// same, `then` the text that arrived next: written on into the staging tree at `to`
/// (which, and the file's path), or kept.
fn differing(to: Option<(&StagedAt, &str)>, old: Old, matched: u64, then: &str) -> Arriving {
    let old_file = match &old {
        Old::File(file) => Some(file),
        Old::Nothing | Old::Directory => None,
    };
    if let Some((to, path)) = to {
        return match to.start(path, old_file, matched, then) {
            Ok(out) => Arriving::Writing { out, replaces: !matches!(old, Old::Nothing) },
            Err(e) => Arriving::Unwritable(e),
        };
    }
    let so_far = match old_file {
        Some(file) => read_prefix(file, matched),
        None => Ok(String::new()),
    };
    match so_far {
        Ok(mut text) => {
            text.push_str(then);
            Arriving::Differs { text, old }
        }
        Err(e) => Arriving::Failed(e),
    }
}

impl govc::emit::out::Receive for Incoming<'_> {
    type Kept = Rendered;

    fn piece(&mut self, text: &str, hasher: &mut Sha256) {
        if self.recorded().is_none() {
            hasher.update(text.as_bytes());
        }
        let differs = match &mut self.arriving {
            Arriving::Keep(kept) | Arriving::Differs { text: kept, .. } => {
                kept.push_str(text);
                return;
            }
            Arriving::Writing { out, .. } => {
                if let Err(e) = std::io::Write::write_all(out, text.as_bytes()) {
                    self.arriving = Arriving::Unwritable(e);
                }
                return;
            }
            Arriving::Failed(_) | Arriving::Unwritable(_) | Arriving::Unwanted => return,
            Arriving::Matching { file, at, len } => match next_bytes_are(file, *len - *at, text.as_bytes()) {
                Ok(true) => {
                    *at += text.len() as u64;
                    return;
                }
                Ok(false) => Ok(()),
                Err(e) => Err(e),
            },
        };
        let arriving = std::mem::replace(&mut self.arriving, Arriving::Keep(String::new()));
        self.arriving = match (differs, arriving) {
            (Ok(()), Arriving::Matching { file, at, .. }) => match self.drop_record(&file, at, text, hasher) {
                Ok(()) => differing(self.staged_at(), Old::File(file), at, text),
                Err(e) => Arriving::Failed(e),
            },
            (Err(e), _) => Arriving::Failed(e),
            (Ok(()), other) => other,
        };
    }

    fn finish(mut self, mut hasher: Sha256) -> (Rendered, [u8; 32]) {
        let arriving = std::mem::replace(&mut self.arriving, Arriving::Unwanted);
        let rendered = match arriving {
            Arriving::Keep(text) => Rendered::Text(text),
            Arriving::Failed(e) => Rendered::Unreadable(e),
            Arriving::Unwritable(e) => Rendered::Unwritable(e),
            Arriving::Writing { replaces, .. } => Rendered::Written { replaces },
            Arriving::Unwanted => Rendered::Unwanted,
            Arriving::Differs { text, old } => differs(text, old, self.excerpt.map(|e| (e, self.path.as_str()))),
            Arriving::Matching { mut file, at, len } => match std::io::Read::read(&mut file, &mut [0u8; 1]) {
                Ok(0) if at == len => match self.found {
                    // The record was of the file as it was opened: it must not have
                    // moved while it was compared (its time would have).
                    Some(Found { stamp, recorded: Some(recorded), .. }) => {
                        match file.metadata().ok().and_then(|m| Stamp::of(&m)) {
                            Some(now) if now == stamp => return (Rendered::Same, recorded),
                            _ => Rendered::Unreadable(io::Error::other("it changed while it was read")),
                        }
                    }
                    found => {
                        let digest = hasher.finalize().into();
                        if let Some(found) = found {
                            found.record(&file, &digest);
                        }
                        return (Rendered::Same, digest);
                    }
                },
                // The file on disk goes on: the text is the part of it read so far.
                Ok(_) => match self.drop_record(&file, at, "", &mut hasher) {
                    Ok(()) => {
                        self.arriving = differing(self.staged_at(), Old::File(file), at, "");
                        return self.finish(hasher);
                    }
                    Err(e) => Rendered::Unreadable(e),
                },
                Err(e) => Rendered::Unreadable(e),
            },
        };
        (rendered, hasher.finalize().into())
    }
}

impl Incoming<'_> {
    /// The digest recorded for the file on disk, while it stands.
    fn recorded(&self) -> Option<[u8; 32]> {
        self.found.and_then(|found| found.recorded)
    }

    /// The file is found to differ after its first `at` bytes, the text so far, then
    /// `then`: a recorded digest no longer stands, and what went unhashed for it (those
    /// bytes, read back from `file`, and `then`) is hashed.
    fn drop_record(&mut self, file: &fs::File, at: u64, then: &str, hasher: &mut Sha256) -> io::Result<()> {
        use std::io::{Read, Seek};
        let Some(found) = self.found.as_mut().filter(|found| found.recorded.is_some()) else { return Ok(()) };
        found.recorded = None;
        let mut file = file;
        file.rewind()?;
        if lock::hash_read(file.take(at), hasher)? != at {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the file shrank while it was read"));
        }
        hasher.update(then.as_bytes());
        Ok(())
    }
}

/// A file kept whole that differs from `old`, whose text is read whole for the report;
/// with an excerpt to make, only the excerpt is kept of the two.
fn differs(text: String, old: Old, excerpt: Option<(&Excerpt<'_>, &str)>) -> Rendered {
    let old = match old {
        Old::Nothing => None,
        Old::Directory => Some(String::new()),
        Old::File(mut file) => {
            let mut bytes = Vec::new();
            let read =
                std::io::Seek::rewind(&mut file).and_then(|()| std::io::Read::read_to_end(&mut file, &mut bytes));
            match read {
                Ok(_) => Some(utf8_or_replaced(bytes)),
                Err(e) => return Rendered::Unreadable(e),
            }
        }
    };
    match excerpt {
        Some((excerpt, path)) => Rendered::Stale {
            excerpt: excerpt(path, old.as_deref().unwrap_or_default(), &text),
            replaces: old.is_some(),
        },
        None => Rendered::Differs { text, old },
    }
}

/// True when the next bytes of `file` (which has `left` more) are `expected`, read a
/// block at a time through one buffer per thread.
fn next_bytes_are(file: &mut fs::File, left: u64, expected: &[u8]) -> io::Result<bool> {
    use std::io::Read;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if (expected.len() as u64) > left {
        return Ok(false);
    }
    BUFFER.with_borrow_mut(|buffer| {
        buffer.resize(govc::emit::out::PIECE, 0);
        for block in expected.chunks(buffer.len()) {
            let read = &mut buffer[..block.len()];
            match file.read_exact(read) {
                Ok(()) => {}
                // The file shrank since it was measured: not the same.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
                Err(e) => return Err(e),
            }
            if read != block {
                return Ok(false);
            }
        }
        Ok(true)
    })
}

/// The first `at` bytes of `file`, which the text rendered so far matched.
fn read_prefix(file: &fs::File, at: u64) -> io::Result<String> {
    use std::io::{Read, Seek};
    let mut file = file;
    file.rewind()?;
    let mut bytes = Vec::with_capacity(usize::try_from(at).unwrap_or(0));
    file.take(at).read_to_end(&mut bytes)?;
    Ok(utf8_or_replaced(bytes))
}

/// What the file at `path` holds when it is not `text` (`Some(None)`: nothing);
/// `None` when it is `text`: [`Incoming`] with the whole text as one piece. The caller
/// has checked that no component of `path` is a link.
fn on_disk_if_other(path: &Path, text: &str) -> io::Result<Option<Option<String>>> {
    use govc::emit::out::Receive;
    match Incoming::at(path, "", None, false).whole(text).0 {
        // (`Incoming::at` compares, and without a staging tree keeps what differs.)
        Rendered::Same | Rendered::Text(_) | Rendered::Written { .. } | Rendered::Stale { .. } | Rendered::Unwanted => {
            Ok(None)
        }
        Rendered::Differs { old, .. } => Ok(Some(old)),
        Rendered::Unreadable(e) | Rendered::Unwritable(e) => Err(e),
    }
}

/// What happens to one file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Change {
    Added,
    /// `old` is what the directory held, unless the file was written as it arrived (a
    /// build that writes does not read what it replaces).
    Changed {
        old: Option<String>,
    },
    Removed {
        old: String,
    },
}

/// The difference between the rendered files and the directory.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) changes: BTreeMap<String, Change>,
    pub(crate) unchanged: usize,
    /// Files in the directory that govc does not own (not in the previous lock).
    pub(crate) foreign: Vec<String>,
    /// Paths the previous lock lists that are absolute or leave the directory:
    /// ignored, never read or removed.
    pub(crate) untrusted: Vec<String>,
    /// The directory as it is: its entries, not following links.
    listing: Listing,
}

impl Plan {
    /// Compares `files` (rendered, lock included) with `dir`; those already compared
    /// when they were rendered are taken as they were found.
    pub(crate) fn new(dir: &Path, files: &BTreeMap<String, Rendered>) -> io::Result<Plan> {
        let listing = Listing::read(dir)?;
        let (owned, untrusted) = owned_files(dir, &listing)?;
        let mut links = LinkGuard::new(dir);
        let mut plan = Plan { untrusted, ..Plan::default() };
        for (path, file) in files {
            let change = match file {
                Rendered::Text(text) => {
                    match links.check(path).and_then(|()| on_disk_if_other(&dir.join(path), text))? {
                        None => None,
                        Some(None) => Some(Change::Added),
                        Some(Some(old)) => Some(Change::Changed { old: Some(old) }),
                    }
                }
                Rendered::Same => None,
                Rendered::Differs { old: None, .. } => Some(Change::Added),
                Rendered::Differs { old: Some(old), .. } => Some(Change::Changed { old: Some(old.clone()) }),
                Rendered::Written { replaces: false } | Rendered::Stale { replaces: false, .. } => Some(Change::Added),
                Rendered::Written { replaces: true } | Rendered::Stale { replaces: true, .. } => {
                    Some(Change::Changed { old: None })
                }
                Rendered::Unreadable(_) | Rendered::Unwritable(_) | Rendered::Unwanted => {
                    return Err(not_to_write(path, file))
                }
            };
            match change {
                Some(change) => {
                    plan.changes.insert(path.clone(), change);
                }
                None => plan.unchanged += 1,
            }
        }
        for path in &listing.files {
            if files.contains_key(path) || path == lock::LOCK_FILE {
                continue;
            }
            if owned.contains(path) {
                links.check(path)?;
                let old = read_text(&dir.join(path))?.unwrap_or_default();
                plan.changes.insert(path.clone(), Change::Removed { old });
            } else {
                plan.foreign.push(path.clone());
            }
        }
        plan.listing = listing;
        Ok(plan)
    }

    pub(crate) fn count(&self, f: impl Fn(&Change) -> bool) -> usize {
        self.changes.values().filter(|c| f(c)).count()
    }
}

/// The files the previous lock lists (which govc owns), and the listed paths that
/// cannot be trusted. A lock that is itself a link is not read.
fn owned_files(dir: &Path, listing: &Listing) -> io::Result<(BTreeSet<String>, Vec<String>)> {
    if !listing.files.iter().any(|f| f == lock::LOCK_FILE) {
        return Ok((BTreeSet::new(), Vec::new()));
    }
    LinkGuard::new(dir).check(lock::LOCK_FILE)?;
    let Some(listed) = read_text(&dir.join(lock::LOCK_FILE))?.as_deref().and_then(lock::parse) else {
        return Ok((BTreeSet::new(), Vec::new()));
    };
    let (owned, untrusted): (Vec<String>, Vec<String>) = listed.into_keys().partition(|p| lock::is_owned_path(p));
    Ok((owned.into_iter().collect(), untrusted))
}

/// Refuses paths that go through a symbolic link below the output directory.
/// Remembers the directories it has checked, so a tree of files costs one `lstat`
/// per directory.
pub(crate) struct LinkGuard<'a> {
    dir: &'a Path,
    checked: BTreeSet<PathBuf>,
}

impl<'a> LinkGuard<'a> {
    pub(crate) fn new(dir: &'a Path) -> LinkGuard<'a> {
        LinkGuard { dir, checked: BTreeSet::new() }
    }

    /// `Ok` when no component of `rel` (below the directory) is a link.
    pub(crate) fn check(&mut self, rel: &str) -> io::Result<()> {
        let mut at = PathBuf::new();
        for part in rel.split('/') {
            at.push(part);
            if self.checked.contains(&at) {
                continue;
            }
            match fs::symlink_metadata(self.dir.join(&at)) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(io::Error::other(format!(
                        "`{}` is a symbolic link; govc never reads or writes through a link inside its output \
                         directory (replace it with a real directory or file, or remove it)",
                        at.to_string_lossy()
                    )))
                }
                Ok(_) => {
                    self.checked.insert(at.clone());
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A file's text, `None` when it does not exist. Bytes that are not UTF-8 compare as
/// changed (they are replaced by `U+FFFD`).
fn read_text(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(utf8_or_replaced(bytes))),
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(Some(String::new())),
        Err(e) => Err(e),
    }
}

/// `bytes` as text, bytes that are not UTF-8 replaced by `U+FFFD`.
fn utf8_or_replaced(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// What a directory holds, without following links: its files (links included, as
/// entries of their own) and its directories, relative and `/`-separated, sorted.
#[derive(Debug, Default)]
struct Listing {
    files: Vec<String>,
    /// Every directory below the root, with its permissions.
    dirs: BTreeMap<String, fs::Permissions>,
    /// The root's own permissions, when it exists.
    root: Option<fs::Permissions>,
    /// Temporary files of an in-place build that was killed (`.govc-staging-*`).
    litter: Vec<String>,
}

impl Listing {
    fn read(dir: &Path) -> io::Result<Listing> {
        let mut out = Listing::default();
        match fs::symlink_metadata(dir) {
            Ok(meta) => out.root = Some(meta.permissions()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e),
        }
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            for entry in fs::read_dir(dir.join(&rel))? {
                let entry = entry?;
                let path = rel.join(entry.file_name());
                let shown = path.to_string_lossy().replace('\\', "/");
                if is_staging(&entry.file_name().to_string_lossy()) {
                    out.litter.push(shown);
                } else if entry.file_type()?.is_dir() {
                    out.dirs.insert(shown, entry.metadata()?.permissions());
                    stack.push(path);
                } else {
                    out.files.push(shown);
                }
            }
        }
        out.files.sort();
        Ok(out)
    }

    /// The directories to recreate in the new tree: every directory that is empty
    /// or holds something govc does not own (so foreign directories survive).
    fn foreign_dirs<'a>(&'a self, foreign: &'a [String]) -> impl Iterator<Item = &'a str> + 'a {
        self.dirs.keys().map(String::as_str).filter(move |d| {
            let prefix = format!("{d}/");
            let holds = |p: &String| p.starts_with(&prefix);
            !self.files.iter().any(holds) && !self.dirs.keys().any(holds) || foreign.iter().any(holds)
        })
    }
}

/// The prefix of the staging directories of builds of `name`.
fn staging_prefix(name: &str) -> String {
    format!(".{name}.govc-staging-")
}

fn is_staging(name: &str) -> bool {
    name.starts_with(".govc-staging-")
}

/// Writes the new tree: everything in `files`, every foreign entry kept, every owned
/// file no longer rendered removed. All or nothing. The files that differ were written
/// into `staging` as they were rendered, when the build had one.
pub(crate) fn apply(
    dir: &Path,
    files: &BTreeMap<String, Rendered>,
    plan: &Plan,
    staging: Option<Staging>,
) -> io::Result<()> {
    if is_mount_point(dir)? {
        return apply_in_place(dir, files, plan, staging.as_ref());
    }
    let staging = match staging {
        Some(staging) => staging,
        None => Staging::beside(dir)?,
    };
    let new_root = staging.tree.clone();
    // Foreign directories survive, empty ones included, with their modes.
    for d in plan.listing.foreign_dirs(&plan.foreign) {
        fs::create_dir_all(new_root.join(d)).map_err(|e| in_the_way(d, e))?;
    }
    // Foreign files survive: link (or copy) them into the new tree.
    for path in &plan.foreign {
        let to = new_root.join(path);
        if let Some(p) = to.parent() {
            fs::create_dir_all(p).map_err(|e| in_the_way(path, e))?;
        }
        if fs::symlink_metadata(&to).is_ok() {
            return Err(in_the_way(path, io::Error::from(io::ErrorKind::AlreadyExists)));
        }
        let from = dir.join(path);
        let meta = fs::symlink_metadata(&from)?;
        if meta.file_type().is_symlink() {
            copy_symlink(&from, &to)?;
        } else if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to).map_err(|e| in_the_way(path, e))?;
        }
    }
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, file) in files {
        let to = new_root.join(path);
        if let Rendered::Written { .. } = file {
            // Written there as it was rendered.
            continue;
        }
        if let Some(p) = to.parent() {
            if !made.contains(p) {
                fs::create_dir_all(p).map_err(|e| in_the_way(path, e))?;
                made.insert(p.to_path_buf());
            }
        }
        if fs::symlink_metadata(&to).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("`{path}` cannot be written: a file or directory that govc does not own is in the way"),
            ));
        }
        match file {
            Rendered::Text(text) | Rendered::Differs { text, .. } => {
                fs::write(&to, text).map_err(|e| in_the_way(path, e))?
            }
            // Found the same as the file in the directory (a regular file: it was read
            // without following a link): that file goes into the new tree as it is.
            Rendered::Same => {
                let from = dir.join(path);
                if fs::hard_link(&from, &to).is_err() {
                    fs::copy(&from, &to).map_err(|e| in_the_way(path, e))?;
                }
            }
            Rendered::Written { .. } => {}
            Rendered::Unreadable(_) | Rendered::Unwritable(_) | Rendered::Stale { .. } | Rendered::Unwanted => {
                return Err(not_to_write(path, file))
            }
        }
    }
    // Directories that existed keep their modes (after the files are in, so a
    // read-only foreign directory does not stop the build).
    for (d, permissions) in &plan.listing.dirs {
        let at = new_root.join(d);
        if at.is_dir() {
            fs::set_permissions(&at, permissions.clone())?;
        }
    }
    if let Some(permissions) = &plan.listing.root {
        fs::set_permissions(&new_root, permissions.clone())?;
    }
    swap(&new_root, dir)?;
    // `new_root` now holds the previous tree (or nothing); dropping `staging` removes it.
    drop(staging);
    Ok(())
}

/// Inside a mount point: each changed file is written beside itself and renamed
/// over the old one, removed files are unlinked, and the lock goes last, so an
/// interrupted build leaves every file either old or new and the old lock naming
/// what govc owned. A file written into a staging tree as it was rendered is copied
/// from there.
fn apply_in_place(
    dir: &Path,
    files: &BTreeMap<String, Rendered>,
    plan: &Plan,
    staging: Option<&Staging>,
) -> io::Result<()> {
    for path in &plan.listing.litter {
        let _ = fs::remove_file(dir.join(path));
    }
    let lock_last = plan
        .changes
        .keys()
        .filter(|p| *p != lock::LOCK_FILE)
        .chain(plan.changes.keys().filter(|p| *p == lock::LOCK_FILE));
    for path in lock_last {
        let at = dir.join(path);
        let replace = |write: &dyn Fn(&mut fs::File) -> io::Result<()>| -> io::Result<()> {
            let parent = at.parent().unwrap_or(dir);
            fs::create_dir_all(parent).map_err(|e| in_the_way(path, e))?;
            let mut tmp = tempfile::Builder::new().prefix(".govc-staging-").tempfile_in(parent)?;
            write(tmp.as_file_mut())?;
            tmp.persist(&at).map_err(|e| in_the_way(path, e.error))?;
            Ok(())
        };
        match files.get(path) {
            Some(Rendered::Text(text) | Rendered::Differs { text, .. }) => {
                replace(&|tmp| io::Write::write_all(tmp, text.as_bytes()))?
            }
            Some(Rendered::Written { .. }) => {
                let staged = staging.map(|s| s.tree.join(path)).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::NotFound, format!("`{path}` was written to no staging directory"))
                })?;
                replace(&|tmp| io::copy(&mut fs::File::open(&staged)?, tmp).map(|_| ()))?
            }
            Some(
                file
                @ (Rendered::Unreadable(_) | Rendered::Unwritable(_) | Rendered::Stale { .. } | Rendered::Unwanted),
            ) => return Err(not_to_write(path, file)),
            // Found the same as in the directory: never a change.
            Some(Rendered::Same) => {}
            None => {
                fs::remove_file(&at)?;
                remove_emptied_dirs(dir, path, &plan.listing);
            }
        }
    }
    Ok(())
}

/// Removes the directories above a removed owned file that it left empty, unless
/// they were empty before (foreign) — up to the output directory.
fn remove_emptied_dirs(dir: &Path, path: &str, listing: &Listing) {
    let mut at = Path::new(path).parent();
    while let Some(rel) = at.filter(|r| !r.as_os_str().is_empty()) {
        let was_empty = !listing
            .files
            .iter()
            .chain(listing.dirs.keys())
            .any(|p| p.starts_with(&format!("{}/", rel.to_string_lossy())));
        if was_empty || fs::remove_dir(dir.join(rel)).is_err() {
            return;
        }
        at = rel.parent();
    }
}

/// Whether `dir` is the root of a mounted file system (which cannot be renamed).
#[cfg(unix)]
fn is_mount_point(dir: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(dir) else { return Ok(false) };
    if !meta.is_dir() {
        return Ok(false);
    }
    let parent = fs::metadata(dir.join(".."))?;
    Ok(parent.dev() != meta.dev() || parent.ino() == meta.ino())
}

#[cfg(not(unix))]
fn is_mount_point(_dir: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Removes the staging directories that builds killed before their swap left in
/// `parent`: those whose process is gone. Best effort: a directory that cannot be
/// removed now is tried again by the next build.
fn remove_stale_staging(parent: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(prefix) else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| pid != std::process::id() && !process_alive(pid)) || pid.is_none() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with this id runs (on Linux, from `/proc`; elsewhere assumed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Why the rendered `file` at `path` cannot be planned or written: the directory could
/// not be read or the staging tree written there, or it was not kept to be written (a
/// report's excerpt, another environment's file: a bug in the caller).
fn not_to_write(path: &str, file: &Rendered) -> io::Error {
    match file {
        Rendered::Unreadable(e) | Rendered::Unwritable(e) => io::Error::new(e.kind(), e.to_string()),
        Rendered::Stale { .. } => {
            io::Error::other(format!("`{path}` was compared for a report, not kept to be written"))
        }
        Rendered::Unwanted => {
            io::Error::other(format!("`{path}` was rendered for another environment, not to be written"))
        }
        Rendered::Text(_) | Rendered::Same | Rendered::Differs { .. } | Rendered::Written { .. } => {
            io::Error::other(format!("internal error: `{path}` was taken for a file that cannot be written"))
        }
    }
}

fn in_the_way(path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot write `{path}`: {e}"))
}

#[cfg(unix)]
fn copy_symlink(from: &Path, to: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(fs::read_link(from)?, to)
}

#[cfg(not(unix))]
fn copy_symlink(from: &Path, to: &Path) -> io::Result<()> {
    fs::copy(from, to).map(|_| ())
}

/// Puts `new` at `dir`. On Linux the two directories are exchanged atomically
/// (`renameat2(RENAME_EXCHANGE)`), leaving the old tree at `new`; elsewhere the old
/// tree is first moved aside.
fn swap(new: &Path, dir: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dir).is_err() {
        return fs::rename(new, dir);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        if renameat_with(CWD, new, CWD, dir, RenameFlags::EXCHANGE).is_ok() {
            return Ok(());
        }
    }
    let aside = new.with_extension("previous");
    fs::rename(dir, &aside)?;
    if let Err(e) = fs::rename(new, dir) {
        fs::rename(&aside, dir)?;
        return Err(e);
    }
    fs::rename(&aside, new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparison a block at a time finds what a whole read would: the same text,
    /// a byte changed in any block (the last one short), a file shorter or longer, no
    /// file, and bytes that are not UTF-8; the old text is read whole when it differs.
    #[test]
    fn a_file_is_compared_with_its_text_a_block_at_a_time() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("f");
        let text: String = (0..200_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        fs::write(&path, &text).expect("written");
        assert_eq!(on_disk_if_other(&path, &text).expect("readable"), None);
        for at in [0, 65_535, 65_536, 131_072, text.len() - 1] {
            let mut other = text.clone().into_bytes();
            other[at] = b'#';
            let other = String::from_utf8(other).expect("ASCII");
            fs::write(&path, &other).expect("written");
            assert_eq!(on_disk_if_other(&path, &text).expect("readable"), Some(Some(other)), "a byte changed at {at}");
        }
        for other in [&text[..text.len() - 1], &text[..65_536], "", &format!("{text}z")] {
            fs::write(&path, other).expect("written");
            assert_eq!(on_disk_if_other(&path, &text).expect("readable"), Some(Some(other.to_string())));
        }
        fs::write(&path, b"ab\xffc").expect("written");
        assert_eq!(on_disk_if_other(&path, "ab\u{FFFD}c").expect("readable"), Some(Some("ab\u{FFFD}c".to_string())));
        assert_eq!(on_disk_if_other(&dir.path().join("missing"), "x").expect("no error"), Some(None));
        assert_eq!(on_disk_if_other(dir.path(), "x").expect("no error"), Some(Some(String::new())));
    }

    /// A file arriving in pieces (of the emitters' size and others) is found what a
    /// whole comparison finds: the same, or differing with the text whole and the old
    /// text, whichever piece the difference falls in, whatever the lengths.
    #[test]
    fn a_file_arriving_in_pieces_is_compared_as_it_comes() {
        use govc::emit::out::{Receive, PIECE};
        let dir = tempfile::tempdir().expect("a temporary directory");
        let early = Early::new(dir.path());
        let arrive = |text: &str, piece: usize| {
            let mut incoming = early.open("f");
            let mut hasher = Sha256::new();
            for part in text.as_bytes().chunks(piece) {
                incoming.piece(std::str::from_utf8(part).expect("ASCII"), &mut hasher);
            }
            match incoming.finish(hasher).0 {
                Rendered::Same => None,
                Rendered::Differs { text, old } => Some((text, old)),
                other => panic!("{other:?}"),
            }
        };
        let text: String = (0..200_000u32).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let path = dir.path().join("f");
        for piece in [PIECE, 1000, 150_000, text.len()] {
            fs::write(&path, &text).expect("written");
            assert_eq!(arrive(&text, piece), None, "pieces of {piece}");
            for at in [0, 999, 65_535, 65_536, 131_072, text.len() - 1] {
                let mut other = text.clone().into_bytes();
                other[at] = b'#';
                let other = String::from_utf8(other).expect("ASCII");
                fs::write(&path, &other).expect("written");
                assert_eq!(arrive(&text, piece), Some((text.clone(), Some(other))), "a byte changed at {at}");
            }
            for other in [&text[..text.len() - 1], &text[..65_536], "", &format!("{text}z")] {
                fs::write(&path, other).expect("written");
                assert_eq!(arrive(&text, piece), Some((text.clone(), Some(other.to_string()))), "{}", other.len());
            }
        }
        fs::write(&path, b"ab\xffc").expect("written");
        assert_eq!(arrive("ab\u{FFFD}c", 100), Some(("ab\u{FFFD}c".to_string(), Some("ab\u{FFFD}c".to_string()))));
        fs::remove_file(&path).expect("removed");
        assert_eq!(arrive("x", 1), Some(("x".to_string(), None)));
        fs::create_dir(&path).expect("a directory");
        assert_eq!(arrive("x", 1), Some(("x".to_string(), Some(String::new()))));
        let mut kept = Early::keep();
        let mut hasher = Sha256::new();
        kept.piece("a", &mut hasher);
        kept.piece("b", &mut hasher);
        let (kept, digest) = kept.finish(hasher);
        assert!(matches!(kept, Rendered::Text(t) if t == "ab"));
        assert_eq!(lock::hex(&digest), lock::sha256_hex(b"ab"));
    }

    /// A build that writes: each file that differs goes into one staging tree as it
    /// arrives, made at the first; a file that cannot be written there is reported as
    /// such, and the tree goes when the build drops it (stopped before its swap).
    #[test]
    fn files_that_differ_are_written_into_one_staging_tree() {
        use govc::emit::out::Receive;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let out = dir.path().join("generated");
        fs::create_dir(&out).expect("a directory");
        fs::write(out.join("same"), "same\n").expect("written");
        fs::write(out.join("old"), "old\n").expect("written");
        let early = Early::writing(&out);
        let arrive = |path: &str, text: &str| {
            let mut incoming = early.open(path);
            let mut hasher = Sha256::new();
            incoming.piece(text, &mut hasher);
            incoming.finish(hasher).0
        };
        assert!(matches!(arrive("same", "same\n"), Rendered::Same));
        assert!(early.staging.as_ref().and_then(OnceLock::get).is_none(), "made before a file differed");
        assert!(matches!(arrive("old", "new\n"), Rendered::Written { replaces: true }));
        assert!(matches!(arrive("a/b/new", "new\n"), Rendered::Written { replaces: false }));
        // A file where another one needs a directory (never so in govc's own output).
        match arrive("a/b/new/c", "c\n") {
            Rendered::Unwritable(e) => assert!(e.to_string().contains("`a/b/new/c`"), "{e}"),
            other => panic!("{other:?}"),
        }
        let staging = early.into_staging().expect("a staging tree");
        assert_eq!(fs::read_to_string(staging.tree.join("old")).expect("staged"), "new\n");
        assert_eq!(fs::read_to_string(staging.tree.join("a/b/new")).expect("staged"), "new\n");
        assert!(!staging.tree.join("same").exists(), "a file found the same is linked at the swap, not copied");
        let at = staging.dir.path().to_path_buf();
        assert!(at.parent() == Some(dir.path()), "beside the output directory");
        drop(staging);
        assert!(!at.exists(), "left behind");
    }

    /// A build that writes trusts a file's record while the file is the same: the
    /// digest is the record's, even a wrong one (a record made by hand), where a build
    /// that does not write (`build --check`) hashes the text. A file found the same and
    /// settled is recorded; one modified within the last second is not.
    #[test]
    fn a_record_stands_for_the_digest_of_a_file_found_the_same() {
        use govc::emit::out::Receive;
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().expect("a temporary directory");
        if !record::supported(dir.path()) {
            return;
        }
        let text = "the same\n".repeat(20_000);
        let truth = lock::sha256_hex(text.as_bytes());
        let arrive = |early: &Early, path: &str| {
            let mut incoming = early.open(path);
            let mut hasher = Sha256::new();
            for piece in text.as_bytes().chunks(govc::emit::out::PIECE) {
                incoming.piece(std::str::from_utf8(piece).expect("ASCII"), &mut hasher);
            }
            let (found, digest) = incoming.finish(hasher);
            assert!(matches!(found, Rendered::Same), "{found:?}");
            lock::hex(&digest)
        };
        let stamp_of = |path: &str| {
            let file = fs::File::open(dir.path().join(path)).expect("opened");
            let stamp = Stamp::of(&file.metadata().expect("metadata")).expect("a time");
            (file, stamp)
        };
        let age = |path: &str| {
            let file = fs::File::options().write(true).open(dir.path().join(path)).expect("opened");
            file.set_modified(SystemTime::now() - Duration::from_secs(3600)).expect("a time set");
        };
        for path in ["settled", "fresh", "made"] {
            fs::write(dir.path().join(path), &text).expect("written");
        }
        age("settled");
        age("made");
        let (made, stamp) = stamp_of("made");
        record::write(&made, stamp, &[7u8; 32]);

        let writing = Early::writing(dir.path());
        assert_eq!(arrive(&writing, "made"), lock::hex(&[7u8; 32]), "the record was not trusted");
        assert_eq!(arrive(&Early::new(dir.path()), "made"), truth, "a build that does not write trusted a record");
        let excerpt = |_: &str, _: &str, _: &str| String::new();
        assert_eq!(arrive(&Early::reporting(dir.path(), &excerpt), "made"), truth);

        assert_eq!(arrive(&writing, "settled"), truth);
        let (settled, stamp) = stamp_of("settled");
        assert_eq!(record::read(&settled, stamp).map(|d| lock::hex(&d)), Some(truth.clone()), "not recorded");
        assert_eq!(arrive(&writing, "fresh"), truth);
        let (fresh, stamp) = stamp_of("fresh");
        assert_eq!(record::read(&fresh, stamp), None, "recorded within a second of its change");

        // A recorded file that moves while it is compared is not taken as the same.
        let mut incoming = writing.open("made");
        let mut hasher = Sha256::new();
        incoming.piece(&text, &mut hasher);
        let file = fs::File::options().write(true).open(dir.path().join("made")).expect("opened");
        file.set_modified(SystemTime::now() - Duration::from_secs(60)).expect("a time set");
        assert!(matches!(incoming.finish(hasher).0, Rendered::Unreadable(_)), "a moving file was trusted");
        record::write(&file, stamp_of("made").1, &[7u8; 32]);

        // A file carried over as it is (a build of other environments): the same.
        let carried = |early: &Early, path: &str| early.digest_of(stamp_of(path).0).expect("readable");
        assert_eq!(carried(&writing, "made"), lock::hex(&[7u8; 32]));
        assert_eq!(carried(&Early::new(dir.path()), "made"), truth);
        fs::write(dir.path().join("carried"), &text).expect("written");
        age("carried");
        assert_eq!(carried(&writing, "carried"), truth);
        let (file, stamp) = stamp_of("carried");
        assert_eq!(record::read(&file, stamp).map(|d| lock::hex(&d)), Some(truth.clone()), "not recorded");
        assert!(writing.into_staging().is_none(), "nothing differed");
    }

    use proptest::strategy::Strategy as _;

    /// What the disk holds where a file arrives, made from the file's text.
    #[derive(Clone, Debug)]
    enum OnDisk {
        Same,
        ByteChanged(usize),
        Cut(usize),
        Longer(String),
        Other(String),
        Nothing,
    }

    proptest::proptest! {
        /// Whatever the pieces and whatever the disk holds, comparing a file as it arrives
        /// finds what comparing it whole finds: the same, or the old text, the new text
        /// kept whole.
        #[test]
        fn arriving_in_pieces_is_comparing_whole(
            text in "[a-c\n]{0,3000}",
            cuts in proptest::collection::vec(0usize..3000, 0..8),
            disk in proptest::prop_oneof![
                proptest::strategy::Just(OnDisk::Same),
                (0usize..3000).prop_map(OnDisk::ByteChanged),
                (0usize..3000).prop_map(OnDisk::Cut),
                "[a-c]{1,40}".prop_map(OnDisk::Longer),
                "[a-c\n]{0,300}".prop_map(OnDisk::Other),
                proptest::strategy::Just(OnDisk::Nothing),
            ],
        ) {
            use govc::emit::out::Receive;
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("f");
            let old = match disk {
                OnDisk::Same => Some(text.clone()),
                OnDisk::ByteChanged(at) if !text.is_empty() => {
                    let mut bytes = text.clone().into_bytes();
                    bytes[at % text.len()] = b'#';
                    Some(String::from_utf8(bytes).expect("ASCII"))
                }
                OnDisk::ByteChanged(_) => Some("#".to_string()),
                OnDisk::Cut(n) => Some(text[..n.min(text.len())].to_string()),
                OnDisk::Longer(more) => Some(format!("{text}{more}")),
                OnDisk::Other(other) => Some(other),
                OnDisk::Nothing => None,
            };
            if let Some(old) = &old {
                fs::write(&path, old).expect("written");
            }
            let whole = on_disk_if_other(&path, &text).expect("readable");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
            cuts.push(text.len());
            cuts.sort_unstable();
            // Every receiver hands back the text's digest, whatever it found.
            let arrive = |early: &Early| {
                let mut incoming = early.open("f");
                let mut hasher = Sha256::new();
                let mut at = 0;
                for &cut in &cuts {
                    incoming.piece(&text[at..cut], &mut hasher);
                    at = cut;
                }
                let (found, digest) = incoming.finish(hasher);
                assert_eq!(lock::hex(&digest), lock::sha256_hex(text.as_bytes()), "the digest of {found:?}");
                found
            };
            let kept = Early::new(dir.path());
            let arrived = match arrive(&kept) {
                Rendered::Same => None,
                Rendered::Differs { text: kept, old } => {
                    proptest::prop_assert_eq!(&kept, &text);
                    Some(old)
                }
                other => panic!("{other:?}"),
            };
            proptest::prop_assert_eq!(&arrived, &whole);
            // Reported as it arrives (`build --check`): the same finding, and of a file
            // that differs only the excerpt made of the two texts.
            let excerpt = |path: &str, old: &str, new: &str| format!("{path}|{old}|{new}");
            match (arrive(&Early::reporting(dir.path(), &excerpt)), &whole) {
                (Rendered::Same, None) => {}
                (Rendered::Stale { excerpt: made, replaces }, Some(was)) => {
                    proptest::prop_assert_eq!(replaces, was.is_some());
                    proptest::prop_assert_eq!(made, excerpt("f", was.as_deref().unwrap_or_default(), &text));
                }
                (other, _) => panic!("{other:?} where the whole comparison found {whole:?}"),
            }
            // Written as it arrives instead: the same finding, the text whole in the
            // staging tree when it differs, and no staging tree when it does not.
            // The file on disk has a record of its digest, which stands for hashing the
            // text while it is the same; where it differs, the text is hashed all the
            // same.
            let out = dir.path().join("out");
            fs::create_dir(&out).expect("a directory");
            if let Some(old) = &old {
                fs::write(out.join("f"), old).expect("written");
                let file = fs::File::open(out.join("f")).expect("opened");
                let stamp = Stamp::of(&file.metadata().expect("metadata")).expect("a time");
                let digest: [u8; 32] = Sha256::digest(old.as_bytes()).into();
                record::write(&file, stamp, &digest);
            }
            let writing = Early::writing(&out);
            let found = arrive(&writing);
            let staging = writing.into_staging();
            match (found, &whole) {
                (Rendered::Same, None) => proptest::prop_assert!(staging.is_none()),
                (Rendered::Written { replaces }, Some(was)) => {
                    proptest::prop_assert_eq!(replaces, was.is_some());
                    let staged = staging.expect("a staging tree");
                    proptest::prop_assert_eq!(fs::read_to_string(staged.tree.join("f")).expect("staged"), text.clone());
                }
                (other, _) => panic!("{other:?} where the whole comparison found {whole:?}"),
            }
        }
    }
}
