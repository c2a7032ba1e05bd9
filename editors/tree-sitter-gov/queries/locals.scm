; Scopes, definitions and references for `.gov`.
;
; A file is one scope; so is each block body. The label of a block defines a
; name (`service api`, `postgres main`); a reference's first identifier uses
; one (`connects = [main]`, `main.host`, `stack = app`), as does a route's
; target. Names in an environment resolve across the project's files, which
; only the language server (`govc lsp`) sees.

(source_file) @local.scope
(body) @local.scope

(block
  label: (identifier) @local.definition)

(reference
  name: (identifier) @local.reference)

(route
  target: (identifier) @local.reference)
