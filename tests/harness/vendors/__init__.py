"""Fake cloud vendors for tests, written from the vendors' documentation."""
