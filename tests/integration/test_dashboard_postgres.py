"""The dashboard on PostgreSQL, signed in as a member of each access role: the database
decides. A `bi_reader` member sees no contact data on any page and cannot search by
name or email; a `sales` member sees the person's email on the Lead history page and
finds people by name."""

from __future__ import annotations

import pytest

from dashboard.navigation import DATA_TRUST, LEAD_HISTORY, PAGES
from leadbridge.engine import Engine
from leadbridge.publication import Unpublished, publish_postgres
from leadbridge.settings import POSTGRES
from leadbridge.trust import PASSED, CheckOutcome, trust_record
from tests.fixtures.raw_scenario import L1, create_raw_scenario
from tests.support.dashboard import MODELS_ONLY, app, metric
from tests.support.dbt_scenario import postgres_admin, run_dbt, scenario_database
from tests.support.postgres import copy_duckdb_schemas

pytestmark = pytest.mark.integration

RAW_SCHEMAS = ("hubspot", "salesforce", "files")
PASSWORD = "dashboard-test"
# a login user per role, as people and service accounts are granted the group roles
MEMBERS = {"bi_reader": "dash_bi", "marketing": "dash_marketing", "sales": "dash_sales"}


@pytest.fixture(scope="module")
def published_postgres(tmp_path_factory, postgres_server):
    work = tmp_path_factory.mktemp("dashboard_postgres")
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    server = scenario_database(postgres_server, "dashboard")
    copy_duckdb_schemas(raw, server, RAW_SCHEMAS)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server.dbt_env().items():
            patch.setenv(key, value)
        run_dbt(["build", "--target", "postgres", *MODELS_ONLY], raw, work)
    manifest = work / "target" / "manifest.json"
    hidden = Unpublished.from_manifest(manifest)
    warehouse = Engine(POSTGRES, work / "unused.duckdb", server.engine_settings())
    checks = [CheckOutcome("marts/fct_sla", "gx_fct_sla", PASSED, True, "night-1")]
    trust = trust_record(warehouse, manifest, checks)
    publish_postgres(server.engine_settings(), "night-1", hidden, trust)
    admin = postgres_admin(server)
    try:
        with admin.cursor() as cursor:
            for role, user in MEMBERS.items():
                cursor.execute(f"drop role if exists {user}")
                cursor.execute(f"create role {user} login password %s in role {role}", [PASSWORD])
            cursor.execute(
                "select c.email, c.full_name, c.person_id "
                "from published_restricted.person_contacts as c "
                "join published.fct_lead_events as e on e.person_id = c.person_id "
                "where e.source_record_id = %s limit 1",
                [L1],
            )
            contact = cursor.fetchone()
    finally:
        admin.close()
    return server, contact


@pytest.fixture
def signed_in(published_postgres, monkeypatch):
    """Point the dashboard at the PostgreSQL publication as the member of `role`."""
    server, contact = published_postgres

    def sign_in(role: str) -> None:
        for key, value in server.dbt_env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("LEADBRIDGE_TARGET", "postgres")
        monkeypatch.setenv("LEADBRIDGE_PG_SSLMODE", "disable")
        monkeypatch.setenv("LEADBRIDGE_PG_USER", MEMBERS[role])
        monkeypatch.setenv("LEADBRIDGE_PG_PASSWORD", PASSWORD)

    return sign_in, contact


def page_text(at) -> str:
    """Everything a page shows as text: metrics, tables, captions, messages."""
    parts = [m.value for m in at.metric] + [m.label for m in at.metric]
    parts += [e.value for kind in ("caption", "markdown", "info", "warning") for e in at.get(kind)]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(str(part) for part in parts)


def test_a_bi_reader_member_sees_no_contact_data_on_any_page(signed_in):
    sign_in, (email, name, person) = signed_in
    sign_in("bi_reader")
    for script, _ in PAGES:
        at = app(script)
        assert not at.error, (script, [e.value for e in at.error])
        shown = page_text(at)
        assert email not in shown and name not in shown, script
    at = app(LEAD_HISTORY)
    assert at.text_input[0].label == "Person key or record id"
    at.text_input[0].input(L1).run()
    assert not at.exception
    shown = page_text(at)
    assert person in shown and email not in shown and name not in shown
    assert "may not read published_restricted" in shown
    at.text_input[0].input(email).run()
    assert [i.value for i in at.info] == [f"No person matches {email!r}."]
    # the trust record was published with the marts' grants
    at = app(DATA_TRUST)
    assert metric(at, "Checks passed") == "1"
    assert not at.info


@pytest.mark.parametrize("role", ["sales", "marketing"])
def test_a_sales_or_marketing_member_sees_the_persons_email_and_finds_them_by_name(signed_in, role):
    sign_in, (email, name, person) = signed_in
    sign_in(role)
    at = app(LEAD_HISTORY)
    assert at.text_input[0].label == "Person key, record id, name or email"
    for typed in (L1, email.upper(), name.split()[-1].lower()):
        at.text_input[0].input(typed).run()
        assert not at.exception, typed
        if at.selectbox:  # a last name several people share
            at.selectbox[0].set_value(person).run()
        contact = at.dataframe[0].value
        assert contact["email"].tolist() == [email], typed
        assert f"Person key `{person}`" in page_text(at)
        assert metric(at, "Current stage")
