"""Red teaming: adversarial prompt sets for regression tests of LLM applications."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_dataframer.arguments import DEFAULT_JOB_TIMEOUT
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.idempotency import Journal, NewJobCreate, send_once
from airflow_provider_dataframer.kinds import RED_TEAM_RUN
from airflow_provider_dataframer.links import DataframerRedTeamRunLink, DataframerRedTeamSpecLink
from airflow_provider_dataframer.models import (
    RedTeamRun,
    RedTeamRunRequest,
    RedTeamRunStatus,
    RedTeamSpec,
    RedTeamSpecRequest,
    StatusResource,
)
from airflow_provider_dataframer.name_clash import IfExists, NamedCreate, create_named
from airflow_provider_dataframer.operators.base import DataframerCreateOperator
from airflow_provider_dataframer.wording import describe

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger


def stored_name(name: str) -> str:
    """A red-team spec's name as the service stores it (snake_case), to find it again."""
    words = re.findall(r"[A-Za-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name))
    return "_".join(word.lower() for word in words)


class RedTeamSpecCreate(NamedCreate[RedTeamSpec]):
    """The create of one red-team spec, made safe to repeat by its unique (snake_case) name."""

    def __init__(self, hook: DataframerHook, request: RedTeamSpecRequest) -> None:
        super().__init__("red-team spec", stored_name(request.name))
        self.hook = hook
        self.request = request

    def send(self) -> str:
        return self.hook.create_red_team_spec(self.request).id

    def find(self) -> RedTeamSpec | None:
        return next((s for s in self.hook.list_red_team_specs() if s.name == self.name), None)

    def matches(self, existing: RedTeamSpec) -> bool:
        return (existing.app_description, existing.domain_description) == (
            self.request.app_description,
            self.request.domain_description,
        )

    def mismatch(self, existing: RedTeamSpec) -> str:
        return "its app_description or domain_description differ"

    def delete(self, existing: RedTeamSpec) -> None:
        self.hook.delete_red_team_spec(existing.id)


class CreateRedTeamSpecOperator(BaseOperator):
    """
    Describe an LLM application to red-team (a Dataframer red-team spec); return the spec's id.

    Names are unique in the company and stored in snake_case. A spec with the same name and the
    same descriptions is reused (``if_exists="reuse"``), so a scheduled DAG can create it on every
    run; ``fail`` refuses, ``replace`` deletes and recreates it. A same-named spec with other
    descriptions is never touched: the task fails naming it.

    :param name: the spec's name (templated).
    :param app_description: what the application does (templated).
    :param domain_description: its domain or industry, e.g. "Retail banking" (templated).
    :param concerns: behaviors it must not show, e.g. "Should not give investment advice" (templated).
    :param if_exists: ``reuse`` (default), ``fail`` or ``replace``.
    :param dataframer_conn_id: the Airflow connection id.
    """

    template_fields: Sequence[str] = ("name", "app_description", "domain_description", "concerns")
    operator_extra_links = (DataframerRedTeamSpecLink(),)
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        name: str,
        app_description: str,
        domain_description: str,
        concerns: str | None = None,
        if_exists: str | IfExists = IfExists.REUSE,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.app_description = app_description
        self.domain_description = domain_description
        self.concerns = concerns
        self.if_exists = IfExists.parse(if_exists)
        self.dataframer_conn_id = dataframer_conn_id
        fields = self._fields()
        if not any("{{" in str(value) for value in fields.values()):
            RedTeamSpecRequest.build(**fields)

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "app_description": self.app_description,
            "domain_description": self.domain_description,
            "concerns": self.concerns or None,
        }

    def execute(self, context: Context) -> str:
        request: RedTeamSpecRequest = RedTeamSpecRequest.build(**self._fields())
        hook = DataframerHook(self.dataframer_conn_id)
        spec_id, adopted = create_named(
            RedTeamSpecCreate(hook, request), self.if_exists, hook.settings.retry, self.log
        )
        if not adopted:
            self.log.info("Created Dataframer red-team spec %s (%s)", spec_id, stored_name(request.name))
        context["ti"].xcom_push(key="red_team_spec_id", value=spec_id)
        return spec_id


def _same_red_team_request(run: RedTeamRunStatus, request: RedTeamRunRequest) -> bool:
    """Whether a listed red-team run may have been made from ``request`` (unknown counts match)."""
    return run.number_of_behaviors in (None, request.number_of_behaviors) and (
        run.number_of_prompts_per_behavior in (None, request.number_of_prompts_per_behavior)
    )


def red_team_summary(run: RedTeamRun) -> dict[str, Any]:
    """The JSON-safe account of a finished red-team run, prompts included (one row per prompt)."""
    prompts = [
        {
            "behavior": behavior,
            "query": item.get("query"),
            "adversarial_prompt": item.get("adversarial_prompt"),
        }
        for behavior, items in run.prompts().items()
        for item in items
    ]
    return {
        "red_team_run_id": run.id,
        "red_team_spec_id": run.red_team_spec_id,
        "status": run.status,
        "behaviors": len(run.prompts()),
        "prompts": prompts,
    }


class CreateRedTeamRunOperator(DataframerCreateOperator):
    """
    Generate an adversarial prompt set from a red-team spec (a Dataframer red-team run), and wait.

    The wait polls the run's light ``/status/`` endpoint (it leaves the prompts out); the prompts are
    read once, at the end. The return value is a JSON-safe summary: ``red_team_run_id``,
    ``red_team_spec_id``, ``status``, ``behaviors`` and ``prompts`` (one row per prompt:
    ``behavior``, ``query``, ``adversarial_prompt``), ready for a downstream task that sends them to
    the application under test. A run is paid for: it is created once (a lost answer is resolved
    by listing the spec's runs).

    :param red_team_spec_id: the spec (templated), e.g. ``red_team_spec.output``.
    :param model_name: ``provider/model`` that writes the prompts (templated), e.g.
        ``openai/gpt-oss-120b``.
    :param number_of_behaviors: how many undesirable behaviors to probe (templated).
    :param number_of_prompts_per_behavior: prompts per behavior (templated).
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the run is SUCCEEDED, FAILED or CANCELED.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait before failing the task.
    """

    template_fields: Sequence[str] = (
        "red_team_spec_id",
        "model_name",
        "number_of_behaviors",
        "number_of_prompts_per_behavior",
    )
    operator_extra_links = (DataframerRedTeamRunLink(),)
    ui_color = "#fce8e6"
    external_id_key = "dataframer_red_team_run_id"
    kind = RED_TEAM_RUN
    id_xcom_key = "red_team_run_id"
    request_model = RedTeamRunRequest

    def __init__(
        self,
        *,
        red_team_spec_id: str,
        model_name: str,
        number_of_behaviors: int | str,
        number_of_prompts_per_behavior: int | str,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_JOB_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            dataframer_conn_id=dataframer_conn_id,
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            poll_interval=poll_interval,
            timeout=timeout,
            **kwargs,
        )
        self.red_team_spec_id = red_team_spec_id
        self.model_name = model_name
        self.number_of_behaviors = number_of_behaviors
        self.number_of_prompts_per_behavior = number_of_prompts_per_behavior
        self.check_arguments({name: getattr(self, name) for name in RedTeamRunRequest.model_fields})

    def _request(self) -> RedTeamRunRequest:
        fields = {name: getattr(self, name) for name in RedTeamRunRequest.model_fields}
        request: RedTeamRunRequest = RedTeamRunRequest.build(**fields)
        return request

    def submit_job(self, context: Context) -> str:
        request = self._request()
        create = NewJobCreate(
            RED_TEAM_RUN.name,
            f"of red-team spec {request.red_team_spec_id}",
            lambda: self.hook.create_red_team_run(request),
            lambda: self.hook.list_red_team_runs(request.red_team_spec_id),
            lambda run: _same_red_team_request(run, request),
        )
        run_id, adopted = send_once(
            create, self.hook.settings.retry, self.log, Journal.of_task(self, context)
        )
        if not adopted:
            self.log.info(
                "Started Dataframer red-team run %s: %d behaviors x %d prompts from spec %s",
                run_id,
                request.number_of_behaviors,
                request.number_of_prompts_per_behavior,
                request.red_team_spec_id,
            )
        return run_id

    def result_without_waiting(self, context: Context, resource_id: str) -> dict[str, Any]:
        run = self.hook.get_red_team_run(resource_id)
        self.log.info("%s; not waiting for it.", describe(RED_TEAM_RUN.name, run))
        return red_team_summary(run)

    def make_trigger(self, resource_id: str, deadline: float) -> RedTeamRunStatusTrigger:
        from airflow_provider_dataframer.triggers.red_team import RedTeamRunStatusTrigger

        return RedTeamRunStatusTrigger(
            red_team_run_id=resource_id,
            dataframer_conn_id=self.dataframer_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
        )

    def finish(self, context: Context, resource_id: str, resource: StatusResource | None) -> dict[str, Any]:
        """The summary of the finished run with its prompts (read whole: the wait read its status)."""
        run = self.hook.get_red_team_run(resource_id)
        summary = red_team_summary(run)
        self.log.info(
            "Dataframer red-team run %s: %d behaviors, %d adversarial prompts.",
            run.id,
            summary["behaviors"],
            len(summary["prompts"]),
        )
        return summary
