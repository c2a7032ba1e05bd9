//! Emitters: the checked [`ir::Program`] to output files: Terraform roots,
//! Kustomize trees, the local environments' Docker Compose files and the
//! environments' documentation pages.
//!
//! Emitters read the IR, never the AST or the model; they do no IO. They write each
//! file a piece at a time into [`out::Files`]; the CLI receives the pieces and writes
//! what differs. Paths are relative to the output directory, `/`-separated.

pub mod compose;
pub mod docs;
pub mod kustomize;
pub mod names;
pub mod out;
pub mod registries;
pub mod terraform;
pub mod versions;

#[cfg(test)]
pub(crate) mod flow_tests;
#[cfg(test)]
mod identity_tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::diag::{Code, Diagnostic};
use crate::ir;
use out::Files as _;

/// One output file: its text and the sha256 of it (hex), computed by the thread that
/// wrote the text, while it is still in that core's cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub sha256: String,
}

/// Renders every output file of the program: Terraform roots, Kustomize trees, Compose
/// files and documentation pages.
pub fn emit(program: &ir::Program) -> Result<BTreeMap<String, String>, Box<Diagnostic>> {
    Ok(emit_hashed(program)?.into_iter().map(|(path, file)| (path, file.text)).collect())
}

/// A piece of the output that is written independently of the others.
enum Job<'p> {
    /// The stacks' Kustomize bases.
    Bases,
    /// One environment's Kustomize overlay (it reads the bases' objects).
    Overlay(&'p ir::Environment),
    /// One file of a cloud environment's Terraform root.
    Terraform(&'p ir::Environment, terraform::File),
    /// One environment's documentation page.
    Page(&'p ir::Environment),
    /// The shared platform tree and the local environments' Compose files.
    Rest,
}

/// [`emit`], each file with its sha256.
pub fn emit_hashed(program: &ir::Program) -> Result<BTreeMap<String, Rendered>, Box<Diagnostic>> {
    Ok(emit_each(program, |_| String::new())?
        .into_iter()
        .map(|(path, (sha256, text))| (path, Rendered { text, sha256 }))
        .collect())
}

/// Every file by path: its sha256 and what its receiver kept.
pub type Received<K> = BTreeMap<String, (String, K)>;

/// Renders every file like [`emit`], each handed a piece at a time to the receiver
/// `open` makes for its path, on the thread that renders it, and hashed on the way:
/// each file's sha256 and what its receiver kept, by path. A receiver that only
/// compares the text with something (a file on disk) keeps nothing of most files, and
/// no file is ever held whole on its way (see [`out`]).
///
/// The pieces of work (the bases, each environment's overlay, each file of its
/// Terraform root, its page) are spread over the cores one at a time, the largest
/// first; the bases' objects are built once, by the first piece that needs them, and
/// freed by the last ([`SharedBases`]).
pub fn emit_each<R: out::Receive>(
    program: &ir::Program,
    open: impl Fn(&str) -> R + Sync,
) -> Result<Received<R::Kept>, Box<Diagnostic>>
where
    R::Kept: Send,
{
    emit_each_unless(program, &[], open, &AtomicBool::new(false))
}

/// [`emit_each`], started before it is known whether the output is wanted: once `stop`
/// is set, no further piece of work is started, and what was rendered is incomplete
/// (the caller throws it away). A build renders while the checks still run, and
/// stops when they find an error. Only the environments named in `only` have their
/// files rendered (roots, overlays, pages), beside the shared ones; all when it is empty.
pub fn emit_each_unless<R: out::Receive>(
    program: &ir::Program,
    only: &[String],
    open: impl Fn(&str) -> R + Sync,
    stop: &AtomicBool,
) -> Result<Received<R::Kept>, Box<Diagnostic>>
where
    R::Kept: Send,
{
    let wanted = |env: &&ir::Environment| only.is_empty() || only.contains(&env.name);
    let envs: Vec<&ir::Environment> = program.environments.iter().filter(wanted).collect();
    let mut roots = Vec::new();
    for &env in envs.iter().filter(|env| terraform::is_emitted(env)) {
        let files = terraform::environment_parts(program, env).map_err(internal)?;
        roots.extend(files.into_iter().map(|file| Job::Terraform(env, file)));
    }
    // The bases first and the roots' network files, which do not wait for them, right
    // after: the other core renders those while the first builds the bases. Then the
    // rest, the largest first.
    let is = |wanted: terraform::File| move |job: &Job| matches!(job, Job::Terraform(_, file) if *file == wanted);
    let (networks, roots): (Vec<Job>, Vec<Job>) = roots.into_iter().partition(is(terraform::File::Network));
    let (identities, roots): (Vec<Job>, Vec<Job>) = roots.into_iter().partition(is(terraform::File::Identity));
    let mut jobs = vec![Job::Bases];
    jobs.extend(networks);
    jobs.extend(envs.iter().copied().map(Job::Overlay));
    jobs.extend(identities);
    jobs.extend(envs.iter().copied().map(Job::Page));
    jobs.extend(roots);
    jobs.push(Job::Rest);
    let bases = SharedBases::new(program, 1 + envs.len());
    let open: &(dyn Fn(&str) -> R + Sync) = &open;
    let done = crate::par::map_each(&jobs, |job| -> Result<Vec<out::Written<R::Kept>>, String> {
        if stop.load(Ordering::Acquire) {
            return Ok(Vec::new());
        }
        let mut files = out::Hashing::new(open);
        match job {
            // Whichever piece comes first builds the bases and writes their files.
            Job::Bases => bases.with(&mut files, |bases, _| bases.map(|_| ()))?,
            Job::Overlay(env) => {
                bases.with(&mut files, |bases, files| kustomize::write_overlay(program, env, bases?, files))?
            }
            Job::Terraform(env, file) => terraform::write_environment_file(program, env, *file, &mut files)?,
            Job::Page(env) => {
                let (path, text) = docs::page(program, env)?;
                files.whole(path, &text);
            }
            Job::Rest => {
                for (path, text) in kustomize::platform::emit(program).into_iter().chain(compose::emit(program)?) {
                    files.whole(path, &text);
                }
            }
        }
        Ok(files.into_closed())
    });
    let mut files = BTreeMap::new();
    for piece in done {
        files.extend(piece.map_err(internal)?);
    }
    Ok(files)
}

/// The bases' objects, built by the first piece of work that needs them and freed by
/// the last, while the other core goes on (a fleet's bases hold thousands of objects).
struct SharedBases<'p> {
    program: &'p ir::Program,
    bases: Mutex<Option<Arc<Result<kustomize::Bases<'p>, String>>>>,
    /// The pieces that have yet to read them.
    users: AtomicUsize,
}

impl<'p> SharedBases<'p> {
    fn new(program: &'p ir::Program, users: usize) -> SharedBases<'p> {
        SharedBases { program, bases: Mutex::new(None), users: AtomicUsize::new(users) }
    }

    /// Runs `f` with the bases (or why they could not be built) and `files`, as one of
    /// the users. The first builds them holding the lock, writing their files into its
    /// `files`, so building them must not split work ([`crate::par`]): the thread would
    /// take other pieces while it waits, and a piece that needs the bases would wait for
    /// the lock it holds.
    fn with<T>(
        &self,
        files: &mut dyn out::Files,
        f: impl FnOnce(Result<&kustomize::Bases<'p>, String>, &mut dyn out::Files) -> T,
    ) -> T {
        let bases = {
            let mut slot = self.bases.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(slot.get_or_insert_with(|| Arc::new(kustomize::bases(self.program, files))))
        };
        let result = f(bases.as_ref().as_ref().map_err(String::clone), files);
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.bases.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        result
    }
}

/// Appends `n` in decimal digits (the Terraform and YAML writers' integers: ports,
/// sizes, counts), without the formatting machinery.
pub(crate) fn push_decimal(out: &mut String, n: u64) {
    // Most are under 10,000 (ports, octets, counts): written from a table of the
    // hundred pairs of digits, a character at a time.
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
                                2021222324252627282930313233343536373839\
                                4041424344454647484950515253545556575859\
                                6061626364656667686970717273747576777879\
                                8081828384858687888990919293949596979899";
    let pair = |out: &mut String, p: u64| {
        let at = p as usize * 2;
        out.push(char::from(PAIRS[at]));
        out.push(char::from(PAIRS[at + 1]));
    };
    let digit = |out: &mut String, d: u64| out.push(char::from(b'0' + d as u8));
    if n < 10_000 {
        let (high, low) = (n / 100, n % 100);
        out.reserve(4);
        match high {
            0 => {}
            1..10 => digit(out, high),
            _ => pair(out, high),
        }
        match (high, low) {
            (0, 0..10) => digit(out, low),
            _ => pair(out, low),
        }
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    while rest > 0 {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    // ASCII digits, each a `char` of one byte: no UTF-8 validation of the slice.
    out.reserve(digits.len() - at);
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// Appends each of `pieces` (a text joined from a few known pieces, made per service:
/// without the formatting machinery), room for all of them made at once.
pub(crate) fn push_all<const N: usize>(out: &mut String, pieces: [&str; N]) {
    out.reserve(pieces.iter().map(|piece| piece.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
}

/// Appends `net` as its `Display` writes it (`10.1.128.0/19`), digit by digit: an
/// environment's NetworkPolicies name their subnets thousands of times.
pub(crate) fn push_cidr(out: &mut String, net: &ipnet::Ipv4Net) {
    for (i, octet) in net.addr().octets().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        push_decimal(out, u64::from(octet));
    }
    out.push('/');
    push_decimal(out, u64::from(net.prefix_len()));
}

/// Appends `n` spaces (the YAML and Terraform writers' indentation: every line starts
/// with some): sixteen at a time, a piece of known length that the compiler writes in
/// place, the last cut back to what is left (a piece of any length would be a call to
/// `memset` per line; most indentations are sixteen spaces or fewer, one store).
pub(crate) fn push_spaces(out: &mut String, n: usize) {
    const SIXTEEN: &str = "                ";
    let mut left = n;
    while left > 16 {
        out.push_str(SIXTEEN);
        left -= 16;
    }
    out.push_str(SIXTEEN);
    out.truncate(out.len() - (16 - left));
}

fn internal(message: String) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::global(Code::E901, format!("internal error while emitting: {message}"))
            .with_note("this is a bug in govc; please report it with the sources that caused it"),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::flow_tests::{compile, project};
    use super::*;
    use crate::lock;

    #[test]
    fn spaces_and_decimals_are_what_format_writes() {
        for n in 0..70 {
            let mut out = String::from("x");
            push_spaces(&mut out, n);
            assert_eq!(out, format!("x{:n$}", ""));
        }
        let powers = (0..20).map(|e| 10u64.pow(e));
        let near =
            |p: u64| [p.checked_sub(1), Some(p), p.checked_add(1), p.checked_mul(2).map(|d| d - 1), p.checked_mul(5)];
        let boundaries = powers.flat_map(near).flatten();
        for n in boundaries.chain(0..1_000).chain([8080, 65_535, u64::MAX - 1, u64::MAX]) {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    /// The bases are built once, by the first user, and freed by the last.
    #[test]
    fn the_bases_are_built_once_and_freed_by_their_last_user() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (program, _) = compile(project(&root.join("envs"))).expect("envs/ compiles");
        let shared = SharedBases::new(&program, 2);
        let address = |bases: Result<&kustomize::Bases, String>, _: &mut dyn out::Files| {
            bases.map(|b| b as *const kustomize::Bases as usize)
        };
        let open = |_: &str| String::new();
        let (mut one, mut two) = (out::Hashing::new(&open), out::Hashing::new(&open));
        let first = shared.with(&mut one, address);
        assert!(shared.bases.lock().expect("unpoisoned").is_some(), "kept for the next user");
        let second = shared.with(&mut two, address);
        assert_eq!(first, second, "built once");
        assert!(first.is_ok());
        assert!(shared.bases.lock().expect("unpoisoned").is_none(), "freed by the last user");
        // The first user wrote the bases' files; the second, none.
        let written =
            |files: out::Hashing<'_, String>| files.into_closed().into_iter().map(|(path, _)| path).collect::<Vec<_>>();
        assert!(written(one).iter().any(|path| path.starts_with("kubernetes/base/")));
        assert!(written(two).is_empty());
    }

    /// Rendering some environments renders their roots, overlays and pages and the shared
    /// files, each as rendering all of them does, and nothing of the other environments.
    #[test]
    fn some_environments_render_their_files_and_the_shared_ones_only() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (program, _) = compile(project(&root.join("envs"))).expect("envs/ compiles");
        let keep = |_: &str| String::new();
        let all = emit_each_unless(&program, &[], keep, &AtomicBool::new(false)).expect("renders");
        for env in &program.environments {
            let some = emit_each_unless(&program, std::slice::from_ref(&env.name), keep, &AtomicBool::new(false))
                .expect("renders");
            let of = |e: &ir::Environment, path: &str| {
                path.starts_with(&format!("terraform/{}/", e.name))
                    || path.starts_with(&format!("kubernetes/overlays/{}/", e.name))
                    || path == format!("docs/{}.md", e.name)
            };
            assert!(all.keys().any(|p| of(env, p)), "{} has files of its own", env.name);
            for (path, file) in &all {
                let another = program.environments.iter().any(|e| e.name != env.name && of(e, path));
                assert_eq!(some.get(path).map(|f| &f.1), (!another).then_some(&file.1), "{path} for {}", env.name);
            }
        }
    }

    /// A CIDR is written as its `Display` writes it, for every prefix length and for
    /// octets of one, two and three digits.
    #[test]
    fn a_cidr_is_written_as_displayed() {
        for prefix in 0..=32u8 {
            for addr in [[0, 0, 0, 0], [10, 1, 128, 0], [192, 168, 7, 99], [255, 255, 255, 255], [172, 16, 0, 9]] {
                let net = ipnet::Ipv4Net::new(addr.into(), prefix).expect("a prefix of at most 32");
                let mut text = String::from("at ");
                push_cidr(&mut text, &net);
                assert_eq!(text, format!("at {net}"));
            }
        }
    }

    /// The pieces spread over the cores give exactly what each backend renders on its
    /// own, every file with the sha256 of its text, and the lock lists those digests.
    #[test]
    fn the_pieces_are_the_backends_output_hashed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![root.join("envs")];
        dirs.extend(std::fs::read_dir(root.join("examples")).expect("examples/").flatten().map(|e| e.path()));
        let mut compiled = 0;
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            let Some((program, files)) = compile(project(dir)) else { continue };
            compiled += 1;
            let mut whole = terraform::emit(&program).expect("terraform");
            whole.extend(kustomize::emit(&program).expect("kustomize"));
            whole.extend(docs::emit(&program).expect("docs"));
            whole.extend(compose::emit(&program).expect("compose"));
            let hashed = emit_hashed(&program).expect("emits");
            assert_eq!(
                hashed.iter().map(|(p, f)| (p.clone(), f.text.clone())).collect::<BTreeMap<_, _>>(),
                whole,
                "{}",
                dir.display()
            );
            for (path, file) in &hashed {
                assert_eq!(file.sha256, lock::sha256_hex(file.text.as_bytes()), "{path}");
            }
            let listed = lock::parse(&files[lock::LOCK_FILE]).expect("a lock");
            assert_eq!(listed, hashed.into_iter().map(|(p, f)| (p, f.sha256)).collect::<BTreeMap<_, _>>());
        }
        assert!(compiled >= 3, "envs/ and the examples compile ({compiled} did)");
    }
}
