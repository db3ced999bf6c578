"""``make demo`` spends money only on the explicit opt-in, and says so before it does."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"


@pytest.fixture
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dataframer_demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_key_alone_still_runs_the_emulator(
    demo: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATAFRAMER_API_KEY", "df-real-key-should-not-be-used")
    monkeypatch.delenv("DATAFRAMER_DEMO_REAL", raising=False)
    with demo.dataframer_endpoint() as (base_url, api_key):
        assert base_url.startswith("http://127.0.0.1:")
        assert api_key != "df-real-key-should-not-be-used"
    out = capsys.readouterr().out
    assert "is set but not used" in out and "DATAFRAMER_DEMO_REAL=1" in out


def test_the_opt_in_without_a_key_stops_before_anything(
    demo: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAFRAMER_DEMO_REAL", "1")
    monkeypatch.delenv("DATAFRAMER_API_KEY", raising=False)
    with pytest.raises(SystemExit, match="needs DATAFRAMER_API_KEY"), demo.dataframer_endpoint():
        pass


def test_the_opt_in_warns_loudly_and_waits_before_the_real_service(
    demo: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(demo.time, "sleep", slept.append)
    monkeypatch.setenv("DATAFRAMER_DEMO_REAL", "1")
    monkeypatch.setenv("DATAFRAMER_API_KEY", "df-key")
    monkeypatch.setenv("DATAFRAMER_BASE_URL", "https://df.example.test")
    monkeypatch.setenv("DATAFRAMER_DEMO_REAL_DELAY", "7")
    with demo.dataframer_endpoint() as (base_url, api_key):
        assert (base_url, api_key) == ("https://df.example.test", "df-key")
        out = capsys.readouterr().out
        assert "REAL Dataframer service at https://df.example.test" in out and "billed" in out
        assert slept == [7.0]  # the warning came first, then the pause, then the work
    assert "df-key" not in out
