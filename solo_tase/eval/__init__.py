"""Group-wise evaluation of frozen backbones (``solo-tase eval`` / ``solo-tase compare``).

One module per job: ``checkpoint`` (args.json + backbone), ``transforms`` (evaluation transform
from args), ``datasets`` (probe/test sets), ``features`` (batched, cached extraction), ``probe``
(linear probe), ``knn`` (weighted cosine kNN), ``fewshot`` (class-balanced subsets), ``metrics``
(All / per-class / Many / Medium / Few / Std), ``pipeline`` (one evaluation end to end) and
``report`` (metrics.json, CSV, plot, comparison table). Nothing here imports solo-learn at module
level: its backbone registry is used when it is installed.
"""
