//! Protocol positions: 0-based lines and UTF-16 code units within a line, as
//! LSP requires (the default `positionEncoding`), converted to and from byte offsets.

use govc::source::SourceFile;
use govc::{Sources, Span};
use lsp_types::{Position, Range, TextDocumentContentChangeEvent};

/// The byte offset of `position` in `text`. A character past the end of its line
/// is the end of the line; a line past the end is the end of the text; a position
/// inside a surrogate pair is the start of its character.
pub fn offset(text: &str, position: Position) -> usize {
    let mut line_start = 0;
    for _ in 0..position.line {
        match text[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => return text.len(),
        }
    }
    let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
    let mut units = 0u32;
    for (i, c) in text[line_start..line_end].char_indices() {
        if units >= position.character || units + c.len_utf16() as u32 > position.character {
            return line_start + i;
        }
        units += c.len_utf16() as u32;
    }
    line_end
}

/// The position of a byte offset in `text`.
pub fn position(text: &str, offset: usize) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[..line_start].bytes().filter(|b| *b == b'\n').count() as u32;
    Position { line, character: text[line_start..offset].encode_utf16().count() as u32 }
}

/// The range of a span of a file, through the library's own (UTF-16) helper.
pub fn range(file: &SourceFile, span: Span) -> Range {
    let at = |offset: u32| {
        let (line, character) = file.lsp_position(offset as usize);
        Position { line, character }
    };
    Range { start: at(span.start), end: at(span.end) }
}

/// The range of a span of `sources`.
pub fn span_range(sources: &Sources, span: Span) -> Range {
    range(sources.get(span.file), span)
}

/// Applies one `didChange` event to `text`: a range replacement, or the whole text.
pub fn apply_change(text: &mut String, change: TextDocumentContentChangeEvent) {
    match change.range {
        Some(range) => {
            let start = offset(text, range.start);
            let end = offset(text, range.end).max(start);
            text.replace_range(start..end, &change.text);
        }
        None => *text = change.text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a = \"é😀x\"\nβ = 1\r\nlast";

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs_twice() {
        // `é` is 2 bytes and 1 unit, `😀` 4 bytes and 2 units.
        let x = TEXT.find('x').expect("x");
        assert_eq!(position(TEXT, x), pos(0, 8));
        assert_eq!(offset(TEXT, pos(0, 8)), x);
        let emoji = TEXT.find('😀').expect("emoji");
        assert_eq!(offset(TEXT, pos(0, 6)), emoji);
        assert_eq!(offset(TEXT, pos(0, 7)), emoji, "inside the pair: the start of the character");
        assert_eq!(position(TEXT, emoji + 2), pos(0, 6), "inside a character: its start");
    }

    #[test]
    fn offsets_and_positions_round_trip_on_every_boundary() {
        for (i, _) in TEXT.char_indices() {
            assert_eq!(offset(TEXT, position(TEXT, i)), i, "offset {i}");
        }
        assert_eq!(position(TEXT, TEXT.len()), pos(2, 4));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        assert_eq!(offset(TEXT, pos(0, 99)), TEXT.find('\n').expect("newline"));
        assert_eq!(offset(TEXT, pos(9, 0)), TEXT.len());
    }

    #[test]
    fn the_library_helper_agrees() {
        let mut sources = Sources::new();
        sources.add("a.gov", TEXT);
        let file = sources.get(govc::FileId(0));
        for (i, _) in TEXT.char_indices() {
            let r = range(file, Span::new(govc::FileId(0), i, i));
            assert_eq!(r.start, position(TEXT, i), "offset {i}");
        }
    }

    #[test]
    fn incremental_changes_apply_at_utf16_positions() {
        let mut text = TEXT.to_string();
        let change = |range: Option<Range>, text: &str| TextDocumentContentChangeEvent {
            range,
            range_length: None,
            text: text.to_string(),
        };
        apply_change(&mut text, change(Some(Range { start: pos(0, 8), end: pos(0, 9) }), "y"));
        assert_eq!(text, "a = \"é😀y\"\nβ = 1\r\nlast");
        apply_change(&mut text, change(Some(Range { start: pos(1, 0), end: pos(1, 1) }), "b"));
        assert!(text.contains("\nb = 1"));
        apply_change(&mut text, change(None, "whole"));
        assert_eq!(text, "whole");
    }
}
