//! Lexer tests: token kinds and spans, and the diagnostics of malformed input.

use super::*;
use crate::diag::Code;

fn lex_str(text: &str) -> (Vec<(Token, &str)>, Vec<Code>) {
    let mut diags = Diagnostics::new();
    let lexed = lex(text, FileId(0), &mut diags);
    let tokens = lexed.tokens.iter().map(|(t, s)| (*t, &text[s.start..s.end])).collect();
    (tokens, diags.iter().map(|d| d.code).collect())
}

fn kinds(text: &str) -> Vec<Token> {
    let (tokens, codes) = lex_str(text);
    assert!(codes.is_empty(), "{text:?}: {codes:?}");
    tokens.into_iter().map(|(t, _)| t).collect()
}

#[test]
fn identifiers_and_arrows() {
    let (tokens, _) = lex_str("db-password a->b c-->d _x");
    let texts: Vec<_> = tokens.iter().map(|(_, s)| *s).collect();
    assert_eq!(texts, ["db-password", "a", "->", "b", "c-", "->", "d", "_x"]);
}

#[test]
fn numbers_ranges_and_quantities() {
    use Token::*;
    let n = Number::integer;
    let unit = |u: &str| UNITS.iter().position(|it| *it == u).expect("a unit") as u8;
    assert_eq!(kinds("1_000"), [Int(1000)]);
    assert_eq!(kinds("3..12"), [Int(3), DotDot, Int(12)]);
    assert_eq!(kinds("0.5"), [Decimal(Number { mantissa: 5, scale: 1 })]);
    assert_eq!(
        kinds("1.5h 14d 250m 5min"),
        [
            Quantity(Number { mantissa: 15, scale: 1 }, unit("h")),
            Quantity(n(14), unit("d")),
            Quantity(n(250), unit("m")),
            Quantity(n(5), unit("min"))
        ]
    );
    for (i, u) in UNITS.iter().enumerate() {
        assert_eq!(kinds(&format!("2{u}")), [Quantity(n(2), i as u8)]);
    }
    assert_eq!(std::mem::size_of::<Token>(), 24, "a token stays small: a fleet's file has millions");
    assert_eq!(kinds("1."), [Int(1), Dot]);
}

#[test]
fn cidr() {
    assert_eq!(kinds("192.168.0.0/24"), [Token::Cidr(0xc0a8_0000, 24)]);
    let (tokens, codes) = lex_str("10.30.1.0/16 10.0.0.256/8 1.2.3.4/40");
    assert_eq!(codes, [Code::E102; 3]);
    assert!(tokens.iter().all(|(t, _)| *t == Token::Invalid));
}

#[test]
fn strings_and_docs() {
    let mut diags = Diagnostics::new();
    let lexed = lex("## Doc line\n# comment\n\"a\\u{41}\\\"\"", FileId(0), &mut diags);
    assert!(diags.is_empty());
    assert_eq!(lexed.tokens.iter().map(|t| t.0).collect::<Vec<_>>(), [Token::Doc, Token::Str(0)]);
    assert_eq!(lexed.strings, ["aA\""]);
    assert_eq!(doc_text("## Doc line\r"), "Doc line");
    assert_eq!(doc_text("##x"), "x");
}

#[test]
fn bad_character_runs() {
    let (tokens, codes) = lex_str("a @$% b ! é");
    assert_eq!(codes, [Code::E101, Code::E101, Code::E101]);
    let texts: Vec<_> = tokens.iter().map(|(_, s)| *s).collect();
    assert_eq!(texts, ["a", "@$%", "b", "!", "é"]);
}

#[test]
fn number_limits() {
    assert_eq!(kinds("9223372036854775807"), [Token::Int(i64::MAX as u64)]);
    let (tokens, codes) = lex_str("9223372036854775808 1GiBs");
    assert_eq!(codes, [Code::E102, Code::E102]);
    assert_eq!(tokens.len(), 2);
}

#[test]
fn every_ascii_whitespace_and_control_character_makes_progress() {
    // A form feed once stopped the lexer in place (found by fuzzing): each of these
    // must lex to the end with at most one diagnostic per run of bad characters.
    for b in 0u8..0x20 {
        let text = format!("a{}b", b as char);
        let mut diags = crate::diag::Diagnostics::new();
        let _ = super::lex(&text, crate::source::FileId(0), &mut diags);
        assert!(diags.len() <= 1, "byte {b:#x}: {:?}", diags.iter().collect::<Vec<_>>());
    }
}

#[test]
fn byte_order_mark_at_the_start_is_skipped_and_spans_stay_byte_offsets() {
    let text = "\u{feff}service api";
    let mut diags = Diagnostics::new();
    let lexed = lex(text, FileId(0), &mut diags);
    assert!(diags.is_empty());
    let spans: Vec<(usize, usize)> = lexed.tokens.iter().map(|(_, s)| (s.start, s.end)).collect();
    assert_eq!(spans, [(3, 10), (11, 14)]);
    // Anywhere else it is still a bad character.
    let (_, codes) = lex_str("service \u{feff}api");
    assert!(!codes.is_empty());
}
