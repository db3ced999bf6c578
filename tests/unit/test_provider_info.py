from __future__ import annotations

import importlib
import importlib.metadata
from importlib.metadata import entry_points

import pytest
from packaging.version import Version

import airflow_provider_dataframer
from tests.conftest import connection_json

AIRFLOW_V_3_2_PLUS = Version(Version(importlib.metadata.version("apache-airflow")).base_version) >= Version(
    "3.2"
)


def test_provider_info_loads_through_the_entry_point() -> None:
    (entry_point,) = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_dataframer")
    ]
    info = entry_point.load()()
    assert info["package-name"] == "airflow-provider-dataframer"
    assert info["versions"] == [airflow_provider_dataframer.__version__]
    (connection_type,) = info["connection-types"]
    assert connection_type["connection-type"] == "dataframer"
    hook_module, _, hook_class = connection_type["hook-class-name"].rpartition(".")
    hook = getattr(importlib.import_module(hook_module), hook_class)
    assert hook.conn_type == "dataframer" and hook.default_conn_name == "dataframer_default"
    assert hook.hook_name == "Dataframer" and hook.conn_name_attr == "dataframer_conn_id"


def test_every_listed_module_imports() -> None:
    info = airflow_provider_dataframer.get_provider_info()
    for section in ("hooks", "operators", "triggers", "sensors"):
        for group in info.get(section, []):
            for module in group["python-modules"]:
                importlib.import_module(module)
    for link in info.get("extra-links", []):
        module, _, name = link.rpartition(".")
        assert hasattr(importlib.import_module(module), name)


def test_connection_form_is_in_the_provider_info_and_matches_the_hook() -> None:
    """Airflow 3.2+ reads the form from the provider info; Airflow 2 asks the hook."""
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook

    (connection_type,) = airflow_provider_dataframer.get_provider_info()["connection-types"]
    form = connection_type["ui-field-behaviour"]
    assert connection_type["hook-name"] == "Dataframer"
    assert form["relabeling"] == {"password": "API Key", "host": "Base URL"}
    assert form["placeholders"]["host"] == "https://df-api.dataframer.ai"
    hook_form = DataframerHook.get_ui_field_behaviour()
    assert hook_form["hidden_fields"] == form["hidden-fields"]
    assert hook_form["relabeling"] == form["relabeling"] and hook_form["placeholders"] == form["placeholders"]


def test_conn_fields_reach_the_providers_manager_as_form_widgets() -> None:
    """What ``airflow providers widgets`` lists and the connection form draws, on every Airflow."""
    from airflow.providers_manager import ProvidersManager

    from airflow_provider_dataframer import CONNECTION_EXTRA_FIELDS

    widgets = {
        name.removeprefix("extra__dataframer__"): widget
        for name, widget in ProvidersManager().connection_form_widgets.items()
        if name.startswith("extra__dataframer__")
    }
    declared = {
        "connect_timeout",
        "read_timeout",
        "request_timeout",
        "max_retries",
        "retry_initial_backoff",
        "retry_max_backoff",
        "app_url",
        "extra_headers",
    }
    assert set(widgets) == set(CONNECTION_EXTRA_FIELDS) == declared
    for name, widget in widgets.items():
        assert widget.field_name == name  # stored under its own name in the extra JSON
        assert not widget.is_sensitive
    if not AIRFLOW_V_3_2_PLUS:  # before 3.2: the hook's wtforms fields
        assert widgets["max_retries"].field.field_class.__name__ == "IntegerField"
        assert widgets["connect_timeout"].field.field_class.__name__ == "StringField"
        assert widgets["request_timeout"].field.args == ("Request timeout (s)",)
        return
    for widget in widgets.values():
        assert widget.field["schema"]["title"] and widget.field["description"]
    assert widgets["connect_timeout"].field["value"] == 5.0
    assert widgets["request_timeout"].field["value"] == 120.0
    assert widgets["max_retries"].field["schema"]["type"] == ["integer", "null"]


def test_conn_fields_defaults_are_the_hooks_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each declared default is what the hook uses when the extra is unset: they cannot drift apart."""
    from airflow_provider_dataframer import CONNECTION_EXTRA_FIELDS
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook
    from airflow_provider_dataframer.links import app_url_for_connection

    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_PLAIN", connection_json())
    settings = DataframerHook("dataframer_plain").settings
    used = {
        "connect_timeout": settings.timeout.connect,
        "read_timeout": settings.timeout.read,
        "request_timeout": settings.request_timeout,
        "max_retries": settings.retry.max_retries,
        "retry_initial_backoff": settings.retry.initial_backoff,
        "retry_max_backoff": settings.retry.max_backoff,
        "extra_headers": dict(settings.extra_headers) or None,
        # No app_url: the link derives the app from the base URL (the emulator's, here).
        "app_url": None if app_url_for_connection("dataframer_plain") == settings.base_url else "?",
    }
    defaults = {name: field["schema"]["default"] for name, field in CONNECTION_EXTRA_FIELDS.items()}
    assert defaults == used


def test_the_form_writes_the_same_extra_json_the_hook_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Values typed in the form are read like hand-written extras; emptied fields mean the default."""
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook
    from airflow_provider_dataframer.links import app_url_for_connection

    form_extra = {
        "connect_timeout": 2.5,
        "read_timeout": None,
        "max_retries": 4,
        "retry_initial_backoff": "",
        "retry_max_backoff": None,
        "app_url": "https://app.df.internal",
        "extra_headers": None,
    }
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_FORM", connection_json(**form_extra))
    settings = DataframerHook("dataframer_form").settings
    assert settings.timeout.connect == 2.5 and settings.timeout.read == 60.0
    assert settings.retry.max_retries == 4
    assert (settings.retry.initial_backoff, settings.retry.max_backoff) == (0.5, 8.0)
    assert app_url_for_connection("dataframer_form") == "https://app.df.internal"


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        ({"max_retries": 20}, True),
        ({"max_retries": 21}, False),
        ({"connect_timeout": 0.01}, True),
        ({"connect_timeout": 0}, False),
        ({"retry_max_backoff": 0}, False),
    ],
)
def test_the_forms_bounds_are_the_hooks(
    extra: dict[str, object], accepted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the form lets through (minimum, exclusiveMinimum, maximum), the hook accepts, and no more."""
    from airflow_provider_dataframer import CONNECTION_EXTRA_FIELDS
    from airflow_provider_dataframer.exceptions import DataframerConfigError
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook

    ((name, value),) = extra.items()
    schema = CONNECTION_EXTRA_FIELDS[name]["schema"]
    assert isinstance(value, int | float)
    in_form = (
        value >= schema.get("minimum", float("-inf"))
        and value > schema.get("exclusiveMinimum", float("-inf"))
        and value <= schema.get("maximum", float("inf"))
    )
    assert in_form == accepted
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_BOUNDS", connection_json(**extra))
    if accepted:
        assert DataframerHook("dataframer_bounds").settings is not None
    else:
        with pytest.raises(DataframerConfigError, match=name):
            _ = DataframerHook("dataframer_bounds").settings
