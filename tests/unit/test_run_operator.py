from __future__ import annotations

import json
import logging
import time
from typing import Any
from unittest import mock

import httpx
import pytest
import respx
from airflow.providers.common.compat.sdk import TaskDeferred
from airflow.triggers.base import BaseTrigger

from airflow_provider_dataframer.exceptions import DataframerValidationError, DataframerWaitError
from airflow_provider_dataframer.links import DataframerRunLink
from airflow_provider_dataframer.models import RunCreateRequest
from airflow_provider_dataframer.operators.run import CreateRunOperator
from airflow_provider_dataframer.triggers.run import RunStatusTrigger
from tests.conftest import TEST_BASE_URL

RUNS_URL = f"{TEST_BASE_URL}/api/dataframer/runs/"
RUN_ID = "5d0c7c9e-3b0a-4f55-9d6e-2a1b4c8e9f10"
RUN_URL = f"{RUNS_URL}{RUN_ID}/"
SPEC_ID = "9b2f7a64-1f7e-4c1e-9d55-7c1e0d3f4a21"


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock()}


def operator(**kwargs: Any) -> CreateRunOperator:
    defaults: dict[str, Any] = {
        "task_id": "generate",
        "spec_id": SPEC_ID,
        "number_of_samples": 10,
        "poll_interval": 0.01,
        "deferrable": False,
    }
    defaults.update(kwargs)
    return CreateRunOperator(**defaults)


def run(status: str, **fields: Any) -> dict[str, Any]:
    return {"id": RUN_ID, "spec_id": SPEC_ID, "status": status, "number_of_samples": 10, **fields}


DONE = run(
    "SUCCEEDED",
    samples_completed=10,
    samples_failed=0,
    total_cost=0.02,
    generated_files=[{"id": "f1", "path": "samples/a.txt", "file_type": "text/plain", "size_bytes": 5}],
)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"number_of_samples": 0}, "number_of_samples: must be between 1 and 20000"),
        ({"number_of_samples": 20001}, "number_of_samples: must be between 1 and 20000"),
        ({"spec_id": "nope"}, "spec_id: must be a spec UUID"),
        ({"generation_model": "gpt"}, "generation_model: must look like 'provider/model'"),
        ({"poll_interval": 0}, "poll_interval must be a positive number"),
        ({"timeout": 0}, "timeout must be a positive number"),
    ],
)
def test_invalid_arguments_are_refused_before_any_request(kwargs: dict[str, Any], message: str) -> None:
    """Arguments that are not templated fail at construction, templated ones once rendered."""
    with pytest.raises(DataframerValidationError, match=message), respx.mock:  # no route: no request
        operator(**kwargs).execute(context())


def test_templated_values_are_checked_after_rendering() -> None:
    op = operator(spec_id="{{ ti.xcom_pull('spec') }}", number_of_samples="{{ params.n }}")
    op.spec_id, op.number_of_samples = SPEC_ID, "50000"  # what rendering produced
    with respx.mock:
        route = respx.post(RUNS_URL)
        with pytest.raises(DataframerValidationError, match="number_of_samples: must be between 1 and 20000"):
            op.execute(context())
        assert not route.called


def test_template_fields_and_link() -> None:
    assert {"spec_id", "number_of_samples", "generation_model", "revision_types", "tools"} <= set(
        CreateRunOperator.template_fields
    )
    assert any(isinstance(link, DataframerRunLink) for link in CreateRunOperator.operator_extra_links)


@respx.mock
def test_blocking_wait_returns_the_summary() -> None:
    create = respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    get = respx.get(RUN_URL).mock(
        side_effect=[
            httpx.Response(200, json=run("PENDING")),
            httpx.Response(200, json=run("PROCESSING", samples_completed=4)),
            httpx.Response(200, json=DONE),
        ]
    )
    ctx = context()
    summary = operator(generation_model="anthropic/claude-haiku-4-5").execute(ctx)
    assert summary == {
        "run_id": RUN_ID,
        "status": "SUCCEEDED",
        "samples_completed": 10,
        "samples_failed": 0,
        "total_cost": 0.02,
        "files": [{"id": "f1", "path": "samples/a.txt", "size_bytes": 5}],
    }
    json.dumps(summary)
    assert json.loads(create.calls.last.request.content) == {
        "spec_id": SPEC_ID,
        "number_of_samples": 10,
        "generation_model": "anthropic/claude-haiku-4-5",
    }
    assert get.call_count == 3
    ctx["ti"].xcom_push.assert_called_once_with(key="run_id", value=RUN_ID)


@respx.mock
def test_partial_failure_succeeds_with_a_warning(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    respx.get(RUN_URL).respond(json={**DONE, "samples_completed": 8, "samples_failed": 2})
    summary = operator().execute(context())
    assert summary["samples_completed"] == 8 and summary["samples_failed"] == 2
    logs = caplog.text + capsys.readouterr().out
    assert "Partial failure: Dataframer run" in logs and "8 samples completed and 2 failed of 10" in logs


@pytest.mark.parametrize(("status", "error"), [("FAILED", "model stopped responding"), ("CANCELED", None)])
@respx.mock
def test_failed_and_canceled_runs_raise_the_server_message(status: str, error: str | None) -> None:
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    respx.get(RUN_URL).respond(json=run(status, error=error, samples_completed=3, samples_failed=1))
    with pytest.raises(DataframerWaitError, match=rf"run {RUN_ID} ended {status}") as excinfo:
        operator().execute(context())
    # A run has no error field in today's API: its status and counts say what happened.
    assert (error or "the API gives no reason for a run") in str(excinfo.value)
    assert "samples 3/10, 1 failed" in str(excinfo.value)


@respx.mock
def test_no_wait_returns_the_current_state() -> None:
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    get = respx.get(RUN_URL).respond(json=run("PENDING"))
    summary = operator(wait_for_completion=False).execute(context())
    assert summary["run_id"] == RUN_ID and summary["status"] == "PENDING"
    assert get.call_count == 1


@respx.mock
def test_deferrable_defers_to_the_run_trigger(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    get = respx.get(RUN_URL)
    before = time.time()
    with pytest.raises(TaskDeferred) as excinfo:
        operator(deferrable=True, poll_interval=5, timeout=900).execute(context())
    # Only a triggerer that calls Trigger.on_kill (Airflow 3.3+) can cancel a killed deferred run.
    task_log = caplog.text + capsys.readouterr().out  # Airflow 3 logs tasks through structlog
    assert "the triggerer waits for Dataframer run" in task_log
    warned = "killing this task leaves run" in task_log
    assert warned is not hasattr(BaseTrigger, "on_kill")
    trigger = excinfo.value.trigger
    assert isinstance(trigger, RunStatusTrigger)
    assert trigger.run_id == RUN_ID and trigger.poll_interval == 5 and trigger.cancel_on_kill
    assert before + 900 <= trigger.deadline <= time.time() + 900
    assert not get.called


def test_execute_complete_uses_the_event_resource() -> None:
    event = {
        "status": "success",
        "kind": "run",
        "id": RUN_ID,
        "message": "done",
        "resource_status": "SUCCEEDED",
        "resource": DONE,
    }
    assert operator().execute_complete(context(), event)["files"][0]["path"] == "samples/a.txt"
    with pytest.raises(DataframerWaitError, match="Timed out"):
        operator().execute_complete(context(), {**event, "status": "timeout", "message": "Timed out"})


@respx.mock
def test_on_kill_cancels_the_running_run() -> None:
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    respx.get(RUN_URL).respond(json=run("PROCESSING"))
    cancel = respx.post(f"{RUN_URL}cancel/").respond(json=run("CANCELED"))
    op = operator(timeout=0.05)
    with pytest.raises(DataframerWaitError, match="Timed out"):
        op.execute(context())  # stands in for a wait interrupted by the kill
    op.on_kill()
    assert cancel.call_count == 1


@respx.mock
def test_on_kill_does_nothing_after_success_or_when_disabled() -> None:
    respx.post(RUNS_URL).respond(201, json={"id": RUN_ID})
    respx.get(RUNS_URL).respond(json=[])  # the runs of the spec before the create
    respx.get(RUN_URL).respond(json=DONE)
    cancel = respx.post(f"{RUN_URL}cancel/")
    op = operator()
    op.execute(context())
    op.on_kill()
    keep = operator(cancel_on_kill=False)
    keep.resource_id = RUN_ID
    keep.on_kill()
    operator().on_kill()  # killed before the run was created
    assert not cancel.called


@respx.mock
def test_on_kill_survives_a_refused_cancel(caplog: pytest.LogCaptureFixture) -> None:
    respx.post(f"{RUN_URL}cancel/").respond(400, json={"detail": "already SUCCEEDED"})
    op = operator()
    op.resource_id = RUN_ID
    op.on_kill()  # logs, does not raise


@respx.mock
def test_reconnect_checks() -> None:
    respx.get(RUN_URL).respond(404, json={"detail": "gone"})
    op = operator()
    status = op.get_job_status(RUN_ID, context())
    assert not op.is_job_active(status) and not op.is_job_succeeded(status)
    assert op.is_job_succeeded("SUCCEEDED") and not op.is_job_active("CANCELED")
    # A run still working: a deferrable task reconnects and defers again; a worker that waits
    # anyway takes the already-succeeded path, whose get_job_result waits for it.
    assert not op.is_job_active("IN_PROGRESS") and op.is_job_succeeded("IN_PROGRESS")
    deferring = operator(deferrable=True)
    assert deferring.is_job_active("IN_PROGRESS") and not deferring.is_job_succeeded("IN_PROGRESS")


@respx.mock
def test_lost_create_answer_adopts_the_one_new_run_of_the_spec(mocker: Any) -> None:
    mocker.patch("time.sleep")
    older = {**run("SUCCEEDED"), "id": "0d9c1e57-0000-4000-8000-0000000000aa", "number_of_samples": 10}
    ours = {**run("PENDING"), "number_of_samples": 10}
    respx.get(RUNS_URL).mock(
        side_effect=[httpx.Response(200, json=[older]), httpx.Response(200, json=[older, ours])]
    )
    create = respx.post(RUNS_URL).mock(side_effect=httpx.ReadTimeout("no answer"))
    respx.get(RUN_URL).respond(json=run("PENDING"))
    result = operator(wait_for_completion=False).execute(context())
    assert result["run_id"] == RUN_ID
    assert create.call_count == 1, "a paid run is never created twice"


@respx.mock
def test_lost_create_answer_without_a_new_run_sends_it_again(mocker: Any) -> None:
    mocker.patch("time.sleep")
    respx.get(RUNS_URL).respond(json=[])
    create = respx.post(RUNS_URL).mock(
        side_effect=[httpx.RemoteProtocolError("dropped"), httpx.Response(201, json={"id": RUN_ID})]
    )
    respx.get(RUN_URL).respond(json=run("PENDING"))
    assert operator(wait_for_completion=False).execute(context())["run_id"] == RUN_ID
    assert create.call_count == 2


def test_every_run_field_can_be_templated() -> None:
    assert set(CreateRunOperator.template_fields) == set(RunCreateRequest.model_fields)
