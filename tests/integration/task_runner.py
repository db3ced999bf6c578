"""Run an operator the way Airflow's task runner and triggerer do, without a scheduler.

``execute`` runs; a deferral is serialized, rebuilt from its classpath and JSON-round-tripped
kwargs as the triggerer does, run to its single event, and handed to the resume method. The final
state is "success" or "failed", with the return value or the exception.
"""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from airflow.providers.common.compat.sdk import TaskDeferred


@dataclass
class TaskOutcome:
    """How a simulated task try ended."""

    state: str
    result: Any = None
    error: BaseException | None = None
    deferrals: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def message(self) -> str:
        return str(self.error) if self.error else ""


def rebuild_trigger(classpath: str, kwargs: dict[str, Any]) -> Any:
    """What the triggerer does with a trigger row: import the class, JSON-decoded kwargs."""
    module, _, name = classpath.rpartition(".")
    return getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))


async def first_event(trigger: Any) -> dict[str, Any]:
    async for event in trigger.run():
        return dict(event.payload)
    raise AssertionError("the trigger ended without an event")


def run_trigger(trigger: Any) -> dict[str, Any]:
    return asyncio.run(first_event(trigger))


def run_task(
    operator: Any,
    context: dict[str, Any] | None = None,
    run_trigger: Callable[[Any], dict[str, Any]] = run_trigger,
) -> TaskOutcome:
    """One try of ``operator``: execute, and for each deferral the trigger then the resume method."""
    ctx = context if context is not None else {"ti": mock.MagicMock()}
    outcome = TaskOutcome(state="running")
    step: Callable[[], Any] = lambda: operator.execute(ctx)  # noqa: E731
    while True:
        try:
            outcome.result = step()
            outcome.state = "success"
            return outcome
        except TaskDeferred as deferred:
            classpath, kwargs = deferred.trigger.serialize()
            outcome.deferrals.append((classpath, kwargs))
            event = run_trigger(rebuild_trigger(classpath, kwargs))
            resume = getattr(operator, deferred.method_name)
            step = lambda resume=resume, event=event: resume(ctx, event)  # noqa: E731
        except Exception as error:  # the task fails
            outcome.state = "failed"
            outcome.error = error
            return outcome
