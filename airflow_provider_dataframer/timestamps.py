"""The API's timestamps, read one way wherever the provider compares them."""

from __future__ import annotations

from datetime import datetime, timezone


def api_time(value: str | None) -> datetime | None:
    """An API timestamp (ISO 8601, ``Z`` or offset; naive means UTC) as an aware UTC datetime; None if unreadable."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
