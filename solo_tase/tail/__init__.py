"""Which samples are rare, estimated without labels: the memory bank, the tail signals (k-means in
``kmeans/``, kNN density, momentum losses, the oracle), the tau / weight tables and their
diagnostics against the labels. Pure torch: no Lightning, no solo-learn."""
