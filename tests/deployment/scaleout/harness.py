"""
Airflow's distributed setup on loopback, for the scale-out test: CeleryExecutor, Redis, PostgreSQL,
two triggerers at a time (the test starts the second, and a third to replace the one it kills),
one Celery worker, and two Dataframer emulators.

It extends the LocalExecutor :class:`~tests.deployment.harness.Deployment` (same components,
sessions, logs, REST client and teardown) with the pieces a scale-out deployment adds. Redis and
PostgreSQL run in the foreground as components like the others (PostgreSQL as the ``postgres``
user, its data in a directory of its own), so that the same teardown stops them by process id.

The two emulators: ``dataframer_default`` points at a fast one (specs and runs end within seconds,
and the test holds them with fault rules until it is ready), ``dataframer_slow`` at one whose runs
never end on their own, for the scenarios that cancel a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.deployment.harness import (
    ADMIN_USER,
    LOG_DIR,
    LOOPBACK,
    SESSIONS_FILE,
    Component,
    Deployment,
    DeploymentError,
    free_port,
    say,
    wait_for,
)

HERE = Path(__file__).resolve().parent
DAGS = HERE / "dags"
POSTGRES_BIN = Path(os.environ.get("DATAFRAMER_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
SCALEOUT_DAG_IDS = ("scaleout_specs", "scaleout_runs", "scaleout_mark_failed", "scaleout_execution_timeout")
FIRST_TRIGGERER = "triggerer-1"
FIRST_TRIGGERER_CAPACITY = 6
"""Triggers the first triggerer takes at most (``--capacity``), so that the second, started once
the first is full, takes the rest: Airflow gives new triggers to whichever triggerer asks first,
and one that already runs triggers asks several times a second, an idle one about once."""
# Triggers move once their triggerer's heartbeat is this old. Heartbeats (every 5 s) were seen
# 9 s apart on a loaded 2-core host: 20 s keeps triggers from moving except when the test pauses
# or kills a triggerer.
HEALTH_CHECK_THRESHOLD = 20.0
# asyncio's debug mode names each step of a coroutine that holds the event loop over 0.1 s
# ("Executing <Task ... coro=<...> running at file:line> took 0.35 seconds"): it tells whose
# code blocked when Airflow's watchdog only says that the loop was blocked.
TRIGGERER_ENV = {"PYTHONASYNCIODEBUG": "1"}
BLOCKED_LINE = re.compile(r"async thread was blocked for (\d+(?:\.\d+)?) seconds")
SLOW_STEP_LINE = re.compile(r"Executing (<.*>) took (\d+(?:\.\d+)?) seconds")


@dataclass(frozen=True)
class LoopBlock:
    """
    One line of a triggerer's log saying that an event loop was held.

    :param triggerer: the component whose log has it.
    :param seconds: how long.
    :param ended_at: when the line was logged (epoch seconds), at the end of the block.
    :param what: what held the loop: asyncio's repr of the coroutine step, or "" for the line of
        Airflow's watchdog, which does not know.
    :param line: the line itself.
    """

    triggerer: str
    seconds: float
    ended_at: float
    what: str
    line: str

    @property
    def started_at(self) -> float:
        return self.ended_at - self.seconds

    def overlaps(self, start: float, end: float) -> bool:
        return self.started_at <= end and start <= self.ended_at


@dataclass(frozen=True)
class Emulator:
    """One emulator process: where it listens, and its admin routes (faults, request log)."""

    name: str
    port: int
    api_key: str

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the Dataframer API of this emulator (``path`` after ``/api/dataframer``)."""
        response = httpx.request(
            method,
            f"{self.url}/api/dataframer{path}",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=10,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call an admin route (``path`` after ``/_emulator``)."""
        response = httpx.request(
            method,
            f"{self.url}/_emulator{path}",
            headers={"Authorization": f"Bearer {self.api_key}"},  # the emulator may require it
            timeout=10,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def hold(self, rule: dict[str, Any]) -> str:
        """Install a fault rule that applies until released; return its id."""
        (added,) = self.admin("POST", "/faults", json={**rule, "times": None})
        return str(added["id"])

    def release(self, rule_id: str) -> None:
        self.admin("DELETE", f"/faults/{rule_id}")

    def requests(self, method: str, path: str) -> list[dict[str, Any]]:
        """The requests the emulator served (or faulted) whose path matches the regex ``path``."""
        return [
            r for r in self.admin("GET", "/requests", params={"method": method}) if re.search(path, r["path"])
        ]

    def create_spec(self, name: str) -> str:
        """A seedless spec created directly; returns its id once it has SUCCEEDED."""
        spec_id = str(
            self.api("POST", "/specs/", json={"name": name, "generation_objectives": "Short notes."})["id"]
        )
        wait_for(
            f"spec {spec_id} to succeed on the {self.name} emulator",
            lambda: self.api("GET", f"/specs/{spec_id}/")["status"] == "SUCCEEDED",
            timeout=30,
            interval=0.5,
        )
        return spec_id


@dataclass
class ScaleOutDeployment(Deployment):
    """
    CeleryExecutor + Redis + PostgreSQL 15, api-server, scheduler, dag-processor, triggerers
    (:meth:`start_triggerer`), one Celery worker, and two emulators (fast, slow), all on loopback.

    :param worker_concurrency: task slots of the Celery worker.
    """

    worker_concurrency: int = 4
    redis_port: int = 0
    postgres_port: int = 0
    postgres_dir: Path | None = None
    fast: Emulator | None = None
    slow: Emulator | None = None
    triggerer_jobs: dict[str, int] = field(default_factory=dict)  # component name -> job id
    killed: set[str] = field(default_factory=set)

    def base_env(self) -> dict[str, str]:
        env = super().base_env()
        assert self.fast is not None and self.slow is not None
        database = f"postgresql+psycopg2://postgres@{LOOPBACK}:{self.postgres_port}/airflow"
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__PARALLELISM": "32",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
                "AIRFLOW__CELERY__BROKER_URL": f"redis://{LOOPBACK}:{self.redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://postgres@{LOOPBACK}:{self.postgres_port}/airflow",
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.worker_concurrency),
                "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": f"{HEALTH_CHECK_THRESHOLD:g}",
                "AIRFLOW__TRIGGERER__MAX_TRIGGER_TO_SELECT_PER_LOOP": "2",
                "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
                "AIRFLOW_CONN_DATAFRAMER_DEFAULT": self._connection(self.fast),
                "AIRFLOW_CONN_DATAFRAMER_SLOW": self._connection(self.slow),
            }
        )
        env.pop("AIRFLOW_CONN_DATAFRAMER_BAD_KEY", None)
        return env

    @staticmethod
    def _connection(emulator: Emulator) -> str:
        return json.dumps(
            {
                "conn_type": "dataframer",
                "host": emulator.url,
                "password": emulator.api_key,
                "extra": {"max_retries": 2, "retry_initial_backoff": 0.2, "retry_max_backoff": 1.0},
            }
        )

    # Lifecycle

    def start(self) -> None:
        from cryptography.fernet import Fernet

        self._fernet_key = Fernet.generate_key().decode()
        self._secret_key = os.urandom(16).hex()
        self._jwt_secret = os.urandom(32).hex()
        with self.phases.phase("prepare AIRFLOW_HOME, DAGs folder, ports"):
            parent = os.environ.get("DATAFRAMER_DEPLOYMENT_TMPDIR") or None
            self.workdir = Path(tempfile.mkdtemp(prefix="dataframer-scaleout-", dir=parent))
            self.home.mkdir()
            shutil.copytree(DAGS, self.dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
            (self.workdir / "passwords.json").write_text(json.dumps({ADMIN_USER: self.admin_password}))
            shutil.rmtree(LOG_DIR, ignore_errors=True)
            LOG_DIR.mkdir(parents=True)
            self.api_port, self.redis_port, self.postgres_port = free_port(), free_port(), free_port()
            self.fast = Emulator("fast", free_port(), self.api_key)
            self.slow = Emulator("slow", free_port(), self.api_key)
            self.emulator_port = self.fast.port  # what the parent class's helpers call "the emulator"
        with self.phases.phase("start Redis, PostgreSQL and the two emulators"):
            self._start_redis()
            self._start_postgres()
            self._start_emulators()
        with self.phases.phase("airflow db migrate (PostgreSQL)"):
            self.airflow(["db", "migrate"], timeout=300, log_name="db-migrate")
        with self.phases.phase("start api-server, scheduler, dag-processor, Celery worker, a triggerer"):
            for name, argv in (
                ("api-server", ["api-server", "--host", LOOPBACK, "--port", str(self.api_port)]),
                ("scheduler", ["scheduler", "--skip-serve-logs"]),
                ("dag-processor", ["dag-processor"]),
                (
                    "celery-worker",
                    ["celery", "worker", "--skip-serve-logs", "--without-gossip", "--without-mingle"],
                ),
            ):
                self._add_component(name, [self.airflow_bin, *argv])
            wait_for(
                f"the api-server to answer on {self.api_url}",
                lambda: httpx.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).status_code == 200,
                timeout=300,
                alive=self.check_alive,
            )
            # The second triggerer is started by the test, once the first one is full.
            self.start_triggerer(FIRST_TRIGGERER, capacity=FIRST_TRIGGERER_CAPACITY)
            wait_for(
                "the scheduler, triggerer and dag-processor to heartbeat (GET /api/v2/monitor/health)",
                self._all_healthy,
                timeout=240,
                interval=2,
                alive=self.check_alive,
            )

    def start_triggerer(self, name: str, capacity: int | None = None) -> int:
        """Start a triggerer and wait for its job to run; return the job id."""
        known = set(self.triggerer_jobs.values())
        argv = [self.airflow_bin, "triggerer", "--skip-serve-logs"]
        if capacity is not None:
            argv += ["--capacity", str(capacity)]
        self._add_component(name, argv, env=TRIGGERER_ENV)
        self.triggerer_jobs[name] = wait_for(
            f"{name} to register its job",
            lambda: next(iter(set(self.running_triggerer_jobs()) - known), None),
            timeout=240,
            interval=1,
            alive=self.check_alive,
        )
        say(f"{name} (pid {self.components[name].pid}) is triggerer job {self.triggerer_jobs[name]}")
        return self.triggerer_jobs[name]

    def live_triggerers(self) -> list[str]:
        """The triggerers started and not killed, in start order."""
        return [name for name in self.triggerer_jobs if name not in self.killed]

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise DeploymentError(
                "redis-server is missing: tests/deployment/scaleout/run.sh installs it with apt-get."
            )
        component = self._add_component(
            "redis",
            [redis, "--port", str(self.redis_port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"],
        )
        wait_for(
            "Redis to accept connections",
            lambda: _tcp_open(self.redis_port),
            timeout=30,
            interval=0.2,
            alive=component.check_alive,
        )

    def _start_postgres(self) -> None:
        if not (POSTGRES_BIN / "postgres").exists():
            raise DeploymentError(f"No PostgreSQL 15 in {POSTGRES_BIN} (set DATAFRAMER_POSTGRES_BIN).")
        owner = pwd.getpwnam("postgres")
        # Outside the work directory: PostgreSQL runs as `postgres`, which may not enter it.
        self.postgres_dir = Path(tempfile.mkdtemp(prefix="dataframer-scaleout-pg-"))
        data = self.postgres_dir / "data"
        data.mkdir()
        for path in (self.postgres_dir, data):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
        initdb = Component(
            "postgres-initdb",
            [*as_postgres, str(POSTGRES_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
            {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            LOG_DIR / "postgres-initdb.log",
        )
        initdb.start()
        assert initdb.process is not None
        if initdb.process.wait(timeout=120) != 0:
            raise DeploymentError(f"initdb failed:\n{(LOG_DIR / 'postgres-initdb.log').read_text()[-3000:]}")
        server = Component(
            "postgres",
            [
                *as_postgres,
                str(POSTGRES_BIN / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.postgres_port),
                "-k",
                str(self.postgres_dir),
                "-c",
                f"listen_addresses={LOOPBACK}",
                "-c",
                "max_connections=200",
                "-c",
                "fsync=off",
            ],
            {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
            LOG_DIR / "postgres.log",
        )
        self.components["postgres"] = server
        server.start()
        self._record_session(server)
        import psycopg2  # installed by run.sh, with the Celery provider

        def create_database() -> bool:
            connection = psycopg2.connect(
                host=LOOPBACK, port=self.postgres_port, user="postgres", dbname="postgres"
            )
            try:
                connection.autocommit = True
                with connection.cursor() as cursor:
                    cursor.execute("CREATE DATABASE airflow")
            finally:
                connection.close()
            return True

        wait_for(
            "PostgreSQL to accept connections and create the airflow database",
            lambda: _tcp_open(self.postgres_port) and create_database(),
            timeout=60,
            interval=0.5,
            alive=server.check_alive,
        )

    def _start_emulators(self) -> None:
        assert self.fast is not None and self.slow is not None
        timings = {
            # Specs and runs end within seconds; the test holds them with fault rules while it needs.
            self.fast: ["--spec-seconds", "1", "--run-pending-seconds", "0.5", "--run-seconds", "2"],
            # Runs that never end on their own: only a cancel ends them.
            self.slow: ["--spec-seconds", "0", "--run-seconds", "86400"],
        }
        for emulator, args in timings.items():
            component = self._add_component(
                f"emulator-{emulator.name}",
                [
                    self.python_bin,
                    "-m",
                    "dataframer_emulator",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(emulator.port),
                    "--api-key",
                    emulator.api_key,
                    *args,
                ],
            )
            wait_for(
                f"the {emulator.name} emulator to answer on {emulator.url}",
                lambda emulator=emulator: emulator.admin("GET", "/health")["status"] == "ok",
                timeout=60,
                interval=0.5,
                alive=component.check_alive,
            )

    def _record_session(self, component: Component) -> None:
        with SESSIONS_FILE.open("a") as sessions:
            sessions.write(f"{component.pid}\n")

    def check_alive(self) -> None:
        for name, component in self.components.items():
            if name not in self.killed:
                component.check_alive()

    def stop(self) -> list[int]:
        """Stop every component, Airflow first and the databases last, then sweep their sessions."""
        with self.phases.phase("teardown"):
            for name in reversed(list(self.components)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.components[name].pid, signal.SIGCONT)  # a paused one could not stop
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
                if (self.workdir / "logs").exists():
                    shutil.copytree(self.workdir / "logs", LOG_DIR / "task-logs", dirs_exist_ok=True)
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self.postgres_dir is not None:
                shutil.rmtree(self.postgres_dir, ignore_errors=True)
        say(self.phases.summary())
        return stragglers

    # What the scenarios use

    def running_triggerer_jobs(self) -> list[int]:
        jobs = self.api(
            "GET", "/jobs", params={"job_type": "TriggererJob", "job_state": "running", "limit": 100}
        )
        return [int(job["id"]) for job in jobs["jobs"]]

    def triggerer_of_job(self, job_id: int | None) -> str | None:
        return next((name for name, job in self.triggerer_jobs.items() if job == job_id), None)

    def signal_component(self, name: str, signum: signal.Signals) -> None:
        """Send ``signum`` to the whole process group of a component (supervisor and children)."""
        os.killpg(self.components[name].pid, signum)
        if signum == signal.SIGKILL:
            self.killed.add(name)
            self.components[name].process.wait(timeout=10)  # type: ignore[union-attr]
        say(f"sent {signum.name} to {name} (process group {self.components[name].pid})")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return {ti["task_id"]: ti for ti in found["task_instances"]}

    def trigger_dag(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        from datetime import datetime, timezone

        created = self.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            json={"logical_date": datetime.now(timezone.utc).isoformat(), "conf": conf or {}},
        )
        return str(created["dag_run_id"])

    def task_log_text(self) -> str:
        """Every task and trigger log written so far, concatenated (the files in the log folder)."""
        assert self.workdir is not None
        parts = [path.read_text(errors="replace") for path in sorted((self.workdir / "logs").rglob("*.log"))]
        return "\n".join(parts)

    def trigger_log(self, dag_id: str, run_id: str, task_id: str, triggerer: str, try_number: int = 1) -> str:
        """The log a triggerer wrote for a task's trigger ("" if none yet); rewritten each time it starts there."""
        assert self.workdir is not None
        job = self.triggerer_jobs[triggerer]
        path = (
            self.workdir
            / "logs"
            / f"dag_id={dag_id}"
            / f"run_id={run_id}"
            / f"task_id={task_id}"
            / f"attempt={try_number}.log.trigger.{job}.log"
        )
        return path.read_text(errors="replace") if path.exists() else ""

    def component_log(self, name: str) -> str:
        return self.components[name].log_path.read_text(errors="replace")

    def triggerer_log_text(self) -> str:
        """Every triggerer's own log (lines a trigger logs after Airflow stopped routing them to its task)."""
        return "\n".join(self.component_log(name) for name in self.triggerer_jobs)

    def loop_blocks(self) -> list[LoopBlock]:
        """
        Every line of either triggerer's log saying that an event loop was held: Airflow's watchdog
        ("async thread was blocked for ...") and asyncio's debug mode ("Executing <...> took ...").
        """
        from datetime import datetime

        found: list[LoopBlock] = []
        for name in self.triggerer_jobs:
            for line in self.components[name].log_path.read_text(errors="replace").splitlines():
                watchdog, slow_step = BLOCKED_LINE.search(line), SLOW_STEP_LINE.search(line)
                if not (watchdog or slow_step):
                    continue
                ended_at = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00")).timestamp()
                if slow_step:
                    found.append(
                        LoopBlock(name, float(slow_step.group(2)), ended_at, slow_step.group(1), line)
                    )
                elif watchdog:
                    found.append(LoopBlock(name, float(watchdog.group(1)), ended_at, "", line))
        return found


def _tcp_open(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((LOOPBACK, port)) == 0


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)
