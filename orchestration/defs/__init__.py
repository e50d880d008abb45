"""Dagster definitions by concern: resources, ingest, transform, quality, nightly."""
