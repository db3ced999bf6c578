"""Exactly-once creates of unnamed, paid jobs: evaluations, anonymization runs, red-team runs.

These objects have no unique name to look up after a create whose answer was lost. Like a run
(``operators.run.RunCreate``), the jobs of the same parent are listed just before the create; after
a lost answer, the one new job of that parent is ours. Two or more new ones are not guessed between:
the create is then treated as not carried out, and its error raised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from airflow_provider_dataframer.exceptions import DataframerError
from airflow_provider_dataframer.idempotency import NamedCreate
from airflow_provider_dataframer.kinds import ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.status import Phase

JobT = TypeVar("JobT", bound=StatusResource)


class FreshCreate(NamedCreate[JobT], Generic[JobT]):
    """
    The create of one job under a parent, safe to repeat after a lost answer.

    :param kind: what is created (its noun and statuses).
    :param parent: the parent, for messages (e.g. "for run 1f3c...").
    :param send: sends the create (without retries) and returns the new id.
    :param siblings: lists the parent's jobs of this kind.
    """

    finds_only_its_own = True

    def __init__(
        self,
        kind: ResourceKind,
        parent: str,
        send: Callable[[], str],
        siblings: Callable[[], list[JobT]],
    ) -> None:
        super().__init__(kind.name, parent)
        self.kind = kind
        self._send = send
        self._siblings = siblings
        self.known = {job.id for job in siblings()}

    def create(self) -> str:
        return self._send()

    def find(self) -> JobT | None:
        new = [job for job in self._siblings() if job.id not in self.known]
        return new[0] if len(new) == 1 else None

    def id_of(self, existing: JobT) -> str:
        return existing.id

    def matches(self, existing: JobT) -> bool:
        return True  # find() only returns the job that appeared for this very request

    def phase(self, existing: JobT) -> Phase:
        return self.kind.phase(existing.status)

    def delete(self, existing: JobT) -> None:
        raise DataframerError(f"Dataframer {self.kind.name} {existing.id} is never deleted to be replaced.")
