"""Resolve a name clash: what to do when a spec or seed dataset of the requested name exists.

Names are unique (a spec's within its dataset, or among seedless specs), which makes these creates
safe to repeat: when a task is retried or cleared it meets its own object again, and what it does
with it is the user's ``if_exists`` choice. The send itself, and a lost answer, are
:func:`~airflow_provider_dataframer.idempotency.send_once`'s job.
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from airflow_provider_dataframer.exceptions import DataframerApiError, DataframerValidationError
from airflow_provider_dataframer.idempotency import Attempt, Create, send_once
from airflow_provider_dataframer.retry import is_transient
from airflow_provider_dataframer.status import Phase

if TYPE_CHECKING:
    from airflow_provider_dataframer.retry import RetryPolicy
    from airflow_provider_dataframer.waiting import TaskLogger

CLASH_STATUS_CODES = frozenset({400, 409})
"""Statuses with which the API may refuse a create because the name is taken (409 may also be a
lock timeout: with no same-named object found, it is retried)."""


class IfExists(str, enum.Enum):
    """
    What to do when an object with the requested name already exists.

    * ``reuse`` (default): adopt it when it was made from the same inputs and is working or
      succeeded; replace it when it failed.
    * ``fail``: stop with an error that names the existing object.
    * ``replace``: delete it (when it was made from the same inputs) and create a new one.

    An object of the same name made from other inputs is never touched: that is always an error.
    """

    REUSE = "reuse"
    FAIL = "fail"
    REPLACE = "replace"

    @classmethod
    def parse(cls, value: str | IfExists) -> IfExists:
        """Read a user's choice, with an error that lists the valid ones."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(repr(member.value) for member in cls)
            raise DataframerValidationError(f"if_exists must be one of {choices}, got {value!r}") from None


class Named(Protocol):
    """A named object as listed: it has an id."""

    @property
    def id(self) -> str: ...


NamedT = TypeVar("NamedT", bound=Named)


class NamedCreate(abc.ABC, Generic[NamedT]):
    """
    The create of a uniquely named object (a spec, a seed dataset, a red-team spec).

    :param noun: what is created, for messages ("spec").
    :param name: the unique name.
    """

    def __init__(self, noun: str, name: str) -> None:
        self.noun = noun
        self.name = name

    @abc.abstractmethod
    def send(self) -> str:
        """Send the create once; return the new id."""

    @abc.abstractmethod
    def find(self) -> NamedT | None:
        """The existing object of this name (in this slot), if any."""

    @abc.abstractmethod
    def matches(self, existing: NamedT) -> bool:
        """Whether ``existing`` was made from the same inputs as this request."""

    @abc.abstractmethod
    def delete(self, existing: NamedT) -> None:
        """Delete ``existing`` (to replace it)."""

    def phase(self, existing: NamedT) -> Phase:
        """Whether ``existing`` is working, succeeded or failed (usable as soon as it exists by default)."""
        return Phase.SUCCEEDED

    def mismatch(self, existing: NamedT) -> str:
        """How ``existing`` differs from this request, for the clash message."""
        return "it was made from other inputs"


class _NameTaken(Exception):
    """A lost answer, and an object of the name that may be an earlier one: a clash to resolve."""

    def __init__(self, existing: Any) -> None:
        super().__init__(f"name taken by {existing.id}")
        self.existing = existing


class _SendNamed(Create):
    """A named create for :func:`send_once`: what a lost answer made is found by its name."""

    def __init__(self, target: NamedCreate[NamedT], name_was_free: bool) -> None:
        super().__init__(target.noun, f"named {target.name!r}")
        self.target = target
        self.name_was_free = name_was_free

    def send(self) -> str:
        return self.target.send()

    def find(self, attempt: Attempt) -> str | None:
        existing = self.target.find()
        if existing is None or not self.target.matches(existing):
            return None
        if self.name_was_free:  # looked up just before sending: it can only be ours
            return existing.id
        raise _NameTaken(existing)  # ours, or an earlier try's: if_exists decides


def create_named(
    target: NamedCreate[NamedT],
    if_exists: IfExists,
    retry: RetryPolicy,
    log: TaskLogger,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, bool]:
    """
    Create ``target`` once, resolving a name clash by ``if_exists``; return its id and whether an
    existing object was adopted.

    ``fail`` and ``replace`` look the name up before creating (and act on what they find), so that
    anything found after a lost answer is known to be ours. ``reuse`` creates first and looks the
    name up only when the server refuses the name or the answer is lost; what it finds then is
    reused or replaced by the same rule, whether this task or an earlier try created it.
    """
    replaced = False
    if if_exists is not IfExists.REUSE:
        existing = target.find()
        if existing is not None:
            _resolve_clash(target, existing, if_exists, log)  # fail raises; replace deletes
            replaced = True
    send = _SendNamed(target, name_was_free=if_exists is not IfExists.REUSE)
    attempt = 0
    while True:
        attempt += 1
        found: NamedT
        try:
            return send_once(send, retry, log, sleep=sleep)
        except _NameTaken as taken:
            found = taken.existing
        except DataframerApiError as error:
            if error.http_status not in CLASH_STATUS_CODES:
                raise
            clash = target.find()
            if clash is None and is_transient(error) and attempt <= retry.max_retries:
                sleep(retry.backoff(attempt, error))  # e.g. 409 lock timeout: nothing was made
                continue
            if clash is None or replaced:
                raise  # refused for another reason, or the name is taken again: the message says
            found = clash
        resolved = _resolve_clash(target, found, if_exists, log)
        if resolved is not None:
            return resolved, True
        replaced = True  # the old one was deleted: create again


def _resolve_clash(
    target: NamedCreate[NamedT], existing: NamedT, if_exists: IfExists, log: TaskLogger
) -> str | None:
    """Apply ``if_exists`` to a same-named object: its id to adopt, or None once it is deleted."""
    existing_id = existing.id
    if not target.matches(existing):
        raise DataframerValidationError(
            f"A {target.noun} named {target.name!r} already exists ({existing_id}) but "
            f"{target.mismatch(existing)}; it was left untouched. Give this task a unique, templated "
            f"name such as '{target.name}-{{{{ ds_nodash }}}}'."
        )
    if if_exists is IfExists.FAIL:
        raise DataframerValidationError(
            f"A {target.noun} named {target.name!r} already exists ({existing_id}) and if_exists='fail'. "
            f"Use a unique, templated name such as '{target.name}-{{{{ ds_nodash }}}}', or if_exists='reuse'."
        )
    phase = target.phase(existing)
    if if_exists is IfExists.REUSE and phase is not Phase.FAILED:
        log.info(
            "Reusing %s %s named %r (same inputs, %s).", target.noun, existing_id, target.name, phase.value
        )
        return existing_id
    log.warning(
        "Replacing %s %s named %r (%s).",
        target.noun,
        existing_id,
        target.name,
        "it failed" if phase is Phase.FAILED else "if_exists='replace'",
    )
    target.delete(existing)
    return None
