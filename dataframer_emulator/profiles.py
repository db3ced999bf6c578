"""What a spec learns from its seed: column profiles of tables and keywords of texts."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from dataframer_emulator.errors import ApiError
from dataframer_emulator.seeds import TABULAR_EXTENSIONS, Table, Upload, read_table

ColumnKind = Literal["integer", "number", "category", "text"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_STOPWORDS = frozenset(
    [
        "about",
        "above",
        "after",
        "again",
        "against",
        "also",
        "among",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "could",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "from",
        "further",
        "have",
        "having",
        "here",
        "into",
        "itself",
        "just",
        "more",
        "most",
        "must",
        "only",
        "other",
        "over",
        "same",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "under",
        "until",
        "very",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "yours",
        "data",
        "generate",
        "generated",
        "generating",
        "sample",
        "samples",
        "record",
        "records",
        "should",
        "include",
        "including",
        "make",
        "each",
        "every",
        "like",
        "will",
        "shall",
        "want",
        "need",
        "using",
        "used",
        "based",
        "well",
        "many",
        "much",
        "into",
        "onto",
    ]
)


@dataclass
class ColumnProfile:
    """
    What the seed says about one column.

    :param name: column name.
    :param kind: ``integer``, ``number``, ``category`` or ``text``.
    :param values: observed non-empty values, as found in the seed.
    :param frequencies: occurrences of each value's label (``category``).
    :param minimum: smallest value (``integer``/``number``).
    :param maximum: largest value (``integer``/``number``).
    :param decimals: most decimals seen (``number``).
    """

    name: str
    kind: ColumnKind
    values: list[Any] = field(default_factory=list)
    frequencies: dict[str, int] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    decimals: int = 0


def label(value: Any) -> str:
    """The text a value is known by in a spec's YAML."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _numeric(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def _decimals(value: Any) -> int:
    text = str(value)
    return len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else 0


def profile_column(name: str, raw_values: list[Any]) -> ColumnProfile:
    """Classify one column and summarise its values."""
    values = [v for v in raw_values if v is not None and label(v).strip() != ""]
    if not values:
        return ColumnProfile(name=name, kind="text")
    numbers = [_numeric(v) for v in values]
    if all(n is not None for n in numbers):
        floats = [n for n in numbers if n is not None]
        is_int = all(isinstance(v, int) or (isinstance(v, str) and _INTEGER.match(v.strip())) for v in values)
        return ColumnProfile(
            name=name,
            kind="integer" if is_int else "number",
            values=values,
            minimum=min(floats),
            maximum=max(floats),
            decimals=0 if is_int else max(1, max(_decimals(v) for v in values)),
        )
    frequencies = Counter(label(v) for v in values)
    distinct = len(frequencies)
    if distinct <= 20 and (distinct <= 5 or distinct * 2 <= len(values)):
        return ColumnProfile(
            name=name, kind="category", values=values, frequencies=dict(frequencies.most_common())
        )
    return ColumnProfile(name=name, kind="text", values=values)


def profile_table(table: Table) -> list[ColumnProfile]:
    """Profiles of every column of a seed table, in column order."""
    return [profile_column(column, [row.get(column) for row in table.rows]) for column in table.columns]


def keywords(text: str, limit: int = 8) -> list[str]:
    """The most frequent meaningful words of ``text``, most frequent first."""
    words = Counter(w.lower() for w in _WORD.findall(text) if w.lower() not in _STOPWORDS)
    return [word for word, _ in words.most_common(limit)]


def _usable_row(row: dict[str, Any]) -> bool:
    return any(label(value).strip() for value in row.values())


def file_emptiness(upload: Upload) -> str | None:
    """
    Why a seed file holds nothing to learn from, or ``None`` when it holds a usable row or text.

    A CSV, JSON or JSONL file that parses as a table needs a data row with a non-empty value;
    one that does not is a document, like every other file, and needs non-blank content.

    :param upload: the seed file.
    """
    if not upload.content.decode("utf-8-sig", errors="replace").strip():
        return "is empty"
    if upload.extension not in TABULAR_EXTENSIONS:
        return None
    try:
        table = read_table(upload)
    except ApiError:
        return None  # not a table (possible in a MULTI_FILE dataset): a non-blank document
    if not table.rows:
        return "has no data rows"
    if not any(_usable_row(row) for row in table.rows):
        return f"has {len(table.rows)} data row(s), all without a value"
    return None


def seed_emptiness(uploads: list[Upload], shown: int = 3) -> str | None:
    """
    Why a seed dataset has nothing to learn from (no file with a usable row or text), or ``None``.

    :param uploads: the dataset's files.
    :param shown: how many files the answer names before summing up the rest.
    """
    reasons = []
    for upload in uploads:
        reason = file_emptiness(upload)
        if reason is None:
            return None
        reasons.append(f"'{upload.path}' {reason}")
    if len(reasons) > shown:
        reasons[shown:] = [f"{len(reasons) - shown} more file(s) likewise"]
    return "; ".join(reasons) or "it has no files"
