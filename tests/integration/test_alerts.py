"""Run-failure alerts reach the configured sink with job, run, failed step, error and link.

A tiny job fails for real in an ephemeral Dagster instance; the sensor is evaluated on
that run. The webhook and SMTP sinks talk to real servers on 127.0.0.1 that the test
runs for one request / one conversation and that stop by themselves.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from leadbridge import alerts, settings
from orchestration.defs.alerts import nightly_failure_alert

pytestmark = pytest.mark.integration

SECRET = "T000/B000/s3cr3t-webhook-token"


@dg.op
def load_crm() -> None:
    raise RuntimeError("Salesforce API GET /query failed with HTTP 503\nsecond line of detail")


@dg.job
def failing_job() -> None:
    load_crm()


@pytest.fixture
def failed_run_context(tmp_path, monkeypatch):
    """The sensor context for a run that failed in step `load_crm`."""
    for key in (
        settings.ALERT_WEBHOOK.name,
        settings.ALERT_EMAIL.name,
        settings.SMTP_HOST.name,
        settings.SMTP_PORT.name,
        settings.SMTP_FROM.name,
        settings.SMTP_USER.name,
        settings.SMTP_PASSWORD.name,
        settings.UI_URL.name,
    ):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "leadbridge.duckdb"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records[0]
        yield dg.build_run_status_sensor_context(
            sensor_name="nightly_failure_alert",
            dagster_event=failure.event_log_entry.dagster_event,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
        ).for_run_failure()


def _expected_text(run_id: str) -> str:
    return (
        f"Leadbridge: job `failing_job` failed (run {run_id[:8]})\n"
        "failed steps: load_crm\n"
        "error: RuntimeError: Salesforce API GET /query failed with HTTP 503\n"
        f"http://127.0.0.1:3000/runs/{run_id}"
    )


def test_the_sensor_watches_the_nightly_job_and_is_on_by_default(definitions):
    sensor = definitions.get_sensor_def("nightly_failure_alert")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # Dagster keeps the monitored jobs private; the list is what the daemon filters on.
    assert [j.name for j in sensor._monitored_jobs] == ["nightly"]


def test_without_configuration_a_failed_run_appends_one_json_line_to_the_local_log(
    failed_run_context, tmp_path
):
    nightly_failure_alert(failed_run_context)

    lines = (tmp_path / "alerts.log").read_text().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    run_id = failed_run_context.dagster_run.run_id
    assert {k: entry[k] for k in ("job", "run_id", "failed_steps", "error", "url", "text")} == {
        "job": "failing_job",
        "run_id": run_id,
        "failed_steps": ["load_crm"],
        "error": "RuntimeError: Salesforce API GET /query failed with HTTP 503",
        "url": f"http://127.0.0.1:3000/runs/{run_id}",
        "text": _expected_text(run_id),
    }


class _OneRequestServer:
    """An HTTP server on 127.0.0.1 that records one POST and stops (or times out)."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.server.timeout = 10
        self.thread = threading.Thread(target=self.server.handle_request, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"

    def __enter__(self) -> _OneRequestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(15)
        self.server.server_close()


def test_a_webhook_gets_a_slack_compatible_json_post(failed_run_context, monkeypatch, tmp_path):
    with _OneRequestServer() as server:
        monkeypatch.setenv(settings.ALERT_WEBHOOK.name, server.url)
        nightly_failure_alert(failed_run_context)

    [(path, headers, body)] = server.requests
    payload = json.loads(body)
    run_id = failed_run_context.dagster_run.run_id
    assert path == f"/services/{SECRET}"
    assert headers["Content-Type"] == "application/json"
    assert payload["text"] == _expected_text(run_id)
    assert payload["leadbridge"]["failed_steps"] == ["load_crm"]
    assert payload["leadbridge"]["run_id"] == run_id
    assert not (tmp_path / "alerts.log").exists()  # delivered, so no fallback line


def test_a_refused_webhook_falls_back_to_the_local_log_without_leaking_its_url(
    failed_run_context, monkeypatch, tmp_path, capfd
):
    with _OneRequestServer(status=500) as server:
        monkeypatch.setenv(settings.ALERT_WEBHOOK.name, server.url)
        nightly_failure_alert(failed_run_context)

    entry = json.loads((tmp_path / "alerts.log").read_text())
    assert entry["undelivered"] == ["webhook http://127.0.0.1"]
    assert entry["failed_steps"] == ["load_crm"]
    logged = "".join(capfd.readouterr())
    assert "not delivered: webhook http://127.0.0.1 (DeliveryError: answered HTTP 500)" in logged
    assert SECRET not in logged and SECRET not in (tmp_path / "alerts.log").read_text()


class _OneMessageSmtpServer:
    """Just enough SMTP (RFC 5321) on 127.0.0.1 to receive one message, then stop."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.envelope: dict[str, list[str]] = {"from": [], "to": []}
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return self.listener.getsockname()[1]

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(10)
        with conn, conn.makefile("rb") as incoming:

            def reply(line: str) -> None:
                conn.sendall(line.encode() + b"\r\n")

            reply("220 localhost test SMTP")
            while line := incoming.readline():
                command = line.decode().strip()
                verb = command.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    reply("250 localhost")
                elif verb == "MAIL":
                    self.envelope["from"].append(command.split(":", 1)[1])
                    reply("250 OK")
                elif verb == "RCPT":
                    self.envelope["to"].append(command.split(":", 1)[1])
                    reply("250 OK")
                elif verb == "DATA":
                    reply("354 end with <CRLF>.<CRLF>")
                    while (chunk := incoming.readline()) not in (b".\r\n", b""):
                        self.data += chunk
                    reply("250 OK queued")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("502 not implemented")

    def __enter__(self) -> _OneMessageSmtpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.thread.join(15)
        self.listener.close()


def test_an_email_goes_to_every_recipient_through_the_smtp_server(
    failed_run_context, monkeypatch, tmp_path
):
    import email

    with _OneMessageSmtpServer() as server:
        monkeypatch.setenv(settings.ALERT_EMAIL.name, "revops@example.com, data@example.com")
        monkeypatch.setenv(settings.SMTP_HOST.name, "127.0.0.1")
        monkeypatch.setenv(settings.SMTP_PORT.name, str(server.port))
        monkeypatch.setenv(settings.SMTP_FROM.name, "leadbridge@example.com")
        nightly_failure_alert(failed_run_context)

    run_id = failed_run_context.dagster_run.run_id
    assert server.envelope["from"] == ["<leadbridge@example.com>"]
    assert server.envelope["to"] == ["<revops@example.com>", "<data@example.com>"]
    message = email.message_from_bytes(server.data)
    assert message["Subject"] == f"Leadbridge: job `failing_job` failed (run {run_id[:8]})"
    assert message.get_payload().replace("\r\n", "\n").strip() == _expected_text(run_id)
    assert not (tmp_path / "alerts.log").exists()


def test_an_email_address_without_an_smtp_server_still_alerts_through_the_local_log(
    failed_run_context, monkeypatch, tmp_path
):
    with pytest.raises(ValueError, match=settings.SMTP_HOST.name):
        alerts.configured_sinks({settings.ALERT_EMAIL.name: "revops@example.com"})
    monkeypatch.setenv(settings.ALERT_EMAIL.name, "revops@example.com")
    nightly_failure_alert(failed_run_context)
    entry = json.loads((tmp_path / "alerts.log").read_text())
    assert entry["run_id"] == failed_run_context.dagster_run.run_id


def test_sink_descriptions_never_contain_secrets():
    webhook = alerts.WebhookSink(f"https://hooks.slack.com/services/{SECRET}")
    mail = alerts.EmailSink(("a@example.com",), "smtp.example.com", 587, user="u", password="pw!")
    assert webhook.describe() == "webhook https://hooks.slack.com"
    assert SECRET not in repr(webhook) and "pw!" not in repr(mail)
    assert "pw!" not in mail.describe()
