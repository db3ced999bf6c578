from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import airflow_provider_dataframer


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
