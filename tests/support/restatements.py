"""What a restatement ledger should hold, worked out from two publications' marts with
pandas: every past KPI value the first published and the second changed."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from leadbridge.restatements import DAY, FUNNEL, KPIS_DAILY, LEDGER, MONTH

# A night in February, so that January's days and January itself are past periods.
AS_OF = "2026-02-10 15:00:00"
# Bob, a lead since 6 January, turns out to have become an MQL on the 14th: the history
# row arrives with tonight's load (its dlt load id, the one parameter, is now).
LATE_ROW = (
    "insert into hubspot.contact_property_history (contact_id, property, value, timestamp, "
    "_dlt_load_id, _dlt_id) values ('201', 'lifecyclestage', 'marketingqualifiedlead', "
    "timestamptz '2026-01-14 12:00:00+00', {}, 'late-1')"
)


def marts_frames(read) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(mart_kpis_daily, fct_funnel) of a publication; `read(table)` gives a table's frame."""
    kpis, funnel = read(KPIS_DAILY), read(FUNNEL)
    for column in ("kpi_date", "kpi_month"):
        kpis[column] = pd.to_datetime(kpis[column]).dt.date
    return kpis, funnel


def _differs(kpi: str, old, new) -> bool:
    if not kpi.endswith("_rate"):
        old, new = (0.0 if pd.isna(v) else float(v) for v in (old, new))
    elif pd.isna(old) or pd.isna(new):
        return pd.isna(old) != pd.isna(new)
    return round(float(old) - float(new), 6) != 0


def moved(before: tuple, after: tuple) -> dict[tuple, tuple]:
    """(mart, grain, period, kpi) → (old, new) of every KPI value of a day (month) before
    the as-of day (month) that `before` published and `after` changed (`marts_frames`)."""
    (old, old_funnel), (new, new_funnel) = before, after
    as_of = min(old["kpi_date"].max(), new["kpi_date"].max())
    first_of_month = as_of.replace(day=1)
    kpis = [c for c in old.columns if c not in ("kpi_date", "kpi_month")]
    out = {}
    old_days, new_days = old.set_index("kpi_date"), new.set_index("kpi_date")
    for day in old_days.index[old_days.index < as_of]:
        for kpi in kpis:
            pair = (old_days.at[day, kpi], new_days.at[day, kpi])
            if _differs(kpi, *pair):
                out[(KPIS_DAILY, DAY, day, kpi)] = pair
    additive = [k for k in kpis if not k.endswith("_rate")]
    months = sorted(m for m in old["kpi_month"].unique() if m < first_of_month)
    old_months = old.groupby("kpi_month")[additive].sum()
    new_months = new.groupby("kpi_month")[additive].sum()
    for month in months:
        for kpi in additive:
            pair = (old_months.at[month, kpi], new_months.at[month, kpi])
            if _differs(kpi, *pair):
                out[(KPIS_DAILY, MONTH, month, kpi)] = pair
    stages = [c for c in old_funnel.columns if c.startswith("reached_") and c.endswith("_at")]
    for stage in stages:
        counts = [
            funnel[stage].dropna().map(lambda t: date(t.year, t.month, 1)).value_counts()
            for funnel in (old_funnel, new_funnel)
        ]
        for month in months:
            pair = tuple(float(c.get(month, 0)) for c in counts)
            if _differs(stage, *pair):
                out[(FUNNEL, MONTH, month, stage.removesuffix("_at"))] = pair
    return out


def ledger_rows(rows) -> dict[tuple, tuple]:
    """(mart, grain, period, kpi) → (old, new, cause) from ledger rows selected as
    `LEDGER_SELECT`."""
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


LEDGER_SELECT = (
    "select mart, grain, period_start, kpi, old_value, new_value, cause "
    f"from {{schema}}.{LEDGER} where run_id = '{{run_id}}'"
)


def assert_recorded(recorded: dict, expected: dict) -> None:
    """The ledger's rows are the expected ones, old and new values alike."""
    assert recorded.keys() == expected.keys()
    for key, (old, new, _) in recorded.items():
        want = tuple(None if pd.isna(v) else float(v) for v in expected[key])
        assert (old, new) == pytest.approx(want, nan_ok=True), key
