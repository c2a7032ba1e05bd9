//! "Did you mean …?": the closest known name, when one is close enough, and the
//! help and machine-applicable fix that propose it.

use crate::diag::Diagnostic;
use crate::source::Span;

/// Adds `help: did you mean `s`?` and the fix that writes `s` over `span` (the
/// misspelt name, exactly).
pub fn did_you_mean(d: Diagnostic, span: Span, s: &str) -> Diagnostic {
    d.with_help(format!("did you mean `{s}`?")).with_replacement(format!("replace with `{s}`"), span, s)
}

/// [`did_you_mean`] for a misspelt string value: `span` covers the quoted
/// string, and the fix writes `"s"` over it.
pub fn did_you_mean_quoted(d: Diagnostic, span: Span, s: &str) -> Diagnostic {
    d.with_help(format!("did you mean `{s}`?")).with_replacement(
        format!("replace with `\"{s}\"`"),
        span,
        format!("\"{s}\""),
    )
}

/// The candidate closest to `name` by Damerau-Levenshtein distance, if it is within a
/// third of the name's length (at least 1, at most 3 edits). Ties go to the first
/// candidate in sorted order, so the suggestion is deterministic. A name of more than
/// [`LONGEST`] bytes gets none.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    Names::new(candidates).closest(name)
}

/// Candidates prepared for many lookups ([`Names::closest`]), as when thousands of
/// references to a renamed resource each want a suggestion among thousands of names.
///
/// The candidates are held in a trie, and a name is compared with all of them at once:
/// the rows of the Damerau-Levenshtein matrix (Lowrance and Wagner's, the distance
/// `strsim` computes) are computed along the trie's paths, so candidates that share a
/// prefix share its rows, and a subtree is left as soon as no candidate in it can be
/// within the limit. A fleet's names mostly share their first characters, and a name
/// far from all of them is ruled out in its first few rows. A name asked for again gets
/// its answer from a memo.
pub struct Names<'a> {
    nodes: Vec<Node<'a>>,
    /// The length of the longest candidate, in characters.
    depth: usize,
    /// The answers so far, by name: behind a lock so that threads may search one trie
    /// for different names side by side.
    asked: std::sync::Mutex<foldhash::HashMap<String, Option<&'a str>>>,
}

/// A node of the trie: the candidate that ends here, and the children by character.
#[derive(Default)]
struct Node<'a> {
    name: Option<&'a str>,
    children: Vec<(char, u32)>,
}

impl<'a> Names<'a> {
    pub fn new(candidates: impl IntoIterator<Item = &'a str>) -> Names<'a> {
        let mut nodes = vec![Node::default()];
        let mut depth = 0;
        // A candidate longer than any name searched for, by more than 3 characters of 4
        // bytes, is never within the limit of one.
        for name in candidates.into_iter().filter(|name| name.len() <= LONGEST + 3 * 4) {
            depth = depth.max(name.chars().count());
            let mut at = 0;
            for c in name.chars() {
                at = match nodes[at].children.iter().find(|(k, _)| *k == c) {
                    Some(&(_, child)) => child as usize,
                    None => {
                        nodes.push(Node::default());
                        let child = nodes.len() - 1;
                        nodes[at].children.push((c, child as u32));
                        child
                    }
                };
            }
            nodes[at].name.get_or_insert(name);
        }
        Names { nodes, depth, asked: Default::default() }
    }

    /// [`closest`] among these candidates.
    pub fn closest(&self, name: &str) -> Option<&'a str> {
        if let Some(&known) = self.asked.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return known;
        }
        let mut best = None;
        // No name that long is a typo worth a search (the rows would hold its square).
        if name.len() <= LONGEST {
            self.within(name, limit(name), &mut |d, c| {
                if c != name && best.is_none_or(|b| (d, c) < b) {
                    best = Some((d, c));
                }
            });
        }
        let found = best.map(|(_, c)| c);
        self.asked.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), found);
        found
    }

    /// Hands `found`, with its distance, each candidate other than `name` within `limit`
    /// edits of it that is no farther than those found before it: the nearest are among
    /// them. The search narrows to the nearest distance found so far, and takes first the
    /// child that goes on with the name's own next character, so a name one edit from a
    /// candidate finds it early and leaves the rest of the trie in a few rows. Returns
    /// how many rows of the matrix were computed (the search's cost).
    fn within(&self, name: &str, limit: usize, found: &mut dyn FnMut(usize, &'a str)) -> usize {
        let query: Vec<char> = name.chars().collect();
        let m = query.len();
        // The matrix has a row and a column before the first (index 0 here), holding
        // `max`; row `i + 1` is the candidate's prefix of `i` characters, column `j + 1`
        // the name's of `j`.
        let max = m + self.depth + 2;
        let width = m + 2;
        let mut rows = vec![max; width];
        rows.extend((0..width).map(|j| if j == 0 { max } else { j - 1 }));
        // The last row where each of the name's characters stood in the candidate's
        // prefix (0: nowhere), by the index of its first place in the name.
        let slot: Vec<usize> = query.iter().map(|c| query.iter().position(|q| q == c).unwrap_or(0)).collect();
        let last = vec![0; m];
        if let Some(name) = self.nodes[0].name {
            if m <= limit {
                found(m, name);
            }
        }
        let mut search = Search {
            names: self,
            name,
            query: &query,
            slot: &slot,
            bound: limit,
            width,
            rows,
            last,
            found,
            visited: 0,
        };
        // `floor` bounds from below every value of the rows to come ([`Search::node`]).
        search.node(0, 1, 0);
        search.visited
    }
}

/// One search of a trie ([`Names::within`]).
struct Search<'s, 'a> {
    names: &'s Names<'a>,
    query: &'s [char],
    slot: &'s [usize],
    /// The name searched for.
    name: &'s str,
    /// The limit, then the distance of the nearest candidate found so far.
    bound: usize,
    width: usize,
    /// The rows computed along the current path, one after another.
    rows: Vec<usize>,
    /// [`Names::within`]'s `last`, for the current path.
    last: Vec<usize>,
    found: &'s mut dyn FnMut(usize, &'a str),
    visited: usize,
}

impl Search<'_, '_> {
    /// Computes the rows of `at`'s children (row `i + 1` for a child at depth `i`) and
    /// searches those that can still hold a candidate within the bound. `floor` is the
    /// least, over the rows so far, of a row's smallest value plus the rows since: every
    /// value of a row to come is at least that (a transposition reaches back to an earlier
    /// row but pays one edit per row it skips), and it never decreases.
    fn node(&mut self, at: usize, i: usize, floor: usize) {
        let (m, w, max) = (self.query.len(), self.width, self.rows[0]);
        let children = &self.names.nodes[at].children;
        let own = self.query.get(i - 1).and_then(|q| children.iter().position(|(c, _)| c == q));
        for k in own.into_iter().chain((0..children.len()).filter(|&k| Some(k) != own)) {
            let (c, child) = children[k];
            self.visited += 1;
            let row = (i + 1) * w;
            self.rows.resize(row + w, max);
            self.rows[row] = max;
            self.rows[row + 1] = i;
            let mut smallest = i;
            let mut matched = 0; // the last column of this row whose character is `c`
            for j in 1..=m {
                let q = self.query[j - 1];
                let k_row = self.last[self.slot[j - 1]];
                let l_col = matched;
                let cost = if q == c {
                    matched = j;
                    0
                } else {
                    1
                };
                let prev = row - w;
                let mut d = (self.rows[prev + j] + cost).min(self.rows[row + j] + 1).min(self.rows[prev + j + 1] + 1);
                // A transposition: back to the row before the last `q` in the candidate
                // and the column before the last `c` in the name.
                // (Row and column 0 hold `max`: no such character, no transposition.)
                d = d.min(self.rows[k_row * w + l_col] + (i - k_row) + (j - l_col - 1));
                self.rows[row + j + 1] = d;
                smallest = smallest.min(d);
            }
            let floor = smallest.min(floor + 1);
            if let Some(name) = self.names.nodes[child as usize].name {
                let d = self.rows[row + m + 1];
                // The name itself is no suggestion, and must not narrow the search to 0.
                if d <= self.bound && name != self.name {
                    self.bound = d;
                    (self.found)(d, name);
                }
            }
            if floor <= self.bound {
                // The rows below know that `c` stood at row `i`.
                let slot = self.query.iter().position(|q| *q == c).map(|j| self.slot[j]);
                let before = slot.map(|s| std::mem::replace(&mut self.last[s], i));
                self.node(child as usize, i + 1, floor);
                if let (Some(s), Some(before)) = (slot, before) {
                    self.last[s] = before;
                }
            }
        }
    }
}

/// The longest name, in bytes, that a suggestion is searched for: the search holds a row
/// per character of the candidates' prefixes, each as long as the name. Names of
/// Kubernetes objects stop at 253 characters.
const LONGEST: usize = 255;

/// How many edits a suggestion for `name` may be away: a third of its length, at
/// least 1 and at most 3.
fn limit(name: &str) -> usize {
    (name.chars().count() / 3).clamp(1, 3)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{closest, Names};

    #[test]
    fn suggests_the_nearest_name() {
        assert_eq!(closest("servce", ["service", "secret", "stack"]), Some("service"));
        assert_eq!(closest("zzz", ["service"]), None);
        assert_eq!(closest("db-pasword", ["db-password", "api"]), Some("db-password"));
    }

    /// Among a fleet's names, a misspelt database is compared in a few rows (no name
    /// starts like it), and a misspelt service, near them all, in under a tenth of the
    /// trie (its own candidate first, then only subtrees that could be as near).
    #[test]
    fn the_trie_leaves_a_fleet_after_a_few_rows() {
        let names: Vec<String> = (0..10_000).map(|i| format!("svc-{i}")).chain(["main".to_string()]).collect();
        let index = Names::new(names.iter().map(String::as_str));
        let rows = |name: &str| index.within(name, super::limit(name), &mut |_, _| {});
        assert!(rows("mian17") < 20, "{} rows", rows("mian17"));
        assert_eq!(index.closest("mian17"), None);
        assert_eq!(index.closest("mian"), Some("main"));
        assert!(rows("svc-1234x") < 1_000, "{} rows of {} nodes", rows("svc-1234x"), index.nodes.len());
        assert_eq!(index.closest("svc-1234x"), Some("svc-1234"));
    }

    /// The distance computed for every candidate, as `closest` was before it was given
    /// bounds to skip candidates with.
    fn by_every_distance<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
        let limit = (name.chars().count() / 3).clamp(1, 3);
        candidates
            .iter()
            .filter(|c| **c != name)
            .map(|c| (strsim::damerau_levenshtein(name, c), *c))
            .filter(|(d, _)| *d <= limit)
            .min()
            .map(|(_, c)| c)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The bounds only skip candidates too far to be suggested, and the memo answers
        /// as the search would: names and candidates from a small alphabet (so that many
        /// are near), `á` and `â` in the classes of `a` and `b`.
        #[test]
        fn the_bounds_and_the_memo_change_no_suggestion(
            names in proptest::collection::vec("[ab\\-1áâ]{0,9}", 1..6),
            candidates in proptest::collection::vec("[ab\\-1áâ]{0,10}", 0..40),
        ) {
            let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
            let index = Names::new(candidates.iter().copied());
            for _ in 0..2 {
                for name in &names {
                    prop_assert_eq!(index.closest(name), by_every_distance(name, &candidates));
                }
            }
        }
    }
}
