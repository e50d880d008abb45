"""The Salesforce REST endpoints: SOQL query/queryAll with cursors, describe, limits, OAuth2.

Paths are relative to the simulator's `/salesforce` prefix, which is also the
`instance_url` it hands out. A query's result set is fixed when the query runs (as
Salesforce's query locators are) and served in chunks through `nextRecordsUrl`.
Bulk API 2.0 query jobs (`/jobs/query`) are served by `salesforce_bulk`. The token
endpoint issues sessions that end after `salesforce_session_seconds`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from simulator import soql
from simulator.config import SimulatorConfig
from simulator.formats import epoch_ms
from simulator.limits import Limits, Tokens
from simulator.salesforce_bulk import BulkQueryJobs
from simulator.schema import SALESFORCE_FIELDS, external_ids
from simulator.view import API_VERSION, LiveView

DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
_KEPT_CURSORS = 200  # Salesforce keeps a limited number of open query locators too
Response = tuple[int, Any]


def error(status: int, code: str, message: str) -> Response:
    """Salesforce's error body: a list of {message, errorCode}."""
    return status, [{"message": message, "errorCode": code}]


class _Cursor:
    __slots__ = ("sobject", "fields", "rows", "bad_id", "batch")

    def __init__(self, sobject: str, fields: tuple[str, ...], rows: list[dict],
                 bad_id: str | None, batch: int) -> None:
        self.sobject, self.fields, self.rows, self.bad_id = sobject, fields, rows, bad_id
        self.batch = batch  # a later request without the header keeps the first batch size


class SalesforceApi:
    """The Salesforce side of one simulator, holding its open query cursors."""

    def __init__(self, view: LiveView, config: SimulatorConfig, tokens: Tokens,
                 limits: Limits) -> None:
        self.view = view
        self.config = config
        self.tokens = tokens
        self.limits = limits
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()
        self._lock = threading.Lock()
        self._next_locator = 1
        self.bulk = BulkQueryJobs(view, self.select)

    @staticmethod
    def requires_auth(path: str) -> bool:
        """Everything but the token endpoint needs a bearer token."""
        return path != "/services/oauth2/token"

    @staticmethod
    def counts_against_limit(path: str) -> bool:
        """Every REST call counts against the org's daily allocation, except the versions
        resource (`/services/data`) and OAuth."""
        return path.startswith("/services/data/v")

    def handle(self, method: str, path: str, query: dict[str, str], body: Any,
               headers: dict[str, str], base_url: str) -> Response:
        """Route one request."""
        if path == "/services/oauth2/token":
            if method != "POST":
                return error(405, "METHOD_NOT_ALLOWED", "HTTP Method 'GET' not allowed")
            return self._token(query, body, base_url)
        if j := re.fullmatch(r"/services/data/v(\d+\.\d)(/jobs/query(?:/.*)?)", path):
            return self.bulk.handle(method, j[1], j[2], query, body, headers)
        if method != "GET":
            return error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. "
                         "Allowed are GET,HEAD")
        m = re.fullmatch(r"/services/data/v(\d+\.\d)(/.*)", path)
        if not m:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        rest = m[2]
        batch = _batch_size(headers)
        if rest in ("/query", "/queryAll"):
            if "q" not in query:
                return error(400, "MALFORMED_QUERY", "A query string has to be specified")
            return self._query(query["q"], include_deleted=rest == "/queryAll", batch=batch)
        if c := re.fullmatch(r"/(?:query|queryAll)/(01g\w+)-(\d+)", rest):
            return self._more(c[1], int(c[2]), batch)
        if rest in ("/limits", "/limits/"):
            return 200, self.limits.salesforce_limits(self.view.as_of.date())
        if rest == "/sobjects":
            return 200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
                {"name": name, "label": name, "custom": False, "queryable": True}
                for name in SALESFORCE_FIELDS]}
        if d := re.fullmatch(r"/sobjects/(\w+)/describe", rest):
            return self._describe(d[1])
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    def _schemas(self) -> dict[str, dict[str, str]]:
        return {name: self.view.salesforce_fields(name) for name in SALESFORCE_FIELDS}

    def select(self, text: str, include_deleted: bool) -> tuple[soql.Query, list[dict]]:
        """The parsed query and its rows, as `query` (or `queryAll`) sees them; raises
        `soql.SoqlError` where Salesforce refuses the query. Bulk jobs select the same."""
        parsed = soql.parse(text, self._schemas())
        if "IsDeleted" not in SALESFORCE_FIELDS[parsed.sobject]:
            include_deleted = True  # nothing to hide on objects without the flag
        return parsed, soql.run(parsed, self.view.salesforce_rows(parsed.sobject,
                                                                  include_deleted))

    def _query(self, text: str, include_deleted: bool, batch: int | None) -> Response:
        try:
            parsed, rows = self.select(text, include_deleted)
        except soql.SoqlError as exc:
            return error(400, exc.error_code, exc.message)
        cursor = _Cursor(parsed.sobject, parsed.fields, rows,
                         self.view.salesforce_bad_id(parsed.sobject), batch or DEFAULT_BATCH)
        with self._lock:
            locator = f"01g8d{self._next_locator:010d}AAA"
            self._next_locator += 1
            self._cursors[locator] = cursor
            while len(self._cursors) > _KEPT_CURSORS:
                self._cursors.popitem(last=False)
        return self._chunk(locator, cursor, 0, cursor.batch)

    def _more(self, locator: str, offset: int, batch: int | None) -> Response:
        with self._lock:
            cursor = self._cursors.get(locator)
        if cursor is None or offset > len(cursor.rows):
            return error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._chunk(locator, cursor, offset, batch or cursor.batch)

    def _chunk(self, locator: str, cursor: _Cursor, offset: int, batch: int) -> Response:
        rows = cursor.rows[offset: offset + batch]
        records = [self.view.salesforce_record(cursor.sobject, r, list(cursor.fields),
                                               cursor.bad_id) for r in rows]
        done = offset + batch >= len(cursor.rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done,
                                "records": records}
        if not done:
            body["nextRecordsUrl"] = (f"/services/data/{API_VERSION}/query/"
                                      f"{locator}-{offset + batch}")
        return 200, body

    def _describe(self, name: str) -> Response:
        sobject = next((s for s in SALESFORCE_FIELDS if s.lower() == name.lower()), None)
        if sobject is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        unique = external_ids(self.config.salesforce_custom_fields, sobject)
        fields = [{"name": f, "label": f, "type": kind, "custom": f.endswith("__c"),
                   "nillable": kind not in ("id", "boolean"), "externalId": f in unique,
                   "unique": f in unique}
                  for f, kind in self.view.salesforce_fields(sobject).items()]
        return 200, {"name": sobject, "label": sobject, "custom": False, "queryable": True,
                     "fields": fields}

    def _token(self, query: dict[str, str], body: Any, base_url: str) -> Response:
        form = dict(query)
        if isinstance(body, str):
            form.update(parse_qsl(body))
        cfg = self.config
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "refresh_token", "password"):
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "grant type not supported"}
        if form.get("client_id") != cfg.client_id:
            return 400, {"error": "invalid_client_id",
                         "error_description": "client identifier invalid"}
        secret = form.get("client_secret")
        if (grant != "refresh_token" or secret is not None) and secret != cfg.client_secret:
            return 400, {"error": "invalid_client",
                         "error_description": "invalid client credentials"}
        if grant == "refresh_token" and form.get("refresh_token") != cfg.refresh_token:
            return 400, {"error": "invalid_grant",
                         "error_description": "expired access/refresh token"}
        now = datetime.now(UTC)
        session = self.tokens.issue("salesforce", cfg.salesforce_session_seconds)
        return 200, {"access_token": session, "instance_url": base_url,
                     "id": f"{base_url}/id/00D8d0000000001AAA/0058d0000000001AAA",
                     "token_type": "Bearer", "issued_at": str(epoch_ms(now)),
                     "signature": "c2ltdWxhdGVk", "scope": "api refresh_token"}


def _batch_size(headers: dict[str, str]) -> int | None:
    """`Sforce-Query-Options: batchSize=N`, clamped to Salesforce's 200–2000."""
    option = headers.get("sforce-query-options", "")
    m = re.search(r"batchSize\s*=\s*(\d+)", option, re.IGNORECASE)
    if not m:
        return None
    return max(MIN_BATCH, min(MAX_BATCH, int(m[1])))
