"""
The platform endpoints' rules, over the emulator's store: evaluations, anonymization, red teaming.

Runs, specs and seed datasets are read through the store and :class:`EmulatorService`'s public
methods; nothing here changes them. Deterministic failures on demand:

* ``[fail-eval]`` in a spec's name: evaluations of its runs end ``FAILED`` with an ``error_message``.
* ``[poor-run]`` in a spec's name: its runs succeed, but an evaluation finds a mode collapse
  (seven samples in ten classified as each property's most requested value).
* ``[fail-anon]`` in a seed dataset's name: its anonymization runs end ``FAILED``
  (``results.error``).
* ``[fail-run]`` in a red-team spec's ``app_description``: its runs end ``FAILED``
  (``error_message``).

Evaluations and anonymization runs stay PENDING for ``run_pending_seconds`` and PROCESSING for
``spec_seconds``; red-team runs take ``run_pending_seconds`` and ``run_seconds``; an anonymized
ZIP is ``generating`` for ``download_seconds``.
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Any

from dataframer_emulator.anonymizer import entity_summary, mask_file
from dataframer_emulator.errors import ApiError, bad_request, not_found
from dataframer_emulator.evaluation import FAIL_EVALUATION_MARKER, POOR_RUN_MARKER, evaluate
from dataframer_emulator.generator import GeneratedFile, build_zip
from dataframer_emulator.lifecycle import run_progress
from dataframer_emulator.platform_records import (
    AnonymizationRecord,
    ArchiveRecord,
    EvaluationRecord,
    Job,
    MaskedFile,
    PlatformDownloadRecord,
    RedTeamRunRecord,
    RedTeamSpecRecord,
    job_status,
)
from dataframer_emulator.platform_schemas import (
    AnonymizationCreate,
    EvaluationCreate,
    RedTeamRunCreate,
    RedTeamSpecCreate,
    RedTeamSpecUpdate,
)
from dataframer_emulator.records import DatasetRecord, RunRecord, SpecRecord
from dataframer_emulator.red_team import generate_prompts, snake_case
from dataframer_emulator.seeds import Upload, mime_type
from dataframer_emulator.service import Download, EmulatorService
from dataframer_emulator.views import Json, timestamp

FAIL_ANONYMIZATION_MARKER = "[fail-anon]"
FAIL_RED_TEAM_MARKER = "[fail-run]"
DETECTION_METHODS = ("pii_m1", "llm", "all")
PLATFORM_DOWNLOADS_PATH = "/_emulator/downloads/platform/"
#: The user id the emulator reports as ``created_by``.
CREATED_BY = 1
MAX_RED_TEAM_PROMPTS = 10000

_MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.\-]*/[\w.\-:]+$")


def _check_model(field: str, value: str) -> None:
    if not _MODEL_NAME.match(value):
        raise bad_request(f"{field} '{value}' is not a 'provider/model' name.")


class PlatformService:
    """
    Evaluations, anonymization runs and red teaming, as the SDK's types describe them.

    :param core: the emulator's service: its store, clock, configuration and runs.
    """

    def __init__(self, core: EmulatorService) -> None:
        self.core = core

    @property
    def store(self) -> Any:
        """The emulator's store."""
        return self.core.store

    def _times(self, working_seconds: float) -> dict[str, float]:
        now = self.core.clock()
        started = now + self.core.config.run_pending_seconds
        return {"created_at": now, "started_at": started, "finishes_at": started + working_seconds}

    def _get(self, kind: type[Any], record_id: str, what: str) -> Any:
        record = self.store.get(kind, record_id)
        if record is None:
            raise not_found(what, record_id)
        return record

    def _completed_at(self, job: Job) -> str | None:
        return timestamp(job.finishes_at) if self.core.clock() >= job.finishes_at else None

    # ------------------------------------------------------------------ evaluations

    def create_evaluation(self, body: EvaluationCreate) -> Json:
        """Start evaluating a SUCCEEDED run; answer the evaluation (PENDING)."""
        _check_model("evaluation_model", body.evaluation_model)
        run: RunRecord = self._get(RunRecord, body.run_id, "Run")
        status = run_progress(run, self.core.clock()).status
        if status != "SUCCEEDED":
            raise bad_request(
                f"Run '{run.id}' cannot be evaluated: its status is {status} (it must be SUCCEEDED)."
            )
        spec = self.store.get(SpecRecord, run.spec_id)
        versions = spec.versions if spec else []
        spec_yaml = versions[run.spec_version - 1].content_yaml if len(versions) >= run.spec_version else ""
        error = None
        if FAIL_EVALUATION_MARKER in run.spec_name:
            error = f"The evaluation model stopped responding (emulator marker {FAIL_EVALUATION_MARKER})."
        files: list[GeneratedFile] = self.core.generated_files(run)
        analysis, samples = evaluate(spec_yaml, files, POOR_RUN_MARKER in run.spec_name)
        record = EvaluationRecord(
            id=str(uuid.uuid4()),
            run_id=run.id,
            evaluation_model=body.evaluation_model,
            analysis=[] if error else analysis,
            samples=[] if error else samples,
            error=error,
            created_by_email=self.core.config.created_by_email,
            **self._times(self.core.config.spec_seconds),
        )
        self.store.save(record)
        return self.evaluation_view(record)

    def get_evaluation(self, evaluation_id: str) -> Json:
        """One evaluation; its results once it SUCCEEDED."""
        return self.evaluation_view(self._get(EvaluationRecord, evaluation_id, "Evaluation"))

    def list_run_evaluations(self, run_id: str) -> list[Json]:
        """The evaluations of one run, oldest first."""
        self._get(RunRecord, run_id, "Run")
        return [self._evaluation_summary(e) for e in self.store.all(EvaluationRecord) if e.run_id == run_id]

    def _evaluation_summary(self, record: EvaluationRecord) -> Json:
        return {
            "id": record.id,
            "run_id": record.run_id,
            "status": job_status(record, self.core.clock()),
            "created_at": timestamp(record.created_at),
            "completed_at": self._completed_at(record),
            "created_by_email": record.created_by_email,
        }

    def evaluation_view(self, record: EvaluationRecord) -> Json:
        """An evaluation as read: distributions and classifications only once it SUCCEEDED."""
        view = self._evaluation_summary(record)
        done = view["status"] == "SUCCEEDED"
        view["error_message"] = record.error if view["status"] == "FAILED" else None
        view["distribution_analysis"] = (
            [
                {
                    "property_name": a.property_name,
                    "requested_distributions": a.requested,
                    "expected_distributions": a.expected,
                    "evaluated_distributions": a.evaluated,
                    "total_samples": a.total_samples,
                    "total_samples_analyzed": a.analyzed,
                }
                for a in record.analysis
            ]
            if done
            else None
        )
        view["sample_classifications"] = (
            [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record.id}/{s.sample}")),
                    "evaluation_id": record.id,
                    "sample_identifier": s.sample,
                    "classifications": s.labels,
                    "created_at": timestamp(record.finishes_at),
                }
                for s in record.samples
            ]
            if done
            else []
        )
        return view

    # ------------------------------------------------------------------ anonymization

    def create_anonymization(self, body: AnonymizationCreate) -> Json:
        """Start masking the PII of a seed dataset; answer the run (PENDING)."""
        if body.detection_method not in DETECTION_METHODS:
            raise bad_request(
                f"detection_method must be one of {', '.join(DETECTION_METHODS)} (got '{body.detection_method}')."
            )
        if not body.pii_types:
            raise bad_request("pii_types: list at least one entity type, e.g. ['email', 'phone_number'].")
        upper = [t for t in body.pii_types if t != t.lower() or not t.strip()]
        if upper:
            raise bad_request(f"pii_types must be non-empty lowercase names; got {upper}.")
        if body.detection_method in ("llm", "all") and not body.llm_model_name:
            raise bad_request(f"llm_model_name is required with detection_method '{body.detection_method}'.")
        if body.llm_model_name:
            _check_model("llm_model_name", body.llm_model_name)
        threshold = float(body.threshold) if body.threshold is not None else None
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise bad_request(f"threshold must be between 0.0 and 1.0 (got {threshold}).")
        dataset: DatasetRecord = self._get(DatasetRecord, body.dataset_id, "Seed dataset")
        run_id = str(uuid.uuid4())
        masks = body.mask_config or {}
        llm = body.detection_method != "pii_m1"
        files, entities, samples = [], [], 0
        for seed_file in dataset.files:
            content = self.store.get_blob(f"seed/{dataset.id}/{seed_file.id}") or b""
            upload = Upload(seed_file.path.rsplit("/", 1)[-1], content, seed_file.folder)
            masked = mask_file(upload, body.pii_types, masks, 0.5 if threshold is None else threshold, llm)
            file_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dataframer-emulator:{run_id}/{seed_file.path}"))
            self.store.put_blob(f"anonymization/{run_id}/{file_id}", masked.content)
            files.append(
                MaskedFile(
                    id=file_id,
                    path=seed_file.path,
                    content_type=mime_type(seed_file.path),
                    size_in_bytes=len(masked.content),
                )
            )
            entities += masked.entities
            samples += masked.samples
        error = None
        if FAIL_ANONYMIZATION_MARKER in dataset.name:
            error = f"Entity detection failed on '{dataset.files[0].path}' (emulator marker {FAIL_ANONYMIZATION_MARKER})."
        record = AnonymizationRecord(
            id=run_id,
            dataset_id=dataset.id,
            dataset_name=dataset.name,
            detection_method=body.detection_method,
            pii_types=body.pii_types,
            llm_model_name=body.llm_model_name,
            mask_config=masks,
            threshold=threshold,
            files=[] if error else files,
            entities=[] if error else entities,
            samples_processed=samples,
            error=error,
            created_by_email=self.core.config.created_by_email,
            **self._times(self.core.config.spec_seconds),
        )
        self.store.save(record)
        return self.anonymization_view(record)

    def get_anonymization(self, run_id: str) -> Json:
        """One anonymization run."""
        return self.anonymization_view(self._anonymization(run_id))

    def list_anonymizations(self) -> list[Json]:
        """Every anonymization run, oldest first."""
        return [self._anonymization_summary(r) for r in self.store.all(AnonymizationRecord)]

    def delete_anonymization(self, run_id: str) -> None:
        """Delete an anonymization run and its masked files."""
        with self.store.lock:
            self._anonymization(run_id)
            self.store.delete(AnonymizationRecord, run_id)
            self.store.delete(ArchiveRecord, run_id)
            self.store.delete_blobs(f"anonymization/{run_id}/")

    def _anonymization(self, run_id: str) -> AnonymizationRecord:
        record: AnonymizationRecord = self._get(AnonymizationRecord, run_id, "Anonymization run")
        return record

    def _anonymization_summary(self, record: AnonymizationRecord) -> Json:
        return {
            "id": record.id,
            "dataset_id": record.dataset_id,
            "dataset_name": record.dataset_name,
            "detection_method": record.detection_method,
            "llm_model_name": record.llm_model_name,
            "pii_types": record.pii_types,
            "status": job_status(record, self.core.clock()),
            "created_at": timestamp(record.created_at),
            "completed_at": self._completed_at(record),
            "created_by_email": record.created_by_email,
        }

    def anonymization_view(self, record: AnonymizationRecord) -> Json:
        """An anonymization run as read: files and results once it has finished."""
        view = self._anonymization_summary(record)
        finished = view["status"] in ("SUCCEEDED", "FAILED")
        view["duration_seconds"] = round(record.finishes_at - record.created_at) if finished else None
        view["anonymized_files"] = (
            [f.model_dump() for f in record.files] if view["status"] == "SUCCEEDED" else []
        )
        view["results"] = (
            {
                "entities_found": [e.model_dump() for e in record.entities],
                "entity_summary": entity_summary(record.entities),
                "samples_processed": record.samples_processed if not record.error else 0,
                "error": record.error,
            }
            if finished
            else None
        )
        return view

    def _succeeded_anonymization(self, run_id: str) -> AnonymizationRecord:
        record = self._anonymization(run_id)
        status = job_status(record, self.core.clock())
        if status != "SUCCEEDED":
            raise bad_request(
                f"Anonymization run '{run_id}' has no files to download: its status is {status}."
            )
        return record

    def _token_url(self, run_id: str, file_id: str | None, base_url: str) -> str:
        token = secrets.token_urlsafe(24)
        expires = self.core.clock() + self.core.config.download_url_ttl_seconds
        self.store.save(PlatformDownloadRecord(id=token, run_id=run_id, file_id=file_id, expires_at=expires))
        return base_url.rstrip("/") + PLATFORM_DOWNLOADS_PATH + token

    def prepare_archive(self, run_id: str, base_url: str) -> tuple[int, Json]:
        """202 ``generating`` while the ZIP is built, then 200 ``ready`` with its URL."""
        self._succeeded_anonymization(run_id)
        now = self.core.clock()
        with self.store.lock:
            archive = self.store.get(ArchiveRecord, run_id)
            if archive is None:
                archive = ArchiveRecord(id=run_id, ready_at=now + self.core.config.download_seconds)
                self.store.save(archive)
        if now < archive.ready_at:
            return 202, {"status": "generating", "download_url": None}
        return 200, {"status": "ready", "download_url": self._token_url(run_id, None, base_url)}

    def file_download(self, run_id: str, file_id: str, base_url: str) -> Json:
        """The URL of one anonymized file."""
        record = self._succeeded_anonymization(run_id)
        masked = next((f for f in record.files if f.id == file_id), None)
        if masked is None:
            raise ApiError(404, f"File '{file_id}' not found in anonymization run '{run_id}'.")
        return {
            "download_url": self._token_url(run_id, file_id, base_url),
            "file_name": masked.path.rsplit("/", 1)[-1],
            "content_type": masked.content_type,
        }

    def fetch_download(self, token: str) -> Download:
        """The bytes behind a URL; 403 when it is unknown or expired, like a presigned URL."""
        grant = self.store.get(PlatformDownloadRecord, token)
        if grant is None or grant.expires_at < self.core.clock():
            raise ApiError(403, "Request has expired or the signature does not match (AccessDenied).")
        record = self._succeeded_anonymization(grant.run_id)
        contents = [
            (f, self.store.get_blob(f"anonymization/{record.id}/{f.id}") or b"")
            for f in record.files
            if grant.file_id in (None, f.id)
        ]
        if grant.file_id is not None:
            masked, content = contents[0]
            return Download(content, masked.content_type, masked.path.rsplit("/", 1)[-1])
        archive = build_zip([GeneratedFile(f.path, content, f.content_type) for f, content in contents])
        return Download(archive, "application/zip", f"anonymization_{record.id}.zip")

    # ------------------------------------------------------------------ red teaming

    def create_red_team_spec(self, body: RedTeamSpecCreate) -> Json:
        """Store a red-team spec under its snake_case name, unique in the company."""
        for field in ("name", "app_description", "domain_description"):
            if not getattr(body, field).strip():
                raise bad_request(f"{field}: must not be blank.")
        with self.store.lock:
            name = self._unique_red_team_name(body.name, None)
            record = RedTeamSpecRecord(
                id=str(uuid.uuid4()),
                name=name,
                app_description=body.app_description,
                domain_description=body.domain_description,
                concerns=body.concerns,
                created_at=self.core.clock(),
                created_by_email=self.core.config.created_by_email,
            )
            self.store.save(record)
        return self.red_team_spec_view(record)

    def _unique_red_team_name(self, requested: str, own_id: str | None) -> str:
        name = snake_case(requested)
        if not name:
            raise bad_request(f"name '{requested}' has no letters or digits.")
        if any(s.name == name and s.id != own_id for s in self.store.all(RedTeamSpecRecord)):
            raise bad_request(f"A red team spec named '{name}' already exists.")
        return name

    def get_red_team_spec(self, spec_id: str) -> Json:
        """One red-team spec."""
        return self.red_team_spec_view(self._red_team_spec(spec_id))

    def list_red_team_specs(self) -> list[Json]:
        """Every red-team spec, summary fields only."""
        return [
            {k: v for k, v in self.red_team_spec_view(s).items() if k not in ("concerns", "created_by")}
            for s in self.store.all(RedTeamSpecRecord)
        ]

    def update_red_team_spec(self, spec_id: str, body: RedTeamSpecUpdate) -> Json:
        """Change the fields given."""
        with self.store.lock:
            record = self._red_team_spec(spec_id)
            changes = body.model_dump(exclude_none=True)
            if "name" in changes:
                changes["name"] = self._unique_red_team_name(changes["name"], spec_id)
            for field in ("app_description", "domain_description"):
                if field in changes and not changes[field].strip():
                    raise bad_request(f"{field}: must not be blank.")
            record = record.model_copy(update=changes)
            self.store.save(record)
        return self.red_team_spec_view(record)

    def delete_red_team_spec(self, spec_id: str) -> None:
        """Delete a red-team spec and its runs."""
        with self.store.lock:
            self._red_team_spec(spec_id)
            for run in self.store.all(RedTeamRunRecord):
                if run.red_team_spec_id == spec_id:
                    self.store.delete(RedTeamRunRecord, run.id)
            self.store.delete(RedTeamSpecRecord, spec_id)

    def _red_team_spec(self, spec_id: str) -> RedTeamSpecRecord:
        record: RedTeamSpecRecord = self._get(RedTeamSpecRecord, spec_id, "Red team spec")
        return record

    @staticmethod
    def red_team_spec_view(record: RedTeamSpecRecord) -> Json:
        """A red-team spec as created, read or updated."""
        return {
            "id": record.id,
            "name": record.name,
            "app_description": record.app_description,
            "domain_description": record.domain_description,
            "concerns": record.concerns,
            "created_at": timestamp(record.created_at),
            "created_by": CREATED_BY,
            "created_by_email": record.created_by_email,
        }

    def create_red_team_run(self, body: RedTeamRunCreate) -> Json:
        """Start generating adversarial prompts; answer the run (PENDING)."""
        _check_model("model_name", body.model_name)
        for field in ("number_of_behaviors", "number_of_prompts_per_behavior"):
            if getattr(body, field) < 1:
                raise bad_request(f"{field} must be at least 1 (got {getattr(body, field)}).")
        total = body.number_of_behaviors * body.number_of_prompts_per_behavior
        if total > MAX_RED_TEAM_PROMPTS:
            raise bad_request(f"A run generates at most {MAX_RED_TEAM_PROMPTS} prompts (asked for {total}).")
        spec = self._red_team_spec(body.red_team_spec_id)
        run_id = str(uuid.uuid4())
        error = None
        if FAIL_RED_TEAM_MARKER in spec.app_description:
            error = f"Prompt generation failed: the model refused every behavior (emulator marker {FAIL_RED_TEAM_MARKER})."
        results = generate_prompts(
            run_id,
            spec.app_description,
            spec.domain_description,
            spec.concerns,
            body.number_of_behaviors,
            body.number_of_prompts_per_behavior,
        )
        record = RedTeamRunRecord(
            id=run_id,
            red_team_spec_id=spec.id,
            spec_name=spec.name,
            model_name=body.model_name,
            number_of_behaviors=body.number_of_behaviors,
            number_of_prompts_per_behavior=body.number_of_prompts_per_behavior,
            task_id=str(uuid.uuid4()),
            results={} if error else results,
            error=error,
            created_by_email=self.core.config.created_by_email,
            **self._times(self.core.config.run_seconds),
        )
        self.store.save(record)
        return self.red_team_run_view(record)

    def get_red_team_run(self, run_id: str, light: bool = False) -> Json:
        """One red-team run; ``light`` (the ``/status/`` endpoint) leaves the prompts out."""
        return self.red_team_run_view(self._red_team_run(run_id), light)

    def list_red_team_runs(self, spec_id: str | None) -> list[Json]:
        """Every red-team run, or those of one spec, newest first."""
        runs = [r for r in self.store.all(RedTeamRunRecord) if spec_id in (None, r.red_team_spec_id)]
        return [self._red_team_run_summary(r) for r in reversed(runs)]

    def delete_red_team_run(self, run_id: str) -> None:
        """Delete a red-team run."""
        with self.store.lock:
            self._red_team_run(run_id)
            self.store.delete(RedTeamRunRecord, run_id)

    def _red_team_run(self, run_id: str) -> RedTeamRunRecord:
        record: RedTeamRunRecord = self._get(RedTeamRunRecord, run_id, "Red team run")
        return record

    def _red_team_run_summary(self, record: RedTeamRunRecord) -> Json:
        return {
            "id": record.id,
            "red_team_spec_id": record.red_team_spec_id,
            "spec_name": record.spec_name,
            "model_name": record.model_name,
            "number_of_behaviors": record.number_of_behaviors,
            "number_of_prompts_per_behavior": record.number_of_prompts_per_behavior,
            "status": job_status(record, self.core.clock()),
            "created_at": timestamp(record.created_at),
            "completed_at": self._completed_at(record),
            "created_by_email": record.created_by_email,
        }

    def red_team_run_view(self, record: RedTeamRunRecord, light: bool = False) -> Json:
        """A red-team run as read: the prompts once it SUCCEEDED (never in the light view)."""
        view = self._red_team_run_summary(record)
        view["created_by"] = CREATED_BY
        view["task_id"] = record.task_id
        view["error_message"] = record.error if view["status"] == "FAILED" else None
        done = view["status"] == "SUCCEEDED" and not light
        view["results_json"] = {"behavior_to_enhanced_queries": record.results} if done else None
        return view
