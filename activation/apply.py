"""Applying tonight's plan: the writes of each system set to `apply`, sent and recorded.

For each batch the ledger first commits the writes as `pending`, then the CRM's answers;
a crash between the two leaves them pending, and the next plan sends them again (the
upsert on the key makes that harmless). A refused plan sends nothing. A system stops at
its quota (the night's share, counted with what ingestion spent) or at a call refused
whole (bad fields, permissions, the API down): what was not sent is planned again.
The plan sent is the one shown, while the settings, ledger and erasures it was made
from are unchanged; otherwise it is made again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from activation import ledger
from activation.ledger import FAILED, OK
from activation.plan import Night, Plan, applying, basis, plan
from activation.writers import MissingFields, Writer, failed, refusal
from ingestion.sources.api import ApiError
from ingestion.sources.limits import QuotaReached
from leadbridge.engine import Engine
from leadbridge.settings import Settings


@dataclass
class Outcome:
    """What one system's writes came to."""

    system: str
    planned: int = 0
    sent: int = 0
    ok: int = 0
    failed: int = 0
    stopped: str | None = None  # why the rest was not sent
    at_quota: bool = False  # stopped by the night's quota, not by a refusal
    usage: dict = field(default_factory=dict)

    @property
    def unsent(self) -> int:
        """Writes left for the next night."""
        return self.planned - self.sent

    def line(self) -> str:
        """One line for people: counts, calls, and why it stopped."""
        usage = self.usage
        text = (
            f"{self.system}: {self.ok} written, {self.failed} failed"
            + (f", {self.unsent} not sent" if self.unsent else "")
            + f" of {self.planned} planned; {usage.get('api_calls', 0)} calls, "
            f"{usage.get('refused_calls', 0)} refused by the limits and retried"
        )
        return text + (f"; STOPPED: {self.stopped}" if self.stopped else "")


@dataclass
class Applied:
    """A night's apply: the plan it sent and each applying system's outcome."""

    plan: Plan
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    @property
    def refused(self) -> str | None:
        return self.plan.aborted

    @property
    def failed(self) -> int:
        return sum(o.failed for o in self.outcomes.values())

    def text(self) -> str:
        """The apply for people: the refusal, or a line per system."""
        if self.refused:
            return f"nothing written: the plan is refused: {self.refused}"
        if not self.outcomes:
            return "nothing written: no system is set to apply"
        return "\n".join(o.line() for o in self.outcomes.values())


def apply(
    engine: Engine,
    settings: Settings,
    night: Night,
    writers: Mapping[str, Writer],
    run_id: str | None = None,
    planned: Plan | None = None,
) -> Applied:
    """Send the writes of each system set to `apply` with its writer from `writers`,
    recording every write and skip in the ledger; what was done. The plan is `planned`
    (the one shown) while what it was made from still holds (`current`), else made
    again; with no system set to apply there is nothing to plan."""
    systems = applying(settings.activation_modes)
    if not systems:
        return Applied(Plan(modes=settings.activation_modes))
    if planned is None or not current(engine, settings, night, planned):
        planned = plan(engine, settings, night)
    applied = Applied(planned)
    if planned.aborted:
        return applied
    holds = [e for e in planned.holds() if e.system in systems]
    if holds:
        ledger.record(engine, run_id, holds)
    for system in systems:
        writes = [item for item in planned.items if item.system == system]
        outcome = applied.outcomes.setdefault(system, Outcome(system, planned=len(writes)))
        if writes:
            _send(engine, writers[system], writes, outcome, run_id)
        outcome.usage = writers[system].usage.as_metadata() if system in writers else {}
    return applied


def current(engine: Engine, settings: Settings, night: Night, planned: Plan) -> bool:
    """Whether `planned` is still the plan of `night`: made from the same settings,
    ledger and erasure requests (a write recorded since, by an apply that crashed or ran
    twice, makes it stale)."""
    if planned.basis is None:
        return False
    with engine.reader() as sql:
        return basis(sql, settings, night) == planned.basis


def _send(
    engine: Engine, writer: Writer, writes: list, outcome: Outcome, run_id: str | None
) -> None:
    try:
        for batch in writer.batches(writes):
            writer.usage.check()  # before the ledger says pending: nothing is sent past it
            ledger.record_pending(engine, batch.writes, run_id)
            try:
                results = batch.send(batch.writes)
            except (ApiError, QuotaReached) as error:
                # refused whole: systematic (fields, access, the API down); stop the system
                answer = refusal(error) if isinstance(error, ApiError) else str(error)
                ledger.record_results(engine, failed(batch.writes, answer))
                outcome.sent += len(batch.writes)
                outcome.failed += len(batch.writes)
                outcome.stopped = answer
                outcome.at_quota = isinstance(error, QuotaReached)
                return
            ledger.record_results(engine, results)
            outcome.sent += len(results)
            outcome.ok += sum(1 for r in results if r.status == OK)
            outcome.failed += sum(1 for r in results if r.status == FAILED)
    except (ApiError, QuotaReached, MissingFields) as error:  # set-up, or the quota
        outcome.stopped = refusal(error) if isinstance(error, ApiError) else str(error)
        outcome.at_quota = isinstance(error, QuotaReached)
