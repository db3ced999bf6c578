"""The API key and the databricks client secret never reach logs, XCom, rendered fields,
serialized triggers or exception text: checked through the real stack, with debug logging on."""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from airflow.providers.common.compat.sdk import redact

from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.conftest import point_connection_at
from tests.integration.task_runner import run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

API_KEY = "df-live-key-5cf1e0b9a7d24"
DBX_SECRET = "dbx-secret-0a9f7e6d5c4b"


@pytest.fixture
def server(dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server = dataframer_emulator_factory(api_key=API_KEY)
    point_connection_at(monkeypatch, server)
    return server


def databricks_operator(**overrides: Any) -> CreateSpecOperator:
    kwargs: dict[str, Any] = {
        "task_id": "create_spec",
        "name": "secret-spec",
        "generation_objectives": "invoices",
        "spec_generation_model_name": "databricks/databricks-claude-sonnet-4-5",
        "databricks_client_id": "dbx-client",
        "databricks_client_secret": DBX_SECRET,
        "databricks_api_base": "https://adb-1.example/serving-endpoints",
        "poll_interval": 0.05,
        "deferrable": True,
    }
    kwargs.update(overrides)
    return CreateSpecOperator(**kwargs)


def test_nothing_secret_leaks_from_a_full_run(
    server: EmulatorServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore debug logs included
    ti = mock.MagicMock()
    outcome = run_task(databricks_operator(), {"ti": ti})
    assert outcome.state == "success", outcome.message
    logs = caplog.text + capsys.readouterr().out
    assert "send_request_headers" in logs, "httpcore debug logging (the request headers step) was captured"
    xcom_values = json.dumps([call.kwargs for call in ti.xcom_push.call_args_list])
    trigger_kwargs = json.dumps(outcome.deferrals)
    for secret in (API_KEY, DBX_SECRET):
        assert secret not in logs
        assert secret not in xcom_values
        assert secret not in trigger_kwargs
        assert secret not in json.dumps(outcome.result)


def test_secrets_are_masked_in_rendered_fields() -> None:
    rendered = f"rendered-{uuid.uuid4().hex}"  # no secret masked before is a part of it
    operator = databricks_operator(databricks_client_secret="{{ dbx_secret }}")
    operator.render_template_fields({"dbx_secret": rendered})  # type: ignore[arg-type]
    assert operator.databricks_client_secret == rendered
    assert rendered not in str(redact(operator.databricks_client_secret))
    assert rendered not in str(redact({"databricks_client_secret": operator.databricks_client_secret}))


def test_failures_never_carry_the_secrets(
    dataframer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = dataframer_emulator_factory(api_key="the-only-valid-key")
    monkeypatch.setenv(
        "AIRFLOW_CONN_DATAFRAMER_DEFAULT",
        json.dumps({"conn_type": "dataframer", "host": server.url, "password": API_KEY}),
    )
    outcome = run_task(databricks_operator())
    assert outcome.state == "failed" and "HTTP 401" in outcome.message
    for secret in (API_KEY, DBX_SECRET):
        assert secret not in outcome.message
        assert secret not in repr(outcome.error)
        assert secret not in caplog.text


def test_the_server_received_the_secret_it_needs(server: EmulatorServer) -> None:
    """The masking is for humans only: the API itself gets the real values."""
    outcome = run_task(databricks_operator(wait_for_completion=False))
    assert outcome.state == "success"
    (create,) = server.requests(method="POST", path="specs/")
    assert create.status in (200, 201)
