"""HubSpot tasks written into a simulator over HTTP, as a client writes them: a world
has none until then. Also the HubSpot calls and the task key property the write-back
tests share."""

from __future__ import annotations

import requests

from simulator import SimulatedApis

TASK_TO_CONTACT = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}


def create_tasks(sim: SimulatedApis, count: int = 1) -> list[str]:
    """`count` open call tasks, each associated with one of the first contacts; their ids."""
    base, token = sim.hubspot_base_url, {"Authorization": f"Bearer {sim.token}"}
    contacts = requests.get(
        f"{base}/crm/v3/objects/contacts", params={"limit": count}, headers=token, timeout=10
    ).json()["results"]
    inputs = [
        {
            "properties": {"hs_timestamp": "2026-11-02T10:00:00Z", "hs_task_type": "CALL"},
            "associations": [
                {"to": {"id": contacts[i % len(contacts)]["id"]}, "types": [TASK_TO_CONTACT]}
            ],
        }
        for i in range(count)
    ]
    created = requests.post(
        f"{base}/crm/v3/objects/tasks/batch/create",
        json={"inputs": inputs},
        headers=token,
        timeout=10,
    )
    assert created.status_code == 200, created.text
    return [t["id"] for t in created.json()["results"]]


def hs(sim: SimulatedApis, http: requests.Session, method: str, path: str, **kwargs):
    """A HubSpot API call to the simulator; the answer as it came."""
    return http.request(method, sim.hubspot_base_url + path, timeout=10, **kwargs)


def hs_ok(sim: SimulatedApis, http: requests.Session, method: str, path: str, **kwargs):
    """A HubSpot API call that must succeed; its JSON."""
    answer = hs(sim, http, method, path, **kwargs)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def create_task_key_property(sim: SimulatedApis, http: requests.Session) -> None:
    """The task property `leadbridge_key` (unique values) the write-back upserts its
    follow-ups on (docs/activation.md)."""
    created = hs(
        sim,
        http,
        "POST",
        "/crm/v3/properties/tasks",
        json={
            "name": "leadbridge_key",
            "label": "Leadbridge key",
            "type": "string",
            "fieldType": "text",
            "groupName": "task",
            "hasUniqueValue": True,
        },
    )
    assert created.status_code == 201, created.text
