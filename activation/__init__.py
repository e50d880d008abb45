"""Writing Leadbridge's view back into the CRMs: follow-up tasks and shared status.

The dbt models in `dbt_project/models/activation/` say what should exist; `plan` compares
them with the `ledger` of what Leadbridge last wrote and lists the creates, updates and
closes, what it skips and why, and the human edits it will not overwrite; `apply` sends
it through the `writers` of the systems set to apply. Library code: it never imports
Dagster (docs/activation.md, docs/decisions/008-activation.md).
"""
