"""The model zoo (docs/zoo.md): model cards; publish, list, fetch and verify checkpoints.

Pure Python and torch: no solo-learn import.
"""
