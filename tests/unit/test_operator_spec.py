from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerValidationError,
    DataframerWaitError,
)
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from tests.conftest import TEST_BASE_URL

SPECS_URL = f"{TEST_BASE_URL}/api/dataframer/specs/"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"
DATASET_ID = "3f1c2b9e-8f5d-4a51-9a43-0c5b8a7d2e11"


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def operator(**kwargs: Any) -> CreateSpecOperator:
    defaults: dict[str, Any] = {
        "task_id": "create_spec",
        "name": "tickets",
        "generation_objectives": "tickets",
    }
    defaults.update(kwargs)
    return CreateSpecOperator(**defaults)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"generation_objectives": None}, "generation_objectives is required for a seedless spec"),
        ({"dataset_id": "abc"}, "dataset_id: must be a seed dataset UUID"),
        (
            {"generate_distributions": False, "generate_conditional_distributions": True},
            "requires generate_distrib",
        ),
        ({"extrapolate_values": True}, "extrapolate_values does not apply to a seedless spec"),
        ({"databricks_client_id": "cid"}, "databricks_client_id given without databricks_client_secret"),
        ({"poll_interval": 0}, "poll_interval must be a positive number"),
        ({"timeout": -1}, "timeout must be a positive number"),
    ],
)
def test_invalid_arguments_are_refused_before_any_request(kwargs: dict[str, Any], message: str) -> None:
    """Arguments that are not templated fail at construction, templated ones once rendered."""
    with pytest.raises(DataframerValidationError, match=message), respx.mock:  # no route: no request
        operator(**kwargs).execute(context())


def test_an_argument_that_is_not_templated_fails_at_construction() -> None:
    with pytest.raises(
        DataframerValidationError, match="extrapolate_values: Input should be a valid boolean"
    ):
        operator(extrapolate_values="sometimes")


def test_templated_values_are_validated_after_rendering() -> None:
    op = operator(dataset_id="{{ params.dataset }}", generation_objectives=None)  # no error yet
    op.dataset_id = "not-a-uuid"  # what rendering produced
    with respx.mock:
        route = respx.post(SPECS_URL)
        with pytest.raises(DataframerValidationError, match="dataset_id"):
            op.execute(context())
        assert not route.called, "nothing is sent for an invalid request"


@respx.mock
def test_a_databricks_model_is_sent_without_credentials_and_the_server_decides() -> None:
    """SDK 0.19.2 lists databricks/system.ai.* models and no credentials: never refused locally."""
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    op = operator(spec_generation_model_name="databricks/system.ai.claude-sonnet-5-thinking")
    op.wait_for_completion = False
    assert op.execute(context()) == SPEC_ID
    body = json.loads(create.calls.last.request.content)
    assert body["spec_generation_model_name"] == "databricks/system.ai.claude-sonnet-5-thinking"
    assert not any(key.startswith("databricks_") for key in body)


@respx.mock
def test_the_servers_refusal_of_a_model_reaches_the_user() -> None:
    respx.post(SPECS_URL).respond(400, json={"detail": "Model requires databricks credentials."})
    respx.get(SPECS_URL).respond(json=[])  # a 400 may be a name clash: looked up, none
    op = operator(spec_generation_model_name="databricks/databricks-gpt-5", wait_for_completion=False)
    with pytest.raises(DataframerApiError, match=r"HTTP 400: Model requires databricks credentials\."):
        op.execute(context())


def test_secret_argument_is_scrubbed(mocker) -> None:  # type: ignore[no-untyped-def]
    register = mocker.patch("airflow_provider_dataframer.operators.spec.register_secret")
    operator(
        spec_generation_model_name="databricks/databricks-gpt-5",
        databricks_client_id="cid",
        databricks_client_secret="dbx-secret-9876",
        databricks_api_base="https://adb.example/serving-endpoints",
    )
    register.assert_called_with("dbx-secret-9876")


def test_template_fields() -> None:
    assert set(CreateSpecOperator.template_fields) == {
        "name",
        "generation_objectives",
        "dataset_id",
        "description",
        "spec_generation_model_name",
        "databricks_client_id",
        "databricks_client_secret",
        "databricks_api_base",
    }


@respx.mock
def test_no_wait_returns_the_id_after_the_post() -> None:
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    get = respx.get(f"{SPECS_URL}{SPEC_ID}/")
    ctx = context()
    assert operator(wait_for_completion=False, dataset_id=DATASET_ID).execute(ctx) == SPEC_ID
    assert json.loads(create.calls.last.request.content)["dataset_id"] == DATASET_ID
    assert not get.called
    ctx["ti"].xcom_push.assert_called_once_with(key="spec_id", value=SPEC_ID)


@respx.mock
def test_blocking_wait_polls_until_succeeded() -> None:
    respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    get = respx.get(f"{SPECS_URL}{SPEC_ID}/").mock(
        side_effect=[
            httpx.Response(200, json={"id": SPEC_ID, "status": "PROCESSING"}),
            httpx.Response(200, json={"id": SPEC_ID, "status": "SUCCEEDED"}),
        ]
    )
    assert operator(deferrable=False, poll_interval=0.01).execute(context()) == SPEC_ID
    assert get.call_count == 2


@respx.mock
def test_blocking_wait_raises_the_server_error_on_failed() -> None:
    respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "FAILED", "error": "bad seed"})
    with pytest.raises(DataframerWaitError, match=f"Dataframer spec {SPEC_ID} ended FAILED: bad seed"):
        operator(deferrable=False, poll_interval=0.01).execute(context())


@respx.mock
def test_blocking_wait_times_out_with_a_clear_message() -> None:
    respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    with pytest.raises(
        DataframerWaitError, match=r"Timed out waiting for Dataframer spec .* last status PROCESSING"
    ):
        operator(deferrable=False, poll_interval=0.01, timeout=0.05).execute(context())


@respx.mock
def test_deferrable_defers_to_the_spec_trigger_with_an_absolute_deadline(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    get = respx.get(f"{SPECS_URL}{SPEC_ID}/")
    before = time.time()
    with pytest.raises(TaskDeferred) as excinfo:
        operator(
            deferrable=True, poll_interval=3, timeout=600, dataframer_conn_id="dataframer_default"
        ).execute(context())
    trigger = excinfo.value.trigger
    assert isinstance(trigger, SpecStatusTrigger)
    assert excinfo.value.method_name == "execute_complete"
    assert trigger.spec_id == SPEC_ID and trigger.poll_interval == 3
    assert before + 600 <= trigger.deadline <= time.time() + 600
    assert not get.called, "the worker does not poll when deferring"
    task_log = caplog.text + capsys.readouterr().out  # Airflow 3 logs tasks through structlog
    assert f"the triggerer waits for Dataframer spec {SPEC_ID} (a poll every 3 s" in task_log


def test_execute_complete_returns_the_id_or_raises_the_message() -> None:
    op = operator()
    success = {
        "status": "success",
        "kind": "spec",
        "id": SPEC_ID,
        "message": "ok",
        "resource_status": "SUCCEEDED",
        "resource": {"id": SPEC_ID, "status": "SUCCEEDED"},
    }
    assert op.execute_complete(context(), success) == SPEC_ID
    for status, message in [
        ("failed", "ended FAILED: boom"),
        ("timeout", "Timed out"),
        ("error", "HTTP 404"),
    ]:
        event = dict(success, status=status, message=message, resource=None)
        with pytest.raises(DataframerWaitError, match=message):
            op.execute_complete(context(), event)


@respx.mock
def test_unknown_model_is_sent_with_a_warning(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    operator(spec_generation_model_name="acme/brand-new-model", wait_for_completion=False).execute(context())
    assert (
        json.loads(create.calls.last.request.content)["spec_generation_model_name"] == "acme/brand-new-model"
    )
    # Airflow 3 task loggers write through structlog to stdout, Airflow 2's through logging.
    assert "not in the list this provider knows" in caplog.text + capsys.readouterr().out


class FakeStateStore:
    def __init__(self, **values: Any) -> None:
        self.values = dict(values)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = value


needs_state_store = pytest.mark.skipif(
    not __import__("airflow.providers.common.compat.sdk", fromlist=["AIRFLOW_V_3_3_PLUS"]).AIRFLOW_V_3_3_PLUS,
    reason="the task-state store arrived in Airflow 3.3",
)


@needs_state_store
@respx.mock
def test_created_id_is_persisted_and_a_crashed_retry_reconnects() -> None:
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "PROCESSING"})
    store = FakeStateStore()
    ctx = dict(context(), task_state_store=store)
    with pytest.raises(TaskDeferred):
        operator(deferrable=True).execute(ctx)
    assert store.values == {"dataframer_spec_id": SPEC_ID}
    # The worker dies; the retry finds the stored id, sees the spec still working and defers again.
    with pytest.raises(TaskDeferred) as excinfo:
        operator(deferrable=True).execute(dict(context(), task_state_store=store))
    assert excinfo.value.trigger.spec_id == SPEC_ID
    assert create.call_count == 1


@needs_state_store
@respx.mock
def test_retry_after_success_returns_the_stored_spec_without_waiting() -> None:
    create = respx.post(SPECS_URL)
    respx.get(f"{SPECS_URL}{SPEC_ID}/").respond(json={"id": SPEC_ID, "status": "SUCCEEDED"})
    ctx = dict(context(), task_state_store=FakeStateStore(dataframer_spec_id=SPEC_ID))
    assert operator(deferrable=True).execute(ctx) == SPEC_ID
    assert not create.called
    ctx["ti"].xcom_push.assert_called_once_with(key="spec_id", value=SPEC_ID)


def existing_spec(
    status: str, dataset_id: str | None = None, spec_id: str = "0d9c1e57-0000-4000-8000-000000000001"
):  # type: ignore[no-untyped-def]
    return {"id": spec_id, "name": "tickets", "status": status, "dataset_id": dataset_id}


@respx.mock
def test_rerun_adopts_its_processing_spec_on_a_name_clash() -> None:
    respx.post(SPECS_URL).respond(400, json={"detail": "Spec with this name already exists"})
    respx.get(SPECS_URL).respond(json=[existing_spec("PROCESSING")])
    assert operator(wait_for_completion=False).execute(context()) == existing_spec("PROCESSING")["id"]


@respx.mock
def test_rerun_replaces_its_failed_spec() -> None:
    old = existing_spec("FAILED")
    create = respx.post(SPECS_URL).mock(
        side_effect=[
            httpx.Response(400, json={"detail": "name already exists"}),
            httpx.Response(201, json={"id": SPEC_ID}),
        ]
    )
    respx.get(SPECS_URL).respond(json=[old])
    delete = respx.delete(f"{SPECS_URL}{old['id']}/").respond(204)
    assert operator(wait_for_completion=False).execute(context()) == SPEC_ID
    assert "force" not in delete.calls.last.request.url.params, "replacing never deletes runs"
    assert create.call_count == 2


@respx.mock
def test_replace_never_deletes_the_runs_of_a_spec() -> None:
    old = existing_spec("SUCCEEDED")
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    respx.get(SPECS_URL).respond(json=[old])
    respx.delete(f"{SPECS_URL}{old['id']}/").respond(
        400, json={"detail": "Spec has 2 run(s); delete with force=true to delete them as well."}
    )
    with pytest.raises(
        DataframerValidationError, match=r"cannot be replaced: Spec has 2 run\(s\).*never deletes"
    ):
        operator(wait_for_completion=False, if_exists="replace").execute(context())
    assert not create.called


@respx.mock
def test_a_same_named_spec_of_another_dataset_is_another_spec() -> None:
    """Names are unique per dataset (or among seedless specs): no clash, nothing touched."""
    theirs = existing_spec("SUCCEEDED", dataset_id=DATASET_ID)  # ours is seedless
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    respx.get(SPECS_URL).respond(json=[theirs])
    delete = respx.delete(url__startswith=SPECS_URL)
    assert operator(wait_for_completion=False, if_exists="fail").execute(context()) == SPEC_ID
    assert operator(wait_for_completion=False, if_exists="replace").execute(context()) == SPEC_ID
    assert create.call_count == 2 and not delete.called


@respx.mock
def test_if_exists_fail_sees_a_same_named_spec_of_the_same_dataset() -> None:
    mine = existing_spec("SUCCEEDED")
    other = existing_spec("SUCCEEDED", dataset_id=DATASET_ID) | {"id": "7e57c0de-0000-4000-8000-000000000001"}
    create = respx.post(SPECS_URL)
    respx.get(SPECS_URL).respond(json=[other, mine])
    with pytest.raises(DataframerValidationError, match=rf"already exists \({mine['id']}\)"):
        operator(wait_for_completion=False, if_exists="fail").execute(context())
    assert not create.called


@respx.mock
def test_lost_create_response_is_adopted_by_name(mocker) -> None:  # type: ignore[no-untyped-def]
    mocker.patch("time.sleep")
    create = respx.post(SPECS_URL).mock(side_effect=httpx.RemoteProtocolError("Server disconnected"))
    respx.get(SPECS_URL).respond(json=[existing_spec("PROCESSING")])
    assert operator(wait_for_completion=False).execute(context()) == existing_spec("PROCESSING")["id"]
    assert create.call_count == 1


def test_databricks_fields_come_from_a_connection(monkeypatch: pytest.MonkeyPatch, mocker: Any) -> None:
    mask = mocker.patch("airflow_provider_dataframer.operators.spec.register_secret")
    monkeypatch.setenv(
        "AIRFLOW_CONN_DBX",
        json.dumps(
            {
                "conn_type": "databricks",
                "host": "adb-1.azuredatabricks.net",
                "login": "cid",
                "password": "dbx-s3cret",
            }
        ),
    )
    op = operator(spec_generation_model_name="databricks/databricks-gpt-5", databricks_conn_id="dbx")
    with respx.mock:
        create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
        op.wait_for_completion = False
        op.execute(context())
    body = json.loads(create.calls.last.request.content)  # extra body fields, for older deployments
    assert body["databricks_client_id"] == "cid"
    assert body["databricks_client_secret"] == "dbx-s3cret"
    assert body["databricks_api_base"] == "https://adb-1.azuredatabricks.net/serving-endpoints"
    mask.assert_any_call("dbx-s3cret")


@respx.mock
def test_databricks_credentials_are_not_read_or_sent_for_another_model() -> None:
    op = operator(databricks_conn_id="no_such_connection", wait_for_completion=False)
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    assert op.execute(context()) == SPEC_ID
    assert not any(key.startswith("databricks") for key in json.loads(create.calls.last.request.content))


def test_databricks_conn_id_and_fields_are_exclusive() -> None:
    with pytest.raises(DataframerValidationError, match="either databricks_conn_id or the databricks_"):
        operator(databricks_conn_id="dbx", databricks_client_id="cid")


@needs_state_store
@respx.mock
def test_retry_whose_stored_spec_was_deleted_creates_a_new_one() -> None:
    create = respx.post(SPECS_URL).respond(201, json={"id": SPEC_ID})
    gone = "0d9c1e57-0000-4000-8000-00000000dead"
    respx.get(f"{SPECS_URL}{gone}/").respond(404, json={"detail": "Not found."})
    store = FakeStateStore(dataframer_spec_id=gone)
    ctx = dict(context(), task_state_store=store)
    assert operator(wait_for_completion=False).execute(ctx) == SPEC_ID
    assert create.call_count == 1
    assert store.values == {"dataframer_spec_id": SPEC_ID}
