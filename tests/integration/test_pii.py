"""Personal data (PII): tagged in the dbt YAML, kept out of the BI-facing marts or hashed
there, readable in clear only by the `marketing` and `sales` roles.

The tags (`meta: {pii: clear | hashed | masked | none, pii_kind: …}` on columns, see
dbt_project/README.md) are read from the manifest of a real build of the hand-written
scenario (tests/fixtures/raw_scenario.py), whose raw tables hold names, emails, phones,
job titles, form free text and task subjects. What counts as a leak: a value of a
relation BI can read that equals a clear raw value (lower-cased, whitespace collapsed),
or contains one that could not occur by chance (an email, several words, a phone).

- PostgreSQL: as `bi_reader`, every tagged column of every relation (raw sources
  included) is either refused or, in the marts, hashed/masked with no clear value; the
  table privileges dbt applied are exactly the ones dbt_project.yml declares.
- DuckDB: the marts published with `publish_marts` hold no clear value in any text
  column, and nothing of `restricted`.
- Every column whose name looks personal, in every layer, carries a tag.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from leadbridge.publication import publish_marts
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import postgres_admin, run_dbt, scenario_database
from tests.support.postgres import PostgresServer, copy_duckdb_schemas

pytestmark = pytest.mark.integration

RAW_SCHEMAS = ("hubspot", "salesforce", "files")
MODEL_SCHEMAS = ("staging", "intermediate", "marts", "restricted", "quarantine", "activation")
ROLES = ("bi_reader", "marketing", "sales")
RESTRICTED_ROLES = ("marketing", "sales")
PII_VALUES = {"clear", "hashed", "masked", "work", "none"}
PII_KINDS = {"email", "name", "phone", "job_title", "free_text"}
PROTECTED = {"hashed", "masked"}
# An employee's work name, shown to colleagues as the CRM does (dim_owner.owner_name):
# not customer data, allowed in the marts, and nothing else may be tagged so.
WORK = {"work"}
WORK_COLUMNS = {("marts", "dim_owner", "owner_name")}
HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# The raw columns the GDPR erasure command works from: every personal value the
# connectors land. A new raw column with personal data must be added here and tagged.
RAW_PII = {
    "hubspot.contacts": {"email", "firstname", "lastname", "phone", "jobtitle"},
    "hubspot.owners": {"email", "first_name", "last_name"},
    "hubspot.form_submissions": {"email", "values"},
    "hubspot.email_events": {"recipient"},
    "salesforce.lead": {"first_name", "last_name", "email", "phone", "title"},
    "salesforce.contact": {"first_name", "last_name", "email", "phone", "title"},
    "hubspot.tasks": {"hs_task_subject"},
    "salesforce.task": {"subject"},
    "salesforce.event": {"subject"},
    "salesforce.user": {"name", "first_name", "last_name", "email", "title"},
    "files.list_members": {"email", "first_name", "last_name", "job_title"},
}

# Column-name words that suggest personal data, alone or as a pair ("first_name").
PERSONAL_WORDS = {
    "email",
    "recipient",
    "firstname",
    "lastname",
    "fullname",
    "username",
    "phone",
    "mobile",
    "fax",
    "address",
    "street",
    "birthdate",
    "subject",
    "description",
    "body",
    "note",
    "notes",
    "comment",
    "comments",
    "message",
    "title",
    "jobtitle",
    "values",
}
PERSONAL_PAIRS = {
    ("first", "name"),
    ("last", "name"),
    ("full", "name"),
    ("owner", "name"),
    ("contact", "name"),
    ("person", "name"),
    ("display", "name"),
    ("user", "name"),
}
# Ids, keys, timestamps, counts and flags *about* an email or name hold no personal value
# (`email_campaign_id`, `has_ambiguous_email`, `name_disagrees`).
NOT_A_VALUE_PREFIXES = {"is", "has"}
NOT_A_VALUE_SUFFIXES = {"id", "key", "at", "date", "count", "disagrees"}


def looks_personal(column: str) -> bool:
    words = column.lower().split("_")
    if words[0] in NOT_A_VALUE_PREFIXES or words[-1] in NOT_A_VALUE_SUFFIXES:
        return False
    return bool(PERSONAL_WORDS & set(words)) or bool(
        PERSONAL_PAIRS & set(zip(words, words[1:], strict=False))
    )


@dataclass(frozen=True)
class Tag:
    """One tagged column of a source or model, as the manifest has it."""

    schema: str
    table: str
    column: str
    pii: str
    kind: str | None
    is_source: bool

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"

    @property
    def sql(self) -> str:
        return f'select "{self.column}" from "{self.schema}"."{self.table}"'


def manifest_tags(manifest: dict) -> list[Tag]:
    tags = []
    nodes = [*manifest["nodes"].values(), *manifest["sources"].values()]
    for node in nodes:
        if node["resource_type"] not in ("model", "source", "seed", "snapshot"):
            continue
        table = node.get("identifier") if node["resource_type"] == "source" else node["alias"]
        for column in node["columns"].values():
            meta = column.get("meta") or column.get("config", {}).get("meta") or {}
            if "pii" in meta:
                tags.append(
                    Tag(
                        schema=node["schema"],
                        table=table,
                        column=column["name"],
                        pii=meta["pii"],
                        kind=meta.get("pii_kind"),
                        is_source=node["resource_type"] == "source",
                    )
                )
    return tags


def personal(tags: list[Tag]) -> list[Tag]:
    return [tag for tag in tags if tag.pii != "none"]


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def json_strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)
    elif isinstance(value, str):
        yield value


def clear_raw_values(raw: Path, tags: list[Tag]) -> set[str]:
    """Every clear personal value in the raw tables, normalised; JSON free text also by
    its string leaves, and first + last name of a row also written together."""
    values: set[str] = set()
    by_table: dict[tuple[str, str], list[Tag]] = {}
    for tag in tags:
        if tag.is_source and tag.pii == "clear":
            by_table.setdefault((tag.schema, tag.table), []).append(tag)
    with duckdb.connect(str(raw), read_only=True) as con:
        for (schema, table), table_tags in by_table.items():
            names = [tag.column for tag in table_tags]
            quoted = ", ".join(f'cast("{name}" as varchar)' for name in names)
            for row in con.execute(f'select {quoted} from "{schema}"."{table}"').fetchall():
                record = dict(zip(names, row, strict=True))
                for tag in table_tags:
                    value = record[tag.column]
                    if value is None:
                        continue
                    values.add(normalise(value))
                    if tag.kind == "free_text" and value.lstrip().startswith(("{", "[")):
                        values.update(normalise(s) for s in json_strings(json.loads(value)))
                first = next((v for k, v in record.items() if "first" in k and v), None)
                last = next((v for k, v in record.items() if "last" in k and v), None)
                if first and last:
                    values.add(normalise(f"{first} {last}"))
    values.discard("")
    return values


def distinctive(secret: str) -> bool:
    """Could not appear inside an unrelated text by chance (unlike a first name)."""
    digits = sum(character.isdigit() for character in secret)
    return len(secret) >= 6 and ("@" in secret or " " in secret or digits >= 4)


def leaked(value: object, clear: set[str]) -> str | None:
    """The clear raw value `value` reveals, if any."""
    if not isinstance(value, str):
        return None
    text = normalise(value)
    for secret in clear:
        if text == secret or (distinctive(secret) and secret in text):
            return secret
    return None


MODELS_ONLY = ["--exclude-resource-type", "test", "unit_test"]


@dataclass(frozen=True)
class DuckdbBuild:
    raw: Path
    warehouse: Path
    work: Path
    tags: list[Tag]
    clear: set[str]


@pytest.fixture(scope="module")
def duckdb_build(tmp_path_factory: pytest.TempPathFactory) -> DuckdbBuild:
    work = tmp_path_factory.mktemp("pii_duckdb")
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    warehouse = work / "warehouse.duckdb"
    shutil.copy(raw, warehouse)
    # models only: the data and unit tests run in test_dbt_scenario / test_dbt_postgres
    run_dbt(["build", *MODELS_ONLY], warehouse, work)
    tags = manifest_tags(json.loads((work / "target" / "manifest.json").read_text()))
    return DuckdbBuild(raw, warehouse, work, tags, clear_raw_values(raw, tags))


def test_the_name_heuristic_flags_personal_columns_and_not_ids_or_flags():
    assert all(
        looks_personal(name)
        for name in ["email", "owner_email", "first_name", "lastname", "phone", "subject"]
    )
    assert not any(
        looks_personal(name)
        for name in ["email_campaign_id", "has_ambiguous_email", "name_disagrees", "form_name"]
    )


def test_the_raw_personal_columns_are_tagged_for_erasure(duckdb_build):
    tags = duckdb_build.tags
    assert {tag.pii for tag in tags} <= PII_VALUES
    assert {tag.kind for tag in personal(tags)} <= PII_KINDS
    raw = {}
    for tag in personal(tags):
        if tag.is_source:
            raw.setdefault(tag.relation, set()).add(tag.column)
            assert tag.pii == "clear", tag  # raw data is never protected
    assert raw == RAW_PII
    # the clear values the other tests look for really are there
    assert {
        "alice@acme.com",
        "carol@gamma.com",  # stored as "Carol@Gamma.COM "
        "alice anders",
        "+1 555 0101",
        "sent erin evans the pricing sheet",
        "please call me back on +1 555 0101 after 3pm",
        "sam seller",
    } <= duckdb_build.clear
    assert leaked("Call back: Alice Anders", duckdb_build.clear) == "alice anders"


def test_every_column_that_looks_personal_is_tagged_and_every_tag_names_a_column(
    duckdb_build,
):
    schemas = [*RAW_SCHEMAS, *MODEL_SCHEMAS]
    with duckdb.connect(str(duckdb_build.warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema in (select unnest(?::varchar[]))",
            [schemas],
        ).fetchall()
    built = {(schema, table, column) for schema, table, column in columns}
    tagged = {(tag.schema, tag.table, tag.column) for tag in duckdb_build.tags}
    untagged = sorted(c for c in built if looks_personal(c[2]) and c not in tagged)
    assert untagged == []
    assert {schema for schema, _, _ in built} >= set(schemas)
    # a tag left behind on a renamed column would protect nothing
    assert sorted(tagged - built) == []


def test_the_marts_hold_no_clear_personal_column(duckdb_build):
    in_marts = [tag for tag in personal(duckdb_build.tags) if tag.schema == "marts"]
    assert {(tag.table, tag.column) for tag in in_marts} >= {
        ("dim_person", "email_hash"),
        ("dim_owner", "email_hash"),
    }
    assert [tag for tag in in_marts if tag.pii not in PROTECTED | WORK] == []
    work = {(tag.schema, tag.table, tag.column) for tag in duckdb_build.tags if tag.pii in WORK}
    assert work == WORK_COLUMNS


def test_the_published_serving_file_has_no_clear_personal_value_and_no_restricted_data(
    duckdb_build, tmp_path
):
    serving = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(duckdb_build.warehouse, serving, "pii-test")
    with duckdb.connect(str(serving), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
        text_columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where data_type = 'VARCHAR'"
        ).fetchall()
        values = {
            (schema, table, column): con.execute(
                f'select distinct "{column}" from "{schema}"."{table}" where "{column}" is not null'
            ).fetchall()
            for schema, table, column in text_columns
        }
    assert {schema for schema, _ in tables} == {"marts", "main"}
    assert ("marts", "dim_person") in tables
    leaks = {
        f"{schema}.{table}.{column}": secret
        for (schema, table, column), rows in values.items()
        if (schema, table, column) not in WORK_COLUMNS
        for (value,) in rows
        if (secret := leaked(value, duckdb_build.clear))
    }
    assert leaks == {}
    # the work names are the owners' names and nothing else (no customer's name)
    with duckdb.connect(str(duckdb_build.warehouse), read_only=True) as con:
        owner_names = {
            row[0]
            for row in con.execute(
                "select owner_name from restricted.owner_contacts where owner_name is not null"
            ).fetchall()
        }
    assert {value for (value,) in values[("marts", "dim_owner", "owner_name")]} == owner_names
    assert "Sam Seller" in owner_names
    # every personal column of the marts reaches BI in its protected form only
    published = set(values)
    for tag in personal(duckdb_build.tags):
        if tag.schema != "marts":
            continue
        assert tag.pii in PROTECTED | WORK, tag
        assert (tag.schema, tag.table, tag.column) in published, tag
        rows = values[(tag.schema, tag.table, tag.column)]
        assert rows, f"{tag.relation}.{tag.column} is empty: nothing was checked"
        if tag.pii == "hashed":
            assert all(HEX_SHA256.match(value) for (value,) in rows), tag


# --- PostgreSQL --------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_build(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: PostgresServer,
    duckdb_build: DuckdbBuild,
) -> PostgresServer:
    work = tmp_path_factory.mktemp("pii_postgres")
    server = scenario_database(postgres_server, "pii")
    copy_duckdb_schemas(duckdb_build.raw, server, RAW_SCHEMAS)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server.dbt_env().items():
            patch.setenv(key, value)
        # `warehouse` is unused by the postgres target
        run_dbt(["build", "--target", "postgres", *MODELS_ONLY], duckdb_build.warehouse, work)
        # a rebuilt table is a new table: the grants must come back with it
        run_dbt(
            ["run", "--target", "postgres", "--select", "dim_owner", "owner_contacts"],
            duckdb_build.warehouse,
            work,
        )
    admin = postgres_admin(server)
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "select nspname from pg_namespace"
                " where nspname not like 'pg\\_%' and nspname <> 'information_schema'"
            )
            schemas = [row[0] for row in cursor.fetchall()]
            # Publication, emulated: the publish step grants USAGE on the *published*
            # copies of marts (all three roles) and restricted (marketing, sales). Here
            # every role gets USAGE on every schema, so that only the table privileges
            # dbt applied stand between a role and a table — which is what is tested.
            for schema in schemas:
                cursor.execute(f'grant usage on schema "{schema}" to {", ".join(ROLES)}')
    finally:
        admin.close()
    return server


def read_as(server: PostgresServer, role: str, statements: list[str]) -> list[list | None]:
    """Each statement's rows as `role` sees them, or None when the role may not read."""
    import psycopg2.errors

    results: list[list | None] = []
    connection = postgres_admin(server)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"set role {role}")
            for statement in statements:
                try:
                    cursor.execute(statement)
                except psycopg2.errors.InsufficientPrivilege:
                    results.append(None)
                else:
                    results.append(cursor.fetchall())
    finally:
        connection.close()
    return results


def test_the_access_roles_exist_and_cannot_log_in(postgres_build):
    connection = postgres_admin(postgres_build)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select rolname, rolcanlogin from pg_roles where rolname = any(%s)", [list(ROLES)]
            )
            assert dict(cursor.fetchall()) == dict.fromkeys(ROLES, False)
    finally:
        connection.close()


def test_dbt_grants_select_on_the_marts_to_all_roles_and_on_restricted_to_two_only(
    postgres_build, duckdb_build
):
    connection = postgres_admin(postgres_build)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                select n.nspname, c.relname, r.rolname, acl.privilege_type
                from pg_class as c
                join pg_namespace as n on n.oid = c.relnamespace
                cross join lateral aclexplode(c.relacl) as acl
                join pg_roles as r on r.oid = acl.grantee
                where r.rolname = any(%s)""",
                [list(ROLES)],
            )
            granted = set(cursor.fetchall())
            cursor.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_schema in ('marts', 'restricted')"
            )
            tables = cursor.fetchall()
    finally:
        connection.close()
    expected = {
        (schema, table, role, "SELECT")
        for schema, table in tables
        for role in (ROLES if schema == "marts" else RESTRICTED_ROLES)
    }
    assert len([t for t in tables if t[0] == "restricted"]) == 3
    assert len([t for t in tables if t[0] == "marts"]) >= 15
    assert granted == expected


def test_bi_reader_reads_no_clear_personal_value_anywhere(postgres_build, duckdb_build):
    tags = personal(duckdb_build.tags)
    results = read_as(postgres_build, "bi_reader", [tag.sql for tag in tags])
    refused, readable = [], []
    for tag, rows in zip(tags, results, strict=True):
        if rows is None:
            refused.append(tag)
            continue
        readable.append(tag)
        assert tag.schema == "marts" and tag.pii in PROTECTED | WORK, f"bi_reader reads {tag}"
        assert rows, f"{tag.relation}.{tag.column} is empty: nothing was checked"
        if tag.pii in WORK:
            continue  # the owners' work names, checked in the DuckDB publication test
        for (value,) in rows:
            assert not leaked(value, duckdb_build.clear), (tag, value)
            if tag.pii == "hashed" and value is not None:
                assert HEX_SHA256.match(value), (tag, value)
    assert {tag.schema for tag in refused} == {*RAW_SCHEMAS, *MODEL_SCHEMAS} - {"marts"}
    assert {(tag.table, tag.column) for tag in readable} >= {
        ("dim_person", "email_hash"),
        ("dim_owner", "email_hash"),
    }


def test_bi_reader_reads_the_marts_and_no_other_layer(postgres_build):
    marts, raw, staging, intermediate, restricted, quarantine, contract, activation = read_as(
        postgres_build,
        "bi_reader",
        [
            "select person_id, current_stage from marts.dim_person",
            "select id from hubspot.contacts",
            "select contact_id from staging.stg_hubspot__contacts",
            "select person_id from intermediate.int_people__contacts",
            "select person_id from restricted.person_contacts",
            "select source_record_id from quarantine.quarantined_rows",
            "select stage_code from lead_contract.lead_contract__stages",
            "select person_id from activation.act_shared_status",
        ],
    )
    assert marts is not None and len(marts) == 9
    assert raw is None and staging is None and intermediate is None
    assert restricted is None and quarantine is None and contract is None
    assert activation is None


@pytest.mark.parametrize("role", RESTRICTED_ROLES)
def test_marketing_and_sales_read_the_restricted_contacts_and_the_marts(postgres_build, role):
    contacts, queue, owners, marts, staging, activation = read_as(
        postgres_build,
        role,
        [
            "select email, full_name, phone from restricted.person_contacts",
            "select full_name, owner_name from restricted.handoff_queue_contacts",
            "select owner_name from restricted.owner_contacts",
            "select email_hash from marts.dim_person",
            "select email from staging.stg_hubspot__contacts",
            "select subject from activation.act_followup_tasks",
        ],
    )
    assert ("alice@acme.com", "Alice Anders", "+1 555 0101") in contacts
    assert queue == [("Erin Evans", "Sam Seller")]
    assert ("Sam Seller",) in owners
    assert marts is not None and len(marts) == 9
    assert staging is None and activation is None
