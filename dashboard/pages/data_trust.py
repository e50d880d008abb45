"""Data trust: when the figures were published and by which run, the night's checks and
their verdicts, when each source was last loaded, and the rows set aside in quarantine."""

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboard.page import start
from leadbridge.restatements import LEDGER
from leadbridge.trust import (
    CHECKS_TABLE,
    FAILED,
    NOT_RUN,
    PASSED,
    QUARANTINE_TABLE,
    SOURCES_TABLE,
    WARNED,
)

# what a quarantine rule means, for a reader who never saw the dbt model
RULES = {
    "email_format": "the email is not an address: the record is kept, its email is not used "
    "for identity or reporting",
}

marts = start("Data trust")
publication = marts.publication
columns = st.columns(4)
columns[0].metric("Published (UTC)", f"{publication.published_at:%Y-%m-%d %H:%M}")
columns[1].metric("Run", publication.run_id)
columns[2].metric("Content hash", publication.content_hash)
columns[3].metric("Tables", f"{len(publication.rows):,}")
st.caption(
    "Only what passed the night's blocking quality gates is published; the serving copy is "
    "swapped in whole, so every page reads one publication."
)

recorded = set(
    marts.frame(
        "select table_name from information_schema.tables where table_schema = {schema}",
        schema=marts.meta_schema,
    )["table_name"]
)
if not {CHECKS_TABLE, SOURCES_TABLE, QUARANTINE_TABLE} <= recorded:
    st.info(
        "This publication carries no record of its checks, source loads and quarantine: it "
        "was published outside the nightly job or before the record existed. The next "
        "night's publication will."
    )
else:
    checks = marts.frame(
        'select asset, check_name as "check", status, blocking, run_id as run, '
        f'evaluated_at as "evaluated (UTC)" from {{meta}}.{CHECKS_TABLE} '
        "order by status <> 'failed', status = 'passed', asset, check_name"
    )
    st.subheader(f"Checks ({len(checks):,})")
    st.caption(
        "The latest verdict of every dbt test and Great Expectations suite on the way to "
        "this publication. A blocking check that failed stops the night before publishing; "
        "a warning is shown here and published anyway."
    )
    counts = checks["status"].value_counts()
    for column, status in zip(st.columns(4), (PASSED, WARNED, FAILED, NOT_RUN), strict=True):
        column.metric(f"Checks {status}", f"{int(counts.get(status, 0)):,}")
    attention = checks[checks["status"] != PASSED]
    if not attention.empty:
        st.dataframe(attention, hide_index=True)
    with st.expander(f"All checks ({len(checks):,})"):
        st.dataframe(checks, hide_index=True)

    sources = marts.frame(
        "select source_table, last_loaded_at, warn_after_hours, error_after_hours "
        f"from {{meta}}.{SOURCES_TABLE} order by source_table"
    )
    now = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    hours = (now - pd.to_datetime(sources["last_loaded_at"])).dt.total_seconds() / 3600
    sources["hours since loaded"] = hours.round(1)
    sources["freshness"] = [
        "never loaded"
        if pd.isna(age)
        else "stale"
        if age > error
        else "late"
        if pd.notna(warn) and age > warn
        else "fresh"
        for age, warn, error in zip(
            hours, sources["warn_after_hours"], sources["error_after_hours"], strict=True
        )
    ]
    st.subheader("Freshness per source")
    st.caption(
        "When the nightly run last loaded rows into each source table (`dbt source "
        "freshness`'s measure), and its age now against the sources YAML's thresholds."
    )
    by_source = sources.assign(source=sources["source_table"].str.split(".").str[0])
    for column, (source, rows) in zip(
        st.columns(max(1, by_source["source"].nunique())), by_source.groupby("source"), strict=False
    ):
        newest = pd.to_datetime(rows["last_loaded_at"]).max()
        column.metric(
            f"{source} last loaded (UTC)",
            "never" if pd.isna(newest) else f"{newest:%Y-%m-%d %H:%M}",
        )
    st.dataframe(sources, hide_index=True)

    quarantine = marts.frame(
        'select source_table, rule, row_count as rows, example_record_id as "example record" '
        f"from {{meta}}.{QUARANTINE_TABLE} order by source_table, rule"
    )
    st.subheader("Quarantine")
    st.metric("Rows quarantined", f"{int(quarantine['rows'].sum()):,}")
    st.caption(
        "Rows that break a rule the lead contract tolerates: kept, but the offending value "
        "is not used. The values themselves stay in the warehouse's quarantine schema."
    )
    if not quarantine.empty:
        quarantine["why"] = quarantine["rule"].map(RULES).fillna("")
        st.dataframe(quarantine, hide_index=True)

st.subheader("Restatements")
if LEDGER not in publication.rows:
    st.info(
        "This publication carries no restatement ledger: it was published before the "
        "ledger existed. The next night's publication will."
    )
else:
    restated = marts.frame(
        'select period_start as period, grain, mart, kpi, old_value as "old value", '
        f'new_value as "new value", cause from {{marts}}.{LEDGER} where run_id = {{run}} '
        "order by period_start, grain, mart, kpi",
        run=publication.run_id,
    )
    st.metric("Past KPI values changed", f"{len(restated):,}")
    st.caption(
        "Figures of days and months before the night's as-of day that this publication "
        "changed against the previous one, and what the night knows of why: "
        "`late_history` (history rows loaded tonight for that period), `identity` (records "
        "that changed person), `erasure` (a person erased since), `source_delete` (records "
        "a source deleted), `contract_change` (the lead contract changed), else "
        f"`unattributed`. Every night's rows stay in `{LEDGER}`."
    )
    if not restated.empty:
        st.dataframe(restated, hide_index=True)

st.subheader("Tables published")
st.dataframe(
    pd.DataFrame(
        [
            {"table": table, "rows": publication.rows[table], "hash": publication.hashes[table]}
            for table in sorted(publication.rows)
        ]
    ),
    hide_index=True,
)
