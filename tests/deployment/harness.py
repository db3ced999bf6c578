"""
A real Airflow deployment on loopback, for the deployment test and the browser check.

One :class:`Deployment` owns a temporary AIRFLOW_HOME, the Dataframer emulator and the four
Airflow components (api-server, scheduler, dag-processor, triggerer), each a separate process in
a session of its own, with its output in ``artifacts/deployment/<name>.log``. Every process they
start stays in that session, including the LocalExecutor's task supervisors, which make process
groups of their own. :meth:`Deployment.stop` ends each component's process group and then every
process left in their sessions, so nothing is left behind even when a test fails half-way; the
session ids are also written to ``SESSIONS_FILE`` for ``run.sh`` to sweep if the test process
itself is killed.

The module needs only the standard library and httpx (a dependency of the provider).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = ROOT / "example_dags"
# Logs and screenshots; another directory keeps two checkouts' or two runs' artifacts apart.
ARTIFACTS = Path(os.environ.get("DATAFRAMER_DEPLOYMENT_ARTIFACTS") or ROOT / "artifacts")
LOG_DIR = ARTIFACTS / "deployment"
# Where the component session ids are appended (run.sh passes a private file of its own).
SESSIONS_FILE = Path(os.environ.get("DATAFRAMER_DEPLOYMENT_SESSIONS_FILE") or LOG_DIR / "sessions")
ADMIN_USER = "admin"
LOOPBACK = "127.0.0.1"

UI_ENV = "DATAFRAMER_UI_TEST"  # the browser check runs only with this set to 1

DEFERRABLE_DAG = "example_dataframer_seedless_spec"
DEFERRABLE_TASK = "create_seedless_spec"
EXAMPLE_DAG_IDS = ("example_dataframer_seedless_spec", "example_dataframer_seeded_spec")
DAG_PARSE_TIMEOUT = 180.0
RUN_TIMEOUT = 180.0

T = TypeVar("T")


class DeploymentError(AssertionError):
    """A deployment step failed or timed out; the message says which and what was seen."""


def say(message: str) -> None:
    """Progress line (shown with ``pytest -s``, and in the captured output on failure)."""
    print(f"[deployment {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    interval: float = 1.0,
    alive: Callable[[], None] | None = None,
) -> T:
    """
    Call ``probe`` until it returns something other than None (or False); fail after ``timeout``.

    ``alive`` is called between polls and may raise (e.g. a component died), so that a crash is
    reported at once instead of as a timeout. The last exception of ``probe`` is in the message.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = probe()
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            last_error, result = exc, None
        if result is not None and result is not False:
            return result
        if alive is not None:
            alive()
        if time.monotonic() >= deadline:
            detail = f"; last error: {type(last_error).__name__}: {last_error}" if last_error else ""
            raise DeploymentError(f"Timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def tail(path: Path, lines: int = 60) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Phases:
    """Wall time of each named phase, printed as it ends and summarised at teardown."""

    times: list[tuple[str, float]] = field(default_factory=list)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.monotonic()
        say(f"{name} ...")
        ok = False
        try:
            yield
            ok = True
        finally:
            elapsed = time.monotonic() - start
            self.times.append((name if ok else f"{name} (FAILED)", elapsed))
            say(f"{name}: {'done' if ok else 'FAILED'} in {elapsed:.1f} s")

    def summary(self) -> str:
        width = max((len(name) for name, _ in self.times), default=0)
        rows = [f"  {name:<{width}}  {seconds:7.1f} s" for name, seconds in self.times]
        return "Wall time per phase:\n" + "\n".join(rows)


@dataclass
class Component:
    """One long-running process, alone in its process group, its output in ``log_path``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as a whole
                cwd=self.env.get("AIRFLOW_HOME"),
            )
        say(f"started {self.name} (pid {self.process.pid}): {' '.join(self.argv[-3:])}")

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def check_alive(self) -> None:
        """Raise with the log tail if the process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise DeploymentError(
                f"{self.name} exited with code {self.process.returncode}; last lines of {self.log_path}:\n"
                f"{tail(self.log_path)}"
            )

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM the process group, wait up to ``grace`` seconds, then SIGKILL it."""
        if self.process is None:
            return
        pgid = self.process.pid  # start_new_session: the group id is the leader's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            say(f"{self.name} did not stop within {grace:.0f} s: killing its process group")
        # The leader may be gone while members of its group linger: kill whatever is left.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def processes_in_sessions(sessions: set[int]) -> list[int]:
    """
    Pids of the live processes in any of ``sessions`` (Linux /proc).

    Each component is started in a new session, whose id is its pid. Its descendants stay in that
    session even when they make process groups of their own (as the LocalExecutor's task
    supervisors do) or are orphaned, unless they call setsid(), which no Airflow component does.
    Zombies are left out: they are gone once their parent reaps them.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] != "Z" and int(fields[3]) in sessions:
            found.append(int(entry.name))
    return found


def _listening_sockets() -> dict[str, str]:
    """Socket inode -> ``address:port`` of every listening TCP socket (IPv4 and IPv6)."""
    listening = {}
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state != "0A":  # TCP_LISTEN
                    continue
                address_hex, port_hex = local.split(":")
                raw = bytes.fromhex(address_hex[:width])
                # /proc prints each 32-bit word in host (little-endian) order.
                words = [raw[i : i + 4][::-1] for i in range(0, len(raw), 4)]
                address = socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, b"".join(words))
                listening[inode] = f"{address}:{int(port_hex, 16)}"
    return listening


def listening_addresses(pids: list[int]) -> dict[int, list[str]]:
    """The TCP addresses each of ``pids`` listens on."""
    listening = _listening_sockets()
    result: dict[int, list[str]] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in listening:
                        result.setdefault(pid, []).append(listening[target[8:-1]])
    return result


@dataclass
class Deployment:
    """
    Airflow 3 (LocalExecutor, SQLite, SimpleAuthManager) plus the Dataframer emulator, on loopback.

    :param venv: the virtualenv holding Airflow and the provider (its ``bin/airflow``, ``bin/python``).
    :param spec_seconds: how long the emulator keeps a spec PROCESSING: long enough to see the task
        DEFERRED through the REST API, short enough to keep the test quick.
    """

    venv: Path
    spec_seconds: float = 12.0
    phases: Phases = field(default_factory=Phases)
    api_key: str = field(default_factory=lambda: "df-deploy-" + secrets.token_hex(8))
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    components: dict[str, Component] = field(default_factory=dict)
    workdir: Path | None = None
    emulator_port: int = 0
    api_port: int = 0
    _token: str | None = None

    # Layout and environment

    @property
    def airflow_bin(self) -> str:
        return str(self.venv / "bin" / "airflow")

    @property
    def python_bin(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def home(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "airflow-home"

    @property
    def dags_folder(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "dags"

    @property
    def emulator_url(self) -> str:
        return f"http://{LOOPBACK}:{self.emulator_port}"

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.api_port}"

    def connection_json(self, api_key: str | None = None) -> str:
        """An ``AIRFLOW_CONN_*`` value for the emulator, with short retries."""
        return json.dumps(
            {
                "conn_type": "dataframer",
                "host": self.emulator_url,
                "password": api_key or self.api_key,
                "extra": {"max_retries": 2, "retry_initial_backoff": 0.2, "retry_max_backoff": 1.0},
            }
        )

    def base_env(self) -> dict[str, str]:
        """The environment of every Airflow process: this deployment's settings, nothing inherited."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AIRFLOW", "_AIRFLOW", "DATAFRAMER", "PYTEST"))
            and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
        }
        from_venv = f"{self.venv / 'bin'}{os.pathsep}{inherited.get('PATH', os.defpath)}"
        assert self.workdir is not None
        env = {
            **inherited,
            "PATH": from_venv,
            # This checkout's provider and emulator, even when the venv's editable install points
            # at another checkout (a git worktree sharing the venv).
            "PYTHONPATH": str(ROOT),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__FERNET_KEY": self._fernet_key,
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.workdir / "passwords.json"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.workdir / 'airflow.db'}",
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self._secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.workdir / "logs"),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW_CONN_DATAFRAMER_DEFAULT": self.connection_json(),
            "AIRFLOW_CONN_DATAFRAMER_BAD_KEY": self.connection_json(api_key="df-wrong-key"),
            "DATAFRAMER_EXAMPLE_POLL_INTERVAL": "1",
            # Where example DAGs land files when no output_dir is passed (an asset-triggered run).
            "DATAFRAMER_OUTPUT_DIR": str(self.workdir / "output"),
        }
        return env

    # Lifecycle

    def start(self) -> None:
        """Prepare AIRFLOW_HOME, start the emulator and the four components, wait until all are up."""
        from cryptography.fernet import Fernet  # an Airflow dependency, present in the test venv

        self._fernet_key = Fernet.generate_key().decode()
        self._secret_key = secrets.token_hex(16)
        self._jwt_secret = secrets.token_hex(32)
        with self.phases.phase("prepare AIRFLOW_HOME and DAGs folder"):
            # run.sh passes a directory of its own, which it removes even if this process is killed.
            parent = os.environ.get("DATAFRAMER_DEPLOYMENT_TMPDIR") or None
            self.workdir = Path(tempfile.mkdtemp(prefix="dataframer-deployment-", dir=parent))
            self.home.mkdir()
            shutil.copytree(EXAMPLE_DAGS, self.dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
            (self.workdir / "passwords.json").write_text(json.dumps({ADMIN_USER: self.admin_password}))
            shutil.rmtree(LOG_DIR, ignore_errors=True)
            LOG_DIR.mkdir(parents=True)
            self.emulator_port, self.api_port = free_port(), free_port()
            say(f"workdir {self.workdir}; emulator {self.emulator_url}; api-server {self.api_url}")
        with self.phases.phase("start the emulator"):
            self._start_emulator()
        with self.phases.phase("airflow db migrate"):
            self.airflow(["db", "migrate"], timeout=240, log_name="db-migrate")
        with self.phases.phase("start api-server, scheduler, dag-processor, triggerer"):
            for name, argv in (
                ("api-server", ["api-server", "--host", LOOPBACK, "--port", str(self.api_port)]),
                # No log servers: they listen on every interface, and the api-server reads the
                # task and trigger logs from the shared local log folder anyway.
                ("scheduler", ["scheduler", "--skip-serve-logs"]),
                ("dag-processor", ["dag-processor"]),
                ("triggerer", ["triggerer", "--skip-serve-logs"]),
            ):
                self._add_component(name, [self.airflow_bin, *argv])
            wait_for(
                f"the api-server to answer on {self.api_url}",
                lambda: httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200,
                timeout=240,
                alive=self.check_alive,
            )
            wait_for(
                "the scheduler, triggerer and dag-processor to heartbeat (GET /api/v2/monitor/health)",
                self._all_healthy,
                timeout=240,
                interval=2,
                alive=self.check_alive,
            )

    def _start_emulator(self) -> None:
        component = self._add_component(
            "emulator",
            [
                self.python_bin,
                "-m",
                "dataframer_emulator",
                "--host",
                LOOPBACK,
                "--port",
                str(self.emulator_port),
                "--api-key",
                self.api_key,
                "--spec-seconds",
                str(self.spec_seconds),
            ],
        )
        wait_for(
            f"the emulator to answer on {self.emulator_url}",
            lambda: httpx.get(f"{self.emulator_url}/_emulator/health", timeout=2).status_code == 200,
            timeout=60,
            interval=0.5,
            alive=component.check_alive,
        )

    def _add_component(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Component:
        component = Component(name, argv, {**self.base_env(), **(env or {})}, LOG_DIR / f"{name}.log")
        self.components[name] = component
        component.start()
        with SESSIONS_FILE.open("a") as sessions:
            sessions.write(f"{component.pid}\n")
        return component

    def processes(self) -> list[int]:
        """Every live process of the deployment: the components and all their descendants."""
        return processes_in_sessions({component.pid for component in self.components.values()})

    def _all_healthy(self) -> dict[str, Any] | None:
        health = httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        if all((health.get(part) or {}).get("status") == "healthy" for part in parts):
            return health  # type: ignore[no-any-return]
        return None

    def check_alive(self) -> None:
        """Raise (with the log tail) if any component has exited."""
        for component in self.components.values():
            component.check_alive()

    def stop(self) -> list[int]:
        """
        Stop every component (process groups), then any process left in their sessions.

        Returns the pids that had to be killed in that final sweep (they are gone afterwards).
        """
        with self.phases.phase("teardown"):
            for name in ("api-server", "scheduler", "dag-processor", "triggerer", "emulator"):
                if name in self.components:
                    self.components[name].stop()
            stragglers = self.processes()
            for pid in stragglers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if stragglers:
                say(f"killed {len(stragglers)} leftover process(es) of this deployment: {stragglers}")
            wait_for(
                "every process of this deployment to exit",
                lambda: not self.processes(),
                timeout=15,
                interval=0.5,
            )
            if self.workdir is not None:
                # Keep the task and trigger logs next to the component logs, for a post-mortem.
                if (self.workdir / "logs").exists():
                    shutil.copytree(self.workdir / "logs", LOG_DIR / "task-logs", dirs_exist_ok=True)
                shutil.rmtree(self.workdir, ignore_errors=True)
        say(self.phases.summary())
        return stragglers

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of every component's log, for a failure message."""
        parts = []
        for name, component in self.components.items():
            parts.append(f"----- {name} ({component.log_path}) -----\n{tail(component.log_path, lines)}")
        return "\n".join(parts)

    # Commands and the REST API

    def airflow(
        self,
        args: list[str],
        timeout: float = 120,
        check: bool = True,
        log_name: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run one ``airflow`` CLI command in this deployment's environment, in its own process group."""
        process = subprocess.Popen(
            [self.airflow_bin, *args],
            env={**self.base_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            raise DeploymentError(
                f"`airflow {' '.join(args)}` did not finish within {timeout:.0f} s:\n{output[-4000:]}"
            ) from None
        if log_name:
            (LOG_DIR / f"{log_name}.log").write_text(output)
        result = subprocess.CompletedProcess(process.args, process.returncode, output, "")
        if check and result.returncode != 0:
            raise DeploymentError(
                f"`airflow {' '.join(args)}` exited with {result.returncode}:\n{output[-4000:]}"
            )
        return result

    def token(self) -> str:
        """A JWT for the REST API, from the SimpleAuthManager login endpoint."""
        if self._token is None:
            response = httpx.post(
                f"{self.api_url}/auth/token",
                json={"username": ADMIN_USER, "password": self.admin_password},
                timeout=30,
            )
            if response.status_code not in (200, 201):
                raise DeploymentError(f"Login as {ADMIN_USER} failed: {response.status_code} {response.text}")
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        """Call the REST API v2 (``path`` after ``/api/v2``) and return the JSON; raise on errors."""
        response = httpx.request(
            method,
            f"{self.api_url}/api/v2{path}",
            headers={"Authorization": f"Bearer {self.token()}", **(headers or {})},
            timeout=30,
            **kwargs,
        )
        if response.is_error:
            raise DeploymentError(f"{method} /api/v2{path} -> {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def emulator(self, path: str) -> Any:
        """GET from the emulator (``/api/...`` with the API key, ``/_emulator/...`` without)."""
        response = httpx.get(
            f"{self.emulator_url}{path}", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=10
        )
        response.raise_for_status()
        return response.json()


@dataclass
class RunRecord:
    """What was seen of one DAG run while it ran, polled through the REST API."""

    dag_id: str
    task_id: str
    run_id: str
    states: list[str | None] = field(default_factory=list)
    deferred_tis: list[dict[str, Any]] = field(default_factory=list)  # as seen while DEFERRED
    run: dict[str, Any] = field(default_factory=dict)
    task_instance: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def deferred_ti(self) -> dict[str, Any] | None:
        """
        The task instance seen DEFERRED with its trigger assigned to a triggerer.

        Right after the deferral the trigger has no triggerer yet, and once it has fired its row is
        gone while the task may still show DEFERRED: the first complete observation is taken.
        """
        assigned = [ti for ti in self.deferred_tis if ti.get("trigger") and ti.get("triggerer_job")]
        return (assigned or self.deferred_tis or [None])[0]

    def state_changes(self) -> list[str | None]:
        changes: list[str | None] = []
        for state in self.states:
            if not changes or changes[-1] != state:
                changes.append(state)
        return changes

    @property
    def ti_path(self) -> str:
        return f"/dags/{self.dag_id}/dagRuns/{self.run_id}/taskInstances/{self.task_id}"


def spec_id_of(deployment: Deployment, record: RunRecord, key: str = "return_value") -> Any:
    """An XCom value of the run's task, read through the REST API."""
    entry = deployment.api("GET", f"{record.ti_path}/xcomEntries/{key}", params={"deserialize": True})
    return entry["value"]
