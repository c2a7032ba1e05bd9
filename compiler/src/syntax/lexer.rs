//! Lexer: text to `(Token, span)` pairs, in one pass over the bytes.
//!
//! Malformed literals are reported here (E101 for unclosed strings and stray
//! characters, E102 for invalid literals) and still produce a token, so that the
//! parser sees a well-formed stream and one mistake gives one diagnostic.
//! The lexer knows nothing about the grammar.

use chumsky::span::SimpleSpan;

use super::ast::Number;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::source::{FileId, Span};

/// The units a quantity may carry, exactly as written (case-sensitive).
pub const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB", "s", "min", "h", "d", "m"];

/// One token. Small and `Copy`: text is recovered from the span, string values
/// live in [`Lexed::strings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// `[A-Za-z_][A-Za-z0-9_-]*`; the name is the span's text.
    Ident,
    /// A string literal; the index of its resolved value in [`Lexed::strings`].
    Str(u32),
    /// `8080`, `1_000` (at most `i64::MAX`).
    Int(u64),
    /// `0.5`.
    Decimal(Number),
    /// `100GiB`, `0.5h`: a number and the index of its unit in [`UNITS`] (an index
    /// rather than the `&str`: a token is 24 bytes, not 40, and a fleet's file has
    /// millions of them).
    Quantity(Number, u8),
    /// `10.30.0.0/16`, host bits zero.
    Cidr(u32, u8),
    /// A literal already reported as invalid (E102); parses as a value.
    Invalid,
    /// A run of characters already reported (E101), or a region the parser must
    /// not look into (E103). Parses as an invalid value; errors at it are not reported.
    Error,
    /// `## text`: the span covers the whole comment; see [`doc_text`].
    Doc,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `=`
    Eq,
    /// `,`
    Comma,
    /// `;`
    Semi,
    /// `:`
    Colon,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// `->`
    Arrow,
}

/// The lexer's output.
pub struct Lexed {
    /// Tokens with their byte spans.
    pub tokens: Vec<(Token, SimpleSpan)>,
    /// The resolved values of string literals, indexed by [`Token::Str`].
    pub strings: Vec<String>,
    /// Where unclosed strings (reported) start that swallowed a `}` or reached the
    /// end of the file: a block left open around one of them is the same mistake.
    pub brace_eaters: Vec<usize>,
}

/// The text of a doc comment token: without `##` and one following space.
pub fn doc_text(slice: &str) -> &str {
    let it = slice.strip_prefix("##").unwrap_or(slice);
    let it = it.strip_prefix(' ').unwrap_or(it);
    it.trim_end_matches('\r')
}

/// The UTF-8 byte-order mark, accepted at the start of a file only.
const BOM: &str = "\u{feff}";

/// Turns `text` into tokens, reporting malformed input into `diags`.
pub fn lex(text: &str, file: FileId, diags: &mut Diagnostics) -> Lexed {
    let mut lexer = Lexer::new(text, file, diags);
    lexer.out.tokens.reserve(text.len() / 4);
    lexer.run(usize::MAX);
    lexer.out
}

/// The tokens of a text lexed on demand, a window at a time, for the parser's fast
/// path: a valid file is parsed without holding its tokens (a fleet's file has
/// millions, tens of megabytes).
pub(super) struct Stream<'a> {
    lexer: Lexer<'a>,
}

impl<'a> Stream<'a> {
    /// How many tokens the window grows by at a time.
    const CHUNK: usize = 512;

    /// Lexes `text`, reporting malformed input into `diags` as [`lex`] does.
    pub(super) fn new(text: &'a str, file: FileId, diags: &'a mut Diagnostics) -> Stream<'a> {
        let mut lexer = Lexer::new(text, file, diags);
        lexer.out.tokens.reserve(2 * Self::CHUNK);
        Stream { lexer }
    }

    /// The tokens lexed and not dropped yet, in order.
    pub(super) fn window(&self) -> &[(Token, SimpleSpan)] {
        &self.lexer.out.tokens
    }

    /// Drops the first `done` tokens of the window (and the values of its strings),
    /// then lexes at least [`Self::CHUNK`] more, fewer at the end of the text: whether
    /// any token was added.
    pub(super) fn advance(&mut self, done: usize) -> bool {
        let out = &mut self.lexer.out;
        let strings = out.tokens[..done].iter().filter(|(t, _)| matches!(t, Token::Str(_))).count();
        out.tokens.drain(..done);
        out.strings.drain(..strings);
        self.lexer.strings_base += strings as u32;
        let before = out.tokens.len();
        self.lexer.run(before + Self::CHUNK);
        self.lexer.out.tokens.len() > before
    }

    /// The value of the string token `Str(idx)` of the window, taken (it is read once).
    pub(super) fn take_string(&mut self, idx: u32) -> String {
        std::mem::take(&mut self.lexer.out.strings[(idx - self.lexer.strings_base) as usize])
    }
}

struct Lexer<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
    file: FileId,
    diags: &'a mut Diagnostics,
    out: Lexed,
    /// The index in the text's strings of `out.strings[0]` (a [`Stream`] drops the
    /// strings it has read).
    strings_base: u32,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Whether a token could start at this byte (used to end a run of bad characters).
fn starts_token(b: u8) -> bool {
    is_ident_start(b)
        || b.is_ascii_digit()
        || b.is_ascii_whitespace()
        || matches!(b, b'"' | b'#' | b'{' | b'}' | b'[' | b']' | b'=' | b',' | b';' | b':' | b'.')
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str, file: FileId, diags: &'a mut Diagnostics) -> Lexer<'a> {
        Lexer {
            bytes: text.as_bytes(),
            text,
            // A UTF-8 byte-order mark (what some Windows editors write first) is not a
            // token; skipping it keeps every span a byte offset into the file as read.
            pos: if text.starts_with(BOM) { BOM.len() } else { 0 },
            file,
            diags,
            out: Lexed { tokens: Vec::new(), strings: Vec::new(), brace_eaters: Vec::new() },
            strings_base: 0,
        }
    }

    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn push(&mut self, token: Token, start: usize) {
        self.out.tokens.push((token, SimpleSpan::from(start..self.pos)));
    }

    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, start, end)
    }

    /// Lexes until the end of the text, or until `out.tokens` holds `tokens` tokens.
    fn run(&mut self, tokens: usize) {
        while self.pos < self.bytes.len() && self.out.tokens.len() < tokens {
            let start = self.pos;
            let b = self.bytes[start];
            let punct = match b {
                b'{' => Some(Token::LBrace),
                b'}' => Some(Token::RBrace),
                b'[' => Some(Token::LBracket),
                b']' => Some(Token::RBracket),
                b'=' => Some(Token::Eq),
                b',' => Some(Token::Comma),
                b';' => Some(Token::Semi),
                b':' => Some(Token::Colon),
                _ => None,
            };
            if let Some(token) = punct {
                self.pos += 1;
                self.push(token, start);
                continue;
            }
            match b {
                _ if b.is_ascii_whitespace() => self.pos += 1,
                b'#' => self.comment(),
                b'.' if self.peek(1) == b'.' => {
                    self.pos += 2;
                    self.push(Token::DotDot, start);
                }
                b'.' => {
                    self.pos += 1;
                    self.push(Token::Dot, start);
                }
                b'-' if self.peek(1) == b'>' => {
                    self.pos += 2;
                    self.push(Token::Arrow, start);
                }
                b'"' => self.string(),
                b'0'..=b'9' => self.number(),
                _ if is_ident_start(b) => {
                    self.pos += 1;
                    self.ident_tail();
                    self.push(Token::Ident, start);
                }
                _ => self.bad_chars(),
            }
        }
    }

    /// Advances over the rest of an identifier; a `-` directly before `>` ends it.
    fn ident_tail(&mut self) {
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if !is_ident_continue(b) || (b == b'-' && self.peek(1) == b'>') {
                break;
            }
            self.pos += 1;
        }
    }

    fn comment(&mut self) {
        let start = self.pos;
        let end = memchr_newline(self.bytes, start);
        self.pos = end;
        if self.bytes.get(start + 1) == Some(&b'#') {
            self.push(Token::Doc, start);
        }
    }

    /// A run of characters that start no token: one E101 for the whole run.
    fn bad_chars(&mut self) {
        let start = self.pos;
        // The first byte is bad by definition: always consume it, so lexing progresses.
        self.pos += 1;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if starts_token(b) || (b == b'-' && self.peek(1) == b'>') {
                break;
            }
            self.pos += 1;
        }
        // Stop on a char boundary: the run is made of whole characters.
        while !self.text.is_char_boundary(self.pos) {
            self.pos += 1;
        }
        let run = &self.text[start..self.pos];
        let what = if run.chars().count() == 1 { "character" } else { "characters" };
        self.diags.push(
            Diagnostic::new(
                Code::E101,
                self.span(start, self.pos),
                format!("unexpected {what} `{}`", shorten(run)),
                "not valid here",
            )
            .with_help("remove it; comments start with `#` and strings are written in `\"`"),
        );
        self.push(Token::Error, start);
    }

    fn string(&mut self) {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            let Some(&b) = self.bytes.get(self.pos) else {
                self.out.brace_eaters.push(start);
                self.unclosed_string(start);
                break;
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    break;
                }
                b'\n' => {
                    self.unclosed_string(start);
                    break;
                }
                b'\\' => self.escape(&mut value),
                _ => {
                    let run_end = self.bytes[self.pos..]
                        .iter()
                        .position(|&c| matches!(c, b'"' | b'\\' | b'\n'))
                        .map_or(self.bytes.len(), |n| self.pos + n);
                    value.push_str(&self.text[self.pos..run_end]);
                    self.pos = run_end;
                }
            }
        }
        let idx = self.strings_base + self.out.strings.len() as u32;
        self.out.strings.push(value);
        self.push(Token::Str(idx), start);
    }

    fn unclosed_string(&mut self, start: usize) {
        if self.bytes[start..self.pos].contains(&b'}') {
            self.out.brace_eaters.push(start);
        }
        let end = if self.bytes[start..self.pos].ends_with(b"\r") { self.pos - 1 } else { self.pos };
        self.diags.push(
            Diagnostic::new(Code::E101, self.span(start, end), "unclosed string", "this string is never closed")
                .with_help("add `\"` at the end of the string; strings cannot span lines"),
        );
    }

    /// One escape sequence, at a `\`.
    fn escape(&mut self, value: &mut String) {
        let start = self.pos;
        let next = self.peek(1);
        let simple = match next {
            b'"' => Some('"'),
            b'\\' => Some('\\'),
            b'n' => Some('\n'),
            b't' => Some('\t'),
            _ => None,
        };
        if let Some(c) = simple {
            value.push(c);
            self.pos += 2;
            return;
        }
        if next == b'u' {
            if let Some((c, len)) = unicode_escape(&self.bytes[start..]) {
                value.push(c);
                self.pos += len;
                return;
            }
            // Skip what looks like the escape, so one bad escape gives one diagnostic.
            let len = self.bytes[start..].iter().position(|&c| c == b'}' || c == b'"' || c == b'\n').map_or(
                self.bytes.len() - start,
                |n| {
                    if self.bytes[start + n] == b'}' {
                        n + 1
                    } else {
                        n
                    }
                },
            );
            self.pos = start + len.max(2);
            let raw = &self.text[start..self.pos];
            value.push_str(raw);
            self.diags.push(
                Diagnostic::new(
                    Code::E102,
                    self.span(start, self.pos),
                    format!("invalid unicode escape `{}`", shorten(raw)),
                    "not a valid escape",
                )
                .with_help("write `\\u{HEX}` with 1 to 6 hex digits naming a unicode scalar value"),
            );
            return;
        }
        // Unknown escape: keep the text as written and report it.
        self.pos += 1;
        if self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
            while !self.text.is_char_boundary(self.pos) {
                self.pos += 1;
            }
        }
        let raw = &self.text[start..self.pos];
        value.push_str(raw);
        self.diags.push(
            Diagnostic::new(
                Code::E102,
                self.span(start, self.pos),
                format!("unknown escape `{raw}`"),
                "unknown escape",
            )
            .with_help("the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{HEX}`; write `\\\\` for a backslash"),
        );
    }

    /// A number, decimal, quantity or CIDR, at a digit.
    fn number(&mut self) {
        let start = self.pos;
        if let Some(len) = dotted_quad_len(&self.bytes[start..]) {
            return self.cidr(start, len);
        }
        let int_end = self.digits_end(start, true);
        let mut end = int_end;
        // `3..12` is a range: only `.` followed by a digit makes a decimal.
        let mut frac = None;
        if self.bytes.get(end) == Some(&b'.') && self.bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            let frac_end = self.digits_end(end + 1, false);
            frac = Some(end + 1..frac_end);
            end = frac_end;
        }
        self.pos = end;
        let number = parse_number(&self.text[start..int_end], frac.map(|r| &self.text[r]));
        // A unit is letters directly after the number.
        let unit_start = self.pos;
        if self.pos < self.bytes.len() && is_ident_start(self.bytes[self.pos]) {
            self.pos += 1;
            while self.pos < self.bytes.len()
                && (self.bytes[self.pos].is_ascii_alphanumeric() || self.bytes[self.pos] == b'_')
            {
                self.pos += 1;
            }
        }
        let unit = &self.text[unit_start..self.pos];
        let Some(number) = number else {
            self.diags.push(
                Diagnostic::new(Code::E102, self.span(start, end), "number too large", "larger than any field allows")
                    .with_help(format!("numbers are at most {}", i64::MAX)),
            );
            return self.push(Token::Invalid, start);
        };
        if unit.is_empty() {
            let token = match number.scale {
                0 => Token::Int(number.mantissa),
                _ => Token::Decimal(number),
            };
            return self.push(token, start);
        }
        match UNITS.iter().position(|u| *u == unit) {
            Some(unit) => self.push(Token::Quantity(number, unit as u8), start),
            None => {
                let known = UNITS.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ");
                self.diags.push(
                    Diagnostic::new(
                        Code::E102,
                        self.span(unit_start, self.pos),
                        format!("unknown unit `{unit}`"),
                        "unknown unit",
                    )
                    .with_help(format!("the known units are {known} (case-sensitive)")),
                );
                self.push(Token::Invalid, start);
            }
        }
    }

    /// The end of a run of digits and `_` starting at `from`.
    fn digits_end(&self, from: usize, underscores: bool) -> usize {
        let mut end = from;
        while end < self.bytes.len() && (self.bytes[end].is_ascii_digit() || (underscores && self.bytes[end] == b'_')) {
            end += 1;
        }
        end
    }

    /// `a.b.c.d` (of `len` bytes) with an optional `/prefix`.
    fn cidr(&mut self, start: usize, len: usize) {
        let addr_text = &self.text[start..start + len];
        self.pos = start + len;
        let mut prefix_text = None;
        if self.peek(0) == b'/' && self.peek(1).is_ascii_digit() {
            let end = self.digits_end(self.pos + 1, false);
            prefix_text = Some(&self.text[self.pos + 1..end]);
            self.pos = end;
        }
        // Letters glued to the address make it something else entirely.
        if self.pos < self.bytes.len() && is_ident_continue(self.bytes[self.pos]) && self.bytes[self.pos] != b'-' {
            self.ident_tail();
            return self.invalid_cidr(
                start,
                "invalid CIDR block",
                "write an IPv4 CIDR block like `10.30.0.0/16`".into(),
            );
        }
        let mut addr = 0u32;
        for octet in addr_text.split('.') {
            match octet.parse::<u8>() {
                Ok(n) => addr = addr << 8 | u32::from(n),
                Err(_) => {
                    let msg = format!("octet `{}` is out of range in `{}`", shorten(octet), self.slice(start));
                    return self.invalid_cidr(start, &msg, "each octet is at most 255".into());
                }
            }
        }
        let Some(prefix_text) = prefix_text else {
            let msg = format!("`{addr_text}` has no prefix length");
            return self.invalid_cidr(start, &msg, format!("write a CIDR block such as `{addr_text}/32`"));
        };
        let prefix = match prefix_text.parse::<u8>() {
            Ok(n) if n <= 32 => n,
            _ => {
                let msg = format!("prefix length `/{}` is out of range", shorten(prefix_text));
                return self.invalid_cidr(start, &msg, "the prefix length is at most 32".into());
            }
        };
        let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
        if addr & !mask != 0 {
            let canon = addr & mask;
            let msg = format!("`{}` has host bits set", self.slice(start));
            let help = format!("write `{}/{prefix}`", std::net::Ipv4Addr::from(canon));
            return self.invalid_cidr(start, &msg, help);
        }
        self.push(Token::Cidr(addr, prefix), start);
    }

    fn slice(&self, start: usize) -> &str {
        &self.text[start..self.pos]
    }

    fn invalid_cidr(&mut self, start: usize, message: &str, help: String) {
        self.diags.push(
            Diagnostic::new(Code::E102, self.span(start, self.pos), message, "invalid CIDR block").with_help(help),
        );
        self.push(Token::Invalid, start);
    }
}

/// The length of `d+.d+.d+.d+` at the start of `bytes`, if it is there.
fn dotted_quad_len(bytes: &[u8]) -> Option<usize> {
    let mut pos = 0;
    for part in 0..4 {
        if part > 0 {
            if bytes.get(pos) != Some(&b'.') {
                return None;
            }
            pos += 1;
        }
        let n = bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        pos += n;
    }
    Some(pos)
}

/// The number `int[.frac]`, or `None` when it exceeds `i64::MAX` (as a mantissa).
fn parse_number(int: &str, frac: Option<&str>) -> Option<Number> {
    let frac = frac.unwrap_or("");
    let scale = frac.len() as u32;
    let mut mantissa: u64 = 0;
    for b in int.bytes().chain(frac.bytes()).filter(u8::is_ascii_digit) {
        mantissa = mantissa.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (mantissa <= i64::MAX as u64).then_some(Number { mantissa, scale })
}

/// `\u{HEX}` at the start of `bytes`: the character and the escape's length.
fn unicode_escape(bytes: &[u8]) -> Option<(char, usize)> {
    let rest = bytes.strip_prefix(b"\\u{")?;
    let n = rest.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 || n > 6 || rest.get(n) != Some(&b'}') {
        return None;
    }
    let hex = std::str::from_utf8(&rest[..n]).ok()?;
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    Some((c, 3 + n + 1))
}

fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |n| from + n)
}

/// At most 32 characters of `text`, for messages.
pub fn shorten(text: &str) -> String {
    let visible = |t: &str| {
        t.chars()
            .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
            .collect::<String>()
    };
    match text.char_indices().nth(32) {
        Some((i, _)) => format!("{}…", visible(&text[..i])),
        None => visible(text),
    }
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
