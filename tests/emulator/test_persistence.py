"""State: the memory and SQLite stores behave alike, and SQLite survives a restart mid-lifecycle."""

from __future__ import annotations

import io
import threading
import time
import zipfile

import httpx
import pytest

from dataframer_emulator import EmulatorConfig, EmulatorServer
from dataframer_emulator.records import PreparationRecord, RunRecord
from dataframer_emulator.store import MemoryStore, SqliteStore, Store, open_store


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    opened: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "state.db")
    yield opened
    opened.close()


def _preparation(record_id: str, ready_at: float = 1.0) -> PreparationRecord:
    return PreparationRecord(id=record_id, run_id="r", requested_at=0.0, ready_at=ready_at)


def test_store_records(store):
    assert store.get(PreparationRecord, "a") is None
    store.save(_preparation("b"))
    store.save(_preparation("a"))
    store.save(_preparation("b", ready_at=5.0))  # an update keeps the original position
    assert [r.id for r in store.all(PreparationRecord)] == ["b", "a"]
    assert store.get(PreparationRecord, "b").ready_at == 5.0
    assert store.all(RunRecord) == []
    assert store.delete(PreparationRecord, "b") is True
    assert store.delete(PreparationRecord, "b") is False
    assert [r.id for r in store.all(PreparationRecord)] == ["a"]


def test_store_returns_copies(store):
    store.save(_preparation("a"))
    store.get(PreparationRecord, "a").ready_at = 99.0
    assert store.get(PreparationRecord, "a").ready_at == 1.0


def test_store_blobs(store):
    store.put_blob("seed/1/a", b"\x00\x01")
    store.put_blob("seed/1/b", b"b")
    store.put_blob("seed/2/a", b"c")
    assert store.get_blob("seed/1/a") == b"\x00\x01"
    store.delete_blobs("seed/1/")
    assert store.get_blob("seed/1/a") is None
    assert store.get_blob("seed/1/b") is None
    assert store.get_blob("seed/2/a") == b"c"
    store.save(_preparation("a"))
    store.clear()
    assert store.get_blob("seed/2/a") is None
    assert store.all(PreparationRecord) == []


def test_store_is_thread_safe(store):
    def writer(prefix: str) -> None:
        for i in range(50):
            store.save(_preparation(f"{prefix}{i}"))

    threads = [threading.Thread(target=writer, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.all(PreparationRecord)) == 200


def test_open_store(tmp_path):
    assert isinstance(open_store(None), MemoryStore)
    sqlite = open_store(str(tmp_path / "sub" / "state.db"))
    assert isinstance(sqlite, SqliteStore)
    assert (tmp_path / "sub" / "state.db").exists()
    sqlite.close()


def _get(server: EmulatorServer, path: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/dataframer{path}", headers=server.headers)


def _post(server: EmulatorServer, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}/api/dataframer{path}", headers=server.headers, **kwargs)


def _wait(server: EmulatorServer, path: str, running: set[str]) -> dict:
    deadline = time.monotonic() + 5
    while (body := _get(server, path).json())["status"] in running:
        assert time.monotonic() < deadline
        time.sleep(0.03)
    return body


def test_sqlite_state_survives_a_restart_mid_lifecycle(tmp_path):
    state = str(tmp_path / "emulator.db")
    timings = {"spec_seconds": 0.4, "run_pending_seconds": 0.1, "run_seconds": 0.4, "download_seconds": 0.1}
    config = EmulatorConfig(state_path=state, **timings)
    csv = b"city,temp\nOslo,3\nRome,18\nLima,22\n"
    with EmulatorServer(config) as first:
        dataset = _post(
            first,
            "/seed-datasets/create/",
            data={"name": "cities", "dataset_type": "SINGLE_FILE"},
            files={"files": ("c.csv", csv)},
        ).json()
        spec_id = _post(first, "/specs/", json={"name": "cities", "dataset_id": dataset["id"]}).json()["id"]
        assert _get(first, f"/specs/{spec_id}/").json()["status"] == "PROCESSING"
        port = first.port
    # A different server object, as after a process restart, on the same port.
    with EmulatorServer(config, port=port) as second:
        assert _get(second, f"/seed-datasets/{dataset['id']}/").json() == dataset
        spec = _wait(second, f"/specs/{spec_id}/", {"PROCESSING"})
        assert spec["status"] == "SUCCEEDED"
        run_id = _post(second, "/runs/", json={"spec_id": spec_id, "number_of_samples": 6}).json()["id"]
    # The same object restarted: it reopens the state file.
    second.start()
    try:
        run = _wait(second, f"/runs/{run_id}/", {"PENDING", "PROCESSING"})
        assert run["status"] == "SUCCEEDED"
        assert run["samples_completed"] == 6
        path = f"/runs/{run_id}/files/download/"
        assert _get(second, path).status_code == 202
        time.sleep(0.15)
        url = _get(second, path).json()["download_url"]
    finally:
        second.stop()
    with EmulatorServer(config, port=port) as third:
        archive = zipfile.ZipFile(io.BytesIO(httpx.get(url).content))  # the URL outlives the restart
        rows = archive.read("generated_samples.csv").decode().splitlines()
        assert rows[0] == "city,temp"
        assert len(rows) == 7
        assert [s["id"] for s in _get(third, "/specs/").json()] == [spec_id]


def test_memory_state_is_lost_on_restart():
    server = EmulatorServer(EmulatorConfig())
    with server:
        _post(server, "/specs/", json={"name": "x", "generation_objectives": "o"})
        assert len(_get(server, "/specs/").json()) == 1
    with server:
        assert _get(server, "/specs/").json() == []


def test_server_api(tmp_path):
    server = EmulatorServer(EmulatorConfig(api_key="k"))
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.app
    assert not server.running
    with server:
        assert server.running
        assert server.start() is server  # idempotent
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.headers == {"Authorization": "Bearer k"}
    assert not server.running
    assert EmulatorServer().api_key == EmulatorServer.DEFAULT_API_KEY
