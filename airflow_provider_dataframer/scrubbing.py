"""One scrubber for every message that can reach a user: exceptions, trigger events, logs, Test.

Airflow's secrets masker only covers what passes through its log handlers, and only the exact
text it was given. Exception text also reaches callbacks, alert e-mails, the metadata database (a
trigger's event) and the connection Test result, and a server or a library may echo a secret in
another form: JSON-escaped (a request body quoted in an error), ``repr``-escaped (a header value in
``LocalProtocolError: Illegal header value b'Bearer ...'``) or URL-encoded. :func:`register_secret`
records each form of a value once; :func:`scrub` blanks them all out of a text.

A process may also see a secret it was never told: the triggerer knows the API key but not the
databricks secret that the worker sent when it created the spec. So :func:`scrub` also blanks
what any echo of a credential looks like, whatever its value: a ``Bearer`` token, and the value
of a field named like a secret (``databricks_client_secret``, ``api_key``, ``password``,
``authorization``) in a quoted JSON, escaped JSON or form body.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse

from airflow.providers.common.compat.sdk import mask_secret

REPLACEMENT = "***"

MIN_SECRET_CHARS = 4
"""Shorter values are not scrubbed: blanking every "a" or "ok" out of messages would hide more
than it protects (Airflow's masker has the same floor)."""

CREDENTIAL_FIELD = re.compile(
    r"""(?ix)
    (\\?["']?[a-z_]*(?:secret|api[_-]?key|password|authorization)[a-z_]*\\?["']?\s*[:=]\s*)
    (?:"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|[^\s,;&}]+)
    """
)
"""A credential-named field and its value (quoted, or up to the next separator)."""

BEARER_TOKEN = re.compile(r"(?i)\b(bearer\s+)[a-z0-9._~+/=-]+")
"""An ``Authorization`` header's token."""

_lock = threading.Lock()
_forms: set[str] = set()
_ordered: tuple[str, ...] = ()


def forms_of(secret: str) -> set[str]:
    """The ways ``secret`` may appear in a text: as is, JSON-, repr- and URL-escaped."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode("utf-8", "backslashreplace"))[2:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_CHARS}


def register_secret(secret: str | None) -> None:
    """Scrub ``secret`` (in all its forms) from every later message; also mask it in Airflow's logs."""
    if not secret or len(secret) < MIN_SECRET_CHARS:
        return
    global _ordered
    new = forms_of(secret) - _forms
    if not new:
        return
    with _lock:
        _forms.update(new)
        # Longest first, so that a form containing another is replaced whole.
        _ordered = tuple(sorted(_forms, key=len, reverse=True))
    for form in new:
        mask_secret(form)


def scrub(text: str, extra: tuple[str, ...] | list[str] = ()) -> str:
    """``text`` with every registered secret (and each of ``extra``) blanked out, in any form."""
    forms: tuple[str, ...] = _ordered
    if extra:
        more: set[str] = set()
        for secret in extra:
            if secret and len(secret) >= MIN_SECRET_CHARS:
                more |= forms_of(secret)
        forms = tuple(sorted(set(forms) | more, key=len, reverse=True))
    for form in forms:
        if form in text:
            text = text.replace(form, REPLACEMENT)
    text = BEARER_TOKEN.sub(rf"\g<1>{REPLACEMENT}", text)
    return CREDENTIAL_FIELD.sub(rf"\g<1>{REPLACEMENT}", text)
