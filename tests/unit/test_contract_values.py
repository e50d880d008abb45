"""The raw suites' "mapped by the contract" values are the keys dbt matches on: the Python
side (`contract_values`) applies the rule `int_lead_contract__stage_mappings` writes."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from leadbridge.paths import DBT_PROJECT_DIR
from leadbridge.quality.suites import contract_values

pytestmark = pytest.mark.unit

MODEL = DBT_PROJECT_DIR / "models/intermediate/contract/int_lead_contract__stage_mappings.sql"


def _dbt_keys(seed: Path) -> dict[tuple[str, str], list[str]]:
    """The model's own `source_value_key` expression, run on the seed file, by system and
    field."""
    expression = re.search(r"^\s*(.+?) as source_value_key,", MODEL.read_text(), re.M)
    assert expression, "int_lead_contract__stage_mappings no longer names source_value_key"
    rows = duckdb.sql(
        f"select source_system, source_field, {expression.group(1)} "
        f"from read_csv('{seed}', all_varchar = true) as mappings"
    ).fetchall()
    keys: dict[tuple[str, str], set[str]] = {}
    for system, field, key in rows:
        keys.setdefault((system, field), set()).add(key)
    return {name: sorted(found) for name, found in keys.items()}


def _same_values(seed: Path) -> None:
    python, dbt = contract_values(seed), _dbt_keys(seed)
    assert len(python) == len(dbt)  # one suite parameter per system and field
    assert sorted(python.values()) == sorted(dbt.values())


def test_the_seeds_mapped_values_are_dbts_keys() -> None:
    _same_values(DBT_PROJECT_DIR / "seeds/lead_contract/lead_contract__stage_mappings.csv")


def test_values_with_odd_case_and_spaces_match_as_in_dbt(tmp_path: Path) -> None:
    seed = tmp_path / "mappings.csv"
    seed.write_text(
        "source_system,source_field,source_value,canonical_stage\n"
        "salesforce,Status,  Working - Contacted ,sal\n"
        "hubspot,lifecyclestage,MarketingQualifiedLead,mql\n"
    )
    _same_values(seed)
    assert contract_values(seed)["contract_salesforce_status"] == ["working - contacted"]
