"""The dashboard's figures, without Streamlit: the SQL against the published marts and the
computations on its results, one module per page. The pages lay them out and the weekly
report (dashboard.report) prints them, so both show every figure from the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

DASH = "–"  # a figure that cannot be computed (nothing to divide by, nothing measured)
NO_OWNER = "(no owner)"


@dataclass(frozen=True)
class Metric:
    """One figure as shown: its label, its value as text, and how it compares (or None)."""

    label: str
    value: str
    delta: str | None = None


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def percent(value: float | None) -> str:
    """A rate as shown: one decimal of a percent, or the dash."""
    return DASH if value is None else f"{value:.1%}"


def owner_name(key: str) -> str:
    """SQL for the owner's name of the owner key `key`, joined as `owner` to dim_owner: the
    key itself when dim_owner does not know it, NO_OWNER without one."""
    return f"coalesce(owner.owner_name, {key}, '{NO_OWNER}')"
