"""A spec's name is scoped to its seed dataset: what if_exists sees, through the emulator and the SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.integration.conftest import specs_on, upload_csv_seed
from tests.integration.task_runner import run_task

if TYPE_CHECKING:
    from dataframer_emulator import EmulatorServer

pytestmark = pytest.mark.integration

CSV = b"id,text\n1,printer on fire\n2,screen is blank\n3,no wifi\n"


def spec_task(dataset_id: str, if_exists: str) -> CreateSpecOperator:
    return CreateSpecOperator(
        task_id="spec", name="tickets", dataset_id=dataset_id, if_exists=if_exists, wait_for_completion=False
    )


def test_a_same_named_spec_of_another_seed_is_another_spec_and_of_the_same_seed_a_clash(
    emulator: EmulatorServer,
) -> None:
    first = upload_csv_seed(emulator, "support-a", "a.csv", CSV)
    second = upload_csv_seed(emulator, "support-b", "b.csv", CSV)
    for dataset_id in (first, second):  # "fail" looks the name up first: no clash across seeds
        outcome = run_task(spec_task(dataset_id, "fail"))
        assert outcome.state == "success", outcome.message
    assert sorted(spec["dataset_id"] for spec in specs_on(emulator)) == sorted((first, second))
    mine = next(spec["id"] for spec in specs_on(emulator) if spec["dataset_id"] == first)

    outcome = run_task(spec_task(first, "fail"))
    assert outcome.state == "failed" and f"already exists ({mine})" in outcome.message, outcome.message
    outcome = run_task(spec_task(first, "reuse"))
    assert outcome.state == "success" and outcome.result == mine, outcome.message
    assert len(specs_on(emulator)) == 2
