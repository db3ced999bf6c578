"""Fault injection: what an httpx client sees for every fault kind, counters, admin endpoints."""

from __future__ import annotations

import time

import httpx
import pytest

from dataframer_emulator import FaultRule

SPECS = "specs/"


def test_rate_limit_with_retry_headers(api, emulator):
    rule = emulator.add_fault(
        method="GET",
        path=SPECS,
        status_code=429,
        retry_after=2,
        retry_after_ms=1500,
        should_retry=True,
        times=2,
    )
    for _ in range(2):
        response = api.get("/specs/")
        assert response.status_code == 429
        assert response.headers["retry-after"] == "2"
        assert response.headers["retry-after-ms"] == "1500"
        assert response.headers["x-should-retry"] == "true"
        assert rule.id in response.json()["detail"]
    assert api.get("/specs/").status_code == 200
    assert emulator.fault(rule.id).hits == 2
    statuses = [r.status for r in emulator.requests(method="GET", path=SPECS)]
    assert statuses == [429, 429, 200]


def test_server_error_burst_with_custom_body_and_headers(api, emulator):
    emulator.add_fault(
        path="specs/**",
        status_code=503,
        times=3,
        body={"error": "upstream overloaded"},
        headers={"X-Trace": "t1"},
    )
    seen = [api.get("/specs/") for _ in range(4)]
    assert [r.status_code for r in seen] == [503, 503, 503, 200]
    assert seen[0].json() == {"error": "upstream overloaded"}
    assert seen[0].headers["x-trace"] == "t1"


def test_fault_applies_forever_when_times_is_none(api, emulator):
    emulator.add_fault(path="runs/**", status_code=500, times=None, should_retry=False)
    for _ in range(5):
        response = api.get("/runs/")
        assert response.status_code == 500
        assert response.headers["x-should-retry"] == "false"
    assert emulator.faults()[0].hits == 5


def test_skip_lets_the_first_requests_through(api, emulator):
    rule = emulator.add_fault(path=SPECS, status_code=502, skip=2, times=1)
    assert [api.get("/specs/").status_code for _ in range(4)] == [200, 200, 502, 200]
    counters = emulator.fault(rule.id)
    assert (counters.matched, counters.hits) == (3, 1)


def test_method_and_path_must_both_match(api, emulator):
    emulator.add_fault(method="POST", path=SPECS, status_code=500, times=None)
    assert api.get("/specs/").status_code == 200
    assert api.get("/runs/").status_code == 200
    assert api.post("/specs/", json={"name": "x", "generation_objectives": "o"}).status_code == 500
    assert api.get("/specs/").json() == []  # the faulted create did not happen


def test_delay_adds_latency(api, emulator):
    emulator.add_fault(action="delay", path=SPECS, delay_seconds=0.3)
    started = time.monotonic()
    assert api.get("/specs/").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    api.get("/specs/")
    assert time.monotonic() - started < 0.3


def test_delay_beyond_the_client_timeout_is_a_read_timeout(emulator):
    emulator.add_fault(action="delay", path=SPECS, delay_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(emulator.url + "/api/dataframer/specs/", headers=emulator.headers, timeout=0.1)


def test_delay_before_an_error(api, emulator):
    emulator.add_fault(path=SPECS, status_code=504, delay_seconds=0.2)
    started = time.monotonic()
    assert api.get("/specs/").status_code == 504
    assert time.monotonic() - started >= 0.2


def test_drop_closes_the_connection_without_a_response(api, emulator):
    emulator.add_fault(action="drop", method="POST", path=SPECS)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/specs/", json={"name": "dropped", "generation_objectives": "o"})
    assert api.get("/specs/").json() == []  # not performed
    [record] = emulator.requests(method="POST")
    assert (record.status, record.outcome) == (None, "dropped")


def test_lost_response_after_create(api, emulator):
    """The create is stored, the answer is lost; a blind retry meets "already exists"."""
    emulator.add_fault(action="lose_response", method="POST", path=SPECS)
    body = {"name": "once", "generation_objectives": "o"}
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/specs/", json=body)
    assert [s["name"] for s in api.get("/specs/").json()] == ["once"]
    retry = api.post("/specs/", json=body)
    assert retry.status_code == 400
    assert "already exists" in retry.json()["detail"]
    outcomes = [r.outcome for r in emulator.requests(method="POST")]
    assert outcomes == ["lost_response", "response"]


def test_status_override(api, emulator):
    spec_id = api.create_spec(name="x", generation_objectives="o")
    api.wait_spec(spec_id)
    emulator.add_fault(action="status_override", method="GET", path="specs/*/", status="QUEUED", times=2)
    reported = [api.get(f"/specs/{spec_id}/").json() for _ in range(3)]
    assert [r["status"] for r in reported] == ["QUEUED", "QUEUED", "SUCCEEDED"]
    assert reported[0]["content_yaml"] == reported[2]["content_yaml"]  # only the status changes


def test_status_override_leaves_bodies_without_status_alone(api, emulator):
    emulator.add_fault(action="status_override", path=SPECS, status="QUEUED")
    response = api.get("/specs/")
    assert response.status_code == 200
    assert response.json() == []


def test_faults_configured_at_start(dataframer_emulator_factory):
    rule = FaultRule(path="runs/**", status_code=503, times=1)
    server = dataframer_emulator_factory(faults=[rule])
    url = server.url + "/api/dataframer/runs/"
    assert [httpx.get(url, headers=server.headers).status_code for _ in range(2)] == [503, 200]
    assert server.fault(rule.id).hits == 1


def test_first_matching_live_rule_wins(api, emulator):
    emulator.add_fault(path=SPECS, status_code=429, times=1)
    emulator.add_fault(path=SPECS, status_code=503, times=1)
    assert [api.get("/specs/").status_code for _ in range(3)] == [429, 503, 200]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"path": "/specs/$"}, "looks like a regular expression"),
        ({"path": "(a+)+$"}, "paths are globs now"),
        ({"path": ""}, "an empty pattern matches nothing"),
        ({"action": "status_override"}, "needs a 'status'"),
        ({"action": "explode"}, "action"),
        ({"times": 0}, "times"),
    ],
)
def test_invalid_rules_are_refused(emulator, fields, fragment):
    response = httpx.post(emulator.url + "/_emulator/faults", json=fields)
    assert response.status_code == 422
    assert fragment in response.text
    with pytest.raises(ValueError, match=fragment):
        emulator.add_fault(**fields)


def test_admin_fault_endpoints(api, emulator):
    with httpx.Client(base_url=emulator.url + "/_emulator") as admin:
        _exercise_fault_endpoints(api, admin)


def _exercise_fault_endpoints(api, admin):
    created = admin.post("/faults", json={"path": SPECS, "status_code": 503, "id": "burst"})
    assert created.status_code == 201
    assert created.json()[0]["id"] == "burst"
    listed = admin.post(
        "/faults", json=[{"path": "runs/**", "status_code": 500}, {"path": "x/", "times": None}]
    )
    assert len(listed.json()) == 2
    assert api.get("/specs/").status_code == 503
    rules = {r["id"]: r for r in admin.get("/faults").json()}
    assert rules["burst"]["hits"] == 1
    assert admin.get("/faults/burst").json()["hits"] == 1
    assert admin.delete("/faults/burst").status_code == 204
    assert admin.get("/faults/burst").status_code == 404
    assert admin.delete("/faults/burst").status_code == 404
    assert admin.delete("/faults").status_code == 204
    assert admin.get("/faults").json() == []
    assert api.get("/runs/").status_code == 200


def test_admin_request_log(api, emulator):
    api.get("/specs/")
    api.get("/runs/")
    api.post("/runs/", json={"spec_id": "nope", "number_of_samples": 1})
    with httpx.Client(base_url=emulator.url + "/_emulator") as admin:
        log = admin.get("/requests").json()
        assert len(admin.get("/requests", params={"method": "GET", "path": "runs/**"}).json()) == 1
        assert admin.delete("/requests").status_code == 204
        assert admin.get("/requests").json() == []
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", "/api/dataframer/specs/", 200),
        ("GET", "/api/dataframer/runs/", 200),
        ("POST", "/api/dataframer/runs/", 404),
    ]
    assert [r["seq"] for r in log] == [1, 2, 3]


def test_admin_endpoints_are_neither_faulted_nor_logged(api, emulator):
    emulator.add_fault(path="**", status_code=500, times=None)
    assert httpx.get(emulator.url + "/_emulator/health").status_code == 200
    assert httpx.get(emulator.url + "/_emulator/requests").status_code == 200
    assert emulator.requests() == []


def test_download_urls_can_be_faulted(api_with):
    api = api_with(download_seconds=0)
    server = api.server
    spec = api.ready_spec()
    run = api.wait_run(api.create_run(spec["id"], 1))
    url = api.get(f"/runs/{run['id']}/files/download/").json()["download_url"]
    server.add_fault(path="/_emulator/downloads/*", status_code=503)
    assert httpx.get(url).status_code == 503
    assert httpx.get(url).status_code == 200


def test_reset_forgets_state_faults_and_requests(api, emulator):
    api.create_spec(name="x", generation_objectives="o")
    emulator.add_fault(path="nothing/")
    response = httpx.post(emulator.url + "/_emulator/reset")
    assert response.status_code == 200
    assert emulator.faults() == []
    assert emulator.requests() == []
    assert api.get("/specs/").json() == []


def test_a_backtracking_pattern_is_refused_and_globs_stay_fast(api, emulator):
    """The regex `(a+)+$` blocked the server for seconds; a glob costs at most pattern x path."""
    with pytest.raises(ValueError, match="regular expression"):
        emulator.add_fault(path="(a+)+$")
    emulator.add_fault(path="**/" + "*a" * 200 + "b/**", status_code=500, times=None)
    started = time.monotonic()
    response = api.get("/specs/" + "a" * 3000 + "/")
    assert time.monotonic() - started < 2
    assert response.status_code == 404  # not faulted: no "b" in the path


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("specs/", "/api/dataframer/specs/", True),
        ("specs/", "/api/dataframer/specs/x/", False),
        ("specs/*/", "/api/dataframer/specs/123/", True),
        ("specs/*/", "/api/dataframer/specs/123/versions/", False),
        ("runs/**", "/api/dataframer/runs/", True),
        ("runs/**", "/api/dataframer/runs/r1/cancel/", True),
        ("runs/*/cancel/", "/api/dataframer/runs/r1/cancel/", True),
        ("runs/*/files/**", "/api/dataframer/runs/r1/files/f1/download/", True),
        ("seed-datasets/create*/", "/api/dataframer/seed-datasets/create-from-zip/", True),
        ("seed-datasets/create*/", "/api/dataframer/seed-datasets/", False),
        ("/_emulator/downloads/*", "/_emulator/downloads/tok", True),
        ("**", "/anything/at/all", True),
        ("**/cancel/", "/api/dataframer/runs/r1/cancel/", True),
        ("spec?/", "/api/dataframer/specs/", True),
    ],
)
def test_path_globs(pattern, path, matches):
    from dataframer_emulator.pathglob import check_pattern, path_matches

    assert path_matches(check_pattern(pattern), path) is matches


def test_request_log_keeps_the_last_requests(dataframer_emulator_factory):
    server = dataframer_emulator_factory(request_log_size=3)
    for _ in range(5):
        httpx.get(server.url + "/api/dataframer/specs/", headers=server.headers)
    assert [r.seq for r in server.requests()] == [3, 4, 5]
    server.clear_requests()
    httpx.get(server.url + "/api/dataframer/runs/", headers=server.headers)
    assert [r.seq for r in server.requests()] == [1]


def test_request_log_filter_refuses_a_regex(emulator):
    response = httpx.get(emulator.url + "/_emulator/requests", params={"path": "(a+)+$"})
    assert response.status_code == 422
    assert "globs" in response.json()["detail"]
