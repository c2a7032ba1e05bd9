//! Output files written a piece at a time.
//!
//! The emitters write a file into an [`Out`], a buffer of about [`PIECE`] bytes that
//! they hand on whenever it fills ([`Out::spill`]); the pieces go through [`Files`]
//! to whatever receives the file ([`Receive`]), with the hasher of its sha256 (the
//! lock's): in a build, the receiver compares each piece with the file on disk. A file
//! of megabytes is then never held whole unless the receiver keeps it, and each piece is
//! hashed and compared while it is still in the cache of the core that wrote it. A
//! receiver may know the digest without hashing: the file on disk has it and is the same
//! so far (see `govc build`'s records); it then hashes only once it finds a difference.

use sha2::{Digest, Sha256};

/// About how many bytes an [`Out`] holds before handing them on.
pub const PIECE: usize = 64 * 1024;

/// What receives one output file, a piece at a time, in order, on the thread that
/// renders it, with the hasher of the file's sha256.
pub trait Receive {
    /// What is kept of the file once it is whole.
    type Kept;
    /// The next piece of the file's text, to hash into `hasher` unless the receiver
    /// knows the digest the text so far leads to (then it hashes the text so far once
    /// it no longer does).
    fn piece(&mut self, text: &str, hasher: &mut Sha256);
    /// The file is whole: what is kept of it, and its sha256 (`hasher`'s, or the one
    /// the receiver knew).
    fn finish(self, hasher: Sha256) -> (Self::Kept, [u8; 32]);

    /// Receives a file written at once: what is kept of it, and its sha256.
    fn whole(mut self, text: &str) -> (Self::Kept, [u8; 32])
    where
        Self: Sized,
    {
        let mut hasher = Sha256::new();
        self.piece(text, &mut hasher);
        self.finish(hasher)
    }
}

/// Keeps the whole text.
impl Receive for String {
    type Kept = String;

    fn piece(&mut self, text: &str, hasher: &mut Sha256) {
        hasher.update(text.as_bytes());
        self.push_str(text);
    }

    fn finish(self, hasher: Sha256) -> (String, [u8; 32]) {
        (self, hasher.finalize().into())
    }
}

/// Where the emitters write files: a file is opened by path, written a piece at a
/// time and closed; several may be open at once (an overlay writes one per kind).
pub trait Files {
    /// Starts the file at `path` (relative to the output directory): its handle.
    fn open(&mut self, path: String) -> usize;
    /// Appends `text` to the open file `file`.
    fn write(&mut self, file: usize, text: &str);
    /// Ends the open file `file`.
    fn close(&mut self, file: usize);

    /// A file written at once.
    fn whole(&mut self, path: String, text: &str) {
        let file = self.open(path);
        self.write(file, text);
        self.close(file);
    }
}

/// A file being written: the text not handed on yet. The writers append to `text`
/// and call [`Out::spill`] between the units they write (objects, blocks).
pub struct Out {
    file: usize,
    pub text: String,
}

impl Out {
    /// Opens `path` in `files`.
    pub fn open(files: &mut dyn Files, path: String) -> Out {
        Out { file: files.open(path), text: String::with_capacity(PIECE + PIECE / 4) }
    }

    /// Hands the text on once it holds a piece.
    pub fn spill(&mut self, files: &mut dyn Files) {
        if self.text.len() >= PIECE {
            files.write(self.file, &self.text);
            self.text.clear();
        }
    }

    /// Hands the rest on and ends the file.
    pub fn close(self, files: &mut dyn Files) {
        if !self.text.is_empty() {
            files.write(self.file, &self.text);
        }
        files.close(self.file);
    }
}

/// One file received: its path, the sha256 of its text (hex) and what the receiver
/// kept of it.
pub type Written<K> = (String, (String, K));

/// [`Files`] that hashes each file and hands it to a receiver made by `open` for its
/// path; the closed files in the order they were closed.
pub struct Hashing<'o, R: Receive> {
    open: &'o (dyn Fn(&str) -> R + Sync),
    files: Vec<Option<(String, Sha256, R)>>,
    closed: Vec<Written<R::Kept>>,
}

impl<'o, R: Receive> Hashing<'o, R> {
    pub fn new(open: &'o (dyn Fn(&str) -> R + Sync)) -> Hashing<'o, R> {
        Hashing { open, files: Vec::new(), closed: Vec::new() }
    }

    /// The files closed so far. A file left open (an emitter that failed half-way)
    /// is dropped.
    pub fn into_closed(self) -> Vec<Written<R::Kept>> {
        self.closed
    }
}

impl<R: Receive> Files for Hashing<'_, R> {
    fn open(&mut self, path: String) -> usize {
        let receiver = (self.open)(&path);
        self.files.push(Some((path, Sha256::new(), receiver)));
        self.files.len() - 1
    }

    fn write(&mut self, file: usize, text: &str) {
        if let Some(Some((_, hasher, receiver))) = self.files.get_mut(file) {
            receiver.piece(text, hasher);
        }
    }

    fn close(&mut self, file: usize) {
        if let Some((path, hasher, receiver)) = self.files.get_mut(file).and_then(Option::take) {
            let (kept, digest) = receiver.finish(hasher);
            self.closed.push((path, (crate::lock::hex(&digest), kept)));
        }
    }
}

/// Runs `write` with [`Files`] that keep every file whole: `(path, text)` in the order
/// the files were closed (the emitters' own tests and the one-shot APIs).
pub fn collect(write: impl FnOnce(&mut dyn Files) -> Result<(), String>) -> Result<Vec<(String, String)>, String> {
    let open = |_: &str| String::new();
    let mut files = Hashing::new(&open);
    write(&mut files)?;
    Ok(files.into_closed().into_iter().map(|(path, (_, text))| (path, text)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of any size reach the receiver in order, each file hashed whole, files
    /// interleaved as an overlay writes them.
    #[test]
    fn pieces_arrive_in_order_and_are_hashed_whole() {
        let open = |_: &str| String::new();
        let mut files = Hashing::new(&open);
        let mut a = Out::open(&mut files, "a".into());
        let mut b = Out::open(&mut files, "b".into());
        let mut expected_a = String::new();
        for i in 0..20_000 {
            let line = format!("line {i}\n");
            a.text.push_str(&line);
            expected_a.push_str(&line);
            a.spill(&mut files);
            if i % 3 == 0 {
                b.text.push_str("b\n");
                b.spill(&mut files);
            }
        }
        assert!(expected_a.len() > 3 * PIECE, "the test spills several pieces");
        b.close(&mut files);
        a.close(&mut files);
        files.whole("c".into(), "");
        let closed = files.into_closed();
        let paths: Vec<&str> = closed.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["b", "a", "c"]);
        let (_, (sha_a, text_a)) = &closed[1];
        assert_eq!(text_a, &expected_a);
        assert_eq!(sha_a, &crate::lock::sha256_hex(expected_a.as_bytes()));
        assert_eq!(closed[0].1 .1, "b\n".repeat(6667));
        assert_eq!(closed[2].1, (crate::lock::sha256_hex(b""), String::new()));
    }

    #[test]
    fn a_file_left_open_is_not_received() {
        let files = collect(|files| {
            let _left = Out::open(files, "left".into());
            files.whole("done".into(), "x");
            Ok(())
        });
        assert_eq!(files, Ok(vec![("done".to_string(), "x".to_string())]));
    }
}
