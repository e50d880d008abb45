"""The figures a preview puts side by side, in SQL on the copy's snapshot schemas.

Every figure is computed per variant (`preview_current`, `preview_from`, …) by the same
statement and joined on its keys: months (UTC) of the first MQL, first SQL and hand-off;
owners at hand-off; source channels; campaigns per attribution model. People are named
by person key only: the report leaves the copy, the raw data does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leadbridge.engine import Session
from preview.scratch import CURRENT, snapshot_schema

SAMPLE_PEOPLE = 20
NO_OWNER = "(no owner)"
NO_SOURCE = "(no source)"

# `{month}` and `{minute}` are the engine's text of a timestamp (see `texts`).
MONTHLY = """
with mqls as (
    select date_trunc('month', first_mql_at) as month, count(*) as mqls,
           count(*) filter (where converted_mql_to_sql) as mqls_to_sql
    from {s}.fct_funnel where first_mql_at is not null group by 1
), sqls as (
    select date_trunc('month', first_sql_at) as month, count(*) as sqls
    from {s}.fct_funnel where first_sql_at is not null group by 1
), sla as (
    select date_trunc('month', handoff_at) as month,
           count(*) filter (where sla_status = 'met') as sla_met,
           count(*) filter (where sla_status = 'breached') as sla_breached
    from {s}.fct_sla group by 1
)
select {month} as month, coalesce(mqls, 0) as mqls, coalesce(sqls, 0) as sqls,
       1.0 * mqls_to_sql / nullif(mqls, 0) as mql_to_sql_rate,
       1.0 * sla_met / nullif(sla_met + sla_breached, 0) as sla_compliance
from mqls full join sqls using (month) full join sla using (month)
"""
SLA_BY_OWNER = """
select {month} as month, owner,
       count(*) filter (where sla_status in ('met', 'breached')) as judged,
       1.0 * count(*) filter (where sla_status = 'met')
           / nullif(count(*) filter (where sla_status in ('met', 'breached')), 0)
           as sla_compliance
from (
    select date_trunc('month', sla.handoff_at) as month, sla.sla_status,
           coalesce(owner.owner_name, sla.owner_key_at_handoff, '{no_owner}') as owner
    from {s}.fct_sla as sla
    left join {s}.dim_owner as owner on owner.owner_key = sla.owner_key_at_handoff
) as handoffs
group by 1, 2
"""
FUNNEL_BY_SOURCE = """
select coalesce(person.source_channel, '{no_source}') as source,
       count(*) filter (where funnel.is_mql_reached) as mql,
       count(*) filter (where funnel.is_sal_reached) as sal,
       count(*) filter (where funnel.is_sql_reached) as sql,
       count(*) filter (where funnel.is_opportunity_reached) as opportunity,
       count(*) filter (where funnel.is_customer_reached) as customer
from {s}.fct_funnel as funnel
join {s}.dim_person as person on person.person_id = funnel.person_id
group by 1
"""
ATTRIBUTION = """
select credit.attribution_model as model,
       coalesce(campaign.campaign_name, credit.campaign_key) as campaign,
       sum(credit.credit) / sum(sum(credit.credit)) over (partition by credit.attribution_model)
           as share
from {s}.fct_attribution as credit
left join {s}.dim_campaign as campaign on campaign.campaign_key = credit.campaign_key
group by 1, 2
"""
PEOPLE = """
select funnel.person_id, funnel.first_mql_at, funnel.first_sql_at, outcomes.sla
from {s}.fct_funnel as funnel left join (
    select person_id, string_agg({minute} || ' ' || sla_status, '; ' order by handoff_at) as sla
    from {s}.fct_sla group by 1
) as outcomes on outcomes.person_id = funnel.person_id
"""
CHANGE_KINDS = {"mql": "first MQL date", "sql": "first SQL date", "sla": "SLA outcome"}


def texts(engine: str) -> dict[str, str]:
    """The month of the column `month` and the minute of `handoff_at` as text, per engine."""
    if engine == "postgres":
        return {
            "month": "to_char(month, 'YYYY-MM')",
            "minute": "to_char(handoff_at, 'YYYY-MM-DD HH24:MI')",
        }
    return {"month": "strftime(month, '%Y-%m')", "minute": "strftime(handoff_at, '%Y-%m-%d %H:%M')"}


def _statement(session: Session, template: str, variant: str) -> str:
    return template.format(
        s=snapshot_schema(variant), no_owner=NO_OWNER, no_source=NO_SOURCE, **texts(session.engine)
    )


def changed_people(session: Session, variant: str) -> pd.DataFrame:
    """Every person whose first MQL date, first SQL date or SLA outcomes (each hand-off's
    time and status) change in `variant` against the night's marts."""
    statement = (
        "select coalesce(night.person_id, new.person_id) as person_id, "
        "night.first_mql_at as mql_before, new.first_mql_at as mql_after, "
        "night.first_sql_at as sql_before, new.first_sql_at as sql_after, "
        "night.sla as sla_before, new.sla as sla_after "
        f"from ({_statement(session, PEOPLE, CURRENT)}) as night "
        f"full join ({_statement(session, PEOPLE, variant)}) as new "
        "on new.person_id = night.person_id "
        "where night.first_mql_at is distinct from new.first_mql_at "
        "or night.first_sql_at is distinct from new.first_sql_at "
        "or night.sla is distinct from new.sla order by 1"
    )
    return session.frame(statement)


def side_by_side(
    session: Session,
    statement: str,
    keys: Sequence[str],
    variants: Sequence[str],
) -> pd.DataFrame:
    """`statement` run on each variant's snapshot, joined on `keys`: one column per
    measure and variant (`mqls current`, `mqls from`, …); a key missing from a variant
    counts nothing there."""
    merged: pd.DataFrame | None = None
    for variant in variants:
        frame = session.frame(_statement(session, statement, variant))
        frame = frame.rename(columns={c: f"{c} {variant}" for c in frame.columns if c not in keys})
        merged = frame if merged is None else merged.merge(frame, on=list(keys), how="outer")
    assert merged is not None
    return merged.sort_values(list(keys)).reset_index(drop=True)
