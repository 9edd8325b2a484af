"""Offline enrichment: facts from data files shipped with hostmap (places, networks)."""
