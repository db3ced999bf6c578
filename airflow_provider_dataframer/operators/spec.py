"""Operators that create Dataframer specs."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf, mask_secret

from airflow_provider_dataframer.exceptions import DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.models import (
    DEFAULT_SPEC_GENERATION_MODEL,
    SPEC,
    SpecCreateRequest,
    is_known_model,
)
from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger
from airflow_provider_dataframer.waiting import StatusWatch, resolve_event, wait_blocking

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

DEFAULT_TIMEOUT = 24 * 3600.0

# Stand-ins used to validate at construction the rules that do not depend on a templated value.
_CONSTRUCTION_STAND_INS = {
    "dataset_id": "00000000-0000-0000-0000-000000000000",
    "spec_generation_model_name": DEFAULT_SPEC_GENERATION_MODEL,
}


def is_unresolved(value: Any) -> bool:
    """Whether ``value`` is only known at run time (a Jinja template or an XComArg)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    return hasattr(value, "resolve")


def check_wait_arguments(poll_interval: float, timeout: float) -> None:
    """Reject a poll interval or timeout that cannot describe a wait."""
    if not poll_interval > 0:
        raise DataframerValidationError(
            f"poll_interval must be a positive number of seconds, got {poll_interval!r}"
        )
    if not timeout > 0:
        raise DataframerValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")


class CreateSpecOperator(BaseOperator):
    """
    Create a Dataframer spec from a seed dataset or from generation objectives, and wait for it.

    The spec id is the task's return value (``create_spec.output``) and is also pushed to XCom
    under ``spec_id`` as soon as the spec is created. Arguments are validated against the
    documented rules before any request is sent; a value that is templated is validated once it
    is rendered.

    :param name: unique name of the spec (templated); e.g. ``"support-spec-{{ ds_nodash }}"``.
    :param generation_objectives: what to generate (templated); required without ``dataset_id``.
    :param dataset_id: seed dataset UUID (templated); omit for a seedless spec.
    :param spec_generation_model_name: ``provider/model`` (templated); an unknown but well-formed
        name is sent with a warning, since the model list changes every few months.
    :param generate_distributions: learn value distributions (False gives uniform ones).
    :param generate_conditional_distributions: learn conditional distributions; requires
        ``generate_distributions``.
    :param extrapolate_values: seeded specs only; None sends the API default (True).
    :param extrapolate_axes: seeded specs only; None sends the API default (False).
    :param description: free text (templated).
    :param databricks_client_id: required with a ``databricks/`` model (templated).
    :param databricks_client_secret: required with a ``databricks/`` model (templated); masked.
    :param databricks_api_base: serving-endpoints URL, required with a ``databricks/`` model.
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the spec is SUCCEEDED or FAILED before finishing.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for a terminal status before failing the task.
    """

    template_fields: Sequence[str] = (
        "name",
        "generation_objectives",
        "dataset_id",
        "description",
        "spec_generation_model_name",
        "databricks_client_id",
        "databricks_client_secret",
        "databricks_api_base",
    )
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        name: str,
        generation_objectives: str | None = None,
        dataset_id: str | None = None,
        spec_generation_model_name: str = DEFAULT_SPEC_GENERATION_MODEL,
        generate_distributions: bool = True,
        generate_conditional_distributions: bool = False,
        extrapolate_values: bool | None = None,
        extrapolate_axes: bool | None = None,
        description: str | None = None,
        databricks_client_id: str | None = None,
        databricks_client_secret: str | None = None,
        databricks_api_base: str | None = None,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 30.0,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.generation_objectives = generation_objectives
        self.dataset_id = dataset_id
        self.spec_generation_model_name = spec_generation_model_name
        self.generate_distributions = generate_distributions
        self.generate_conditional_distributions = generate_conditional_distributions
        self.extrapolate_values = extrapolate_values
        self.extrapolate_axes = extrapolate_axes
        self.description = description
        self.databricks_client_id = databricks_client_id
        self.databricks_client_secret = databricks_client_secret
        self.databricks_api_base = databricks_api_base
        self.dataframer_conn_id = dataframer_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        check_wait_arguments(poll_interval, timeout)
        self._mask_secrets()
        self._validate(at_construction=True)

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def _request_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "generation_objectives": self.generation_objectives,
            "dataset_id": self.dataset_id,
            "spec_generation_model_name": self.spec_generation_model_name,
            "generate_distributions": self.generate_distributions,
            "generate_conditional_distributions": self.generate_conditional_distributions,
            "extrapolate_values": self.extrapolate_values,
            "extrapolate_axes": self.extrapolate_axes,
            "description": self.description,
            "databricks_client_id": self.databricks_client_id,
            "databricks_client_secret": self.databricks_client_secret,
            "databricks_api_base": self.databricks_api_base,
        }

    def _validate(self, at_construction: bool = False) -> SpecCreateRequest | None:
        fields = self._request_fields()
        unresolved = {key for key, value in fields.items() if is_unresolved(value)}
        if unresolved and not at_construction:
            raise DataframerValidationError(f"Fields were not rendered: {', '.join(sorted(unresolved))}")
        if at_construction:
            for key in unresolved:
                fields[key] = _CONSTRUCTION_STAND_INS.get(key, fields[key])
            if "spec_generation_model_name" in unresolved:
                # The databricks requirement depends on the model: checked once it is rendered.
                for key in ("databricks_client_id", "databricks_client_secret", "databricks_api_base"):
                    fields[key] = fields[key] or "unresolved"
        request = SpecCreateRequest.build(**fields)
        return None if at_construction else request

    def _mask_secrets(self) -> None:
        if isinstance(self.databricks_client_secret, str) and self.databricks_client_secret:
            mask_secret(self.databricks_client_secret)

    def render_template_fields(self, context: Context, jinja_env: Any = None) -> None:
        super().render_template_fields(context, jinja_env)
        self._mask_secrets()

    def execute(self, context: Context) -> str:
        request = self._validate()
        assert request is not None
        if not is_known_model(request.spec_generation_model_name):
            self.log.warning(
                "Model %r is not in the list this provider knows; sending it as is (the server decides).",
                request.spec_generation_model_name,
            )
        created = self.hook.create_spec(request)
        spec_id = created.id
        self.log.info("Created Dataframer spec %s named %r", spec_id, request.name)
        context["ti"].xcom_push(key="spec_id", value=spec_id)
        if not self.wait_for_completion:
            return spec_id
        deadline = time.time() + self.timeout
        if self.deferrable:
            self.defer(
                trigger=SpecStatusTrigger(
                    spec_id=spec_id,
                    dataframer_conn_id=self.dataframer_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=deadline,
                ),
                method_name="execute_complete",
            )
        watch = StatusWatch(SPEC, spec_id, deadline, self.log)
        event = wait_blocking(lambda: self.hook.get_resource(SPEC, spec_id), watch, self.poll_interval)
        return self.execute_complete(context, dict(event))

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Turn the final wait event into the spec id, or raise with the server's message."""
        resolve_event(event)
        self.log.info("%s", event["message"])
        return str(event["id"])
