"""The command line: --help, arguments to configuration, and a real subprocess serving requests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from dataframer_emulator.__main__ import build_parser, config_from_args, main

MODULE = "dataframer_emulator"
ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_help():
    result = subprocess.run(
        [sys.executable, "-m", MODULE, "--help"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--host", "--port", "--api-key", "--state", "--spec-seconds", "--run-seconds", "--fault"):
        assert flag in result.stdout
    text = " ".join(result.stdout.split())  # argparse wraps lines
    for default in (
        "--host HOST interface to listen on (default: 127.0.0.1)",
        "--port PORT port to listen on (default: 8000)",
        "spec PROCESSING time (default: 3.0)",
        "run PENDING time (default: 1.0)",
        "(default: SUCCEEDED)",
        "(default: 10000)",
    ):
        assert default in text
    assert "(default: None)" not in text


def test_arguments_become_the_configuration(tmp_path):
    rules = tmp_path / "faults.json"
    rules.write_text(json.dumps([{"path": "runs/**", "status_code": 500, "times": None}]))
    args = build_parser().parse_args(
        [
            "--api-key",
            "k",
            "--state",
            str(tmp_path / "s.db"),
            "--spec-seconds",
            "0.5",
            "--run-seconds",
            "2",
            "--download-seconds",
            "0",
            "--spec-success-status",
            "READY",
            "--spec-create-returns-object",
            "--fault",
            '{"action": "drop", "path": "specs/"}',
            "--request-log-size",
            "50",
            "--max-upload-bytes",
            "1000",
            "--faults-file",
            str(rules),
        ]
    )
    config = config_from_args(args)
    assert config.api_key == "k"
    assert config.state_path == str(tmp_path / "s.db")
    assert (config.spec_seconds, config.run_seconds, config.download_seconds) == (0.5, 2.0, 0.0)
    assert config.spec_success_status == "READY"
    assert config.spec_create_returns_object is True
    assert [(r.action, r.path, r.times) for r in config.faults] == [
        ("drop", "specs/", 1),
        ("error", "runs/**", None),
    ]
    assert (config.request_log_size, config.max_upload_bytes) == (50, 1000)


@pytest.mark.parametrize("fault", ["{not json", '{"action": "explode"}', '{"path": "(a+)+$"}'])
def test_invalid_fault_is_a_usage_error(fault, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--fault", fault])
    assert exited.value.code == 2
    assert "error" in capsys.readouterr().err


def test_subprocess_serves_the_api(tmp_path):
    port = _free_port()
    command = [sys.executable, "-m", MODULE, "--port", str(port), "--api-key", "k", "--spec-seconds", "0.1"]
    command += ["--state", str(tmp_path / "state.db"), "--log-level", "warning"]
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(f"{base}/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)
        headers = {"Authorization": "Bearer k"}
        created = httpx.post(
            f"{base}/api/dataframer/specs/", json={"name": "s", "generation_objectives": "o"}, headers=headers
        )
        assert created.status_code == 201
        assert (
            httpx.get(f"{base}/api/dataframer/specs/", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )
        time.sleep(0.15)
        spec = httpx.get(f"{base}/api/dataframer/specs/{created.json()['id']}/", headers=headers).json()
        assert spec["status"] == "SUCCEEDED"
        home = httpx.get(base + "/").json()
        assert home["api_base"] == f"{base}/api/dataframer/"
        assert home["docs"] == f"{base}/_emulator/docs"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    output = process.stdout.read() if process.stdout else ""
    if process.stdout:
        process.stdout.close()
    assert process.returncode == 0
    assert "Traceback" not in output
    assert (tmp_path / "state.db").exists()
