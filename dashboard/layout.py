"""Layout the pages share: a row of metrics of dashboard.figures."""

from collections.abc import Sequence

import streamlit as st

from dashboard.figures import Metric


def metric_row(metrics: Sequence[Metric]) -> None:
    """`metrics` side by side, one column each."""
    for column, metric in zip(st.columns(len(metrics)), metrics, strict=True):
        column.metric(metric.label, metric.value, metric.delta)
