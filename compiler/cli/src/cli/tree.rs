//! The output directory on disk: what a build would change, and how it changes it
//! atomically.
//!
//! A build compares each file with the directory a piece at a time as it is rendered
//! ([`Early`], [`Incoming`]) and keeps the text only of files that differ, so a
//! rebuild never holds a file whole. [`Plan`] then compares the rest with the directory (using the
//! previous `govc.lock.json` to know which files govc owns); [`apply`] builds the new
//! tree in a staging directory beside the old one — unchanged and foreign files
//! hard-linked, foreign directories recreated with their modes, new files written —
//! and swaps the two with one `rename`, so an interrupted build leaves the previous
//! tree whole.
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
use std::sync::Mutex;

use govc::lock;

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
}

impl Rendered {
    /// The text, unless the file was found the same as in the directory.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Rendered::Text(text) | Rendered::Differs { text, .. } => Some(text),
            Rendered::Same | Rendered::Unreadable(_) => None,
        }
    }

    /// [`Rendered::text`], taken.
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Rendered::Text(text) | Rendered::Differs { text, .. } => Some(text),
            Rendered::Same | Rendered::Unreadable(_) => None,
        }
    }
}

/// Compares files with the directory as they are rendered, from any thread, under the
/// same rules as [`Plan`]: never through a link.
pub(crate) struct Early<'a> {
    dir: &'a Path,
    links: Mutex<LinkGuard<'a>>,
}

impl<'a> Early<'a> {
    pub(crate) fn new(dir: &'a Path) -> Early<'a> {
        Early { dir, links: Mutex::new(LinkGuard::new(dir)) }
    }

    /// The receiver of `path`, which compares it with the directory as it arrives. The
    /// link check holds the lock; the comparison does not, so the threads that render
    /// compare side by side.
    pub(crate) fn open(&self, path: &str) -> Incoming {
        match self.links.lock().unwrap_or_else(|e| e.into_inner()).check(path) {
            Ok(()) => Incoming::at(&self.dir.join(path)),
            Err(e) => Incoming(Arriving::Failed(e)),
        }
    }

    /// The receiver of a file that is kept whole and compared later ([`Plan::new`]).
    pub(crate) fn keep() -> Incoming {
        Incoming(Arriving::Keep(String::new()))
    }
}

/// A rendered file arriving a piece at a time ([`govc::emit::out::Receive`]).
///
/// A rebuild finds almost every file the same: each piece is compared with the next
/// bytes of the file on disk as it comes, and nothing is kept. At the first difference
/// the text so far is read back from the disk (it matched) and the rest is kept; the
/// old text is read whole at the end (the report and the plan show it).
pub(crate) struct Incoming(Arriving);

impl Incoming {
    /// The receiver of the file at `path`, compared with what is there. The caller has
    /// checked that no component of `path` is a link.
    fn at(path: &Path) -> Incoming {
        let arriving = match fs::File::open(path) {
            Ok(file) => match file.metadata() {
                Ok(meta) if meta.is_dir() => Arriving::Differs { text: String::new(), old: Old::Directory },
                Ok(meta) => Arriving::Matching { file, at: 0, len: meta.len() },
                Err(e) => Arriving::Failed(e),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => {
                Arriving::Differs { text: String::new(), old: Old::Nothing }
            }
            Err(e) if e.kind() == io::ErrorKind::IsADirectory => {
                Arriving::Differs { text: String::new(), old: Old::Directory }
            }
            Err(e) => Arriving::Failed(e),
        };
        Incoming(arriving)
    }
}

enum Arriving {
    /// Kept whole, not compared.
    Keep(String),
    /// The same as the first `at` bytes of `file`, which holds `len`.
    Matching { file: fs::File, at: u64, len: u64 },
    /// Not the same as what the directory holds there: the text so far.
    Differs { text: String, old: Old },
    /// The directory could not be read there.
    Failed(io::Error),
}

/// What the directory holds where a file differs.
enum Old {
    Nothing,
    Directory,
    File(fs::File),
}

impl govc::emit::out::Receive for Incoming {
    type Kept = Rendered;

    fn piece(&mut self, text: &str) {
        let next = match &mut self.0 {
            Arriving::Keep(kept) | Arriving::Differs { text: kept, .. } => {
                kept.push_str(text);
                return;
            }
            Arriving::Failed(_) => return,
            Arriving::Matching { file, at, len } => match next_bytes_are(file, *len - *at, text.as_bytes()) {
                Ok(true) => {
                    *at += text.len() as u64;
                    return;
                }
                Ok(false) => None,
                Err(e) => Some(e),
            },
        };
        let arriving = std::mem::replace(&mut self.0, Arriving::Keep(String::new()));
        self.0 = match (next, arriving) {
            (None, Arriving::Matching { file, at, .. }) => match read_prefix(&file, at) {
                Ok(mut so_far) => {
                    so_far.push_str(text);
                    Arriving::Differs { text: so_far, old: Old::File(file) }
                }
                Err(e) => Arriving::Failed(e),
            },
            (Some(e), _) => Arriving::Failed(e),
            (None, other) => other,
        };
    }

    fn finish(self) -> Rendered {
        let (text, old) = match self.0 {
            Arriving::Keep(text) => return Rendered::Text(text),
            Arriving::Failed(e) => return Rendered::Unreadable(e),
            Arriving::Matching { mut file, at, len } => {
                match std::io::Read::read(&mut file, &mut [0u8; 1]) {
                    Ok(0) if at == len => return Rendered::Same,
                    Ok(_) => {}
                    Err(e) => return Rendered::Unreadable(e),
                }
                match read_prefix(&file, at) {
                    Ok(text) => (text, Old::File(file)),
                    Err(e) => return Rendered::Unreadable(e),
                }
            }
            Arriving::Differs { text, old } => (text, old),
        };
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
        Rendered::Differs { text, old }
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
    let mut incoming = Incoming::at(path);
    incoming.piece(text);
    match incoming.finish() {
        // (`Incoming::at` compares: it never keeps a text uncompared.)
        Rendered::Same | Rendered::Text(_) => Ok(None),
        Rendered::Differs { old, .. } => Ok(Some(old)),
        Rendered::Unreadable(e) => Err(e),
    }
}

/// What happens to one file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Change {
    Added,
    Changed { old: String },
    Removed { old: String },
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
                        Some(Some(old)) => Some(Change::Changed { old }),
                    }
                }
                Rendered::Same => None,
                Rendered::Differs { old: None, .. } => Some(Change::Added),
                Rendered::Differs { old: Some(old), .. } => Some(Change::Changed { old: old.clone() }),
                Rendered::Unreadable(e) => return Err(io::Error::new(e.kind(), e.to_string())),
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
/// file no longer rendered removed. All or nothing.
pub(crate) fn apply(dir: &Path, files: &BTreeMap<String, Rendered>, plan: &Plan) -> io::Result<()> {
    if is_mount_point(dir)? {
        return apply_in_place(dir, files, plan);
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "generated".into());
    remove_stale_staging(&parent, &staging_prefix(&name));
    let staging = tempfile::Builder::new()
        .prefix(&format!("{}{}-", staging_prefix(&name), std::process::id()))
        .tempdir_in(&parent)?;
    let new_root = staging.path().join("tree");
    fs::create_dir(&new_root)?;
    // Foreign directories survive, empty ones included, with their modes.
    for d in plan.listing.foreign_dirs(&plan.foreign) {
        fs::create_dir_all(new_root.join(d))?;
    }
    // Foreign files survive: link (or copy) them into the new tree.
    for path in &plan.foreign {
        let to = new_root.join(path);
        if let Some(p) = to.parent() {
            fs::create_dir_all(p)?;
        }
        let from = dir.join(path);
        let meta = fs::symlink_metadata(&from)?;
        if meta.file_type().is_symlink() {
            copy_symlink(&from, &to)?;
        } else if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)?;
        }
    }
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, file) in files {
        let to = new_root.join(path);
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
        match file.text() {
            Some(text) => fs::write(&to, text).map_err(|e| in_the_way(path, e))?,
            // Found the same as the file in the directory (a regular file: it was read
            // without following a link): that file goes into the new tree as it is.
            None => {
                let from = dir.join(path);
                if fs::hard_link(&from, &to).is_err() {
                    fs::copy(&from, &to).map_err(|e| in_the_way(path, e))?;
                }
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
/// what govc owned.
fn apply_in_place(dir: &Path, files: &BTreeMap<String, Rendered>, plan: &Plan) -> io::Result<()> {
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
        match files.get(path).map(Rendered::text) {
            Some(Some(text)) => {
                let parent = at.parent().unwrap_or(dir);
                fs::create_dir_all(parent).map_err(|e| in_the_way(path, e))?;
                let mut tmp = tempfile::Builder::new().prefix(".govc-staging-").tempfile_in(parent)?;
                io::Write::write_all(&mut tmp, text.as_bytes())?;
                tmp.persist(&at).map_err(|e| in_the_way(path, e.error))?;
            }
            // Found the same as in the directory: never a change.
            Some(None) => {}
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
            for part in text.as_bytes().chunks(piece) {
                incoming.piece(std::str::from_utf8(part).expect("ASCII"));
            }
            match incoming.finish() {
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
        kept.piece("a");
        kept.piece("b");
        assert!(matches!(kept.finish(), Rendered::Text(t) if t == "ab"));
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
            let mut incoming = Early::new(dir.path()).open("f");
            let mut at = 0;
            for cut in cuts {
                incoming.piece(&text[at..cut]);
                at = cut;
            }
            let arrived = match incoming.finish() {
                Rendered::Same => None,
                Rendered::Differs { text: kept, old } => {
                    proptest::prop_assert_eq!(&kept, &text);
                    Some(old)
                }
                other => panic!("{other:?}"),
            };
            proptest::prop_assert_eq!(arrived, whole);
        }
    }
}
