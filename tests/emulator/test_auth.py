"""Authentication: Bearer keys on every /api/ request; admin and download URLs need none."""

from __future__ import annotations

import httpx
import pytest

SPECS = "/api/dataframer/specs/"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "not provided"),
        ({"Authorization": ""}, "not provided"),
        ({"Authorization": "Token abc"}, "Malformed"),
        ({"Authorization": "Bearer"}, "Malformed"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Malformed"),
        ({"Authorization": "abc"}, "Malformed"),
    ],
)
def test_missing_or_malformed_authorization_is_401_with_detail(emulator, headers, message):
    response = httpx.get(emulator.url + SPECS, headers=headers)
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_any_non_empty_key_is_accepted_without_configured_key(emulator):
    for key in ("a", "some-other-key"):
        response = httpx.get(emulator.url + SPECS, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200
        assert response.json() == []


def test_bearer_scheme_is_case_insensitive(emulator):
    assert httpx.get(emulator.url + SPECS, headers={"Authorization": "bearer k"}).status_code == 200


def test_configured_key_is_the_only_one_accepted(dataframer_emulator_factory):
    server = dataframer_emulator_factory(api_key="s3cret")
    assert server.api_key == "s3cret"
    wrong = httpx.get(server.url + SPECS, headers={"Authorization": "Bearer other"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid API key."}
    right = httpx.get(server.url + SPECS, headers={"Authorization": "Bearer s3cret"})
    assert right.status_code == 200


def test_every_api_endpoint_requires_auth(emulator):
    paths = [
        ("GET", "/api/dataframer/seed-datasets/"),
        ("GET", "/api/dataframer/seed-datasets/x/"),
        ("POST", "/api/dataframer/seed-datasets/create/"),
        ("POST", "/api/dataframer/seed-datasets/create-from-zip/"),
        ("POST", "/api/dataframer/specs/"),
        ("GET", "/api/dataframer/specs/x/"),
        ("PUT", "/api/dataframer/specs/x/"),
        ("DELETE", "/api/dataframer/specs/x/"),
        ("GET", "/api/dataframer/runs/"),
        ("POST", "/api/dataframer/runs/"),
        ("GET", "/api/dataframer/runs/x/"),
        ("POST", "/api/dataframer/runs/x/cancel/"),
        ("GET", "/api/dataframer/runs/x/files/download/"),
        ("GET", "/api/dataframer/runs/x/files/y/download/"),
    ]
    for method, path in paths:
        response = httpx.request(method, emulator.url + path)
        assert response.status_code == 401, (method, path)


def test_admin_endpoints_need_no_key(dataframer_emulator_factory):
    server = dataframer_emulator_factory(api_key="s3cret")
    assert httpx.get(server.url + "/_emulator/health").json() == {"status": "ok"}
    assert httpx.get(server.url + "/_emulator/faults").status_code == 200


MALFORMED_BODIES = [
    ("POST", SPECS),
    ("PUT", SPECS + "x/"),
    ("POST", "/api/dataframer/runs/"),
    ("POST", "/api/dataframer/seed-datasets/create/"),
]
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(("method", "path"), MALFORMED_BODIES)
def test_malformed_body_without_auth_is_401_not_422(emulator, method, path):
    response = httpx.request(method, emulator.url + path, content=b"{nope", headers=JSON)
    assert response.status_code == 401
    assert "not provided" in response.json()["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_malformed_auth_wins_over_malformed_body(emulator):
    response = httpx.post(
        emulator.url + SPECS, content=b"{nope", headers={**JSON, "Authorization": "Token a"}
    )
    assert response.status_code == 401
    assert "Malformed" in response.json()["detail"]


def test_malformed_body_with_a_good_key_is_still_422(emulator):
    response = httpx.post(emulator.url + SPECS, content=b"{nope", headers={**JSON, **emulator.headers})
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("body", [b"{nope", b'{"name": 5}', b"[]"])
def test_wrong_configured_key_is_401_before_validation(dataframer_emulator_factory, body):
    server = dataframer_emulator_factory(api_key="s3cret")
    wrong = httpx.post(server.url + SPECS, content=body, headers={**JSON, "Authorization": "Bearer other"})
    assert wrong.status_code == 401
    assert wrong.json() == {"detail": "Invalid API key."}
    right = httpx.post(server.url + SPECS, content=body, headers={**JSON, "Authorization": "Bearer s3cret"})
    assert right.status_code == 422
