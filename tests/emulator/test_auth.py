"""Authentication: Bearer keys on every /api/ request and, when a key is set, on the admin endpoints."""

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


ADMIN_CALLS = [
    ("GET", "/_emulator/faults", None),
    ("POST", "/_emulator/faults", {"path": "specs/", "status_code": 503}),
    ("POST", "/_emulator/faults", {"path": "(a+)+$"}),  # 401 before the body is validated
    ("DELETE", "/_emulator/faults", None),
    ("GET", "/_emulator/faults/x", None),
    ("DELETE", "/_emulator/faults/x", None),
    ("GET", "/_emulator/requests", None),
    ("DELETE", "/_emulator/requests", None),
    ("POST", "/_emulator/reset", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_admin_endpoints_need_the_key_when_one_is_set(dataframer_emulator_factory, method, path, body):
    server = dataframer_emulator_factory(api_key="s3cret")
    httpx.post(
        server.url + SPECS, json={"name": "kept", "generation_objectives": "o"}, headers=server.headers
    )
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = httpx.request(method, server.url + path, json=body, headers=headers)
        assert refused.status_code == 401, (method, path, headers)
    assert server.faults() == []
    assert len(server.requests()) == 1, "the request log is intact: no reset, no clear"
    allowed = httpx.request(method, server.url + path, json=body, headers=server.headers)
    assert allowed.status_code != 401


def test_the_request_log_with_its_download_tokens_is_not_readable_without_the_key(
    dataframer_emulator_factory,
):
    server = dataframer_emulator_factory(api_key="s3cret")
    assert httpx.get(server.url + "/_emulator/requests").status_code == 401
    assert httpx.get(server.url + "/_emulator/requests", headers=server.headers).json() == []


def test_health_docs_and_home_need_no_key(dataframer_emulator_factory):
    server = dataframer_emulator_factory(api_key="s3cret")
    assert httpx.get(server.url + "/_emulator/health").json() == {"status": "ok"}
    assert httpx.get(server.url + "/_emulator/openapi.json").status_code == 200
    assert httpx.get(server.url + "/").status_code == 200


def test_admin_endpoints_need_no_key_when_none_is_set(emulator):
    assert httpx.get(emulator.url + "/_emulator/faults").status_code == 200


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
