# Renames the captures of tree-sitter-gov/queries/highlights.scm to Helix's
# theme scopes: `sed -f to-helix.sed ../tree-sitter-gov/queries/highlights.scm`.
s/@number\b/@constant.numeric/g
s/@property\b/@variable.other.member/g
s/@string\.escape\b/@constant.character.escape/g
s/@comment\.documentation\b/@comment.line.documentation/g
s/@constant\.builtin\b/@constant.builtin.boolean/g
