from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerAuthError,
    DataframerConfigError,
    DataframerNotFoundError,
    DataframerTransportError,
)
from airflow_provider_dataframer.hooks.dataframer import DataframerHook, base_url_from
from airflow_provider_dataframer.kinds import SPEC
from airflow_provider_dataframer.models import SpecCreateRequest
from tests.conftest import TEST_API_KEY, TEST_BASE_URL, connection_json

SPECS_URL = f"{TEST_BASE_URL}/api/dataframer/specs/"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


@pytest.fixture
def no_sleep(mocker):  # type: ignore[no-untyped-def]
    """Record the SDK's retry sleeps instead of sleeping."""
    return mocker.patch("dataframer._base_client.time.sleep")


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        (None, None, None, "https://df-api.dataframer.ai"),
        ("", None, None, "https://df-api.dataframer.ai"),
        ("http://127.0.0.1:8080", None, None, "http://127.0.0.1:8080"),
        ("http://127.0.0.1:8080/", None, None, "http://127.0.0.1:8080"),
        ("127.0.0.1", "http", 8080, "http://127.0.0.1:8080"),
        ("df.internal.example", None, None, "https://df.internal.example"),
        ("https://df.internal.example", None, 8443, "https://df.internal.example:8443"),
    ],
)
def test_base_url_forms(host: str | None, schema: str | None, port: int | None, expected: str) -> None:
    assert base_url_from(host, schema, port) == expected


def test_missing_key_names_both_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=None))
    with pytest.raises(DataframerConfigError, match=r"password.*DATAFRAMER_API_KEY"):
        _ = DataframerHook().settings


@respx.mock
def test_env_var_key_is_used_when_connection_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=None))
    monkeypatch.setenv("DATAFRAMER_API_KEY", "env-key-123456")
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    DataframerHook().get_spec(SPEC_ID)
    assert route.calls.last.request.headers["Authorization"] == "Bearer env-key-123456"


@respx.mock
def test_create_seeded_spec_sends_exact_request() -> None:
    route = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    dataset_id = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"
    created = DataframerHook().create_spec(SpecCreateRequest.build(name="s1", dataset_id=dataset_id))
    assert created == SPEC_ID
    request = route.calls.last.request
    assert request.url.path == "/api/dataframer/specs/"
    assert request.headers["Authorization"] == f"Bearer {TEST_API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    # No model unless the user names one: the server has its own default.
    assert json.loads(request.content) == {
        "name": "s1",
        "dataset_id": dataset_id,
        "generate_distributions": True,
        "generate_conditional_distributions": False,
        "extrapolate_values": True,
        "extrapolate_axes": False,
    }


@respx.mock
def test_create_seedless_spec_sends_objectives_without_extrapolation() -> None:
    route = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    DataframerHook().create_spec(SpecCreateRequest.build(name="s2", generation_objectives="tickets"))
    body = json.loads(route.calls.last.request.content)
    assert body["generation_objectives"] == "tickets"
    assert not {"dataset_id", "extrapolate_values", "extrapolate_axes"} & set(body)


@respx.mock
def test_create_accepts_the_whole_spec_object() -> None:
    respx.post(SPECS_URL).respond(
        201, json={"id": SPEC_ID, "name": "s", "status": "PROCESSING", "content_yaml": None, "novel": 1}
    )
    assert (
        DataframerHook().create_spec(SpecCreateRequest.build(name="s", generation_objectives="x")) == SPEC_ID
    )


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "error_class", "message"),
    [
        (400, {"detail": "Spec name already exists"}, DataframerApiError, "Spec name already exists"),
        (401, {"error": "Invalid API key"}, DataframerAuthError, "Invalid API key"),
        (403, {"message": "Forbidden for this company"}, DataframerAuthError, "Forbidden for this company"),
        (404, {"detail": "Not found."}, DataframerNotFoundError, "Not found."),
        (
            422,
            {"detail": [{"loc": ["body", "name"], "msg": "field required"}]},
            DataframerApiError,
            "name: field required",
        ),
    ],
)
def test_client_errors_are_not_retried_and_carry_the_server_message(
    status: int, body: dict[str, object], error_class: type[Exception], message: str, no_sleep: object
) -> None:
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(status, json=body)
    with pytest.raises(error_class) as excinfo:
        DataframerHook().get_spec(SPEC_ID)
    assert route.call_count == 1
    assert excinfo.value.http_status == status  # type: ignore[attr-defined]
    assert message in str(excinfo.value)
    assert f"HTTP {status}" in str(excinfo.value)
    assert TEST_API_KEY not in str(excinfo.value)


@respx.mock
def test_retries_5xx_then_succeeds(no_sleep: object) -> None:
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy"}),
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    assert DataframerHook().get_spec(SPEC_ID).status == "SUCCEEDED"
    assert route.call_count == 3


@respx.mock
def test_gives_up_after_max_retries_with_the_last_error(no_sleep: object) -> None:
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(500, json={"detail": "boom"})
    with pytest.raises(DataframerApiError, match="HTTP 500: boom"):
        DataframerHook().get_spec(SPEC_ID)
    assert route.call_count == 3  # one attempt + max_retries=2


@respx.mock
def test_honours_retry_after_and_retry_after_ms(no_sleep) -> None:  # type: ignore[no-untyped-def]
    respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, json={"detail": "slow down"}),
            httpx.Response(429, headers={"retry-after-ms": "250"}, json={"detail": "slow down"}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "PROCESSING"}),
        ]
    )
    DataframerHook().get_spec(SPEC_ID)
    assert [call.args[0] for call in no_sleep.call_args_list] == [3.0, 0.25]


@respx.mock
def test_obeys_x_should_retry(no_sleep: object) -> None:
    no_retry = respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(503, headers={"x-should-retry": "false"}, json={})
    with pytest.raises(DataframerApiError):
        DataframerHook().get_spec(SPEC_ID)
    assert no_retry.call_count == 1
    other = "11111111-1111-1111-1111-111111111111"
    forced = respx.get(f"{SPECS_URL}{other}/").mock(
        side_effect=[
            httpx.Response(400, headers={"x-should-retry": "true"}, json={}),
            httpx.Response(200, json={"id": other, "status": "PROCESSING"}),
        ]
    )
    DataframerHook().get_spec(other)
    assert forced.call_count == 2


@respx.mock
def test_retries_connection_errors_on_reads(no_sleep: object) -> None:
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[httpx.ReadError("reset"), httpx.Response(200, json={"id": SPEC_ID, "status": "FAILED"})]
    )
    assert DataframerHook().get_spec(SPEC_ID).status == "FAILED"
    assert route.call_count == 2


@respx.mock
def test_create_is_not_blindly_retried_after_an_ambiguous_failure(no_sleep: object) -> None:
    route = respx.post(SPECS_URL).mock(side_effect=httpx.ReadTimeout("no answer"))
    with pytest.raises(DataframerTransportError, match="ReadTimeout"):
        DataframerHook().create_spec(SpecCreateRequest.build(name="s", generation_objectives="x"))
    assert route.call_count == 1
    route.side_effect = [httpx.Response(500, json={"detail": "oops"})]
    with pytest.raises(DataframerApiError):
        DataframerHook().create_spec(SpecCreateRequest.build(name="s", generation_objectives="x"))
    assert route.call_count == 2


@respx.mock
def test_a_create_is_one_attempt_and_says_whether_it_was_sent(no_sleep: object) -> None:
    """The SDK retries POSTs blindly: creates go with max_retries=0, and send_once decides."""
    route = respx.post(SPECS_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(DataframerTransportError) as caught:
        DataframerHook().create_spec(SpecCreateRequest.build(name="s", generation_objectives="x"))
    assert caught.value.not_sent, "a refused connection cannot have reached the server"
    route.side_effect = [httpx.Response(429, json={"detail": "rate limited"})]
    with pytest.raises(DataframerApiError) as refused:
        DataframerHook().create_spec(SpecCreateRequest.build(name="s", generation_objectives="x"))
    assert refused.value.http_status == 429
    assert route.call_count == 2
    no_sleep.assert_not_called()  # type: ignore[attr-defined]


@respx.mock
def test_list_and_delete_specs() -> None:
    respx.get(SPECS_URL).respond(json=[{"id": SPEC_ID, "name": "n", "status": "SUCCEEDED"}])
    delete = respx.delete(f"{SPECS_URL}{SPEC_ID}/").respond(204)
    hook = DataframerHook()
    assert [spec.name for spec in hook.list_specs()] == ["n"]
    hook.delete_spec(SPEC_ID, force=True)
    assert delete.calls.last.request.url.params["force"] == "true"


@respx.mock
async def test_async_get_status_and_close() -> None:
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    hook = DataframerHook()
    spec = await hook.aget_status(SPEC, SPEC_ID)
    assert spec.status == "PROCESSING"
    client = await hook.get_async_conn()
    await hook.aclose()
    assert client.is_closed()


@respx.mock
async def test_async_retries_like_sync(mocker) -> None:  # type: ignore[no-untyped-def]
    sleep = mocker.patch("dataframer._base_client.anyio.sleep")
    route = respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json={}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    hook = DataframerHook()
    assert (await hook.aget_status(SPEC, SPEC_ID)).status == "SUCCEEDED"
    await hook.aclose()
    assert route.call_count == 2
    sleep.assert_awaited_once_with(2.0)


@respx.mock
def test_test_connection_reports_success_and_auth_failure() -> None:
    route = respx.get(f"{TEST_BASE_URL}/api/dataframer/seed-datasets/").respond(json=[])
    assert DataframerHook().test_connection() == (True, f"Connected to Dataframer at {TEST_BASE_URL}")
    route.respond(401, json={"detail": "Invalid token"})
    ok, message = DataframerHook().test_connection()
    assert not ok and "Authentication failed" in message and "Invalid token" in message


def test_test_connection_reports_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_DEFAULT", connection_json(password=None))
    ok, message = DataframerHook().test_connection()
    assert not ok and "DATAFRAMER_API_KEY" in message


def test_ui_field_behaviour() -> None:
    behaviour = DataframerHook.get_ui_field_behaviour()
    assert set(behaviour["hidden_fields"]) == {"schema", "login", "port"}
    assert behaviour["relabeling"] == {"password": "API Key", "host": "Base URL"}
    assert behaviour["placeholders"]["host"] == "https://df-api.dataframer.ai"


@respx.mock
def test_api_key_never_reaches_logs_even_at_debug(caplog: pytest.LogCaptureFixture, no_sleep: object) -> None:
    caplog.set_level(logging.DEBUG)
    respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(503, json={"detail": "busy"}),
            httpx.Response(401, json={"detail": "bad"}),
        ]
    )
    hook = DataframerHook()
    with pytest.raises(DataframerAuthError) as excinfo:
        hook.get_spec(SPEC_ID)
    assert TEST_API_KEY not in caplog.text
    assert TEST_API_KEY not in repr(hook.settings)
    assert TEST_API_KEY not in repr(excinfo.value)
    assert "Retrying request" in caplog.text


@respx.mock
def test_a_key_echoed_by_the_server_is_blanked_out_of_the_error() -> None:
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(401, json={"detail": f"Invalid API key {TEST_API_KEY}."})
    with pytest.raises(DataframerAuthError) as caught:
        DataframerHook().get_spec(SPEC_ID)
    assert TEST_API_KEY not in str(caught.value) and TEST_API_KEY not in caught.value.message
    assert "Invalid API key ***." in str(caught.value)


@respx.mock
def test_a_databricks_secret_echoed_by_the_server_is_blanked_out_of_the_error() -> None:
    secret = "dbx-echoed-secret-7d1c"
    respx.post(SPECS_URL).respond(400, json={"detail": f"databricks_client_secret {secret} was refused"})
    request = SpecCreateRequest(
        name="s",
        generation_objectives="o",
        spec_generation_model_name="databricks/databricks-gpt-5",
        databricks_client_id="id",
        databricks_client_secret=secret,
        databricks_api_base="https://adb.example/serving-endpoints",
    )
    assert secret not in repr(request) and secret not in str(request)
    with pytest.raises(DataframerApiError) as caught:
        DataframerHook().create_spec(request)
    assert secret not in str(caught.value)
    assert "databricks_client_secret *** was refused" in str(caught.value)
