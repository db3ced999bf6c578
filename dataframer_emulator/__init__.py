"""
An offline emulator of the Dataframer API, for tests, demos and development.

Start it with ``python -m dataframer_emulator --port 8000`` (``--help`` lists the
options), or in-process with :class:`EmulatorServer`; pytest fixtures are in
:mod:`dataframer_emulator.testing`. It needs the ``emulator`` extra (FastAPI,
uvicorn, python-multipart); nothing else in the provider imports it.

It serves today's API as the official SDK (``pydataframer`` 0.19.2) describes it: the specs,
runs, seed datasets and files endpoints with their trailing slash, each answer with exactly the
fields of the SDK's response type (``tests/conformance`` checks it). It checks
``Authorization: Bearer <key>`` on every ``/api/`` request before reading its body (a request
without valid credentials is a 401 whatever its body), refuses a body over its limit (413) from
its ``Content-Length`` or while it streams, and answers errors as ``{"detail": "..."}``.
Lifecycles are time based (see ``EmulatorConfig``), so with ``--state FILE`` a restarted
emulator resumes specs and runs where they were. ``GET /`` says where the API and its docs are.

Deterministic failures on demand:

* ``[fail]`` in a spec's ``name`` or ``generation_objectives``: the spec ends ``FAILED`` with an
  ``error`` message.
* ``[fail-run]`` in a spec's name: its runs end ``FAILED`` (half the samples completed, half
  failed, no files; today's runs have no ``error`` field, so the counters tell the failure).
* ``[partial]`` in a spec's name: its runs of 2 samples or more end ``SUCCEEDED`` with
  ``samples_failed`` > 0 (a tenth of the samples, at least one).
* A SINGLE_FILE seed with fewer than 2 data rows (e.g. a CSV with only a header) is refused at
  upload with a 400 naming the file, as are the other documented type, size and count limits.
* A seed dataset that gets through upload with no usable content (no data row with a value and
  no non-blank text in any file: e.g. a MULTI_FILE dataset of empty ``.txt`` files or header-only
  CSVs, or a SINGLE_FILE JSON of empty records): a spec built from it ends ``FAILED`` with an
  ``error`` ``Seed dataset '<name>' has no usable rows: ...`` naming the files and why.

Fault injection (see :mod:`~dataframer_emulator.faults`): rules given at start
(``EmulatorConfig.faults`` or ``--fault JSON``), through ``EmulatorServer.add_fault()``, or over
HTTP with the admin endpoints, which need the API key when one is configured (``--api-key``).
A rule's ``path`` is a glob (:mod:`~dataframer_emulator.pathglob`), never a regular expression:
``specs/``, ``specs/*/``, ``runs/**``, relative to ``/api/dataframer/``.

* ``GET|POST|DELETE /_emulator/faults``, ``GET|DELETE /_emulator/faults/{id}``: rules and counters.
* ``GET|DELETE /_emulator/requests``: the log of the last API requests (method, path, status,
  outcome), ``request_log_size`` of them (10,000 by default; the oldest are dropped).
* ``POST /_emulator/reset``: forget all state, faults and requests.
* ``GET /_emulator/health`` (no key needed).

Download URLs (``/_emulator/downloads/{token}``) are served without auth, like presigned URLs.
"""

from __future__ import annotations

from dataframer_emulator.app import EmulatorApp, create_app
from dataframer_emulator.config import FAST_TIMINGS, EmulatorConfig, SeedLimits
from dataframer_emulator.faults import FaultRule, RequestRecord
from dataframer_emulator.server import EmulatorServer

__all__ = [
    "FAST_TIMINGS",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "FaultRule",
    "RequestRecord",
    "SeedLimits",
    "create_app",
]
