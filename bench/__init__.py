"""kratom-qa benchmarks (not tests): `.venv/bin/python -m bench.run`, results in BENCHMARKS.md."""
