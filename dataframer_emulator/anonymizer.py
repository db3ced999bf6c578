"""
PII detection and masking of seed files, with simple detectors.

Patterns find e-mail addresses, phone numbers, SSN-like and card-like numbers; small lists find
common first and last names. Each entity has a fixed confidence per detector (names score higher
with ``llm`` detection), so ``threshold`` filters them predictably. Masking replaces each entity
by its ``mask_config`` value, ``[REDACTED]`` by default.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from dataframer_emulator.platform_records import Entity
from dataframer_emulator.seeds import TABULAR_EXTENSIONS, Upload, read_table

DEFAULT_MASK = "[REDACTED]"

_PATTERNS: dict[str, tuple[re.Pattern[str], float]] = {
    "email": (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), 0.99),
    "ssn": (re.compile(r"(?<![\d-])\d{3}-\d{2}-\d{4}(?![\d-])"), 0.97),
    "credit_card": (re.compile(r"(?<!\d)(?:\d{4}[ -]){3}\d{4}(?!\d)"), 0.95),
    "phone_number": (
        re.compile(r"(?<![\w-])(?:\+?1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}(?![\w-])"),
        0.9,
    ),
}
FIRST_NAMES = frozenset(
    [
        "James",
        "Mary",
        "John",
        "Patricia",
        "Robert",
        "Jennifer",
        "Michael",
        "Linda",
        "William",
        "Elizabeth",
        "David",
        "Barbara",
        "Richard",
        "Susan",
        "Joseph",
        "Jessica",
        "Thomas",
        "Sarah",
        "Charles",
        "Karen",
        "Daniel",
        "Nancy",
        "Matthew",
        "Lisa",
        "Anthony",
        "Betty",
        "Mark",
        "Sandra",
        "Maria",
        "Emma",
        "Olivia",
        "Noah",
        "Liam",
        "Sofia",
        "Lucas",
        "Mia",
        "Ethan",
        "Ava",
        "Priya",
        "Wei",
        "Aisha",
        "Carlos",
    ]
)
LAST_NAMES = frozenset(
    [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Hernandez",
        "Lopez",
        "Gonzalez",
        "Wilson",
        "Anderson",
        "Thomas",
        "Taylor",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Perez",
        "Thompson",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Walker",
        "Hall",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Scott",
        "Nguyen",
        "Patel",
        "Chen",
        "Kim",
        "Singh",
    ]
)
_NAME_LISTS = {"first_name": FIRST_NAMES, "last_name": LAST_NAMES}
_WORD = re.compile(r"\b[A-Z][a-z]+\b")


@dataclass(frozen=True)
class MaskedText:
    """
    One file after masking.

    :param content: the masked bytes.
    :param entities: what was found, with offsets into the original text.
    :param samples: rows of a tabular file, 1 for any other file.
    """

    content: bytes
    entities: list[Entity]
    samples: int


def find_entities(text: str, pii_types: list[str], threshold: float, llm: bool) -> list[Entity]:
    """The entities of ``pii_types`` in ``text`` scoring at least ``threshold``, without overlaps."""
    found: list[Entity] = []
    for pii_type in pii_types:
        if pii_type in _PATTERNS:
            pattern, score = _PATTERNS[pii_type]
            found += [
                Entity(start=m.start(), end=m.end(), label=pii_type, score=score)
                for m in pattern.finditer(text)
            ]
        elif pii_type in _NAME_LISTS:
            names, score = _NAME_LISTS[pii_type], 0.92 if llm else 0.85
            found += [
                Entity(start=m.start(), end=m.end(), label=pii_type, score=score)
                for m in _WORD.finditer(text)
                if m.group() in names
            ]
    kept: list[Entity] = []
    for entity in sorted(found, key=lambda e: (-e.score, e.start)):
        if entity.score >= threshold and all(entity.end <= k.start or entity.start >= k.end for k in kept):
            kept.append(entity)
    return sorted(kept, key=lambda e: e.start)


def mask_text(text: str, entities: list[Entity], mask_config: dict[str, str]) -> str:
    """``text`` with every entity replaced by its mask."""
    parts, position = [], 0
    for entity in entities:
        parts += [text[position : entity.start], mask_config.get(entity.label, DEFAULT_MASK)]
        position = entity.end
    return "".join([*parts, text[position:]])


def mask_file(
    upload: Upload, pii_types: list[str], mask_config: dict[str, str], threshold: float, llm: bool
) -> MaskedText:
    """Mask one seed file (PDFs are passed through: the emulator reads no PDF text)."""
    if upload.extension == "pdf":
        return MaskedText(upload.content, [], 1)
    text = upload.content.decode("utf-8", errors="replace")
    entities = find_entities(text, pii_types, threshold, llm)
    samples = 1
    if upload.extension in TABULAR_EXTENSIONS:
        try:
            samples = len(read_table(upload).rows)
        except Exception:  # a malformed table is still masked as text
            samples = 1
    return MaskedText(mask_text(text, entities, mask_config).encode(), entities, samples)


def entity_summary(entities: list[Entity]) -> dict[str, int]:
    """How many entities of each type were found."""
    return dict(Counter(entity.label for entity in entities))
