"""The systems' credentials as dlt configspecs: which way of signing in settings begin,
what a half-configured one names, and dlt reading them under `sources.<system>`."""

import pytest

from ingestion.sources.api import ConfigError, OAuthToken, configured, credentials_from
from ingestion.sources.hubspot.helpers import (
    HubSpotCredentials,
    HubSpotOAuthApp,
    HubSpotPrivateApp,
)
from ingestion.sources.salesforce.helpers import SalesforceCredentials, SalesforceSession

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("no_source_credentials")]


def test_a_private_app_token_signs_in_with_the_token_at_the_default_url():
    credentials = credentials_from("hubspot", HubSpotCredentials, {"access_token": " pat-1 "})
    assert isinstance(credentials, HubSpotPrivateApp)
    assert credentials.connect() == ("https://api.hubapi.com", "pat-1")


def test_an_oauth_app_signs_in_with_a_token_from_its_own_base_url():
    credentials = credentials_from(
        "hubspot",
        HubSpotCredentials,
        {"client_id": "a", "client_secret": "b", "refresh_token": "c", "base_url": "http://h/"},
    )
    assert isinstance(credentials, HubSpotOAuthApp)
    url, token = credentials.connect()
    assert url == "http://h/" and isinstance(token, OAuthToken)
    assert token.token_url == "http://h/oauth/v1/token"


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "SOURCES__HUBSPOT__ACCESS_TOKEN"),
        ({"base_url": "http://h"}, "SOURCES__HUBSPOT__ACCESS_TOKEN"),
        ({"client_id": "a"}, "SOURCES__HUBSPOT__CLIENT_SECRET"),
        ({"client_secret": "b", "refresh_token": "c"}, "SOURCES__HUBSPOT__CLIENT_ID"),
    ],
)
def test_half_a_way_of_signing_in_names_its_first_missing_setting(given, missing):
    with pytest.raises(ConfigError, match=f"set {missing} or add it"):
        credentials_from("hubspot", HubSpotCredentials, given)


def test_a_salesforce_token_needs_its_instance_and_no_token_names_both_ways_in():
    with pytest.raises(ConfigError, match="set SOURCES__SALESFORCE__INSTANCE_URL or add it"):
        credentials_from("salesforce", SalesforceCredentials, {"access_token": "t"})
    with pytest.raises(ConfigError, match="ACCESS_TOKEN, or SOURCES__SALESFORCE__CLIENT_ID"):
        credentials_from("salesforce", SalesforceCredentials, {"client_id": "a"})
    session = credentials_from(
        "salesforce", SalesforceCredentials, {"access_token": "t", "instance_url": "https://o"}
    )
    assert isinstance(session, SalesforceSession) and session.connect() == ("https://o", "t")


def test_dlt_reads_the_settings_under_the_system_section_and_a_url_alone_is_no_sign_in(
    monkeypatch,
):
    monkeypatch.setenv("SOURCES__HUBSPOT__BASE_URL", "http://h")
    assert configured("hubspot", HubSpotCredentials) is None
    monkeypatch.setenv("SOURCES__HUBSPOT__CLIENT_ID", "a")
    assert configured("hubspot", HubSpotCredentials) == {"client_id": "a", "base_url": "http://h"}
    monkeypatch.setenv("SOURCES__SALESFORCE__ACCESS_TOKEN", "t")
    assert configured("salesforce", SalesforceCredentials) == {"access_token": "t"}
