"""Fuzz tests: mutated inputs for every reader (hypothesis)."""
