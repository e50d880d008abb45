"""dbt's command line for a nightly build: the project parsed without the night, built with it.

dbt parses the whole project again whenever a `--vars` value differs from the last
parse's, and `as_of` differs every night. When nothing dbt parses reads `as_of` (only
SQL compiled at run time does), the project can be parsed with the other vars, which
dbt's partial parsing reuses from night to night, and built on that manifest with every
var (`dbtRunner`): the nightly dbt step runs it (orchestration/defs/resources.py).
tests/integration/test_dbt_cli.py fails when something dbt parses reads the night.
The parse writes no manifest.json (the build writes its own), and dbt.log keeps dbt's
info lines only, unless the arguments ask for a `--log-level-file`.
`python -m leadbridge.dbt_cli <dbt arguments>`; exits as dbt does: 0, 1 (a node failed), 2.
"""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Sequence

from dbt.cli.main import dbtRunner, dbtRunnerResult
from dbt.config.utils import parse_cli_vars

# Vars read only when a model is compiled, never when the project is parsed.
NIGHT_VARS = ("as_of",)
# The options of a command that `dbt parse` takes too and that change what it parses.
_PARSE_OPTIONS = ("--project-dir", "--profiles-dir", "--profile", "--target", "--vars")
# dbt.log's debug lines (every statement and connection of every node: most of the log)
# cost a build a good part of its CPU to format and write; its info lines say what ran,
# what failed and why, and the SQL is in target/compiled and target/run.
FILE_LOG = ["--log-level-file", "info"]
# dbt-spark's `session` method asks for Hive support again before every statement; as a
# Spark Connect client it cannot change that static setting (the Leadbridge Spark server
# has it already), and PySpark warns once per statement: hundreds of lines a night.
SPARK_HIVE_WARNING = "Failed to set spark.sql.catalogImplementation"


def parse_arguments(args: Sequence[str]) -> list[str]:
    """`dbt parse` for the project and profile of the dbt command `args`, its vars less
    the night's."""
    parse = ["parse"]
    for option, value in zip(args, args[1:], strict=False):
        if option == "--vars":
            given = parse_cli_vars(value)
            value = json.dumps({k: v for k, v in given.items() if k not in NIGHT_VARS})
        if option in _PARSE_OPTIONS:
            parse += [option, value]
    return parse


def exit_code(result: dbtRunnerResult) -> int:
    """dbt's own exit code for an invocation's result."""
    if result.success:
        return 0
    return 2 if result.exception is not None else 1


def invocations(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The parse and the command `main` runs for the dbt command `args`."""
    log = [] if "--log-level-file" in args else FILE_LOG
    return [*parse_arguments(args), "--no-write-json", *log], [*args, *log]


def main(args: Sequence[str]) -> int:
    """Parse, then run `args` on the parsed project."""
    warnings.filterwarnings("ignore", message=SPARK_HIVE_WARNING, category=UserWarning)
    parse, command = invocations(args)
    parsed = dbtRunner().invoke(parse)
    if not parsed.success:
        return exit_code(parsed)
    return exit_code(dbtRunner(manifest=parsed.result).invoke(command))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
