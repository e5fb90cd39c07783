"""Long-tailed datasets: profiles, manifests, builders and the solo-learn data hook."""
