"""
Evaluations of a run: each generated sample classified against the spec's properties.

The emulated evaluator reads the samples a run generated, gives each one a value of every
``data_property_variations`` entry of the spec version the run used (a column's value or numeric
range for tabular samples; a value named in a document's heading, or its file format, for
documents), and compares the shares it found with the shares the spec requested and the shares
achievable with the run's sample count. A sample it cannot classify for a property is left out of
that property's ``total_samples_analyzed``.

A "poor" run (see :data:`POOR_RUN_MARKER`) is evaluated as a mode collapse: seven samples in ten
are classified as the most requested value of each property.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import yaml

from dataframer_emulator.generator import GeneratedFile
from dataframer_emulator.platform_records import PropertyAnalysis, SampleLabels
from dataframer_emulator.profiles import label
from dataframer_emulator.seeds import TABULAR_EXTENSIONS, Upload, read_table

POOR_RUN_MARKER = "[poor-run]"
FAIL_EVALUATION_MARKER = "[fail-eval]"

_RANGE = re.compile(r"^\s*([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s+-\s+([+-]?[\d.]+(?:[eE][+-]?\d+)?)\s*$")


def spec_properties(spec_yaml: str) -> list[tuple[str, list[str], dict[str, float]]]:
    """``(name, values, requested probabilities)`` of each property of a spec's YAML."""
    try:
        items = yaml.safe_load(spec_yaml)["spec"]["data_property_variations"]
    except (yaml.YAMLError, KeyError, TypeError):
        return []
    properties = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or "property_name" not in item:
            continue
        values = [str(v) for v in item.get("property_values") or []]
        raw = item.get("base_probabilities")
        weights = {v: float(raw.get(v, 0) or 0) for v in values} if isinstance(raw, dict) else {}
        total = sum(weights.values())
        requested = (
            {v: weights[v] / total for v in values} if total > 0 else dict.fromkeys(values, 1 / len(values))
        )
        if values:
            properties.append((str(item["property_name"]), values, requested))
    return properties


def _samples(files: list[GeneratedFile]) -> list[tuple[str, dict[str, Any] | None, str, str]]:
    """``(name, row or None, heading, extension)`` of each sample: a row, a file or a folder."""
    if len(files) == 1 and PurePosixPath(files[0].path).suffix.lstrip(".") in TABULAR_EXTENSIONS:
        only = files[0]
        if PurePosixPath(only.path).stem == "generated_samples":
            rows = read_table(Upload(PurePosixPath(only.path).name, only.content)).rows
            return [(f"sample_{i:05d}", row, "", "") for i, row in enumerate(rows, start=1)]
    samples: dict[str, tuple[str, str]] = {}
    for generated in files:
        path = PurePosixPath(generated.path)
        name = path.parts[0] if len(path.parts) > 1 else path.stem
        heading = generated.content.decode("utf-8", errors="replace").lstrip("# ").split("\n", 1)[0]
        previous = samples.get(name)
        samples[name] = (previous[0] if previous else heading, path.suffix.lstrip("."))
    return [(name, None, heading, extension) for name, (heading, extension) in samples.items()]


def _in_range(value: Any, bucket: str) -> bool:
    match = _RANGE.match(bucket)
    if match is None:
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return float(match[1]) <= number <= float(match[2])


def _classify(name: str, values: list[str], row: dict[str, Any] | None, heading: str, ext: str) -> str | None:
    if row is not None:
        if name not in row:
            return None
        raw = row[name]
        found = label(raw)
        if found in values:
            return found
        return next((v for v in values if _in_range(raw, v)), None)
    if name == "file_format" and ext in values:
        return ext
    words = set(re.findall(r"[\w'-]+", heading.lower()))
    return next((v for v in values if v.lower() in words), None)


def expected_shares(requested: dict[str, float], samples: int) -> dict[str, float]:
    """The shares closest to ``requested`` that ``samples`` samples can hit (largest remainder)."""
    if samples <= 0:
        return dict.fromkeys(requested, 0.0)
    exact = {v: p * samples for v, p in requested.items()}
    counts = {v: int(x) for v, x in exact.items()}
    short = samples - sum(counts.values())
    for value in sorted(exact, key=lambda v: exact[v] - counts[v], reverse=True)[:short]:
        counts[value] += 1
    return {v: c / samples for v, c in counts.items()}


def _percent(shares: dict[str, float]) -> dict[str, float]:
    return {value: round(share * 100, 2) for value, share in shares.items()}


def evaluate(
    spec_yaml: str, files: list[GeneratedFile], poor: bool
) -> tuple[list[PropertyAnalysis], list[SampleLabels]]:
    """
    Classify the samples of ``files`` against the properties of ``spec_yaml``.

    :param spec_yaml: the YAML of the spec version the run used.
    :param files: the files the run generated.
    :param poor: evaluate a mode collapse (the :data:`POOR_RUN_MARKER`).
    """
    samples = _samples(files)
    properties = spec_properties(spec_yaml)
    labels: list[dict[str, str]] = [{} for _ in samples]
    analysis = []
    for name, values, requested in properties:
        favourite = max(values, key=lambda v: requested[v])
        counts: Counter[str] = Counter()
        for index, (_, row, heading, ext) in enumerate(samples):
            found = favourite if poor and index % 10 < 7 else _classify(name, values, row, heading, ext)
            if found is not None:
                counts[found] += 1
                labels[index][name] = found
        analyzed = sum(counts.values())
        evaluated = {v: counts[v] / analyzed if analyzed else 0.0 for v in values}
        analysis.append(
            PropertyAnalysis(
                property_name=name,
                requested=_percent(requested),
                expected=_percent(expected_shares(requested, len(samples))),
                evaluated=_percent(evaluated),
                total_samples=len(samples),
                analyzed=analyzed,
            )
        )
    sample_labels = [SampleLabels(sample=s[0], labels=lab) for s, lab in zip(samples, labels, strict=True)]
    return analysis, sample_labels
