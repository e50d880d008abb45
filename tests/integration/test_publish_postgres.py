"""`publish_postgres` on a throw-away server: what dbt marks `publish: false` stays out of
the serving schemas, tables and columns alike."""

import pytest

from leadbridge.publication import Unpublished, publish_postgres
from tests.support.dbt_scenario import scenario_database

pytestmark = pytest.mark.integration


def test_unpublished_tables_and_columns_stay_out_of_the_serving_schemas(postgres_server):
    server = scenario_database(postgres_server, "publish_hidden")
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("create schema marts")
        cursor.execute("create table marts.fct_x as select 1 as id, 'fp' as fingerprint")
        cursor.execute("create table marts.spine as select 1 as day")
        cursor.execute("create schema restricted")
        cursor.execute("create table restricted.contacts as select 1 as id, '555' as phone")
    hidden = Unpublished(
        tables=frozenset({("marts", "spine")}),
        columns={
            ("marts", "fct_x"): frozenset({"fingerprint"}),
            ("restricted", "contacts"): frozenset({"phone"}),
        },
    )
    publications = publish_postgres(server.engine_settings(), "run-1", hidden)
    assert publications["marts"].rows == {"fct_x": 1}
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('published', 'published_restricted') "
            "and table_name <> '_publication' order by 1, 2, ordinal_position"
        )
        columns = cursor.fetchall()
    assert columns == [
        ("published", "fct_x", "id"),
        ("published_restricted", "contacts", "id"),
    ]


def _serving_tables(cursor):
    """(schema, table) → (oid, ACL, rows as text) of every serving table but the record."""
    cursor.execute(
        "select n.nspname, c.relname, c.oid, coalesce(c.relacl::text[], '{}') "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname in ('published', 'published_restricted') and c.relkind = 'r' "
        "and c.relname <> '_publication' order by 1, 2"
    )
    tables = {}
    for schema, table, oid, acl in cursor.fetchall():
        cursor.execute(f'select t::text from "{schema}"."{table}" t order by 1')
        tables[(schema, table)] = (oid, sorted(acl), [row[0] for row in cursor.fetchall()])
    return tables


def _records(cursor):
    cursor.execute(
        "select table_schema, table_name, row_count, content_hash from published._publication "
        "union all select table_schema, table_name, row_count, content_hash "
        "from published_restricted._publication order by 1, 2"
    )
    return cursor.fetchall()


def _night(server, rewrite):
    """Publish night 1, change the working tables, publish night 2; the second
    publication, and the serving tables before and after it."""
    with server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("create schema marts")
        cursor.execute("create table marts.fct_x as select g as id from generate_series(1, 5) g")
        cursor.execute("create table marts.dim_same as select 1 as id, 'a' as name")
        cursor.execute("create table marts.dim_regranted as select 1 as id")
        cursor.execute("create schema restricted")
        cursor.execute("create table restricted.contacts as select 1 as id, 'x@y' as email")
        cursor.execute("grant select on marts.dim_same, marts.fct_x to pub_reader")
    publish_postgres(server.engine_settings(), "night-1", Unpublished())
    with server.connect() as connection, connection.cursor() as cursor:
        before = _serving_tables(cursor)
        cursor.execute("insert into marts.fct_x values (6)")
        cursor.execute("grant select on marts.dim_regranted to pub_reader")
    second = publish_postgres(server.engine_settings(), "night-2", Unpublished(), rewrite=rewrite)
    with server.connect() as connection, connection.cursor() as cursor:
        after, records = _serving_tables(cursor), _records(cursor)
    return second, before, after, records


def test_unchanged_tables_move_into_the_new_publication_and_it_equals_a_whole_copy(
    postgres_server,
):
    with postgres_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "do $$ begin if not exists (select from pg_roles where rolname = 'pub_reader') "
            "then create role pub_reader; end if; end $$"
        )
    moved = _night(scenario_database(postgres_server, "publish_moved"), False)
    copied = _night(scenario_database(postgres_server, "publish_copied"), True)
    publications, before, after, records = moved
    assert publications["marts"].written == ("dim_regranted", "fct_x")
    assert publications["restricted"].written == ()
    # the tables whose content and grants stayed are the same tables, moved
    for table in (("published", "dim_same"), ("published_restricted", "contacts")):
        assert after[table][0] == before[table][0]
    assert after[("published", "fct_x")][0] != before[("published", "fct_x")][0]
    assert set(copied[0]["marts"].written) == {"dim_regranted", "dim_same", "fct_x"}
    # what readers see, grants included, and the records equal a whole copy's
    assert {t: (acl, rows) for t, (_, acl, rows) in after.items()} == {
        t: (acl, rows) for t, (_, acl, rows) in copied[2].items()
    }
    assert any("pub_reader" in entry for entry in after[("published", "dim_regranted")][1])
    assert records == copied[3]
    for schema in ("marts", "restricted"):
        assert publications[schema].hashes == copied[0][schema].hashes
        assert publications[schema].rows == copied[0][schema].rows
