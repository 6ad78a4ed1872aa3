"""Benchmarks, run from the repository root as `.venv/bin/python -m benchmarks.<name>`; their figures
are in docs/ (each page that quotes one names its benchmark)."""
