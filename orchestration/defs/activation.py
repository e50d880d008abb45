"""The CRM write-back's plan as a Dagster asset: `activation/plan`, after the publication.

It runs only when the night published (it depends on `published/marts`, and the planner
checks the publication in place is this run's), computes the plan against the ledger and
shows counts and a sample without personal data as metadata; only a system set to
`apply` gets its plan recorded in the ledger. It writes nothing to a CRM: the writers
are not built yet. A refused plan or an
unset option is a warning, not a failed night; an invalid setting fails the step.
"""

import dagster as dg

from activation import ledger
from activation.plan import Night, plan
from leadbridge.engine import target_name
from leadbridge.settings import APPLY, Settings
from orchestration.defs.resources import Warehouse, dbt_project
from orchestration.defs.transform import PUBLISHED_KEY, dbt_build
from orchestration.summary import ACTIVATION_PLAN_KEY

GROUP = "activation"
# The desired state the plan reads (dbt_project/models/activation).
DESIRED_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == GROUP),
    key=lambda key: key.to_user_string(),
)


@dg.asset(
    key=list(ACTIVATION_PLAN_KEY),
    deps=[PUBLISHED_KEY, *DESIRED_KEYS],
    group_name=GROUP,
    kinds={target_name()},
    description="The writes that bring Salesforce and HubSpot to tonight's desired state "
    "(follow-up tasks, shared status): creates, updates and closes against the ledger "
    "`activation.ledger`, skips with reasons, conflicts, or why the plan is refused. "
    "Recorded in the ledger as planned; nothing is written to a CRM (docs/activation.md).",
)
def activation_plan(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Plan tonight's CRM writes and record them as planned."""
    settings = Settings.from_env()
    try:
        modes = settings.activation_modes
        night = Night(context.run.run_id, warehouse.published_file, dbt_project().manifest_path)
        planned = plan(warehouse.engine, settings, night)
    except ValueError as error:  # a mistyped LEADBRIDGE_ACTIVATE_* value
        raise dg.Failure(description=f"activation is misconfigured: {error}") from None
    summary = planned.summary()
    applying = sorted(system for system, mode in modes.items() if mode == APPLY)
    if applying:
        context.log.warning(
            f"apply is set for {', '.join(applying)}, but the CRM writers are not built "
            "yet: the plan is recorded, nothing is written"
        )
    if planned.aborted:
        context.log.warning(f"activation plan refused: {planned.aborted}")
    # The ledger audits writes: a system left on `plan` writes nothing, so its rows would
    # only repeat every night's whole desired state (the metadata shows the plan).
    entries = [entry for entry in planned.entries() if entry.system in applying]
    recorded = ledger.record(warehouse.engine, context.run.run_id, entries) if entries else []
    context.log.info(
        f"activation plan: {summary.total} writes, {len(planned.skipped)} skipped, "
        f"{len(planned.conflicts)} conflicts; {len(recorded)} ledger rows"
    )
    return dg.MaterializeResult(
        metadata={
            "writes": summary.total,
            "skipped": len(planned.skipped),
            "conflicts": len(planned.conflicts),
            "refused": planned.aborted or "",
            "modes": dict(modes),
            "counts": dict(summary.counts),
            "plan": dg.MetadataValue.md(summary.text(markdown=True)),
        }
    )


ACTIVATION_ASSETS = [activation_plan]
