"""The HTTP server and `SimulatedApis`, the handle tests and the demo hold.

One `ThreadingHTTPServer` on 127.0.0.1 serves HubSpot under `/hubspot` and Salesforce
under `/salesforce`. Each request meets any switched-on fault, is checked for its bearer
token, is counted against the vendor's limits (limits.py) and is then answered by the
system's API module (writes: `salesforce_writes`, `hubspot_writes`); it is recorded with
the status it got.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from simulator import hubspot_api, hubspot_writes, salesforce_writes
from simulator.config import SimulatorConfig
from simulator.faults import Failure, Faults
from simulator.limits import Limits, Tokens
from simulator.model import World
from simulator.salesforce_api import SalesforceApi
from simulator.salesforce_bulk import RawBody
from simulator.view import LiveView
from simulator.world import build_world

_CORRELATION = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it (path without the query string), and the
    status it was answered with."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0

    @property
    def system(self) -> str:
        """"hubspot" or "salesforce" (from the path prefix)."""
        return self.path.split("/")[1] if self.path.count("/") > 1 else ""


class RequestLog(list):
    """A list of `RecordedRequest` that server threads append to safely."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def append(self, item: RecordedRequest) -> None:  # type: ignore[override]
        """Add one request."""
        with self._lock:
            super().append(item)

    def clear(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            super().clear()

    def matching(self, path_contains: str) -> list[RecordedRequest]:
        """The recorded requests whose path contains `path_contains`."""
        with self._lock:
            return [r for r in self if path_contains in r.path]

    def writes(self) -> list[RecordedRequest]:
        """The recorded requests to a write endpoint (whatever their answer), e.g. to show
        that a dry run wrote nothing."""
        with self._lock:
            return [r for r in self if _writes(r)]

    def statuses(self, system: str) -> dict[int, int]:
        """How many requests to `system` got each HTTP status."""
        with self._lock:
            out: dict[int, int] = {}
            for r in self:
                if r.system == system:
                    out[r.status] = out.get(r.status, 0) + 1
            return out


def _writes(request: RecordedRequest) -> bool:
    rest = request.path[len(request.system) + 1:]
    api = {"hubspot": hubspot_writes, "salesforce": salesforce_writes}.get(request.system)
    return request.method != "GET" and api is not None and api.handles(request.method, rest)


def _failure_body(system: str, failure: Failure) -> Any:
    if system == "hubspot":
        if failure.kind == "rate_limit":
            return {"status": "error", "message": "You have reached your secondly limit.",
                    "errorType": "RATE_LIMIT", "correlationId": _CORRELATION,
                    "policyName": "SECONDLY"}
        return {"status": "error", "message": "internal error", "correlationId": _CORRELATION,
                "category": "INTERNAL_ERROR"}
    if failure.kind == "rate_limit":
        return [{"message": "TotalRequests Limit exceeded.", "errorCode":
                 "REQUEST_LIMIT_EXCEEDED"}]
    return [{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]


def _unauthorized_body(system: str, header: str | None, expired: bool = False) -> Any:
    if system == "hubspot":
        if expired:
            return {"status": "error", "message": "The OAuth token used to make this call "
                    "expired.", "correlationId": _CORRELATION,
                    "category": "EXPIRED_AUTHENTICATION"}
        message = ("Authentication credentials not found. This API supports OAuth 2.0 "
                   "authentication and you can find more details at "
                   "https://developers.hubspot.com/docs/methods/auth/oauth-overview"
                   if not header else
                   "The access token provided is invalid or has expired.")
        return {"status": "error", "message": message, "correlationId": _CORRELATION,
                "category": "INVALID_AUTHENTICATION"}
    return [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in one segment: with Nagle and delayed ACKs a two-write
    # response waits for the delayed ACK on every request.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silence the per-request log line; `SimulatedApis.requests` records requests."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              truncate: bool = False) -> None:
        if isinstance(body, RawBody):  # CSV results of a Bulk API job
            data, raw_headers = body.payload(truncate)
            content_type, headers = body.content_type, {**raw_headers, **(headers or {})}
        else:
            data, content_type = json.dumps(body, default=str).encode(), (
                "application/json;charset=UTF-8")
            if truncate:
                data = data[: len(data) // 2]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self) -> None:
        apis = self.server.apis
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        body: Any = raw or None
        if raw and raw.lstrip()[:1] in ("{", "["):
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = raw
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out, extra, truncate = self._answer(path, query, body, headers)
        apis.requests.append(RecordedRequest(self.command, path, query,
                                             body if not isinstance(body, str) else None,
                                             headers, status))
        self._send(status, out, extra, truncate=truncate)

    def _answer(self, path: str, query: dict[str, str], body: Any,
                headers: dict[str, str]) -> tuple[int, Any, dict[str, str], bool]:
        """(status, JSON body, extra headers, cut the body in half) for one request."""
        apis = self.server.apis
        system, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        if system not in ("hubspot", "salesforce"):
            return 404, {"message": f"no simulated API at {path}; use /hubspot or "
                                    "/salesforce"}, {}, False
        failure = apis.faults.failure_for(path)
        if failure is not None:
            extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            return failure.status, _failure_body(system, failure), extra, False
        if apis.faults.take_session_expiry(system):
            apis.tokens.expire_all(system)
        if system == "hubspot" and rest == hubspot_api.TOKEN_PATH:
            status, out = hubspot_api.token(self.command, body, apis.config, apis.tokens)
            return status, out, {}, False
        if system == "salesforce" and not apis.salesforce.requires_auth(rest):
            status, out = apis.salesforce.handle(self.command, rest, query, body, headers,
                                                 apis.salesforce_instance_url)
            return status, out, {}, False
        auth = headers.get("authorization")
        token = auth[len("Bearer "):] if auth and auth.startswith("Bearer ") else ""
        issued = "static" if token == apis.token else apis.tokens.state(system, token)
        if issued not in ("static", "valid"):
            return 401, _unauthorized_body(system, auth, issued == "expired"), {}, False
        day = apis.view.as_of.date()
        if system == "hubspot":
            refusal, limit_headers = apis.limits.hubspot(rest, token, issued == "valid", day)
        elif apis.salesforce.counts_against_limit(rest):
            refusal, limit_headers = apis.limits.salesforce(day)
        else:
            refusal, limit_headers = None, {}
        if refusal is not None:
            return refusal.status, refusal.body, refusal.headers, False
        try:
            if system == "hubspot":
                api = hubspot_writes if hubspot_writes.handles(self.command, rest) else (
                    hubspot_api)
                status, out = api.handle(apis.view, self.command, rest, query, body)
            elif salesforce_writes.handles(self.command, rest):
                status, out = salesforce_writes.handle(apis.view, self.command, rest, body)
            else:
                status, out = apis.salesforce.handle(self.command, rest, query, body, headers,
                                                     apis.salesforce_instance_url)
        except Exception as exc:  # a simulator bug must look like a 500, not a hang
            status, out = 500, {"message": f"simulator error: {exc!r}"}
        return status, out, limit_headers, status < 300 and apis.faults.take_truncation()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    apis: SimulatedApis


class SimulatedApis:
    """A running simulator: both APIs on one local port, the clock, faults and records."""

    def __init__(self, config: SimulatorConfig, world: World | None = None) -> None:
        self.config = config
        self.world = world or build_world(config)
        self.faults = Faults()
        self.view = LiveView(self.world, self.faults)
        self.tokens = Tokens()
        self.limits = Limits(enforce=config.enforce_limits, hubspot_tier=config.hubspot_tier,
                             hubspot_daily_limit=config.hubspot_daily_limit,
                             salesforce_daily_limit=config.salesforce_daily_limit)
        self.salesforce = SalesforceApi(self.view, config, self.tokens, self.limits)
        self.requests = RequestLog()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def start(cls, config: SimulatorConfig | None = None, *, host: str = "127.0.0.1",
              port: int = 0) -> SimulatedApis:
        """Build the world and serve it on `host:port` (0 = a free port) in a daemon thread."""
        apis = cls(config or SimulatorConfig())
        apis.serve(host, port)
        return apis

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving in a daemon thread."""
        self._server = _Server((host, port), _Handler)
        self._server.apis = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="leadbridge-simulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SimulatedApis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the simulator is not serving")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        if self._server is None:
            raise RuntimeError("the simulator is not serving")
        return f"http://{self._server.server_address[0]}:{self.port}"

    @property
    def hubspot_base_url(self) -> str:
        """The HubSpot API root, standing in for `https://api.hubapi.com`."""
        return self.base_url + "/hubspot"

    @property
    def salesforce_instance_url(self) -> str:
        """The Salesforce instance URL (also the OAuth login URL)."""
        return self.base_url + "/salesforce"

    @property
    def token(self) -> str:
        """The bearer token both APIs accept."""
        return self.config.token

    @property
    def as_of(self) -> datetime:
        """The simulated "now" (UTC): the APIs show nothing that happens later."""
        return self.view.as_of

    def advance_days(self, days: float = 1) -> datetime:
        """Move the simulated clock forward; returns the new `as_of`."""
        return self.view.advance_days(days)

    def expected(self, object_name: str, include_deleted: bool = False) -> list[dict]:
        """The records the API exposes now, e.g. `expected("salesforce.Lead")`.

        HubSpot contacts and companies carry every property; `include_deleted` adds
        archived HubSpot objects (and archived owners) or deleted Salesforce records.
        """
        return self.view.expected(object_name, include_deleted)
