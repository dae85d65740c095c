"""Side-by-side benchmarks for parako-config (run with ``python -m bench``)."""
