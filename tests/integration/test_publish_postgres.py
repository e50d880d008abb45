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
