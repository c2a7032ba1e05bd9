; Folds for `.gov`: every block body and every list.

(body) @fold
(list) @fold
