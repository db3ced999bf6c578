"""State of the emulator: records and blobs, in memory or in SQLite, behind one interface."""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TypeVar

from dataframer_emulator.records import Record

R = TypeVar("R", bound=Record)


class Store(ABC):
    """
    Keeps records (pydantic models serialised as JSON) and blobs (bytes); thread-safe.

    Records of a collection are listed in the order they were first saved. ``lock`` lets a caller
    make a check-then-write sequence atomic (e.g. a uniqueness check followed by a create).
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def save(self, record: Record) -> None:
        """Insert or replace ``record``."""
        with self.lock:
            self._put(record.collection, record.id, record.model_dump_json())

    def get(self, kind: type[R], record_id: str) -> R | None:
        """The record of ``kind`` with this id, or ``None``."""
        with self.lock:
            raw = self._get(kind.collection, record_id)
        return None if raw is None else kind.model_validate_json(raw)

    def all(self, kind: type[R]) -> list[R]:
        """Every record of ``kind``, oldest first."""
        with self.lock:
            raws = self._list(kind.collection)
        return [kind.model_validate_json(raw) for raw in raws]

    def delete(self, kind: type[Record], record_id: str) -> bool:
        """Delete one record; whether it existed."""
        with self.lock:
            return self._delete(kind.collection, record_id)

    @abstractmethod
    def put_blob(self, key: str, data: bytes) -> None:
        """Store bytes under ``key``."""

    @abstractmethod
    def get_blob(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or ``None``."""

    @abstractmethod
    def delete_blobs(self, prefix: str) -> None:
        """Delete every blob whose key starts with ``prefix``."""

    @abstractmethod
    def clear(self) -> None:
        """Forget everything."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release in memory
        """Release resources."""

    @abstractmethod
    def _put(self, collection: str, record_id: str, data: str) -> None: ...

    @abstractmethod
    def _get(self, collection: str, record_id: str) -> str | None: ...

    @abstractmethod
    def _list(self, collection: str) -> list[str]: ...

    @abstractmethod
    def _delete(self, collection: str, record_id: str) -> bool: ...


class MemoryStore(Store):
    """State in process memory; lost when the process ends."""

    def __init__(self) -> None:
        super().__init__()
        self._records: dict[str, dict[str, str]] = {}
        self._blobs: dict[str, bytes] = {}

    def put_blob(self, key: str, data: bytes) -> None:
        with self.lock:
            self._blobs[key] = data

    def get_blob(self, key: str) -> bytes | None:
        with self.lock:
            return self._blobs.get(key)

    def delete_blobs(self, prefix: str) -> None:
        with self.lock:
            for key in [k for k in self._blobs if k.startswith(prefix)]:
                del self._blobs[key]

    def clear(self) -> None:
        with self.lock:
            self._records.clear()
            self._blobs.clear()

    def _put(self, collection: str, record_id: str, data: str) -> None:
        self._records.setdefault(collection, {})[record_id] = data

    def _get(self, collection: str, record_id: str) -> str | None:
        return self._records.get(collection, {}).get(record_id)

    def _list(self, collection: str) -> list[str]:
        return list(self._records.get(collection, {}).values())

    def _delete(self, collection: str, record_id: str) -> bool:
        return self._records.get(collection, {}).pop(record_id, None) is not None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    UNIQUE (collection, id)
);
CREATE TABLE IF NOT EXISTS blobs (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL
);
"""


class SqliteStore(Store):
    """
    State in a SQLite file, so a restarted emulator loses nothing.

    :param path: the database file; created if missing.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        with self.lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def put_blob(self, key: str, data: bytes) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", (key, data))

    def get_blob(self, key: str) -> bytes | None:
        with self.lock:
            row = self._db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def delete_blobs(self, prefix: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM blobs WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    def clear(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM blobs")

    def close(self) -> None:
        with self.lock:
            self._db.close()

    def _put(self, collection: str, record_id: str, data: str) -> None:
        self._db.execute(
            "INSERT INTO records (collection, id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data",
            (collection, record_id, data),
        )

    def _get(self, collection: str, record_id: str) -> str | None:
        row = self._db.execute(
            "SELECT data FROM records WHERE collection = ? AND id = ?", (collection, record_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def _list(self, collection: str) -> list[str]:
        rows = self._db.execute("SELECT data FROM records WHERE collection = ? ORDER BY seq", (collection,))
        return [str(row[0]) for row in rows.fetchall()]

    def _delete(self, collection: str, record_id: str) -> bool:
        cursor = self._db.execute(
            "DELETE FROM records WHERE collection = ? AND id = ?", (collection, record_id)
        )
        return cursor.rowcount > 0


def open_store(state_path: str | None) -> Store:
    """A SQLite store at ``state_path``, or a memory store when it is ``None``."""
    return MemoryStore() if state_path is None else SqliteStore(state_path)
