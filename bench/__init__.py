"""The benchmarks (README "Performance"): `python -m bench`, run from the checkout."""
