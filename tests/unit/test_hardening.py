"""Keys, secrets, ids, Retry-After and malformed answers: what an attacker or an unlucky operator meets."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerConfigError,
    DataframerResponseError,
    DataframerValidationError,
)
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import RUN, SPEC
from airflow_provider_dataframer.models import SpecCreateRequest
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.retry import parse_retry_after, requested_wait
from airflow_provider_dataframer.scrubbing import register_secret, scrub
from airflow_provider_dataframer.waiting import StatusWatch
from tests.conftest import TEST_API_KEY, TEST_BASE_URL, connection_json

SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
SPEC_URL = f"{TEST_BASE_URL}/api/dataframer/specs/{SPEC_ID}/"


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)

    def warning(self, msg: str, *args: object) -> None:
        self.lines.append(msg % args)


# The API key


@respx.mock
def test_a_pasted_key_with_a_trailing_newline_is_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=f"{TEST_API_KEY}\n"))
    route = respx.get(SPEC_URL).respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    DataframerHook().get_spec(SPEC_ID)
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"


@pytest.mark.parametrize("key", ["df-key with-space-0123", "df-key\x00nul-0123", "df-key\nline-0123"])
def test_a_key_with_inner_whitespace_or_control_characters_is_refused_unechoed(
    monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=key))
    with pytest.raises(DataframerConfigError, match="whitespace or control characters") as caught:
        _ = DataframerHook().settings
    for part in key.split():
        assert part not in str(caught.value)
    ok, message = DataframerHook().test_connection()
    assert not ok and all(part not in message for part in key.split())


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"read_timeout": "inf"}, "read_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"max_retries": "many"}, "max_retries"),
        ({"extra_headers": {"Authorization": "Bearer x"}}, "Authorization"),
    ],
)
def test_connection_extras_are_checked_with_the_field_named(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, object], field: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(**extra))
    with pytest.raises(DataframerConfigError, match=field):
        _ = DataframerHook().settings


# One scrubber


def test_the_scrubber_knows_every_form_of_a_secret() -> None:
    secret = 'dbx-s3cr"et\\with/odd+chars'
    register_secret(secret)
    forms = [secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], "dbx-s3cr%22et%5Cwith%2Fodd%2Bchars"]
    for form in forms:
        assert scrub(f"echo: {form}.") == "echo: ***.", form


@respx.mock
def test_a_server_echo_of_the_request_body_is_scrubbed_in_its_json_form() -> None:
    secret = 'dbx-"quoted"-secret-1'
    request = SpecCreateRequest.build(
        name="s",
        generation_objectives="x",
        databricks_client_id="cid",
        databricks_client_secret=secret,
        databricks_api_base="https://adb.example/serving-endpoints",
    )
    respx.post(f"{TEST_BASE_URL}/api/dataframer/specs/").respond(
        400, json={"detail": f"bad body {json.dumps(request.extra_body())}"}
    )
    with pytest.raises(DataframerApiError) as caught:
        DataframerHook().create_spec(request)
    assert secret not in str(caught.value) and json.dumps(secret)[1:-1] not in str(caught.value)


def test_a_failed_specs_echoed_secret_never_reaches_the_event() -> None:
    from airflow_provider_dataframer.models import Spec

    register_secret(TEST_API_KEY)
    watch = StatusWatch(SPEC, SPEC_ID, time.time() + 60, Log())
    spec = Spec(id=SPEC_ID, status="FAILED", error=f"upstream said: Authorization: Bearer {TEST_API_KEY}")
    event = watch.observe(spec)
    assert event is not None and TEST_API_KEY not in json.dumps(event)


def test_a_secret_this_process_never_saw_is_blanked_where_it_is_echoed() -> None:
    """The triggerer never sees the databricks secret the worker sent: its echo is still blanked."""
    unseen = "dbx-never-registered-7f3a"
    body = json.dumps({"name": "s", "databricks_client_secret": unseen})
    for text in (
        f"spec failed: {body}",
        f"spec failed: {json.dumps(body)}",  # the body quoted inside a JSON error
        f"upstream said: Authorization: Bearer {unseen}",
        f"form: api_key={unseen}&name=s",
    ):
        scrubbed = scrub(text)
        assert unseen not in scrubbed and "***" in scrubbed, text
    assert scrub("spec 'secretive-tickets' ended FAILED") == "spec 'secretive-tickets' ended FAILED"


# Ids in URL paths


@respx.mock
@pytest.mark.parametrize("bad", ["../../admin", "x?force=true", "", "9b2f7a64/../x"])
def test_ids_that_are_not_uuids_never_reach_a_path(bad: str) -> None:
    route = respx.route()
    hook = DataframerHook()
    for call in (hook.get_spec, hook.get_run, hook.delete_spec, hook.cancel_run, hook.get_seed_dataset):
        with pytest.raises(DataframerValidationError, match="must be a UUID"):
            call(bad)
    assert not route.called


# Retry-After


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "-5", "86400"])
def test_an_unusable_retry_after_falls_back_to_the_normal_backoff(value: str) -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": value})) is None
    assert parse_retry_after(httpx.Headers({"retry-after-ms": value})) is None
    error = DataframerApiError(429, "slow", "GET", "/x", retry_after=float(value))
    assert requested_wait(error) is None


def test_a_sane_retry_after_is_honoured() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250"})) == 0.25


@respx.mock
async def test_a_nan_retry_after_does_not_park_a_deferred_wait() -> None:
    from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

    respx.get(SPEC_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "nan"}, json={"detail": "slow"}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    trigger = SpecStatusTrigger(spec_id=SPEC_ID, poll_interval=0.01, deadline=time.time() + 20)
    started = time.monotonic()
    [event] = [e.payload async for e in trigger.run()]
    assert event["status"] == "success" and time.monotonic() - started < 10


# Malformed answers


@respx.mock
def test_a_non_json_or_mistyped_200_is_a_clear_error_naming_the_endpoint() -> None:
    route = respx.get(SPEC_URL).respond(
        200, text="<html>proxy login</html>", headers={"Content-Type": "text/html"}
    )
    with pytest.raises(DataframerResponseError, match=f"GET /api/dataframer/specs/{SPEC_ID}/"):
        DataframerHook().get_spec(SPEC_ID)
    route.respond(200, json={"id": SPEC_ID, "status": {"nested": "wrong"}})
    with pytest.raises(DataframerResponseError, match="status"):
        DataframerHook().get_spec(SPEC_ID)


@respx.mock
def test_a_malformed_200_during_a_wait_is_waited_through() -> None:
    from airflow_provider_dataframer.waiting import wait_blocking

    respx.get(f"{TEST_BASE_URL}/api/dataframer/runs/{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(200, text="<html>", headers={"Content-Type": "text/html"}),
            httpx.Response(200, content=b'{"id": "tru', headers={"Content-Type": "application/json"}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    hook = DataframerHook()
    watch = StatusWatch(RUN, SPEC_ID, time.time() + 60, Log())
    event = wait_blocking(lambda: hook.get_status(RUN, SPEC_ID), watch, 0.01, sleep=lambda _: None)
    assert event["status"] == "success"


# Wait arguments


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"poll_interval": "5"}, "poll_interval"),
        ({"timeout": float("inf")}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"poll_interval": True}, "poll_interval"),
    ],
)
def test_wait_arguments_are_finite_positive_numbers_checked_at_construction(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(DataframerValidationError, match=f"{field} must be a positive number"):
        CreateSpecOperator(task_id="t", name="s", generation_objectives="x", **kwargs)  # type: ignore[arg-type]
