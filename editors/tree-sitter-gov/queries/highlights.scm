; Highlights for `.gov`. Capture names follow the tree-sitter CLI's standard
; theme names (keyword, type, property, string, number, ...), which editors map.

(comment) @comment
(doc_comment) @comment.documentation

; A top-level block is an item: `project`, `stack`, `environment`, `phase`,
; and in the stdlib `item` and `kind`.
(source_file
  (block
    kind: (identifier) @keyword))

; A nested block's kind: a resource kind (`service`), a sub-block (`aws`,
; `env`) or a schema keyword of the stdlib (`field`, `block`, `attribute`).
(body
  (block
    kind: (identifier) @type))

; The name of an item or resource: `project shop`, `service api`.
(block
  label: (identifier) @constructor)

(field
  name: (identifier) @property)

(route
  "route" @keyword)
(route
  target: (identifier) @variable)

; Enum values and booleans are bare words; `true` and `false` are booleans.
; The patterns never overlap, so editors that let the first or the last
; matching pattern win agree.
((reference
  name: (identifier) @constant.builtin)
  (#match? @constant.builtin "^(true|false)$"))

((reference
  name: (identifier) @variable)
  (#not-match? @variable "^(true|false)$"))
(reference
  attribute: (identifier) @property)

(string) @string
(escape_sequence) @string.escape

(integer) @number
(decimal) @number
(quantity) @number
(cidr) @string.special
(range
  ".." @operator)

[
  "="
  "->"
] @operator

[
  ","
  ";"
  ":"
  "."
] @punctuation.delimiter

[
  "{"
  "}"
  "["
  "]"
] @punctuation.bracket
