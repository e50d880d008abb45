"""The vendors' API limits and token lifetimes, as their public docs describe them.

HubSpot: a rolling 10-second burst limit per app and a daily limit per account, both by
tier (public OAuth apps: 110 per 10 s per account and no daily limit); 4 requests/s per
token on the CRM search endpoints. Answers carry `X-HubSpot-RateLimit-*` (OAuth calls no
Daily ones, search answers none); a refusal is a 429 whose `policyName` names the limit.
Salesforce: a daily request allocation per org counted on every REST call, shown by
`Sforce-Limit-Info` and `/limits`; once spent, 403 `REQUEST_LIMIT_EXCEEDED`.
Windows use the wall clock, so a client must really pace itself; a "day" is the
simulated one (`advance_days` starts the next with a fresh daily count).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import date
from typing import Any

# tier → (requests per 10 s per app, requests per day per account)
HUBSPOT_TIERS = {
    "free": (100, 250_000),
    "starter": (100, 250_000),
    "professional": (190, 650_000),  # changelog "Increasing our API limits"
    "enterprise": (190, 1_000_000),
}
HUBSPOT_BURST_SECONDS = 10.0
HUBSPOT_PUBLIC_APP_BURST = 110  # OAuth apps, per installing account, every 10 s
HUBSPOT_SEARCH_PER_SECOND = 4
_CORRELATION = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Refusal:
    """An answer the limits give instead of the API's: status, JSON body, headers."""

    status: int
    body: Any
    headers: dict[str, str]


class _Window:
    """Requests admitted in the last `seconds` (a rolling window), by key."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._times: dict[str, deque[float]] = defaultdict(deque)

    def used(self, key: str, now: float) -> int:
        times = self._times[key]
        while times and times[0] <= now - self.seconds:
            times.popleft()
        return len(times)

    def add(self, key: str, now: float) -> None:
        self._times[key].append(now)


class Tokens:
    """Access tokens the token endpoints issued, each with its expiry (monotonic time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, tuple[str, float]] = {}  # token → (system, expires at)

    def issue(self, system: str, seconds: float) -> str:
        """A new token of `system` valid for `seconds`."""
        prefix = "00D8d0000000001!" if system == "salesforce" else "CJ"
        token = prefix + secrets.token_urlsafe(24)
        with self._lock:
            self._expiry[token] = (system, time.monotonic() + seconds)
        return token

    def state(self, system: str, token: str) -> str:
        """"valid", "expired" (issued, past its lifetime) or "unknown"."""
        with self._lock:
            issued = self._expiry.get(token)
        if issued is None or issued[0] != system:
            return "unknown"
        return "valid" if time.monotonic() < issued[1] else "expired"

    def expire_all(self, system: str) -> int:
        """End every issued token of `system` now (a session timeout, a revoked app)."""
        with self._lock:
            ended = [t for t, (s, _) in self._expiry.items() if s == system]
            for token in ended:
                self._expiry[token] = (system, 0.0)
        return len(ended)


class Limits:
    """Both vendors' limits for one simulator; thread-safe, as the server's threads are."""

    def __init__(self, *, enforce: bool, hubspot_tier: str, hubspot_daily_limit: int | None,
                 salesforce_daily_limit: int) -> None:
        self.enforce = enforce
        burst, daily = HUBSPOT_TIERS[hubspot_tier]
        self.hubspot_burst = burst
        self.hubspot_daily = hubspot_daily_limit or daily
        self.salesforce_daily = salesforce_daily_limit
        self._lock = threading.Lock()
        self._burst = _Window(HUBSPOT_BURST_SECONDS)
        self._search = _Window(1.0)
        self._daily: dict[tuple[str, date], int] = defaultdict(int)

    # -- HubSpot -----------------------------------------------------------------------
    def hubspot(self, path: str, token: str, oauth: bool, day: date) -> tuple[
            Refusal | None, dict[str, str]]:
        """Admit (and count) one HubSpot call, or refuse it; the headers of its answer.

        `oauth`: the token came from the OAuth token endpoint (a public app), else it is
        the private-app token."""
        search = path.endswith("/search")
        app = "public-app" if oauth else "private-app"
        burst = HUBSPOT_PUBLIC_APP_BURST if oauth else self.hubspot_burst
        now = time.monotonic()
        with self._lock:
            in_window = self._burst.used(app, now)
            used_today = self._daily["hubspot", day]
            refusal = None
            if not self.enforce:
                pass
            elif not oauth and used_today >= self.hubspot_daily:
                refusal = ("DAILY", "You have reached your daily limit.")
            elif search and self._search.used(token, now) >= HUBSPOT_SEARCH_PER_SECOND:
                refusal = ("SECONDLY", "You have reached your secondly limit.")
            elif in_window >= burst:
                refusal = ("TEN_SECONDLY_ROLLING",
                           "You have reached your ten_secondly_rolling limit.")
            if refusal is None:  # refused calls are not counted
                self._burst.add(app, now)
                if search:
                    self._search.add(token, now)
                if not oauth:
                    self._daily["hubspot", day] += 1
                in_window += 1
                used_today += 1
            headers = {} if search else {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(HUBSPOT_BURST_SECONDS * 1e3)),
                "X-HubSpot-RateLimit-Max": str(burst),
                "X-HubSpot-RateLimit-Remaining": str(max(0, burst - in_window)),
            }
            if not oauth and not search:
                headers["X-HubSpot-RateLimit-Daily"] = str(self.hubspot_daily)
                headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(
                    max(0, self.hubspot_daily - used_today))
        if refusal is None:
            return None, headers
        policy, message = refusal
        body = {"status": "error", "message": message, "errorType": "RATE_LIMIT",
                "correlationId": _CORRELATION, "policyName": policy,
                "requestId": _CORRELATION}
        return Refusal(429, body, headers), headers

    # -- Salesforce --------------------------------------------------------------------
    def salesforce(self, day: date) -> tuple[Refusal | None, dict[str, str]]:
        """Admit (and count) one Salesforce REST call, or refuse it once the day's
        allocation is spent; the `Sforce-Limit-Info` header of its answer."""
        with self._lock:
            used = self._daily["salesforce", day]
            spent = used >= self.salesforce_daily and self.enforce
            if not spent:
                used += 1
                self._daily["salesforce", day] = used
        header = {"Sforce-Limit-Info": f"api-usage={used}/{self.salesforce_daily}"}
        if spent:
            body = [{"message": "TotalRequests Limit exceeded.",
                     "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
            return Refusal(403, body, header), header
        return None, header

    def salesforce_limits(self, day: date) -> dict[str, Any]:
        """The `/limits` answer (the request itself already counted)."""
        with self._lock:
            used = self._daily["salesforce", day]
        return {"DailyApiRequests": {"Max": self.salesforce_daily,
                                     "Remaining": max(0, self.salesforce_daily - used)}}

    def used(self, system: str, day: date) -> int:
        """Calls counted against `system`'s daily limit on simulated `day`."""
        with self._lock:
            return self._daily[system, day]
