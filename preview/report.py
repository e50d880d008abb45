"""The preview's report: one JSON file the dashboard page reads, rendered as markdown
and as a self-contained HTML file (the weekly report's styles, no scripts, no assets).

Tables are formatted once (`shown`): rates as percentages, times to the minute, a dash
where a variant has nothing; markdown and HTML lay out the same strings.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from dashboard.report import STYLE
from leadbridge.paths import reports_path, warehouse_path

NAME = "contract-preview"
TITLE = "Lead contract preview"
DASH = "–"
RATE_COLUMNS = ("mql_to_sql_rate", "sla_compliance", "share")


def default_out() -> Path:
    """Where previews are written and the dashboard looks: `reports/contract-preview/`
    beside the warehouse."""
    return reports_path(warehouse_path()) / NAME


@dataclass
class PreviewReport:
    """What a preview found; tables are lists of records (JSON-ready, unformatted)."""

    proposed: str
    start: str
    as_of: str
    changed_rules: list[str]
    variants: dict[str, str]  # name → title, `current` first
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # variant → counts of changed people by kind, and the sample (person keys only)
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0

    def frame(self, name: str) -> pd.DataFrame:
        """One table as a DataFrame."""
        return pd.DataFrame.from_records(self.tables[name])

    def write(self, folder: Path) -> dict[str, Path]:
        """`contract-preview.json`, `.md` and `.html` in `folder` (replacing the last)."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = {kind: folder / f"{NAME}.{kind}" for kind in ("json", "md", "html")}
        paths["json"].write_text(json.dumps(asdict(self), indent=1, default=str) + "\n")
        paths["md"].write_text(markdown(self))
        paths["html"].write_text(html(self))
        return paths

    @classmethod
    def read(cls, path: Path) -> PreviewReport:
        """A report written by `write`."""
        return cls(**json.loads(path.read_text()))


SECTIONS = (
    ("monthly", "MQLs, SQLs, MQL→SQL rate and SLA compliance by month (UTC)"),
    ("sla_by_owner", "SLA compliance by owner at hand-off and month"),
    ("funnel_by_source", "Funnel by source: people who reached each stage"),
    ("attribution", "Attribution shares by campaign, per model"),
)


def _cell(column: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if column.split(" ")[0] in RATE_COLUMNS:
        return f"{100 * float(value):.1f}%"
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def shown(records: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Column names and the formatted cells of a table."""
    columns = list(records[0]) if records else []
    return columns, [[_cell(column, row.get(column)) for column in columns] for row in records]


def change_summary(report: PreviewReport) -> list[dict[str, Any]]:
    """One row per variant: the people whose first MQL, first SQL or SLA outcome change."""
    return [
        {"variant": report.variants[name], **found["counts"]}
        for name, found in report.changes.items()
    ]


def _markdown_table(records: list[dict[str, Any]]) -> list[str]:
    columns, rows = shown(records)
    if not columns:
        return ["(none)", ""]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def _intro(report: PreviewReport) -> list[str]:
    rules = ", ".join(report.changed_rules) or "none (stages, mappings or calendars only)"
    return [
        f"Proposed contract: {report.proposed}",
        f"Rules it changes: {rules}",
        f"Night compared: the working marts as of {report.as_of} (UTC)",
        "Variants: " + "; ".join(f"{name} = {title}" for name, title in report.variants.items()),
        f"Preview took {report.seconds:.0f} s",
    ]


def markdown(report: PreviewReport) -> str:
    """The report as markdown."""
    lines = [f"# {TITLE}", ""] + [f"- {line}" for line in _intro(report)] + [""]
    lines += ["## People who change", ""] + _markdown_table(change_summary(report))
    for name, found in report.changes.items():
        lines += [f"### Sample, {report.variants[name]} (person keys)", ""]
        lines += _markdown_table(found["sample"])
    for key, heading in SECTIONS:
        lines += [f"## {heading}", ""] + _markdown_table(report.tables[key])
    return "\n".join(lines)


def _html_table(name: str, records: list[dict[str, Any]]) -> str:
    columns, rows = shown(records)
    if not columns:
        return "<p class='note'>(none)</p>"
    head = "".join(f"<th>{escape(column)}</th>" for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def html(report: PreviewReport) -> str:
    """The report as one self-contained HTML page."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{TITLE}</title>',
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{TITLE}</h1>",
        "<ul class='meta'>" + "".join(f"<li>{escape(x)}</li>" for x in _intro(report)) + "</ul>",
        "<h2>People who change</h2>",
        _html_table("changes", change_summary(report)),
    ]
    for name, found in report.changes.items():
        parts += [
            f"<h3>Sample, {escape(report.variants[name])} (person keys)</h3>",
            _html_table(f"sample-{name}", found["sample"]),
        ]
    for key, heading in SECTIONS:
        parts += [f"<h2>{escape(heading)}</h2>", _html_table(key, report.tables[key])]
    return "\n".join(parts + ["</body></html>", ""])
