"""
The extras of a Dataframer connection: one table read by the hook and by both connection forms.

Airflow 3.2+ draws the form from the provider info's ``conn-fields`` (:meth:`ExtraField.conn_field`);
Airflow 2.11, 3.0 and 3.1 from the hook's ``get_connection_form_widgets``
(:meth:`ExtraField.form_widget`). Both store each extra under its own name in the connection's
extra JSON, as a hand-written extra; only the value's JSON type may differ (a number typed in a
text box is stored as a string). An emptied field is stored as ``null`` or ``""`` and means "the
default". Older forms stored ``extra__dataframer__<name>``: that key is read too.

This module is imported with the provider info, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

CONN_TYPE = "dataframer"
PREFIX = f"extra__{CONN_TYPE}__"
"""How Airflow's forms before 2.3 (and the form widgets' internal ids) prefix an extra's name."""

DEFAULT_REQUEST_TIMEOUT = 120.0
"""Seconds one request may take in all when the connection sets no ``request_timeout``."""

ExtraKind = Literal["seconds", "count", "text", "headers"]


class InvalidExtraError(ValueError):
    """An extra holds a value the hook cannot use; the message names the extra and what it takes."""


def is_unset(value: Any) -> bool:
    """``None`` and blank strings: what a form stores for a field left empty."""
    return value is None or (isinstance(value, str) and not value.strip())


HEADERS_EXAMPLE = 'e.g. {"X-Team": "data"}'


def _header_problem(name: Any, value: Any) -> str | None:
    """What is wrong with one header (its value is never quoted: it may be a credential)."""
    if not isinstance(name, str) or not isinstance(value, str):
        return f"must be an object of header names to string values, {HEADERS_EXAMPLE}"
    if name.lower() == "authorization":
        return f"cannot set header {name!r} (the API key sets Authorization)"
    if not name or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return f"has a header name {name!r} with whitespace or control characters"
    if "\n" in value or "\r" in value:
        return f"has a header {name!r} whose value (not shown) spans lines: make it one line"
    return None


@dataclass(frozen=True)
class ExtraField:
    """
    One connection extra: its form field, its default and the rule its value follows.

    :param name: the key in the connection's extra JSON.
    :param label: the form field's label.
    :param description: the form field's help text (says the default).
    :param kind: ``seconds`` (a finite number > 0), ``count`` (a whole number from 0 to
        ``maximum``), ``text`` (a string) or ``headers`` (an object of header names to strings,
        or that object as JSON text, as a text box stores it).
    :param default: the value the hook uses when the extra is unset.
    :param maximum: the largest ``count`` allowed.
    """

    name: str
    label: str
    description: str
    kind: ExtraKind
    default: float | int | None = None
    maximum: int | None = None

    def parse(self, value: Any) -> Any:
        """The value the hook uses for a set ``value``; :class:`InvalidExtraError` when it is unusable."""
        if self.kind == "seconds":
            try:
                seconds = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                seconds = math.nan
            if not (math.isfinite(seconds) and seconds > 0):
                raise self._invalid(f"must be a finite positive number of seconds, got {value!r}.")
            return seconds
        if self.kind == "count":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            maximum = self.maximum if self.maximum is not None else math.inf
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
                raise self._invalid(f"must be a whole number from 0 to {self.maximum}, got {value!r}.")
            return value
        if self.kind == "text":
            if not isinstance(value, str):
                raise self._invalid(f"must be a string, got {value!r}.")
            return value.strip()
        return self._headers(value)

    def _headers(self, value: Any) -> tuple[tuple[str, str], ...]:
        if isinstance(value, str):  # a text box stores the object as JSON text
            try:
                value = json.loads(value)
            except ValueError:
                raise self._invalid(f"is not valid JSON: write an object, {HEADERS_EXAMPLE}.") from None
        if not isinstance(value, Mapping):
            raise self._invalid(f"must be an object of header names to string values, {HEADERS_EXAMPLE}.")
        for name, header in value.items():
            problem = _header_problem(name, header)
            if problem:
                raise self._invalid(f"{problem}.")
        return tuple(sorted(value.items()))

    def _invalid(self, problem: str) -> InvalidExtraError:
        return InvalidExtraError(f"extra {self.name!r} {problem}")

    def value_in(self, extra: Mapping[str, Any]) -> Any:
        """This extra's value in ``extra`` (as returned by :func:`set_extras`), or its default."""
        value = extra.get(self.name)
        return self.default if is_unset(value) else self.parse(value)

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of the value (``null``: unset, the default applies)."""
        if self.kind == "seconds":
            return {"type": ["number", "null"], "default": self.default, "exclusiveMinimum": 0}
        if self.kind == "count":
            return {
                "type": ["integer", "null"],
                "default": self.default,
                "minimum": 0,
                "maximum": self.maximum,
            }
        if self.kind == "text":
            return {"type": ["string", "null"], "default": self.default}
        return {"type": ["object", "null"], "default": self.default}

    def conn_field(self) -> dict[str, Any]:
        """The ``conn-fields`` entry of the provider info (read by Airflow 3.2+)."""
        return {"label": self.label, "description": self.description, "schema": self.json_schema()}

    def form_widget(self) -> Any:
        """
        The wtforms field of the form of Airflow before 3.2 (from the hook's ``get_connection_form_widgets``).

        Only the field classes, arguments and widgets Airflow 2.11 accepts, and that Airflow 3.0
        and 3.1 can describe to their UI without Flask-AppBuilder (they replace these imports with
        stand-ins taking label, validators, description, default and widget).
        """
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from wtforms import IntegerField, StringField
        from wtforms.validators import Optional

        field_class = IntegerField if self.kind == "count" else StringField
        widget = JsonObjectWidget() if self.kind == "headers" else BS3TextFieldWidget()
        return field_class(
            self.label,
            validators=[Optional(), self.form_validator()],
            description=self.description,
            widget=widget,
        )

    def form_validator(self) -> Callable[[Any, Any], None]:
        """A wtforms validator that refuses in the form what the hook would refuse in the task."""

        def validate(form: Any, field: Any) -> None:
            if is_unset(field.data):
                return
            try:
                self.parse(field.data)
            except InvalidExtraError as exc:
                from wtforms.validators import ValidationError

                raise ValidationError(str(exc)) from None

        return validate


class JsonObjectWidget:
    """
    A text input that shows an object as JSON.

    Airflow 2's form puts a stored extra into the field as it is: a ``dict`` would be shown (and
    saved back) as its Python ``repr``, which is not JSON.
    """

    def __call__(self, field: Any, **kwargs: Any) -> Any:
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget

        if isinstance(field.data, Mapping):
            kwargs.setdefault("value", json.dumps(field.data))
        return BS3TextFieldWidget()(field, **kwargs)


EXTRA_FIELDS: tuple[ExtraField, ...] = (
    ExtraField(
        "connect_timeout",
        "Connect timeout (s)",
        "Seconds to wait for a TCP/TLS connection to the API. Default 5.",
        "seconds",
        5.0,
    ),
    ExtraField(
        "read_timeout",
        "Read timeout (s)",
        "Seconds to wait for an answer to a request (also write and pool). Default 60.",
        "seconds",
        60.0,
    ),
    ExtraField(
        "request_timeout",
        "Request timeout (s)",
        "The most seconds one request may take in all, its answer included, however slowly the "
        "answer trickles in. Default 120.",
        "seconds",
        DEFAULT_REQUEST_TIMEOUT,
    ),
    ExtraField(
        "max_retries",
        "Max retries",
        "Retries of a request after a connection error, a timeout, 408, 409, 429 or 5xx (never other "
        "4xx; a create whose answer was lost is looked up, not resent). 0 to 20; default 2.",
        "count",
        2,
        maximum=20,
    ),
    ExtraField(
        "retry_initial_backoff",
        "Retry initial backoff (s)",
        "First wait before a retry, doubled (jittered) each time; Retry-After wins. Default 0.5.",
        "seconds",
        0.5,
    ),
    ExtraField(
        "retry_max_backoff",
        "Retry max backoff (s)",
        "Longest wait between two retries. Default 8.",
        "seconds",
        8.0,
    ),
    ExtraField(
        "app_url",
        "App URL",
        "The Dataframer app's address, for the task page's 'Dataframer Spec' and 'Dataframer Run' "
        "links. Empty: derived from the Base URL (df-api.dataframer.ai -> app.dataframer.ai).",
        "text",
    ),
    ExtraField(
        "extra_headers",
        "Extra headers",
        'HTTP headers added to every API request, as a JSON object, e.g. {"X-Team": "ml"}. Values are '
        "strings; Authorization cannot be set here (it is always the API key).",
        "headers",
    ),
)
FIELDS: dict[str, ExtraField] = {extra.name: extra for extra in EXTRA_FIELDS}


def set_extras(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    The extras that hold a value, each under its own name.

    ``None`` and blank strings are left out (an emptied form field means the default). A key
    ``extra__dataframer__<name>`` (older forms) counts as ``<name>`` unless that is set too.

    :param extra: the connection's ``extra_dejson``.
    """
    found: dict[str, Any] = {}
    prefixed: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if is_unset(value):
            continue
        if key.startswith(PREFIX):
            prefixed[key[len(PREFIX) :]] = value
        else:
            found[key] = value
    return {**prefixed, **found}


def read_extras(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    Every declared extra's value: parsed when set, its default otherwise.

    :param extra: the connection's ``extra_dejson``.
    :raises InvalidExtraError: an extra holds a value the hook cannot use.
    """
    values = set_extras(extra)
    return {field.name: field.value_in(values) for field in EXTRA_FIELDS}


def form_widgets() -> dict[str, Any]:
    """The wtforms fields of every extra, by name (the hook's ``get_connection_form_widgets``)."""
    return {field.name: field.form_widget() for field in EXTRA_FIELDS}
