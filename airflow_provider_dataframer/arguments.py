"""Checks of operator arguments shared by every Dataframer operator and sensor."""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_dataframer.exceptions import DataframerValidationError


def is_template(value: Any) -> bool:
    """
    Whether a value given at construction is only known at run time (a Jinja template, an XComArg).

    For checks at construction only: once rendered, a value is data, whatever it contains (a
    ``generation_objectives`` may well say "Emails that greet {{first_name}}").
    """
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    return hasattr(value, "resolve")


DEFAULT_TIMEOUT = 24 * 3600.0
"""Seconds a spec or run operator waits for a terminal status by default."""

DEFAULT_JOB_TIMEOUT = 6 * 3600.0
"""Seconds an evaluation, anonymization or red-team operator waits by default."""


def check_seconds(field: str, value: Any) -> float:
    """``value`` as seconds if it is a finite positive number (not a string, not a bool); else a clear error."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise DataframerValidationError(
            f"{field} must be a positive number of seconds, got {value!r}: pass a finite number "
            f"such as 30 (not a string, not inf or nan)."
        )
    return float(value)


def check_wait_arguments(poll_interval: float, timeout: float) -> None:
    """Reject a poll interval or timeout that cannot describe a wait (checked at construction)."""
    check_seconds("poll_interval", poll_interval)
    check_seconds("timeout", timeout)
