"""Reproducible load and latency benchmarks: `python -m benchmarks.<name>` (see README.md)."""
