"""Whether this connection may read people's contact details, and if not, why.

The database is the authority: on PostgreSQL the role the dashboard runs as either has
SELECT on `published_restricted.person_contacts` or not; the DuckDB serving file holds
no contact data at all (docs/access-and-privacy.md). Pages ask here and hide what the
answer rules out, with the reason, instead of erroring.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard.data import Marts
from leadbridge.publication import RESTRICTED_SCHEMA, SERVING_SCHEMAS

CONTACTS_TABLE = "person_contacts"


@dataclass(frozen=True)
class ContactAccess:
    """The schema holding readable contact details, or the reason there is none."""

    schema: str | None
    reason: str

    @property
    def allowed(self) -> bool:
        return self.schema is not None


def contact_access(marts: Marts) -> ContactAccess:
    """What this connection may read of `person_contacts`, asked once per publication."""
    if marts.engine.postgres is None:
        return ContactAccess(
            None,
            "the DuckDB serving file holds no contact data; on PostgreSQL the marketing "
            "and sales roles read it",
        )
    return _postgres_access(marts.engine, marts.key)


@st.cache_data(show_spinner=False, max_entries=16)
def _postgres_access(_engine, key: str | None) -> ContactAccess:
    # `key` names the engine (host, database, user) and the publication
    schema = SERVING_SCHEMAS[RESTRICTED_SCHEMA]
    # the catalog, not a cast to regclass: that raises for a schema the role may not use
    with _engine.reader() as session:
        [(exists, granted)] = session.rows(
            "select count(*) > 0, coalesce(bool_and(has_schema_privilege(n.oid, 'usage') "
            "and has_table_privilege(c.oid, 'select')), false) "
            "from pg_catalog.pg_class as c "
            "join pg_catalog.pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = ? and c.relname = ?",
            [schema, CONTACTS_TABLE],
        )
    if not exists:
        return ContactAccess(None, f"no {schema}.{CONTACTS_TABLE} has been published")
    if not granted:
        return ContactAccess(
            None, f"the role this dashboard runs as may not read {schema} (marketing and sales may)"
        )
    return ContactAccess(schema, "")
