"""Trust tests beyond the paper's four: faithfulness (deletion, insertion, ROAD), the data
randomization test's model (labels permuted within the training split) and the planted-shortcut
benchmark (a marker on the training positives: does a map expose a model that reads it?)."""
