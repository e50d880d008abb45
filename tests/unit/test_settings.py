"""The `LEADBRIDGE_*` settings: one table in leadbridge/settings.py, and the only reader of
them; every value is checked with an error naming the variable."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from leadbridge import settings as settings_module
from leadbridge.paths import DBT_PROJECT_DIR, DEFAULT_WAREHOUSE, REPO_ROOT
from leadbridge.settings import BY_NAME, GX_CHUNK_ROWS, SETTINGS, Setting, Settings
from tests.support.dbt_scenario import profile_output

pytestmark = pytest.mark.unit

PACKAGES = ("leadbridge", "orchestration", "ingestion", "simulator", "activation", "preview")
SETTINGS_MODULE = REPO_ROOT / "leadbridge" / "settings.py"
ENVIRONMENT = frozenset({"environ", "getenv", "putenv", "unsetenv"})
ENVIRONMENT_NAMES = ENVIRONMENT | {"env"}  # and the usual name of a copy of it


def _sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (REPO_ROOT / package).rglob("*.py")
        if path != SETTINGS_MODULE
    )


def _is_environment(node: ast.AST) -> bool:
    """`os.environ`, `os.getenv`, … or the same names imported from os."""
    if isinstance(node, ast.Attribute):
        return node.attr in ENVIRONMENT
    return isinstance(node, ast.Name) and node.id in ENVIRONMENT_NAMES


def _holders(tree: ast.Module) -> set[str]:
    """Names that hold a setting or its name: constants written with a `LEADBRIDGE_`
    literal, and the `Setting` records imported from the settings module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "leadbridge.settings":
            names |= {
                alias.asname or alias.name
                for alias in node.names
                if isinstance(getattr(settings_module, alias.name, None), Setting)
            }
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            if "LEADBRIDGE_" not in ast.unparse(node.value):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _names_a_setting(node: ast.AST, holders: set[str]) -> bool:
    """`node` mentions a `LEADBRIDGE_` name, or a name holding a setting or its name."""
    for part in ast.walk(node):
        if isinstance(part, ast.Constant) and "LEADBRIDGE_" in str(part.value):
            return True
        if isinstance(part, ast.Name) and part.id in holders:
            return True
    return False


def environment_reads(source: str, where: str, holders: frozenset[str] = frozenset()) -> list[str]:
    """`where:line` of each read of a `LEADBRIDGE_*` variable from the environment: an
    expression using `os.environ` / `getenv` (or an `environ` mapping) that names a
    setting, or a lookup `m.get(k)` / `m[k]` whose key names one."""
    tree = ast.parse(source)
    holders = _holders(tree) | holders
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = set()
    for node in ast.walk(tree):
        if _is_environment(node):
            top = node
            while not isinstance(parents.get(top), ast.stmt | None):
                top = parents[top]
            if _names_a_setting(top, holders):
                found.add(node.lineno)
        key = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("get", "pop", "setdefault") and node.args:
                key = node.args[0]
        elif isinstance(node, ast.Subscript):
            key = node.slice
        if key is not None and _names_a_setting(key, holders):
            found.add(node.lineno)
    return [f"{where}:{line}" for line in sorted(found)]


def _is_process_environment(node: ast.AST) -> bool:
    """`os.environ` or `environ` (imported from os)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ"
    return isinstance(node, ast.Name) and node.id == "environ"


def environment_writes(source: str, where: str) -> list[str]:
    """`where:line` of each change to the process environment: an item set or deleted,
    `setdefault`, `update`, `pop`, `clear`, or `os.putenv` / `os.unsetenv`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            if any(
                isinstance(t, ast.Subscript) and _is_process_environment(t.value) for t in targets
            ):
                found.add(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id
            if name in ("putenv", "unsetenv") or (
                isinstance(func, ast.Attribute)
                and name in ("setdefault", "update", "pop", "popitem", "clear")
                and _is_process_environment(func.value)
            ):
                found.add(node.lineno)
    return [f"{where}:{line}" for line in sorted(found)]


def test_no_module_writes_the_environment() -> None:
    writes = [
        write
        for path in [*_sources(), SETTINGS_MODULE]
        for write in environment_writes(path.read_text(), str(path.relative_to(REPO_ROOT)))
    ]
    assert writes == [], "pass values explicitly (dbt: Warehouse.dbt_arguments)"


@pytest.mark.parametrize(
    "line",
    [
        'os.environ["LEADBRIDGE_TARGET"] = "postgres"',
        "os.environ[name] += value",
        'del os.environ["X"]',
        'os.environ.setdefault("DAGSTER_HOME", "/h")',
        "os.environ.update(values)",
        'environ.pop("X", None)',
        'os.putenv("X", "1")',
    ],
)
def test_a_write_to_the_environment_is_reported(line: str) -> None:
    assert environment_writes(f"import os\n{line}\n", "m.py") == ["m.py:2"]


def test_a_copy_of_the_environment_may_be_changed() -> None:
    source = 'import os\nenv = {**os.environ, "X": "1"}\nenv["Y"] = "2"\nenv.update(a=1)\n'
    assert environment_writes(source, "m.py") == []


def test_no_module_but_the_settings_module_reads_a_leadbridge_variable() -> None:
    sources = {str(path.relative_to(REPO_ROOT)): path.read_text() for path in _sources()}
    # a constant imported from another module of ours counts too
    holders = frozenset().union(*(_holders(ast.parse(text)) for text in sources.values()))
    reads = [
        read for where, text in sources.items() for read in environment_reads(text, where, holders)
    ]
    assert reads == [], "read LEADBRIDGE_* through leadbridge.settings.Settings instead"


@pytest.mark.parametrize(
    "line",
    [
        'x = os.environ.get("LEADBRIDGE_TARGET", "")',
        'x = os.getenv("LEADBRIDGE_TARGET")',
        "x = os.environ[TARGET_ENV]",
        "x = int(env.get(TARGET_ENV) or 25)",
        "x = environ[TARGET.name]",
        "x = {k: os.environ[v] for v, k in DEMO_ENV.items() if os.environ.get(v)}",
    ],
)
def test_a_read_of_a_setting_is_reported_with_its_file_and_line(line: str) -> None:
    source = (
        "import os\nfrom leadbridge.settings import TARGET\n"
        'TARGET_ENV = "LEADBRIDGE_TARGET"\nDEMO_ENV = {"LEADBRIDGE_DEMO_SEED": "seed"}\n'
        f"\n{line}\n"
    )
    assert environment_reads(source, "m.py") == ["m.py:6"]


def test_other_variables_may_be_read() -> None:
    source = 'import os\nhome = os.environ.get("DAGSTER_HOME")\nv = values.get("x")\n'
    assert environment_reads(source, "m.py") == []


def test_every_setting_is_a_leadbridge_variable_declared_once_with_its_meaning() -> None:
    names = [setting.name for setting in SETTINGS]
    assert len(names) == len(set(names)) == len(BY_NAME)
    for setting in SETTINGS:
        assert re.fullmatch(r"LEADBRIDGE_[A-Z0-9_]+", setting.name)
        assert setting.meaning and "\n" not in setting.meaning


def test_every_default_is_a_valid_value() -> None:
    assert Settings.from_env({}).problems() == []
    for setting in SETTINGS:
        if setting.default is not None:
            assert setting.value(setting.default) == setting.value(None), setting.name


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADBRIDGE_TARGET", "snowflake", r"LEADBRIDGE_TARGET='snowflake'.*duckdb, postgres"),
        ("LEADBRIDGE_PG_PORT", "54x", r"LEADBRIDGE_PG_PORT='54x' is not a port number"),
        ("LEADBRIDGE_PG_SSLMODE", "on", r"LEADBRIDGE_PG_SSLMODE='on'.*verify-full"),
        ("LEADBRIDGE_QUOTA_SHARE", "2", r"LEADBRIDGE_QUOTA_SHARE='2'.*greater than 0"),
        ("LEADBRIDGE_DLT_PROGRESS", "quiet", r"LEADBRIDGE_DLT_PROGRESS='quiet'; valid values"),
        ("LEADBRIDGE_GX_CHUNK_ROWS", "0", r"LEADBRIDGE_GX_CHUNK_ROWS must be a positive"),
        ("LEADBRIDGE_VOLUME_DROP_MAX", "half", r"LEADBRIDGE_VOLUME_DROP_MAX='half' is not a"),
        ("LEADBRIDGE_CLOCK_SKEW_MINUTES", "1h", r"LEADBRIDGE_CLOCK_SKEW_MINUTES='1h' is not"),
        ("LEADBRIDGE_TIMEZONE", "Berlin/Europe", r"LEADBRIDGE_TIMEZONE='Berlin/Europe'.*IANA"),
        ("LEADBRIDGE_DEMO_PEOPLE", "many", r"LEADBRIDGE_DEMO_PEOPLE='many' is not a whole"),
        ("LEADBRIDGE_SMTP_PORT", "smtp", r"LEADBRIDGE_SMTP_PORT='smtp' is not a whole"),
    ],
)
def test_an_invalid_value_is_an_error_naming_the_variable(name, value, message) -> None:
    settings = Settings.from_env({name: value})
    with pytest.raises(ValueError, match=message):
        settings[BY_NAME[name]]
    assert len(settings.problems()) == 1


def test_an_invalid_value_fails_only_where_it_is_read() -> None:
    settings = Settings.from_env({"LEADBRIDGE_SMTP_PORT": "smtp"})
    assert settings.target == "duckdb" and settings.gx_chunk_rows == 1_000_000


def test_the_environment_is_read_when_settings_are_asked_for(monkeypatch) -> None:
    monkeypatch.setenv(GX_CHUNK_ROWS.name, "250000")
    assert Settings.from_env().gx_chunk_rows == 250_000
    monkeypatch.delenv(GX_CHUNK_ROWS.name)
    assert Settings.from_env().gx_chunk_rows == 1_000_000


def test_secrets_never_show_in_the_settings_repr() -> None:
    settings = Settings.from_env({"LEADBRIDGE_PG_PASSWORD": "s3cret", "LEADBRIDGE_X": "y"})
    assert "s3cret" not in repr(settings)
    assert settings.raw == {"LEADBRIDGE_PG_PASSWORD": "s3cret"}  # only declared settings


def test_the_demo_and_the_night_of_make_run_come_from_the_settings() -> None:
    from orchestration.run_nightly import demo_run_config

    environ = {"LEADBRIDGE_DEMO_PEOPLE": "60", "LEADBRIDGE_DEMO_SEED": "", "LEADBRIDGE_AS_OF": "x"}
    assert demo_run_config(Settings.from_env(environ)) == {
        "resources": {"sources": {"config": {"demo_people": 60}}},
        "ops": {"dbt_build": {"config": {"as_of": "x"}}},
    }
    assert demo_run_config(Settings.from_env({})) == {}


def test_every_variable_profiles_yml_reads_is_a_setting() -> None:
    read = re.findall(r"env_var\('([A-Z0-9_]+)'", (DBT_PROJECT_DIR / "profiles.yml").read_text())
    assert read and set(read) <= set(BY_NAME)


def test_profiles_yml_has_the_defaults_of_the_settings_module() -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEADBRIDGE_")}
    settings = Settings.from_env({})
    duckdb = profile_output(settings.target, environ)
    assert duckdb["type"] == settings.target
    assert (DBT_PROJECT_DIR / duckdb["path"]).resolve() == DEFAULT_WAREHOUSE
    assert duckdb["settings"]["memory_limit"] == settings.duckdb_memory_limit
    postgres = profile_output("postgres", environ)
    rendered = {key: postgres[key] for key in ("host", "port", "user", "password", "sslmode")}
    assert {**rendered, "database": postgres["dbname"]} == settings.postgres
    spark = profile_output("spark", environ)["server_side_parameters"]
    assert spark["spark.remote"] == settings.spark["remote"]
    assert "spark.master" not in spark  # the Spark server's, never dbt's


# The tables that document the settings: README's and, for the rest, docs/operations.md's.
SETTING_TABLES = (("README.md", "## Configuration"), ("docs/operations.md", "## Settings"))


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The cells of the first table under `heading` (header and rule left out)."""
    section = f"\n{text}".split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(section) if line.startswith("|"))
    end = next((i for i in range(start, len(section)) if not section[i].startswith("|")), None)
    lines = section[start:end]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def documented_settings(text: str, heading: str) -> dict[str, str | None]:
    """`LEADBRIDGE_*` name → the default its table shows (None: unset; "?": shown as text).
    A cell `` `LEADBRIDGE_PG_HOST` / `_PORT` `` names two; the defaults match in order."""
    found: dict[str, str | None] = {}
    for cells in _table_rows(text, heading):
        names, previous = [], ""
        for token in re.findall(r"`([^`]+)`", cells[0]):
            name = previous.rsplit("_", 1)[0] + token if token.startswith("_") else token
            names.append(name)
            previous = name if name.startswith("LEADBRIDGE_") else previous
        parts = [part.strip() for part in cells[1].split(" / ")]
        if len(parts) != len(names):
            parts = [cells[1].strip()] * len(names)
        for name, part in zip(names, parts, strict=True):
            if not name.startswith("LEADBRIDGE_"):
                continue  # DAGSTER_HOME and dlt's SOURCES__… settings are not ours
            assert name not in found, f"{name} is listed twice under {heading}"
            literal = re.fullmatch(r"`([^`]*)`", part)
            found[name] = (
                literal.group(1)
                if literal
                else ""
                if part == "empty"
                else None
                if part.startswith("unset")
                else "?"
            )
    return found


def test_every_setting_is_documented_once_with_its_default() -> None:
    tables = [
        documented_settings((REPO_ROOT / path).read_text(), heading)
        for path, heading in SETTING_TABLES
    ]
    documented = [name for table in tables for name in table]
    assert sorted(documented) == sorted(BY_NAME), "a setting missing, unknown or listed twice"
    for table in tables:
        for name, default in table.items():
            assert default == BY_NAME[name].default, f"{name}: documented default {default!r}"


def test_the_table_reader_expands_grouped_names_and_their_defaults() -> None:
    text = (
        "## Configuration\n\n| setting | default | what |\n|---|---|---|\n"
        "| `LEADBRIDGE_PG_HOST` / `_PORT` / `_PASSWORD` | `localhost` / `5432` / empty | pg |\n"
        "| `SOURCES__X__TOKEN` / `..._ID` | unset | dlt's |\n"
        "| `LEADBRIDGE_AS_OF` | unset → now | night |\n"
    )
    assert documented_settings(text, "## Configuration") == {
        "LEADBRIDGE_PG_HOST": "localhost",
        "LEADBRIDGE_PG_PORT": "5432",
        "LEADBRIDGE_PG_PASSWORD": "",
        "LEADBRIDGE_AS_OF": None,
    }


def test_sunday_nights_test_every_row_and_other_nights_the_rebuilt_ones():
    from datetime import datetime

    from leadbridge.settings import tests_every_row

    week = [datetime(2026, 11, day, 1, 59, 59) for day in range(2, 9)]  # Monday … Sunday
    assert [tests_every_row(night) for night in week] == [False] * 6 + [True]
