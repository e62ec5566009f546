"""Benchmarks (README.md here). Scripts, run from a checkout: `python3 bench/bench.py`, `python3 bench/engine.py`;
tests/test_bench.py imports them as `bench.bench` to test their counters."""
