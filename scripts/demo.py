"""
The demo: run every example DAG with ``dag.test()`` against Dataframer and say what happened.

It always runs against the offline emulator on loopback, even when ``DATAFRAMER_API_KEY`` is set,
unless ``DATAFRAMER_DEMO_REAL=1`` is set too: then it talks to the real, paid service
(``DATAFRAMER_BASE_URL``, default https://df-api.dataframer.ai), after saying so and waiting
``DATAFRAMER_DEMO_REAL_DELAY`` seconds (10) for a Ctrl-C. Airflow's own output
goes to ``.demo/logs/<dag_id>.log``; the provider's lines (status changes, progress) are echoed.
Exits non-zero unless every DAG run succeeded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / ".demo"
EXAMPLE_DAGS = ROOT / "example_dags"
SEED_CSV = EXAMPLE_DAGS / "data" / "support_tickets.csv"

# (dag_id, needs the seed dataset id in its conf)
DEMO_DAGS: list[tuple[str, bool]] = [
    ("example_dataframer_seedless_spec", False),
    ("example_dataframer_seeded_spec", True),
    ("example_dataframer_chain", False),
    ("example_dataframer_asset_consumer", False),  # reads the event of the chain's run (Airflow 3)
    ("example_dataframer_scheduled_regeneration", False),
    ("example_dataframer_mapped", False),
    ("example_dataframer_platform", False),
    ("example_dataframer_spec_versions", False),
]


def say(message: str = "") -> None:
    print(message, flush=True)


def configure_airflow() -> None:
    """A throwaway AIRFLOW_HOME whose DAGs folder is example_dags; must run before Airflow is imported."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    (DEMO_DIR / "logs").mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(DEMO_DIR / "airflow-home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{DEMO_DIR / 'airflow.db'}",
            "DATAFRAMER_EXAMPLE_POLL_INTERVAL": os.environ.get("DATAFRAMER_EXAMPLE_POLL_INTERVAL", "1"),
            "DATAFRAMER_EXAMPLE_SAMPLES": os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "20"),
            "DATAFRAMER_OUTPUT_DIR": str(DEMO_DIR / "output"),
        }
    )


REAL_OPT_IN = "DATAFRAMER_DEMO_REAL"


def real_service_wanted() -> bool:
    """The real service only on the explicit opt-in; a key alone is not enough (it costs money)."""
    return os.environ.get(REAL_OPT_IN, "").strip().lower() in ("1", "true", "yes")


def warn_before_spending(base_url: str) -> None:
    """Say loudly that the demo is about to spend money, and leave time to stop it."""
    delay = float(os.environ.get("DATAFRAMER_DEMO_REAL_DELAY", "10"))
    samples = os.environ.get("DATAFRAMER_EXAMPLE_SAMPLES", "20")
    banner = "!" * 78
    say(banner)
    say(f"!! {REAL_OPT_IN}=1: running against the REAL Dataframer service at {base_url}")
    say("!! The example DAGs create seed datasets, specs and runs there, billed to DATAFRAMER_API_KEY")
    say(f"!! ({samples} samples per run, several runs). Press Ctrl-C within {delay:.0f} s to stop.")
    say(banner)
    time.sleep(delay)


@contextlib.contextmanager
def dataframer_endpoint() -> Iterator[tuple[str, str]]:
    """The base URL and API key to use: the local emulator, or the real service on the explicit opt-in."""
    api_key = os.environ.get("DATAFRAMER_API_KEY")
    if real_service_wanted():
        if not api_key:
            raise SystemExit(f"{REAL_OPT_IN}=1 needs DATAFRAMER_API_KEY (your Dataframer API key) too.")
        base_url = os.environ.get("DATAFRAMER_BASE_URL", "https://df-api.dataframer.ai")
        warn_before_spending(base_url)
        yield base_url, api_key
        return
    if api_key:
        say(
            f"DATAFRAMER_API_KEY is set but not used: the demo runs against the offline emulator. "
            f"Set {REAL_OPT_IN}=1 as well to run it against the real, paid service."
        )
    from dataframer_emulator import EmulatorConfig, EmulatorServer

    config = EmulatorConfig(spec_seconds=3, run_pending_seconds=1, run_seconds=4, download_seconds=1)
    with EmulatorServer(config) as server:
        say(f"Dataframer emulator listening on {server.url} (spec ~3 s, run ~5 s)")
        yield server.url, server.api_key


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors included) to ``log_file``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("w") as handle:
        os.dup2(handle.fileno(), 1)
        os.dup2(handle.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


# Airflow 3 (structlog) and Airflow 2 (logging) task log lines: time, level, message.
LOG_LINE_PATTERNS = (
    re.compile(r"^\S*T(?P<time>\d\d:\d\d:\d\d)\S* \[(?P<level>\w+)\s*\] (?P<message>.*?) \[[\w.]+\]"),
    re.compile(r"^\[\S+[T ](?P<time>\d\d:\d\d:\d\d)\S*\] \{[^}]*\} (?P<level>\w+) - (?P<message>.*)$"),
)


def provider_lines(log_file: Path) -> list[str]:
    """What the provider logged (status changes, progress, files), without Airflow's own noise."""
    lines: list[str] = []
    for raw in log_file.read_text(errors="replace").splitlines():
        for pattern in LOG_LINE_PATTERNS:
            match = pattern.match(raw.strip())
            if match and ("airflow_provider_dataframer" in raw or "Dataframer" in match["message"]):
                line = f"{match['time']} {match['level'].upper():<7} {match['message']}"
                if line not in lines:
                    lines.append(line)
                break
    return lines


def load_dag(dag_id: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"demo_{dag_id}", EXAMPLE_DAGS / f"{dag_id}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def upload_seed(name: str) -> str:
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook

    with SEED_CSV.open("rb") as handle:
        dataset = DataframerHook().create_seed_dataset(
            name, "SINGLE_FILE", [(SEED_CSV.name, handle, "text/csv")]
        )
    say(f"Uploaded seed dataset {dataset.id} ({name}) from {SEED_CSV.relative_to(ROOT)}")
    return dataset.id


def run_dag(dag_id: str, conf: dict[str, Any]) -> bool:
    started = time.monotonic()
    log_file = DEMO_DIR / "logs" / f"{dag_id}.log"
    say(f"\n=== {dag_id} ===")
    dag = load_dag(dag_id)
    with output_to(log_file):
        dag_run = dag.test(run_conf=conf or None)
    for line in provider_lines(log_file):
        say(f"  | {line}")
    states = {
        ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    state = str(dag_run.state)
    say(f"  tasks: {json.dumps(states)}")
    say(f"  DAG run {state} in {time.monotonic() - started:.1f} s (full log: {log_file.relative_to(ROOT)})")
    return state == "success"


def runs_here(dag_id: str) -> bool:
    """Airflow 2's dag.test() records no dataset events, so the asset consumer has nothing to read."""
    from airflow.providers.common.compat.sdk import AIRFLOW_V_3_0_PLUS

    return AIRFLOW_V_3_0_PLUS or dag_id != "example_dataframer_asset_consumer"


def summarize() -> None:
    from airflow_provider_dataframer.hooks.dataframer import DataframerHook

    hook = DataframerHook()
    say("\n=== What is on Dataframer now ===")
    for spec in hook.list_specs():
        say(f"  spec {spec.id}  {spec.status:<10} {spec.name}")
    for run in hook.list_runs():
        say(f"  run  {run.id}  {run.status:<10} {run.progress()}")
    output = DEMO_DIR / "output"
    files = sorted(p for p in output.rglob("*") if p.is_file()) if output.exists() else []
    say(f"\n=== Generated files ({len(files)}) under {output.relative_to(ROOT)} ===")
    for path in files[:20]:
        say(f"  {path.relative_to(ROOT)}  ({path.stat().st_size} bytes)")


def main() -> int:
    configure_airflow()
    started = time.monotonic()
    with dataframer_endpoint() as (base_url, api_key):
        os.environ["AIRFLOW_CONN_DATAFRAMER_DEFAULT"] = json.dumps(
            {"conn_type": "dataframer", "host": base_url, "password": api_key}
        )
        with output_to(DEMO_DIR / "logs" / "airflow-db.log"):
            from airflow.utils import db

            db.resetdb()
        dataset_id = upload_seed(f"demo-support-tickets-{int(time.time())}")
        results = {}
        for dag_id, needs_dataset in DEMO_DAGS:
            if not (EXAMPLE_DAGS / f"{dag_id}.py").exists() or not runs_here(dag_id):
                continue
            results[dag_id] = run_dag(dag_id, {"dataset_id": dataset_id} if needs_dataset else {})
        summarize()
    failed = [dag_id for dag_id, ok in results.items() if not ok]
    say(
        f"\n{len(results) - len(failed)}/{len(results)} example DAGs succeeded in {time.monotonic() - started:.0f} s."
    )
    if failed:
        say(f"Failed: {', '.join(failed)} (see .demo/logs/)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
