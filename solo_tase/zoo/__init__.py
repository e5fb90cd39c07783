"""The model zoo: model cards, and publishing, listing, fetching and verifying checkpoints.

Layout: ``zoo/<dataset>/<method>/<name>/`` holding ``card.yaml``, ``args.json``, the metrics
files and the (git-ignored) weights. Pure Python and torch: no solo-learn import.
"""
