"""The trust record informs the Data trust page: a failure to read it is a warning, and
the marts that passed their checks are published without it."""

from types import SimpleNamespace

import pytest

from orchestration.defs import publish

pytestmark = pytest.mark.unit


def test_a_trust_record_that_cannot_be_read_is_a_warning_not_a_failed_publication(monkeypatch):
    warnings = []
    context = SimpleNamespace(
        instance=None, log=SimpleNamespace(warning=warnings.append, info=print)
    )

    def unreadable(*args, **kwargs):
        raise RuntimeError("raw table hubspot.tasks has no _dlt_load_id")

    monkeypatch.setattr(publish, "check_outcomes", lambda instance, checks: [])
    monkeypatch.setattr(publish, "trust_record", unreadable)
    assert publish.published_trust(context, engine=None, manifest=None) is None
    assert len(warnings) == 1 and "has no _dlt_load_id" in warnings[0]
    assert "publishing without a trust record" in warnings[0]
