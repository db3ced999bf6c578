"""The human-approval example: ``dag.test()`` waits for the answer, recorded as Airflow's HITL API does."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

from tests.integration.conftest import EXAMPLE_DAGS, load_example_dag

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

AIRFLOW_V_3_3_PLUS = (
    AIRFLOW_V_3_0_PLUS
    and __import__("airflow.providers.common.compat.sdk", fromlist=["AIRFLOW_V_3_3_PLUS"]).AIRFLOW_V_3_3_PLUS
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("airflow_db")]
needs_awaiting_input = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS,
    reason="needs Airflow 3.3+, where dag.test() parks a human-in-the-loop task in AWAITING_INPUT and "
    "waits for its answer (2.x has no HITL operators; 3.1-3.2 wait in a trigger)",
)
DAG_ID = "example_dataframer_approved_run"
ANSWER_TIMEOUT = 120.0


class Reviewer:
    """The user the HITL API records as the one who answered."""

    def get_id(self) -> str:
        return "reviewer-1"

    def get_name(self) -> str:
        return "Reviewer"


@pytest.fixture
def output_dir(emulator: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "dataframer-output"
    monkeypatch.setenv("DATAFRAMER_OUTPUT_DIR", str(out))
    monkeypatch.setenv("DATAFRAMER_EXAMPLE_SAMPLES", "3")
    return out


def wait_for_question(timeout: float) -> tuple[str, str, str]:
    """Once the approval task is parked for an answer: its DAG run id and what it asks."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            parked = (
                session.query(TaskInstance.run_id, HITLDetail.subject, HITLDetail.body)
                .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
                .filter(
                    TaskInstance.dag_id == DAG_ID,
                    TaskInstance.task_id == "approve_spec",
                    TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
                )
                .one_or_none()
            )
            if parked is not None:
                return parked.run_id, parked.subject, parked.body or ""
        time.sleep(0.2)
    raise AssertionError(f"approve_spec was not waiting for an answer within {timeout:.0f} s")


def fail_the_question() -> None:
    """Unblock dag.test() after the reviewer itself failed: it would wait for an answer forever."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        session.query(TaskInstance).filter_by(dag_id=DAG_ID, task_id="approve_spec").update(
            {TaskInstance.state: TaskInstanceState.FAILED}
        )


def answer(run_id: str, option: str) -> None:
    """Record a reviewer's answer through the HITL REST API's own route function (minus HTTP)."""
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    with create_session() as session:
        update_hitl_detail(
            dag_id=DAG_ID,
            dag_run_id=run_id,
            task_id="approve_spec",
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[option], params_input={}),
            user=Reviewer(),  # type: ignore[arg-type]
            session=session,
        )


def run_with_answer(option: str) -> tuple[Any, str, str]:
    """Run the DAG with dag.test() (it needs the main thread) and answer its question from another."""
    dag = load_example_dag(DAG_ID)
    asked: dict[str, Any] = {}

    def reviewer() -> None:
        try:
            run_id, asked["subject"], asked["body"] = wait_for_question(ANSWER_TIMEOUT)
            answer(run_id, option)
        except BaseException as exc:  # re-raised in the test's thread below
            asked["error"] = exc
            fail_the_question()

    thread = threading.Thread(target=reviewer, daemon=True)
    thread.start()
    dag_run = dag.test()
    thread.join(ANSWER_TIMEOUT)
    if "error" in asked:
        raise asked["error"]
    return dag_run, asked["subject"], asked["body"]


def states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def runs_on(server: EmulatorServer) -> list[dict[str, Any]]:
    return list(httpx.get(f"{server.url}/api/dataframer/runs/", headers=server.headers).json())


@needs_awaiting_input
def test_approved_spec_is_generated_and_downloaded(emulator: EmulatorServer, output_dir: Path) -> None:
    dag_run, subject, body = run_with_answer("Approve")
    assert str(dag_run.state) == "success", states(dag_run)
    (spec,) = httpx.get(f"{emulator.url}/api/dataframer/specs/", headers=emulator.headers).json()
    assert subject == f"Generate 3 samples from Dataframer spec {spec['id']}?"
    assert f"`{spec['id']}`" in body and "**paid** Dataframer run of **3 samples**" in body
    (run,) = runs_on(emulator)
    assert run["spec_id"] == spec["id"] and run["status"] == "SUCCEEDED"
    assert any((output_dir / "approved").rglob("*.*"))


@needs_awaiting_input
def test_rejected_spec_costs_nothing(emulator: EmulatorServer, output_dir: Path) -> None:
    dag_run, _, _ = run_with_answer("Reject")
    assert states(dag_run)["generate"] == "skipped" and states(dag_run)["download"] == "skipped"
    assert runs_on(emulator) == []


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="checks the Airflow 2 side of the version guard")
def test_the_file_defines_no_dag_before_airflow_3_1() -> None:
    from airflow.models.dagbag import DagBag

    bag = DagBag(str(EXAMPLE_DAGS / f"{DAG_ID}.py"), include_examples=False)
    assert bag.import_errors == {} and bag.dag_ids == []
