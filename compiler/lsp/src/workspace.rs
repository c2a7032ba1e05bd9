//! The server's view of the files: open buffers (which override the disk) and,
//! per project, the files read from disk, a generation counter bumped on every
//! change, and the latest analysis with the generation it was computed for.
//!
//! A project is the nearest ancestor directory of a file holding `project.gov`
//! (the file's own directory when there is none). Files are collected like
//! `govc check` does: every `*.gov` under the root except in hidden directories,
//! `generated/`, `target/` and nested projects.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use govc::query::Analysis;
use govc::Sources;

const PROJECT_FILE: &str = "project.gov";
const SKIPPED_DIRS: &[&str] = &["generated", "target"];

/// An open buffer.
#[derive(Clone, Debug)]
pub struct Document {
    pub text: String,
    pub version: i32,
    pub root: PathBuf,
}

/// One project's state.
#[derive(Debug, Default)]
pub struct Project {
    /// Every `.gov` file on disk, by `/`-separated path relative to the root.
    pub disk: BTreeMap<String, String>,
    pub generation: u64,
    pub analysis: Option<(u64, Arc<Analysis>)>,
}

/// Every open buffer and known project.
#[derive(Debug, Default)]
pub struct Workspace {
    pub documents: HashMap<PathBuf, Document>,
    pub projects: HashMap<PathBuf, Project>,
}

/// The project root of `file`.
pub fn root_of(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(file);
    dir.ancestors().find(|d| d.join(PROJECT_FILE).is_file()).unwrap_or(dir).to_path_buf()
}

/// The path of `file` relative to `root`, `/`-separated.
pub fn relative(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    Some(rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
}

fn collect(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) && !path.join(PROJECT_FILE).is_file() {
                collect(&path, &rel, out);
            }
        } else if name.ends_with(".gov") {
            if let Ok(bytes) = fs::read(&path) {
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
}

impl Workspace {
    /// Reads (or re-reads) a project's files from disk and bumps its generation.
    pub fn load(&mut self, root: &Path) {
        let mut disk = BTreeMap::new();
        collect(root, "", &mut disk);
        let project = self.projects.entry(root.to_path_buf()).or_default();
        project.disk = disk;
        project.generation += 1;
    }

    /// Opens or replaces a buffer; returns its project root.
    pub fn open(&mut self, path: PathBuf, text: String, version: i32) -> PathBuf {
        let root = root_of(&path);
        if !self.projects.contains_key(&root) {
            self.load(&root);
        }
        self.documents.insert(path, Document { text, version, root: root.clone() });
        self.touch(&root);
        root
    }

    /// Marks a project changed.
    pub fn touch(&mut self, root: &Path) {
        self.projects.entry(root.to_path_buf()).or_default().generation += 1;
    }

    /// The project's sources: the stdlib, the disk files and the open buffers over them.
    pub fn sources(&self, root: &Path) -> Sources {
        let mut files: BTreeMap<String, &str> = BTreeMap::new();
        if let Some(project) = self.projects.get(root) {
            files.extend(project.disk.iter().map(|(p, t)| (p.clone(), t.as_str())));
        }
        for (path, doc) in &self.documents {
            if doc.root == root {
                if let Some(rel) = relative(root, path) {
                    files.insert(rel, &doc.text);
                }
            }
        }
        // The files of the latest analysis whose text is unchanged are shared with it.
        let Some(previous) = self.latest(root) else {
            let mut sources = Sources::with_stdlib();
            for (path, text) in files {
                sources.add(path, text);
            }
            return sources;
        };
        let mut sources = Sources::with_stdlib_of(&previous.sources);
        for (path, text) in files {
            sources.add_reusing(&path, text, &previous.sources);
        }
        sources
    }

    /// The analysis of the project's current generation, if it has been computed.
    pub fn current(&self, root: &Path) -> Option<Arc<Analysis>> {
        let project = self.projects.get(root)?;
        project.analysis.as_ref().filter(|(g, _)| *g == project.generation).map(|(_, a)| a.clone())
    }

    /// The latest analysis of the project, current or not (to reuse its trees).
    pub fn latest(&self, root: &Path) -> Option<Arc<Analysis>> {
        self.projects.get(root)?.analysis.as_ref().map(|(_, a)| a.clone())
    }

    /// Stores an analysis unless a newer one is stored; returns whether it is
    /// current, and the analysis it replaced, for the caller to drop after
    /// releasing the lock (dropping a large project's analysis takes time).
    pub fn store(&mut self, root: &Path, generation: u64, analysis: Arc<Analysis>) -> (bool, Option<Arc<Analysis>>) {
        let Some(project) = self.projects.get_mut(root) else { return (false, None) };
        let mut replaced = None;
        if project.analysis.as_ref().is_none_or(|(g, _)| *g < generation) {
            replaced = project.analysis.replace((generation, analysis)).map(|(_, a)| a);
        }
        (generation == project.generation, replaced)
    }

    pub fn generation(&self, root: &Path) -> u64 {
        self.projects.get(root).map_or(0, |p| p.generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_override_the_disk_and_generations_advance() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("envs/.hidden")).expect("mkdir");
        fs::create_dir_all(root.join("nested")).expect("mkdir");
        fs::write(root.join("project.gov"), "project p { }").expect("write");
        fs::write(root.join("envs/a.gov"), "disk").expect("write");
        fs::write(root.join("envs/.hidden/h.gov"), "hidden").expect("write");
        fs::write(root.join("nested/project.gov"), "other").expect("write");
        let mut ws = Workspace::default();
        let opened = ws.open(root.join("envs/a.gov"), "buffer".into(), 1);
        assert_eq!(opened, root);
        let sources = ws.sources(root);
        let files: Vec<(String, String)> = sources
            .iter()
            .filter(|(_, f)| f.origin == govc::source::Origin::Project)
            .map(|(_, f)| (f.path.clone(), f.text.clone()))
            .collect();
        assert_eq!(
            files,
            [
                ("envs/a.gov".to_string(), "buffer".to_string()),
                ("project.gov".to_string(), "project p { }".to_string())
            ]
        );
        let g = ws.generation(root);
        ws.touch(root);
        assert_eq!(ws.generation(root), g + 1);
        assert!(ws.current(root).is_none());
        let analysis = Arc::new(govc::query::analyze(sources));
        assert!(!ws.store(root, g, analysis.clone()).0, "stale");
        assert!(ws.current(root).is_none());
        let (current, replaced) = ws.store(root, g + 1, analysis);
        assert!(current);
        assert!(replaced.is_some_and(|r| r.files.len() == ws.latest(root).expect("stored").files.len()));
        assert!(ws.current(root).is_some());
    }

    #[test]
    fn a_file_outside_any_project_is_its_own_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("lone.gov");
        assert_eq!(root_of(&file), dir.path());
        assert_eq!(relative(dir.path(), &file).as_deref(), Some("lone.gov"));
    }
}
