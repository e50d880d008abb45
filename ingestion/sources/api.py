"""The HTTP mechanism every API source shares: auth, retries, limits, clear errors.

dlt's retrying `requests` client backs off on connection errors and 5xx; we retry a body
that is not valid JSON (a page cut off in transit), limit refusals (429) as the vendor's
`LimitRules` and `Retry-After` say (ingestion/sources/limits.py paces and budgets every
call), and a refused connection for seconds only (`REFUSED_RETRY_DELAYS`). An OAuth token
(`OAuthToken`) is renewed before it expires, or when the vendor says the session ended.
A failure raises `ApiError` naming the system, endpoint and status, never the token.
Credentials are dlt configspecs (`ApiCredentials`), one class per way of signing in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, get_args
from urllib.parse import urlsplit

import requests
from dlt.common.configuration import configspec, resolve_configuration
from dlt.common.configuration.specs import CredentialsConfiguration
from dlt.common.json import json
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import DEFAULT_RETRY_EXCEPTIONS

from ingestion.sources.limits import ApiUsage, Limiter, LimitRules, QuotaReached

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
        self.detail = detail  # the answer's body, for callers that read the vendor's codes
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
        raise missing_setting(setting)
    return str(value).strip()


def missing_setting(setting: str) -> ConfigError:
    """The error for a setting left unset (`hubspot.access_token`), naming its variable."""
    env = "SOURCES__" + setting.upper().replace(".", "__")
    return ConfigError(f"missing setting {setting}: set {env} or add it to .dlt/secrets.toml")


@configspec
class ApiCredentials(CredentialsConfiguration):
    """One way of signing in to a system's API. Its fields sit right under
    `sources.<system>` (`SOURCES__HUBSPOT__ACCESS_TOKEN`), not in a `credentials` section:
    the settings keep the names the sources' own arguments give them."""

    __section__: ClassVar[str | None] = None
    # the settings to check when the API refuses the credentials
    auth_hint: ClassVar[str] = ""

    def connect(self) -> tuple[str, str | OAuthToken]:
        """The API's base URL and its bearer token (or the `OAuthToken` that fetches it)."""
        raise NotImplementedError

    @classmethod
    def missing(cls, system: str, field: str) -> ConfigError:
        """The error when `field`, required by this way of signing in, is unset."""
        return missing_setting(f"{system}.{field}")


def _kinds(credentials: Any) -> tuple[type[ApiCredentials], ...]:
    """The configspec classes of a credentials type: the members of a `Union`, or itself."""
    return get_args(credentials) or (credentials,)


def _chosen(
    kinds: tuple[type[ApiCredentials], ...], values: Mapping[str, Any]
) -> type[ApiCredentials] | None:
    """The way of signing in that `values` begin: the first with one of its own required
    fields set (a field no other way has; a shared URL decides nothing)."""
    for kind in kinds:
        others = {f for k in kinds if k is not kind for f in k.get_resolvable_fields()}
        own = [
            f
            for f, hint in kind.get_resolvable_fields().items()
            if f not in others and not kind.is_field_resolved(None, hint)
        ]
        if any(values.get(f) is not None for f in own):
            return kind
    return None


def credentials_from(system: str, credentials: Any, given: Mapping[str, Any]) -> ApiCredentials:
    """The credentials of `system` that the source's arguments `given` hold, as the first
    member of the `credentials` union they begin (the first member if none); a required
    field left unset fails fast, naming the setting (`ApiCredentials.missing`)."""
    kinds = _kinds(credentials)
    values = {k: str(v).strip() for k, v in given.items() if v is not None and str(v).strip()}
    kind = _chosen(kinds, values) or kinds[0]
    fields = kind.get_resolvable_fields()
    chosen = kind.from_init_value({k: v for k, v in values.items() if k in fields})
    for field, hint in fields.items():
        if not kind.is_field_resolved(getattr(chosen, field), hint):
            raise kind.missing(system, field)
    return chosen


def configured(system: str, credentials: Any) -> dict[str, Any] | None:
    """The credential settings dlt finds for `system` (the environment's
    `SOURCES__<SYSTEM>__<FIELD>`, .dlt/secrets.toml, .dlt/config.toml), by field, the unset
    ones left out; None when they begin no way of signing in."""
    found: dict[str, Any] = {}
    for kind in _kinds(credentials):
        spec = resolve_configuration(kind(), sections=("sources", system), accept_partial=True)
        found.update({f: spec[f] for f in spec.__resolved_fields_set__ or ()})
    return found if _chosen(_kinds(credentials), found) else None


class OAuthToken:
    """An OAuth2 access token from a token endpoint: fetched on first use, again before it
    expires (`expires_in` minus a margin) and when `refresh()` is called because the API
    said the session ended. `answer` is the endpoint's last answer (e.g. `instance_url`)."""

    def __init__(self, system: str, token_url: str, form: dict[str, str], hint: str) -> None:
        self.system, self.token_url, self._form, self._hint = system, token_url, form, hint
        self.answer: dict[str, Any] = {}
        self.fetches = 0
        self._token: str | None = None
        self._renew_at = float("inf")

    def __call__(self) -> str:
        """A token valid for at least the margin."""
        if self._token is None or time.monotonic() >= self._renew_at:
            return self.refresh()
        return self._token

    def refresh(self) -> str:
        """Ask the token endpoint for a new access token."""
        response = Client(raise_for_status=False).session.post(self.token_url, data=self._form)
        if response.status_code != 200:
            raise ApiError(
                self.system,
                "POST",
                self.token_url,
                response.status_code,
                f"OAuth token request refused; check {self._hint}",
            )
        self.answer = response.json()
        self.fetches += 1
        self._token = str(self.answer["access_token"])
        expires_in = self.answer.get("expires_in")
        # Renew a tenth of the lifetime early (at most 5 minutes), so a page requested just
        # before expiry is not refused: the vendor's docs make the TTL, not a 401, the signal.
        self._renew_at = (
            time.monotonic() + float(expires_in) - min(300.0, float(expires_in) / 10)
            if expires_in
            else float("inf")
        )
        return self._token


class ApiClient:
    """A JSON API with a bearer token, a base URL, the vendor's limits and the shared retry
    policy; `usage` holds what this client spent."""

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
        rules: LimitRules | None = None,
        usage: ApiUsage | None = None,
    ) -> None:
        self.system = system
        self._auth_hint = auth_hint
        self._url_hint = url_hint
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._max_attempts = max_attempts
        self._backoff = backoff_factor
        self._max_retry_delay = max_retry_delay
        self.rules = rules or LimitRules()
        self.usage = usage or ApiUsage()
        self.usage.system = system
        self._limiter = Limiter(self.rules, self.usage, f"{system} {self.base_url}")
        self._session = Client(
            request_timeout=timeout,
            raise_for_status=False,
            # limit refusals (429) are retried by `request`, as the vendor's rules say
            status_codes=range(500, 600),
            request_max_attempts=max_attempts,
            request_backoff_factor=backoff_factor,
            request_max_retry_delay=max_retry_delay,
            # a refused connection is retried by `_send`, on its own short budget
            exceptions=[e for e in DEFAULT_RETRY_EXCEPTIONS if e is not requests.ConnectionError],
            retry_condition=lambda _, error: (
                isinstance(error, requests.ConnectionError) and not connection_refused(error)
            ),
        ).session

    @classmethod
    def signed_in(
        cls, system: str, credentials: ApiCredentials, url_hint: str, **options: Any
    ) -> ApiClient:
        """A client of `system` signed in with `credentials` (`options` as for the
        constructor): how the sources and the write-back connect alike."""
        url, token = credentials.connect()
        return cls(
            system, url, token, auth_hint=credentials.auth_hint, url_hint=url_hint, **options
        )

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
        budgeted: bool = True,
    ) -> Any:
        """Send one request and return its parsed JSON body, retrying transient faults;
        `raw` returns the response itself (a body that is not JSON, or its headers).

        A `budgeted` request starts a unit of work (a page) and raises `QuotaReached` once
        the night's quota is spent; requests that finish a unit (`budgeted=False`) go on."""
        if budgeted:
            self.usage.check()
        url = self.url(path)
        endpoint = urlsplit(url).path
        refusals = decode_failures = 0
        renewed = False
        while True:
            self._limiter.before(endpoint)
            token = self._token() if callable(self._token) else self._token
            all_headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            all_headers.update(headers or {})
            response = self._send(method, url, params=params, json=json_body, headers=all_headers)
            self._limiter.after(endpoint, response)
            if isinstance(self._token, OAuthToken):
                self.usage.token_fetches = self._token.fetches
            if self.rules.daily_spent(response):
                self.usage.refused += 1
                if budgeted:
                    raise QuotaReached(self.system, "the vendor's daily API limit is spent")
                # Work already begun cannot end cleanly (e.g. a Bulk API job's unordered
                # results): fail, so that nothing of it is committed or moves a cursor.
                raise ApiError(
                    self.system,
                    method,
                    url,
                    response.status_code,
                    "the daily API limit was spent before work already begun could finish",
                )
            wait = self._refusal_wait(response, refusals)
            if wait is not None:
                self.usage.refused += 1
                refusals += 1
                if refusals >= self._max_attempts:
                    raise ApiError(self.system, method, url, response.status_code, response.text)
                time.sleep(wait)
                continue
            if (
                response.status_code == 401
                and isinstance(self._token, OAuthToken)
                and not renewed
                and self.rules.session_ended(response)
            ):
                self._token.refresh()  # and send the same request again
                renewed = True
                continue
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
                decode_failures += 1
                if decode_failures == self._max_attempts:
                    raise ApiError(
                        self.system,
                        method,
                        url,
                        response.status_code,
                        f"response is not valid JSON after {decode_failures} attempts ({exc})",
                    ) from exc
                time.sleep(self._backoff * 2 ** (decode_failures - 1))

    def _refusal_wait(self, response: requests.Response, refusals: int) -> float | None:
        """How long to wait before retrying a limit refusal; None if it is not one."""
        wait = self.rules.retry_wait(response)
        if wait is None and response.status_code != 429:
            return None
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.strip().isdigit():
            wait = max(wait or 0.0, float(retry_after))
        if wait is None:
            wait = self._backoff * 2**refusals
        return min(wait, self._max_retry_delay)

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
