"""Which sources a run uses: the demo unless real credentials are configured."""

import pytest

from ingestion.pipelines import FEEDS, configured_connections, make_pipeline

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("no_source_credentials")]


def test_without_credentials_the_demo_is_used(tmp_path):
    assert configured_connections(tmp_path) is None


def test_with_both_systems_configured_their_settings_are_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCES__HUBSPOT__ACCESS_TOKEN", "pat-eu1-123")
    monkeypatch.setenv("SOURCES__SALESFORCE__INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("SOURCES__SALESFORCE__ACCESS_TOKEN", "00D-token")
    connections = configured_connections(tmp_path / "inbox")
    assert connections.for_feed("hubspot") == {"access_token": "pat-eu1-123"}
    assert connections.for_feed("salesforce") == {
        "access_token": "00D-token",
        "instance_url": "https://acme.my.salesforce.com",
    }
    assert connections.for_feed("files") == {
        "drop_dir": str(tmp_path / "inbox"),
        "create_missing": True,
    }


@pytest.mark.parametrize(
    ("configured", "missing"),
    [
        ({"SOURCES__HUBSPOT__ACCESS_TOKEN": "pat"}, "SOURCES__SALESFORCE__ACCESS_TOKEN"),
        ({"SOURCES__SALESFORCE__ACCESS_TOKEN": "t"}, "SOURCES__HUBSPOT__ACCESS_TOKEN"),
    ],
)
def test_half_a_configuration_is_an_error_naming_what_is_missing(
    tmp_path, monkeypatch, configured, missing
):
    for key, value in configured.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=missing):
        configured_connections(tmp_path)


def test_every_feed_is_its_own_dataset_and_the_file_name_may_not_clash(tmp_path):
    assert sorted(FEEDS) == ["files", "hubspot", "salesforce"]
    with pytest.raises(ValueError, match="may not be named hubspot.duckdb"):
        make_pipeline("hubspot", tmp_path / "hubspot.duckdb", tmp_path / "p")
    with pytest.raises(ValueError, match="unknown feed 'marketo'"):
        make_pipeline("marketo", tmp_path / "w.duckdb", tmp_path / "p")


def test_a_hubspot_oauth_app_counts_as_configured_and_its_settings_are_passed_on(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("SOURCES__HUBSPOT__CLIENT_ID", "app-id")
    monkeypatch.setenv("SOURCES__HUBSPOT__CLIENT_SECRET", "app-secret")
    monkeypatch.setenv("SOURCES__HUBSPOT__REFRESH_TOKEN", "refresh-1")
    monkeypatch.setenv("SOURCES__SALESFORCE__INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("SOURCES__SALESFORCE__ACCESS_TOKEN", "00D-token")
    connections = configured_connections(tmp_path)
    assert connections.for_feed("hubspot") == {
        "client_id": "app-id",
        "client_secret": "app-secret",
        "refresh_token": "refresh-1",
    }


@pytest.mark.parametrize(("raw", "share"), [(None, 0.5), ("", 0.5), ("0.25", 0.25), ("1", 1.0)])
def test_the_quota_share_is_read_from_leadbridge_quota_share(raw, share):
    from ingestion.pipelines import api_usage, quota_share
    from leadbridge.settings import QUOTA_SHARE

    environ = {} if raw is None else {QUOTA_SHARE.name: raw}
    assert quota_share(environ) == share
    assert api_usage("files") is None


@pytest.mark.parametrize("raw", ["0", "1.5", "-0.1", "half", "nan"])
def test_a_quota_share_outside_zero_to_one_is_refused_naming_the_setting(raw):
    from ingestion.pipelines import quota_share

    with pytest.raises(ValueError, match=f"LEADBRIDGE_QUOTA_SHARE='{raw}'.*greater than 0"):
        quota_share({"LEADBRIDGE_QUOTA_SHARE": raw})
