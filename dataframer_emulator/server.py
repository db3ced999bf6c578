"""Run the emulator in a background thread of the current process, e.g. for tests."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from dataframer_emulator.app import EmulatorApp, create_app
from dataframer_emulator.config import EmulatorConfig
from dataframer_emulator.faults import FaultRule, RequestRecord, install_log_filter
from dataframer_emulator.service import EmulatorService


class EmulatorServer:
    """
    A Dataframer emulator served by uvicorn on a background thread.

    ``start()`` binds a free port unless one is given, and a restarted server keeps its port.
    State lives in memory unless ``config.state_path`` names a SQLite file; each ``start()``
    opens the state afresh, so with a state file a stop/start behaves like a process restart.

    .. code-block:: python

        with EmulatorServer(EmulatorConfig(spec_seconds=0.2)) as server:
            httpx.get(f"{server.url}/api/dataframer/specs/", headers={"Authorization": f"Bearer {server.api_key}"})

    :param config: the emulator configuration.
    :param host: interface to listen on.
    :param port: port to listen on; 0 picks a free one.
    """

    #: The key clients are given when the server accepts any key.
    DEFAULT_API_KEY = "emulator-api-key"

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host = host
        self.port = port
        self._app: EmulatorApp | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        """An API key the server accepts."""
        return self.config.api_key or self.DEFAULT_API_KEY

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of an accepted key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    @property
    def app(self) -> EmulatorApp:
        """The running application."""
        if self._app is None:
            raise RuntimeError("The emulator is not running; call start() first.")
        return self._app

    @property
    def service(self) -> EmulatorService:
        """The emulated Dataframer behind the HTTP layer."""
        return self.app.service

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Start serving; return once requests are accepted."""
        if self.running:
            return self
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._app = create_app(self.config)
        uvicorn_config = uvicorn.Config(
            self._app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        install_log_filter()
        self._server = uvicorn.Server(uvicorn_config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"dataframer-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError(f"The Dataframer emulator did not start on {self.url}.")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the state (a later ``start()`` reopens it)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._app is not None:
            self._app.close()
        self._server = self._thread = self._app = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults and request log

    def add_fault(self, rule: FaultRule | None = None, **fields: Any) -> FaultRule:
        """
        Add a fault rule, given as a :class:`FaultRule` or as its fields.

        .. code-block:: python

            server.add_fault(method="GET", path="specs/*/", status_code=429, retry_after=1, times=2)
        """
        return self.app.faults.add(rule if rule is not None else FaultRule(**fields))

    def fault(self, rule_id: str) -> FaultRule | None:
        """A rule with its current ``matched`` and ``hits`` counters."""
        return self.app.faults.get(rule_id)

    def faults(self) -> list[FaultRule]:
        """Every rule with its counters."""
        return self.app.faults.rules()

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self.app.faults.clear()

    def requests(self, method: str | None = None, path: str | None = None) -> list[RequestRecord]:
        """The last API requests received, filtered by method and path glob (e.g. ``runs/*/cancel/``)."""
        return self.app.request_log.records(method=method, path=path)

    def clear_requests(self) -> None:
        """Forget the requests received so far."""
        self.app.request_log.clear()

    def reset(self) -> None:
        """Forget all state, faults and requests."""
        self.app.service.reset()
        self.app.faults.clear()
        self.app.request_log.clear()
