"""The dashboard's pages, in menu order: (script under dashboard/, title).

Kept apart from app.py so tests and the report can list the pages without running them.
"""

SCOREBOARD = "pages/scoreboard.py"
FUNNEL = "pages/funnel.py"
SLA = "pages/sla.py"
LEAD_HISTORY = "pages/lead_history.py"
CAMPAIGNS = "pages/campaigns.py"
SYNC_HEALTH = "pages/sync_health.py"
DEFINITIONS = "pages/definitions.py"
DATA_TRUST = "pages/data_trust.py"
CONTRACT_PREVIEW = "pages/contract_preview.py"

PAGES: tuple[tuple[str, str], ...] = (
    (SCOREBOARD, "Shared scoreboard"),
    (FUNNEL, "Funnel"),
    (SLA, "SLA and hand-offs"),
    (LEAD_HISTORY, "Lead history"),
    (CAMPAIGNS, "Campaigns"),
    (SYNC_HEALTH, "Sync health"),
    (DEFINITIONS, "Definitions"),
    (DATA_TRUST, "Data trust"),
    (CONTRACT_PREVIEW, "Contract preview"),
)
