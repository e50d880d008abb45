"""Every `LEADBRIDGE_*` setting: its name, default and meaning, and the one reader of them.

`SETTINGS` is the table; README.md's and docs/operations.md's tables and the defaults of
dbt_project/profiles.yml are tested against it. `Settings.from_env()` takes the values
once, when a run or a call starts (never at import, so the next run sees a changed
environment); each value is parsed and checked by its setting's parser when it is read,
so a mistyped alert setting fails the alert, not the night. Nothing else reads these
variables, and nothing writes the environment.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dt_time
from types import MappingProxyType
from typing import Any

DUCKDB, POSTGRES, SPARK = "duckdb", "postgres", "spark"
TARGETS = (DUCKDB, POSTGRES, SPARK)
# Targets dbt builds on where the rest of the nightly job does not run (yet): what is
# missing, for the error. Empty since the nightly job runs on Spark (issue 21).
DBT_ONLY_TARGETS: dict[str, str] = {}
# libpq's values; it compares them case-sensitively, profiles.yml lower-cases them as here
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
PROGRESS = ("log", "off", "tqdm", "enlighten", "alive_progress")  # dlt's collectors, or none
# What the activation does per CRM (activation/): show the plan only, or write it.
PLAN, APPLY = "plan", "apply"
ACTIVATION_MODES = (PLAN, APPLY)
# The night of the week (Monday 0 … Sunday 6, of `as_of` in UTC) whose dbt build tests
# every row of the incremental models; the other nights test the rows they rebuilt
# (dbt var `full_tests`, dbt_project/macros/incremental.sql).
FULL_TESTS_WEEKDAY = 6


def tests_every_row(night: datetime) -> bool:
    """Whether the nightly dbt build for `night` (UTC) tests every row of the
    incremental models."""
    return night.weekday() == FULL_TESTS_WEEKDAY


class UnknownTarget(ValueError):
    """`LEADBRIDGE_TARGET` names no engine Leadbridge runs on."""


class DbtOnlyTarget(ValueError):
    """`LEADBRIDGE_TARGET` names an engine only dbt builds on so far."""


@dataclass(frozen=True)
class Setting:
    """One variable: its name, its default as written in the environment (None: unset,
    meaning "not configured"), what it does, and the parser of a value (None when unset)."""

    name: str
    default: str | None
    meaning: str
    parse: Callable[[Setting, str | None], Any] = field(repr=False)

    def value(self, raw: str | None) -> Any:
        """The parsed value of `raw` (None: the variable is unset)."""
        return self.parse(self, raw)


def _text(setting: Setting, raw: str | None) -> str | None:
    """Empty means unset."""
    return raw or setting.default


def _verbatim(setting: Setting, raw: str | None) -> str | None:
    """Only an unset variable takes the default; an empty one stays empty."""
    return setting.default if raw is None else raw


def _target(setting: Setting, raw: str | None) -> str:
    raw = raw or ""
    name = raw.strip().lower() or str(setting.default)
    if name not in TARGETS:
        raise UnknownTarget(
            f"{setting.name}={raw!r} is not a target Leadbridge runs on; "
            f"valid values: {', '.join(TARGETS)}"
        )
    return name


def _port(setting: Setting, raw: str | None) -> int:
    value = raw or str(setting.default)
    if not value.isdigit():
        raise ValueError(f"{setting.name}={value!r} is not a port number")
    return int(value)


def _sslmode(setting: Setting, raw: str | None) -> str:
    value = raw or str(setting.default)
    sslmode = value.strip().lower() or str(setting.default)
    if sslmode not in SSLMODES:
        raise ValueError(
            f"{setting.name}={value!r} is not an sslmode; valid values: {', '.join(SSLMODES)}"
        )
    return sslmode


def _number(setting: Setting, raw: str | None) -> float:
    value = str(setting.default) if raw is None else raw
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{setting.name}={value!r} is not a number") from None


def _positive(setting: Setting, raw: str | None) -> int:
    value = str(setting.default) if raw is None else raw
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{setting.name} must be a positive whole number, not {value!r}")
    return number


def _share(setting: Setting, raw: str | None) -> float:
    if not (raw or "").strip():
        return float(str(setting.default))
    try:
        share = float(str(raw))
    except ValueError:
        share = float("nan")
    if not 0 < share <= 1:  # also false for NaN
        raise ValueError(
            f"{setting.name}={raw!r}; give {setting.meaning.split(', in (0, 1]')[0]} as a "
            f"number greater than 0 and at most 1, e.g. {setting.default}"
        )
    return share


def _activation_mode(setting: Setting, raw: str | None) -> str:
    raw = raw or ""
    mode = raw.strip().lower() or str(setting.default)
    if mode not in ACTIVATION_MODES:
        raise ValueError(
            f"{setting.name}={raw!r}; valid values: {', '.join(ACTIVATION_MODES)} "
            f"({PLAN}: show what would be written, {APPLY}: write it)"
        )
    return mode


def _salesforce_user(setting: Setting, raw: str | None) -> str | None:
    value = (raw or "").strip()
    if not value:
        return None
    # a User's id; a queue (00G…) is what the setting stands in for and cannot own a Task
    if not (value.startswith("005") and len(value) in (15, 18) and value.isalnum()):
        raise ValueError(
            f"{setting.name}={raw!r} is not a Salesforce user id (15 or 18 characters "
            "starting with 005)"
        )
    return value


def _progress(setting: Setting, raw: str | None) -> str:
    raw = raw or ""
    progress = raw.strip().lower() or str(setting.default)  # "off" for quiet runs
    if progress not in PROGRESS:
        raise ValueError(f"{setting.name}={raw!r}; valid values: {', '.join(PROGRESS)}")
    return progress


def _timezone(setting: Setting, raw: str | None) -> str:
    value = str(setting.default) if raw is None else raw
    if value:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{setting.name}={value!r} is not a timezone; valid values: IANA names "
                "such as Europe/Berlin or UTC"
            ) from None
    return value


def _count(setting: Setting, raw: str | None) -> int | None:
    value = raw or setting.default
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{setting.name}={value!r} is not a whole number") from None


def _addresses(setting: Setting, raw: str | None) -> tuple[str, ...]:
    return tuple(a.strip() for a in (raw or "").split(",") if a.strip())


def _url(setting: Setting, raw: str | None) -> str:
    return str(_verbatim(setting, raw)).rstrip("/")


# The engine and where the warehouse is.
TARGET = Setting(
    "LEADBRIDGE_TARGET",
    DUCKDB,
    "the engine of the whole nightly job: duckdb, postgres or spark",
    _target,
)
WAREHOUSE = Setting(
    "LEADBRIDGE_WAREHOUSE",
    "data/leadbridge.duckdb",
    "the DuckDB warehouse file (the default is in the repository; leadbridge.paths)",
    _text,
)
PUBLISHED = Setting(
    "LEADBRIDGE_PUBLISHED",
    None,
    "the serving file BI tools read (unset: published/leadbridge_marts.duckdb beside the "
    "warehouse)",
    _text,
)
PG_HOST = Setting("LEADBRIDGE_PG_HOST", "localhost", "the PostgreSQL server", _text)
PG_PORT = Setting("LEADBRIDGE_PG_PORT", "5432", "its port", _port)
PG_USER = Setting("LEADBRIDGE_PG_USER", "leadbridge", "the user Leadbridge signs in as", _text)
PG_PASSWORD = Setting("LEADBRIDGE_PG_PASSWORD", "", "that user's password", _text)
PG_DATABASE = Setting("LEADBRIDGE_PG_DATABASE", "leadbridge", "the database", _text)
PG_SSLMODE = Setting("LEADBRIDGE_PG_SSLMODE", "prefer", "libpq's sslmode", _sslmode)
SPARK_WAREHOUSE = Setting(
    "LEADBRIDGE_SPARK_WAREHOUSE",
    "data/spark",
    "the folder of the Spark target's tables and Hive metastore",
    _text,
)
SPARK_MASTER = Setting(
    "LEADBRIDGE_SPARK_MASTER",
    "local[2]",
    "the Spark master the Leadbridge Spark server runs its executors on",
    _text,
)
SPARK_REMOTE = Setting(
    "LEADBRIDGE_SPARK_REMOTE",
    "sc://127.0.0.1:15002",
    "the Spark Connect address of the Leadbridge Spark server (python -m "
    "leadbridge.spark_server), which dbt, the checks and the publication use",
    _text,
)
SPARK_THRIFT_PORT = Setting(
    "LEADBRIDGE_SPARK_THRIFT_PORT",
    "10000",
    "the port of the Thrift server (JDBC/ODBC) the Spark server opens for BI tools",
    _port,
)
DUCKDB_MEMORY_LIMIT = Setting(
    "LEADBRIDGE_DUCKDB_MEMORY_LIMIT",
    "1.5GB",
    "DuckDB's memory_limit on every connection of a run, dbt's included",
    _verbatim,
)
# Loading and checking.
QUOTA_SHARE = Setting(
    "LEADBRIDGE_QUOTA_SHARE",
    "0.5",
    "the share of each system's daily API limit one night may spend, in (0, 1]",
    _share,
)
DLT_PROGRESS = Setting(
    "LEADBRIDGE_DLT_PROGRESS",
    "log",
    "dlt's progress display: off, or one of its collectors",
    _progress,
)
GX_CHUNK_ROWS = Setting(
    "LEADBRIDGE_GX_CHUNK_ROWS",
    "1000000",
    "rows per slice when a Great Expectations suite validates a large table",
    _positive,
)
CLOCK_SKEW_MINUTES = Setting(
    "LEADBRIDGE_CLOCK_SKEW_MINUTES",
    "60",
    "how far in the future a source timestamp may be before the raw checks fail it",
    _number,
)
VOLUME_DROP_MAX = Setting(
    "LEADBRIDGE_VOLUME_DROP_MAX",
    "0.5",
    "the share of its rows a raw table may lose between successful runs before it fails",
    _number,
)
# The schedule and `make run`. The night starts at NIGHTLY_AT in LEADBRIDGE_TIMEZONE: the
# schedule's cron and the dashboard's "did last night publish" both follow it.
NIGHTLY_AT = dt_time(2, 0)
TIMEZONE = Setting(
    "LEADBRIDGE_TIMEZONE", "Europe/Berlin", "timezone of the 02:00 nightly schedule", _timezone
)
AS_OF = Setting(
    "LEADBRIDGE_AS_OF",
    None,
    "the night `make run` and an erasure's rebuild describe (ISO timestamp; unset: now)",
    _text,
)
# Unset: the `sources` resource's own defaults (orchestration/defs/resources.py).
DEMO_PEOPLE = Setting("LEADBRIDGE_DEMO_PEOPLE", None, "people in the demo of `make run`", _count)
DEMO_MONTHS = Setting("LEADBRIDGE_DEMO_MONTHS", None, "months of its history", _count)
DEMO_SEED = Setting("LEADBRIDGE_DEMO_SEED", None, "its random seed", _count)
# Writing back to the CRMs (activation/, docs/activation.md).
ACTIVATE_SALESFORCE = Setting(
    "LEADBRIDGE_ACTIVATE_SALESFORCE",
    PLAN,
    "plan: show the Salesforce writes only; apply: make them",
    _activation_mode,
)
ACTIVATE_HUBSPOT = Setting(
    "LEADBRIDGE_ACTIVATE_HUBSPOT",
    PLAN,
    "plan: show the HubSpot writes only; apply: make them",
    _activation_mode,
)
FOLLOWUP_SLA_SHARE = Setting(
    "LEADBRIDGE_FOLLOWUP_SLA_SHARE",
    "0.5",
    "the share of its SLA hours an untouched hand-off may use before it gets a follow-up "
    "task, in (0, 1]",
    _share,
)
ACTIVATE_QUEUE_OWNER = Setting(
    "LEADBRIDGE_ACTIVATE_QUEUE_OWNER",
    None,
    "the Salesforce user who gets the follow-up tasks of hand-offs owned by a queue or by "
    "a rep who left (an inactive user)",
    _salesforce_user,
)
ACTIVATE_MAX_CHANGES = Setting(
    "LEADBRIDGE_ACTIVATE_MAX_CHANGES",
    "500",
    "a plan with more CRM writes than this is refused whole",
    _positive,
)
ACTIVATE_MAX_SHARE = Setting(
    "LEADBRIDGE_ACTIVATE_MAX_SHARE",
    "0.2",
    "the share of the records Leadbridge wrote before that one plan may change, in (0, 1]",
    _share,
)
# Where a failed run's alert goes.
ALERT_WEBHOOK = Setting(
    "LEADBRIDGE_ALERT_WEBHOOK", None, "a Slack-compatible webhook for run-failure alerts", _text
)
ALERT_EMAIL = Setting(
    "LEADBRIDGE_ALERT_EMAIL", None, "comma-separated recipients of run-failure alerts", _addresses
)
SMTP_HOST = Setting("LEADBRIDGE_SMTP_HOST", None, "the SMTP server of alert emails", _text)
SMTP_PORT = Setting("LEADBRIDGE_SMTP_PORT", "25", "its port", _count)
SMTP_FROM = Setting("LEADBRIDGE_SMTP_FROM", "", "the sender of alert emails", _text)
SMTP_USER = Setting("LEADBRIDGE_SMTP_USER", None, "SMTP login (with STARTTLS)", _text)
SMTP_PASSWORD = Setting("LEADBRIDGE_SMTP_PASSWORD", None, "its password", _text)
UI_URL = Setting(
    "LEADBRIDGE_UI_URL", "http://127.0.0.1:3000", "the Dagster UI a run link points to", _url
)

SETTINGS: tuple[Setting, ...] = (
    TARGET,
    WAREHOUSE,
    PUBLISHED,
    PG_HOST,
    PG_PORT,
    PG_USER,
    PG_PASSWORD,
    PG_DATABASE,
    PG_SSLMODE,
    SPARK_WAREHOUSE,
    SPARK_MASTER,
    SPARK_REMOTE,
    SPARK_THRIFT_PORT,
    DUCKDB_MEMORY_LIMIT,
    QUOTA_SHARE,
    DLT_PROGRESS,
    GX_CHUNK_ROWS,
    CLOCK_SKEW_MINUTES,
    VOLUME_DROP_MAX,
    TIMEZONE,
    AS_OF,
    DEMO_PEOPLE,
    DEMO_MONTHS,
    DEMO_SEED,
    ACTIVATE_SALESFORCE,
    ACTIVATE_HUBSPOT,
    FOLLOWUP_SLA_SHARE,
    ACTIVATE_QUEUE_OWNER,
    ACTIVATE_MAX_CHANGES,
    ACTIVATE_MAX_SHARE,
    ALERT_WEBHOOK,
    ALERT_EMAIL,
    SMTP_HOST,
    SMTP_PORT,
    SMTP_FROM,
    SMTP_USER,
    SMTP_PASSWORD,
    UI_URL,
)
BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in SETTINGS})


@dataclass(frozen=True)
class Settings:
    """The `LEADBRIDGE_*` values of one environment, each parsed when read."""

    # name → value as set; secrets among them, so never shown
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings of `environ` (default: this process's environment, now)."""
        env = os.environ if environ is None else environ
        return cls(MappingProxyType({s.name: env[s.name] for s in SETTINGS if s.name in env}))

    def __getitem__(self, setting: Setting) -> Any:
        """The parsed value of `setting`; ValueError naming the variable when invalid."""
        return setting.value(self.raw.get(setting.name))

    def is_set(self, setting: Setting) -> bool:
        """Whether `setting` has a value other than empty."""
        return bool(self.raw.get(setting.name))

    def problems(self) -> list[str]:
        """What is wrong with any of the values, one message per invalid variable."""
        found = []
        for setting in SETTINGS:
            try:
                self[setting]
            except ValueError as error:
                found.append(str(error))
        return found

    @property
    def target(self) -> str:
        """`duckdb`, `postgres` or `spark`."""
        return self[TARGET]

    @property
    def spark(self) -> dict[str, str]:
        """warehouse (folder), master, remote (Spark Connect URL) and thrift_port of the
        Spark target."""
        return {
            "warehouse": self[SPARK_WAREHOUSE],
            "master": self[SPARK_MASTER],
            "remote": self[SPARK_REMOTE],
            "thrift_port": self[SPARK_THRIFT_PORT],
        }

    @property
    def warehouse(self) -> str | None:
        """The configured warehouse file as written (None: the default, see paths)."""
        return self.raw.get(WAREHOUSE.name) or None

    @property
    def published(self) -> str | None:
        """The configured serving file as written (None: beside the warehouse)."""
        return self[PUBLISHED]

    @property
    def postgres(self) -> dict[str, Any]:
        """host, port, user, password, database and sslmode of the PostgreSQL warehouse."""
        return {
            "host": self[PG_HOST],
            "port": self[PG_PORT],
            "user": self[PG_USER],
            "password": self[PG_PASSWORD],
            "database": self[PG_DATABASE],
            "sslmode": self[PG_SSLMODE],
        }

    @property
    def duckdb_memory_limit(self) -> str:
        """DuckDB's `memory_limit` for every connection of a run."""
        return self[DUCKDB_MEMORY_LIMIT]

    @property
    def quota_share(self) -> float:
        """The share of each system's daily API quota one night may spend."""
        return self[QUOTA_SHARE]

    @property
    def dlt_progress(self) -> str:
        """dlt's progress collector, or `off`."""
        return self[DLT_PROGRESS]

    @property
    def gx_chunk_rows(self) -> int:
        """Rows per slice of a Great Expectations validation."""
        return self[GX_CHUNK_ROWS]

    @property
    def clock_skew_minutes(self) -> float:
        """Minutes a source timestamp may lie in the future."""
        return self[CLOCK_SKEW_MINUTES]

    @property
    def volume_drop_max(self) -> float:
        """The share of rows a raw table may lose between successful runs."""
        return self[VOLUME_DROP_MAX]

    @property
    def timezone(self) -> str:
        """The nightly schedule's timezone."""
        return self[TIMEZONE]

    @property
    def as_of(self) -> str | None:
        """The night a `make run` or an erasure's rebuild describes (None: now)."""
        return self[AS_OF]

    @property
    def demo(self) -> dict[str, int]:
        """The demo's size as configured: `demo_people`, `demo_months`, `demo_seed` (only
        those set)."""
        values = {
            "demo_people": self[DEMO_PEOPLE],
            "demo_months": self[DEMO_MONTHS],
            "demo_seed": self[DEMO_SEED],
        }
        return {key: value for key, value in values.items() if value is not None}

    @property
    def activation_modes(self) -> dict[str, str]:
        """`plan` or `apply` per CRM: {"salesforce": …, "hubspot": …}."""
        return {"salesforce": self[ACTIVATE_SALESFORCE], "hubspot": self[ACTIVATE_HUBSPOT]}

    @property
    def followup_sla_share(self) -> float:
        """The share of its SLA an untouched hand-off uses before it gets a follow-up task
        (the dbt var `followup_sla_share`)."""
        return self[FOLLOWUP_SLA_SHARE]

    @property
    def activate_queue_owner(self) -> str | None:
        """The Salesforce user id that gets the tasks of queue-owned hand-offs (None: such
        tasks are skipped)."""
        return self[ACTIVATE_QUEUE_OWNER]

    @property
    def activate_max_changes(self) -> int:
        """The most CRM writes one plan may hold."""
        return self[ACTIVATE_MAX_CHANGES]

    @property
    def activate_max_share(self) -> float:
        """The largest share of the records Leadbridge wrote before one plan may change."""
        return self[ACTIVATE_MAX_SHARE]

    @property
    def alert_webhook(self) -> str | None:
        """The alert webhook URL (a secret)."""
        return self[ALERT_WEBHOOK]

    @property
    def alert_email(self) -> tuple[str, ...]:
        """The alert recipients."""
        return self[ALERT_EMAIL]

    @property
    def smtp(self) -> dict[str, Any]:
        """host, port, sender, user and password of the SMTP server of alert emails."""
        return {
            "host": self[SMTP_HOST],
            "port": self[SMTP_PORT],
            "sender": self[SMTP_FROM],
            "user": self[SMTP_USER],
            "password": self[SMTP_PASSWORD],
        }

    @property
    def ui_url(self) -> str:
        """The base of a run's link, without a trailing slash."""
        return self[UI_URL]
