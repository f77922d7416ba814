"""Benchmarks of spanqa: `python -m bench.bench [--quick] [--out bench.json]`."""
