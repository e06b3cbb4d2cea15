"""Design: sizing, catalog of filter formats, process steps and trains (pure, no I/O)."""
