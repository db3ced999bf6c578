"""The scheme rule of a connection host given without one, alone and through the hook."""

from __future__ import annotations

import pytest

from airflow_provider_dataframer.connection_url import is_loopback, scheme_for
from airflow_provider_dataframer.exceptions import DataframerConfigError
from airflow_provider_dataframer.hooks.dataframer import DataframerHook, base_url_from


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.0.0.1:8000",
        "127.1.2.3",
        "localhost",
        "LOCALHOST:8000",
        "::1",
        "[::1]:8000",
        "api.localhost",
    ],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    assert scheme_for(host, None) == "http"


@pytest.mark.parametrize(
    "host",
    ["df-api.dataframer.ai", "10.0.0.5:8000", "[2001:db8::1]:443", "2001:db8::1", "localhost.example.com"],
)
def test_other_hosts_are_https(host: str) -> None:
    assert not is_loopback(host)
    assert scheme_for(host, "") == "https"


def test_the_schema_field_wins_over_the_loopback_rule() -> None:
    assert scheme_for("127.0.0.1", "https") == "https"
    assert scheme_for("df.internal", " HTTP ") == "http"


def test_a_schema_that_is_no_scheme_is_refused_with_the_fix() -> None:
    with pytest.raises(DataframerConfigError, match=r"schema field is 'api'.*'http' or 'https'"):
        scheme_for("df.internal", "api")


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("127.0.0.1", None, 8000, "http://127.0.0.1:8000"),
        ("localhost", "", None, "http://localhost"),
        ("::1", None, 8000, "http://[::1]:8000"),
        ("127.0.0.1", "https", 8443, "https://127.0.0.1:8443"),
        ("https://127.0.0.1:8443", None, None, "https://127.0.0.1:8443"),
        ("df.internal.example", None, None, "https://df.internal.example"),
    ],
)
def test_base_url_applies_the_rule(host: str, schema: str | None, port: int | None, expected: str) -> None:
    assert base_url_from(host, schema, port) == expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("dataframer://:any-key@127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("dataframer://:any-key@localhost:8000", "http://localhost:8000"),
        ("dataframer://:any-key@127.0.0.1:8443/https", "https://127.0.0.1:8443"),
        ("dataframer://:any-key@df.internal.example", "https://df.internal.example"),
        ("dataframer://:any-key@http%3A%2F%2Fdf.internal.example%3A8080", "http://df.internal.example:8080"),
    ],
)
def test_the_connection_uri_form(uri: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What Airflow itself makes of an ``AIRFLOW_CONN_*`` URI, read by the hook."""
    monkeypatch.setenv("AIRFLOW_CONN_DATAFRAMER_URI", uri)
    assert DataframerHook("dataframer_uri").settings.base_url == expected
