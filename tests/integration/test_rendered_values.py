"""Rendered values are data: braces that a template left in a value reach Dataframer as written."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.task_runner import run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = [pytest.mark.integration]


def api(server: EmulatorServer, path: str) -> Any:
    response = httpx.get(f"{server.url}/api/dataframer/{path}", headers=server.headers)
    response.raise_for_status()
    return response.json()


@pytest.mark.parametrize("deferrable", [False, True], ids=["blocking", "deferrable"])
def test_a_rendered_value_with_braces_is_sent_as_written(emulator: EmulatorServer, deferrable: bool) -> None:
    op = CreateSpecOperator(
        task_id="create_spec",
        name="greetings-{{ ds_nodash }}",
        generation_objectives="{% raw %}Emails that greet {{first_name}} by name{% endraw %}",
        deferrable=deferrable,
        poll_interval=0.05,
    )
    op.render_template_fields({"ds_nodash": "20260105"})  # what the task runner does before execute
    assert op.generation_objectives == "Emails that greet {{first_name}} by name"

    outcome = run_task(op)

    assert outcome.state == "success", outcome.message
    spec = api(emulator, f"specs/{outcome.result}/")
    assert spec["name"] == "greetings-20260105"
    assert "Emails that greet {{first_name}} by name" in spec["content_yaml"], "the braces are data"
