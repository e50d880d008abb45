"""The publication as a Dagster asset: `published/marts`, after every blocking check.

The asset depends on every mart and restricted model and waits for each blocking check
on them, so Dagster skips it when the build or a check failed; run alone it refuses
unless those checks passed on the marts in place (`unverified_checks`). The copy and
swap are leadbridge.publication's; its freshness policy marks it stale after a missed
night.
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from leadbridge.engine import target_name
from leadbridge.inputs import INPUTS_TAG
from leadbridge.publication import (
    MARTS_SCHEMA,
    RESTRICTED_SCHEMA,
    publish_marts,
    publish_postgres,
    unpublished,
)
from leadbridge.restatements import cause_counts
from leadbridge.spark_publication import publish_spark
from leadbridge.trust import (
    FAILED,
    NOT_RUN,
    PASSED,
    WARNED,
    CheckOutcome,
    TrustRecord,
    trust_record,
)
from orchestration.defs.quality import QUALITY_CHECKS
from orchestration.defs.resources import Warehouse, dbt_project
from orchestration.defs.transform import INPUTS_METADATA, PUBLISHED_KEY, dbt_build
from orchestration.summary import RESTATEMENT_CAUSES, RESTATEMENTS

# The nightly runs at 02:00; a day and two hours without a publication means a night
# was missed (or failed), a day and one hour is worth a warning.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
MART_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == MARTS_SCHEMA),
    key=lambda key: key.to_user_string(),
)
RESTRICTED_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == RESTRICTED_SCHEMA),
    key=lambda key: key.to_user_string(),
)


def blocking_checks(
    definitions: Iterable[dg.AssetsDefinition], keys: Iterable[dg.AssetKey]
) -> list[dg.AssetCheckSpec]:
    """The blocking checks of `definitions` on `keys`, by asset and name."""
    wanted = set(keys)
    specs = {
        spec.key: spec
        for definition in definitions
        for spec in definition.check_specs
        if spec.blocking and spec.asset_key in wanted
    }
    return sorted(specs.values(), key=lambda spec: (spec.asset_key.to_user_string(), spec.name))


# What must have passed on the marts before they are published: the dbt tests (checks of
# the dbt assets) and the Great Expectations suites on them. Listed here, not looked up in
# the run's code location, because a run started in process has none to look in; a unit
# test holds this to every blocking check the assembled definitions have on the marts.
MART_CHECKS = blocking_checks([dbt_build, *QUALITY_CHECKS], [*MART_KEYS, *RESTRICTED_KEYS])


# Every check on the way to publication, blocking or not, for the Data trust record.
ALL_CHECKS = sorted(
    {spec.key: spec for d in [dbt_build, *QUALITY_CHECKS] for spec in d.check_specs}.values(),
    key=lambda spec: (spec.asset_key.to_user_string(), spec.name),
)


def check_outcomes(
    instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckSpec]
) -> list[CheckOutcome]:
    """The latest verdict of each check, as the publication's trust record holds it."""
    outcomes = []
    for spec in checks:
        record = instance.get_latest_asset_check_evaluation_record(spec.key)
        evaluation = record.evaluation if record is not None else None
        if record is None or not isinstance(evaluation, dg.AssetCheckEvaluation):
            status = NOT_RUN
        elif evaluation.passed:
            status = PASSED
        else:
            warn = evaluation.severity == dg.AssetCheckSeverity.WARN
            status = WARNED if warn else FAILED
        outcomes.append(
            CheckOutcome(
                asset=spec.asset_key.to_user_string(),
                check_name=spec.name,
                status=status,
                blocking=spec.blocking,
                run_id=record.run_id if record is not None else None,
                evaluated_at=None
                if status == NOT_RUN
                else datetime.fromtimestamp(record.create_timestamp, UTC).replace(tzinfo=None),
            )
        )
    return outcomes


def unverified_checks(
    instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckSpec]
) -> list[str]:
    """Why each of `checks` does not vouch for its asset as it is now (empty: all do). A
    check vouches when its latest evaluation passed (or failed as a warning only) and was
    made on the asset's latest materialization: in the same run, or naming it."""
    reasons = []
    for spec in checks:
        name = f"{spec.asset_key.to_user_string()}:{spec.name}"
        record = instance.get_latest_asset_check_evaluation_record(spec.key)
        # a planned evaluation (its run failed or stopped before the check) has no result
        evaluation = record.evaluation if record is not None else None
        if record is None or not isinstance(evaluation, dg.AssetCheckEvaluation):
            reasons.append(
                f"{name} has no result"
                + (f" (run {record.run_id[:8]} did not get to it)" if record else "")
            )
            continue
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
            reasons.append(f"{name} failed in run {record.run_id[:8]}")
            continue
        latest = instance.fetch_materializations(spec.asset_key, limit=1).records
        target = evaluation.target_materialization_data
        if (
            latest
            and record.run_id != latest[0].run_id
            and (target is None or target.storage_id != latest[0].storage_id)
        ):
            reasons.append(
                f"{name} last ran in run {record.run_id[:8]}, before the latest "
                f"materialization of {spec.asset_key.to_user_string()} "
                f"(run {latest[0].run_id[:8]})"
            )
    return reasons


def published_trust(context: dg.AssetExecutionContext, engine, manifest) -> TrustRecord | None:
    """The trust record to publish with the marts, or None when it cannot be read: it
    informs the Data trust page and must never hold back marts that passed their checks."""
    try:
        return trust_record(engine, manifest, check_outcomes(context.instance, ALL_CHECKS))
    except Exception as error:  # whatever it is, the marts passed their checks
        context.log.warning(
            f"publishing without a trust record: it could not be read ({error}); the "
            "Data trust page says so until the next publication"
        )
        return None


@dg.asset(
    key=PUBLISHED_KEY,
    deps=[*MART_KEYS, *RESTRICTED_KEYS],
    group_name="publish",
    kinds={target_name()},
    freshness_policy=FRESHNESS,
    description="The marts as BI tools read them, replaced atomically only after every "
    "blocking check of the night passed. DuckDB: a read-only file "
    "(`data/published/leadbridge_marts.duckdb`, or `$LEADBRIDGE_PUBLISHED`), schema "
    "`marts`. PostgreSQL: schema `published` (and `published_restricted` for the "
    "restricted models), with the grants dbt gave the working tables. `_publication` "
    "records the run, the time and rows and a content hash per table; `mart_restatements` "
    "the past KPI values each publication changed, and why.",
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Publish schema `marts` of the working warehouse to the serving file or schema."""
    # In the nightly run Dagster only starts this step when the blocking checks passed;
    # a run of this asset alone (the UI's Materialize, `dagster asset materialize`) has no
    # such guard, so the verdicts recorded on the marts in place are required here.
    refused = unverified_checks(context.instance, MART_CHECKS)
    if refused:
        raise dg.Failure(
            description="refused to publish: every blocking check on the marts must have "
            f"passed on the marts in place, but {'; '.join(refused)}. Run the nightly job "
            "(or materialize the marts with their checks) first",
            metadata={"checks_not_passed": refused},
        )
    engine = warehouse.engine
    manifest = dbt_project().manifest_path
    hidden = unpublished(manifest)
    trust = published_trust(context, engine, manifest)
    extra: dict[str, Any] = {}
    if engine.is_spark or engine.postgres is not None:
        if engine.is_spark:
            with engine.writer() as session:
                publications = publish_spark(session.connection, context.run.run_id, hidden)
        else:
            publications = publish_postgres(engine.postgres, context.run.run_id, hidden, trust)
        publication = publications[MARTS_SCHEMA]
        extra["location"] = str(publication.path)
        restricted = publications.get(RESTRICTED_SCHEMA)
        if restricted is not None:
            extra["restricted_tables"] = len(restricted.rows)
            extra["restricted_content_hash"] = restricted.content_hash
            context.log.info(
                f"published {len(restricted.rows)} restricted tables to {restricted.path}"
            )
    else:
        publication = publish_marts(
            warehouse.file, warehouse.published_file, context.run.run_id, hidden, trust
        )
        extra["path"] = dg.MetadataValue.path(str(publication.path))
    if publication.restatement_error is not None:
        context.log.warning(
            "published; past KPIs were not compared, tonight's restatements are unknown: "
            f"{publication.restatement_error}"
        )
    if publication.restatements is not None:
        causes = cause_counts(publication.restatements)
        extra[RESTATEMENTS] = len(publication.restatements)
        extra[RESTATEMENT_CAUSES] = dg.MetadataValue.json(causes)
        context.log.info(f"restated {len(publication.restatements)} past KPI values: {causes}")
    # what this night wrote; the other tables were kept from the publication in place
    extra["tables_written"] = len(publication.written or ())
    extra["tables_patched"] = len(publication.patched or ())
    total = sum(publication.rows.values())
    context.log.info(
        f"published {len(publication.rows)} tables ({total} rows) on {engine.name} to "
        f"{publication.path} (content hash {publication.content_hash})"
    )
    table = "\n".join(
        ["| table | rows | content hash |", "|---|---:|---|"]
        + [
            f"| {MARTS_SCHEMA}.{name} | {publication.rows[name]} | `{publication.hashes[name]}` |"
            for name in sorted(publication.rows)
        ]
    )
    # dbt_build tagged the run with its inputs (a run with an as_of); read back from the
    # instance, as the run object of the context predates the tag
    run = context.instance.get_run_by_id(context.run.run_id)
    inputs = run.tags.get(INPUTS_TAG) if run is not None else None
    if inputs:
        extra[INPUTS_METADATA] = inputs
    return dg.MaterializeResult(
        metadata={
            **extra,
            "engine": engine.name,
            "tables": len(publication.rows),
            "dagster/row_count": total,
            "content_hash": publication.content_hash,
            "published_at": publication.published_at.isoformat(timespec="seconds") + "Z",
            "table_rows": dg.MetadataValue.md(table),
        }
    )


PUBLISH_ASSETS = [published_marts]
