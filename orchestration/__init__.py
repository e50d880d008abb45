"""Leadbridge orchestration: Dagster wires ingestion, dbt and the quality checks.

It owns no business logic: sources live in `ingestion`, what the pipeline does without
Dagster in `leadbridge`, rules in `dbt_project`, the quality rules in `expectations`.
"""
