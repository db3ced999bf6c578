"""The sensor shared by specs and runs: one poke is one observation of the common StatusWatch."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_dataframer.arguments import check_seconds, is_template
from airflow_provider_dataframer.exceptions import DataframerError, DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.waiting import StatusWatch, WaitEvent, resolve_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.triggers.base import StartTriggerArgs

    from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class DataframerStatusSensor(BaseSensorOperator):
    """
    Wait for an existing Dataframer spec or run to reach a terminal status.

    Each poke reads the object once (one attempt, as each poll of the triggerer: the next poke is
    its retry) and hands it to the same :class:`StatusWatch` that the operators and triggers use:
    a success ends the wait, a failure raises with the server's message, a transient error is
    logged and poked through. With ``deferrable=True`` the wait moves to the triggerer after a
    first check, with an absolute deadline of now + ``timeout``.

    With ``start_from_trigger=True`` the scheduler hands the task straight to the triggerer: no
    worker runs it until the wait is over (a worker then only runs ``execute_complete``, which
    reads the result). It is off by default, as in Airflow's own sensors, because it changes where
    the task starts: there is no first check on a worker, templated ids are rendered by the
    triggerer (Airflow 3.3+ only), and the wait's deadline is the task's trigger timeout (start +
    ``timeout``, or sooner with an ``execution_timeout``); a worker that runs the task anyway
    (``dag.test()``, Airflow versions or executors that ignore the flag) defers as with
    ``deferrable=True``.

    Subclasses name the kind, the id argument and the trigger.

    :param watched_id: the value of the subclass's id argument (``spec_id``, ``run_id`` ...).
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker.
    :param start_from_trigger: start in the triggerer, never on a worker (implies ``deferrable``).
        The id must be a literal or, on Airflow 3.3+, a Jinja template string (not an
        ``XComArg``: pull it in the template, e.g. ``"{{ ti.xcom_pull('create_run')['run_id'] }}"``).
    """

    kind: ClassVar[ResourceKind]
    id_field: ClassVar[str]

    def __init__(
        self,
        *,
        watched_id: Any,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        start_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        deferrable = deferrable or start_from_trigger
        if deferrable:  # the triggerer polls at poke_interval until now + timeout: both must be real
            for field in ("poke_interval", "timeout"):
                if field in kwargs:
                    value = kwargs[field]
                    check_seconds(field, value.total_seconds() if isinstance(value, timedelta) else value)
        super().__init__(**kwargs)
        setattr(self, self.id_field, watched_id)
        self.dataframer_conn_id = dataframer_conn_id
        self.deferrable = deferrable
        self.start_from_trigger = start_from_trigger
        if start_from_trigger:
            self.start_trigger_args = self._start_trigger_args(watched_id)
        self._watch: StatusWatch | None = None

    def _start_trigger_args(self, watched_id: Any) -> StartTriggerArgs:
        """What the scheduler needs to create this sensor's trigger itself (``start_from_trigger``)."""
        # Imported here: airflow.triggers.base costs a DAG file that imports a sensor ~9 ms.
        from airflow.triggers.base import StartTriggerArgs

        if isinstance(watched_id, Mapping):  # a literal summary: its id is known now
            watched_id = self.resource_id()
        elif not isinstance(watched_id, str):
            raise DataframerValidationError(
                f"start_from_trigger needs {self.id_field} as an id or a Jinja template string, got "
                f"{type(watched_id).__name__}: the trigger is made by the scheduler from arguments "
                f"stored with the DAG. Pull the value in a template instead, e.g. "
                f"\"{{{{ ti.xcom_pull(task_ids='...')['{self.id_field}'] }}}}\", or set "
                "start_from_trigger=False."
            )
        elif is_template(watched_id) and not AIRFLOW_V_3_3_PLUS:
            raise DataframerValidationError(
                f"start_from_trigger with a templated {self.id_field} ({watched_id!r}) needs Airflow "
                "3.3 or later, whose triggerer renders the templates of a task that starts there. "
                "Pass a literal id, or set start_from_trigger=False (deferrable=True still waits in "
                "the triggerer, after a first check on a worker)."
            )
        return StartTriggerArgs(
            trigger_cls=f"{self.trigger_class().__module__}.{self.trigger_class().__qualname__}",
            trigger_kwargs={
                self.id_field: watched_id.strip() if not is_template(watched_id) else watched_id,
                "dataframer_conn_id": self.dataframer_conn_id,
                "poll_interval": float(self.poke_interval),
            },
            next_method="execute_complete",
            next_kwargs=None,
            # The trigger reads its deadline from here (the task's trigger timeout); the scheduler
            # ends the wait at it too, should the triggerer be down then.
            timeout=timedelta(seconds=self.timeout),
        )

    @cached_property
    def hook(self) -> DataframerHook:
        """The hook of ``dataframer_conn_id``."""
        return DataframerHook(self.dataframer_conn_id)

    def resource_id(self) -> str:
        """The id waited for, once rendered."""
        value = getattr(self, self.id_field)
        if not isinstance(value, str) or not value.strip():
            raise DataframerValidationError(f"{self.id_field} must be a {self.kind.name} id, got {value!r}")
        return value.strip()

    def _observe(self, context: Context) -> WaitEvent | None:
        resource_id = self.resource_id()
        if self._watch is None or self._watch.resource_id != resource_id:
            self._watch = StatusWatch(self.kind, resource_id, float("inf"), self.log)
            context["ti"].xcom_push(key=self.id_field, value=resource_id)
        try:
            return self._watch.observe(self.hook.get_status(self.kind, resource_id, retries=False))
        except DataframerError as exc:
            return self._watch.observe_error(exc)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        event = self._observe(context)
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.execute_complete(context, dict(event)))

    def execute(self, context: Context) -> Any:
        with self.hook:  # closes the client on leaving (also when deferring)
            return self._execute(context)

    def _execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        event = self._observe(context)
        if event is not None:
            return self.execute_complete(context, dict(event))
        self.defer(
            trigger=self.trigger_class()(
                self.resource_id(),
                dataframer_conn_id=self.dataframer_conn_id,
                poll_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
        )

    @classmethod
    def trigger_class(cls) -> type[DataframerStatusTrigger]:
        """The trigger class, imported on first deferral: DAG files that import sensors skip it."""
        raise NotImplementedError

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Turn the final wait event into the sensor's result, or raise with the server's message."""
        if event.get("status") == "timeout":  # as when poking: a sensor's timeout is not retried
            raise AirflowSensorTimeout(event.get("message", "Timed out"))
        resource = resolve_event(event)
        self.log.info("%s", event["message"])
        if self._watch is None:  # no poke in this process (started in the triggerer, or resumed): links
            context["ti"].xcom_push(key=self.id_field, value=str(event["id"]))
        with self.hook:
            return self.result(resource, str(event["id"]))

    def result(self, resource: StatusResource | None, resource_id: str) -> Any:
        """The XCom value of a successful wait (the id; runs return their summary)."""
        return resource_id
