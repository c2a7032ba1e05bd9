//! E301 by literal: a string written in one environment that names another
//! environment's resources: its ingress host, the private DNS names of its
//! databases (`<db>.<env>.<project>.internal`), its namespace or the DNS names of
//! its services (`<svc>.<namespace>[.svc[.cluster.local]]`), an address in its
//! network, or one of its secret paths. References are checked during resolution;
//! this catches the same mistake written as text, which no reference resolves.
//!
//! Host names compare case-insensitively and without a trailing dot; a name matches
//! only as a whole name (`p.example.com` is not found in `staging.p.example.com`).
//! A value that both environments own (two environments with one host are E305) is
//! not a reference into either.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt, HashSet};

use ipnet::Ipv4Net;

use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::model::body::Body;
use crate::model::values::{EnvVal, Val};
use crate::model::{Environment, Model};
use crate::source::Span;

/// What identifies one environment's resources in text.
struct Mark<'a> {
    /// The text to find: lower case for names, as written for secret paths.
    text: String,
    how: Match,
    /// What it is: "the ingress host", "the private DNS name of postgres `main`".
    what: Named<'a>,
    /// Where the other environment declares it, when it is written somewhere.
    at: Option<Span>,
}

/// What a mark names (written out only in a diagnostic).
#[derive(Clone, Copy)]
enum Named<'a> {
    IngressHost,
    Postgres(&'a str),
    Service(&'a str),
    SecretPath(&'a str),
    Namespace,
}

impl std::fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::IngressHost => f.write_str("the ingress host"),
            Named::Postgres(name) => write!(f, "the private DNS name of postgres `{name}`"),
            Named::Service(name) => write!(f, "the DNS name of service `{name}`"),
            Named::SecretPath(name) => write!(f, "the path of secret `{name}`"),
            Named::Namespace => f.write_str("the namespace"),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Match {
    /// A DNS name, found as a whole name.
    Host,
    /// A namespace or a service's `<svc>.<namespace>`, found as whole DNS labels
    /// (more labels may follow: `.svc.cluster.local`).
    Label,
    /// A Secrets Manager path, found as a whole path (case-sensitive).
    Path,
}

/// One environment's marks and its network blocks.
struct Owned<'a> {
    marks: Vec<Mark<'a>>,
    networks: Vec<(Ipv4Net, String, Span)>,
}

/// A string literal of an environment, with where it is written.
struct Literal<'a> {
    text: &'a str,
    span: Span,
}

/// E301 for every literal of an environment that names another environment's resources.
pub fn literal_references(model: &Model, sink: &mut Diagnostics) {
    let Some(project) = model.project.as_ref().map(|p| p.name.as_str()) else { return };
    // The environments' marks are gathered, and their literals searched, side by side;
    // each finding names its literal and the environment it reaches.
    let envs: Vec<usize> = (0..model.environments.len()).collect();
    let owned: Vec<Owned> = crate::par::map(&envs, |&i| owned(project, &model.environments[i]));
    let marks = AllMarks::new(&owned);
    let found = crate::par::map(&envs, |&i| naming_others(model, i, &owned, &marks));
    // A stack's literal is seen once per environment using it: report it once per target.
    let mut reported: BTreeSet<(Span, usize)> = BTreeSet::new();
    for (span, j, d) in found.into_iter().flatten() {
        if reported.insert((span, j)) {
            sink.push(d);
        }
    }
}

/// E301 for the literals of environment `i`, in the order they are written, each with
/// its span and the environment it names.
fn naming_others(model: &Model, i: usize, owned: &[Owned], marks: &AllMarks) -> Vec<(Span, usize, Diagnostic)> {
    let env = &model.environments[i];
    let mut literals = Vec::new();
    body_literals(&env.body, &mut literals);
    for res in &env.resources {
        body_literals(&res.body, &mut literals);
    }
    let mut found = Vec::new();
    for lit in &literals {
        // Searching a text costs less than remembering it: almost every text of a
        // large project holds nothing (see `AllMarks::each_piece`).
        let hits = Hits { marks: marks.hits(lit.text), addresses: addresses(lit.text) };
        if hits.marks.is_empty() && hits.addresses.is_empty() {
            continue;
        }
        for (j, other) in model.environments.iter().enumerate() {
            if i == j || other.name == env.name {
                continue;
            }
            let Some(named) = names_other(&hits, (j, &owned[j]), (i, &owned[i]), marks) else { continue };
            let mut d = Diagnostic::new(
                Code::E301,
                lit.span,
                format!("this value names {} of environment `{}`", named.what, other.name),
                format!("written in environment `{}`", env.name),
            );
            if let Some(at) = named.at {
                d = d.with_label(at, format!("declared in environment `{}`", other.name));
            }
            let d = d
                .with_note("environments are isolated: no environment reaches another one, by reference or by name")
                .with_help(format!(
                    "use environment `{}`'s own resource (a reference such as `main.host` gives its address)",
                    env.name
                ));
            found.push((lit.span, j, d));
        }
    }
    found
}

/// What a literal's text holds: marks of every environment (`(environment, mark)`),
/// and addresses.
struct Hits {
    marks: Vec<(usize, usize)>,
    addresses: Vec<(std::net::Ipv4Addr, Option<Ipv4Net>)>,
}

/// Every environment's marks by text: `(environment, mark)` indices.
struct AllMarks<'a> {
    owned: &'a [Owned<'a>],
    /// Built on the first text whose last label is a mark's: most large projects have none.
    by_text: OnceLock<ByText<'a>>,
    longest: usize,
    /// The last labels of the marks of names (lower case) and of secret paths.
    names: Tails<'a>,
    paths: Tails<'a>,
}

/// Every environment's marks by text: a project has one mark per service and
/// environment (120,000 at fleet-40k), nearly every text its own, so each text
/// leads to a chain of its marks in one vector rather than to a vector of its own.
struct ByText<'a> {
    /// The first mark of each text: an index into `marks`.
    first: HashMap<&'a str, u32>,
    /// `(environment, mark, next)`: `next` is the index of the next mark of the same
    /// text, in order, or [`ByText::END`].
    marks: Vec<(u32, u32, u32)>,
}

impl<'a> ByText<'a> {
    const END: u32 = u32::MAX;

    fn new(owned: &'a [Owned<'a>]) -> ByText<'a> {
        let all: Vec<(usize, usize, &str)> = owned
            .iter()
            .enumerate()
            .flat_map(|(j, o)| o.marks.iter().enumerate().map(move |(k, mark)| (j, k, mark.text.as_str())))
            .collect();
        let mut first: HashMap<&str, u32> = HashMap::with_capacity(all.len());
        let mut marks = vec![(0, 0, Self::END); all.len()];
        // From the last: each mark goes before the marks of its text already chained.
        for (i, &(j, k, text)) in all.iter().enumerate().rev() {
            let next = first.insert(text, i as u32).unwrap_or(Self::END);
            marks[i] = (j as u32, k as u32, next);
        }
        ByText { first, marks }
    }
}

/// The last labels of a set of marks: a mark's text after its last byte that is not
/// a name character (`shop-dev` of `svc-0.shop-dev`, `internal` of a database's
/// name, the whole text when it has no such byte). A project has few: its
/// namespaces, the last labels of its hosts and of its secret paths.
#[derive(Default)]
struct Tails<'a> {
    set: HashSet<&'a [u8]>,
    shortest: usize,
    longest: usize,
}

impl<'a> Tails<'a> {
    fn insert(&mut self, text: &'a str) {
        let tail = last_label(text);
        self.shortest = if self.set.is_empty() { tail.len() } else { self.shortest.min(tail.len()) };
        self.longest = self.longest.max(tail.len());
        self.set.insert(tail);
    }

    fn contains(&self, tail: &[u8]) -> bool {
        (self.shortest..=self.longest).contains(&tail.len()) && self.set.contains(tail)
    }
}

impl<'a> AllMarks<'a> {
    fn new(owned: &'a [Owned<'a>]) -> AllMarks<'a> {
        let (mut names, mut paths) = (Tails::default(), Tails::default());
        let mut longest = 0;
        for mark in owned.iter().flat_map(|o| &o.marks) {
            match mark.how {
                Match::Path => paths.insert(&mark.text),
                Match::Host | Match::Label => names.insert(&mark.text),
            }
            longest = longest.max(mark.text.len());
        }
        AllMarks { owned, by_text: OnceLock::new(), longest, names, paths }
    }

    /// The marks with `text`, in order: `(environment, mark)`.
    fn with_text(&self, text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
        let by_text = self.by_text.get_or_init(|| ByText::new(self.owned));
        let mut at = by_text.first.get(text).copied();
        std::iter::from_fn(move || {
            let (env, mark, next) = by_text.marks[at? as usize];
            at = (next != ByText::END).then_some(next);
            Some((env as usize, mark as usize))
        })
    }

    /// Whether environment `env` has a mark with `mark`'s text, matched the same way.
    fn owns(&self, env: usize, mark: &Mark) -> bool {
        self.with_text(&mark.text).any(|(e, k)| e == env && self.owned[e].marks[k].how == mark.how)
    }

    /// The marks `text` holds, as [`contains`] finds them: `(environment, mark)`.
    /// Names compare in lower case, secret paths as written.
    fn hits(&self, text: &str) -> Vec<(usize, usize)> {
        let lower: Cow<str> =
            if text.bytes().any(|b| b.is_ascii_uppercase()) { text.to_ascii_lowercase().into() } else { text.into() };
        let mut hits = Vec::new();
        for (hay, tails, path) in [(&*lower, &self.names, false), (text, &self.paths, true)] {
            if tails.set.is_empty() {
                continue;
            }
            self.each_piece(hay, tails, |piece| {
                for (j, k) in self.with_text(piece) {
                    let mark = &self.owned[j].marks[k];
                    if (mark.how == Match::Path) == path
                        && contains(hay, &mark.text, mark.how)
                        && !hits.contains(&(j, k))
                    {
                        hits.push((j, k));
                    }
                }
            });
        }
        hits
    }

    /// Calls `f` with every piece of `hay` at most `longest` bytes long that may be a
    /// mark whose last label is in `tails`.
    ///
    /// Every match [`contains`] accepts starts at 0 or after a byte that is not a
    /// name character, and ends at the end or before one: only those pieces can be
    /// marks. A piece ending at `end` has the text after the last such byte before
    /// `end` as its last label, whatever its start. So each end is looked up once in
    /// `tails` (a small set: a text of a large project is searched without touching
    /// the thousands of marks), and only an end found there is tried with every start.
    fn each_piece(&self, hay: &str, tails: &Tails, mut f: impl FnMut(&str)) {
        let bytes = hay.as_bytes();
        // The start of the last label: just after the last byte that is not a name character.
        let mut label = 0;
        for end in 0..=bytes.len() {
            if end < bytes.len() && name_char(bytes[end]) {
                continue;
            }
            if end > 0 && tails.contains(&bytes[label..end]) {
                let first = end.saturating_sub(self.longest);
                for start in (first..=label).rev().filter(|&s| s == 0 || !name_char(bytes[s - 1])) {
                    if let Some(piece) = hay.get(start..end) {
                        f(piece);
                    }
                }
            }
            label = end + 1;
        }
    }
}

/// The last label of `text`: the bytes after its last byte that is not a name
/// character (empty when it ends with one; all of it when it has none).
fn last_label(text: &str) -> &[u8] {
    let bytes = text.as_bytes();
    &bytes[bytes.iter().rposition(|&b| !name_char(b)).map_or(0, |i| i + 1)..]
}

/// What a text holding `hits` names of `other`'s (environment `j`) that `own`
/// (environment `i`) does not also own.
fn names_other(hits: &Hits, (j, other): (usize, &Owned), (i, own): (usize, &Owned), marks: &AllMarks) -> Option<Found> {
    // The first mark in `other.marks` order wins, as a scan would find.
    let first = hits.marks.iter().filter(|&&(e, k)| e == j && !marks.owns(i, &other.marks[k])).map(|&(_, k)| k).min();
    if let Some(k) = first {
        let mark = &other.marks[k];
        return Some(Found { what: mark.what.to_string(), at: mark.at });
    }
    for &(addr, net) in &hits.addresses {
        let inside = |n: &Ipv4Net| match net {
            Some(net) => n.contains(&net) || net.contains(n),
            None => n.contains(&addr),
        };
        if own.networks.iter().any(|(n, ..)| inside(n)) {
            continue;
        }
        if let Some((cidr, name, span)) = other.networks.iter().find(|(n, ..)| inside(n)) {
            return Some(Found { what: format!("an address in network `{name}` ({cidr})"), at: Some(*span) });
        }
    }
    None
}

struct Found {
    what: String,
    at: Option<Span>,
}

fn owned<'a>(project: &str, env: &'a Environment) -> Owned<'a> {
    // The namespace as emitted: `<project>-<env>`, shortened to 63 when longer.
    let namespace = crate::emit::names::namespace(project, &env.name).to_ascii_lowercase();
    let mut marks = Vec::new();
    let mut networks = Vec::new();
    for res in &env.resources {
        match res.kind.as_str() {
            "ingress" => {
                if let Some(f) = res.body.field("host") {
                    if let Val::Str(host) = &f.value {
                        let host = host.trim_end_matches('.').to_ascii_lowercase();
                        if !host.is_empty() {
                            marks.push(Mark {
                                text: host,
                                how: Match::Host,
                                what: Named::IngressHost,
                                at: Some(f.value_span),
                            });
                        }
                    }
                }
            }
            "postgres" => marks.push(Mark {
                text: format!("{}.{}.{project}.internal", res.name, env.name).to_ascii_lowercase(),
                how: Match::Host,
                what: Named::Postgres(&res.name),
                at: None,
            }),
            "service" => marks.push(Mark {
                text: format!("{}.{namespace}", res.name).to_ascii_lowercase(),
                how: Match::Label,
                what: Named::Service(&res.name),
                at: None,
            }),
            "secret" => {
                if let Some(f) = res.body.field("path") {
                    if let Val::Str(path) = &f.value {
                        if !path.is_empty() {
                            marks.push(Mark {
                                text: path.clone(),
                                how: Match::Path,
                                what: Named::SecretPath(&res.name),
                                at: Some(f.value_span),
                            });
                        }
                    }
                }
            }
            "network" => {
                if let Some(f) = res.body.field("cidr") {
                    if let Val::Cidr(net) = f.value {
                        networks.push((net, res.name.clone(), f.value_span));
                    }
                }
            }
            _ => {}
        }
    }
    // Last: a service's DNS name holds the namespace too, and says more.
    marks.push(Mark { text: namespace, how: Match::Label, what: Named::Namespace, at: None });
    Owned { marks, networks }
}

fn name_char(c: u8) -> bool {
    // A table rather than comparisons: texts such as image digests mix letters and
    // digits at random, which defeats branch prediction byte after byte.
    const NAME: [bool; 256] = {
        let mut table = [false; 256];
        let mut c = 0;
        while c < 256 {
            table[c] = (c as u8).is_ascii_alphanumeric() || c == b'-' as usize;
            c += 1;
        }
        table
    };
    NAME[usize::from(c)]
}

/// Every string literal of `body`: string and string-list fields, literal `env`
/// values and route paths, in nested blocks too.
fn body_literals<'a>(body: &'a Body, out: &mut Vec<Literal<'a>>) {
    for f in &body.fields {
        match &f.value {
            Val::Str(s) => out.push(Literal { text: s, span: f.value_span }),
            Val::Strings(items) => out.extend(items.iter().map(|(s, span)| Literal { text: s, span: *span })),
            Val::Env(entries) => out.extend(entries.iter().filter_map(|e| match &e.value {
                EnvVal::Literal(s) => Some(Literal { text: s, span: e.value_span }),
                _ => None,
            })),
            _ => {}
        }
    }
    for r in &body.routes {
        out.push(Literal { text: &r.path, span: r.path_span });
    }
    for b in &body.blocks {
        body_literals(&b.body, out);
    }
}

/// Whether `hay` holds `needle` as a whole name (host), label (namespace) or path.
fn contains(hay: &str, needle: &str, how: Match) -> bool {
    let path_char = |c: u8| c.is_ascii_alphanumeric() || b"/_+=.@-".contains(&c);
    let bytes = hay.as_bytes();
    hay.match_indices(needle).any(|(i, _)| {
        let before = i.checked_sub(1).map(|k| bytes[k]);
        let after = bytes.get(i + needle.len()).copied();
        let next = bytes.get(i + needle.len() + 1).copied();
        match how {
            // Not a label of a longer name on the left; on the right the name may end
            // with a dot (the root), but not go on with another label.
            Match::Host => {
                !before.is_some_and(|c| name_char(c) || c == b'.')
                    && match after {
                        None => true,
                        Some(b'.') => !next.is_some_and(name_char),
                        Some(c) => !name_char(c),
                    }
            }
            // A whole label: `api.p-production.svc`, not `p-production-assets`.
            Match::Label => !before.is_some_and(name_char) && !after.is_some_and(name_char),
            Match::Path => !before.is_some_and(path_char) && !after.is_some_and(path_char),
        }
    })
}

/// The IPv4 addresses and CIDR blocks written in `text`: `(address, block)`.
fn addresses(text: &str) -> Vec<(std::net::Ipv4Addr, Option<Ipv4Net>)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    // An address has three dots: most texts have fewer, and are not scanned.
    if memchr::memchr_iter(b'.', bytes).nth(2).is_none() {
        return out;
    }
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let end = i + bytes[i..].iter().take_while(|c| c.is_ascii_digit() || **c == b'.' || **c == b'/').count();
        let token = text[i..end].trim_end_matches(['.', '/']);
        let followed = bytes.get(end).is_some_and(|c| c.is_ascii_alphabetic());
        if !followed {
            if let Ok(net) = token.parse::<Ipv4Net>() {
                out.push((net.addr(), Some(net)));
            } else if let Ok(addr) = token.parse::<std::net::Ipv4Addr>() {
                out.push((addr, None));
            }
        }
        i = end.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{addresses, contains, AllMarks, Mark, Match, Named, Owned};

    fn mark(text: &str, how: Match) -> Mark<'static> {
        let text = if how == Match::Path { text.to_string() } else { text.to_ascii_lowercase() };
        Mark { text, how, what: Named::Namespace, at: None }
    }

    fn how(i: u8) -> Match {
        [Match::Host, Match::Label, Match::Path][usize::from(i % 3)]
    }

    proptest! {
        /// The search by last label finds exactly the marks that `contains` finds in
        /// the text (names in lower case), whatever the text and the marks.
        #[test]
        fn a_text_holds_the_marks_that_contains_finds(
            text in "[aB0./:@_-]{0,24}",
            marks in prop::collection::vec(("[aB0./_-]{1,8}", 0u8..3, 0usize..2), 1..8),
        ) {
            let mut owned: Vec<Owned> = (0..2).map(|_| Owned { marks: Vec::new(), networks: Vec::new() }).collect();
            for (t, h, env) in &marks {
                owned[*env].marks.push(mark(t, how(*h)));
            }
            let all = AllMarks::new(&owned);
            let mut found = all.hits(&text);
            found.sort_unstable();
            let lower = text.to_ascii_lowercase();
            let mut expected = Vec::new();
            for (j, o) in owned.iter().enumerate() {
                for (k, m) in o.marks.iter().enumerate() {
                    let hay = if m.how == Match::Path { text.as_str() } else { lower.as_str() };
                    if contains(hay, &m.text, m.how) {
                        expected.push((j, k));
                    }
                }
            }
            prop_assert_eq!(found, expected);
        }
    }

    #[test]
    fn marks_are_found_by_their_last_label() {
        let owned = [Owned {
            marks: vec![
                mark("api.shop-dev", Match::Label),
                mark("shop-dev", Match::Label),
                mark("p/dev/key", Match::Path),
            ],
            networks: Vec::new(),
        }];
        let all = AllMarks::new(&owned);
        let mut found = all.hits("http://API.shop-dev.svc:80");
        found.sort_unstable();
        assert_eq!(found, [(0, 0), (0, 1)]);
        assert_eq!(all.hits("secret p/dev/key!"), [(0, 2)]);
        assert!(all.hits("shop-dev-assets, p/dev/keys").is_empty());
    }

    #[test]
    fn whole_names_only() {
        assert!(contains("https://p.example.com/", "p.example.com", Match::Host));
        assert!(contains("p.example.com.", "p.example.com", Match::Host));
        assert!(contains("p.example.com:443", "p.example.com", Match::Host));
        assert!(!contains("staging.p.example.com", "p.example.com", Match::Host));
        assert!(!contains("p.example.com.evil.org", "p.example.com", Match::Host));
        assert!(!contains("xp.example.com", "p.example.com", Match::Host));
        assert!(contains("api.p-production.svc.cluster.local", "p-production", Match::Label));
        assert!(contains("p-production", "p-production", Match::Label));
        assert!(!contains("p-production-assets", "p-production", Match::Label));
        assert!(!contains("zenp-production", "p-production", Match::Label));
        assert!(contains(
            "arn:aws:secretsmanager:eu-west-1:1:secret:p/production/key",
            "p/production/key",
            Match::Path
        ));
        assert!(!contains("p/production/key-2", "p/production/key", Match::Path));
    }

    #[test]
    fn addresses_in_text() {
        let found = addresses("postgres://10.2.3.4:5432/x and 10.2.0.0/16, v1.2.3.4, 10.2.3.4a");
        let text: Vec<String> = found.iter().map(|(a, n)| format!("{a} {n:?}")).collect();
        assert_eq!(text, ["10.2.3.4 None", "10.2.0.0 Some(10.2.0.0/16)"]);
    }
}
