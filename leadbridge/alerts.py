"""Where an alert goes: a webhook, email, or `alerts.log` beside the warehouse file.

`configured_sinks` reads the deployment's choice when an alert is sent:
`LEADBRIDGE_ALERT_WEBHOOK` (a Slack-compatible JSON POST), `LEADBRIDGE_ALERT_EMAIL` with
`LEADBRIDGE_SMTP_*`, and the local log sink when neither is set. `deliver` sends to each,
and an alert a sink refused goes to the local log, so none is lost. Webhook URLs and SMTP
passwords are secrets: descriptions and errors name only the sink's kind and host.
"""

from __future__ import annotations

import json
import smtplib
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from leadbridge.paths import warehouse_path
from leadbridge.settings import ALERT_EMAIL, SMTP_HOST, Settings

ALERT_LOG_NAME = "alerts.log"
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Alert:
    """What went wrong, in a few lines."""

    job: str
    run_id: str
    failed_steps: list[str]
    error: str
    url: str
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def subject(self) -> str:
        """One line: which job failed, which run."""
        return f"Leadbridge: job `{self.job}` failed (run {self.run_id[:8]})"

    @property
    def text(self) -> str:
        """The message body: subject, failed steps, first error line, link."""
        steps = ", ".join(self.failed_steps) or "none (the run failed outside a step)"
        return "\n".join([self.subject, f"failed steps: {steps}", f"error: {self.error}", self.url])


class DeliveryError(RuntimeError):
    """A sink refused an alert; the message holds no secret."""


class Sink(Protocol):
    """Somewhere an alert can be delivered."""

    def send(self, alert: Alert) -> None:
        """Deliver the alert or raise."""

    def describe(self) -> str:
        """Where it goes, without secrets."""


@dataclass(frozen=True)
class LogSink:
    """Append one JSON line per alert to a local file (the default)."""

    path: Path

    def send(self, alert: Alert, **extra: Any) -> None:
        """Append the alert as a JSON line."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({**asdict(alert), "text": alert.text, **extra}) + "\n")

    def describe(self) -> str:
        """The file."""
        return f"log {self.path}"


@dataclass(frozen=True)
class WebhookSink:
    """POST `{"text": …}` (Slack-compatible) plus the fields under `leadbridge`."""

    url: str = field(repr=False)  # the URL is the credential

    def send(self, alert: Alert) -> None:
        """POST the alert; a non-2xx answer is an error."""
        import requests

        payload = {"text": alert.text, "leadbridge": asdict(alert)}
        response = requests.post(self.url, json=payload, timeout=TIMEOUT_SECONDS)
        if not 200 <= response.status_code < 300:
            # requests' own error message would contain the URL
            raise DeliveryError(f"answered HTTP {response.status_code}")

    def describe(self) -> str:
        """Scheme and host only."""
        parts = urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.hostname}"


@dataclass(frozen=True)
class EmailSink:
    """Send a plain-text email through an SMTP server."""

    recipients: tuple[str, ...]
    host: str
    port: int = 25
    sender: str = ""
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def send(self, alert: Alert) -> None:
        """Send one message to every recipient."""
        message = EmailMessage()
        message["Subject"] = alert.subject
        message["From"] = self.sender or f"leadbridge@{socket.getfqdn()}"
        message["To"] = ", ".join(self.recipients)
        message.set_content(alert.text + "\n")
        with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
            if self.user:
                smtp.starttls()
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)

    def describe(self) -> str:
        """Recipients count and server."""
        return f"email to {len(self.recipients)} recipient(s) via {self.host}:{self.port}"


def configured_sinks(environ: dict[str, str] | None = None) -> list[Sink]:
    """The sinks the environment asks for; the local log when none is configured."""
    settings = Settings.from_env(environ)
    sinks: list[Sink] = []
    if settings.alert_webhook:
        sinks.append(WebhookSink(settings.alert_webhook))
    if settings.is_set(ALERT_EMAIL):
        smtp = settings.smtp
        if not smtp["host"]:
            raise ValueError(f"{ALERT_EMAIL.name} is set but {SMTP_HOST.name} is not")
        sinks.append(EmailSink(recipients=settings.alert_email, **smtp))
    return sinks or [local_log_sink()]


def local_log_sink() -> LogSink:
    """`alerts.log` beside the warehouse file."""
    return LogSink(warehouse_path().parent / ALERT_LOG_NAME)


def deliver(alert: Alert, sinks: list[Sink], log: Any) -> list[str]:
    """Send to every sink; a failed delivery goes to the local log instead (with the
    reason) so no alert is lost. Returns the descriptions of the sinks that failed."""
    failed = []
    for sink in sinks:
        try:
            sink.send(alert)
            log.info(f"alert for run {alert.run_id} sent: {sink.describe()}")
        except Exception as exc:
            # Other exceptions may quote a webhook URL or an SMTP login: name the type only.
            safe = isinstance(exc, DeliveryError) or isinstance(sink, LogSink)
            reason = f"{type(exc).__name__}: {exc}" if safe else type(exc).__name__
            failed.append(sink.describe())
            log.error(f"alert for run {alert.run_id} not delivered: {sink.describe()} ({reason})")
    if failed and not any(isinstance(s, LogSink) for s in sinks):
        local_log_sink().send(alert, undelivered=failed)
    return failed
