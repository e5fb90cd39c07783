"""Small shared helpers (distributed collectives, checksums)."""
