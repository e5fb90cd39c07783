"""Small shared helpers: DDP collectives, RNG capture, atomic files, hashes, documents, tables."""
