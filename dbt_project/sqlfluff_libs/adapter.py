"""`adapter` for sqlfluff's jinja templater: dispatch picks duckdb__, then default__."""

from jinja2 import pass_context


@pass_context
def dispatch(context, macro_name, macro_namespace=None):
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise LookupError(f"adapter.dispatch: no duckdb__ or default__ {macro_name} macro")


def type():
    return "duckdb"


def get_relation(database=None, schema=None, identifier=None):
    """No database at lint time: no relation exists."""
    return None


def quote(identifier):
    return f'"{identifier}"'
