"""Group-wise evaluation of frozen backbones (``solo-tase eval`` / ``solo-tase compare``).

One module per job: ``checkpoint`` (args.json + backbone), ``transforms`` (evaluation transform
from args), ``datasets`` (probe/test sets), ``features`` (batched, cached extraction), ``probe``
(the BCL/GH linear probe on features), ``sgd_probe`` (SDCLR's SGD probe on augmented images),
``knn`` (weighted cosine kNN), ``fewshot`` (class-balanced subsets), ``metrics`` (All / per-class
/ Many / Medium / Few / Std), ``presets`` (the published protocols SDCLR, BCL, GH), ``pipeline``
(one evaluation end to end), ``report`` (metrics.json, CSV, plot, comparison table) and
``splits`` (mean ± std over pre-training splits). Nothing here imports solo-learn at module
level: its backbone registry is used when it is installed.
"""
