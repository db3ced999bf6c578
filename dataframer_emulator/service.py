"""The emulated Dataframer: rules of the contract over a store, independent of HTTP."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dataframer_emulator.config import EmulatorConfig
from dataframer_emulator.errors import ApiError, bad_request, not_found
from dataframer_emulator.generator import (
    GeneratedFile,
    SeedMaterial,
    SpecOptions,
    build_spec_yaml,
    build_zip,
    generate_files,
    merge_spec_yaml,
)
from dataframer_emulator.lifecycle import run_progress, spec_status
from dataframer_emulator.profiles import seed_emptiness
from dataframer_emulator.records import (
    DATASET_TYPES,
    DatasetRecord,
    DownloadTokenRecord,
    PreparationRecord,
    RunRecord,
    SeedFile,
    SpecRecord,
    SpecVersion,
)
from dataframer_emulator.schemas import (
    OLDER_SPEC_MODELS,
    RUN_RUNTIME_PARAMS,
    SPEC_MODELS,
    RunCreate,
    SpecCreate,
    SpecUpdate,
)
from dataframer_emulator.seeds import Upload, mime_type, uploads_from_zip, validate_uploads
from dataframer_emulator.store import Store
from dataframer_emulator.views import (
    Json,
    dataset_summary,
    dataset_view,
    run_summary,
    run_view,
    spec_summary,
    spec_view,
)

FAIL_SPEC_MARKER = "[fail]"
FAIL_RUN_MARKER = "[fail-run]"
PARTIAL_RUN_MARKER = "[partial]"
MAX_SAMPLES = 20000
#: Suffix of the sidecar beside each generated file in a run's ZIP, and the run's own metadata.
METADATA_SUFFIX = ".metadata"
TOP_LEVEL_METADATA = "top_level.metadata"
DOWNLOADS_PATH = "/_emulator/downloads/"

_ACCEPTED_SPEC_MODELS = frozenset(SPEC_MODELS + OLDER_SPEC_MODELS)


ALL_REVISION_TYPES = ("coherence_flow", "consistency", "distinguishability", "conformance")


def run_runtime_params(body: RunCreate, seeded: bool) -> dict[str, Any]:
    """
    A run's ``runtime_params``: the number of samples and the generation settings given.

    The deprecated ``enable_revisions=true`` without revision or filtering types means every
    revision type (``distinguishability`` only for a seeded spec) and structural filtering.

    :param body: the create request.
    :param seeded: whether the run's spec has a seed dataset.
    """
    params: dict[str, Any] = {"number_of_samples": body.number_of_samples}
    given = body.model_dump(include=set(RUN_RUNTIME_PARAMS), exclude_none=True)
    if body.enable_revisions and "revision_types" not in given and "filtering_types" not in given:
        given["revision_types"] = [t for t in ALL_REVISION_TYPES if seeded or t != "distinguishability"]
        given["filtering_types"] = ["structural"]
    params.update({name: given[name] for name in RUN_RUNTIME_PARAMS if name in given})
    return params


@dataclass(frozen=True)
class Download:
    """
    Bytes served at a download URL.

    :param content: the ZIP or the file.
    :param media_type: its MIME type.
    :param filename: name for ``Content-Disposition``.
    """

    content: bytes
    media_type: str
    filename: str


class EmulatorService:
    """
    Seed datasets, specs, runs and downloads, as the documented contract describes them.

    :param config: the emulator configuration.
    :param store: where state is kept.
    :param clock: current UNIX time; injectable for tests.
    """

    def __init__(self, config: EmulatorConfig, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self._files_cache: OrderedDict[tuple[str, int, int], list[GeneratedFile]] = OrderedDict()
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ seed datasets

    def create_dataset(
        self,
        name: str,
        dataset_type: str,
        uploads: list[Upload],
        description: str | None = None,
    ) -> Json:
        """Validate and store a seed dataset; answer its object."""
        if not name.strip():
            raise bad_request("name: a seed dataset needs a non-empty name.")
        if dataset_type not in DATASET_TYPES:
            raise ApiError(
                422, f"dataset_type: must be one of {', '.join(DATASET_TYPES)} (got '{dataset_type}')."
            )
        if not uploads:
            raise bad_request("files: at least one file is required.")
        valid = validate_uploads(dataset_type, uploads, self.config.limits)
        with self.store.lock:
            if any(d.name == name for d in self.store.all(DatasetRecord)):
                raise bad_request(f"A seed dataset named '{name}' already exists.")
            dataset_id = str(uuid.uuid4())
            files = []
            for upload in valid.uploads:
                file_id = str(uuid.uuid4())
                self.store.put_blob(f"seed/{dataset_id}/{file_id}", upload.content)
                files.append(
                    SeedFile(
                        id=file_id,
                        path=upload.path,
                        folder=upload.folder,
                        file_type=mime_type(upload.filename),
                        size_bytes=len(upload.content),
                        sha256=hashlib.sha256(upload.content).hexdigest(),
                    )
                )
            dataset = DatasetRecord(
                id=dataset_id,
                name=name,
                dataset_type=dataset_type,  # type: ignore[arg-type]  # checked against DATASET_TYPES
                description=description,
                files=files,
                folder_count=valid.folder_count,
                sample_count=valid.sample_count,
                created_at=self.clock(),
                created_by_email=self.config.created_by_email,
            )
            self.store.save(dataset)
        return dataset_view(dataset)

    def create_dataset_from_zip(self, name: str, zip_bytes: bytes, description: str | None = None) -> Json:
        """Store a seed dataset whose type is detected from the ZIP's layout."""
        if not name.strip():
            raise bad_request("name: a seed dataset needs a non-empty name.")
        dataset_type, uploads = uploads_from_zip(zip_bytes, self.config.limits)
        return self.create_dataset(name, dataset_type, uploads, description)

    def list_datasets(self) -> list[Json]:
        """Every dataset, oldest first."""
        return [dataset_summary(d) for d in self.store.all(DatasetRecord)]

    def get_dataset(self, dataset_id: str) -> Json:
        """One dataset."""
        return dataset_view(self._dataset(dataset_id))

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset no spec uses."""
        with self.store.lock:
            self._dataset(dataset_id)
            users = [s for s in self.store.all(SpecRecord) if s.dataset_id == dataset_id]
            if users:
                raise bad_request(
                    f"Seed dataset '{dataset_id}' is used by {len(users)} spec(s); delete them first."
                )
            self.store.delete(DatasetRecord, dataset_id)
            self.store.delete_blobs(f"seed/{dataset_id}/")

    def _dataset(self, dataset_id: str) -> DatasetRecord:
        dataset = self.store.get(DatasetRecord, dataset_id)
        if dataset is None:
            raise not_found("Seed dataset", dataset_id)
        return dataset

    def _seed(self, dataset: DatasetRecord) -> SeedMaterial:
        uploads = []
        for seed_file in dataset.files:
            content = self.store.get_blob(f"seed/{dataset.id}/{seed_file.id}") or b""
            uploads.append(Upload(seed_file.path.rsplit("/", 1)[-1], content, seed_file.folder))
        return SeedMaterial(dataset_type=dataset.dataset_type, uploads=uploads)

    # ------------------------------------------------------------------ specs

    def _check_spec_request(self, body: SpecCreate) -> None:
        if not body.name.strip():
            raise bad_request("name: a spec needs a non-empty name.")
        if body.dataset_id is None and not (body.generation_objectives or "").strip():
            raise bad_request("generation_objectives is required for a seedless spec (no dataset_id).")
        if body.generate_conditional_distributions and not body.generate_distributions:
            raise bad_request("generate_conditional_distributions requires generate_distributions=true.")
        model = body.spec_generation_model_name
        if model is not None and model not in _ACCEPTED_SPEC_MODELS:
            raise bad_request(
                f"spec_generation_model_name: '{model}' is not an available model; "
                f"available: {', '.join(SPEC_MODELS)} (older deployments: {', '.join(OLDER_SPEC_MODELS)})."
            )

    @staticmethod
    def _spec_failure(
        body: SpecCreate, dataset: DatasetRecord | None, seed: SeedMaterial | None
    ) -> str | None:
        """
        The ``error`` a new spec ends FAILED with, or ``None`` when it will succeed.

        :param body: the create request; the failure marker in its name or objectives fails it.
        :param dataset: the seed dataset, ``None`` for a seedless spec.
        :param seed: the dataset's files; a seed without a usable row or text fails the spec.
        """
        if FAIL_SPEC_MARKER in body.name or FAIL_SPEC_MARKER in (body.generation_objectives or ""):
            return (
                "Spec generation failed: the model could not derive a consistent structure from the input "
                f"(emulator marker {FAIL_SPEC_MARKER})."
            )
        if dataset is not None and seed is not None:
            emptiness = seed_emptiness(seed.uploads)
            if emptiness is not None:
                return f"Seed dataset '{dataset.name}' has no usable rows: {emptiness}."
        return None

    def create_spec(self, body: SpecCreate) -> Json:
        """Start generating a spec; answer ``{"id": ...}`` (or the whole spec, if so configured)."""
        self._check_spec_request(body)
        now = self.clock()
        with self.store.lock:
            dataset = self._dataset(body.dataset_id) if body.dataset_id is not None else None
            dataset_id = dataset.id if dataset else None
            for other in self.store.all(SpecRecord):
                if other.name == body.name and other.dataset_id == dataset_id:
                    scope = f"for seed dataset '{dataset.name}'" if dataset else "among seedless specs"
                    raise bad_request(f"A spec named '{body.name}' already exists {scope}.")
            spec_id = str(uuid.uuid4())
            ready_at = now + self.config.spec_seconds
            seed = self._seed(dataset) if dataset else None
            error = self._spec_failure(body, dataset, seed)
            model = body.spec_generation_model_name or self.config.default_spec_model
            versions = []
            if error is None:
                options = SpecOptions(
                    spec_id=spec_id,
                    name=body.name,
                    model=model,
                    dataset_name=dataset.name if dataset else None,
                    generation_objectives=body.generation_objectives,
                    generate_distributions=body.generate_distributions,
                    generate_conditional_distributions=body.generate_conditional_distributions,
                    extrapolate_values=body.extrapolate_values,
                    extrapolate_axes=body.extrapolate_axes,
                )
                content = build_spec_yaml(options, seed)
                versions.append(SpecVersion(version=1, content_yaml=content, created_at=ready_at))
            runtime_params: dict[str, Any] = {
                "spec_generation_model_name": model,
                "generate_distributions": body.generate_distributions,
                "generate_conditional_distributions": body.generate_conditional_distributions,
                "extrapolate_values": body.extrapolate_values if dataset else False,
                "extrapolate_axes": body.extrapolate_axes if dataset else False,
            }
            if body.databricks_api_base:
                # The client id and secret are not kept: a secret must never come back in a response.
                runtime_params["databricks_api_base"] = body.databricks_api_base
            spec = SpecRecord(
                id=spec_id,
                name=body.name,
                dataset_id=dataset_id,
                dataset_name=dataset.name if dataset else None,
                dataset_type=dataset.dataset_type if dataset else "MULTI_FILE",
                description=body.description,
                generation_objectives=body.generation_objectives,
                runtime_params=runtime_params,
                created_at=now,
                ready_at=ready_at,
                error=error,
                versions=versions,
                created_by_email=self.config.created_by_email,
            )
            self.store.save(spec)
        if self.config.spec_create_returns_object:
            return spec_view(spec, now, self.config)
        return {"id": spec_id}

    def get_spec(self, spec_id: str, include_versions: bool = False) -> Json:
        """One spec, optionally with its versions."""
        return spec_view(self._spec(spec_id), self.clock(), self.config, include_versions)

    def list_specs(self) -> list[Json]:
        """Every spec of the company, summary fields only."""
        now = self.clock()
        return [spec_summary(s, now, self.config) for s in self.store.all(SpecRecord)]

    def update_spec(self, spec_id: str, body: SpecUpdate) -> Json:
        """Add a version with the submitted YAML; answer the spec."""
        with self.store.lock:
            spec = self._spec(spec_id)
            now = self.clock()
            status = spec_status(spec, now)
            if status != "SUCCEEDED":
                raise bad_request(f"Spec '{spec_id}' cannot be edited while its status is {status}.")
            content = merge_spec_yaml(spec.versions[-1].content_yaml, body.content_yaml)
            spec.versions.append(
                SpecVersion(version=len(spec.versions) + 1, content_yaml=content, created_at=now)
            )
            self.store.save(spec)
        return spec_view(spec, now, self.config, include_versions=True)

    def delete_spec(self, spec_id: str, force: bool = False) -> None:
        """Delete a spec; with ``force`` also its runs, else a spec with runs is refused."""
        with self.store.lock:
            self._spec(spec_id)
            runs = [r for r in self.store.all(RunRecord) if r.spec_id == spec_id]
            if runs and not force:
                raise bad_request(
                    f"Spec '{spec_id}' has {len(runs)} run(s); delete with force=true to delete them as well."
                )
            for run in runs:
                self._delete_run(run.id)
            self.store.delete(SpecRecord, spec_id)

    def _spec(self, spec_id: str) -> SpecRecord:
        spec = self.store.get(SpecRecord, spec_id)
        if spec is None:
            raise not_found("Spec", spec_id)
        return spec

    # ------------------------------------------------------------------ runs

    def create_run(self, body: RunCreate) -> Json:
        """Start a run of a SUCCEEDED spec; answer ``{"id": ...}``."""
        samples = body.number_of_samples
        if not 1 <= samples <= MAX_SAMPLES:
            raise bad_request(f"number_of_samples must be between 1 and {MAX_SAMPLES} (got {samples}).")
        now = self.clock()
        with self.store.lock:
            spec = self._spec(body.spec_id)
            status = spec_status(spec, now)
            if status != "SUCCEEDED":
                raise bad_request(
                    f"Spec '{spec.id}' is not ready for a run: its status is {status} (a run needs a SUCCEEDED spec)."
                )
            version = body.spec_version if body.spec_version is not None else len(spec.versions)
            if not 1 <= version <= len(spec.versions):
                raise bad_request(
                    f"spec_version {version} does not exist (spec has {len(spec.versions)} version(s))."
                )
            outcome = "FAILED" if FAIL_RUN_MARKER in spec.name else "SUCCEEDED"
            partial = PARTIAL_RUN_MARKER in spec.name and outcome == "SUCCEEDED" and samples > 1
            started_at = now + self.config.run_pending_seconds
            run = RunRecord(
                id=str(uuid.uuid4()),
                spec_id=spec.id,
                spec_name=spec.name,
                spec_version=version,
                dataset_id=spec.dataset_id,
                dataset_name=spec.dataset_name,
                dataset_type=spec.dataset_type,
                number_of_samples=samples,
                runtime_params=run_runtime_params(body, seeded=spec.dataset_id is not None),
                created_at=now,
                started_at=started_at,
                finishes_at=started_at + self.config.run_seconds,
                outcome=outcome,  # type: ignore[arg-type]  # one of the two literals above
                planned_failed=min(max(1, samples // 10), samples - 1) if partial else 0,
                cost_per_sample=self.config.cost_per_sample,
                created_by_email=self.config.created_by_email,
            )
            self.store.save(run)
        return {"id": run.id}

    def get_run(self, run_id: str) -> Json:
        """One run; its ``generated_files`` are null until it SUCCEEDED, as the API leaves them."""
        run = self._run(run_id)
        progress = run_progress(run, self.clock())
        files = self._file_entries(run) if progress.status == "SUCCEEDED" else None
        return run_view(run, progress, self.config, files)

    def list_runs(self) -> list[Json]:
        """Every run, newest first (as the API lists them)."""
        now = self.clock()
        # Newest first; among runs created at the same instant, the last created first.
        runs = sorted(reversed(self.store.all(RunRecord)), key=lambda r: r.created_at, reverse=True)
        return [run_summary(r, run_progress(r, now), self.config) for r in runs]

    def cancel_run(self, run_id: str) -> None:
        """Cancel a PENDING or PROCESSING run (the API answers without a body)."""
        with self.store.lock:
            run = self._run(run_id)
            now = self.clock()
            progress = run_progress(run, now)
            if progress.terminal:
                raise bad_request(f"Run '{run_id}' is already {progress.status} and cannot be canceled.")
            run.canceled_at = now
            self.store.save(run)

    def delete_run(self, run_id: str) -> None:
        """Delete a run and its downloads."""
        with self.store.lock:
            self._run(run_id)
            self._delete_run(run_id)

    def _delete_run(self, run_id: str) -> None:
        self.store.delete(RunRecord, run_id)
        for preparation in self.store.all(PreparationRecord):
            if preparation.run_id == run_id:
                self.store.delete(PreparationRecord, preparation.id)

    def _run(self, run_id: str) -> RunRecord:
        run = self.store.get(RunRecord, run_id)
        if run is None:
            raise not_found("Run", run_id)
        return run

    # ------------------------------------------------------------------ generated files

    @staticmethod
    def file_id(run_id: str, path: str) -> str:
        """The stable id of a generated file."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataframer-emulator:{run_id}/{path}"))

    def generated_files(self, run: RunRecord) -> list[GeneratedFile]:
        """The files a SUCCEEDED run produced (computed once, then cached)."""
        completed = run_progress(run, self.clock()).samples_completed
        key = (run.id, run.spec_version, completed)
        with self._cache_lock:
            cached = self._files_cache.get(key)
            if cached is not None:
                self._files_cache.move_to_end(key)
                return cached
        spec = self.store.get(SpecRecord, run.spec_id)
        versions = spec.versions if spec else []
        content = versions[run.spec_version - 1].content_yaml if len(versions) >= run.spec_version else ""
        dataset = self.store.get(DatasetRecord, run.dataset_id) if run.dataset_id else None
        files = generate_files(run.id, content, self._seed(dataset) if dataset else None, completed)
        with self._cache_lock:
            self._files_cache[key] = files
            while len(self._files_cache) > 16:
                self._files_cache.popitem(last=False)
        return files

    def _file_entries(self, run: RunRecord) -> list[Json]:
        return [
            {
                "id": self.file_id(run.id, f.path),
                "path": f.path,
                "file_type": f.file_type,
                "size_bytes": len(f.content),
            }
            for f in self.generated_files(run)
        ]

    # ------------------------------------------------------------------ downloads

    def _downloadable(self, run_id: str, file_id: str | None) -> tuple[RunRecord, GeneratedFile | None]:
        run = self._run(run_id)
        status = run_progress(run, self.clock()).status
        if status != "SUCCEEDED":
            raise bad_request(f"Run '{run_id}' has no files to download: its status is {status}.")
        if file_id is None:
            return run, None
        for generated in self.generated_files(run):
            if self.file_id(run.id, generated.path) == file_id:
                return run, generated
        raise ApiError(404, f"File '{file_id}' not found in run '{run_id}'.")

    def prepare_download(self, run_id: str, file_id: str | None, base_url: str) -> tuple[int, Json]:
        """202 while the download is being prepared, then 200 with a URL fetched without auth."""
        run, generated = self._downloadable(run_id, file_id)
        now = self.clock()
        with self.store.lock:
            key = f"{run_id}:{file_id or '*'}"
            preparation = self.store.get(PreparationRecord, key)
            if preparation is None:
                preparation = PreparationRecord(
                    id=key,
                    run_id=run_id,
                    file_id=file_id,
                    requested_at=now,
                    ready_at=now + self.config.download_seconds,
                )
                self.store.save(preparation)
        if now < preparation.ready_at:
            # Still being prepared: the answer's fields are those of the 200, not yet known.
            if generated is None:
                return 202, {"download_url": None, "size_bytes": None}
            return 202, {"download_url": None, "filename": None, "content_type": None}
        url = self._download_url(base_url, run_id=run_id, file_id=file_id)
        if generated is None:
            return 200, {"download_url": url, "size_bytes": len(self.run_archive(run))}
        return 200, {
            "download_url": url,
            "filename": generated.path.rsplit("/", 1)[-1],
            "content_type": generated.file_type,
        }

    def seed_file_download(self, dataset_id: str, file_id: str, base_url: str) -> Json:
        """A URL of one file of a seed dataset, fetched without auth."""
        seed_file = self._seed_file(dataset_id, file_id)
        return {
            "download_url": self._download_url(base_url, dataset_id=dataset_id, file_id=file_id),
            "filename": seed_file.path.rsplit("/", 1)[-1],
            "content_type": seed_file.file_type,
        }

    def _seed_file(self, dataset_id: str, file_id: str) -> SeedFile:
        for seed_file in self._dataset(dataset_id).files:
            if seed_file.id == file_id:
                return seed_file
        raise ApiError(404, f"File '{file_id}' not found in seed dataset '{dataset_id}'.")

    def _download_url(
        self, base_url: str, *, run_id: str | None = None, dataset_id: str | None = None, file_id: str | None
    ) -> str:
        token = secrets.token_urlsafe(24)
        self.store.save(
            DownloadTokenRecord(
                id=token,
                run_id=run_id,
                dataset_id=dataset_id,
                file_id=file_id,
                expires_at=self.clock() + self.config.download_url_ttl_seconds,
            )
        )
        return base_url.rstrip("/") + DOWNLOADS_PATH + token

    def run_archive(self, run: RunRecord) -> bytes:
        """
        The ZIP of a SUCCEEDED run, as the API builds it: the generated files at their paths, a
        ``<path>.metadata`` sidecar beside each (its evaluation classifications, none here) and a
        ``top_level.metadata`` (the run and its evaluation summary, none here).
        """
        files = self.generated_files(run)
        progress = run_progress(run, self.clock())
        metadata: dict[str, bytes] = {}
        for generated in files:
            sidecar = {
                "path": generated.path,
                "file_type": generated.file_type,
                "size_bytes": len(generated.content),
                "sha256": hashlib.sha256(generated.content).hexdigest(),
                "classifications": None,
            }
            metadata[f"{generated.path}{METADATA_SUFFIX}"] = json.dumps(sidecar, indent=2).encode()
        top_level = {
            "run_id": run.id,
            "spec_id": run.spec_id,
            "spec_version": run.spec_version,
            "number_of_samples": run.number_of_samples,
            "samples_completed": progress.samples_completed,
            "samples_failed": progress.samples_failed,
            "files": [generated.path for generated in files],
            "evaluation_summary": None,
        }
        metadata[TOP_LEVEL_METADATA] = json.dumps(top_level, indent=2).encode()
        return build_zip(files, metadata)

    def fetch_download(self, token: str) -> Download:
        """The bytes behind a download URL; 403 when the URL is unknown or expired, like a presigned URL."""
        record = self.store.get(DownloadTokenRecord, token)
        if record is None or record.expires_at < self.clock():
            raise ApiError(403, "Request has expired or the signature does not match (AccessDenied).")
        if record.dataset_id is not None and record.file_id is not None:
            seed_file = self._seed_file(record.dataset_id, record.file_id)
            content = self.store.get_blob(f"seed/{record.dataset_id}/{seed_file.id}") or b""
            return Download(content, seed_file.file_type, seed_file.path.rsplit("/", 1)[-1])
        run, generated = self._downloadable(record.run_id or "", record.file_id)
        if generated is not None:
            return Download(generated.content, generated.file_type, generated.path.rsplit("/", 1)[-1])
        return Download(self.run_archive(run), "application/zip", f"run_{run.id}.zip")

    # ------------------------------------------------------------------ admin

    def reset(self) -> None:
        """Forget every dataset, spec, run and download."""
        with self.store.lock:
            self.store.clear()
        with self._cache_lock:
            self._files_cache.clear()
