"""Running the dbt project on the hand-written raw scenario (tests/fixtures/raw_scenario.py).

Shared by the integration tests that build the scenario (DuckDB, PostgreSQL, PII): the
`dbt` command with the repo's profile and the pinned `AS_OF`, and the person keys the
identity rules give the scenario's people.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path

from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from tests.fixtures.raw_scenario import AS_OF, C8, L5, L6, L7, sfid
from tests.support.postgres import PostgresServer


def person(anchor: str) -> str:
    """The person key: md5 of the identity cluster's anchor (earliest record)."""
    return hashlib.md5(anchor.encode()).hexdigest()


ALICE = person("hubspot_contact:101")
BOB = person("hubspot_contact:202")  # the merged-away contact is older: it anchors Bob
CAROL = person("hubspot_contact:301")
DAN = person("hubspot_contact:401")
ERIN = person("hubspot_contact:501")
INFO_HUBSPOT = person("hubspot_contact:601")
FRANK = person(f"salesforce_lead:{L6}")
FIONA = person(f"salesforce_lead:{L7}")
GINA = person(f"salesforce_contact:{C8}")


# The night after AS_OF, and what it brings to the raw tables (SQL for DuckDB and
# PostgreSQL alike): a lead-history row for Erin's lead loaded late, dated 2026-01-12,
# before the look-back window (NEXT_NIGHT less 7 days); a merge (Bob's HubSpot contact
# gets Gina's Salesforce contact id); a removed record (Dan's working status, deleted in
# Salesforce).
NEXT_NIGHT = "2026-01-24 15:00:00"
LATE_HISTORY_ID = "017LATE"
DAN_STATUS = sfid("017", 11)
NEXT_NIGHT_CHANGES = [
    f"""insert into salesforce.lead_history
        (id, lead_id, field, old_value, new_value, is_deleted, created_by_id,
         created_date, _dlt_load_id, _dlt_id)
    values ('{LATE_HISTORY_ID}', '{L5}', 'Status', 'Nurturing', 'Working - Contacted', false,
            null, '2026-01-12 10:00:00+00', '1767225600.2', 'late-0')""",
    f"update hubspot.contacts set salesforcecontactid = '{C8}' where id = '201'",
    f"update salesforce.lead_history set is_deleted = true where id = '{DAN_STATUS}'",
]
# dbt selectors of the models from the raw tables NEXT_NIGHT_CHANGES touches to `models`.
NEXT_NIGHT_CHANGED = ["stg_salesforce__lead_history+", "stg_hubspot__contacts+"]


def between_changes_and(models: list[str]) -> list[str]:
    """The selectors of every model between the next night's changed raw tables and `models`."""
    return [f"{start},+{model}" for start in NEXT_NIGHT_CHANGED for model in models]


def incremental_tables(work: Path) -> dict[str, str]:
    """schema.table of every incremental model of the project dbt parsed into `work`."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {
        node["name"]: f"{node['schema']}.{node['alias']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }


def run_dbt(
    args: list[str],
    warehouse: Path,
    work: Path,
    project: Path = DBT_PROJECT_DIR,
    as_of: str = AS_OF,
    dbt_vars: dict[str, object] | None = None,
) -> str:
    """Run dbt with the repo's profile against `warehouse` as of the night `as_of` (and
    `dbt_vars` besides); target and logs stay in `work`."""
    env = {
        **os.environ,
        "LEADBRIDGE_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [str(DBT_EXECUTABLE), *dbt_arguments(args, work, project, as_of, dbt_vars)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=work)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return result.stdout


def dbt_arguments(
    args: list[str],
    work: Path,
    project: Path = DBT_PROJECT_DIR,
    as_of: str = AS_OF,
    dbt_vars: dict[str, object] | None = None,
) -> list[str]:
    """dbt's arguments after the executable: `args` with the repo's project and profile,
    target and logs in `work`, the night `as_of` and `dbt_vars` besides."""
    return [
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps({"as_of": as_of, **(dbt_vars or {})}),
    ]


def profile_output(target: str, environ: dict[str, str]) -> dict:
    """dbt's output `target` of profiles.yml rendered under `environ` alone."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    def render() -> dict:
        set_invocation_context(environ)
        raw = read_profile(str(DBT_PROJECT_DIR))
        return Profile.render_profile(raw["leadbridge"], "leadbridge", target, ProfileRenderer({}))[
            1
        ]

    # dbt keeps the environment it reads in a context variable: not left to later callers
    return contextvars.copy_context().run(render)


# The superuser tests/support/postgres.py initialises the throw-away server with; it
# connects over the server's unix socket without a password.
_PG_SUPERUSER = "postgres"


def postgres_admin(server: PostgresServer, database: str | None = None):
    """An autocommit superuser connection (unix socket) to `database` (default: the server's)."""
    import psycopg2

    connection = psycopg2.connect(
        host=str(server.socket_dir),
        port=server.port,
        user=_PG_SUPERUSER,
        dbname=database or server.database,
    )
    connection.autocommit = True
    return connection


def scenario_database(server: PostgresServer, name: str) -> PostgresServer:
    """A fresh database `name` on the server, owned by the test role, for one test module.

    Modules building the scenario each get their own database: the raw tables are created
    once per database. The test role may create roles, because the project's
    `on-run-start` creates the access roles (bi_reader, marketing, sales) when missing.
    """
    admin = postgres_admin(server, "postgres")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'alter role "{server.user}" createrole')
            cursor.execute(f'drop database if exists "{name}"')
            cursor.execute(f'create database "{name}" owner "{server.user}"')
    finally:
        admin.close()
    return replace(server, database=name)
