"""The inputs fingerprint of a build (leadbridge/inputs.py): it moves with what the
build reads — raw content, erasures, the dbt project, the suites, the night — and with
nothing else (dlt's load ids)."""

import shutil

import duckdb
import pytest

from leadbridge.engine import Engine
from leadbridge.inputs import build_inputs, project_digest, tables_read_by
from leadbridge.quality.suites import load_suites

pytestmark = pytest.mark.integration

RAW = """
create schema hubspot;
create schema salesforce;
create table hubspot.contacts as select * from (values
  (1, 'ana@example.com', 2.5, 'load1', 'a'),
  (2, 'bo@example.com',  null, 'load1', 'b')
) t(id, email, hubspotscore, _dlt_load_id, _dlt_id);
create table hubspot._dlt_loads as select 'load1' as load_id, 0 as status;
create table salesforce.lead as select * from (values ('00Q1', 'Open', 'load1', 'c'))
  t(id, status, _dlt_load_id, _dlt_id);
"""
NIGHT = "2026-11-01 02:00:00"


@pytest.fixture
def engine(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(RAW)
    return Engine("duckdb", path)


def _after(engine, statement):
    with duckdb.connect(str(engine.file)) as con:
        con.execute(statement)
    return build_inputs(engine, NIGHT)


def test_the_same_warehouse_and_night_give_the_same_fingerprint(engine):
    assert build_inputs(engine, NIGHT) == build_inputs(engine, NIGHT)


def test_a_new_load_id_on_unchanged_content_changes_nothing(engine):
    before = build_inputs(engine, NIGHT)
    after = _after(
        engine,
        "update hubspot.contacts set _dlt_load_id = 'load2', _dlt_id = _dlt_id || 'x';"
        "insert into hubspot._dlt_loads values ('load2', 0)",
    )
    assert after == before


@pytest.mark.parametrize(
    "statement",
    [
        "update hubspot.contacts set email = 'ana@example.org' where id = 1",
        "update hubspot.contacts set hubspotscore = 2.6 where id = 1",
        "delete from hubspot.contacts where id = 2",
        "insert into hubspot.contacts select * from hubspot.contacts where id = 2",
        "create table salesforce.task as select 'T1' as id",
        "alter table salesforce.lead add column rating varchar",
        "create schema privacy; create table privacy.erasure_requests as select 1 as id",
    ],
)
def test_any_change_of_content_tables_or_erasures_changes_it(engine, statement):
    before = build_inputs(engine, NIGHT)
    assert _after(engine, statement) != before


def test_another_night_changes_it(engine):
    assert build_inputs(engine, NIGHT) != build_inputs(engine, "2026-11-01 02:00:01")


def test_a_model_seed_or_suite_edit_changes_the_project_digest(tmp_path):
    project, suites = tmp_path / "dbt_project", tmp_path / "expectations"
    (project / "models" / "marts").mkdir(parents=True)
    (project / "seeds").mkdir()
    (project / "target").mkdir()
    suites.mkdir()
    (project / "dbt_project.yml").write_text("name: x\n")
    (project / "models" / "marts" / "m.sql").write_text("select 1")
    (project / "seeds" / "s.csv").write_text("a\n1\n")
    (suites / "x__y.json").write_text("{}")
    digests = [project_digest(project, suites)]
    (project / "target" / "manifest.json").write_text("{}")  # dbt's output: not an input
    digests.append(project_digest(project, suites))
    assert digests[-1] == digests[0]
    for path, text in [
        (project / "models" / "marts" / "m.sql", "select 2"),
        (project / "seeds" / "s.csv", "a\n2\n"),
        (suites / "x__y.json", '{"a": 1}'),
        (project / "dbt_project.yml", "name: y\n"),
    ]:
        path.write_text(text)
        digests.append(project_digest(project, suites))
    assert len(set(digests)) == 5


def test_a_renamed_model_changes_the_project_digest(tmp_path):
    project, suites = tmp_path / "p", tmp_path / "s"
    (project / "models").mkdir(parents=True)
    suites.mkdir()
    (project / "models" / "a.sql").write_text("select 1")
    before = project_digest(project, suites)
    shutil.move(project / "models" / "a.sql", project / "models" / "b.sql")
    assert project_digest(project, suites) != before


def test_each_suite_names_the_raw_tables_its_query_reads():
    reads = {suite.name: tables_read_by(suite.query) for suite in load_suites()}
    assert reads["hubspot__email_events"] == ["hubspot.email_events"]
    assert reads["salesforce__lead"] == ["salesforce.lead"]
    assert reads["salesforce__opportunity"] == [
        "salesforce.account",
        "salesforce.contact",
        "salesforce.opportunity",
        "salesforce.opportunity_contact_role",
    ]
    assert reads["marts__dim_person"] == []  # not a raw table: never skipped
