"""What dbt puts in a model's Jinja context, for sqlfluff's jinja templater.

sqlfluff lints the models without dbt or a database (dbt_project/.sqlfluff): the project's
own macros are loaded from macros/, sqlfluff supplies ref, source, config, this and
is_incremental, and this package the rest: var (the project's vars, as in production),
dbt.* cross-database macros rendered as on DuckDB, adapter.dispatch and exceptions.
"""

from pathlib import Path

import yaml

from . import adapter, dbt, exceptions

_PROJECT_VARS = yaml.safe_load((Path(__file__).parent.parent / "dbt_project.yml").read_text())[
    "vars"
]


def var(name, default=None):
    return _PROJECT_VARS.get(name, default)


__all__ = ["adapter", "dbt", "exceptions", "var"]
