"""Hostile inputs: bombs, traversal, truncations, escapes, markup, secrets (see build_corpus)."""
