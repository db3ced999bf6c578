"""The kinds of objects a task waits for: where each lives on the API, how it is read, its statuses."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_dataframer.models import (
    AnonymizationStatus,
    EvaluationStatus,
    RedTeamRunStatus,
    Run,
    Spec,
    StatusResource,
)
from airflow_provider_dataframer.status import Phase, StatusRules


@dataclass(frozen=True)
class ResourceKind:
    """
    One kind of object that is waited for.

    :param name: the singular noun used in messages ("spec", "run").
    :param collection_path: the list path, with its trailing slash.
    :param model: the response model of what a wait reads.
    :param status: what its statuses mean.
    """

    name: str
    collection_path: str
    model: type[StatusResource]
    status: StatusRules

    def item_path(self, resource_id: str) -> str:
        """The path a wait reads (the object's own path)."""
        return f"{self.collection_path}{resource_id}/"

    def phase(self, status: str) -> Phase:
        """Whether ``status`` is still working, a success or a failure (see :class:`StatusRules`)."""
        return self.status.phase(status)


@dataclass(frozen=True)
class LightStatusKind(ResourceKind):
    """A kind polled through its light status endpoint, ``{collection}{id}/status/``."""

    def item_path(self, resource_id: str) -> str:
        return f"{self.collection_path}{resource_id}/status/"


_JOB_WORKING = frozenset({"PENDING", "PROCESSING"})

SPEC = ResourceKind(
    name="spec",
    collection_path="/api/dataframer/specs/",
    model=Spec,
    status=StatusRules(
        success=frozenset({"SUCCEEDED", "READY"}),
        failure=frozenset({"FAILED"}),
        working=frozenset({"PROCESSING", "PENDING"}),
    ),
)

RUN = ResourceKind(
    name="run",
    collection_path="/api/dataframer/runs/",
    model=Run,
    status=StatusRules(
        success=frozenset({"SUCCEEDED"}),
        failure=frozenset({"FAILED", "CANCELED", "CANCELLED"}),
        working=frozenset({"PENDING", "PROCESSING", "IN_PROGRESS"}),
    ),
)

EVALUATION = ResourceKind(
    name="evaluation",
    collection_path="/api/dataframer/evaluations/",
    model=EvaluationStatus,
    status=StatusRules(success=frozenset({"SUCCEEDED"}), failure=frozenset({"FAILED"}), working=_JOB_WORKING),
)

ANONYMIZATION = ResourceKind(
    name="anonymization run",
    collection_path="/api/dataframer/anonymization-runs/",
    model=AnonymizationStatus,
    status=StatusRules(success=frozenset({"SUCCEEDED"}), failure=frozenset({"FAILED"}), working=_JOB_WORKING),
)

RED_TEAM_RUN = LightStatusKind(
    name="red-team run",
    collection_path="/api/dataframer/red-team-runs/",
    model=RedTeamRunStatus,
    status=StatusRules(
        success=frozenset({"SUCCEEDED"}),
        failure=frozenset({"FAILED", "CANCELED", "CANCELLED"}),
        working=_JOB_WORKING,
    ),
)

RESOURCE_KINDS = {kind.name: kind for kind in (SPEC, RUN, EVALUATION, ANONYMIZATION, RED_TEAM_RUN)}
"""Every kind by name (a wait event names its kind)."""
