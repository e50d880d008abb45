"""How each API writes times, numbers and booleans on the wire."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any


def hubspot_datetime(value: datetime) -> str:
    """HubSpot's ISO form with milliseconds and a `Z`: `2024-01-15T10:00:00.000Z`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def salesforce_datetime(value: datetime) -> str:
    """Salesforce's form: `2024-01-15T10:00:00.000+0000`."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch, as the legacy HubSpot APIs send timestamps."""
    return int(value.timestamp() * 1000)


def from_epoch_ms(value: int | float) -> datetime:
    """The inverse of `epoch_ms`."""
    return datetime.fromtimestamp(value / 1000, UTC)


def hubspot_value(value: Any) -> str | None:
    """A property value as HubSpot sends it: always a string, or null when unset."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return hubspot_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def salesforce_value(value: Any) -> Any:
    """A field value as Salesforce sends it: JSON numbers and booleans, string times."""
    if isinstance(value, datetime):
        return salesforce_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_instant(text: str) -> datetime:
    """Epoch milliseconds or an ISO datetime/date (any offset, `Z` allowed) as UTC."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return from_epoch_ms(int(text))
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]  # +0000 → +00:00
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
