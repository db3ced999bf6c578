"""Wait for a Dataframer spec created elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dataframer.kinds import SPEC
from airflow_provider_dataframer.links import DataframerSpecLink
from airflow_provider_dataframer.sensors.base import DataframerStatusSensor

if TYPE_CHECKING:
    from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger


class SpecStatusSensor(DataframerStatusSensor):
    """
    Wait until a spec is SUCCEEDED (or READY); fail with the server's message when it FAILED.

    The return value is the spec id, so ``sensor.output`` can feed a :class:`CreateRunOperator`.

    :param spec_id: the spec to wait for (templated).
    :param dataframer_conn_id: the Airflow connection id.
    :param deferrable: wait in the triggerer instead of poking from a worker; ``poke_interval``
        is then the trigger's poll interval and ``timeout`` its deadline.
    :param start_from_trigger: start in the triggerer, so that no worker runs the task until the
        wait is over (off by default; see :class:`DataframerStatusSensor` for what changes).
    """

    template_fields: Sequence[str] = ("spec_id",)
    operator_extra_links = (DataframerSpecLink(),)
    ui_color = "#e8f0fe"
    kind = SPEC
    id_field = "spec_id"
    spec_id: str

    def __init__(self, *, spec_id: str, **kwargs: Any) -> None:
        super().__init__(watched_id=spec_id, **kwargs)

    @classmethod
    def trigger_class(cls) -> type[SpecStatusTrigger]:
        from airflow_provider_dataframer.triggers.spec import SpecStatusTrigger

        return SpecStatusTrigger
