"""Run-failure alerts: when the nightly job fails, someone hears about it.

`nightly_failure_alert` is a run-failure sensor on the `nightly` job (on by default; the
Dagster daemon evaluates it, so it covers scheduled runs and runs launched from the UI,
and `make run` when the daemon is up). It sends one short message: job, run id, the
failed step(s), the first line of the error and the run's page in the UI.

Where it goes is deployment configuration, read when the sensor fires:
- `LEADBRIDGE_ALERT_WEBHOOK`: a URL that receives a JSON POST with a Slack-compatible
  `text` (Slack and Mattermost incoming webhooks, Teams workflows, any HTTP endpoint);
- `LEADBRIDGE_ALERT_EMAIL`: comma-separated recipients, sent through
  `LEADBRIDGE_SMTP_HOST` (`LEADBRIDGE_SMTP_PORT`, default 25; `LEADBRIDGE_SMTP_FROM`;
  optional `LEADBRIDGE_SMTP_USER` / `LEADBRIDGE_SMTP_PASSWORD`, which use STARTTLS);
- with neither set, and whenever a configured sink fails, a JSON line is appended to
  `alerts.log` beside the warehouse file (the local log sink).
Webhook URLs and SMTP passwords are secrets: logs name only the sink's kind and host.
`LEADBRIDGE_UI_URL` (default http://127.0.0.1:3000) is the base of the run link.

A run killed outright (SIGKILL, a power cut) writes no failure event itself; the next
run that takes the warehouse lock reports it failed (see `resources.Warehouse`), and
that failure is alerted like any other, one run late.
"""

from __future__ import annotations

import json
import os
import smtplib
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import dagster as dg

from leadbridge.paths import warehouse_path
from orchestration.defs.nightly import nightly_job

WEBHOOK_ENV = "LEADBRIDGE_ALERT_WEBHOOK"
EMAIL_ENV = "LEADBRIDGE_ALERT_EMAIL"
SMTP_HOST_ENV = "LEADBRIDGE_SMTP_HOST"
SMTP_PORT_ENV = "LEADBRIDGE_SMTP_PORT"
SMTP_FROM_ENV = "LEADBRIDGE_SMTP_FROM"
SMTP_USER_ENV = "LEADBRIDGE_SMTP_USER"
SMTP_PASSWORD_ENV = "LEADBRIDGE_SMTP_PASSWORD"
UI_URL_ENV = "LEADBRIDGE_UI_URL"
DEFAULT_UI_URL = "http://127.0.0.1:3000"
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
    env = os.environ if environ is None else environ
    sinks: list[Sink] = []
    if env.get(WEBHOOK_ENV):
        sinks.append(WebhookSink(env[WEBHOOK_ENV]))
    if env.get(EMAIL_ENV):
        if not env.get(SMTP_HOST_ENV):
            raise ValueError(f"{EMAIL_ENV} is set but {SMTP_HOST_ENV} is not")
        sinks.append(
            EmailSink(
                recipients=tuple(a.strip() for a in env[EMAIL_ENV].split(",") if a.strip()),
                host=env[SMTP_HOST_ENV],
                port=int(env.get(SMTP_PORT_ENV) or 25),
                sender=env.get(SMTP_FROM_ENV) or "",
                user=env.get(SMTP_USER_ENV) or None,
                password=env.get(SMTP_PASSWORD_ENV) or None,
            )
        )
    return sinks or [local_log_sink()]


def local_log_sink() -> LogSink:
    """`alerts.log` beside the warehouse file."""
    return LogSink(warehouse_path().parent / ALERT_LOG_NAME)


def _first_line(error: Any) -> str:
    """The innermost cause's first line: the user's error, not Dagster's wrapper."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    lines = [line.strip() for line in (error.message or "").splitlines() if line.strip()]
    return (lines[0] if lines else error.cls_name or "unknown error")[:500]


def build_alert(context: dg.RunFailureSensorContext) -> Alert:
    """The alert for one failed run, from its failure events."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    failed_steps = list(dict.fromkeys(e.step_key for e in step_failures if e.step_key))
    if step_failures:
        error = _first_line(step_failures[0].event_specific_data.error)
    else:
        data = context.failure_event.event_specific_data
        error = (
            _first_line(data.error)
            if data is not None and getattr(data, "error", None)
            else (context.failure_event.message or "unknown error").splitlines()[0]
        )
    base = os.environ.get(UI_URL_ENV, DEFAULT_UI_URL).rstrip("/")
    return Alert(
        job=run.job_name,
        run_id=run.run_id,
        failed_steps=failed_steps,
        error=error,
        url=f"{base}/runs/{run.run_id}",
    )


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


@dg.run_failure_sensor(
    name="nightly_failure_alert",
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends a short alert (webhook, email, or alerts.log beside the warehouse) "
    "when the nightly job fails.",
)
def nightly_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Tell the configured sinks that a nightly run failed."""
    try:
        sinks = configured_sinks()
    except ValueError as exc:  # a half-configured sink must not swallow the alert
        context.log.error(f"alert configuration: {exc}; writing to the local log instead")
        sinks = [local_log_sink()]
    deliver(build_alert(context), sinks, context.log)
