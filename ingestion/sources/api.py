"""The HTTP mechanism every API source shares: auth, retries, clear errors.

Retries use dlt's retrying `requests` client, which backs off exponentially on
connection errors, HTTP 429 (honouring `Retry-After`) and 5xx. On top of it we retry a
body that is not valid JSON (a page cut off in transit), which the client treats as a
success. A refused connection is retried for seconds only (`REFUSED_RETRY_DELAYS`): past a
server restart it is a wrong URL or a stopped service. A failure raises `ApiError` naming
the system, the endpoint and the status; the bearer token is never part of a message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from dlt.common.json import json
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import DEFAULT_RETRY_EXCEPTIONS

# Waits between attempts to connect to a host that refuses: 15 s in all, so a refused
# connection fails the ingestion step well within 30 s, and for good (`ApiError.permanent`).
REFUSED_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0)


class ConfigError(ValueError):
    """A source is configured wrongly; the message names the setting to fix."""


class ApiError(RuntimeError):
    """A request failed (after retries)."""

    def __init__(
        self,
        system: str,
        method: str,
        url: str,
        status: int | None,
        detail: str,
        *,
        connection_refused: bool = False,
    ):
        self.system, self.method, self.status = system, method, status
        self.connection_refused = connection_refused
        self.endpoint = urlsplit(url).path
        super().__init__(
            f"{system} API {method} {self.endpoint} failed"
            + (f" with HTTP {status}" if status is not None else "")
            + f": {detail[:300]}"
        )

    @property
    def permanent(self) -> bool:
        """Whether a later attempt would fail the same way: a request the API refuses (a
        4xx other than 408 and 429) or a host that kept refusing the connection."""
        if self.status is None:
            return self.connection_refused
        return 400 <= self.status < 500 and self.status not in (408, 429)


def connection_refused(error: BaseException) -> bool:
    """Whether `requests` failed because the host refused the connection (nothing listens
    on the port), as opposed to a timeout or a dropped connection."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(error, requests.ConnectionError) and isinstance(
        getattr(reason, "__cause__", None), ConnectionRefusedError
    )


def require(value: str | None, setting: str) -> str:
    """Return `value`, or fail fast naming the environment variable that sets it."""
    if value is None or not str(value).strip():
        env = "SOURCES__" + setting.upper().replace(".", "__")
        raise ConfigError(f"missing setting {setting}: set {env} or add it to .dlt/secrets.toml")
    return str(value).strip()


class ApiClient:
    """A JSON API with a bearer token, a base URL and the shared retry policy."""

    def __init__(
        self,
        system: str,
        base_url: str,
        token: str | Callable[[], str],
        *,
        max_attempts: int = 6,
        backoff_factor: float = 0.5,
        max_retry_delay: float = 30,
        timeout: float = 60,
        auth_hint: str = "",
        url_hint: str = "",
    ) -> None:
        self.system = system
        self._auth_hint = auth_hint
        self._url_hint = url_hint
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._max_attempts = max_attempts
        self._backoff = backoff_factor
        self._session = Client(
            request_timeout=timeout,
            raise_for_status=False,
            request_max_attempts=max_attempts,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay,
            # a refused connection is retried by `_send`, on its own short budget
            exceptions=[e for e in DEFAULT_RETRY_EXCEPTIONS if e is not requests.ConnectionError],
            retry_condition=lambda _, error: (
                isinstance(error, requests.ConnectionError) and not connection_refused(error)
            ),
        ).session

    def url(self, path_or_url: str) -> str:
        """An absolute URL: paths are joined to the base URL by concatenation.

        Concatenation (not urljoin) keeps a base URL's own path, e.g. a proxy prefix,
        in front of server-relative links such as Salesforce's `nextRecordsUrl`.
        """
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + "/" + path_or_url.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bool = False,
    ) -> Any:
        """Send one request and return its parsed JSON body, retrying transient faults;
        `raw` returns the response itself (a body that is not JSON, or its headers)."""
        url = self.url(path)
        token = self._token() if callable(self._token) else self._token
        all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        for attempt in range(1, self._max_attempts + 1):
            response = self._send(method, url, params=params, json=json_body, headers=all_headers)
            if response.status_code in (401, 403) and self._auth_hint:
                raise ApiError(
                    self.system,
                    method,
                    url,
                    response.status_code,
                    f"credentials refused; check {self._auth_hint}",
                )
            if response.status_code >= 400:
                raise ApiError(self.system, method, url, response.status_code, response.text)
            if raw:
                return response
            try:
                # orjson (dlt's JSON) parses ~2x faster than `response.json()`
                return json.loadb(response.content)
            except ValueError as exc:  # orjson's decode error is one: a cut-off body
                if attempt == self._max_attempts:
                    raise ApiError(
                        self.system,
                        method,
                        url,
                        response.status_code,
                        f"response is not valid JSON after {attempt} attempts ({exc})",
                    ) from exc
                time.sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A response, after the client's own retries and brief ones for a refused connection."""
        for delay in (*REFUSED_RETRY_DELAYS, None):
            try:
                return self._session.request(method, url, **kwargs)
            except Exception as exc:
                if not connection_refused(exc):
                    raise ApiError(self.system, method, url, None, repr(exc)) from exc
                if delay is None:
                    attempts, seconds = len(REFUSED_RETRY_DELAYS) + 1, sum(REFUSED_RETRY_DELAYS)
                    raise ApiError(
                        self.system,
                        method,
                        url,
                        None,
                        f"connection refused by {urlsplit(url).netloc} ({attempts} attempts "
                        f"over {seconds:.0f} s); is the address right and the service up? "
                        f"check {self._url_hint or f'the {self.system} URL'}",
                        connection_refused=True,
                    ) from exc
                time.sleep(delay)
        raise AssertionError("unreachable")
