/**
 * @file Tree-sitter grammar for `.gov`, the language of govc.
 * @license Apache-2.0
 *
 * It follows the compiler's lexer and parser (compiler/src/syntax/): a file is
 * a sequence of blocks `KIND [LABEL] { entries }`; an entry is a field
 * `name = value`, a nested block or a route `route "PATH" -> SERVICE[:PORT]`,
 * optionally separated by `,` or `;`. The schema syntax of the stdlib (`item`,
 * `kind`, `field`, `block`, `attribute`) is the same uniform shape.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

// The units a quantity may carry, exactly as written (case-sensitive); the
// same list as `UNITS` in compiler/src/syntax/lexer.rs.
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'KB', 'MB', 'GB', 'TB', 's', 'min', 'h', 'd', 'm'];

const DIGITS = /[0-9][0-9_]*/.source;
const FRACTION = /\.[0-9]+/.source;

module.exports = grammar({
  name: 'gov',

  extras: $ => [/\s/, $.comment, $.doc_comment],

  word: $ => $.identifier,

  rules: {
    source_file: $ => repeat($.block),

    // `KIND [LABEL] { entries }`, at the top level or nested. `route` is a
    // keyword only where a route may start; as a block kind it is a name.
    block: $ => seq(
      field('kind', choice($.identifier, alias('route', $.identifier))),
      optional(field('label', choice($.identifier, $.string))),
      field('body', $.body),
    ),

    // Entries need no separator; `,` and `;` between them are accepted.
    body: $ => seq('{', repeat(choice($._entry, ',', ';')), '}'),

    _entry: $ => choice($.field, $.block, $.route),

    // `name = value`.
    field: $ => seq(
      field('name', choice($.identifier, alias('route', $.identifier))),
      '=',
      field('value', $._value),
    ),

    // `route "PATH" -> SERVICE[:PORT]`.
    route: $ => seq(
      'route',
      field('path', $.string),
      '->',
      field('target', $.identifier),
      optional(seq(':', field('port', $.integer))),
    ),

    _value: $ => choice(
      $.string,
      $.integer,
      $.decimal,
      $.quantity,
      $.cidr,
      $.range,
      $.reference,
      $.list,
    ),

    // A bare word or a reference with attributes: `production`, `true`,
    // `main`, `main.host`. Enum values and booleans are bare words too.
    reference: $ => seq(
      field('name', $.identifier),
      repeat(seq('.', field('attribute', $.identifier))),
    ),

    // `[a, b, c]`: elements separated by commas or whitespace, a trailing comma allowed.
    list: $ => seq('[', repeat(seq($._value, optional(','))), ']'),

    // `3..12`, inclusive.
    range: $ => seq(field('min', $.integer), '..', field('max', $.integer)),

    // `"..."` with the escapes `\" \\ \n \t \u{HEX}`; strings end at the end of the line.
    string: $ => seq(
      '"',
      repeat(choice($.string_content, $.escape_sequence)),
      token.immediate('"'),
    ),
    // The higher precedence keeps `#` inside a string from starting a comment.
    string_content: _ => token.immediate(prec(1, /[^"\\\r\n]+/)),
    escape_sequence: _ => token.immediate(/\\(["\\nt]|u\{[0-9A-Fa-f]{1,6}\})/),

    // `8080`, `1_000`.
    integer: _ => token(new RegExp(DIGITS)),
    // `0.5`; `3..12` is a range, so a fraction needs a digit after the dot.
    decimal: _ => token(new RegExp(DIGITS + FRACTION)),
    // A number immediately followed by a unit: `100GiB`, `0.5h`, `250m`.
    quantity: _ => token(new RegExp(`${DIGITS}(${FRACTION})?(${UNITS.join('|')})`)),
    // `10.30.0.0/16`.
    cidr: _ => token(/[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\/[0-9]+/),

    identifier: _ => /[A-Za-z_][A-Za-z0-9_-]*/,

    // `## text`: documents the item or field that follows it.
    doc_comment: _ => token(prec(1, /##.*/)),
    // `# text`.
    comment: _ => token(/#.*/),
  },
});
