"""Send a create once; when its answer is lost, find what it made instead of making a second one.

Every create (spec, seed dataset, run, evaluation, anonymization run, red-team spec or run) is sent
by the hook with the SDK's retries off, since a POST retried blindly can make two objects (two paid
runs). :func:`send_once` is the one retry loop of creates:

* a create refused before any work (never sent, HTTP 408 or 429) is sent again after a backoff;
* a create whose answer was lost (a timeout, a dropped connection, a 5xx) may have been carried
  out: :meth:`Create.find` looks for what it made, which is adopted. Only when it made nothing is
  it sent again (within the retry budget, unless the server said not to retry);
* any other refusal is raised (for specs and datasets, :mod:`.name_clash` resolves a taken name).

Jobs without a name (runs, evaluations, anonymization and red-team runs) are found by
:class:`NewJobCreate`: the jobs of the same parent are listed before each send, and after a lost
answer the new ones are read and compared with the request (its own parameters, and the time the
request was in flight against the job's creation time). One match is ours; several are never
guessed between: the task fails without sending again and names them. With a :class:`Journal`
(Airflow 3.3's task-state store), "sent at T, answer unknown" is written before sending, so that a
retry of a try that could not even list the jobs looks for that job first instead of paying again.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerError,
    DataframerTransportError,
)
from airflow_provider_dataframer.retry import is_transient
from airflow_provider_dataframer.timestamps import api_time

if TYPE_CHECKING:
    from airflow_provider_dataframer.retry import RetryPolicy
    from airflow_provider_dataframer.waiting import TaskLogger

NOT_SENT_STATUS_CODES = frozenset({408, 429})
"""Statuses with which the server refuses a request before acting on it."""

CLOCK_TOLERANCE = 2.0
"""Seconds by which the server's clock may differ from the worker's: a job created this long
before the request was sent or after its answer was lost may still be ours."""


def was_not_carried_out(error: DataframerError) -> bool:
    """Whether a failed create certainly did nothing (never sent, or refused before any work)."""
    if isinstance(error, DataframerTransportError):
        return error.not_sent
    return isinstance(error, DataframerApiError) and error.http_status in NOT_SENT_STATUS_CODES


def is_ambiguous(error: DataframerError) -> bool:
    """Whether a failed create may nevertheless have been carried out by the server."""
    if isinstance(error, DataframerTransportError):
        return not error.not_sent
    return isinstance(error, DataframerApiError) and error.http_status >= 500


class DataframerCreateInDoubtError(DataframerError, AirflowFailException):
    """
    A create's answer was lost and what it made cannot be told apart (or found) with certainty.

    Final for Airflow: a retry would send the create again and could pay twice. The message names
    what to look at.
    """


@dataclass(frozen=True)
class Attempt:
    """
    One send of a create, as far as finding what it made is concerned.

    :param sent_at: UNIX time just before the request was sent.
    :param answered_at: UNIX time the answer was known to be lost (None: unknown, e.g. the worker
        died meanwhile).
    :param known: the ids that existed just before this send (None when nothing was listed).
    """

    sent_at: float
    answered_at: float | None = None
    known: frozenset[str] | None = None

    def may_have_made(self, created_at: str | None) -> bool:
        """Whether an object created at ``created_at`` (the server's ISO time) may be this send's."""
        moment = api_time(created_at)
        if moment is None:
            return True
        created = moment.timestamp()
        if created < self.sent_at - CLOCK_TOLERANCE:
            return False
        return self.answered_at is None or created <= self.answered_at + CLOCK_TOLERANCE

    def to_json(self) -> dict[str, Any]:
        return {"sent_at": self.sent_at, "known": sorted(self.known) if self.known is not None else None}

    @classmethod
    def from_json(cls, value: Any) -> Attempt | None:
        if not isinstance(value, dict) or not isinstance(value.get("sent_at"), (int, float)):
            return None
        known = value.get("known")
        return cls(float(value["sent_at"]), None, frozenset(map(str, known)) if known is not None else None)

    def describe(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.sent_at))


class StateStore(Protocol):
    """The part of Airflow's task-state store (``context["task_state_store"]``) a journal uses."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


class Journal:
    """
    Where a create in flight is noted across the tries of a task: the task-state store.

    :param store: the task-state store of the task instance.
    :param key: the key under which the create in flight is kept.
    """

    def __init__(self, store: StateStore, key: str) -> None:
        self.store = store
        self.key = key

    @classmethod
    def of_task(cls, operator: Any, context: Any) -> Journal | None:
        """The journal of a durable operator's task instance, or None (Airflow < 3.3, not durable)."""
        store = context.get("task_state_store") if hasattr(context, "get") else None
        if store is None or not getattr(operator, "durable", True):
            return None
        return cls(store, f"{operator.external_id_key}_create_in_flight")

    def read(self) -> Attempt | None:
        return Attempt.from_json(self.store.get(self.key))

    def write(self, attempt: Attempt) -> None:
        self.store.set(self.key, attempt.to_json())

    def clear(self) -> None:
        self.store.delete(self.key)


class Create(abc.ABC):
    """
    One create, described for :func:`send_once`.

    :param noun: what is created, for messages ("run", "spec").
    :param parent: where, for messages ("of spec 9b2f...", "named 'tickets'").
    """

    conflict_may_be_ours = False
    """Whether an HTTP 409 may hide a create that was carried out (looked for, like a lost answer)."""

    def __init__(self, noun: str, parent: str) -> None:
        self.noun = noun
        self.parent = parent

    def existing(self) -> frozenset[str] | None:
        """The ids that exist just before a send, to tell a new object (None: not listed)."""
        return None

    @abc.abstractmethod
    def send(self) -> str:
        """Send the create once (the hook sends creates without retries); return the new id."""

    @abc.abstractmethod
    def find(self, attempt: Attempt) -> str | None:
        """
        The id of what ``attempt`` made, or None when it made nothing.

        :raises DataframerCreateInDoubtError: when it cannot be told which object is ours.
        """


def send_once(
    create: Create,
    retry: RetryPolicy,
    log: TaskLogger,
    journal: Journal | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, bool]:
    """
    Send ``create`` until it is answered; return its id and whether it was adopted after a lost answer.

    :param create: what to send and how to find what it made.
    :param retry: the budget and backoff of the resends.
    :param log: the task's logger.
    :param journal: where the create in flight is noted for a retry of the task (None: nowhere).
    :param sleep: the sleep between resends (tests pass a fake one).
    """
    earlier = journal.read() if journal is not None else None
    if earlier is not None:
        assert journal is not None
        log.warning(
            "An earlier try of this task sent a %s create %s at %s and never learnt its answer; "
            "looking for it before sending anything.",
            create.noun,
            create.parent,
            earlier.describe(),
        )
        found = _find_or_explain(create, earlier, None, journal)
        if found is not None:
            journal.clear()
            log.info("Adopting %s %s, created by an earlier try of this task.", create.noun, found)
            return found, True
        log.info("The earlier try's %s create made nothing; sending it now.", create.noun)
    attempt_number = 0
    while True:
        attempt_number += 1
        # Listed before every send, not only the first: a job another task made while this one
        # slept between sends is then known, and never taken for what the next send made.
        attempt = Attempt(time.time(), known=create.existing())
        if journal is not None:
            journal.write(attempt)
        try:
            new_id = create.send()
        except DataframerError as error:
            lost = is_ambiguous(error) or (
                create.conflict_may_be_ours
                and isinstance(error, DataframerApiError)
                and error.http_status == 409
            )
            if was_not_carried_out(error) and attempt_number <= retry.max_retries:
                sleep(retry.backoff(attempt_number, error))  # honours a sane Retry-After
                continue
            if not lost:
                _forget(journal)
                raise
            log.warning(
                "The %s create %s got no clear answer (%s); looking for it before sending it again.",
                create.noun,
                create.parent,
                error,
            )
            found = _find_or_explain(create, replace(attempt, answered_at=time.time()), error, journal)
            if found is not None:
                _forget(journal)
                log.info("Adopting %s %s, created by the request whose answer was lost.", create.noun, found)
                return found, True
            _forget(journal)  # it made nothing: nothing is in flight until the next send
            if attempt_number > retry.max_retries or not is_transient(error):
                raise
            sleep(retry.backoff(attempt_number, error))
            continue
        _forget(journal)
        return new_id, False


def _forget(journal: Journal | None) -> None:
    if journal is not None:
        journal.clear()


def _find_or_explain(
    create: Create, attempt: Attempt, lost: DataframerError | None, journal: Journal | None
) -> str | None:
    """``create.find(attempt)``, with a message that says what to do when the lookup fails."""
    try:
        return create.find(attempt)
    except DataframerCreateInDoubtError:
        _forget(journal)  # the message names the candidates; clearing the task means "send anew"
        raise
    except DataframerError as lookup_error:
        what = f"The answer to the {create.noun} create {create.parent} sent at {attempt.describe()}"
        what += f" was lost ({lost})" if lost is not None else " is unknown"
        message = f"{what}, and it could not be looked for ({lookup_error}). Nothing was sent again. "
        if journal is not None:
            raise DataframerError(
                message + "A retry of this task looks for it first (the send time is kept in the "
                "task-state store) and adopts it instead of paying again."
            ) from None
        raise DataframerCreateInDoubtError(
            message + f"This task is not retried, so as not to pay twice: look for the {create.noun} "
            f"{create.parent} created since then in Dataframer and wait on it with its sensor, or "
            "clear this task to send a new one."
        ) from None


JobT = TypeVar("JobT")


class NewJobCreate(Create, Generic[JobT]):
    """
    The create of a job that has no name (a run of a spec, an evaluation of a run...).

    What it made is the one job of the parent that is absent from a listing taken just before the
    send, was made from the same parameters (``same_request``) and was created while the request was
    in flight. Several such jobs, or any without a listing from before the send, are never guessed
    between: :class:`DataframerCreateInDoubtError` names them.

    :param noun: what is created ("run").
    :param parent: the parent, for messages ("of spec 9b2f...").
    :param send: sends the create (without retries) and returns the new id.
    :param jobs: lists the parent's jobs of this kind.
    :param same_request: whether a job was made from this request's parameters, as far as the job
        tells (unknown fields count as the same).
    :param read: reads a listed job whole, when the list leaves out what ``same_request`` compares.
    """

    conflict_may_be_ours = True

    def __init__(
        self,
        noun: str,
        parent: str,
        send: Callable[[], str],
        jobs: Callable[[], Sequence[JobT]],
        same_request: Callable[[JobT], bool] = lambda job: True,
        read: Callable[[JobT], JobT] = lambda job: job,
    ) -> None:
        super().__init__(noun, parent)
        self._send = send
        self._jobs = jobs
        self._same_request = same_request
        self._read = read

    def existing(self) -> frozenset[str]:
        return frozenset(_id(job) for job in self._jobs())

    def send(self) -> str:
        return self._send()

    def find(self, attempt: Attempt) -> str | None:
        known = attempt.known or frozenset()
        alike = [
            job
            for job in (self._read(j) for j in self._jobs() if _id(j) not in known)
            if self._same_request(job)
        ]
        ours = [job for job in alike if attempt.may_have_made(getattr(job, "created_at", None))]
        if not ours:
            return None  # nothing new of these parameters from that time: the create made nothing
        ids = ", ".join(_id(job) for job in ours)
        if attempt.known is None:  # no listing from before the send: any of them may be another's
            raise DataframerCreateInDoubtError(
                f"The answer to the {self.noun} create {self.parent} sent at {attempt.describe()} is "
                f"unknown, and the {self.noun}s {self.parent} were not listed before it was sent, so "
                f"{ids} made from the same parameters since then cannot be told to be its. No other "
                f"{self.noun} was started. Look at them in Dataframer, cancel what is not needed, and "
                "wait on the one you keep with its sensor."
            )
        if len(ours) == 1:
            return _id(ours[0])
        raise DataframerCreateInDoubtError(
            f"The answer to the {self.noun} create {self.parent} sent at {attempt.describe()} was lost, "
            f"and {len(ours)} new {self.noun}s {self.parent} were made from the same parameters while "
            f"it was in flight: {ids}. No other {self.noun} was started. Look at them in Dataframer "
            f"(one is this task's, the others were started concurrently), cancel what is not needed, "
            "and wait on the one you keep with its sensor."
        )


def _id(job: Any) -> str:
    return str(job.id)
