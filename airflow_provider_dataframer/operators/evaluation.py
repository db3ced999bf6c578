"""Evaluate a generated run, and gate the DAG on the evaluation's numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowFailException, conf
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_provider_dataframer.arguments import DEFAULT_JOB_TIMEOUT
from airflow_provider_dataframer.exceptions import DataframerError, DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.idempotency import Journal, NewJobCreate, send_once
from airflow_provider_dataframer.kinds import EVALUATION
from airflow_provider_dataframer.links import DataframerEvaluationLink
from airflow_provider_dataframer.models import (
    Evaluation,
    EvaluationCreateRequest,
    StatusResource,
    validation_message,
)
from airflow_provider_dataframer.operators.base import DataframerCreateOperator
from airflow_provider_dataframer.wording import describe

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger


class DataframerQualityGateError(DataframerError, AirflowFailException):
    """
    An evaluation missed the thresholds of its gate; the message lists every number that missed.

    Final for Airflow (an ``AirflowFailException``): a retry would evaluate the same data again.

    :param summary: the evaluation summary, with ``gate.failures``.
    """

    def __init__(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        failures = summary["gate"]["failures"]
        lines = "\n".join(f"  - {failure}" for failure in failures)
        super().__init__(
            f"Dataframer evaluation {summary['evaluation_id']} of run {summary['run_id']} failed its "
            f"quality gate ({len(failures)} threshold(s) missed):\n{lines}"
        )


class QualityGate(BaseModel):
    """
    Thresholds an evaluation must meet. Every threshold left as None is not checked.

    :param max_deviation: the largest gap allowed, in percentage points, between the share of a
        value the evaluator found and the share expected for the run's sample count, for every
        value of every property (e.g. 10.0: a value expected at 40 % must come out between 30 % and
        50 %).
    :param property_max_deviation: ``max_deviation`` per property name, overriding the general one.
    :param min_analyzed_ratio: the smallest share (0 to 1) of the run's samples the evaluator must
        have been able to classify, for every property.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_deviation: float | None = Field(default=None, ge=0, le=100)
    property_max_deviation: dict[str, float] = Field(default_factory=dict)
    min_analyzed_ratio: float | None = Field(default=None, ge=0, le=1)

    @field_validator("property_max_deviation")
    @classmethod
    def _percentage_points(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {name: limit for name, limit in value.items() if not 0 <= limit <= 100}
        if bad:
            raise ValueError(f"limits are percentage points between 0 and 100, got {bad}")
        return value

    @classmethod
    def build(
        cls,
        max_deviation: float | None,
        property_max_deviation: Mapping[str, float] | None,
        min_analyzed_ratio: float | None,
    ) -> QualityGate:
        """The gate of an operator's or sensor's thresholds; a bad one names the field."""
        try:
            return cls(
                max_deviation=max_deviation,
                property_max_deviation=dict(property_max_deviation or {}),
                min_analyzed_ratio=min_analyzed_ratio,
            )
        except ValidationError as exc:
            raise DataframerValidationError(validation_message("Invalid quality gate", exc)) from None

    @property
    def enabled(self) -> bool:
        """Whether any threshold is set."""
        return bool(self.max_deviation is not None or self.property_max_deviation or self.min_analyzed_ratio)

    def failures(self, evaluation: Evaluation) -> list[str]:
        """Each threshold the evaluation missed, with the numbers."""
        found = {p.property_name: p for p in evaluation.distribution_analysis or []}
        missing = sorted(set(self.property_max_deviation) - set(found))
        failures = [
            f"property {name!r}: not in the evaluation (properties: {sorted(found)})" for name in missing
        ]
        for name, analysis in found.items():
            limit = self.property_max_deviation.get(name, self.max_deviation)
            deviation = analysis.max_deviation()
            if limit is not None and deviation is not None and deviation > limit:
                worst = _worst_value(
                    analysis.evaluated_distributions or {}, analysis.expected_distributions or {}
                )
                failures.append(f"property {name!r}: deviation {deviation:g} pp > {limit:g} pp ({worst})")
            ratio = analysis.analyzed_ratio()
            if self.min_analyzed_ratio is not None and ratio is not None and ratio < self.min_analyzed_ratio:
                failures.append(
                    f"property {name!r}: {analysis.total_samples_analyzed} of {analysis.total_samples} samples "
                    f"classified ({ratio:.0%}) < {self.min_analyzed_ratio:.0%}"
                )
        return failures


def _worst_value(evaluated: Mapping[str, float], expected: Mapping[str, float]) -> str:
    value = max(
        sorted(set(evaluated) | set(expected)),
        key=lambda v: abs(evaluated.get(v, 0.0) - expected.get(v, 0.0)),
    )
    return f"{value!r} came out at {evaluated.get(value, 0.0):g} %, expected {expected.get(value, 0.0):g} %"


def evaluation_summary(evaluation: Evaluation, gate: QualityGate) -> dict[str, Any]:
    """The JSON-safe account of a finished evaluation and of its gate, returned as XCom."""
    properties = [
        {
            "property": p.property_name,
            "max_deviation": p.max_deviation(),
            "analyzed_ratio": p.analyzed_ratio(),
            "evaluated": p.evaluated_distributions,
            "expected": p.expected_distributions,
            "requested": p.requested_distributions,
        }
        for p in evaluation.distribution_analysis or []
    ]
    failures = gate.failures(evaluation)
    return {
        "evaluation_id": evaluation.id,
        "run_id": evaluation.run_id,
        "status": evaluation.status,
        "properties": properties,
        "gate": {"checked": gate.enabled, "passed": not failures, "failures": failures},
    }


def run_id_of(value: Any) -> Any:
    """A run id given as is or as the summary returned by ``CreateRunOperator``."""
    return value.get("run_id") if isinstance(value, Mapping) else value


class CreateEvaluationOperator(DataframerCreateOperator):
    """
    Evaluate a SUCCEEDED run, wait for the evaluation, and gate the DAG on its numbers.

    Dataframer's evaluator classifies every generated sample against the spec's properties and
    reports, per property, the share of each value it found (``evaluated``), the share the spec
    requested, and the share achievable with the run's sample count (``expected``). The return
    value (``evaluate.output``) is a JSON-safe summary: ``evaluation_id``, ``run_id``, ``status``,
    ``properties`` (per property: ``max_deviation`` in percentage points, ``analyzed_ratio``, the
    three distributions) and ``gate`` (``checked``, ``passed``, ``failures``).

    The gate: when ``max_deviation``, ``property_max_deviation`` or ``min_analyzed_ratio`` is set,
    a task whose evaluation misses any of them fails with :class:`DataframerQualityGateError`,
    which lists every number that missed; everything downstream (the download, the training DAGs
    scheduled on it) does not run. The failure is final: the task is not retried (a retry would
    evaluate the same data again). To branch instead of failing, leave the thresholds unset and
    read ``gate``/``properties`` of the output in a ``@task.branch`` or ``@task.short_circuit``.

    An evaluation is paid for: it is created once (a create whose answer was lost is resolved by
    listing the run's evaluations; Airflow 3.3+ reconnects a retried task to it).

    :param run_id: the run to evaluate (templated): its id, or the summary returned by
        ``CreateRunOperator``, so ``generate.output`` can be passed as is.
    :param evaluation_model: ``provider/model`` of the evaluator (templated); None uses the
        server's default.
    :param max_deviation: percentage points allowed between evaluated and expected shares.
    :param property_max_deviation: the same, per property name (overrides ``max_deviation``).
    :param min_analyzed_ratio: the smallest share of samples (0 to 1) the evaluator must classify.
    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait for the evaluation (the gate needs it).
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for the evaluation before failing the task.
    """

    template_fields: Sequence[str] = ("run_id", "evaluation_model")
    operator_extra_links = (DataframerEvaluationLink(),)
    ui_color = "#f3e8fd"
    external_id_key = "dataframer_evaluation_id"
    kind = EVALUATION
    id_xcom_key = "evaluation_id"
    request_model = EvaluationCreateRequest

    def __init__(
        self,
        *,
        run_id: str | Mapping[str, Any],
        evaluation_model: str | None = None,
        max_deviation: float | None = None,
        property_max_deviation: Mapping[str, float] | None = None,
        min_analyzed_ratio: float | None = None,
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
        self.run_id = run_id
        self.evaluation_model = evaluation_model
        self.gate = QualityGate.build(max_deviation, property_max_deviation, min_analyzed_ratio)
        if self.gate.enabled and not wait_for_completion:
            raise DataframerValidationError(
                "A quality gate needs the evaluation's result: set wait_for_completion=True, or drop "
                "max_deviation, property_max_deviation and min_analyzed_ratio."
            )

    def _request(self) -> EvaluationCreateRequest:
        request: EvaluationCreateRequest = EvaluationCreateRequest.build(
            run_id=run_id_of(self.run_id), evaluation_model=self.evaluation_model
        )
        return request

    def submit_job(self, context: Context) -> str:
        request = self._request()
        create = NewJobCreate(
            EVALUATION.name,
            f"of run {request.run_id}",
            lambda: self.hook.create_evaluation(request),
            lambda: self.hook.list_run_evaluations(request.run_id),
        )
        evaluation_id, adopted = send_once(
            create, self.hook.settings.retry, self.log, Journal.of_task(self, context)
        )
        if not adopted:
            self.log.info("Started Dataframer evaluation %s of run %s", evaluation_id, request.run_id)
        return evaluation_id

    def result_without_waiting(self, context: Context, resource_id: str) -> dict[str, Any]:
        evaluation = self.hook.get_evaluation(resource_id)
        self.log.info("%s; not waiting for it.", describe(EVALUATION.name, evaluation))
        return evaluation_summary(evaluation, self.gate)

    def make_trigger(self, resource_id: str, deadline: float) -> EvaluationStatusTrigger:
        from airflow_provider_dataframer.triggers.evaluation import EvaluationStatusTrigger

        return EvaluationStatusTrigger(
            evaluation_id=resource_id,
            dataframer_conn_id=self.dataframer_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
        )

    def finish(self, context: Context, resource_id: str, resource: StatusResource | None) -> dict[str, Any]:
        """The summary of the finished evaluation (read whole), once its gate passed."""
        summary = evaluation_summary(self.hook.get_evaluation(resource_id), self.gate)
        return self._apply_gate(summary)

    def _apply_gate(self, summary: dict[str, Any]) -> dict[str, Any]:
        for item in summary["properties"]:
            self.log.info(
                "Property %r: max deviation %s pp from the expected distribution, %s of samples classified.",
                item["property"],
                item["max_deviation"],
                f"{item['analyzed_ratio']:.0%}" if item["analyzed_ratio"] is not None else "an unknown share",
            )
        if summary["gate"]["failures"]:
            raise DataframerQualityGateError(summary)
        if self.gate.enabled:
            self.log.info("Quality gate passed: %s", self.gate.model_dump(exclude_defaults=True))
        return summary
