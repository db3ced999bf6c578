"""Checks of operator arguments shared by every Dataframer operator and sensor."""

from __future__ import annotations

from typing import Any

from airflow_provider_dataframer.exceptions import DataframerValidationError


def is_unresolved(value: Any) -> bool:
    """Whether ``value`` is only known at run time (a Jinja template or an XComArg)."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    return hasattr(value, "resolve")


def check_wait_arguments(poll_interval: float, timeout: float) -> None:
    """Reject a poll interval or timeout that cannot describe a wait."""
    if not poll_interval > 0:
        raise DataframerValidationError(
            f"poll_interval must be a positive number of seconds, got {poll_interval!r}"
        )
    if not timeout > 0:
        raise DataframerValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
