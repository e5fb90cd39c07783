"""Group-wise evaluation of frozen backbones (``solo-tase eval`` / ``solo-tase compare``).

One module per job. What is asked: ``request`` (the :class:`EvalRequest` record and the
``protocol`` block of metrics.json; the command line's options are generated from it),
``presets`` (the published protocols SDCLR, BCL, GH: probe settings and each method's
pre-training recipe); their tables in docs/evaluation.md are made by ``solo_tase.doc_tables``.
Resolving it:
``plan`` (backbone, views, sets, probe runs and predictor, checked before any extraction),
``checkpoint`` (the backbone of a checkpoint; the run's args.json is read by
``solo_tase.run_folder``), ``transforms`` (evaluation and probe-training views from args),
``datasets`` (probe/test/held-out sets), ``fewshot`` (class-balanced subsets) and
``probe_lists`` (SDCLR's ImageNet-100 probe list without the held-out images). Executing it:
``pipeline`` (one evaluation end to end), ``features`` (batched, cached extraction), ``probe``
(the BCL/GH linear probe on features), ``sgd_probe`` (SDCLR's SGD probe on augmented images),
``knn`` (weighted cosine kNN) and ``metrics`` (All / per-class / Many / Medium / Few / Std).
Reporting: ``report`` (metrics.json, CSV, plot, comparison table), ``splits`` (mean ± std over
pre-training splits) and ``tail_report`` (a TASE run's tail-signal diagnostics). Nothing here
imports solo-learn at module level: its backbone registry is used when it is installed.
"""
