"""The weekly alignment report: the scoreboard, SLA and funnel figures of the publication
in place, as one self-contained HTML file for the marketing–sales meeting.

Figures come from dashboard.figures, as on the pages; styles are inline and bars are
plain HTML, so the file opens anywhere, offline. `make report` writes it on demand
(`python -m dashboard.report`); Dagster writes it after the Monday night's publication.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from html import escape
from pathlib import Path

import pandas as pd

from dashboard.figures import Metric, funnel, scoreboard, sla
from dashboard.marts import RUN_COMMAND, PublishedMarts, night_date, stale_since
from leadbridge.paths import reports_path, warehouse_path
from leadbridge.publication import Publication
from leadbridge.settings import Settings

MONDAY = 0
TITLE = "Leadbridge weekly alignment"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #ddd; margin-top: 2.5rem; }
.meta, .note { color: #555; font-size: 0.9rem; }
.stale { background: #fff3cd; padding: 0.5rem 1rem; border-radius: 4px; }
.metrics { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0.5rem 0 1rem; }
.metric { border: 1px solid #ddd; border-radius: 4px; padding: 0.5rem 0.75rem; min-width: 9rem; }
.metric .label { font-size: 0.8rem; color: #555; }
.metric .value { font-size: 1.5rem; font-weight: 600; }
.metric .delta { font-size: 0.8rem; color: #555; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #eee; padding: 0.25rem 0.6rem; text-align: left; }
td.bar span { display: inline-block; height: 0.7rem; background: #4c78a8; margin-right: 0.4rem; }
"""


class NoPublication(RuntimeError):
    """Nothing has been published yet: there is nothing to report."""


def report_night(publication: Publication | None, timezone: str) -> date | None:
    """The night of `publication` when it is a Monday night (the night the nightly run
    starts on Monday at NIGHTLY_AT in `timezone`), else None: the weekly report's rule."""
    if publication is None:
        return None
    night = night_date(publication.published_at, timezone)
    return night if night.weekday() == MONDAY else None


def report_file(publication: Publication, directory: Path, timezone: str) -> Path:
    """`leadbridge-weekly-<ISO date of the publication's night>.html` in `directory`."""
    night = night_date(publication.published_at, timezone)
    return directory / f"leadbridge-weekly-{night.isoformat()}.html"


def write_report(marts: PublishedMarts | None = None, directory: Path | None = None) -> Path:
    """Write the report of the publication in place (default: this process's settings)
    into `directory` (default: reports/ beside the warehouse); the file written."""
    marts = marts or PublishedMarts.open()
    if marts.publication is None:
        raise NoPublication(
            f"No publication yet at {marts.engine.location}: nothing has passed the quality "
            f"gates. Run `{RUN_COMMAND}` to build and publish the marts, then write the report."
        )
    timezone = Settings.from_env().timezone
    path = report_file(marts.publication, directory or reports_path(warehouse_path()), timezone)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(marts, timezone), encoding="utf-8")
    return path


def render(marts: PublishedMarts, timezone: str) -> str:
    """The report of `marts` (a publication in place) as one HTML document."""
    publication = marts.publication
    assert publication is not None
    night = night_date(publication.published_at, timezone)
    parts = [
        f"<h1>{TITLE}</h1>",
        _paragraph(
            f"Night of {night.isoformat()} · published "
            f"{publication.published_at:%Y-%m-%d %H:%M} UTC by run {publication.run_id} · "
            f"content hash {publication.content_hash}",
            "meta",
        ),
    ]
    stale = stale_since(publication)
    if stale is not None:
        parts.append(
            _paragraph(
                f"The last night did not publish: figures as of {stale.isoformat()}.", "stale"
            )
        )
    parts += _scoreboard(marts) + _sla(marts) + _funnel(marts)
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{TITLE} – {night.isoformat()}</title>\n<style>{STYLE}</style>\n</head>\n"
        "<body>\n" + "\n".join(parts) + "\n</body>\n</html>\n"
    )


def _scoreboard(marts: PublishedMarts) -> list[str]:
    parts = ['<section id="scoreboard">', "<h2>Shared scoreboard</h2>"]
    daily = scoreboard.daily_kpis(marts)
    if daily.empty:
        return [*parts, _paragraph("The published KPIs have no day yet."), "</section>"]
    parts.append(
        _paragraph(
            f"Figures to {daily['kpi_date'].max():%Y-%m-%d}; targets are the contract's "
            "monthly targets, pro rata to date.",
            "note",
        )
    )
    for name, rows in scoreboard.periods(daily):
        parts.append(f"<h3>{escape(name)}</h3>")
        for team, metrics in scoreboard.period_metrics(name, rows).items():
            parts += [f"<h4>{escape(team)}</h4>", _metrics(metrics)]
    velocity = scoreboard.lead_velocity(daily, marts.frame(scoreboard.VELOCITY))
    parts += [
        f"<h3>{scoreboard.LEAD_VELOCITY}</h3>",
        _metrics([velocity.metric]),
        _paragraph(f"{velocity.note} {velocity.rules}", "note"),
        _paragraph(scoreboard.LEAD_VELOCITY_DEFINITION, "note"),
        "<h3>Trend by week</h3>",
        _bars("scoreboard-weekly-trend", scoreboard.weekly_trend(daily)),
        "</section>",
    ]
    return parts


def _sla(marts: PublishedMarts) -> list[str]:
    handoffs, queue = sla.handoffs(marts), sla.queue(marts)
    breaches = sla.breaches(handoffs)
    overdue = int(queue["is_overdue"].sum())
    return [
        '<section id="sla">',
        "<h2>SLA and hand-offs</h2>",
        _paragraph(sla.DEFINITION, "note"),
        _metrics(sla.headline(handoffs)),
        "<h3>By owner at hand-off</h3>",
        _table("sla-by-owner", sla.by(handoffs, "owner")),
        "<h3>By week of hand-off</h3>",
        _table("sla-by-week", sla.by(handoffs, "week")),
        f"<h3>Breaches ({len(breaches)})</h3>",
        _table("sla-breaches", breaches),
        f"<h3>Hand-off queue ({len(queue)} waiting, {overdue} overdue)</h3>",
        _table("sla-queue", sla.queue_table(queue)),
        "</section>",
    ]


def _funnel(marts: PublishedMarts) -> list[str]:
    parts = ['<section id="funnel">', "<h2>Funnel</h2>"]
    people = funnel.people(marts)
    if people.empty:
        return [*parts, _paragraph("The published funnel has no person yet."), "</section>"]
    parts += [
        _paragraph(funnel.DEFINITION, "note"),
        "<h3>People per stage</h3>",
        _metrics(funnel.stage_counts(people)),
        "<h3>Conversion</h3>",
        _metrics(funnel.conversion(people)),
        "<h3>Velocity (median days)</h3>",
        _metrics(funnel.velocity(people)),
    ]
    for column, heading in [
        ("source", "By source"),
        ("cohort", "By creation-month cohort"),
        ("campaign", "By first-touch campaign"),
    ]:
        parts += [
            f"<h3>{heading}</h3>",
            _table(f"funnel-by-{column}", funnel.breakdown(people, column)),
        ]
    return [*parts, "</section>"]


def _paragraph(text: str, kind: str | None = None) -> str:
    attribute = f' class="{kind}"' if kind else ""
    return f"<p{attribute}>{escape(text)}</p>"


def _metrics(metrics: Sequence[Metric]) -> str:
    cells = []
    for metric in metrics:
        delta = "" if metric.delta is None else f'<div class="delta">{escape(metric.delta)}</div>'
        cells.append(
            f'<div class="metric" data-label="{escape(metric.label)}">'
            f'<div class="label">{escape(metric.label)}</div>'
            f'<div class="value">{escape(metric.value)}</div>{delta}</div>'
        )
    return '<div class="metrics">' + "".join(cells) + "</div>"


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}" if value == value.normalize() else f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.1f}"
    return str(value)


def _rows(cells: Iterable[Iterable[str]]) -> str:
    return "".join("<tr>" + "".join(row) + "</tr>" for row in cells)


def _table(name: str, frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(column))}</th>" for column in frame.columns)
    body = _rows(
        (f"<td>{escape(_cell(value))}</td>" for value in row)
        for row in frame.itertuples(index=False)
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _bars(name: str, frame: pd.DataFrame) -> str:
    """`frame` (numbers by an index) as a table whose cells carry a bar to scale."""
    top = max(float(frame.to_numpy().max()), 1.0) if not frame.empty else 1.0
    head = f"<th>{escape(str(frame.index.name))}</th>" + "".join(
        f"<th>{escape(str(column))}</th>" for column in frame.columns
    )
    body = _rows(
        [f"<td>{escape(_cell(index))}</td>"]
        + [
            f'<td class="bar"><span style="width:{6 * float(value) / top:.2f}rem"></span>'
            f"{escape(_cell(int(value)))}</td>"
            for value in values
        ]
        for index, values in zip(frame.index, frame.to_numpy(), strict=True)
    )
    return f'<table data-table="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def main() -> int:
    """`make report`: write the report of the publication in place; 1 without one, or
    when the publication cannot be read."""
    import duckdb
    import psycopg2

    try:
        path = write_report()
    except NoPublication as error:
        print(error, file=sys.stderr)
        return 1
    except (duckdb.Error, psycopg2.Error) as error:
        print(f"The report cannot read the published marts ({error})", file=sys.stderr)
        return 1
    print(f"Weekly report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
