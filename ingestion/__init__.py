"""Leadbridge ingestion: pure dlt sources and the pipeline table.

Nothing in this package imports dagster: the connectors run the same from a shell,
a test or the Dagster job.
"""
