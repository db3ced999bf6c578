from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_dataframer.links import (
    DataframerRunLink,
    DataframerSpecLink,
    app_url_for_connection,
    app_url_from,
)
from airflow_provider_dataframer.operators.spec import CreateSpecOperator
from tests.conftest import connection_json

TI_KEY = SimpleNamespace(dag_id="d", task_id="t", run_id="manual__1", map_index=-1, try_number=1)


@pytest.mark.parametrize(
    ("base_url", "app_url", "expected"),
    [
        ("https://df-api.dataframer.ai", None, "https://app.dataframer.ai"),
        ("https://api.eu.dataframer.ai/", None, "https://app.eu.dataframer.ai"),
        ("http://127.0.0.1:8080", None, "http://127.0.0.1:8080"),
        ("https://df.internal.example", None, "https://df.internal.example"),
        ("https://df-api.dataframer.ai", "https://studio.acme.test/", "https://studio.acme.test"),
    ],
)
def test_app_url(base_url: str, app_url: str | None, expected: str) -> None:
    assert app_url_from(base_url, app_url) == expected


def test_app_url_from_the_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DF_PUBLIC", connection_json(host="https://df-api.dataframer.ai"))
    monkeypatch.setenv("AIRFLOW_CONN_DF_CUSTOM", connection_json(app_url="https://studio.acme.test"))
    assert app_url_for_connection("df_public") == "https://app.dataframer.ai"
    assert app_url_for_connection("df_custom") == "https://studio.acme.test"
    assert app_url_for_connection("no_such_connection") == "https://app.dataframer.ai"


def xcom(values: dict[str, Any]):  # type: ignore[no-untyped-def]
    def get_value(*, ti_key: Any, key: str) -> Any:
        assert ti_key is TI_KEY
        return values.get(key)

    return get_value


def test_links_read_the_id_from_xcom(mocker, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_CONN_DF_APP", connection_json(app_url="https://app.example"))
    mocker.patch(
        "airflow_provider_dataframer.links.XCom.get_value",
        side_effect=xcom({"spec_id": "s-1", "run_id": "r-9"}),
    )
    operator = SimpleNamespace(dataframer_conn_id="df_app")
    assert DataframerSpecLink().get_link(operator, ti_key=TI_KEY) == "https://app.example/specs/s-1"  # type: ignore[arg-type]
    assert DataframerRunLink().get_link(operator, ti_key=TI_KEY) == "https://app.example/runs/r-9"  # type: ignore[arg-type]


def test_link_is_empty_before_the_id_is_known(mocker) -> None:  # type: ignore[no-untyped-def]
    mocker.patch("airflow_provider_dataframer.links.XCom.get_value", side_effect=xcom({}))
    assert DataframerRunLink().get_link(SimpleNamespace(), ti_key=TI_KEY) == ""  # type: ignore[arg-type]


def test_serialized_operator_without_conn_id_uses_the_default_connection(mocker) -> None:  # type: ignore[no-untyped-def]
    # On Airflow 2 the webserver passes a serialized operator that lacks custom attributes.
    mocker.patch("airflow_provider_dataframer.links.XCom.get_value", side_effect=xcom({"spec_id": "s-1"}))
    link = DataframerSpecLink().get_link(SimpleNamespace(), ti_key=TI_KEY)  # type: ignore[arg-type]
    assert link == "http://dataframer.test/specs/s-1"  # the test default connection's base URL


def test_operators_carry_their_links() -> None:
    assert [link.name for link in CreateSpecOperator.operator_extra_links] == ["Dataframer Spec"]
    assert DataframerSpecLink.name == "Dataframer Spec" and DataframerRunLink.name == "Dataframer Run"
