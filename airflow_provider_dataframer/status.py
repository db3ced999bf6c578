"""What a status means to a waiter: still working, a success or a failure."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Phase(str, enum.Enum):
    """Where a status stands for a waiter."""

    WORKING = "working"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class StatusRules:
    """
    The statuses of one kind of object and what each means (compared case-insensitively).

    :param success: statuses that end the wait successfully.
    :param failure: statuses that end the wait with a failure.
    :param working: statuses known to mean "still working"; any other status is unknown: it is
        logged as such and waited through (the service may add statuses before we know them).
    """

    success: frozenset[str]
    failure: frozenset[str]
    working: frozenset[str]

    def phase(self, status: str) -> Phase:
        """Whether ``status`` is still working, a success or a failure."""
        normalized = status.upper()
        if normalized in self.success:
            return Phase.SUCCEEDED
        if normalized in self.failure:
            return Phase.FAILED
        return Phase.WORKING

    def is_known(self, status: str) -> bool:
        """Whether ``status`` is documented for this kind."""
        normalized = status.upper()
        return normalized in self.success or normalized in self.failure or normalized in self.working
