"""Contract preview: the latest `make preview` report (preview/), the current contract
against a proposed one from a date on and restating all history. It reads the report
file, not the marts; the rules in force come from the published contract."""

import streamlit as st

from dashboard.page import start
from preview.report import NAME, SECTIONS, PreviewReport, change_summary, default_out, shown

marts = start("Contract preview")
[rules] = marts.frame(
    "select count(*) as rules from {marts}.dim_lead_contract "
    "where item_kind = 'rule' and is_in_force"
)["rules"]
st.metric("Rules in force", f"{int(rules):,}")
path = default_out() / f"{NAME}.json"
if not path.exists():
    st.info(
        "No contract preview yet. RevOps runs `make preview CONTRACT=<folder>` with a "
        "proposed contract (docs/contract-changes.md); its report shows here."
    )
    st.stop()
report = PreviewReport.read(path)


def table(records: list[dict]) -> None:
    """A report table as the report formats it."""
    columns, rows = shown(records)
    st.dataframe([dict(zip(columns, row, strict=True)) for row in rows], hide_index=True)


st.caption(
    f"Proposed contract {report.proposed}, compared with the working marts as of "
    f"{report.as_of} UTC; rules it changes: {', '.join(report.changed_rules) or 'none'}."
)
columns = st.columns(len(report.changes))
for column, (name, found) in zip(columns, report.changes.items(), strict=True):
    column.metric(f"People who change, {report.variants[name]}", f"{found['counts']['people']:,}")
st.subheader("People who change")
table(change_summary(report))
for name, found in report.changes.items():
    with st.expander(f"Sample, {report.variants[name]} (person keys)"):
        table(found["sample"])
for key, heading in SECTIONS:
    st.subheader(heading)
    table(report.tables[key])
