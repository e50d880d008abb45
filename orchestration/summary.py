"""The human summary that closes a nightly run: what loaded, what built, what failed,
and whether the marts were published for BI (see orchestration.defs.publish), on the
engine of the run (leadbridge.engine)."""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadbridge.engine import Engine
from leadbridge.inputs import UNCHANGED_TAG
from leadbridge.paths import REPO_ROOT, published_path

# The publication's asset key (orchestration/defs/transform.py builds it from this) and
# the check that counts the quarantined rows (orchestration/defs/quality.py).
PUBLISHED_KEY = ("published", "marts")
ACTIVATION_PLAN_KEY = ("activation", "plan")
ACTIVATION_APPLY_KEY = ("activation", "apply")
QUARANTINE_CHECK = "quarantine_summary"
EXAMPLE_QUERY = (
    "select current_stage, count(*) as people from marts.dim_person group by 1 order by 2 desc"
)
# The files step's materialization metadata: [{"file", "reason", "moved_to"}, ...].
REJECTED_FILES = "rejected_files"
# A metered feed's materialization metadata: `ApiUsage.as_metadata()` of its night.
API_USAGE = "api_usage"
# The publication's metadata: past KPI values it changed, and how many name each cause
# (leadbridge.restatements).
RESTATEMENTS = "restatements"
RESTATEMENT_CAUSES = "restatement_causes"
# A failed step's line is one line; a longer cause is cut here.
CAUSE_CHARS = 400
DBT_ERRORS = "Errors parsed from dbt logs:"  # dagster-dbt's failure description


@dataclass
class RunSummary:
    """Counts gathered from one run's events."""

    success: bool
    duration_seconds: float
    # the DuckDB file, or the PostgreSQL database's `postgresql://host:port/database`
    warehouse: Path | str
    rows_loaded: dict[str, int] = field(default_factory=dict)
    models_built: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    # One line per failed step (`step: cause`), and `run: cause` when the run failed
    # outside any step (e.g. a resource's settings).
    errors: list[str] = field(default_factory=list)
    # Failed checks that stopped what depends on them (blocking, ERROR severity).
    blocking_failed: list[str] = field(default_factory=list)
    # Files the files feed set aside instead of loading: {"file", "reason", "moved_to"}.
    rejected_files: list[dict[str, Any]] = field(default_factory=list)
    # Rows kept out of the marts by a tolerated contract rule: (table, rule, rows).
    quarantined: list[tuple[str, str, int]] = field(default_factory=list)
    # The serving file (on PostgreSQL `postgresql://…/database#published`), and what
    # this run published into it (None: not published).
    published_file: Path | str | None = None
    published: dict[str, Any] | None = None
    # The CRM write-back plan's metadata (writes, skipped, conflicts, refused), if planned.
    activation: dict[str, Any] | None = None
    activation_apply: dict[str, Any] | None = None
    # When not published: the publication still in place (run_id, published_at), if any.
    previous_publication: dict[str, Any] | None = None
    engine: str = "duckdb"
    # The run whose publication stands because this night's inputs were the same
    # (leadbridge/inputs.py): nothing was built or published, by design.
    unchanged_since: str | None = None
    # Per metered feed: the API calls its night spent, its quota share, whether it stopped
    # at the quota and which resources did (`ApiUsage.as_metadata()`).
    api_usage: dict[str, dict[str, Any]] = field(default_factory=dict)

    def records_per_call(self, feed: str) -> float | None:
        """Rows loaded per API call of `feed` this night."""
        calls = self.api_usage.get(feed, {}).get("api_calls") or 0
        rows = sum(n for table, n in self.rows_loaded.items() if table.startswith(f"{feed}."))
        return rows / calls if calls else None

    def stopped_at_quota(self) -> list[str]:
        """The feeds whose night stopped at the quota share."""
        return [feed for feed, usage in self.api_usage.items() if usage.get("stopped_at_quota")]

    def api_lines(self) -> list[str]:
        """One line per metered feed: calls, records per call, quota share, a quota stop."""
        lines = []
        for feed, usage in sorted(self.api_usage.items()):
            per_call, share = self.records_per_call(feed), usage.get("quota_share_used")
            line = (
                f"  {feed}: {usage.get('api_calls', 0)} calls, "
                + (f"{per_call:.1f} records per call, " if per_call is not None else "")
                + (
                    f"{share:.2%} of the daily limit of {usage.get('daily_limit')}"
                    if share is not None
                    else "no daily limit reported"
                )
                + f", {usage.get('paced_seconds', 0):.1f} s paced"
            )
            if usage.get("stopped_at_quota"):
                line += (
                    f"; STOPPED at the quota share ({usage.get('quota_share', 0):.0%}): "
                    f"{', '.join(usage.get('stopped_resources') or [])} loaded in part, "
                    "the next night resumes them"
                )
            lines.append(line)
        return ["API use:", *lines] if lines else []

    def tags(self) -> dict[str, str]:
        """The summary as run tags: shown on the run's page and in the runs list of the
        Dagster UI, and filterable there (e.g. `leadbridge/published: no`)."""
        failed = [name for name, _ in self.checks_failed]
        feeds = sorted(self.api_usage)
        per_call = {f: self.records_per_call(f) for f in feeds}
        shares = {f: self.api_usage[f].get("quota_share_used") for f in feeds}
        return {
            "leadbridge/api_calls": ", ".join(
                f"{f} {self.api_usage[f].get('api_calls', 0)}" for f in feeds
            )
            or "none",
            "leadbridge/records_per_call": ", ".join(
                f"{f} {per_call[f]:.1f}" for f in feeds if per_call[f] is not None
            )
            or "none",
            "leadbridge/quota_used": ", ".join(
                f"{f} {shares[f]:.2%}" for f in feeds if shares[f] is not None
            )
            or "none",
            "leadbridge/stopped_at_quota": ", ".join(self.stopped_at_quota()) or "none",
            "leadbridge/rows_loaded": str(sum(self.rows_loaded.values())),
            "leadbridge/models_built": str(len(self.models_built)),
            "leadbridge/checks": f"{len(self.checks_passed)} passed, {len(failed)} failed",
            "leadbridge/checks_failed": ", ".join(failed)[:200] or "none",
            "leadbridge/quarantined": str(sum(rows for _, _, rows in self.quarantined)),
            "leadbridge/rejected_files": str(len(self.rejected_files)),
            "leadbridge/published": "yes"
            if self.published is not None
            else "unchanged"
            if self.unchanged_since
            else "no",
        }

    def render(self) -> str:
        """Plain text for a terminal or a log."""
        lines = [
            f"Leadbridge nightly run {'SUCCEEDED' if self.success else 'FAILED'} "
            f"in {self.duration_seconds:.1f} s",
            "",
            f"Rows loaded ({sum(self.rows_loaded.values())} in {len(self.rows_loaded)} tables):",
        ]
        by_feed: dict[str, list[str]] = defaultdict(list)
        for table, rows in sorted(self.rows_loaded.items()):
            feed, _, name = table.partition(".")
            by_feed[feed].append(f"{name} {rows}")
        lines += [f"  {feed}: {', '.join(items)}" for feed, items in by_feed.items()]
        lines += [
            f"  set aside {item.get('file', '?')}: {item.get('reason', 'no reason given')}"
            + (f" (moved to {item['moved_to']})" if item.get("moved_to") else "")
            for item in self.rejected_files
        ]
        lines += self.api_lines()
        lines += [
            f"dbt models built: {len(self.models_built)}",
            f"checks: {len(self.checks_passed)} passed, {len(self.checks_failed)} failed",
        ]
        if self.activation is not None:
            plan = self.activation
            lines.append(
                f"CRM write-back plan: {plan.get('writes', 0)} writes, "
                f"{plan.get('skipped', 0)} skipped, {plan.get('conflicts', 0)} conflicts"
                + (f"; refused: {plan['refused']}" if plan.get("refused") else "")
            )
            applied = self.activation_apply
            if applied is None:
                lines.append(
                    "CRM write-back: did not finish (what it wrote is in activation.ledger)"
                )
            elif applied.get("applied", "none") == "none":
                lines.append("CRM write-back: plan only, nothing written (docs/activation.md)")
            elif applied.get("refused"):
                lines.append(
                    f"CRM write-back to {applied['applied']}: nothing written, the plan was "
                    "refused (above)"
                )
            else:
                lines.append(
                    f"CRM write-back to {applied['applied']}: {applied.get('written', 0)} "
                    f"written, {applied.get('failed', 0)} failed, "
                    f"{applied.get('unsent', 0)} left for the next night"
                )
        if self.quarantined:
            total = sum(rows for _, _, rows in self.quarantined)
            lines.append(f"quarantined: {total} rows (schema `quarantine`)")
            lines += [f"  {table}: {rows} ({rule})" for table, rule, rows in self.quarantined]
        for name, metadata in self.checks_failed:
            detail = metadata.get("failed_rows")
            lines.append(f"  FAILED {name}" + (f" ({detail} rows)" if detail is not None else ""))
        if self.failed_steps:
            lines.append(f"failed steps: {', '.join(self.failed_steps)}")
        elif self.errors:
            lines.append("failed outside its steps:")
        lines += [f"  {error}" for error in self.errors]
        lines += ["", *self.publication_lines()]
        lines += ["", f"Warehouse: {self.warehouse} ({self.engine}, marts in schema `marts`)"]
        if self.engine == "postgres":
            schema = "published" if self.published or self.previous_publication else "marts"
            query = EXAMPLE_QUERY.replace("marts.", f"{schema}.")
            lines += [
                "Try (any PostgreSQL client, as a BI role):",
                f'  psql {str(self.warehouse).split("#")[0]} -c "{query}"',
            ]
        else:
            lines += [
                "Try (read-only, with the project's Python):",
                f"  {duckdb_command(self._readable_file(), EXAMPLE_QUERY)}",
            ]
        return "\n".join(lines)

    def _readable_file(self) -> Path | str:
        """The published marts if there are any (what BI reads), else the warehouse."""
        if isinstance(self.published_file, Path) and self.published_file.exists():
            return self.published_file
        return self.warehouse

    def publication_lines(self) -> list[str]:
        """Whether BI tools see this run's marts, and if not, what they see."""
        if self.published is not None:
            return [
                f"Published: {self.published_file} ({self.published.get('tables')} tables, "
                f"{self.published.get('dagster/row_count')} rows, content hash "
                f"{self.published.get('content_hash')}); BI tools read it read-only"
            ] + self.restatement_lines()
        previous = self.previous_publication
        if self.unchanged_since:
            return [
                f"Unchanged: the night's inputs are those of run {self.unchanged_since}; "
                f"its marts at {self.published_file} stay what BI tools read (nothing built)"
            ]
        if previous is None:
            line = (
                f"NOT published: nothing has been published yet at {self.published_file}; "
                "BI tools have no marts until a night passes every blocking check"
            )
        else:
            line = f"NOT published: yesterday's marts at {self.published_file} stay in place"
            if previous:
                line += (
                    f" (published {previous['published_at']:%Y-%m-%d %H:%M} UTC "
                    f"by run {previous['run_id']})"
                )
        cause = self.skip_cause()
        return [line] + ([f"  because {cause}"] if cause else [])

    def restatement_lines(self) -> list[str]:
        """How many past KPI values the publication changed, by cause (marts.mart_restatements)."""
        count = (self.published or {}).get(RESTATEMENTS)
        if count is None:
            return []
        causes = _json(self.published.get(RESTATEMENT_CAUSES)) or {}
        named = ", ".join(f"{cause} {n}" for cause, n in sorted(causes.items()))
        return [
            f"restatements: {count} past KPI values changed"
            + (f" (causes: {named})" if named else "")
        ]

    def skip_cause(self) -> str | None:
        """What stopped the run before it published: the failed blocking checks, else the
        failed steps, else what failed the run outside any step; None if nothing failed."""
        if self.blocking_failed:
            plural = "s" if len(self.blocking_failed) > 1 else ""
            return f"blocking check{plural} {', '.join(self.blocking_failed)} failed"
        if self.failed_steps:
            plural = "s" if len(self.failed_steps) > 1 else ""
            return f"step{plural} {', '.join(self.failed_steps)} failed"
        if self.errors:
            return "the run failed outside its steps (see above)"
        return None


def summarize(
    result: Any,
    warehouse: Path,
    duration_seconds: float,
    published_file: Path | None = None,
    engine: Engine | None = None,
    tags: Mapping[str, str] | None = None,
) -> RunSummary:
    """Build the summary from an `ExecuteInProcessResult` (or any run's event list).

    `engine` defaults to `$LEADBRIDGE_TARGET`'s with the warehouse file `warehouse`. On
    DuckDB `published_file` defaults to the serving file of `warehouse`
    (`$LEADBRIDGE_PUBLISHED`, else `published/` beside it); on PostgreSQL the serving
    schema is `published`. When the run did not publish, the publication still in place
    is read (read-only) to say what BI tools keep seeing. `tags` are the run's tags as the
    instance has them at the end (the build tags a run whose inputs did not change).
    """
    engine = engine or Engine.resolve(warehouse)
    summary = RunSummary(result.success, duration_seconds, warehouse, engine=engine.name)
    summary.unchanged_since = (tags or {}).get(UNCHANGED_TAG)
    if engine.postgres is not None or engine.is_spark:
        summary.warehouse = engine.location
        summary.published_file = f"{engine.location}#published"
    else:
        summary.published_file = published_file or published_path(warehouse)
    failed_checks_by_step: dict[str, list[str]] = defaultdict(list)
    step_failures: list[tuple[str, Any]] = []
    run_errors: list[Any] = []
    for event in result.all_events:
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            key = materialization.asset_key.path
            metadata = materialization.metadata
            for item in _rejected_files(metadata.get(REJECTED_FILES)):
                if item not in summary.rejected_files:
                    summary.rejected_files.append(item)
            usage = _json(metadata.get(API_USAGE))
            if isinstance(usage, dict):
                summary.api_usage[key[0]] = usage
            if tuple(key) == PUBLISHED_KEY:
                summary.published = {k: getattr(v, "value", v) for k, v in metadata.items()}
            elif tuple(key) == ACTIVATION_PLAN_KEY:
                summary.activation = {k: getattr(v, "value", v) for k, v in metadata.items()}
            elif tuple(key) == ACTIVATION_APPLY_KEY:
                summary.activation_apply = {k: getattr(v, "value", v) for k, v in metadata.items()}
            elif "rows_loaded" in metadata or (len(key) == 2 and "dataset_name" in metadata):
                rows = metadata.get("rows_loaded")
                summary.rows_loaded[".".join(key)] = int(rows.value) if rows else 0
            else:
                summary.models_built.append("/".join(key))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.check_name == QUARANTINE_CHECK:
                groups = getattr(evaluation.metadata.get("quarantine"), "value", None) or []
                summary.quarantined = [
                    (g["source_table"], g["rule"], int(g["rows"])) for g in groups
                ]
            if evaluation.passed:
                summary.checks_passed.append(name)
            else:
                meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
                summary.checks_failed.append((name, meta))
                if _stops_downstream(evaluation):
                    summary.blocking_failed.append(name)
                    rows = _failed_rows(meta)
                    failed_checks_by_step[event.step_key or "?"].append(
                        f"blocking check {name} failed"
                        + (f" ({rows} rows)" if rows is not None else "")
                    )
        elif event.is_step_failure:
            summary.failed_steps.append(event.step_key or "?")
            step_failures.append((event.step_key or "?", event.event_specific_data))
        elif event.event_type_value in ("RESOURCE_INIT_FAILURE", "PIPELINE_FAILURE"):
            # outside any step, e.g. a resource refused its settings before the first step
            error = getattr(event.event_specific_data, "error", None)
            if error is not None and event.step_key is None:
                run_errors.append(error)
    for step, data in step_failures:
        checks = failed_checks_by_step.get(step)
        summary.errors.append(f"{step}: {'; '.join(checks) if checks else failure_cause(data)}")
    for error in run_errors if not step_failures else []:
        line = f"run: {root_cause(error)}"
        if line not in summary.errors:
            summary.errors.append(line)
    if summary.published is None:
        summary.previous_publication = _publication_in_place(engine, summary.published_file)
    return summary


def summarize_run(instance: Any, run_id: str, warehouse: Path) -> RunSummary:
    """The summary of a finished run, from its events in the Dagster instance."""
    from types import SimpleNamespace

    import dagster as dg

    run = instance.get_run_by_id(run_id)
    events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event is not None]
    stats = instance.get_run_stats(run_id)
    duration = (stats.end_time or 0) - (stats.start_time or 0)
    result = SimpleNamespace(success=run.status == dg.DagsterRunStatus.SUCCESS, all_events=events)
    return summarize(result, warehouse, max(duration, 0.0), tags=run.tags)


def _publication_in_place(engine: Engine, path: Path | str | None) -> dict[str, Any] | None:
    """Run id and time of the publication BI tools currently read; None if there is none."""
    query = "select run_id, max(published_at) from {}._publication group by 1"
    if engine.postgres is not None or engine.is_spark:
        try:
            with engine.reader() as reader:
                if not reader.table_exists("published", "_publication"):
                    return None
                rows = reader.rows(query.format("published"))
        except Exception:  # an unreachable server must not break the summary
            rows = []
    else:
        import duckdb

        if not isinstance(path, Path) or not path.exists():
            return None
        try:
            with duckdb.connect(str(path), read_only=True) as con:
                rows = con.execute(query.format("main")).fetchall()
        except duckdb.Error:  # an unreadable serving file must not break the summary
            rows = []
    return {"run_id": rows[0][0], "published_at": rows[0][1]} if len(rows) == 1 else {}


def duckdb_command(path: Path | str, query: str) -> str:
    """A shell command that prints `query` on the DuckDB file `path`, read-only, with the
    Python running this (the project's environment has duckdb, no DuckDB CLI is needed)."""
    code = f"import duckdb; print(duckdb.connect({str(path)!r}, read_only=True).sql({query!r}))"
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    # double quotes read best; shlex's single quotes where the shell would expand something
    quoted = f'"{code}"' if not set(code) & set('"$`\\!') else shlex.quote(code)
    return f"{shlex.quote(shown)} -c {quoted}"


def failure_cause(data: Any) -> str:
    """One line for a failed step: a `dg.Failure`'s description, else the root cause of
    its error (`root_cause`)."""
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return _one_line(user.description)
    error = getattr(data, "error", None)
    return root_cause(error) if error is not None else "failed (no error recorded)"


def root_cause(error: Any) -> str:
    """The message that says what to fix, from a Dagster `SerializableErrorInfo`: Dagster
    and libraries wrap the error raised where the problem was seen (a missing setting, a
    refused connection) in their own, so the chain of causes (`cause`, else `context`) is
    walked down to the deepest error raised by the project's own code, else the deepest."""
    chain = []
    while error is not None and len(chain) < 50:
        chain.append(error)
        error = error.cause or error.context
    ours = [e for e in chain if _raised_by_project(e)]
    deepest = (ours or chain)[-1]
    return _one_line(_message(deepest))


def _raised_by_project(error: Any) -> bool:
    """Whether the error's innermost frame is in this repository's code (not a library)."""
    stack = getattr(error, "stack", None) or []
    found = re.search(r'File "([^"]+)"', stack[-1]) if stack else None
    if not found:
        return False
    path = found.group(1)
    return path.startswith(f"{REPO_ROOT}/") and "site-packages" not in path


def _message(error: Any) -> str:
    """The error's class and message, without the class's module; of a `dg.Failure` its
    description only, of a dbt failure dbt's own errors only."""
    text = (error.message or "").strip()
    name = error.cls_name or ""
    # `traceback.format_exception_only` writes "package.module.Class: message"
    text = re.sub(rf"^(?:[\w.]+\.)?{re.escape(name)}: ", f"{name}: " if name else "", text)
    if name == "Failure":
        text = text.removeprefix("Failure: ")
    if DBT_ERRORS in text:
        text = text.split(DBT_ERRORS, 1)[1]
    return text or name


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= CAUSE_CHARS else line[: CAUSE_CHARS - 1] + "…"


def _stops_downstream(evaluation: Any) -> bool:
    """A failed check Dagster stops the downstream assets for: blocking, ERROR severity."""
    severity = getattr(getattr(evaluation, "severity", None), "value", "ERROR")
    return bool(getattr(evaluation, "blocking", False)) and severity == "ERROR"


def _failed_rows(metadata: Mapping[str, Any]) -> Any:
    """Failed rows as GX checks (`failed_rows`) and dbt tests report them."""
    for key in ("failed_rows", "dagster_dbt/failed_row_count"):
        if metadata.get(key) is not None:
            return metadata[key]
    return None


def _json(value: Any) -> Any:
    """A JSON metadata value (or its text) as Python; None where it is not JSON."""
    raw = getattr(value, "value", value)
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return None
    return raw


def _rejected_files(value: Any) -> list[dict[str, Any]]:
    """The `rejected_files` metadata as a list of dicts, whether it came as JSON metadata,
    as a JSON text or not at all; anything else is ignored."""
    raw = _json(value)
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [dict(item) for item in raw if isinstance(item, Mapping)]
