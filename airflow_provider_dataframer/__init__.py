"""Apache Airflow provider for Dataframer: specs, generation runs and the data they produce."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataframer.connection_extras import EXTRA_FIELDS

__version__ = "0.1.0"

DEFAULT_CONN_ID = "dataframer_default"
"""The Airflow connection id used when none is given (``DataframerHook.default_conn_name``)."""

# The connection form. Airflow 3.2+ builds it from the provider info without importing the hook;
# Airflow 2 asks DataframerHook.get_ui_field_behaviour(), which returns the same thing.
CONNECTION_FORM: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"password": "API Key", "host": "Base URL"},
    "placeholders": {
        "host": "https://df-api.dataframer.ai",
        "password": "Dataframer API key (empty: use $DATAFRAMER_API_KEY)",
        "extra": '{"connect_timeout": 5, "read_timeout": 60, "max_retries": 2}',
    },
}

# The connection extras as form fields (Airflow 3.2+ reads ``conn-fields``; older versions ask
# DataframerHook.get_connection_form_widgets(), built from the same table). Each is stored in the
# connection's extra JSON under its own name, exactly as a hand-written extra, so the hook reads
# the same JSON whichever way it was written. The defaults are the hook's.
CONNECTION_EXTRA_FIELDS: dict[str, Any] = {field.name: field.conn_field() for field in EXTRA_FIELDS}

ASSET_URIS: dict[str, Any] = {
    "schemes": ["dataframer"],
    "handler": "airflow_provider_dataframer.assets.sanitize_uri",
    "to_openlineage_converter": "airflow_provider_dataframer.assets.convert_asset_to_openlineage",
    "factory": "airflow_provider_dataframer.assets.create_asset",
}


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow (the ``apache_airflow_provider`` entry point)."""
    return {
        "package-name": "airflow-provider-dataframer",
        "name": "Dataframer",
        "description": "Create Dataframer specs from seed data or objectives and generate synthetic data.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Dataframer",
                "external-doc-url": "https://docs.dataframer.ai",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Dataframer",
                "python-modules": ["airflow_provider_dataframer.hooks.dataframer"],
            }
        ],
        "operators": [
            {
                "integration-name": "Dataframer",
                "python-modules": [
                    "airflow_provider_dataframer.operators.spec",
                    "airflow_provider_dataframer.operators.run",
                    "airflow_provider_dataframer.operators.dataset",
                    "airflow_provider_dataframer.operators.evaluation",
                    "airflow_provider_dataframer.operators.anonymization",
                    "airflow_provider_dataframer.operators.red_team",
                    "airflow_provider_dataframer.operators.file_download",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Dataframer",
                "python-modules": [
                    "airflow_provider_dataframer.sensors.spec",
                    "airflow_provider_dataframer.sensors.run",
                    "airflow_provider_dataframer.sensors.evaluation",
                    "airflow_provider_dataframer.sensors.anonymization",
                    "airflow_provider_dataframer.sensors.red_team",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "Dataframer",
                "python-modules": [
                    "airflow_provider_dataframer.triggers.spec",
                    "airflow_provider_dataframer.triggers.run",
                    "airflow_provider_dataframer.triggers.evaluation",
                    "airflow_provider_dataframer.triggers.anonymization",
                    "airflow_provider_dataframer.triggers.red_team",
                    "airflow_provider_dataframer.triggers.run_finished",
                ],
            }
        ],
        # Airflow 3 reads asset-uris, Airflow 2 dataset-uris: the dataframer:// scheme's rules.
        "asset-uris": [ASSET_URIS],
        "dataset-uris": [ASSET_URIS],
        "extra-links": [
            "airflow_provider_dataframer.links.DataframerSpecLink",
            "airflow_provider_dataframer.links.DataframerRunLink",
            "airflow_provider_dataframer.links.DataframerEvaluationLink",
            "airflow_provider_dataframer.links.DataframerAnonymizationLink",
            "airflow_provider_dataframer.links.DataframerRedTeamSpecLink",
            "airflow_provider_dataframer.links.DataframerRedTeamRunLink",
        ],
        "connection-types": [
            {
                "connection-type": "dataframer",
                "hook-class-name": "airflow_provider_dataframer.hooks.dataframer.DataframerHook",
                "hook-name": "Dataframer",
                "ui-field-behaviour": CONNECTION_FORM,
                "conn-fields": CONNECTION_EXTRA_FIELDS,
            }
        ],
    }
