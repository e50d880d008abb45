"""The knobs of a simulated world: size, seed and the time window it covers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta


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
    # OAuth2 settings the simulated Salesforce token endpoint accepts.
    client_id: str = "demo-client"
    client_secret: str = "demo-secret"
    refresh_token: str = "demo-refresh"
    # What the org holds: `full`, `sparse` (leads and contacts only) or `empty`
    # (simulator/profiles.py).
    profile: str = "full"

    def __post_init__(self) -> None:
        from ingestion.simulator.profiles import PROFILES

        if self.profile not in PROFILES:
            raise ValueError(f"profile {self.profile!r}: use one of {', '.join(PROFILES)}")
        if self.people < 1:
            raise ValueError("people must be at least 1")
        if self.months < 1:
            raise ValueError("months must be at least 1")
        if self.horizon_days < 0:
            raise ValueError("horizon_days must not be negative")

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
