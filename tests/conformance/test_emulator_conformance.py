"""
The emulator against today's API, as the official SDK (``pydataframer``) describes it.

Every answer of the emulator's specs, runs, seed datasets and files endpoints is checked against
the SDK's response type of that endpoint (``dataframer/types/dataframer/**``): the raw JSON may hold
no field the type lacks, every value must have the declared type (``Literal`` values included),
and the SDK itself must parse it. SDK models accept unknown fields silently, so the raw JSON is
read too, through the SDK client (``with_raw_response``) and through plain httpx.

The types are discovered from the SDK, not listed by hand: a response type of these resources that
no scenario covers fails the test, so a new SDK release with a new endpoint or type shows up here.

Lifecycles are driven by an explicit clock (the service's ``clock``), so each state (PROCESSING,
PENDING, a 202 download, ...) is observed deterministically. The emulator's older-deployment
variants (``READY``, ``IN_PROGRESS``, the whole spec on create) are not today's API and are not
checked here, except the whole spec on create, which is today's ``SpecCreateResponse``.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import re
import types
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Union, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter

pytest.importorskip("fastapi")
dataframer = pytest.importorskip("dataframer")

from dataframer_emulator import EmulatorConfig, EmulatorServer  # noqa: E402

SDK_TYPES = "dataframer.types.dataframer"
#: Response modules of the resources the emulator serves; evaluations, judges, red teams, ... are not.
COVERED_MODULES = re.compile(r"^(spec_|run_|seed_dataset_|runs\.file_|seed_datasets\.file_)\w*_response$")
#: Fields a service may leave out of an object instead of answering null, with why.
MAY_BE_ABSENT = {
    "content_location": "only for a customer-hosted data plane",
    "content_unavailable_reason": "'Absent otherwise' (SDK docstring)",
    "versions": "only with include_versions=true",
}
SEED_CSV = b"id,region,amount\n1,north,10\n2,south,20\n3,north,30\n"
PAGE = b"Quarterly report\nRevenue grew by four percent.\n"


# ----------------------------------------------------------------------------- checking a value


def problems(value: Any, annotation: Any, where: str = "$") -> list[str]:
    """Every way ``value`` (raw JSON) departs from ``annotation`` (an SDK type): extra or mistyped."""
    origin = get_origin(annotation)
    if annotation is Any or annotation is object:
        return []
    if origin in (Union, types.UnionType):
        options = get_args(annotation)
        if value is None:
            return [] if type(None) in options else [f"{where}: null where {annotation} is declared"]
        found = [problems(value, option, where) for option in options if option is not type(None)]
        return [] if any(not p for p in found) else min(found, key=len)
    if value is None:
        return [f"{where}: null where {annotation} is declared"]
    if origin is Literal:
        return (
            []
            if value in get_args(annotation)
            else [f"{where}: {value!r} is not one of {get_args(annotation)}"]
        )
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} where a list is declared"]
        (item,) = get_args(annotation)
        return [p for index, entry in enumerate(value) for p in problems(entry, item, f"{where}[{index}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} where an object is declared"]
        _, item = get_args(annotation)
        return [p for key, entry in value.items() for p in problems(entry, item, f"{where}.{key}")]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return model_problems(value, annotation, where)
    if annotation is datetime:
        if not isinstance(value, str):
            return [f"{where}: {value!r} where a date-time string is declared"]
        try:
            TypeAdapter(datetime).validate_python(value)
        except ValueError:
            return [f"{where}: {value!r} is not a date-time"]
        return []
    if annotation is bool:
        return [] if isinstance(value, bool) else [f"{where}: {value!r} where a bool is declared"]
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} where an int is declared"]
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} where a number is declared"]
    if annotation is str:
        return [] if isinstance(value, str) else [f"{where}: {value!r} where a string is declared"]
    raise AssertionError(f"{where}: the checker does not know the SDK type {annotation!r}")


def model_problems(value: Any, model: type[BaseModel], where: str) -> list[str]:
    """Problems of an object against an SDK model: fields the model lacks, then each field's value."""
    if not isinstance(value, dict):
        return [f"{where}: {type(value).__name__} where a {model.__name__} object is declared"]
    declared = {info.alias or name: info.annotation for name, info in model.model_fields.items()}
    found = [f"{where}.{key}: a field {model.__name__} does not have" for key in value if key not in declared]
    for key, annotation in declared.items():
        if key in value:
            found += problems(value[key], annotation, f"{where}.{key}")
    return found


def missing_fields(value: Any, model: type[BaseModel]) -> list[str]:
    """Declared fields a top-level object leaves out (the API answers them, null if need be)."""
    declared = [info.alias or name for name, info in model.model_fields.items()]
    return [key for key in declared if key not in value and key not in MAY_BE_ABSENT]


# ----------------------------------------------------------------------------- the SDK's types


def sdk_response_types() -> dict[str, Any]:
    """Response types of the covered resources, by module name relative to ``SDK_TYPES``."""
    package = importlib.import_module(SDK_TYPES)
    found: dict[str, Any] = {}
    for module_info in pkgutil.walk_packages(package.__path__, prefix=SDK_TYPES + "."):
        relative = module_info.name.removeprefix(SDK_TYPES + ".")
        if not COVERED_MODULES.match(relative):
            continue
        module = importlib.import_module(module_info.name)
        class_name = "".join(part.title() for part in relative.rsplit(".", 1)[-1].split("_"))
        found[relative] = getattr(module, class_name)
    return found


def sdk_type(relative: str) -> Any:
    """One response type, e.g. ``sdk_type("run_retrieve_response")``."""
    return sdk_response_types()[relative]


# ----------------------------------------------------------------------------- the scenario


class ManualClock:
    """The emulator's clock, moved by the test: every lifecycle state is reached on purpose."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Observations:
    """What the emulator answered, per SDK response type: (what was asked, raw JSON)."""

    answers: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    empty_answers: list[tuple[str, int, bytes]] = field(default_factory=list)

    def add(self, type_name: str, label: str, raw: Any) -> None:
        self.answers.setdefault(type_name, []).append((label, raw))


class Recorder:
    """
    Calls the emulator through the SDK's raw responses and plain httpx, keeping every answer.

    :param server: the emulator.
    :param sdk: an SDK client of it.
    """

    def __init__(self, server: EmulatorServer, sdk: Any) -> None:
        self.server = server
        self.sdk = sdk
        self.http = httpx.Client(base_url=server.url + "/api/dataframer", headers=server.headers, timeout=10)
        self.seen = Observations()

    def sdk_call(self, type_name: str, label: str, call: Callable[[], Any]) -> Any:
        """``call`` is a ``with_raw_response`` method call; record its JSON and return the SDK's parse."""
        raw = call()
        self.seen.add(type_name, f"SDK {label}", raw.http_response.json())
        return raw.parse()

    def http_get(self, type_name: str, label: str, path: str, **kwargs: Any) -> Any:
        """GET ``path`` with plain httpx; record the JSON and return it."""
        response = self.http.get(path, **kwargs)
        assert response.status_code in (200, 202), response.text
        body = response.json()
        self.seen.add(type_name, f"httpx GET {path} -> {response.status_code}", body)
        return body

    def no_body(self, label: str, call: Callable[[], Any]) -> None:
        """A call the SDK declares ``-> None``: record its status and body (which must be empty)."""
        raw = call()
        self.seen.empty_answers.append((label, raw.http_response.status_code, raw.http_response.content))


def _scenario(recorder: Recorder, clock: ManualClock) -> None:
    sdk = recorder.sdk.dataframer
    datasets = sdk.seed_datasets.with_raw_response
    specs = sdk.specs.with_raw_response
    runs = sdk.runs.with_raw_response

    # Seed datasets of every type, by upload and by ZIP.
    single = recorder.sdk_call(
        "seed_dataset_create_with_files_response",
        "create_with_files SINGLE_FILE",
        lambda: datasets.create_with_files(
            name="single", dataset_type="SINGLE_FILE", files=[("rows.csv", SEED_CSV, "text/csv")]
        ),
    )
    recorder.sdk_call(
        "seed_dataset_create_with_files_response",
        "create_with_files MULTI_FOLDER",
        lambda: datasets.create_with_files(
            name="folders",
            dataset_type="MULTI_FOLDER",
            files=[("a.txt", PAGE), ("b.txt", PAGE)],
            folder_names=["one", "two"],
            description="two folders",
        ),
    )
    zipped = _zip({"data/x.md": PAGE, "data/y.md": PAGE, "stray.exe": b"MZ"})
    recorder.sdk_call(
        "seed_dataset_create_from_zip_response",
        "create_from_zip MULTI_FILE",
        lambda: datasets.create_from_zip(name="zipped", zip_file=("d.zip", zipped)),
    )
    recorder.sdk_call("seed_dataset_list_response", "list", lambda: datasets.list())
    recorder.http_get("seed_dataset_list_response", "list", "/seed-datasets/")
    recorder.sdk_call("seed_dataset_retrieve_response", "retrieve", lambda: datasets.retrieve(single.id))
    recorder.http_get("seed_dataset_retrieve_response", "retrieve", f"/seed-datasets/{single.id}/")
    seed_file = single.files[0]
    recorder.sdk_call(
        "seed_datasets.file_download_response",
        "files.download",
        lambda: datasets.files.download(seed_file.id, dataset_id=single.id),
    )

    # Specs: PROCESSING, SUCCEEDED, FAILED; with and without versions; updated; listed.
    seeded = recorder.sdk_call(
        "spec_create_response", "create seeded", lambda: specs.create(name="seeded", dataset_id=single.id)
    )
    seedless = recorder.sdk_call(
        "spec_create_response",
        "create seedless with a model",
        lambda: specs.create(
            name="seedless",
            generation_objectives="Support tickets",
            spec_generation_model_name="databricks/system.ai.claude-opus-5-thinking",
        ),
    )
    failing = recorder.sdk_call(
        "spec_create_response",
        "create failing",
        lambda: specs.create(name="bad [fail]", generation_objectives="o"),
    )
    for spec_id in (seeded.id, seedless.id):
        recorder.sdk_call(
            "spec_retrieve_response", "retrieve PROCESSING", lambda s=spec_id: specs.retrieve(s)
        )
        recorder.http_get(
            "spec_retrieve_response", "PROCESSING", f"/specs/{spec_id}/", params={"include_versions": "true"}
        )
    recorder.sdk_call("spec_list_response", "list PROCESSING", lambda: specs.list())
    clock.advance(recorder.server.config.spec_seconds + 1)
    for spec_id in (seeded.id, seedless.id, failing.id):
        recorder.sdk_call("spec_retrieve_response", "retrieve ended", lambda s=spec_id: specs.retrieve(s))
        recorder.sdk_call(
            "spec_retrieve_response",
            "retrieve ended with versions",
            lambda s=spec_id: specs.retrieve(s, include_versions=True),
        )
    done = sdk.specs.retrieve(seeded.id)
    assert done.content_yaml
    recorder.sdk_call(
        "spec_update_response",
        "update",
        lambda: specs.update(seeded.id, content_yaml=done.content_yaml.replace("Records", "Rows")),
    )
    # The new version, read back with include_versions=true; a PUT through plain httpx too.
    recorder.sdk_call(
        "spec_retrieve_response",
        "retrieve updated with versions",
        lambda: specs.retrieve(seeded.id, include_versions=True),
    )
    put = recorder.http.put(
        f"/specs/{seedless.id}/", json={"content_yaml": sdk.specs.retrieve(seedless.id).content_yaml}
    )
    assert put.status_code == 200, put.text
    recorder.seen.add("spec_update_response", f"httpx PUT /specs/{seedless.id}/ -> 200", put.json())
    recorder.http_get(
        "spec_retrieve_response",
        "updated with versions",
        f"/specs/{seedless.id}/",
        params={"include_versions": "true"},
    )
    recorder.sdk_call("spec_list_response", "list ended", lambda: specs.list())
    recorder.http_get("spec_list_response", "list", "/specs/")

    # Runs: PENDING, PROCESSING, SUCCEEDED, FAILED, CANCELED; listed; cancel and delete.
    bad_spec = sdk.specs.create(name="bad run [fail-run]", generation_objectives="o")
    clock.advance(recorder.server.config.spec_seconds + 1)
    good = recorder.sdk_call(
        "run_create_response",
        "create",
        lambda: runs.create(spec_id=seeded.id, number_of_samples=4, generation_model="openai/gpt-6-astra"),
    )
    failed = recorder.sdk_call(
        "run_create_response", "create", lambda: runs.create(spec_id=bad_spec.id, number_of_samples=4)
    )
    canceled = recorder.sdk_call(
        "run_create_response",
        "create",
        lambda: runs.create(spec_id=seedless.id, number_of_samples=3, revision_types=["consistency"]),
    )
    recorder.sdk_call("run_retrieve_response", "retrieve PENDING", lambda: runs.retrieve(good.id))
    recorder.sdk_call("run_list_response", "list PENDING", lambda: runs.list())
    recorder.no_body("runs.cancel", lambda: runs.cancel(canceled.id))
    config = recorder.server.config
    clock.advance(config.run_pending_seconds + config.run_seconds / 2)
    working = recorder.sdk_call(
        "run_retrieve_response", "retrieve PROCESSING", lambda: runs.retrieve(good.id)
    )
    assert working.status == "PROCESSING"
    recorder.http_get("run_retrieve_response", "PROCESSING", f"/runs/{good.id}/")
    clock.advance(config.run_seconds)
    for run_id in (good.id, failed.id, canceled.id):
        recorder.sdk_call("run_retrieve_response", "retrieve ended", lambda r=run_id: runs.retrieve(r))
        recorder.http_get("run_retrieve_response", "ended", f"/runs/{run_id}/")
    recorder.sdk_call("run_list_response", "list ended", lambda: runs.list())
    recorder.http_get("run_list_response", "list", "/runs/")

    # Downloads: 202 while prepared, then 200; the whole ZIP and one file; with the follow header.
    generated = sdk.runs.retrieve(good.id).generated_files
    assert generated
    follow = {"X-Data-Plane-Follow": "1"}
    for _ in range(2):  # 202, then 200 once the clock passed the preparation time
        recorder.sdk_call(
            "runs.file_download_all_response",
            "files.download_all",
            lambda: runs.files.download_all(good.id, extra_headers=follow),
        )
        recorder.sdk_call(
            "runs.file_download_response",
            "files.download",
            lambda: runs.files.download(generated[0].id, run_id=good.id, extra_headers=follow),
        )
        clock.advance(config.download_seconds + 1)
    recorder.http_get("runs.file_download_all_response", "download", f"/runs/{good.id}/files/download/")

    recorder.no_body("runs.delete", lambda: runs.delete(failed.id))
    recorder.no_body("specs.delete", lambda: specs.delete(failing.id))
    recorder.no_body("seed_datasets.delete", lambda: datasets.delete(sdk.seed_datasets.list()[-1].id))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, content in entries.items():
            archive.writestr(path, content)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def observed() -> Iterator[tuple[Observations, EmulatorServer]]:
    """The scenario, played once against one emulator on loopback with an explicit clock."""
    timings = {
        "spec_seconds": 10.0,
        "run_pending_seconds": 10.0,
        "run_seconds": 100.0,
        "download_seconds": 5.0,
    }
    with EmulatorServer(EmulatorConfig(**timings)) as server:
        clock = ManualClock(server.service.clock())
        server.service.clock = clock
        with dataframer.Dataframer(api_key=server.api_key, base_url=server.url, max_retries=0) as sdk:
            recorder = Recorder(server, sdk)
            try:
                _scenario(recorder, clock)
            finally:
                recorder.http.close()
        yield recorder.seen, server


# ----------------------------------------------------------------------------- the tests


def test_every_sdk_response_type_of_these_resources_is_exercised(observed):
    seen, _ = observed
    discovered = set(sdk_response_types())
    assert len(discovered) == 14, sorted(discovered)
    assert discovered - set(seen.answers) == set(), "response types no scenario covered"


@pytest.mark.parametrize("type_name", sorted(sdk_response_types()))
def test_answers_have_exactly_the_sdk_type_s_fields_and_types(observed, type_name):
    seen, _ = observed
    response_type = sdk_type(type_name)
    found = [
        f"{label}: {problem}"
        for label, raw in seen.answers.get(type_name, [])
        for problem in problems(raw, response_type)
    ]
    assert found == []
    for label, raw in seen.answers.get(type_name, []):
        TypeAdapter(response_type).validate_python(raw)  # and the SDK's own parse accepts it
        assert label


OBJECT_TYPES_ANSWERED_IN_FULL = [
    "seed_dataset_create_with_files_response",
    "seed_dataset_create_from_zip_response",
    "seed_dataset_list_response",
    "seed_dataset_retrieve_response",
    "spec_list_response",
    "spec_retrieve_response",
    "spec_update_response",
    "run_list_response",
    "run_retrieve_response",
]


@pytest.mark.parametrize("type_name", OBJECT_TYPES_ANSWERED_IN_FULL)
def test_objects_answer_every_declared_field_null_where_unset(observed, type_name):
    seen, _ = observed
    response_type = sdk_type(type_name)
    model = get_args(response_type)[0] if get_origin(response_type) is list else response_type
    for label, raw in seen.answers[type_name]:
        for item in raw if isinstance(raw, list) else [raw]:
            assert missing_fields(item, model) == [], label


def _retrieved(seen: Observations, kind: str) -> list[dict[str, Any]]:
    return [raw for label, raw in seen.answers[kind] if label.startswith("SDK")]


def test_runs_have_no_error_and_number_of_samples_only_in_runtime_params(observed):
    seen, _ = observed
    for _, run in seen.answers["run_retrieve_response"]:
        assert "error" not in run and "number_of_samples" not in run
        assert run["runtime_params"]["number_of_samples"] in (3, 4)
    for _, listed in seen.answers["run_list_response"]:
        assert all("number_of_samples" not in run for run in listed)


def test_generated_files_are_null_until_a_run_succeeded(observed):
    seen, _ = observed
    by_status: dict[str, set[bool]] = {}
    for _, run in seen.answers["run_retrieve_response"]:
        by_status.setdefault(run["status"], set()).add(run["generated_files"] is None)
    assert by_status == {
        "PENDING": {True},
        "PROCESSING": {True},
        "SUCCEEDED": {False},
        "FAILED": {True},
        "CANCELED": {True},
    }


def test_spec_nulls_follow_the_status(observed):
    seen, _ = observed
    statuses = set()
    for _, spec in seen.answers["spec_retrieve_response"]:
        statuses.add(spec["status"])
        assert (spec["content_yaml"] is not None) == (spec["status"] == "SUCCEEDED")
        assert (spec["error"] is not None) == (spec["status"] == "FAILED")
        if "versions" in spec:
            assert (spec["versions"] != []) == (spec["status"] == "SUCCEEDED")
    assert statuses == {"PROCESSING", "SUCCEEDED", "FAILED"}


def _version_model() -> type[BaseModel]:
    """The SDK's model of one ``versions[]`` item, read from the declared type of the field."""
    annotation = sdk_type("spec_retrieve_response").model_fields["versions"].annotation
    (listed,) = [option for option in get_args(annotation) if option is not type(None)]
    (item,) = get_args(listed)
    assert issubclass(item, BaseModel)
    return item


def test_spec_versions_carry_only_the_sdk_version_fields_and_grow_with_each_put(observed):
    seen, _ = observed
    declared = set(_version_model().model_fields)
    assert declared == {"content_location", "content_yaml", "created_at"}, "a new SDK: look again"
    answers = [
        (label, raw)
        for type_name in ("spec_retrieve_response", "spec_update_response")
        for label, raw in seen.answers[type_name]
    ]
    with_versions = [(label, raw) for label, raw in answers if raw.get("versions")]
    assert {len(raw["versions"]) for _, raw in with_versions} == {1, 2}, "first versions and updates"
    for label, raw in with_versions:
        for item in raw["versions"]:
            assert set(item) <= declared, label
            assert set(item) >= {"content_yaml", "created_at"}, label  # direct API: the YAML itself
            assert isinstance(item["content_yaml"], str) and item["content_yaml"], label
        created = [item["created_at"] for item in raw["versions"]]
        assert created == sorted(created), label  # oldest first: version n is versions[n - 1]
        assert raw["versions"][-1]["content_yaml"] == raw["content_yaml"], label
    for label, raw in seen.answers["spec_update_response"]:
        assert len(raw["versions"]) == 2, label


def test_versions_only_with_include_versions(observed):
    seen, _ = observed
    asked = _retrieved(seen, "spec_retrieve_response")
    labels = [label for label, _ in seen.answers["spec_retrieve_response"] if label.startswith("SDK")]
    assert len(asked) == len(labels) >= 4
    for label, raw in zip(labels, asked, strict=True):
        assert ("versions" in raw) == ("with versions" in label), label


def test_runs_are_listed_newest_first(observed):
    seen, _ = observed
    for _, listed in seen.answers["run_list_response"]:
        created = [run["created_at"] for run in listed]
        assert created == sorted(created, reverse=True)
        assert len(listed) >= 3


def test_calls_the_sdk_declares_without_a_result_answer_without_a_body(observed):
    seen, _ = observed
    assert [label for label, _, _ in seen.empty_answers] == [
        "runs.cancel",
        "runs.delete",
        "specs.delete",
        "seed_datasets.delete",
    ]
    for label, status, content in seen.empty_answers:
        assert (status, content) == (204, b""), label


def test_downloads_answer_202_then_200_with_the_same_fields(observed):
    seen, _ = observed
    archives = [raw for _, raw in seen.answers["runs.file_download_all_response"]]
    assert archives[0] == {"download_url": None, "size_bytes": None}
    assert all(raw["download_url"] for raw in archives[1:])
    files = [raw for _, raw in seen.answers["runs.file_download_response"]]
    assert files[0] == {"download_url": None, "filename": None, "content_type": None}
    assert files[1]["download_url"] and files[1]["filename"]


def test_seed_files_carry_sha256(observed):
    seen, _ = observed
    for _, dataset in seen.answers["seed_dataset_retrieve_response"]:
        assert all(re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) for f in dataset["files"])


def test_the_run_zip_holds_metadata_sidecars_and_a_top_level_metadata(observed):
    seen, _ = observed
    url = seen.answers["runs.file_download_all_response"][-1][1]["download_url"]
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(url).content))
    names = archive.namelist()
    data = [name for name in names if not name.endswith(".metadata")]
    assert data, names
    assert sorted(names) == sorted([*data, *(f"{name}.metadata" for name in data), "top_level.metadata"])


def test_spec_create_answering_the_whole_spec_conforms(dataframer_emulator_factory):
    """Some deployments answer a spec create with the whole spec: today's SpecCreateResponse."""
    server = dataframer_emulator_factory(spec_create_returns_object=True)
    with dataframer.Dataframer(api_key=server.api_key, base_url=server.url, max_retries=0) as sdk:
        raw = sdk.dataframer.specs.with_raw_response.create(name="whole", generation_objectives="o")
    body = raw.http_response.json()
    assert body["status"] == "PROCESSING"
    assert problems(body, sdk_type("spec_create_response")) == []
    assert missing_fields(body, sdk_type("spec_create_response")) == []


def test_the_checker_catches_extra_and_mistyped_fields():
    """The checker itself: a field the type lacks, a wrong type, a value outside a Literal."""
    run_type = sdk_type("run_retrieve_response")
    assert problems({"id": "r", "status": "SUCCEEDED"}, run_type) == []
    assert problems({"id": "r", "error": "boom"}, run_type) == [
        "$.error: a field RunRetrieveResponse does not have"
    ]
    assert problems({"status": "READY"}, run_type)[0].startswith("$.status: 'READY' is not one of")
    assert problems({"samples_completed": "5"}, run_type) == [
        "$.samples_completed: '5' where an int is declared"
    ]
    assert problems({"runtime_params": {"number_of_samples": 3, "extra": 1}}, run_type) == [
        "$.runtime_params.extra: a field RuntimeParams does not have"
    ]
    assert problems({"generated_files": None}, run_type) == []
    assert problems({"created_at": "yesterday"}, run_type) == ["$.created_at: 'yesterday' is not a date-time"]
    assert problems([{"id": 1}], sdk_type("spec_list_response")) == ["$[0].id: 1 where a string is declared"]
