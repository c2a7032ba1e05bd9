;;; gov-ts-mode.el --- Major mode for govc's .gov files, with tree-sitter  -*- lexical-binding: t; -*-

;; SPDX-License-Identifier: Apache-2.0
;; Package-Requires: ((emacs "29.1"))
;; Keywords: languages

;;; Commentary:

;; Highlighting, indentation, navigation (`beginning-of-defun', imenu) and
;; folding-friendly structure for `.gov' files, from the grammar in
;; editors/tree-sitter-gov of the govc repository.  The language server is
;; `govc lsp'; with eglot:
;;
;;   (add-hook 'gov-ts-mode-hook #'eglot-ensure)
;;
;; See docs/editors.md for installing the grammar.

;;; Code:

(require 'treesit)
(eval-when-compile (require 'rx))

(defgroup gov nil
  "Editing govc's .gov files."
  :group 'languages)

(defcustom gov-ts-mode-indent-offset 2
  "Indentation of entries in a block and elements in a list."
  :type 'integer
  :safe #'integerp
  :group 'gov)

(defvar gov-ts-mode--syntax-table
  (let ((table (make-syntax-table)))
    (modify-syntax-entry ?# "<" table)
    (modify-syntax-entry ?\n ">" table)
    (modify-syntax-entry ?\" "\"" table)
    (modify-syntax-entry ?\\ "\\" table)
    (modify-syntax-entry ?_ "_" table)
    (modify-syntax-entry ?- "_" table)
    (modify-syntax-entry ?= "." table)
    table)
  "Syntax table for `gov-ts-mode'.")

(defvar gov-ts-mode--font-lock-settings
  (treesit-font-lock-rules
   :language 'gov
   :feature 'comment
   '((comment) @font-lock-comment-face
     (doc_comment) @font-lock-doc-face)

   :language 'gov
   :feature 'keyword
   '((source_file (block kind: (identifier) @font-lock-keyword-face))
     (route "route" @font-lock-keyword-face))

   :language 'gov
   :feature 'definition
   '((body (block kind: (identifier) @font-lock-type-face))
     (block label: (identifier) @font-lock-function-name-face)
     (field name: (identifier) @font-lock-property-name-face))

   :language 'gov
   :feature 'string
   '((string) @font-lock-string-face)

   :language 'gov
   :feature 'escape-sequence
   :override t
   '((escape_sequence) @font-lock-escape-face)

   :language 'gov
   :feature 'number
   '([(integer) (decimal) (quantity) (cidr)] @font-lock-number-face)

   :language 'gov
   :feature 'constant
   '(((reference name: (identifier) @font-lock-constant-face)
      (:match "\\`\\(?:true\\|false\\)\\'" @font-lock-constant-face)))

   :language 'gov
   :feature 'variable
   '((reference name: (identifier) @font-lock-variable-use-face)
     (reference attribute: (identifier) @font-lock-property-use-face)
     (route target: (identifier) @font-lock-variable-use-face))

   :language 'gov
   :feature 'bracket
   '(["{" "}" "[" "]"] @font-lock-bracket-face)

   :language 'gov
   :feature 'delimiter
   '(["," ";" ":" "."] @font-lock-delimiter-face)

   :language 'gov
   :feature 'operator
   '(["=" "->" ".."] @font-lock-operator-face))
  "Tree-sitter font-lock settings for `gov-ts-mode'.")

(defvar gov-ts-mode--indent-rules
  `((gov
     ((node-is "}") parent-bol 0)
     ((node-is "]") parent-bol 0)
     ((parent-is "body") parent-bol gov-ts-mode-indent-offset)
     ((parent-is "list") parent-bol gov-ts-mode-indent-offset)
     (no-node parent-bol 0)))
  "Tree-sitter indentation rules for `gov-ts-mode'.")

(defun gov-ts-mode--defun-name (node)
  "The name of the block NODE: its kind and label, such as \"service api\"."
  (when (equal (treesit-node-type node) "block")
    (let ((kind (treesit-node-child-by-field-name node "kind"))
          (label (treesit-node-child-by-field-name node "label")))
      (string-join (delq nil (list (and kind (treesit-node-text kind t))
                                   (and label (treesit-node-text label t))))
                   " "))))

;;;###autoload
(define-derived-mode gov-ts-mode prog-mode "gov"
  "Major mode for govc's .gov files, powered by tree-sitter."
  :group 'gov
  :syntax-table gov-ts-mode--syntax-table
  (setq-local comment-start "# ")
  (setq-local comment-end "")
  (setq-local comment-start-skip (rx "#" (* "#") (* (syntax whitespace))))
  (when (treesit-ready-p 'gov)
    (treesit-parser-create 'gov)
    (setq-local treesit-font-lock-settings gov-ts-mode--font-lock-settings)
    (setq-local treesit-font-lock-feature-list
                '((comment definition keyword string)
                  (constant escape-sequence number)
                  (bracket delimiter operator variable)))
    (setq-local treesit-simple-indent-rules gov-ts-mode--indent-rules)
    (setq-local treesit-defun-type-regexp (rx bos "block" eos))
    (setq-local treesit-defun-name-function #'gov-ts-mode--defun-name)
    (setq-local treesit-simple-imenu-settings '(("Block" "\\`block\\'" nil nil)))
    (treesit-major-mode-setup)))

;;;###autoload
(add-to-list 'auto-mode-alist '("\\.gov\\'" . gov-ts-mode))

(with-eval-after-load 'eglot
  (add-to-list 'eglot-server-programs '(gov-ts-mode "govc" "lsp")))

(provide 'gov-ts-mode)

;;; gov-ts-mode.el ends here
