"""Pseudo-labels for long-tailed SSL: memory bank, spherical k-means backends, tables."""
