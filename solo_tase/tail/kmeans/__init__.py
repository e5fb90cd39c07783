"""Spherical k-means: one seeded Lloyd loop (``lloyd``), backends that supply only the assignment
step (``torch_kmeans``, ``faiss_kmeans``), the backend by name (``backend``) and the clustering of
a memory bank with its statistics (``labeler``)."""
