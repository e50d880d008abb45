"""Leadbridge's library: what the pipeline does, without Dagster.

The warehouse engines and their lock, content fingerprints, the lead contract check,
erasure, the publication and the Great Expectations runner live here; `orchestration`
wires them into Dagster assets, checks, jobs and sensors and never holds the logic.
"""
