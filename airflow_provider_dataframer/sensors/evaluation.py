"""Wait for a Dataframer evaluation started elsewhere, and optionally gate on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataframer.arguments import is_template
from airflow_provider_dataframer.hooks.dataframer import checked_id
from airflow_provider_dataframer.kinds import EVALUATION
from airflow_provider_dataframer.links import DataframerEvaluationLink
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.operators.evaluation import (
    DataframerQualityGateError,
    QualityGate,
    evaluation_summary,
)
from airflow_provider_dataframer.sensors.base import DataframerStatusSensor

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger


class EvaluationStatusSensor(DataframerStatusSensor):
    """
    Wait until an evaluation is SUCCEEDED; fail with the server's message when it FAILED.

    The return value is the same summary as :class:`CreateEvaluationOperator`'s (``evaluation_id``,
    ``run_id``, ``status``, ``properties``, ``gate``). With a threshold set the sensor applies the
    same quality gate: an evaluation that misses it fails the task with
    :class:`DataframerQualityGateError`, listing every number that missed (not retried).

    :param evaluation_id: the evaluation to wait for (templated): its id, or the summary returned
        by ``CreateEvaluationOperator`` (e.g. with ``wait_for_completion=False``).
    :param max_deviation: percentage points allowed between evaluated and expected shares.
    :param property_max_deviation: the same, per property name (overrides ``max_deviation``).
    :param min_analyzed_ratio: the smallest share of samples (0 to 1) the evaluator must classify.
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker; ``poke_interval``
        is then the trigger's poll interval and ``timeout`` its deadline.
    :param start_from_trigger: start in the triggerer, so that no worker runs the task until the
        wait is over (off by default; see :class:`DataframerStatusSensor` for what changes).
    """

    template_fields: Sequence[str] = ("evaluation_id",)
    operator_extra_links = (DataframerEvaluationLink(),)
    ui_color = "#f3e8fd"
    kind = EVALUATION
    id_field = "evaluation_id"
    evaluation_id: str | Mapping[str, Any]

    def __init__(
        self,
        *,
        evaluation_id: str | Mapping[str, Any],
        max_deviation: float | None = None,
        property_max_deviation: Mapping[str, float] | None = None,
        min_analyzed_ratio: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(watched_id=evaluation_id, **kwargs)
        self.gate = QualityGate.build(max_deviation, property_max_deviation, min_analyzed_ratio)
        if isinstance(evaluation_id, str) and not is_template(evaluation_id):
            checked_id(evaluation_id, self.id_field)

    @classmethod
    def trigger_class(cls) -> type[EvaluationStatusTrigger]:
        from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger

        return EvaluationStatusTrigger

    def resource_id(self) -> str:
        value: Any = self.evaluation_id
        if isinstance(value, Mapping):
            value = value.get("evaluation_id")
        return checked_id(value, self.id_field)

    def result(self, resource: StatusResource | None, resource_id: str) -> dict[str, Any]:
        summary = evaluation_summary(self.hook.get_evaluation(resource_id), self.gate)
        if summary["gate"]["failures"]:
            raise DataframerQualityGateError(summary)
        return summary
