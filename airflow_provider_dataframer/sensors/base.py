"""The sensor shared by specs and runs: one poke is one observation of the common StatusWatch."""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_dataframer.arguments import check_seconds
from airflow_provider_dataframer.exceptions import DataframerError, DataframerValidationError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook
from airflow_provider_dataframer.kinds import ResourceKind
from airflow_provider_dataframer.models import StatusResource
from airflow_provider_dataframer.waiting import StatusWatch, WaitEvent, resolve_event

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dataframer.triggers.base import DataframerStatusTrigger


class DataframerStatusSensor(BaseSensorOperator):
    """
    Wait for an existing Dataframer spec or run to reach a terminal status.

    Each poke reads the object once and hands it to the same :class:`StatusWatch` that the operators
    and triggers use: a success ends the wait, a failure raises with the server's message, a
    transient error is logged and poked through. With ``deferrable=True`` the wait moves to the
    triggerer after a first check, with an absolute deadline of now + ``timeout``.

    Subclasses name the kind, the id argument and the trigger.

    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker.
    """

    kind: ClassVar[ResourceKind]
    id_field: ClassVar[str]

    def __init__(
        self,
        *,
        dataframer_conn_id: str = DataframerHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        if deferrable:  # the triggerer polls at poke_interval until now + timeout: both must be real
            for field in ("poke_interval", "timeout"):
                if field in kwargs:
                    value = kwargs[field]
                    check_seconds(field, value.total_seconds() if isinstance(value, timedelta) else value)
        super().__init__(**kwargs)
        self.dataframer_conn_id = dataframer_conn_id
        self.deferrable = deferrable
        self._watch: StatusWatch | None = None

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
            return self._watch.observe(self.hook.get_status(self.kind, resource_id))
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
        with self.hook:
            return self.result(resource, str(event["id"]))

    def result(self, resource: StatusResource | None, resource_id: str) -> Any:
        """The XCom value of a successful wait (the id; runs return their summary)."""
        return resource_id
