"""Which URL scheme a Dataframer connection means when its host names none.

A connection's host is either a full URL (``http://127.0.0.1:8000``) or a bare host name that the
schema field completes. In the URI form (``dataframer://:KEY@127.0.0.1:8000``) Airflow puts the
URI's path into the schema field, so the scheme is usually not given at all. The rule:

1. the scheme written in the host (``http://...``, ``https://...``) wins;
2. else the connection's schema field, which must be ``http`` or ``https``;
3. else ``http`` for a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``: an emulator or a
   tunnel on this machine, which rarely speaks TLS), and ``https`` for every other host.
"""

from __future__ import annotations

import ipaddress

from airflow_provider_dataframer.exceptions import DataframerConfigError

SCHEMES = ("http", "https")
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def hostname_of(host: str) -> str:
    """The host name of a bare ``host``, ``host:port``, ``[v6]:port`` or ``v6`` address, lower-cased."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:  # name:port; several colons are an IPv6 address without brackets
        return host.partition(":")[0]
    return host


def is_loopback(host: str) -> bool:
    """Whether a bare host (with or without a port) is this machine's loopback interface."""
    name = hostname_of(host)
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def scheme_for(host: str, schema: str | None) -> str:
    """
    The URL scheme for a connection host given without one.

    :param host: the connection's host, without ``scheme://``, e.g. ``127.0.0.1:8000``.
    :param schema: the connection's schema field; empty when not set.
    :raises DataframerConfigError: when the schema field is neither ``http`` nor ``https``.
    """
    if schema and schema.strip():
        scheme = schema.strip().lower()
        if scheme not in SCHEMES:
            raise DataframerConfigError(
                f"The Dataframer connection's schema field is {schema!r}; it must be 'http' or "
                "'https' (in the URI form it is the path: dataframer://:KEY@host:port/https), or "
                "empty to use https (http for a loopback host). Or give the host as a full URL."
            )
        return scheme
    return "http" if is_loopback(host) else "https"


def with_scheme(host: str, schema: str | None) -> str:
    """
    A bare connection host as a URL: ``127.0.0.1:8000`` -> ``http://127.0.0.1:8000``.

    A bare IPv6 address gets its brackets (``::1`` -> ``http://[::1]``).

    :param host: the connection's host, without ``scheme://``.
    :param schema: the connection's schema field; empty when not set.
    """
    host = host.strip()
    authority = f"[{host}]" if host.count(":") > 1 and not host.startswith("[") else host
    return f"{scheme_for(host, schema)}://{authority}"
