"""
The Airflow UI in a real headless browser, against the deployment of ``test_deployment.py``.

Debian's ``chromium`` (never a downloaded browser) is driven by ``playwright-core`` (in
``tests/deployment/ui/node_modules``), both installed when missing by ``tests/deployment/ui/install.sh``
(``run.sh --ui`` runs it before pytest), through
``tests/deployment/ui/check_ui.mjs``, which logs in, fills the connection form, reads its "Extra
Fields" section, clicks "Test Connection", opens the task's extra link and the Dataframer asset's
graph, and reports what it saw. Screenshots are written
to ``artifacts/ui/`` on every run and kept. Run with ``bash tests/deployment/run.sh <venv> --ui``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from tests.deployment.harness import (
    ARTIFACTS,
    ROOT,
    UI_ENV,
    Deployment,
    DeploymentError,
    RunRecord,
    say,
    spec_id_of,
    wait_for,
)
from tests.deployment.test_asset_schedule import ASSET_URI, CHAIN_DAG, CONSUMER_DAG

pytestmark = [
    pytest.mark.deployment,
    pytest.mark.skipif(os.environ.get(UI_ENV) != "1", reason=f"set {UI_ENV}=1 (run.sh --ui)"),
]

UI_DIR = ROOT / "tests" / "deployment" / "ui"
SCREENSHOTS = ARTIFACTS / "ui"
CHROMIUM = Path("/usr/bin/chromium")
PLAYWRIGHT_CORE = UI_DIR / "node_modules" / "playwright-core" / "package.json"
INSTALL_SCRIPT = UI_DIR / "install.sh"
DEFAULT_BASE_URL = "https://df-api.dataframer.ai"
LINK_NAME = "Dataframer Spec"
FORM_CONNECTION = "dataframer_from_form"
PORT_CONNECTION = "dataframer_ui_with_port"
BAD_KEY_CONNECTION = "dataframer_ui_bad_key"
# Airflow 3.3.2's "Test Connection" button sends `port: Number(null)` = 0 for a connection without
# a port, which its API refuses as "a different endpoint" (fixed upstream in apache/airflow#73298,
# merged after 3.3.2; the first release with it is assumed to be 3.4).
AIRFLOW_PORTLESS_TEST_BUG = "The host or port to test differs from the stored connection"
AIRFLOW_VERSION = importlib.metadata.version("apache-airflow")
AIRFLOW_HAS_PORTLESS_TEST_BUG = Version(AIRFLOW_VERSION) < Version("3.4")
# Airflow >= 3.2 builds the connection form from the provider info, without importing the hook.
FORM_METADATA_HINT = (
    "Airflow 3.2+ reads the connection form from get_provider_info()['connection-types'][i]"
    "['hook-name'] and ['ui-field-behaviour'] (hidden-fields, relabeling, placeholders); "
    "DataframerHook.get_ui_field_behaviour() is only used by Airflow 2"
)


def run(argv: list[str], timeout: float, cwd: Path | None = None) -> str:
    """Run a setup command; fail with its output when it fails or hangs."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise DeploymentError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise DeploymentError(
            f"`{' '.join(argv)}` exited with {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}"
        )
    return done.stdout


def check_browser_tools() -> None:
    """Debian's chromium and playwright-core must be there (install.sh installs them)."""
    hint = f"run `bash {INSTALL_SCRIPT.relative_to(ROOT)}` (run.sh --ui does) to install what is missing"
    missing = [str(path) for path in (CHROMIUM, PLAYWRIGHT_CORE) if not path.exists()]
    if shutil.which("node") is None:
        missing.append("node")
    if missing:
        pytest.fail(f"the browser check needs {', '.join(missing)}: {hint}")
    version = json.loads(PLAYWRIGHT_CORE.read_text())["version"]
    say(
        f"{run([str(CHROMIUM), '--version'], timeout=60).strip()}, playwright-core {version}, "
        f"node {run(['node', '--version'], timeout=30).strip()}"
    )


def kill_processes_mentioning(marker: str) -> list[int]:
    """SIGKILL every process whose command line contains ``marker``, and any process group it leads."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (entry / "cmdline").read_bytes():
                pid = int(entry.name)
                if os.getpgid(pid) == pid != os.getpgrp():
                    os.killpg(pid, signal.SIGKILL)
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


def run_browser_check(config_path: Path, result_path: Path, profile: Path, timeout: float) -> str:
    """
    Run check_ui.mjs; whatever happens (it fails, hangs, pytest-timeout or SIGTERM interrupts it),
    leave neither node nor chromium behind.

    Playwright starts chromium in a process group of its own, which killing node's group does not
    reach: chromium is found by its profile directory ``profile`` on its command line instead.
    """
    argv = ["node", str(UI_DIR / "check_ui.mjs"), str(config_path), str(result_path)]
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = None
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # node, if still running, and its group
        leftovers = kill_processes_mentioning(str(profile))
        if leftovers:
            say(f"killed chromium processes left by the browser check: {leftovers}")
    if output is None:
        output, _ = process.communicate(timeout=30)
        raise DeploymentError(f"the browser check did not finish within {timeout:.0f} s:\n{output[-4000:]}")
    if process.returncode != 0:
        raise DeploymentError(f"`{' '.join(argv)}` exited with {process.returncode}:\n{output[-4000:]}")
    return output


def referenced_asset(deployment: Deployment) -> dict[str, Any] | None:
    """The chain's asset once the dag-processor has recorded its producing task and scheduled DAG."""
    found = deployment.api("GET", "/assets", params={"uri_pattern": ASSET_URI})["assets"]
    asset = next((asset for asset in found if asset["uri"] == ASSET_URI), None)
    if asset is None or not asset["producing_tasks"] or not asset["scheduled_dags"]:
        return None
    return dict(asset)


@pytest.fixture(scope="session")
def ui_result(deployment: Deployment, deferrable_run: RunRecord) -> dict[str, Any]:
    """Run the browser check once; what it saw, step by step (and, under ``asset``, the API's asset)."""
    check_browser_tools()
    with deployment.phases.phase(f"wait for the asset of {CHAIN_DAG} and {CONSUMER_DAG}"):
        asset = wait_for(
            f"{ASSET_URI} with a producing task and a scheduled DAG in GET /api/v2/assets",
            lambda: referenced_asset(deployment),
            timeout=180,
            interval=2,
            alive=deployment.check_alive,
        )
    # Two connections saved with an explicit port, so that Airflow 3.3.2's Test button works on
    # them (see AIRFLOW_PORTLESS_TEST_BUG): one with the right key, one with a wrong one.
    for conn_id, key in ((PORT_CONNECTION, deployment.api_key), (BAD_KEY_CONNECTION, "df-wrong-key")):
        deployment.api(
            "POST",
            "/connections",
            json={
                "connection_id": conn_id,
                "conn_type": "dataframer",
                "host": "http://127.0.0.1",
                "port": deployment.emulator_port,
                "password": key,
            },
        )
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    config = {
        "baseUrl": deployment.api_url,
        "username": "admin",
        "password": deployment.admin_password,
        "screenshotDir": str(SCREENSHOTS),
        "chromium": str(CHROMIUM),
        "timeoutMs": 60000,
        "formConnection": {
            "id": FORM_CONNECTION,
            "host": deployment.emulator_url,
            "password": deployment.api_key,
        },
        "testConnections": {
            "from_form": FORM_CONNECTION,
            "with_port": PORT_CONNECTION,
            "bad_key": BAD_KEY_CONNECTION,
        },
        "dagId": deferrable_run.dag_id,
        "runId": deferrable_run.run_id,
        "taskId": deferrable_run.task_id,
        "linkName": LINK_NAME,
        "asset": {"uri": ASSET_URI, "producerDag": CHAIN_DAG, "consumerDag": CONSUMER_DAG},
    }
    # A fresh chromium profile directory, unique to this run (see run_browser_check).
    parent = os.environ.get("DATAFRAMER_DEPLOYMENT_TMPDIR") or None
    profile = Path(tempfile.mkdtemp(prefix="dataframer-ui-chromium-", dir=parent))
    config["userDataDir"] = str(profile)
    config_path, result_path = SCREENSHOTS / "config.json", SCREENSHOTS / "result.json"
    config_path.write_text(json.dumps(config))
    try:
        with deployment.phases.phase("browser check (chromium + playwright-core)"):
            output = run_browser_check(config_path, result_path, profile, timeout=600)
    finally:
        config_path.unlink(missing_ok=True)  # it holds the admin password and the API key
        shutil.rmtree(profile, ignore_errors=True)
    say(output.strip())
    result: dict[str, Any] = json.loads(result_path.read_text())
    result["asset"] = asset
    say(f"screenshots: {', '.join(Path(path).name for path in result['screenshots'])} in {SCREENSHOTS}")
    return result


def step(result: dict[str, Any], name: str) -> dict[str, Any]:
    """The observations of one step, failing with its error (and screenshot) if it broke."""
    error = result["errors"].get(name)
    assert error is None, (
        f"browser step {name!r} failed (screenshot error-{name}.png in {SCREENSHOTS}):\n{error}"
    )
    observed: dict[str, Any] = result["steps"][name]
    return observed


def test_login_and_screenshots(ui_result: dict[str, Any]) -> None:
    step(ui_result, "login")
    assert ui_result["screenshots"]
    for path in ui_result["screenshots"]:
        assert Path(path).stat().st_size > 10_000, f"{path} looks empty"


def test_connection_type_dataframer_is_offered(ui_result: dict[str, Any]) -> None:
    form = step(ui_result, "connection_form")
    assert "Dataframer" in form["options"], f"types offered: {form['options']}; {FORM_METADATA_HINT}"
    assert "Dataframer" in form["dialogLines"], form["dialogLines"]


def test_connection_form_is_relabelled_with_placeholders_and_hidden_fields(ui_result: dict[str, Any]) -> None:
    form = step(ui_result, "connection_form")
    generic = {"Host", "Login", "Password", "Port", "Schema"} & set(form["labels"])
    assert not generic, f"generic fields {sorted(generic)} in the form {form['labels']}: {FORM_METADATA_HINT}"
    fields = form["fields"]
    assert fields["host"]["visible"] and fields["host"]["label"] == "Base URL", fields["host"]
    assert fields["host"]["placeholder"] == DEFAULT_BASE_URL, fields["host"]
    assert fields["password"]["visible"] and fields["password"]["label"] == "API Key", fields["password"]
    assert "DATAFRAMER_API_KEY" in (fields["password"]["placeholder"] or ""), fields["password"]
    for hidden in ("login", "port", "schema"):
        assert not fields[hidden]["visible"], f"{hidden} should be hidden: {fields[hidden]}"


def test_connection_form_shows_every_extra_field_with_its_default(ui_result: dict[str, Any]) -> None:
    from airflow_provider_dataframer.connection_extras import EXTRA_FIELDS

    shown = step(ui_result, "connection_form_extras")["fields"]
    assert [field["label"] for field in shown] == [extra.label for extra in EXTRA_FIELDS], (
        f"the form's Extra Fields differ from EXTRA_FIELDS: {shown}; {FORM_METADATA_HINT}"
    )
    assert SCREENSHOTS / "connection-form-extra-fields.png" in map(Path, ui_result["screenshots"])
    for extra, field in zip(EXTRA_FIELDS, shown, strict=True):
        assert field["visible"], field
        assert field["helpText"] == extra.description, field
        # A text input is named after its extra; a JSON field is a code editor without one.
        assert field["inputName"] in (f"element_{extra.name}", None), field
        if extra.default is not None:
            assert field["inputName"] == f"element_{extra.name}", field
            assert float(field["value"]) == extra.default, f"{extra.name}: default {extra.default}, {field}"
        elif extra.kind == "headers":
            assert json.loads(field["value"] or "{}") == {}, field
        else:
            assert field["value"] == "", field


def graph_edges(graph: dict[str, Any]) -> set[tuple[str, str]]:
    """A graph's edges as (source's text, target's text), each node's lines joined by " / "."""
    text = {node["id"]: " / ".join(node["text"]) for node in graph["nodes"]}
    assert all("source" in edge for edge in graph["edges"]), graph["edges"]
    return {(text[edge["source"]], text[edge["target"]]) for edge in graph["edges"]}


def test_asset_graph_shows_the_producing_and_the_scheduled_dag(ui_result: dict[str, Any]) -> None:
    seen = step(ui_result, "asset_graph")
    assert seen["header"] == ASSET_URI, seen["header"]
    assert SCREENSHOTS / "asset-graph.png" in map(Path, ui_result["screenshots"])
    graph = seen["scheduling"]
    dags = sorted(node["text"][0] for node in graph["nodes"] if node["kind"] == "dag")
    assert dags == sorted({CHAIN_DAG, CONSUMER_DAG}), graph["nodes"]
    assert graph_edges(graph) == {(CHAIN_DAG, ASSET_URI), (ASSET_URI, CONSUMER_DAG)}, graph


def test_asset_graph_by_task_shows_the_producing_and_consuming_tasks(ui_result: dict[str, Any]) -> None:
    seen = step(ui_result, "asset_graph")
    asset = ui_result["asset"]
    assert SCREENSHOTS / "asset-graph-tasks.png" in map(Path, ui_result["screenshots"])
    # A task node shows the task id over its DAG id; the API names the same tasks.
    producing = {(f"{ref['task_id']} / {ref['dag_id']}", ASSET_URI) for ref in asset["producing_tasks"]}
    consuming = {(ASSET_URI, f"{ref['task_id']} / {ref['dag_id']}") for ref in asset["consuming_tasks"]}
    assert {ref["dag_id"] for ref in asset["producing_tasks"]} == {CHAIN_DAG}, asset
    assert {ref["dag_id"] for ref in asset["consuming_tasks"]} == {CONSUMER_DAG}, asset
    assert graph_edges(seen["tasks"]) == producing | consuming, seen["tasks"]


def test_test_connection_button_reports_success(deployment: Deployment, ui_result: dict[str, Any]) -> None:
    tested = step(ui_result, "test_with_port")
    answer = tested["answer"]
    message = f"Connected to Dataframer at {deployment.emulator_url}"
    assert answer and answer["status"] == 200, answer
    assert answer["body"] == {"status": True, "message": message}, answer
    assert any("Test Connection Successful" in toast and message in toast for toast in tested["toasts"]), (
        tested
    )


def test_test_connection_button_reports_a_bad_key_clearly(
    deployment: Deployment, ui_result: dict[str, Any]
) -> None:
    tested = step(ui_result, "test_bad_key")
    answer = tested["answer"]
    assert answer and answer["status"] == 200 and answer["body"]["status"] is False, answer
    toast = next((toast for toast in tested["toasts"] if "Test Connection Failed" in toast), None)
    assert toast is not None, tested
    assert f"Authentication failed at {deployment.emulator_url}" in toast, toast
    assert "Invalid API key" in toast, toast
    for text in (*tested["toasts"], json.dumps(answer["body"])):
        assert "df-wrong-key" not in text and deployment.api_key not in text


class AirflowPortlessTestBug(AssertionError):
    """The Test button's request for a connection without port was refused (AIRFLOW_PORTLESS_TEST_BUG)."""


@pytest.mark.xfail(
    AIRFLOW_HAS_PORTLESS_TEST_BUG,
    reason=(
        f"Airflow {AIRFLOW_VERSION}'s Test button sends port 0 for a connection without port and its "
        "API refuses it (apache/airflow#73298, assumed fixed in 3.4); `airflow connections test` "
        "works. Strict: once this passes, Airflow has the fix and the version bound must move"
    ),
    raises=AirflowPortlessTestBug,
    strict=True,
)
def test_test_connection_button_on_the_connection_saved_from_the_form(
    deployment: Deployment, ui_result: dict[str, Any]
) -> None:
    tested = step(ui_result, "test_from_form")
    answer = tested["answer"]
    assert answer is not None, tested
    if answer["status"] == 400 and AIRFLOW_PORTLESS_TEST_BUG in json.dumps(answer["body"]):
        raise AirflowPortlessTestBug(f"Airflow refused to test the connection without port: {answer}")
    assert answer["body"] == {
        "status": True,
        "message": f"Connected to Dataframer at {deployment.emulator_url}",
    }, answer


def test_extra_link_opens_the_spec_in_the_app(
    deployment: Deployment, deferrable_run: RunRecord, ui_result: dict[str, Any]
) -> None:
    from airflow_provider_dataframer.operators.spec import CreateSpecOperator

    declared = [link.name for link in getattr(CreateSpecOperator, "operator_extra_links", ())]
    assert LINK_NAME in declared, f"CreateSpecOperator declares no {LINK_NAME!r} extra link: {declared}"
    seen = step(ui_result, "extra_link")
    expected = f"{deployment.emulator_url}/specs/{spec_id_of(deployment, deferrable_run)}"
    assert seen["extraLinksHeading"] >= 1, seen
    assert [link["href"] for link in seen["found"]] == [expected], seen
    assert seen["opened"] == expected, seen
