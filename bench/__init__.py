"""Benchmarks: reproducible measurements, run by hand (not by the test suite)."""
