# Leadbridge: `make run` runs the nightly pipeline on the demo sources; `make test` tests.
# Both set everything up from a fresh clone with nothing but python3, make and PyPI.

PYTHON ?= python3
UV_VERSION := 0.13.9
UV ?= $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.venv-tools/bin/uv)
VENV := $(CURDIR)/.venv
DBT := $(VENV)/bin/dbt --no-use-colors
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export LEADBRIDGE_WAREHOUSE ?= $(CURDIR)/data/leadbridge.duckdb
export UV_PYTHON_DOWNLOADS := never
# dagster-dbt looks for `dbt` on PATH (e.g. when `dagster dev` prepares the manifest).
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup manifest run erase activate contract-check preview test test-fast lint ui dashboard screenshots report docs bench bench-spark clean

setup: $(VENV)/.synced

$(CURDIR)/.venv-tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.venv-tools
	$(CURDIR)/.venv-tools/bin/pip install --quiet "uv==$(UV_VERSION)"

# --compile-bytecode: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines) every
# process would otherwise compile dagster, dbt, dlt and GX from source at each start,
# every nightly run and every dbt subprocess again.
$(VENV)/.synced: pyproject.toml uv.lock Makefile | $(UV)
	$(UV) sync --locked --compile-bytecode
	@touch $@

# Dagster loads the dbt project from its manifest.
manifest: setup
	$(DBT) parse --project-dir dbt_project --profiles-dir dbt_project --quiet

$(DAGSTER_HOME)/dagster.yaml: orchestration/dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	cp orchestration/dagster.yaml $@

run: manifest $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/python -m orchestration.run_nightly

# Erase one person (orchestration/erase.py): `make erase EMAIL=jane@example.com`, or
# RECORD=salesforce_lead:00Q…; REASON="ticket 4711" is kept with the request.
erase: manifest $(DAGSTER_HOME)/dagster.yaml
	@test -n "$(EMAIL)$(RECORD)" || { echo "usage: make erase EMAIL=<address> | RECORD=<kind>:<id> [REASON=…]" >&2; exit 2; }
	$(VENV)/bin/python -m orchestration.erase $(if $(EMAIL),--email "$(EMAIL)") $(if $(RECORD),--record "$(RECORD)") $(if $(REASON),--reason "$(REASON)")

# The plan of CRM writes for the publication in place (docs/activation.md): `make activate`;
# `make activate APPLY=1` sends it to the systems set to apply (LEADBRIDGE_ACTIVATE_*).
activate: manifest
	$(VENV)/bin/python -m activation $(if $(APPLY),--apply)

# Validate the lead contract as the nightly dbt step does before it builds
# (leadbridge/contract.py): `make contract-check [CONTRACT=dir] [AS_OF=YYYY-MM-DD]`.
contract-check: setup
	$(VENV)/bin/python -m orchestration.contract $(if $(CONTRACT),--contract "$(CONTRACT)") $(if $(AS_OF),--as-of "$(AS_OF)")

# Preview a proposed lead contract against the working marts (docs/contract-changes.md):
# `make preview CONTRACT=dir [FROM=YYYY-MM-DD] [OUT=dir]`; it never writes them.
preview: setup
	@test -n "$(CONTRACT)" || { echo "usage: make preview CONTRACT=<folder> [FROM=YYYY-MM-DD] [OUT=<folder>]" >&2; exit 2; }
	$(VENV)/bin/python -m preview --contract "$(CONTRACT)" $(if $(FROM),--from "$(FROM)") $(if $(OUT),--out "$(OUT)")

# SQL style: dbt_project/.sqlfluff (jinja templater, no database needed). Import cycles
# between our modules: tests/support/import_graph.py (its KNOWN_CYCLES may only shrink).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/tests --processes 2
	$(VENV)/bin/python -m tests.support.import_graph

# One pytest worker per core, a test file per worker (`loadfile`): module fixtures, such
# as the nights the e2e tests share, stay in one process. The suite is CPU-bound (dbt
# builds and nightly runs): more workers than cores are no faster (docs/tests.md).
test: manifest lint
	$(VENV)/bin/pytest -n auto --dist loadfile

# A quick check while editing, not a tier CI skips: the unit tests, then dbt's unit tests
# (the lead rules' edge cases). A dbt unit test reads its inputs' columns from the
# warehouse, so the models under test and their parents are built first, empty (--empty),
# in a throw-away DuckDB file holding the raw tables of tests/fixtures/raw_scenario.py.
test-fast: manifest
	$(VENV)/bin/pytest -m unit tests/unit
	work=$$(mktemp -d) && trap 'rm -rf "$$work"' EXIT && \
	$(VENV)/bin/python -m tests.fixtures.raw_scenario "$$work/raw.duckdb" && \
	LEADBRIDGE_WAREHOUSE="$$work/raw.duckdb" $(DBT) build --empty --target duckdb \
		--select "+test_type:unit" --exclude "test_type:data" \
		--project-dir dbt_project --profiles-dir dbt_project \
		--target-path "$$work/target" --log-path "$$work/logs"

ui: manifest $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

# The dashboard (docs/dashboard.md) reads only the published marts: no manifest needed.
dashboard: setup
	$(VENV)/bin/streamlit run dashboard/app.py --server.address 127.0.0.1 \
		--server.port 8501 --server.headless true --browser.gatherUsageStats false

# docs/img/dashboard-<page>.png from the publication `make run` leaves, taken as the browser
# test takes them (tests/e2e/screenshots.py); needs Debian's chromium (.ci/install-package).
screenshots: setup
	$(VENV)/bin/python -m tests.e2e.screenshots

# The weekly alignment report of the publication in place, one self-contained HTML file in
# data/reports/ (docs/dashboard.md); Dagster writes it after the Monday night's publication.
report: setup
	$(VENV)/bin/python -m dashboard.report

# Benchmark (benchmarks/README.md): `make bench ARGS="--scales 10k,100k,1m"`.
bench: manifest
	$(VENV)/bin/python -m benchmarks $(ARGS)

# The full night on a loopback Spark cluster and on DuckDB, from `make bench`'s warehouses
# (benchmarks/README.md): `make bench-spark ARGS="--scales 10k,1m"`.
bench-spark: manifest
	$(VENV)/bin/python -m benchmarks.spark $(ARGS)

docs: manifest
	$(DBT) docs generate --project-dir dbt_project --profiles-dir dbt_project

clean:
	rm -rf data .dagster_home dbt_project/target dbt_project/logs
