"""The knobs of a simulated world: size, seed and the time window it covers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from simulator.limits import HUBSPOT_TIERS
from simulator.schema import CUSTOM_FIELD_KINDS, SALESFORCE_FIELDS

# What an org can hold; simulator/profiles.py thins the built company to each.
PROFILES = ("full", "sparse", "empty")


@dataclass(frozen=True)
class SimulatorConfig:
    """How big the simulated company is and which stretch of its history exists.

    The world covers `anchor - months` to `anchor + horizon_days`; the APIs start out
    showing everything up to the end of the anchor day, and `advance_days` reveals the
    rest one day at a time. Equal configs always build identical worlds.
    """

    seed: int = 42
    people: int = 500
    months: int = 6
    anchor: date = date(2026, 10, 31)
    horizon_days: int = 30
    token: str = "demo-token"
    # OAuth2 settings both simulated token endpoints accept. `token` above stays valid for
    # ever (a HubSpot private-app token, a Salesforce token handed over as configured);
    # tokens the endpoints issue expire after their lifetime (wall-clock seconds).
    client_id: str = "demo-client"
    client_secret: str = "demo-secret"
    refresh_token: str = "demo-refresh"
    # What the org holds: `full`, `sparse` (leads and contacts only) or `empty`
    # (simulator/profiles.py).
    profile: str = "full"
    hubspot_token_seconds: float = 1800  # HubSpot's `expires_in` for OAuth access tokens
    salesforce_session_seconds: float = 7200  # Salesforce's default session timeout
    # The vendors' API limits (simulator/limits.py), enforced unless switched off.
    # HubSpot's burst and daily limits follow the account's tier; `hubspot_daily_limit`
    # overrides the tier's daily figure (e.g. a small quota for a test).
    enforce_limits: bool = True
    hubspot_tier: str = "professional"
    hubspot_daily_limit: int | None = None
    salesforce_daily_limit: int = 100_000  # an Enterprise org's base allocation
    # The Salesforce custom fields an admin created: sObject → {API name: kind}, kinds from
    # schema.CUSTOM_FIELD_KINDS. None by default, as in an org nobody prepared for the
    # write-back; `LEADBRIDGE_FIELDS` holds the ones it needs.
    salesforce_custom_fields: dict[str, dict[str, str]] = field(default_factory=dict)
    # Systems whose integration user / app may only read ("hubspot", "salesforce"):
    # Salesforce then refuses every record, HubSpot answers 403 MISSING_SCOPES.
    read_only: tuple[str, ...] = ()
    # How sales reps answer a follow-up task Leadbridge created (simulator/reps.py).
    rep_follow_up_probability: float = 0.7
    rep_follow_up_hours: tuple[float, float] = (1, 6)  # business hours after creation

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile {self.profile!r}: use one of {', '.join(PROFILES)}")
        if self.people < 1:
            raise ValueError("people must be at least 1")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        if self.horizon_days < 0:
            raise ValueError("horizon_days must not be negative")
        for sobject, fields in self.salesforce_custom_fields.items():
            if sobject not in SALESFORCE_FIELDS:
                raise ValueError(f"salesforce_custom_fields: no sObject {sobject!r}")
            for name, kind in fields.items():
                if not name.endswith("__c") or kind not in CUSTOM_FIELD_KINDS:
                    raise ValueError(f"salesforce_custom_fields: {sobject}.{name} must end "
                                     f"in __c and be one of {', '.join(CUSTOM_FIELD_KINDS)}")
        if not 0 <= self.rep_follow_up_probability <= 1:
            raise ValueError("rep_follow_up_probability must be between 0 and 1")
        if not 0 <= self.rep_follow_up_hours[0] <= self.rep_follow_up_hours[1]:
            raise ValueError("rep_follow_up_hours must be (low, high) with 0 <= low <= high")
        if self.hubspot_tier not in HUBSPOT_TIERS:
            raise ValueError(f"hubspot_tier {self.hubspot_tier!r}; one of "
                             f"{', '.join(HUBSPOT_TIERS)}")

    @property
    def start(self) -> datetime:
        """Midnight UTC `months` calendar months before the anchor day."""
        month_index = self.anchor.year * 12 + self.anchor.month - 1 - self.months
        year, month = divmod(month_index, 12)
        day = min(self.anchor.day, 28)
        return datetime(year, month + 1, day, tzinfo=UTC)

    @property
    def initial_as_of(self) -> datetime:
        """The end of the anchor day: what the APIs show before any time travel."""
        return datetime.combine(self.anchor, time(23, 59, 59), UTC)

    @property
    def end(self) -> datetime:
        """The last instant the world has history for."""
        return self.initial_as_of + timedelta(days=self.horizon_days)
