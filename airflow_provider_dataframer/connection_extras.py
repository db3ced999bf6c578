"""The extras of a Dataframer connection as the hook reads them, however they were written.

The connection form (``conn-fields``) stores each extra under its own name in the extra JSON, as a
hand-written extra does; a field left empty in the form is stored as ``null`` (or ``""``). An
empty field means "the default", so it is dropped here rather than read as a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def set_extras(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """The extras that hold a value: ``None`` and blank strings are left out.

    :param extra: the connection's ``extra_dejson``.
    """
    return {
        name: value
        for name, value in (extra or {}).items()
        if value is not None and not (isinstance(value, str) and not value.strip())
    }
