"""Data quality without Dagster: Great Expectations suites, their runner and ledger, and
the volume and quarantine counts. `orchestration/defs/quality.py` makes them asset checks.
"""
