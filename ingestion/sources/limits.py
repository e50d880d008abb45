"""Vendor API limits, shared by every API source: pacing, the nightly quota, usage figures.

Pacing is proactive: each rolling window a request counts in (stated by the vendor's docs,
or learned from its answers' headers) is kept below its limit by waiting before the send,
so a normal night gets no 429; a refusal that still comes is waited out as it says.
The quota caps the calls one night spends at `quota_share` of the daily limit the answers
report; past it, requests raise `QuotaReached` and each resource ends at a page boundary
(`QuotaGuard`), keeping its cursor no further than what it loaded. `LimitRules` is what a
vendor states: its windows, how its headers read, which refusals mean what.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from leadbridge.settings import QUOTA_SHARE

T = TypeVar("T")
DEFAULT_QUOTA_SHARE: float = QUOTA_SHARE.value(None)  # LEADBRIDGE_QUOTA_SHARE unset
# A learned window keeps this share of its limit free for the account's other clients.
WINDOW_RESERVE = 0.1
# Calls kept back from the vendor's daily limit for the work a page leaves unfinished when
# the quota stops the night (HubSpot reads a 200-contact page's history in 4 calls); at
# most 5 % of a small limit.
FINISHING_CALLS = 10


class QuotaReached(RuntimeError):
    """The night's share of a system's daily API quota is spent, or the vendor's daily limit
    is: loading that system stops here and the next night resumes."""

    def __init__(self, system: str, detail: str) -> None:
        self.system = system
        super().__init__(f"{system}: {detail}")


@dataclass(frozen=True)
class Reading:
    """What one answer's headers say: a rolling window `(name, limit, remaining, seconds)`
    and the daily quota `(used, limit)`, each when stated."""

    window: tuple[str, int, int, float] | None = None
    daily: tuple[int, int] | None = None


class LimitRules:
    """How one vendor states its limits; this base states none (plain retries only)."""

    def windows(self, path: str) -> dict[str, tuple[int, float] | None]:
        """The rolling windows a request to `path` counts in: name → (limit, seconds) when
        the docs state it, None when only the answers' headers tell it."""
        return {}

    def read(self, response: requests.Response) -> Reading:
        """The limits an answer reports."""
        return Reading()

    def retry_wait(self, response: requests.Response) -> float | None:
        """Seconds to wait before retrying a refusal for a rolling limit; None if the answer
        is not one (a 429 without a known policy falls back to `Retry-After` or backoff)."""
        return None

    def daily_spent(self, response: requests.Response) -> bool:
        """Whether the answer refuses the call because the day's quota is spent."""
        return False

    def session_ended(self, response: requests.Response) -> bool:
        """Whether a 401 means the session ended (so a new token may be asked for)."""
        return False


class _Window:
    """Our own sends in a rolling window, and what the vendor last said of the rest."""

    def __init__(self, limit: int | None, seconds: float, reserve: float) -> None:
        self.limit, self.seconds, self.reserve = limit, seconds, reserve
        self.sent: deque[float] = deque()
        self.others, self.others_until = 0, 0.0

    def _expire(self, now: float) -> None:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()

    def wait(self, now: float) -> float:
        """Seconds until one more request fits, keeping the reserve free."""
        self._expire(now)
        if self.limit is None:
            return 0.0
        others = self.others if now < self.others_until else 0
        if len(self.sent) + others < self.limit - math.floor(self.limit * self.reserve):
            return 0.0
        if self.sent:  # ours leave first: the vendor counted each before we stamped it
            return self.sent[0] + self.seconds - now
        return max(self.others_until - now, 0.0)

    def record(self, now: float) -> None:
        """Stamp a request when its answer arrives: the vendor counted it no later, so our
        window never empties before the vendor's does."""
        self.sent.append(now)

    def observe(self, limit: int, remaining: int, seconds: float, now: float) -> None:
        """The vendor's count for the window just after our latest request."""
        self.limit, self.seconds = limit, seconds
        self._expire(now)
        self.others = max(0, limit - remaining - len(self.sent))
        self.others_until = now + seconds


@dataclass
class ApiUsage:
    """One night's use of one system's API: the quota it may spend and what it spent.

    `calls` counts every answered request (each counts against the vendor's limits);
    `stopped` names the resources that ended early at the quota."""

    quota_share: float = DEFAULT_QUOTA_SHARE
    system: str = ""
    calls: int = 0
    refused: int = 0
    paced_seconds: float = 0.0
    token_fetches: int = 0
    daily_limit: int | None = None
    daily_remaining: int | None = None
    stopped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0 < self.quota_share <= 1:
            raise ValueError(f"quota_share must be in (0, 1], got {self.quota_share}")

    @property
    def budget(self) -> int | None:
        """Calls this night may spend; None while (or where) no daily limit is known."""
        if self.daily_limit is None:
            return None
        return math.floor(self.daily_limit * self.quota_share)

    @property
    def share_used(self) -> float | None:
        """The share of the daily limit this night spent."""
        return self.calls / self.daily_limit if self.daily_limit else None

    @property
    def stopped_at_quota(self) -> bool:
        """Whether a resource ended early at the quota."""
        return bool(self.stopped)

    def check(self) -> None:
        """Raise `QuotaReached` if no further call may start a unit of work."""
        remaining, limit = self.daily_remaining, self.daily_limit
        finishing = min(FINISHING_CALLS, (limit or 0) // 20)
        if remaining is not None and remaining <= finishing:
            raise QuotaReached(self.system, "the vendor's daily API limit is spent")
        budget = self.budget
        if budget is not None and self.calls >= budget:
            raise QuotaReached(
                self.system,
                f"{self.calls} calls spent this night's share ({self.quota_share:.0%}) of the "
                f"daily limit of {self.daily_limit}",
            )

    def guard(self, resource: str) -> QuotaGuard:
        """A guard that ends `resource` cleanly at the quota."""
        return QuotaGuard(self, resource)

    def as_metadata(self) -> dict[str, Any]:
        """The figures the run summary and the UI show (JSON-ready)."""
        share = self.share_used
        return {
            "system": self.system,
            "api_calls": self.calls,
            "refused_calls": self.refused,
            "paced_seconds": round(self.paced_seconds, 2),
            "token_fetches": self.token_fetches,
            "daily_limit": self.daily_limit,
            "quota_share": self.quota_share,
            "quota_share_used": None if share is None else round(share, 6),
            "stopped_at_quota": self.stopped_at_quota,
            "stopped_resources": list(self.stopped),
        }


class QuotaGuard:
    """Ends one resource cleanly when the quota is reached: `pages()` stops yielding, a
    `with` block is left; truthy once that happened."""

    def __init__(self, usage: ApiUsage, resource: str) -> None:
        self.usage, self.resource = usage, resource
        self.reached = False

    def __bool__(self) -> bool:
        return self.reached

    def _stop(self) -> None:
        self.reached = True
        if self.resource not in self.usage.stopped:
            self.usage.stopped.append(self.resource)

    def pages(self, pages: Iterable[T]) -> Iterator[T]:
        """`pages`, ending early (not failing) at the quota; what came before stays."""
        if self.reached:
            return
        try:
            yield from pages
        except QuotaReached:
            self._stop()

    def __enter__(self) -> QuotaGuard:
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, tb: Any) -> bool:
        if isinstance(error, QuotaReached):
            self._stop()
            return True
        return False


# Rolling windows by scope (a system's base URL): they belong to the vendor account, not to
# one client, so the next client in this process (a retried step, the next load of a test)
# goes on from what the last one sent, e.g. search's 4/s, which no header reports.
_SCOPES: dict[str, tuple[threading.Lock, dict[str, _Window]]] = {}
_SCOPES_LOCK = threading.Lock()


class Limiter:
    """Paces requests within the vendor's rolling windows of `scope` and keeps one client's
    usage; thread-safe."""

    def __init__(self, rules: LimitRules, usage: ApiUsage, scope: str = "") -> None:
        self.rules, self.usage = rules, usage
        with _SCOPES_LOCK:
            self._lock, self._windows = _SCOPES.setdefault(scope, (threading.Lock(), {}))

    def _window(self, name: str, stated: tuple[int, float] | None) -> _Window:
        window = self._windows.get(name)
        if window is None:
            limit, seconds = stated or (None, 1.0)
            # a stated limit is all ours to use; a learned one is shared with other clients
            window = _Window(limit, seconds, 0.0 if stated else WINDOW_RESERVE)
            self._windows[name] = window
        return window

    def before(self, path: str) -> None:
        """Wait until a request to `path` fits every window it counts in."""
        while True:
            with self._lock:
                now = time.monotonic()
                wait = max(
                    (self._window(n, s).wait(now) for n, s in self.rules.windows(path).items()),
                    default=0.0,
                )
            if wait <= 0:
                return
            self.usage.paced_seconds += wait
            time.sleep(wait)

    def after(self, path: str, response: requests.Response) -> None:
        """Count an answered request and learn what its headers say."""
        reading = self.rules.read(response)
        with self._lock:
            now = time.monotonic()
            self.usage.calls += 1
            for name, stated in self.rules.windows(path).items():
                self._window(name, stated).record(now)
            if reading.window is not None:
                name, limit, remaining, seconds = reading.window
                self._window(name, None).observe(limit, remaining, seconds, now)
            if reading.daily is not None:
                used, limit = reading.daily
                self.usage.daily_limit = limit
                self.usage.daily_remaining = limit - used
            elif self.usage.daily_remaining is not None:  # an answer without the figures
                self.usage.daily_remaining -= 1
