"""Leadbridge's benchmark: `python -m benchmarks` (or `make bench`).

Scale runs that print figures; never part of the test suite (pytest collects `tests/`
only, and nothing here is named `test_*`). See benchmarks/README.md.
"""
