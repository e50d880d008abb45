"""The knobs of a simulated world: size, seed and the time window it covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from simulator.limits import HUBSPOT_TIERS

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

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile {self.profile!r}: use one of {', '.join(PROFILES)}")
        if self.people < 1:
            raise ValueError("people must be at least 1")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        if self.horizon_days < 0:
            raise ValueError("horizon_days must not be negative")
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
