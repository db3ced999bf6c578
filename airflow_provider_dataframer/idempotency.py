"""Create a uniquely named Dataframer object exactly once, whatever happened before.

Dataframer names are unique, which lets a create be made safe to repeat: after a create whose answer
was lost, or when a task is retried or cleared, the object is looked up by name and adopted when it
is the same request, instead of failing with "name already exists" or leaving a duplicate. What to
do with a same-named object that already exists is the user's ``if_exists`` choice.
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from airflow_provider_dataframer.exceptions import (
    DataframerApiError,
    DataframerError,
    DataframerTransportError,
    DataframerValidationError,
)
from airflow_provider_dataframer.retry import is_transient
from airflow_provider_dataframer.status import Phase

if TYPE_CHECKING:
    from airflow_provider_dataframer.retry import RetryPolicy
    from airflow_provider_dataframer.waiting import TaskLogger

ExistingT = TypeVar("ExistingT")

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


NOT_SENT_STATUS_CODES = frozenset({408, 429})
"""Statuses with which the server refuses a request before acting on it."""


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


class NamedCreate(abc.ABC, Generic[ExistingT]):
    """
    One create of a uniquely named object, described for :func:`create_once`.

    :param noun: what is created, for messages ("spec", "seed dataset").
    :param name: the unique name.
    """

    finds_only_its_own: ClassVar[bool] = False
    """True when :meth:`find` can only return what this very create made (it noted what existed
    before): an object found after a lost answer is then adopted whatever ``if_exists`` says."""

    def __init__(self, noun: str, name: str) -> None:
        self.noun = noun
        self.name = name

    @abc.abstractmethod
    def create(self) -> str:
        """Send the create; return the new id."""

    @abc.abstractmethod
    def find(self) -> ExistingT | None:
        """The existing object of this name, if any."""

    @abc.abstractmethod
    def id_of(self, existing: ExistingT) -> str:
        """The id of an existing object."""

    @abc.abstractmethod
    def matches(self, existing: ExistingT) -> bool:
        """Whether ``existing`` was made from the same inputs as this request."""

    @abc.abstractmethod
    def phase(self, existing: ExistingT) -> Phase:
        """Whether ``existing`` is working, succeeded or failed."""

    @abc.abstractmethod
    def delete(self, existing: ExistingT) -> None:
        """Delete ``existing`` (to replace it)."""

    def mismatch(self, existing: ExistingT) -> str:
        """How ``existing`` differs from this request, for the clash message."""
        return "it was made from other inputs"


def create_once(
    target: NamedCreate[ExistingT],
    if_exists: IfExists,
    retry: RetryPolicy,
    log: TaskLogger,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, bool]:
    """
    Create ``target`` exactly once; return its id and whether an existing object was adopted.

    ``fail`` and ``replace`` look the name up before creating (and act on what they find), so that
    anything found after an ambiguous failure is known to be ours. ``reuse`` creates first and looks
    the name up only when the server refuses the name or the answer is lost; what it finds then is
    reused or replaced by the same rule, whether this task or an earlier try created it.
    """
    replaced = False
    if if_exists is not IfExists.REUSE:
        existing = target.find()
        if existing is not None:
            _resolve_clash(target, existing, if_exists, log)  # fail raises; replace deletes it
            replaced = True
    found_is_ours = target.finds_only_its_own or if_exists is not IfExists.REUSE
    attempt = 0
    while True:
        attempt += 1
        try:
            return target.create(), False
        except DataframerError as error:
            # Creates are sent once by the SDK client (max_retries=0): this loop is their retry.
            if was_not_carried_out(error) and attempt <= retry.max_retries:
                sleep(retry.backoff(attempt, error))  # honours a sane Retry-After
                continue
            if isinstance(error, DataframerApiError) and error.http_status in CLASH_STATUS_CODES:
                existing = target.find()
                if existing is None and is_transient(error) and attempt <= retry.max_retries:
                    sleep(retry.backoff(attempt, error))  # e.g. 409 lock timeout: nothing was made
                    continue
                if existing is None or replaced:
                    raise  # refused for another reason, or the name is taken again: the message says
            elif not is_ambiguous(error):
                raise
            else:
                log.warning(
                    "The %s create got no clear answer (%s); looking for it before sending it again.",
                    target.noun,
                    error,
                )
                existing = target.find()
                if existing is None or not target.matches(existing):
                    if attempt > retry.max_retries or not is_transient(error):
                        raise
                    sleep(retry.backoff(attempt, error))
                    continue
                if found_is_ours:  # the name was free before we sent it
                    log.info(
                        "Adopting %s %s, created by the request whose answer was lost.",
                        target.noun,
                        target.id_of(existing),
                    )
                    return target.id_of(existing), True
            resolved = _resolve_clash(target, existing, if_exists, log)
            if resolved is not None:
                return resolved, True
            replaced = True  # the old one was deleted: create again


def _resolve_clash(
    target: NamedCreate[ExistingT],
    existing: ExistingT,
    if_exists: IfExists,
    log: TaskLogger,
) -> str | None:
    """Apply ``if_exists`` to a same-named object: its id to adopt, or None once it is deleted."""
    existing_id = target.id_of(existing)
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
