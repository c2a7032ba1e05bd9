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
/// candidate in sorted order, so the suggestion is deterministic.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggests_the_nearest_name() {
        assert_eq!(closest("servce", ["service", "secret", "stack"]), Some("service"));
        assert_eq!(closest("zzz", ["service"]), None);
        assert_eq!(closest("db-pasword", ["db-password", "api"]), Some("db-password"));
    }
}
