//! The output directory on disk: what a build would change, and how it changes it
//! atomically.
//!
//! A build renders everything in memory first. [`Plan`] compares that with the
//! directory (using the previous `govc.lock.json` to know which files govc owns);
//! [`apply`] then builds the new tree in a staging directory beside the old one —
//! unchanged and foreign files hard-linked, new files written — and swaps the two
//! with one `rename`, so an interrupted build leaves the previous tree whole.
//! Only files the previous lock lists are ever removed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use govc::lock;

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
}

impl Plan {
    /// Compares `files` (rendered, lock included) with `dir`.
    pub(crate) fn new(dir: &Path, files: &BTreeMap<String, String>) -> io::Result<Plan> {
        let on_disk = list_files(dir)?;
        let owned: BTreeSet<String> = fs::read_to_string(dir.join(lock::LOCK_FILE))
            .ok()
            .and_then(|text| lock::parse(&text))
            .map(|files| files.into_keys().collect())
            .unwrap_or_default();
        let mut plan = Plan::default();
        for (path, text) in files {
            match read_text(&dir.join(path))? {
                None => {
                    plan.changes.insert(path.clone(), Change::Added);
                }
                Some(old) if old == *text => plan.unchanged += 1,
                Some(old) => {
                    plan.changes.insert(path.clone(), Change::Changed { old });
                }
            }
        }
        for path in &on_disk {
            if files.contains_key(path) || path == lock::LOCK_FILE {
                continue;
            }
            if owned.contains(path) {
                let old = read_text(&dir.join(path))?.unwrap_or_default();
                plan.changes.insert(path.clone(), Change::Removed { old });
            } else {
                plan.foreign.push(path.clone());
            }
        }
        Ok(plan)
    }

    pub(crate) fn count(&self, f: impl Fn(&Change) -> bool) -> usize {
        self.changes.values().filter(|c| f(c)).count()
    }
}

/// A file's text, `None` when it does not exist. Bytes that are not UTF-8 compare as
/// changed (they are replaced by `U+FFFD`).
fn read_text(path: &Path) -> io::Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => {
            Ok(Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::IsADirectory => Ok(Some(String::new())),
        Err(e) => Err(e),
    }
}

/// Every regular file below `dir` (relative, `/`-separated, sorted); empty when
/// `dir` does not exist.
pub(crate) fn list_files(dir: &Path) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = match fs::read_dir(dir.join(&rel)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && rel.as_os_str().is_empty() => return Ok(out),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let path = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else {
                out.push(path.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the new tree: everything in `files`, every foreign file kept, every owned
/// file no longer rendered removed. All or nothing.
pub(crate) fn apply(dir: &Path, files: &BTreeMap<String, String>, plan: &Plan) -> io::Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent)?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "generated".into());
    let staging = tempfile::Builder::new().prefix(&format!(".{name}.govc-staging-")).tempdir_in(&parent)?;
    let new_root = staging.path().join("tree");
    fs::create_dir(&new_root)?;
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
    for (path, text) in files {
        let to = new_root.join(path);
        if let Some(p) = to.parent() {
            if !made.contains(p) {
                fs::create_dir_all(p).map_err(|e| in_the_way(path, e))?;
                made.insert(p.to_path_buf());
            }
        }
        if to.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("`{path}` cannot be written: a file or directory that govc does not own is in the way"),
            ));
        }
        fs::write(&to, text).map_err(|e| in_the_way(path, e))?;
    }
    swap(&new_root, dir)?;
    // `new_root` now holds the previous tree (or nothing); dropping `staging` removes it.
    drop(staging);
    Ok(())
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
    if !dir.exists() {
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
