"""The connection extras' one table: the hook's reading, the wtforms form (Airflow < 3.2), their agreement."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from airflow_provider_dataframer.connection_extras import (
    EXTRA_FIELDS,
    FIELDS,
    InvalidExtraError,
    JsonObjectWidget,
    read_extras,
    set_extras,
)
from airflow_provider_dataframer.exceptions import DataframerConfigError
from airflow_provider_dataframer.hooks.dataframer import ConnectionSettings, DataframerHook
from tests.conftest import connection_json

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_dataframer"
# A value other than the default for every extra, and where the hook's settings show it.
needs_wtforms = pytest.mark.skipif(
    importlib.util.find_spec("wtforms") is None or importlib.util.find_spec("flask_appbuilder") is None,
    reason="wtforms and Flask-AppBuilder are not installed (Airflow 2 and the FAB provider bring them)",
)
NON_DEFAULTS: dict[str, Any] = {
    "connect_timeout": 1.5,
    "read_timeout": 7.0,
    "request_timeout": 33.0,
    "max_retries": 5,
    "retry_initial_backoff": 0.25,
    "retry_max_backoff": 3.0,
    "app_url": "https://app.df.internal",
    "extra_headers": {"X-Team": "ml"},
}


def settings_of(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> ConnectionSettings:
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_EXTRAS", connection_json(**extra))
    return DataframerHook("dataframer_extras").settings


def shown(settings: ConnectionSettings) -> dict[str, Any]:
    return {
        "connect_timeout": settings.timeout.connect,
        "read_timeout": settings.timeout.read,
        "request_timeout": settings.request_timeout,
        "max_retries": settings.retry.max_retries,
        "retry_initial_backoff": settings.retry.initial_backoff,
        "retry_max_backoff": settings.retry.max_backoff,
        "extra_headers": dict(settings.extra_headers),
    }


def test_every_declared_extra_is_read_by_the_hook_or_the_links(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dataframer.links import APP_URL_EXTRA, app_url_for_connection

    assert set(NON_DEFAULTS) == set(FIELDS)
    settings = settings_of(monkeypatch, **NON_DEFAULTS)
    assert shown(settings) == {name: value for name, value in NON_DEFAULTS.items() if name != "app_url"}
    assert APP_URL_EXTRA == "app_url"
    assert app_url_for_connection("dataframer_extras") == NON_DEFAULTS["app_url"]


def extra_keys_read_in(path: Path) -> set[str]:
    """String keys read from a variable named ``extra``: ``extra["x"]`` and ``extra.get("x")``."""
    keys: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == "extra"
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys.add(node.slice.value)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "extra"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.add(node.args[0].value)
    return keys


def test_the_hook_reads_no_extra_the_form_does_not_declare() -> None:
    read = extra_keys_read_in(PACKAGE / "hooks" / "dataframer.py") | extra_keys_read_in(PACKAGE / "links.py")
    assert read, "the scan found no extra read at all: it no longer matches the hook's code"
    assert read <= set(FIELDS), f"extras read but not in the form: {sorted(read - set(FIELDS))}"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"request_timeout": 0},
            "extra 'request_timeout' must be a finite positive number of seconds, got 0",
        ),
        ({"request_timeout": "soon"}, "extra 'request_timeout' must be a finite positive number"),
        ({"read_timeout": float("inf")}, "extra 'read_timeout' must be a finite positive number"),
        ({"max_retries": 2.5}, "extra 'max_retries' must be a whole number from 0 to 20"),
        ({"max_retries": True}, "extra 'max_retries' must be a whole number from 0 to 20"),
        ({"app_url": 3}, "extra 'app_url' must be a string"),
        ({"extra_headers": ["X-Team"]}, "extra 'extra_headers' must be an object of header names"),
        (
            {"extra_headers": {"Authorization": "Bearer x"}},
            "extra 'extra_headers' cannot set header 'Authorization'",
        ),
        (
            {"extra_headers": {"X Team": "ml"}},
            "extra 'extra_headers' has a header name 'X Team' with whitespace",
        ),
    ],
)
def test_an_unusable_extra_is_refused_naming_it_before_any_request(
    extra: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataframerConfigError, match="^Connection 'dataframer_extras': " + message):
        settings_of(monkeypatch, **extra)


def test_a_header_value_is_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataframerConfigError) as raised:
        settings_of(monkeypatch, extra_headers={"X-Gateway-Token": "tok-secret\nsecond-line"})
    assert "tok-secret" not in str(raised.value) and "X-Gateway-Token" in str(raised.value)
    with pytest.raises(DataframerConfigError) as raised:
        settings_of(monkeypatch, extra_headers='{"X-Gateway-Token": "tok-secret"')  # unterminated
    assert "tok-secret" not in str(raised.value) and "is not valid JSON" in str(raised.value)


def test_values_as_text_boxes_store_them_are_read_like_typed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow 2's form and 3.0/3.1's UI store what was typed in a text box as a string."""
    as_text = {
        name: json.dumps(value) if isinstance(value, dict) else str(value)
        for name, value in NON_DEFAULTS.items()
    }
    assert shown(settings_of(monkeypatch, **as_text)) == shown(settings_of(monkeypatch, **NON_DEFAULTS))


def test_prefixed_keys_of_older_forms_are_read_and_the_plain_name_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_of(
        monkeypatch,
        extra__dataframer__request_timeout="45",
        extra__dataframer__max_retries=7,
        max_retries=1,
        extra__dataframer__read_timeout="",  # emptied: the default
    )
    assert settings.request_timeout == 45.0
    assert settings.retry.max_retries == 1
    assert settings.timeout.read == FIELDS["read_timeout"].default
    assert set_extras({"extra__dataframer__app_url": "https://a", "extra__other__x": 1}) == {
        "app_url": "https://a",
        "extra__other__x": 1,
    }


def test_read_extras_gives_every_default_for_an_empty_connection() -> None:
    assert read_extras(None) == {field.name: field.default for field in EXTRA_FIELDS}
    with pytest.raises(InvalidExtraError, match="retry_max_backoff"):
        read_extras({"retry_max_backoff": -1})


# The form of Airflow before 3.2: the hook's wtforms fields.


def form_for(data: dict[str, str]) -> Any:
    """A wtforms form of the hook's fields, submitted with ``data`` (names without prefix)."""
    from werkzeug.datastructures import MultiDict
    from wtforms import Form

    form_class = type("DataframerExtrasForm", (Form,), DataframerHook.get_connection_form_widgets())
    return form_class(formdata=MultiDict(data))


@needs_wtforms
def test_the_form_widgets_are_built_from_the_table_with_fields_airflow_2_accepts() -> None:
    from wtforms import BooleanField, IntegerField, PasswordField, StringField

    widgets = DataframerHook.get_connection_form_widgets()
    assert list(widgets) == [field.name for field in EXTRA_FIELDS]
    for name, widget in widgets.items():
        assert widget.field_class in (IntegerField, PasswordField, StringField, BooleanField)
        assert widget.args == (FIELDS[name].label,)
        assert widget.kwargs["description"] == FIELDS[name].description
        assert set(widget.kwargs) <= {"validators", "description", "widget"}  # what 3.0/3.1 stand-ins take


@needs_wtforms
def test_the_form_refuses_what_the_hook_would_refuse_and_keeps_what_it_reads() -> None:
    typed = {
        "connect_timeout": "2.5",
        "read_timeout": "",
        "request_timeout": "90",
        "max_retries": "4",
        "retry_initial_backoff": "",
        "retry_max_backoff": "",
        "app_url": "",
        "extra_headers": '{"X-Team": "ml"}',
    }
    form = form_for(typed)
    assert form.validate(), form.errors
    saved = {name: form.data[name] for name in typed}
    values = read_extras(saved)
    assert values["connect_timeout"] == 2.5 and values["request_timeout"] == 90.0
    assert values["max_retries"] == 4 and values["read_timeout"] == 60.0
    assert values["extra_headers"] == (("X-Team", "ml"),)

    bad = form_for({**typed, "request_timeout": "0", "max_retries": "21", "extra_headers": "{oops"})
    assert not bad.validate()
    assert bad.errors["request_timeout"] == [
        "extra 'request_timeout' must be a finite positive number of seconds, got '0'."
    ]
    assert "from 0 to 20" in bad.errors["max_retries"][0]
    assert "is not valid JSON" in bad.errors["extra_headers"][0]
    assert set(bad.errors) == {"request_timeout", "max_retries", "extra_headers"}


@needs_wtforms
def test_a_stored_headers_object_is_shown_as_json_in_the_form() -> None:
    """Airflow 2 puts a stored extra into its field as is; a dict must come back as JSON, not repr."""
    form = form_for({})
    form.extra_headers.data = {"X-Team": "ml"}
    html = str(form.extra_headers())
    assert 'value="{&#34;X-Team&#34;: &#34;ml&#34;}"' in html, html
    form.extra_headers.data = '{"X-Team": "ml"}'
    assert str(form.extra_headers()) == html
    assert isinstance(form.extra_headers.widget, JsonObjectWidget)


def test_airflow_3_0_and_3_1_can_describe_the_form_without_flask_appbuilder() -> None:
    """Their UI swaps wtforms and Flask-AppBuilder for stand-ins (HookMetaService) and reads their params."""
    services = "airflow.api_fastapi.core_api.services.ui.connections"
    if importlib.util.find_spec("airflow.api_fastapi") is None:
        pytest.skip("Airflow 2 has no HookMetaService (its UI uses the real wtforms fields)")
    service = importlib.import_module(services).HookMetaService
    if not hasattr(service, "MockStringField"):
        pytest.skip("this Airflow's HookMetaService has no wtforms stand-ins")
    stand_ins = {name: mock.MagicMock() for name in ("wtforms", "wtforms.validators", "flask_appbuilder")}
    stand_ins["flask_appbuilder.fieldwidgets"] = mock.MagicMock(BS3TextFieldWidget=service.MockAnyWidget)
    stand_ins["wtforms"].StringField = service.MockStringField
    stand_ins["wtforms"].IntegerField = service.MockIntegerField
    stand_ins["wtforms.validators"].Optional = service.MockOptional
    with mock.patch.dict(sys.modules, stand_ins):
        widgets = DataframerHook.get_connection_form_widgets()
    params = {name: widget.param.dump() for name, widget in widgets.items()}
    assert list(params) == [field.name for field in EXTRA_FIELDS]
    assert params["request_timeout"]["schema"]["title"] == "Request timeout (s)"
    assert params["request_timeout"]["description"] == FIELDS["request_timeout"].description
    assert params["max_retries"]["schema"]["type"] == ["integer", "null"]
    assert params["extra_headers"]["schema"]["type"] == ["string", "null"]


@pytest.mark.skipif(
    importlib.util.find_spec("airflow.www") is None,
    reason="Airflow 2's connection view (airflow.www) only; Airflow 3.2+ draws the form from conn-fields",
)
def test_airflow_2_connection_view_saves_and_prefills_the_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real Airflow 2 view: the JSON it stores is read by the hook, and a stored extra comes back."""
    from airflow.www.forms import create_connection_form_class
    from airflow.www.views import ConnectionModelView
    from flask import Flask
    from werkzeug.datastructures import MultiDict

    prefix = "extra__dataframer__"
    view = ConnectionModelView.__new__(ConnectionModelView)  # process_form/prefill_form need no app state
    app = Flask(__name__)
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context():
        form_class = create_connection_form_class()
        # A browser submits every field of the form, an empty one as "".
        submitted = {
            "conn_id": "dataframer_form",
            "conn_type": "dataframer",
            "host": "http://127.0.0.1:1",
            "extra": "",
            **{f"{prefix}{field.name}": "" for field in EXTRA_FIELDS},
            f"{prefix}connect_timeout": "2.5",
            f"{prefix}request_timeout": "90",
            f"{prefix}app_url": "https://app.df.internal",
            f"{prefix}extra_headers": '{"X-Team": "ml"}',
        }
        form = form_class(formdata=MultiDict(submitted))
        assert form.validate(), form.errors
        ConnectionModelView.process_form(view, form, True)
        stored = json.loads(form.extra.data)
        # Plain names, as hand-written; an emptied integer field is stored as null.
        assert stored == {
            "connect_timeout": "2.5",
            "request_timeout": "90",
            "max_retries": None,
            "app_url": "https://app.df.internal",
            "extra_headers": '{"X-Team": "ml"}',
        }
        settings = settings_of(monkeypatch, **stored)
        assert (settings.timeout.connect, settings.request_timeout) == (2.5, 90.0)
        assert settings.retry.max_retries == FIELDS["max_retries"].default
        assert settings.extra_headers == (("X-Team", "ml"),)

        hand_written = {"request_timeout": 30, "extra_headers": {"X-Team": "ml"}}
        edit = form_class(formdata=MultiDict({"conn_id": "dataframer_form", "conn_type": "dataframer"}))
        edit.extra.data = json.dumps(hand_written)
        ConnectionModelView.prefill_form(view, edit, 1)
        assert edit[f"{prefix}request_timeout"].data == 30
        assert 'value="{&#34;X-Team&#34;: &#34;ml&#34;}"' in str(edit[f"{prefix}extra_headers"]())
