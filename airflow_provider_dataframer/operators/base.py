"""What the operators that create one Dataframer object and wait for it have in common."""

from __future__ import annotations

import time
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowTaskTimeout, BaseOperator, ResumableJobMixin
from pydantic import BaseModel, ValidationError

from airflow_provider_dataframer.arguments import check_wait_arguments
from airflow_provider_dataframer.exceptions import DataframerNotFoundError, DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import ResourceKind
from airflow_provider_dataframer.models import StatusResource, validation_message
from airflow_provider_dataframer.status import Phase
from airflow_provider_dataframer.waiting import StatusWatch, resolve_event, wait_blocking

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.triggers.base import BaseTrigger

NOT_FOUND = "NOT_FOUND"
"""What ``get_job_status`` reports for an object deleted since it was stored."""

EXECUTION_DEADLINE_KWARG = "dataframer_execution_deadline"
"""The resume keyword that marks a wait cut short by ``execution_timeout`` (epoch seconds)."""


def is_deferral_timeout(error: BaseException) -> bool:
    """
    Whether Airflow ended a deferral at its timeout.

    Airflow 3 raises ``TaskDeferralTimeout``; Airflow 2 resumes the task with ``__fail__`` and
    raises ``TaskDeferralError`` whose reason is the trigger timeout.
    """
    name = type(error).__name__
    return name == "TaskDeferralTimeout" or (name == "TaskDeferralError" and "timeout" in str(error).lower())


class DataframerCreateOperator(ResumableJobMixin, BaseOperator):  # type: ignore[misc]
    """
    Create one Dataframer object (a spec, a run) once, remember its id, and wait for it.

    ``ResumableJobMixin`` drives a try: submit (or, on Airflow 3.3+, reconnect to the id kept in the
    task-state store), then :meth:`poll_until_complete` (defers to the triggerer) or
    :meth:`get_job_result` (waits in the worker). Both waits use one ``StatusWatch`` and end in
    :meth:`execute_complete`, which hands the finished object to :meth:`finish`: the one function
    that makes the task's result. ``execute`` returns what ``execute_resumable`` returns.
    Subclasses describe the object (``kind``, ``id_xcom_key``, ``request_model``), submit it,
    build its trigger and say what a finished object gives (``finish``).

    :param dataframer_conn_id: the Airflow connection id.
    :param wait_for_completion: wait until the object reaches a terminal status.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    :param poll_interval: seconds between status polls.
    :param timeout: seconds to wait for a terminal status before failing the task.

    While deferred, the wait also ends at the task's ``execution_timeout`` (counted from the start
    of the try), which Airflow 3 does not enforce on a deferred task itself: the trigger's deadline
    is the earlier of the two. When ``execution_timeout`` is what ended it, the resumed task raises
    ``AirflowTaskTimeout`` as a worker would, and Airflow then calls ``on_kill`` (for a run:
    canceled when ``cancel_on_kill``). In a worker (``deferrable=False``) Airflow enforces
    ``execution_timeout`` itself, the same way.
    """

    kind: ClassVar[ResourceKind]
    id_xcom_key: ClassVar[str]
    request_model: ClassVar[type[BaseModel] | None] = None

    def __init__(
        self,
        *,
        dataframer_conn_id: str,
        wait_for_completion: bool,
        deferrable: bool,
        poll_interval: float,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dataframer_conn_id = dataframer_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.resource_id: str | None = None
        """The id this try works on (for ``on_kill`` and lineage), once known."""
        self.finished = False
        """Whether the object reached a successful end in this try (``on_kill`` then leaves it)."""
        check_wait_arguments(poll_interval, timeout)

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def check_arguments(self, fields: dict[str, Any]) -> None:
        """
        Validate, at construction, the request fields that are not templated.

        A templated field is only known once rendered (and its rendered value is data, whatever
        it contains), so it is validated with the whole request in ``submit_job``, before any
        request is sent.
        """
        model = self.request_model
        if model is None:
            return
        model.model_rebuild()  # built on first use (defer_build), which assignment does not trigger
        for name, value in fields.items():
            if name in self.template_fields or value is None:
                continue
            try:  # the field's own rules; rules across fields wait for the rendered request
                model.__pydantic_validator__.validate_assignment(model.model_construct(), name, value)
            except ValidationError as exc:
                title = getattr(model, "title", f"Invalid {model.__name__}")
                message = validation_message(title, exc, only_field=name)
                if message is not None:
                    raise DataframerValidationError(message) from None

    def make_trigger(self, resource_id: str, deadline: float) -> BaseTrigger:
        """The trigger that waits for ``resource_id`` in the triggerer."""
        raise NotImplementedError

    def finish(self, context: Context, resource_id: str, resource: StatusResource | None) -> Any:
        """
        Turn a finished object into the task's result (the XCom); the one place that does it.

        :param resource: what the wait saw last (None when the event carried nothing).
        """
        return resource_id

    def result_without_waiting(self, context: Context, resource_id: str) -> Any:
        """The result when ``wait_for_completion`` is False."""
        return resource_id

    def remember(self, external_id: Any, context: Context) -> str:
        """Record the id on the task (for ``on_kill``, lineage) and, once, in XCom (for links, sensors)."""
        resource_id = str(external_id)
        if resource_id != self.resource_id:
            self.resource_id = resource_id
            context["ti"].xcom_push(key=self.id_xcom_key, value=resource_id)
        return resource_id

    def execute(self, context: Context) -> Any:
        with self.hook:  # closes the client on leaving (also when deferring)
            return self.execute_resumable(context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Turn the final wait event into the task's result, or raise with the server's message."""
        resource = resolve_event(event)
        self.log.info("%s", event["message"])
        self.finished = True
        self.resource_id = str(event["id"])  # in XCom since before the wait
        with self.hook:
            return self.finish(context, self.resource_id, resource)

    # ResumableJobMixin: submit_job (in subclasses), then poll_until_complete, then get_job_result.
    # A stored object that is still working is reconnected to only to defer again: a worker that
    # waits anyway treats it as the already-succeeded case, whose get_job_result waits for it (the
    # mixin returns poll_until_complete's value when it reconnects, which is no result).

    def get_job_status(self, external_id: Any, context: Context) -> str:
        try:
            return self.hook.get_status(self.kind, str(external_id)).status
        except DataframerNotFoundError:
            return NOT_FOUND  # deleted meanwhile: neither active nor succeeded, so submit anew

    def is_job_active(self, status: str) -> bool:
        working = status != NOT_FOUND and self.kind.phase(status) is Phase.WORKING
        return working and self.deferrable and self.wait_for_completion

    def is_job_succeeded(self, status: str) -> bool:
        phase = self.kind.phase(status) if status != NOT_FOUND else None
        waits_here = not (self.deferrable and self.wait_for_completion)
        return phase is Phase.SUCCEEDED or (phase is Phase.WORKING and waits_here)

    def poll_until_complete(self, external_id: Any, context: Context) -> None:
        """Defer to the triggerer when waiting there; a worker waits in :meth:`get_job_result`."""
        resource_id = self.remember(external_id, context)
        if not (self.deferrable and self.wait_for_completion):
            return
        deadline = time.time() + self.timeout
        resume_kwargs: dict[str, Any] | None = None
        execution_deadline = self.execution_deadline(context)
        if execution_deadline is not None and execution_deadline < deadline:
            deadline = execution_deadline
            resume_kwargs = {EXECUTION_DEADLINE_KWARG: execution_deadline}
        self.log.info(
            "Deferring: the triggerer waits for Dataframer %s %s (a poll every %s s, until %s UTC); "
            "this task holds no worker slot meanwhile.",
            self.kind.name,
            resource_id,
            f"{self.poll_interval:g}",
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(deadline)),
        )
        self.defer(
            trigger=self.make_trigger(resource_id, deadline),
            method_name="execute_complete",
            kwargs=resume_kwargs,
        )

    def get_job_result(self, external_id: Any, context: Context) -> Any:
        """Wait in the worker (at once when already finished), then :meth:`finish`."""
        resource_id = self.remember(external_id, context)
        if not self.wait_for_completion:
            return self.result_without_waiting(context, resource_id)
        watch = StatusWatch(self.kind, resource_id, time.time() + self.timeout, self.log)
        fetch = lambda: self.hook.get_status(self.kind, resource_id, retries=False)  # noqa: E731
        return self.execute_complete(context, dict(wait_blocking(fetch, watch, self.poll_interval)))

    # execution_timeout while deferred

    def execution_deadline(self, context: Context) -> float | None:
        """When this try's ``execution_timeout`` runs out (epoch seconds); None without one."""
        if not self.execution_timeout:
            return None
        started = context["ti"].start_date
        start = started.timestamp() if isinstance(started, datetime) else time.time()
        return start + self.execution_timeout.total_seconds()

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """
        Resume after the deferral; a wait ended by ``execution_timeout`` raises ``AirflowTaskTimeout``.

        Airflow runs this inside its ``execution_timeout`` guard, which calls ``on_kill`` on that
        exception. Airflow 2 also ends a deferral at ``execution_timeout`` itself (the task then
        resumes failed, see :func:`is_deferral_timeout`); that is turned into the same timeout, so that
        ``on_kill`` runs whichever of the two came first.
        """
        kwargs = dict(next_kwargs or {})
        execution_deadline = kwargs.pop(EXECUTION_DEADLINE_KWARG, None)
        event = kwargs.get("event")
        if execution_deadline is not None and isinstance(event, dict) and event.get("status") == "timeout":
            self.resource_id = str(event["id"])
            raise AirflowTaskTimeout(self._execution_timeout_message(event.get("resource_status")))
        try:
            return super().resume_execution(next_method, kwargs, context)
        except Exception as exc:
            if not (is_deferral_timeout(exc) and self.deferrable and self.execution_timeout):
                raise
            stored = context["ti"].xcom_pull(task_ids=self.task_id, key=self.id_xcom_key)
            self.resource_id = str(stored) if stored else self.resource_id
            raise AirflowTaskTimeout(self._execution_timeout_message(None)) from exc

    def _execution_timeout_message(self, last_status: str | None) -> str:
        what = f"Dataframer {self.kind.name} {self.resource_id or '(id unknown)'}"
        last = f" (last status {last_status})" if last_status else ""
        message = (
            f"Timed out: the task's execution_timeout ({self.execution_timeout}) passed while it was "
            f"deferred, waiting for {what}{last}."
        )
        cancel_on_kill = getattr(self, "cancel_on_kill", None)
        if cancel_on_kill is True:
            message += f" The {self.kind.name} is canceled (cancel_on_kill=True)."
        elif cancel_on_kill is False:
            message += f" The {self.kind.name} is left running (cancel_on_kill=False)."
        return message
