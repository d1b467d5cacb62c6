"""Speed and memory measurements (`python -m benchmarks`); never asserted by tests."""
