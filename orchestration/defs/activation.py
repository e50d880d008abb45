"""The CRM write-back as Dagster assets, after the publication: `activation/plan` shows
tonight's plan, `activation/apply` sends the writes of the systems set to `apply`.

Both run only when the night published (they depend on `published/marts`, and the
planner checks the publication in place is this run's). The plan's metadata holds counts
and a sample without personal data; the apply's, per system, what was written, what
failed and the calls spent, its quota shared with the night's ingestion. A refused plan
, a system left on `plan`, records refused one by one and the quota are warnings (the
writes are planned again); a mistyped setting, a missing account or a call refused whole
fails the step (the marts are published already).
"""

import dagster as dg

from activation.apply import apply, applying
from activation.plan import Night, Plan, plan
from activation.writers import connect
from leadbridge.engine import target_name
from leadbridge.memory import release_memory
from leadbridge.settings import Settings
from orchestration.defs.ingest import API_USAGE
from orchestration.defs.resources import Warehouse, dbt_project
from orchestration.defs.transform import PUBLISHED_KEY, dbt_build
from orchestration.summary import ACTIVATION_APPLY_KEY, ACTIVATION_PLAN_KEY

GROUP = "activation"
# The desired state the plan reads (dbt_project/models/activation).
DESIRED_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == GROUP),
    key=lambda key: key.to_user_string(),
)


# The plan step's plan, for the apply step of the same run: the nightly job runs in one
# process (in_process_executor); the apply plans again when it finds none, or a stale one.
_SHOWN: dict[str, Plan] = {}


def _night(context: dg.AssetExecutionContext, warehouse: Warehouse) -> Night:
    return Night(context.run.run_id, warehouse.published_file, dbt_project().manifest_path)


@dg.asset(
    key=list(ACTIVATION_PLAN_KEY),
    deps=[PUBLISHED_KEY, *DESIRED_KEYS],
    group_name=GROUP,
    kinds={target_name()},
    description="The writes that bring Salesforce and HubSpot to tonight's desired state "
    "(follow-up tasks, shared status): creates, updates and closes against the ledger "
    "`activation.ledger`, skips with reasons, conflicts, or why the plan is refused. "
    "It writes nothing; `activation/apply` does (docs/activation.md).",
)
def activation_plan(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Plan tonight's CRM writes."""
    # a plan holds every desired row as Python objects: start from the publication's
    # freed pages handed back, and hand the plan's back unless the apply takes it
    release_memory()
    settings = Settings.from_env()
    try:
        planned = plan(warehouse.engine, settings, _night(context, warehouse))
    except ValueError as error:  # a mistyped LEADBRIDGE_ACTIVATE_* value
        raise dg.Failure(description=f"activation is misconfigured: {error}") from None
    _SHOWN.clear()  # one plan held at a time: the last run's is never applied
    if applying(planned.modes):
        _SHOWN[context.run.run_id] = planned
    summary = planned.summary()
    if planned.aborted:
        context.log.warning(f"activation plan refused: {planned.aborted}")
    context.log.info(
        f"activation plan: {summary.total} writes, {len(planned.skipped)} skipped, "
        f"{len(planned.conflicts)} conflicts"
    )
    metadata = {
        "writes": summary.total,
        "skipped": len(planned.skipped),
        "conflicts": len(planned.conflicts),
        "refused": planned.aborted or "",
        "modes": dict(planned.modes),
        "counts": dict(summary.counts),
        "plan": dg.MetadataValue.md(summary.text(markdown=True)),
    }
    del planned
    release_memory()
    return dg.MaterializeResult(metadata=metadata)


def spent_tonight(context: dg.AssetExecutionContext) -> dict[str, int]:
    """The API calls this run's ingestion spent, per system: the write-back's quota
    budget is what is left of the night's share."""
    spent: dict[str, int] = {}
    records = context.instance.get_records_for_run(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
    ).records
    for record in records:
        materialization = record.event_log_entry.asset_materialization
        usage = materialization.metadata.get(API_USAGE) if materialization else None
        value = getattr(usage, "value", None)
        if isinstance(value, dict) and value.get("system"):
            system = str(value["system"]).lower()
            spent[system] = spent.get(system, 0) + int(value.get("api_calls") or 0)
    return spent


@dg.asset(
    key=list(ACTIVATION_APPLY_KEY),
    deps=[dg.AssetKey(list(ACTIVATION_PLAN_KEY))],
    group_name=GROUP,
    kinds={target_name()},
    description="Tonight's plan sent to the systems set to apply "
    "(LEADBRIDGE_ACTIVATE_SALESFORCE / _HUBSPOT): each write recorded in "
    "`activation.ledger` before it is sent and with the CRM's answer after "
    "(docs/activation.md). With every system on `plan` it sends nothing.",
)
def activation_apply(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Send tonight's CRM writes of the systems set to apply."""
    release_memory()
    settings = Settings.from_env()
    try:
        systems = applying(settings.activation_modes)
        writers = connect(systems, settings.quota_share, spent_tonight(context))
        applied = apply(
            warehouse.engine,
            settings,
            _night(context, warehouse),
            writers,
            context.run.run_id,
            _SHOWN.pop(context.run.run_id, None),
        )
    except ValueError as error:  # a mistyped setting, or an account not configured
        raise dg.Failure(description=f"activation is misconfigured: {error}") from None
    context.log.info(applied.text())
    metadata = {
        "applied": ", ".join(systems) or "none",
        "written": sum(o.ok for o in applied.outcomes.values()),
        "failed": applied.failed,
        "unsent": sum(o.unsent for o in applied.outcomes.values()),
        "refused": applied.refused or "",
        "outcome": dg.MetadataValue.md(applied.text()),
        **{f"usage_{s}": dg.MetadataValue.json(o.usage) for s, o in applied.outcomes.items()},
    }
    broken = [o for o in applied.outcomes.values() if o.stopped and not o.at_quota]
    if broken:  # a call refused whole: fields, permissions or the API itself need a person
        raise dg.Failure(description=applied.text(), metadata=metadata)
    if applied.failed or any(o.unsent for o in applied.outcomes.values()):
        # records refused one by one, or the quota: planned again next night
        context.log.warning(applied.text())
    return dg.MaterializeResult(metadata=metadata)


ACTIVATION_ASSETS = [activation_plan, activation_apply]
