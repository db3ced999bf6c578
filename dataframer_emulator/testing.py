"""
Pytest fixtures serving the emulator on loopback with fast lifecycles.

Use them from a ``conftest.py``::

    from dataframer_emulator.testing import dataframer_emulator, dataframer_emulator_factory

or register the module as a plugin in the root ``conftest.py``::

    pytest_plugins = ["dataframer_emulator.testing"]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dataframer_emulator.config import FAST_TIMINGS, EmulatorConfig
from dataframer_emulator.server import EmulatorServer

EmulatorFactory = Callable[..., EmulatorServer]


@pytest.fixture
def dataframer_emulator_factory() -> Iterator[EmulatorFactory]:
    """
    Start emulators with custom configurations: ``factory(**EmulatorConfig fields)``.

    Fast timings (``FAST_TIMINGS``) apply unless overridden; every server is stopped at teardown.
    """
    servers: list[EmulatorServer] = []

    def factory(**config: Any) -> EmulatorServer:
        server = EmulatorServer(EmulatorConfig(**{**FAST_TIMINGS, **config}))
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def dataframer_emulator(dataframer_emulator_factory: EmulatorFactory) -> EmulatorServer:
    """A started emulator with fast timings, in-memory state and any API key accepted."""
    return dataframer_emulator_factory()
