//! Source files and spans.
//!
//! A [`Sources`] is the whole input of a compilation: the project's `.gov` files
//! (paths relative to the project root, `/`-separated) plus the embedded stdlib.
//! The library never reads the file system; the CLI fills a `Sources` and hands it over.

use std::fmt;
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one file. Small and `Copy`: every AST node carries one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }

    /// The smallest span covering both (which must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// Moves every position at or after `from` by `delta` (the text after `from`
    /// moved by an edit before it).
    pub fn shift(&mut self, from: u32, delta: i64) {
        let moved = |p: u32| if p >= from { (p as i64 + delta) as u32 } else { p };
        self.start = moved(self.start);
        self.end = moved(self.end);
    }
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}..{}", self.file.0, self.start, self.end)
    }
}

/// Where a file comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// Embedded in the binary (`stdlib/`).
    Stdlib,
    /// Part of the user's project.
    Project,
}

/// One source file.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub path: String,
    pub origin: Origin,
    pub text: String,
    /// Byte offsets of the start of every line, for position lookups.
    line_starts: Vec<u32>,
    /// The text is ASCII: a byte offset is also a character and UTF-16 offset.
    ascii: bool,
    /// UTF-16 offsets of the start of every line, computed on first use in a
    /// file that is not ASCII.
    utf16_line_starts: std::sync::OnceLock<Vec<u32>>,
    /// Set when the file's bytes were not valid UTF-8: the byte offset of the first
    /// invalid byte. `text` then holds the bytes decoded lossily (each invalid
    /// sequence a `U+FFFD`), so positions up to that byte are exact, but the file is
    /// not compiled (E101).
    pub invalid_utf8_at: Option<usize>,
}

impl SourceFile {
    fn new(path: String, origin: Origin, text: String, invalid_utf8_at: Option<usize>) -> SourceFile {
        // A line ends at `\n`, `\r\n` or a lone `\r`, as the LSP counts lines.
        let mut line_starts = vec![0];
        let bytes = text.as_bytes();
        line_starts.extend(
            memchr::memchr2_iter(b'\n', b'\r', bytes)
                .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
                .map(|i| i as u32 + 1),
        );
        let ascii = text.is_ascii();
        SourceFile { path, origin, text, line_starts, ascii, utf16_line_starts: Default::default(), invalid_utf8_at }
    }

    /// A project file from its raw bytes, decoded and its lines indexed, apart from
    /// any [`Sources`] (a project's files are read side by side, then added in turn
    /// with [`Sources::add_file`]). Invalid UTF-8 is kept as [`Sources::add_bytes`] says.
    pub fn project(path: String, bytes: Vec<u8>) -> SourceFile {
        match String::from_utf8(bytes) {
            Ok(text) => SourceFile::new(path, Origin::Project, text, None),
            Err(err) => {
                let at = err.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(err.as_bytes()).into_owned();
                SourceFile::new(path, Origin::Project, text, Some(at))
            }
        }
    }

    /// The largest char boundary at or before `offset` (clamped to the text).
    fn floor(&self, offset: usize) -> usize {
        let mut at = offset.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// UTF-16 code units from the start of `line` to byte `end` on it.
    fn utf16_within(&self, start: usize, end: usize) -> usize {
        if self.ascii {
            end - start
        } else {
            self.text[start..end].encode_utf16().count()
        }
    }

    /// The UTF-16 offset of a byte offset from the start of the file (SARIF's
    /// `charOffset`): constant time in an ASCII file, else the length of one line.
    pub fn utf16_offset(&self, offset: usize) -> usize {
        let end = self.floor(offset);
        if self.ascii {
            return end;
        }
        let starts = self.utf16_line_starts.get_or_init(|| {
            let mut acc = 0u32;
            let mut out = Vec::with_capacity(self.line_starts.len());
            for (i, &start) in self.line_starts.iter().enumerate() {
                out.push(acc);
                let next = self.line_starts.get(i + 1).map_or(self.text.len(), |&n| n as usize);
                acc += self.text[start as usize..next].encode_utf16().count() as u32;
            }
            out
        });
        let line = self.line_index(end);
        starts[line] as usize + self.utf16_within(self.line_starts[line] as usize, end)
    }

    /// 0-based (line, UTF-16 character) of a byte offset, as the LSP counts them.
    pub fn lsp_position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let character = self.utf16_within(start, self.floor(offset).max(start));
        (line as u32, character as u32)
    }

    /// 0-based index of the line holding byte `offset` (clamped to the text).
    pub fn line_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts.partition_point(|&s| s as usize <= offset) - 1
    }

    /// The byte range of 0-based line `line`, without its `\n` (empty past the end).
    pub fn line_range(&self, line: usize) -> std::ops::Range<usize> {
        let Some(&start) = self.line_starts.get(line) else {
            return self.text.len()..self.text.len();
        };
        let end = self.line_starts.get(line + 1).map_or(self.text.len(), |&next| next as usize - 1);
        start as usize..end
    }

    /// 1-based line and column (in characters), as people count them.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let end = self.floor(offset).max(start);
        let column = if self.ascii { end - start } else { self.text[start..end].chars().count() };
        (line + 1, column + 1)
    }
}

/// All files of one compilation, in a deterministic order: stdlib first, then the
/// project's files sorted by path.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Shared: an editor's next sources keep the files an edit did not touch.
    files: Vec<Arc<SourceFile>>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    /// Sources holding only the embedded stdlib.
    pub fn with_stdlib() -> Sources {
        let mut it = Sources::new();
        for (path, text) in crate::stdlib::FILES {
            it.push(SourceFile::new(format!("<stdlib>/{path}"), Origin::Stdlib, (*text).to_string(), None));
        }
        it
    }

    /// Sources holding the stdlib of `previous` (shared, not read again).
    pub fn with_stdlib_of(previous: &Sources) -> Sources {
        let stdlib = previous.files.iter().take_while(|f| f.origin == Origin::Stdlib);
        Sources { files: stdlib.cloned().collect() }
    }

    /// Adds a project file, sharing the file of `previous` at `path` when its text
    /// is `text` (its line index is not computed again).
    pub fn add_reusing(&mut self, path: &str, text: &str, previous: &Sources) {
        let project = previous.files.partition_point(|f| f.origin == Origin::Stdlib);
        let at = project + previous.files[project..].partition_point(|f| f.path.as_str() < path);
        match previous.files.get(at) {
            Some(file) if file.path == path && file.text == text && file.invalid_utf8_at.is_none() => {
                self.insert(Arc::clone(file))
            }
            _ => self.add(path, text),
        }
    }

    /// Adds a project file from its raw bytes. Invalid UTF-8 is kept as an empty
    /// file that the parser reports as E101.
    /// File ids are only stable once every file has been added.
    pub fn add_bytes(&mut self, path: impl Into<String>, bytes: Vec<u8>) {
        self.add_file(SourceFile::project(path.into(), bytes));
    }

    /// Adds a project file made by [`SourceFile::project`].
    pub fn add_file(&mut self, file: SourceFile) {
        self.push(file)
    }

    /// Adds a project file from text.
    pub fn add(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.push(SourceFile::new(path.into(), Origin::Project, text.into(), None))
    }

    fn push(&mut self, file: SourceFile) {
        self.insert(Arc::new(file));
    }

    fn insert(&mut self, file: Arc<SourceFile>) {
        // Keep project files sorted by path so that the order they were added in never matters.
        let pos = if file.origin == Origin::Stdlib {
            self.files.iter().take_while(|f| f.origin == Origin::Stdlib).count()
        } else {
            self.files.partition_point(|f| f.origin == Origin::Stdlib || f.path < file.path)
        };
        self.files.insert(pos, file);
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i as u32), &**f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Replaces the text of file `id` (used to mask secrets before rendering).
    pub(crate) fn replace_text(&mut self, id: FileId, text: String) {
        let file = &mut self.files[id.0 as usize];
        *file = Arc::new(SourceFile::new(file.path.clone(), file.origin, text, file.invalid_utf8_at));
    }

    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        self.get(span.file).text.get(span.range()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast paths (ASCII, per-line UTF-16 starts) agree with counting from the start.
    #[test]
    fn offsets_agree_with_naive_counting() {
        for text in ["x = 1\ny = 22\n", "# é😀\nx = \"😀\" y\n\nzé\n", ""] {
            let file = SourceFile::new("a.gov".into(), Origin::Project, text.to_string(), None);
            for offset in 0..=text.len() + 2 {
                let mut end = offset.min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                assert_eq!(file.utf16_offset(offset), text[..end].encode_utf16().count(), "{text:?} at {offset}");
                let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
                let line = text[..line_start].matches('\n').count();
                let (l, c) = file.lsp_position(offset);
                assert_eq!((l as usize, c as usize), (line, text[line_start..end].encode_utf16().count()));
                assert_eq!(file.line_col(offset), (line + 1, text[line_start..end].chars().count() + 1));
            }
        }
    }

    /// A line ends at `\n`, `\r\n` (one end) or a lone `\r`, as the LSP counts lines.
    #[test]
    fn lines_end_at_each_kind_of_break() {
        let file = SourceFile::new("a.gov".into(), Origin::Project, "a\nb\r\nc\rd\r".to_string(), None);
        assert_eq!(file.line_starts, [0, 2, 5, 7, 9]);
        let file = SourceFile::new("a.gov".into(), Origin::Project, "\r\n\r\r\n".to_string(), None);
        assert_eq!(file.line_starts, [0, 2, 3, 5]);
    }

    #[test]
    fn unchanged_files_are_shared_and_changed_ones_read_again() {
        let mut before = Sources::with_stdlib();
        before.add("a.gov", "stack a { }\n");
        before.add("b.gov", "stack b { }\n");
        let mut after = Sources::with_stdlib_of(&before);
        after.add_reusing("a.gov", "stack a { }\n", &before);
        after.add_reusing("b.gov", "stack b { x }\nstack c { }\n", &before);
        after.add_reusing("c.gov", "stack c { }\n", &before);
        let id = |s: &Sources, path: &str| s.iter().find(|(_, f)| f.path == path).map(|(id, _)| id).expect("a file");
        let (a, b) = (id(&before, "a.gov"), id(&before, "b.gov"));
        assert!(std::ptr::eq(before.get(a), after.get(id(&after, "a.gov"))), "unchanged: shared");
        assert!(!std::ptr::eq(before.get(b), after.get(id(&after, "b.gov"))), "changed: read again");
        assert_eq!(after.get(id(&after, "b.gov")).text, "stack b { x }\nstack c { }\n");
        assert_eq!(after.get(id(&after, "b.gov")).line_col(16), (2, 3));
        let stdlib = |s: &Sources| s.iter().filter(|(_, f)| f.origin == Origin::Stdlib).count();
        assert_eq!(stdlib(&after), stdlib(&before));
        assert_eq!(after.len(), before.len() + 1);
    }
}
