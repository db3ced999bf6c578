"""
Spec YAML and generated samples.

A spec's ``content_yaml`` describes its seed: one ``data_property_variations`` entry per categorical
column (value frequencies, or uniform without ``generate_distributions``), per numeric column
(range buckets and ``value_range``) and, for document datasets, topics, lengths and formats.
Runs sample from the YAML of the spec version they use, so an edited spec changes what is
generated; everything is seeded by the run id, so a run's files are the same on every read.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
import re
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

from dataframer_emulator.errors import bad_request
from dataframer_emulator.profiles import ColumnProfile, keywords, label, profile_table
from dataframer_emulator.seeds import (
    TABULAR_EXTENSIONS,
    Table,
    Upload,
    mime_type,
    read_table,
)

Variation = dict[str, Any]

_RANGE = re.compile(
    r"^\s*(?P<lo>[+-]?[\d.]+(?:[eE][+-]?\d+)?)\s+-\s+(?P<hi>[+-]?[\d.]+(?:[eE][+-]?\d+)?)\s*$"
)
_TONES = ["formal", "neutral", "conversational"]
_LENGTHS = ["short", "medium", "long"]
_FILLER = [
    "The details below were produced for testing and do not describe real people or events.",
    "Every value is plausible on its own and consistent with the rest of the document.",
    "Figures are rounded where the source material rounds them.",
    "Sections follow the order most readers expect.",
]


@dataclass(frozen=True)
class SeedMaterial:
    """
    The seed a spec learns from and a run imitates.

    :param dataset_type: SINGLE_FILE, MULTI_FILE or MULTI_FOLDER.
    :param uploads: the dataset's files.
    """

    dataset_type: str
    uploads: list[Upload]


@dataclass(frozen=True)
class GeneratedFile:
    """
    One generated file of a run.

    :param path: path within the run output.
    :param content: its bytes.
    :param file_type: MIME type.
    """

    path: str
    content: bytes
    file_type: str


@dataclass(frozen=True)
class SpecOptions:
    """
    How a spec is asked to be built.

    :param spec_id: the spec's id.
    :param name: the spec's name.
    :param model: ``spec_generation_model_name``.
    :param dataset_name: seed dataset name, ``None`` for a seedless spec.
    :param generation_objectives: objectives text.
    :param generate_distributions: learn frequencies (else uniform).
    :param generate_conditional_distributions: learn one conditional distribution.
    :param extrapolate_values: recorded in the YAML.
    :param extrapolate_axes: recorded in the YAML.
    """

    spec_id: str
    name: str
    model: str
    dataset_name: str | None
    generation_objectives: str | None
    generate_distributions: bool = True
    generate_conditional_distributions: bool = False
    extrapolate_values: bool = True
    extrapolate_axes: bool = False


# ----------------------------------------------------------------------------- spec YAML


def _probabilities(counts: dict[str, int], learned: bool) -> dict[str, float]:
    if not counts:
        return {}
    if not learned:
        return {key: round(1 / len(counts), 4) for key in counts}
    total = sum(counts.values())
    return {key: round(count / total, 4) for key, count in counts.items()}


def _number(value: float, decimals: int) -> str:
    return str(round(value)) if decimals == 0 else f"{value:.{decimals}f}"


def _numeric_variation(column: ColumnProfile, learned: bool) -> Variation:
    low, high = column.minimum or 0.0, column.maximum or 0.0
    edges = [low + (high - low) * i / 3 for i in range(4)] if high > low else [low, high]
    buckets = [
        f"{_number(a, column.decimals)} - {_number(b, column.decimals)}" for a, b in itertools.pairwise(edges)
    ]
    counts = dict.fromkeys(buckets, 0)
    for value in column.values:
        number = float(value)
        index = 0 if high <= low else min(int((number - low) / (high - low) * len(buckets)), len(buckets) - 1)
        counts[buckets[index]] += 1
    return {
        "property_name": column.name,
        "property_values": buckets,
        "base_probabilities": _probabilities(counts, learned),
        "value_range": {"min": _number(low, column.decimals), "max": _number(high, column.decimals)},
    }


def _conditional(given: ColumnProfile, target: ColumnProfile, table: Table) -> dict[str, Any]:
    pairs: dict[str, Counter[str]] = {}
    for row in table.rows:
        pairs.setdefault(label(row.get(given.name)), Counter())[label(row.get(target.name))] += 1
    return {
        "given": given.name,
        "table": {key: _probabilities(dict(counter), True) for key, counter in pairs.items() if key},
    }


def _table_variations(table: Table, options: SpecOptions) -> list[Variation]:
    profiles = profile_table(table)
    variations: list[Variation] = []
    categories = [p for p in profiles if p.kind == "category"]
    for column in profiles:
        if column.kind in ("integer", "number"):
            variations.append(_numeric_variation(column, options.generate_distributions))
        elif column.kind == "category":
            variation: Variation = {
                "property_name": column.name,
                "property_values": list(column.frequencies),
                "base_probabilities": _probabilities(column.frequencies, options.generate_distributions),
            }
            if (
                options.generate_conditional_distributions
                and len(categories) >= 2
                and column is categories[1]
            ):
                variation["conditional_probabilities"] = _conditional(categories[0], column, table)
            variations.append(variation)
    return variations


def _uniform_or_counts(values: Sequence[str], counts: Counter[str] | None, learned: bool) -> dict[str, float]:
    raw = {value: (counts[value] if counts else 1) or 1 for value in values}
    return _probabilities(raw, learned)


def _document_variations(texts: list[str], extensions: list[str], options: SpecOptions) -> list[Variation]:
    corpus = " ".join(texts)
    topics = keywords(corpus) or ["general"]
    topic_counts = Counter(w.lower() for w in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", corpus))
    sizes = sorted(len(t) for t in texts) or [0]
    length_counts: Counter[str] = Counter()
    for size in sizes:
        length_counts["short" if size < 500 else "medium" if size < 3000 else "long"] += 1
    formats = Counter("txt" if e == "pdf" else e for e in extensions)
    learned = options.generate_distributions
    return [
        {
            "property_name": "topic",
            "property_values": topics,
            "base_probabilities": _uniform_or_counts(topics, topic_counts, learned),
        },
        {
            "property_name": "length",
            "property_values": _LENGTHS,
            "base_probabilities": _uniform_or_counts(_LENGTHS, length_counts, learned),
        },
        {
            "property_name": "file_format",
            "property_values": list(formats),
            "base_probabilities": _probabilities(dict(formats), learned),
        },
    ]


def build_spec_yaml(options: SpecOptions, seed: SeedMaterial | None) -> str:
    """The ``content_yaml`` of a freshly generated spec."""
    metadata: dict[str, Any] = {
        "spec_id": options.spec_id,
        "spec_name": options.name,
        "dataset_name": options.dataset_name,
        "dataset_type": seed.dataset_type if seed else "MULTI_FILE",
        "spec_generation_model_name": options.model,
        "generated_by": "dataframer-emulator",
    }
    spec: dict[str, Any] = {}
    if seed is None:
        objectives = options.generation_objectives or ""
        topics = keywords(objectives) or ["general"]
        spec["description"] = objectives
        spec["requirements"] = "Plain-text documents (.txt) that satisfy the generation objectives."
        spec["data_property_variations"] = [
            {
                "property_name": "topic",
                "property_values": topics,
                "base_probabilities": _probabilities(dict.fromkeys(topics, 1), False),
            },
            {
                "property_name": "tone",
                "property_values": _TONES,
                "base_probabilities": _probabilities(dict.fromkeys(_TONES, 1), False),
            },
            {
                "property_name": "length",
                "property_values": _LENGTHS,
                "base_probabilities": _probabilities(dict.fromkeys(_LENGTHS, 1), False),
            },
        ]
    elif seed.dataset_type == "SINGLE_FILE":
        upload = seed.uploads[0]
        table = read_table(upload)
        spec["description"] = (
            f"Records shaped like '{upload.filename}' ({upload.extension.upper()}): "
            f"{len(table.columns)} columns, learned from {len(table.rows)} seed rows."
        )
        spec["requirements"] = f"Each record has the columns: {', '.join(table.columns)}."
        spec["columns"] = [{"name": p.name, "type": p.kind} for p in profile_table(table)]
        spec["data_property_variations"] = _table_variations(table, options)
    else:
        texts = [u.content.decode("utf-8", errors="replace") for u in seed.uploads if u.extension != "pdf"]
        unit = "folder of related files" if seed.dataset_type == "MULTI_FOLDER" else "document"
        spec["description"] = f"Each sample is one {unit}, like the {len(seed.uploads)} seed files."
        spec["requirements"] = (
            options.generation_objectives or "Match the structure and style of the seed files."
        )
        spec["data_property_variations"] = _document_variations(
            texts, [u.extension for u in seed.uploads], options
        )
    if options.generation_objectives and seed is not None:
        spec["generation_objectives"] = options.generation_objectives
    spec["extrapolate_values"] = options.extrapolate_values and seed is not None
    spec["extrapolate_axes"] = options.extrapolate_axes and seed is not None
    document = {"metadata": metadata, "spec": spec}
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


def merge_spec_yaml(current: str, submitted: str) -> str:
    """A new version: the submitted ``spec`` section under the current (read-only) ``metadata``."""
    try:
        document = yaml.safe_load(submitted)
    except yaml.YAMLError as exc:
        raise bad_request(f"content_yaml is not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("spec"), dict):
        raise bad_request("content_yaml must have a 'spec' root key holding a mapping.")
    old = yaml.safe_load(current) if current else {}
    metadata = old.get("metadata", {}) if isinstance(old, dict) else {}
    return str(
        yaml.safe_dump({"metadata": metadata, "spec": document["spec"]}, sort_keys=False, allow_unicode=True)
    )


# ----------------------------------------------------------------------------- sampling


def _variations(spec_yaml: str) -> dict[str, Variation]:
    try:
        document = yaml.safe_load(spec_yaml)
        items = document["spec"]["data_property_variations"]
    except (yaml.YAMLError, KeyError, TypeError):
        return {}
    if not isinstance(items, list):
        return {}
    return {str(v["property_name"]): v for v in items if isinstance(v, dict) and "property_name" in v}


def _choose(rng: random.Random, values: list[str], probabilities: Any) -> str | None:
    if not values:
        return None
    weights = [1.0] * len(values)
    if isinstance(probabilities, dict):
        weights = [max(float(probabilities.get(v, 0) or 0), 0.0) for v in values]
    if sum(weights) <= 0:
        weights = [1.0] * len(values)
    return rng.choices(values, weights=weights)[0]


def _pick(rng: random.Random, variation: Variation | None, fallback: Sequence[str]) -> str:
    if variation:
        values = [str(v) for v in variation.get("property_values") or []]
        chosen = _choose(rng, values, variation.get("base_probabilities"))
        if chosen is not None:
            return chosen
    return rng.choice(list(fallback)) if fallback else ""


def _numeric_value(rng: random.Random, column: ColumnProfile, variation: Variation | None) -> Any:
    low, high = column.minimum or 0.0, column.maximum or 0.0
    bucket = _pick(rng, variation, [])
    match = _RANGE.match(bucket)
    if match:
        low, high = float(match["lo"]), float(match["hi"])
    value = rng.uniform(min(low, high), max(low, high))
    return round(value) if column.kind == "integer" else round(value, column.decimals)


def _category_value(
    rng: random.Random, column: ColumnProfile, variation: Variation | None, row: dict[str, Any]
) -> Any:
    by_label = {label(v): v for v in column.values}
    distribution = variation
    conditional = (variation or {}).get("conditional_probabilities")
    if isinstance(conditional, dict) and isinstance(conditional.get("table"), dict):
        given = label(row.get(str(conditional.get("given"))))
        table = conditional["table"].get(given)
        if isinstance(table, dict) and table:
            distribution = {"property_values": list(table), "base_probabilities": table}
    chosen = _pick(rng, distribution, list(by_label))
    return by_label.get(chosen, chosen)


def _rows(
    rng: random.Random, table: Table, variations: dict[str, Variation], count: int
) -> list[dict[str, Any]]:
    profiles = profile_table(table)
    rows = []
    for _ in range(count):
        row: dict[str, Any] = {}
        for column in profiles:
            variation = variations.get(column.name)
            if column.kind in ("integer", "number"):
                row[column.name] = _numeric_value(rng, column, variation)
            elif column.kind == "category":
                row[column.name] = _category_value(rng, column, variation, row)
            else:
                row[column.name] = rng.choice(column.values) if column.values else ""
        rows.append(row)
    return rows


def _tabular_bytes(extension: str, columns: list[str], rows: list[dict[str, Any]]) -> bytes:
    if extension == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[label(row.get(c)) for c in columns] for row in rows])
        return buffer.getvalue().encode()
    if extension == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows).encode()
    return (json.dumps(rows, indent=2) + "\n").encode()


def _single_file(
    rng: random.Random, seed: SeedMaterial, variations: dict[str, Variation], count: int
) -> GeneratedFile:
    upload = seed.uploads[0]
    table = read_table(upload)
    path = f"generated_samples.{upload.extension}"
    content = _tabular_bytes(upload.extension, table.columns, _rows(rng, table, variations, count))
    return GeneratedFile(path=path, content=content, file_type=mime_type(path))


def _lines(uploads: list[Upload]) -> list[str]:
    lines = []
    for upload in uploads:
        if upload.extension != "pdf":
            text = upload.content.decode("utf-8", errors="replace")
            lines += [line.strip() for line in text.splitlines() if line.strip()]
    return lines or list(_FILLER)


def _document(
    rng: random.Random, extension: str, templates: list[Upload], properties: dict[str, str]
) -> bytes:
    """One generated document imitating ``templates`` (seed files of the same kind)."""
    if extension in TABULAR_EXTENSIONS and templates:
        template = rng.choice(templates)
        try:
            table = read_table(template)
        except Exception:  # a malformed seed file still yields a document
            table = Table(columns=[])
        if table.rows:
            rows = [rng.choice(table.rows) for _ in range(rng.randint(2, 6))]
            return _tabular_bytes(extension, table.columns, rows)
    lines = _lines(templates)
    size = {"short": (2, 4), "medium": (4, 8), "long": (8, 14)}.get(properties.get("length", ""), (3, 6))
    body = [rng.choice(lines) for _ in range(rng.randint(*size))]
    heading = f"{properties.get('topic', 'sample').capitalize()}"
    if extension == "md":
        return ("# " + heading + "\n\n" + "\n\n".join(body) + "\n").encode()
    return (heading + "\n\n" + "\n".join(body) + "\n").encode()


def _multi_files(
    rng: random.Random, seed: SeedMaterial, variations: dict[str, Variation], count: int
) -> list[GeneratedFile]:
    texts = [u for u in seed.uploads if u.extension != "pdf"] or seed.uploads
    formats = Counter("txt" if u.extension == "pdf" else u.extension for u in seed.uploads)
    folders: dict[str, list[Upload]] = {}
    for upload in seed.uploads:
        folders.setdefault(upload.folder or "", []).append(upload)
    files = []
    for index in range(1, count + 1):
        properties = {name: _pick(rng, variations.get(name), []) for name in ("topic", "length")}
        if seed.dataset_type == "MULTI_FOLDER":
            template = folders[rng.choice(sorted(folders))]
            for upload in template:
                extension = "txt" if upload.extension == "pdf" else upload.extension
                name = str(PurePosixPath(upload.filename).with_suffix("." + extension))
                same = [u for u in seed.uploads if u.filename == upload.filename] or texts
                path = f"sample_{index:05d}/{name}"
                files.append(
                    GeneratedFile(path, _document(rng, extension, same, properties), mime_type(path))
                )
        else:
            extension = _pick(rng, variations.get("file_format"), list(formats)) or "txt"
            same = [u for u in texts if u.extension == extension] or texts
            path = f"sample_{index:05d}.{extension}"
            files.append(GeneratedFile(path, _document(rng, extension, same, properties), mime_type(path)))
    return files


def _seedless_files(
    rng: random.Random, spec_yaml: str, variations: dict[str, Variation], count: int
) -> list[GeneratedFile]:
    try:
        objectives = str(yaml.safe_load(spec_yaml)["spec"].get("description") or "")
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        objectives = ""
    files = []
    for index in range(1, count + 1):
        topic = _pick(rng, variations.get("topic"), ["general"])
        tone = _pick(rng, variations.get("tone"), _TONES)
        length = _pick(rng, variations.get("length"), _LENGTHS)
        sentences = rng.randint(*{"short": (2, 3), "medium": (3, 5), "long": (5, 8)}.get(length, (3, 5)))
        body = " ".join(rng.choice(_FILLER) for _ in range(sentences))
        text = f"{topic.capitalize()} ({tone}, {length})\n\n{objectives}\n\n{body}\n"
        path = f"sample_{index:05d}.txt"
        files.append(GeneratedFile(path, text.encode(), mime_type(path)))
    return files


def generate_files(run_id: str, spec_yaml: str, seed: SeedMaterial | None, count: int) -> list[GeneratedFile]:
    """The files of a run that produced ``count`` samples from ``spec_yaml`` (deterministic per run)."""
    if count <= 0:
        return []
    rng = random.Random(run_id)
    variations = _variations(spec_yaml)
    if seed is None:
        return _seedless_files(rng, spec_yaml, variations, count)
    if seed.dataset_type == "SINGLE_FILE":
        return [_single_file(rng, seed, variations, count)]
    return _multi_files(rng, seed, variations, count)


def build_zip(files: list[GeneratedFile], extras: dict[str, bytes] | None = None) -> bytes:
    """
    A ZIP archive of ``files`` at their paths, then of ``extras`` (path -> content).

    :param files: the generated files.
    :param extras: other entries, e.g. metadata files.
    """
    entries = [(generated.path, generated.content) for generated in files] + list((extras or {}).items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, content in entries:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
